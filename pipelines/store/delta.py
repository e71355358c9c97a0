"""The history of record: a Delta Lake table (delta-rs) on local disk or object storage.

Source: the merged runs (pipelines/store/history.py). Output: `GPU_PRICES_TABLE_URL`
(default `datasets/gpu_prices.delta`; `s3://`, `gs://`, `az://` or an S3-compatible URL).

Row model (why: see the README, "History storage"). The table is append-only (not
partitioned: see PARTITION_BY); every row is one *record*, written once and never rewritten:

- `record = "version"`: a price version opened (a new offer or a changed one): every
  published column, with `valid_to` null and `last_seen_at = valid_from`.
- `record = "close"`: a version ended: `offer_key`, `valid_from` (which version),
  `valid_to`, `is_withdrawn`, `last_seen_at`, and the closing `dataset_version`.
- `record = "run"`: one per provider per publish: `observed_at` (the run's latest fetch,
  which confirms every version of that provider still open), `dataset_version`, and the
  gate's state (row count, regions) as JSON in `extra_json`.
- `record = "seen"` (written by the migration only): the exact `last_seen_at` of a
  version still open when an old-layout history was converted.

A run therefore writes rows only for changed, added and withdrawn offers (plus one row per
provider): closing a version never rewrites a file. A version's `valid_to`, `is_withdrawn`
and `last_seen_at` are derived by joining its close record (`history_rows`, and the
plain-Parquet view in pipelines/store/view.py, which materializes them).

Each publish is one Delta commit carrying the dataset version in its commit metadata
(`gpu_prices.dataset_version`), so `scrape versions` maps one to the other and
`DeltaTable(url, version=n)` opens any of them. Writers of different providers on
different machines rely on Delta's optimistic concurrency: appends never conflict, and
the object store's conditional put (`conditional_put=etag` on S3) makes each commit file
appear exactly once.

This module is the table handle (`PriceTable`: commit, read, change feed, maintain, verify);
building records from rows and rows from records is pipelines/store/records.py (re-exported).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from pipelines.store.records import CLOSE_COLUMNS as CLOSE_COLUMNS
from pipelines.store.records import RECORD_CLOSE as RECORD_CLOSE
from pipelines.store.records import RECORD_RUN as RECORD_RUN
from pipelines.store.records import RECORD_SEEN as RECORD_SEEN
from pipelines.store.records import RECORD_VERSION as RECORD_VERSION
from pipelines.store.records import TABLE_SCHEMA as TABLE_SCHEMA
from pipelines.store.records import _normalize
from pipelines.store.records import as_stored as as_stored
from pipelines.store.records import close_records as close_records
from pipelines.store.records import confirm_open as confirm_open
from pipelines.store.records import derive_history as derive_history
from pipelines.store.records import run_records as run_records
from pipelines.store.records import run_state as run_state
from pipelines.store.records import seen_records as seen_records
from pipelines.store.records import version_records as version_records

log = logging.getLogger("pipelines.store.delta")

DATASET_VERSION_KEY = "gpu_prices.dataset_version"
PROVIDERS_KEY = "gpu_prices.providers"
# Not partitioned: a run that publishes ten providers would write ten small files per
# commit (measured: 4x the bytes of the changed rows, against 1.1x for one file). Readers
# still skip other providers' files by their `provider` min/max statistics: a file written
# by one provider's run has min = max = that provider, which prunes like a partition.
PARTITION_BY: list[str] = []
# Change data feed: a writer or view that is a few commits behind reads only the records
# those commits added (`load_cdf`), never the whole table. OPTIMIZE adds no CDF rows
# (dataChange=false), so compaction is never mistaken for new records.
TABLE_CONFIGURATION = {
    "delta.enableChangeDataFeed": "true",
    # File statistics (in every commit) only for the columns readers filter on.
    "delta.dataSkippingStatsColumns": "record,provider,offer_key,valid_from,dataset_version",
}
# Big enough that a year of hourly runs compacts into a few files per provider.
TARGET_FILE_BYTES = 128 * 1024 * 1024
# Time travel is kept this long by `scrape maintain` unless told otherwise (a week: a bad
# week of data can be compared with, or restored to, any earlier hour).
DEFAULT_RETENTION_HOURS = 7 * 24
# Row groups small enough for readers to decode in parallel.
ROW_GROUP_ROWS = 256_000

# Keys in the environment that delta-rs reads as storage options (object_store names).
_OPTION_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_", "AZURITE_")
# `GPU_PRICES_TABLE_OPTION_<NAME>=value` passes any other option (e.g. CONDITIONAL_PUT).
OPTION_ENV_PREFIX = "GPU_PRICES_TABLE_OPTION_"


class TableError(RuntimeError):
    """The table cannot be read or written (the message says what and how to repair)."""


def is_remote(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


def storage_options(url: str, env: Mapping[str, str]) -> dict[str, str]:
    """delta-rs storage options for `url` from an environment snapshot (`Config.settings`).

    The provider's own variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`) pass through by their
    documented names; `GPU_PRICES_TABLE_OPTION_<NAME>` adds any other option. On S3,
    concurrent writers need conditional puts; `conditional_put=etag` is the default
    (AWS S3 and the common S3-compatible stores support it).
    """
    if not is_remote(url):
        return {}
    opts = {k: v for k, v in env.items() if k.startswith(_OPTION_PREFIXES)}
    for k, v in env.items():
        if k.startswith(OPTION_ENV_PREFIX):
            opts[k[len(OPTION_ENV_PREFIX) :].lower()] = v
    if url.startswith(("s3://", "s3a://")):
        opts.setdefault("conditional_put", "etag")
    return opts


@dataclass(frozen=True)
class Commit:
    """One Delta commit, as `scrape versions` lists it."""

    delta_version: int
    dataset_version: str | None
    created_at: datetime
    operation: str
    providers: tuple[str, ...]
    rows_added: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.dataset_version,
            "delta_version": self.delta_version,
            "created_at": self.created_at.isoformat(),
            "operation": self.operation,
            "providers": list(self.providers),
            "rows_added": self.rows_added,
        }


# A commit that lost a race to another writer's metadata change is written again.
COMMIT_ATTEMPTS = 10


class PriceTable:
    """The Delta table of price records at `url`."""

    def __init__(self, url: str | Path, options: Mapping[str, str] | None = None):
        self.url = str(url)
        # Remote tables need options (credentials, endpoint): `History.for_config` passes
        # them from the settings; a local table needs none.
        self.options = dict(options or {})
        # The handle this process commits through: opening a table replays its log, and a
        # replay commits hundreds of times. A commit brings the handle to its own version
        # (other writers' commits in between included), so it is never stale for writing.
        self._writer = None

    # --- opening -----------------------------------------------------------------------
    def _open(self, version: int | str | datetime | None = None):
        from deltalake import DeltaTable

        try:
            dt = DeltaTable(self.url, storage_options=self.options or None)
            if version is not None:
                dt.load_as_version(version)
        except Exception as exc:
            raise TableError(
                f"{self.url}: cannot open the Delta table ({_first_line(exc)}); "
                f"`scrape versions --verify` checks and repairs it"
            ) from None
        return dt

    def exists(self) -> bool:
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(self.url, storage_options=self.options or None)

    def latest_version(self) -> int | None:
        return self._open().version() if self.exists() else None

    # --- writing -----------------------------------------------------------------------
    def commit(self, records: pa.Table, *, dataset_version: str, providers: list[str]) -> int:
        """Append `records` as one commit; return its Delta version."""
        from deltalake import CommitProperties, WriterProperties, write_deltalake

        records = records.select(TABLE_SCHEMA.names).cast(TABLE_SCHEMA)
        props = CommitProperties(
            custom_metadata={
                DATASET_VERSION_KEY: dataset_version,
                PROVIDERS_KEY: ",".join(sorted(providers)),
            },
            # Other providers' writers commit at the same time: retry until ours lands.
            max_commit_retries=100,
        )
        for attempt in range(COMMIT_ATTEMPTS):
            exists = self._writer is not None or self.exists()
            if exists and self._writer is None:
                self._writer = self._open()
            elif exists:
                # Catch up with other writers' commits (reads only the new log entries).
                self._writer.update_incremental()
            try:
                write_deltalake(
                    self._writer if exists else self.url,
                    records,
                    mode="append",
                    partition_by=PARTITION_BY or None,
                    configuration=None if exists else TABLE_CONFIGURATION,
                    # A column added to the published schema (pipelines/tables.py) is added
                    # to the table by the first commit that carries it; earlier records read
                    # it as null.
                    schema_mode="merge" if exists else None,
                    storage_options=self.options or None,
                    commit_properties=props,
                    writer_properties=WriterProperties(
                        compression="ZSTD", max_row_group_size=ROW_GROUP_ROWS
                    ),
                )
                break
            except Exception as exc:
                # Appends of different providers never conflict, but a concurrent commit that
                # carries table metadata (the creating one, a schema merge) fails ours: it
                # is written again on the caught-up table.
                if "Metadata changed" not in str(exc) or attempt == COMMIT_ATTEMPTS - 1:
                    raise
                log.info("delta commit of %s raced a metadata change; retrying", dataset_version)
        if self._writer is None:
            self._writer = self._open()
        # Ours is the handle's version; the commit metadata says so (else look further back).
        dt = self._writer
        for h in dt.history(1):
            if h.get(DATASET_VERSION_KEY) == dataset_version:
                return int(h["version"])
        for c in self.commits(limit=200, newest_first=True):
            if c.dataset_version == dataset_version:
                return c.delta_version
        raise TableError(f"{self.url}: commit of {dataset_version} not found after writing it")

    # --- reading -----------------------------------------------------------------------
    def commits(self, limit: int | None = None, newest_first: bool = False) -> list[Commit]:
        if not self.exists():
            return []
        out = []
        for h in self._open().history(limit):
            params = h.get("operationMetrics") or {}
            providers = h.get(PROVIDERS_KEY) or ""
            out.append(
                Commit(
                    delta_version=int(h["version"]),
                    dataset_version=h.get(DATASET_VERSION_KEY),
                    created_at=datetime.fromtimestamp(h["timestamp"] / 1000, UTC),
                    operation=str(h.get("operation", "")),
                    providers=tuple(p for p in providers.split(",") if p),
                    rows_added=int(params.get("num_added_rows", 0) or 0),
                )
            )
        out.sort(key=lambda c: c.delta_version, reverse=newest_first)
        return out

    def delta_version_of(self, dataset_version: str) -> int | None:
        for c in self.commits(newest_first=True):
            if c.dataset_version == dataset_version:
                return c.delta_version
        return None

    def records(
        self,
        *,
        providers: list[str] | None = None,
        version: int | str | datetime | None = None,
    ) -> pa.Table:
        """Every record (optionally of some providers) as of `version` (default: latest)."""
        if not self.exists():
            return TABLE_SCHEMA.empty_table()
        dt = self._open(version)
        filters = [("provider", "in", providers)] if providers else None
        return _normalize(dt.to_pyarrow_table(filters=filters))

    def changes_since(self, delta_version: int) -> tuple[pa.Table, int]:
        """Records added by commits after `delta_version`, with `_commit_version`; and the
        latest version read. Raises TableError when the change feed no longer reaches back
        that far (vacuumed): the caller then reads the whole table."""
        dt = self._open()
        latest = dt.version()
        if latest <= delta_version:
            return TABLE_SCHEMA.empty_table().append_column(
                "_commit_version", pa.array([], pa.int64())
            ), latest
        try:
            raw = pa.table(dt.load_cdf(starting_version=delta_version + 1, ending_version=latest))
        except Exception as exc:
            raise TableError(f"{self.url}: change feed unavailable: {_first_line(exc)}") from None
        mask = pa.compute.equal(raw["_change_type"].cast(pa.string()), "insert")
        out = _normalize(raw).append_column(
            "_commit_version", raw["_commit_version"].cast(pa.int64())
        )
        return out.filter(mask), latest

    def history_rows(self, version: int | str | datetime | None = None) -> pd.DataFrame:
        """The price history as of `version`: one row per price version, `valid_to`,
        `is_withdrawn` and `last_seen_at` derived from the close and run records."""
        return derive_history(self.records(version=version))

    # --- upkeep ------------------------------------------------------------------------
    def maintain(self, retention_hours: int = DEFAULT_RETENTION_HOURS) -> dict[str, Any]:
        """Compact small files (bounded memory: one task, spilling to disk), checkpoint the
        log, and delete files no version younger than `retention_hours` needs."""
        dt = self._open()
        compacted = dt.optimize.compact(
            target_size=TARGET_FILE_BYTES,
            max_concurrent_tasks=1,
            max_spill_size=256 * 1024 * 1024,
        )
        dt = self._open()
        dt.create_checkpoint()
        removed = dt.vacuum(
            retention_hours=retention_hours,
            dry_run=False,
            enforce_retention_duration=False,
        )
        dt.cleanup_metadata()
        return {
            "files_added": int(compacted.get("numFilesAdded", 0)),
            "files_removed": int(compacted.get("numFilesRemoved", 0)),
            "files_vacuumed": len(removed),
            "version": self._open().version(),
        }

    def verify(self, repair: bool = False) -> tuple[list[str], list[str]]:
        """(problems, repairs). Checks that every commit of the log parses and that every
        data file of the latest version exists with its recorded size (local tables).

        A torn commit file at the end of the log (a crash or full disk on a store without
        atomic puts) is moved aside with `repair`: its writer never saw it succeed, so no
        published version is lost. A torn commit before intact ones is corruption and is
        reported, not touched.
        """
        problems: list[str] = []
        repairs: list[str] = []
        if is_remote(self.url):
            try:
                self._open()
            except TableError as exc:
                problems.append(str(exc))
            return problems, repairs
        log_dir = Path(self.url) / "_delta_log"
        if not log_dir.is_dir():
            return problems, repairs
        commits = sorted(log_dir.glob("[0-9]" * 20 + ".json"))
        torn = [p for p in commits if not _commit_parses(p)]
        for p in torn:
            trailing = all(q in torn for q in commits if q.name >= p.name)
            problems.append(f"{self.url}: commit {p.name} is torn (not valid JSON)")
            if repair and trailing:
                aside = Path(self.url) / "_torn"
                aside.mkdir(exist_ok=True)
                os.replace(p, aside / p.name)
                repairs.append(f"moved torn commit {p.name} to {aside}")
        if torn and not repairs:
            return problems, repairs
        try:
            dt = self._open()
        except TableError as exc:
            problems.append(str(exc))
            return problems, repairs
        acts = pa.table(dt.get_add_actions(flatten=True))
        for path, size in zip(
            acts["path"].to_pylist(), acts["size_bytes"].to_pylist(), strict=True
        ):
            f = Path(self.url) / path
            if not f.exists():
                problems.append(f"{self.url}: data file {path} missing")
            elif f.stat().st_size != size:
                problems.append(
                    f"{self.url}: data file {path} has {f.stat().st_size} bytes, log says {size}"
                )
        return problems, repairs


def _commit_parses(path: Path) -> bool:
    try:
        for line in path.read_text().splitlines():
            if line.strip():
                json.loads(line)
    except (ValueError, OSError):
        return False
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
