"""The plain-Parquet view of the Delta table: what `pd.read_parquet` users load.

Source: the Delta table's records (pipelines/store/delta.py). Output, on local disk:

    datasets/gpu_prices.parquet -> symlink to .view/v<delta version>/
    datasets/.view/v<n>/         hard links: every closed part + the current part
    datasets/.view/v<n>.json     manifest: table URL, Delta and dataset version, files with
                                 sha256/rows/bytes, gate state per provider (kept outside the
                                 Parquet directory, so polars and DuckDB read it directly)
    datasets/.view/parts/closed-<n>.parquet   versions that ended in commit(s) up to n:
                                 immutable, written once
    datasets/.view/parts/current-<n>.parquet  the open versions (valid_to null)

Rows are the history as today: one per price version with `valid_from`/`valid_to`. A
refresh reads only the records the table gained since the view's version (the change data
feed), so its cost follows the changes plus one pass over the open versions. Publishing is
atomic: new parts first, the version directory under a temporary name and renamed, the
manifest, then the symlink swapped with one `rename(2)`. A crash leaves the previous view
published; the next refresh catches up with whatever the table holds.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.schema import HISTORY_FIELDS
from pipelines.store import delta, versioned
from pipelines.store.atomic import (
    PARQUET_COMPRESSION,
    file_sha256,
    to_table,
    write_parquet_atomic,
    write_rebatched,
)
from pipelines.tables import PRICES

log = logging.getLogger("pipelines.store.view")

PRICES_NAME = PRICES.file
VIEW_DIR = ".view"
# A reader pays for every file and row group it opens: 200 closed parts of a thousand rows
# each took 2.5x the CPU of reading the same 0.9M rows as one file (benchmarks/README.md,
# "Reading the view"). So the small closed parts an hourly run leaves are merged as they
# accumulate: when there are more than COMPACT_SMALL_PARTS parts under COMPACT_PART_ROWS
# rows, they become one part (size-tiered: big parts are never rewritten, so a merge costs
# at most ~COMPACT_PART_ROWS rows whatever the history's length, about
# COMPACT_PART_ROWS / (2 * COMPACT_SMALL_PARTS) rows per run on average). A history of H
# rows is then read from about H / COMPACT_PART_ROWS + COMPACT_SMALL_PARTS files. The merge
# streams row groups: its memory does not grow with the history.
COMPACT_PART_ROWS = 1_000_000
COMPACT_SMALL_PARTS = 8
ROW_GROUP_ROWS = 256_000
# The storage layout of the view's parts (PRICES.storage_schema), recorded per part in the
# manifest. 2: 16-bit dictionary indices for small vocabularies, and pandas metadata that
# declares the plain string columns `string[pyarrow]` and dates `date32[day][pyarrow]`
# (pipelines/schema.py, storage_schema). Parts of an earlier layout are rewritten by the
# next refresh.
LAYOUT = 2
# A refresh takes seconds; a writer waiting longer than this means a stuck process.
LOCK_TIMEOUT_S = 600
# Earlier view directories kept after a switch, for readers still listing the old one.
KEEP_PREVIOUS = 1

Enrich = Callable[[pd.DataFrame], pd.DataFrame]


def stored(data: pd.DataFrame | pa.Table) -> pa.Table:
    """History rows in their on-disk form (explicit schema, dictionary-encoded strings)."""
    table = to_table(data, PRICES.schema)
    try:
        return table.cast(PRICES.storage_schema)
    except pa.ArrowInvalid as exc:  # a SMALL_VOCABULARY column outgrew its 16-bit indices
        raise ValueError(f"{PRICES.file}: cannot store rows in the view's layout: {exc}") from exc


class View:
    def __init__(self, datasets_dir: Path):
        self.datasets_dir = Path(datasets_dir)
        self.vdir = self.datasets_dir / VIEW_DIR
        self.parts = self.vdir / "parts"
        self.link = self.datasets_dir / PRICES_NAME

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One view writer at a time on this machine (the table itself needs no lock)."""
        self.vdir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.vdir / ".lock"), timeout=LOCK_TIMEOUT_S):
            yield

    # --- reading -----------------------------------------------------------------------
    def current_name(self) -> str | None:
        if not self.link.is_symlink():
            return None
        return Path(os.readlink(self.link)).name

    def manifest(self) -> dict[str, Any] | None:
        name = self.current_name()
        if name is None:
            return None
        path = self.vdir / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def current_part(self) -> Path | None:
        m = self.manifest()
        if not m:
            return None
        name = next((n for n in m["files"] if n.startswith("current-")), None)
        return self.vdir / self.current_name() / name if name else None

    def read_current(self) -> pd.DataFrame:
        part = self.current_part()
        if part is None:
            return PRICES.schema.empty_table().to_pandas()
        return _plain(pq.read_table(part))

    def read_ending_from(self, since: pd.Timestamp) -> pd.DataFrame:
        """The versions still open or ending at or after `since`. The row groups that all
        ended earlier are skipped from their statistics: a closed part holds the versions
        closed by a span of commits, so the read follows the recent changes, not the
        history."""
        valid_to = pc.field("valid_to")
        at = pa.scalar(pd.Timestamp(since).to_pydatetime(), PRICES.schema.field("valid_to").type)
        return pd.read_parquet(self.link, filters=(valid_to >= at) | valid_to.is_null())

    # --- writing -----------------------------------------------------------------------
    def refresh(
        self,
        table: delta.PriceTable,
        *,
        enrich: Enrich | None = None,
        enrich_key: str | None = None,
        rebuild: bool = False,
    ) -> dict[str, Any] | None:
        """Bring the view up to the table's latest version; return its manifest.

        Call under `lock()`. `enrich` re-joins the spec columns of every open version
        when `enrich_key` differs from the view's (the GPU spec table changed).
        `rebuild` derives the view from the whole table (repair of a damaged view).
        """
        m = self.manifest()
        latest = table.latest_version()
        if latest is None:
            return m
        same_table = m is not None and m.get("table_url") == table.url and not rebuild
        rejoin = enrich is not None and enrich_key is not None and m is not None
        rejoin = rejoin and m.get("enrich_key") != enrich_key
        relayout = m is not None and any(v.get("layout") != LAYOUT for v in m["files"].values())
        if same_table and m["delta_version"] == latest and not rejoin and not relayout:
            return m
        closed_new: list[pd.DataFrame] = []
        if same_table:
            try:
                recs, latest = table.changes_since(m["delta_version"])
                current = self.read_current()
                state = dict(m.get("state") or {})
                current, state = _apply(recs, current, state, closed_new)
                closed_files = {k: v for k, v in m["files"].items() if k.startswith("closed-")}
            except delta.TableError as exc:  # the feed was vacuumed: rebuild from the table
                log.warning("view: %s; rebuilding from the whole table", exc)
                same_table = False
        if not same_table:
            recs = table.records()
            rows = delta.derive_history(recs)
            is_open = rows["valid_to"].isna()
            current = rows[is_open].reset_index(drop=True)
            closed_new = [rows[~is_open]]
            state = delta.run_state(recs)
            closed_files = {}
        if rejoin:
            current = enrich(current)
        dataset_version = _dataset_version(table, latest)
        return self.publish(
            table,
            latest,
            dataset_version,
            current,
            closed_new,
            closed_files,
            state,
            enrich_key if enrich_key is not None else (m or {}).get("enrich_key"),
        )

    def publish(
        self,
        table: delta.PriceTable,
        delta_version: int,
        dataset_version: str | None,
        current: pd.DataFrame,
        closed_new: list[pd.DataFrame],
        closed_files: dict[str, dict[str, Any]],
        state: dict[str, Any],
        enrich_key: str | None,
    ) -> dict[str, Any]:
        self.parts.mkdir(parents=True, exist_ok=True)
        name = self._new_name(delta_version)
        meta = {
            "gpu_prices.dataset_version": dataset_version or "",
            "gpu_prices.delta_version": str(delta_version),
        }
        files = dict(closed_files)
        closed = [c for c in closed_new if len(c)]
        if closed:
            part = self.parts / f"closed-{name[1:]}.parquet"
            files[part.name] = self._write(
                pd.concat(closed, ignore_index=True).sort_values(
                    ["provider", "offer_key", "valid_from"], kind="stable"
                ),
                part,
                meta,
            )
        current = current.sort_values(["provider", "offer_key"], kind="stable")
        cur = self.parts / f"current-{name[1:]}.parquet"
        files[cur.name] = self._write(current, cur, meta)
        closed_parts = {k: v for k, v in files.items() if k.startswith("closed-")}
        small = [k for k, v in closed_parts.items() if v["rows"] < COMPACT_PART_ROWS]
        # Parts of a view published before the current layout are rewritten in it once
        # (streamed like any merge), so that every part of a view has the same schema.
        stale = [k for k, v in closed_parts.items() if v.get("layout") != LAYOUT]
        if len(small) > COMPACT_SMALL_PARTS or stale:
            merge = sorted(set(stale) | (set(small) if len(small) > COMPACT_SMALL_PARTS else set()))
            files = self._compact(name, files, merge, meta)
        manifest = {
            "table_url": table.url,
            "delta_version": delta_version,
            "dataset_version": dataset_version,
            "rows": sum(f["rows"] for f in files.values()),
            "current_rows": len(current),
            "enrich_key": enrich_key,
            "files": files,
            "state": state,
        }
        versioned.publish(self.vdir, self.parts, name, files, manifest, self.link)
        self._prune(name)
        return manifest

    def _new_name(self, delta_version: int) -> str:
        name, n = f"v{delta_version:020d}", 1
        while (self.vdir / name).exists() or (self.vdir / f"{name}.json").exists():
            n += 1
            name = f"v{delta_version:020d}-{n}"
        return name

    def _write(self, df: pd.DataFrame, path: Path, meta: dict[str, str]) -> dict[str, Any]:
        sha = write_parquet_atomic(stored(df), path, metadata=meta, row_group_size=ROW_GROUP_ROWS)
        return {"sha256": sha, "rows": len(df), "bytes": path.stat().st_size, "layout": LAYOUT}

    def _compact(self, name: str, files: dict, merged: list[str], meta: dict) -> dict:
        """Merge the closed parts `merged` into one, in row groups of ROW_GROUP_ROWS rows
        (small parts hold a row group each: copied as they are, the merged part would
        keep them all), a row group at a time (bounded memory)."""
        path = self.parts / f"closed-{name[1:]}-compacted.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        schema = PRICES.storage_schema
        schema = schema.with_metadata(
            {**schema.metadata, **{k.encode(): v.encode() for k, v in meta.items()}}
        )

        def row_groups() -> Iterator[pa.Table]:
            for n in merged:
                f = pq.ParquetFile(self.parts / n)
                for i in range(f.num_row_groups):
                    yield _conform(f.read_row_group(i)).cast(schema)

        with pq.ParquetWriter(tmp, schema, compression=PARQUET_COMPRESSION) as w:
            rows = write_rebatched(w, row_groups(), ROW_GROUP_ROWS)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        out = {k: v for k, v in files.items() if k not in merged}
        out[path.name] = {
            "sha256": file_sha256(path),
            "rows": rows,
            "bytes": path.stat().st_size,
            "layout": LAYOUT,
        }
        return out

    def _prune(self, keep_name: str) -> None:
        """Delete view directories, manifests and parts no kept view refers to."""
        versioned.prune(
            self.vdir,
            self.parts,
            keep_name,
            keep_previous=KEEP_PREVIOUS,
            files_of=lambda m: m["files"],
            parts_glob="*.parquet",
        )

    def verify(self, table: delta.PriceTable) -> list[str]:
        """The published view's files against their recorded hashes, and its version
        against the table's."""
        m = self.manifest()
        if m is None:
            return [f"{self.link}: no view published"] if table.exists() else []
        problems = []
        vdir = self.vdir / self.current_name()
        for f, info in m["files"].items():
            path = vdir / f
            if not path.exists():
                problems.append(f"{self.link}/{f}: missing")
            elif file_sha256(path) != info["sha256"]:
                problems.append(f"{self.link}/{f}: sha256 mismatch")
        latest = table.latest_version()
        if latest is not None and m["delta_version"] < latest:
            problems.append(
                f"{self.link}: view at Delta version {m['delta_version']}, table at {latest}"
            )
        return problems


def dataset_version_of(path: Path) -> str | None:
    """The dataset version of a published view directory (`datasets/gpu_prices.parquet`
    or `.view/v<n>/`), from its manifest; None for anything else."""
    real = Path(path).resolve()
    manifest = real.parent / f"{real.name}.json"
    if real.parent.name != VIEW_DIR or not manifest.is_file():
        return None
    return json.loads(manifest.read_text()).get("dataset_version")


def _conform(table: pa.Table) -> pa.Table:
    """A part's rows in the logical schema; columns added to the history since the part
    was written (e.g. price_basis) are null in it."""
    for field in PRICES.schema:
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    return table.select(PRICES.schema.names).cast(PRICES.schema)


def _plain(table: pa.Table) -> pd.DataFrame:
    """View rows as plain columns (no categoricals), for merging."""
    return _conform(table).to_pandas()


def _dataset_version(table: delta.PriceTable, delta_version: int) -> str | None:
    for c in table.commits(limit=50, newest_first=True):
        if c.delta_version <= delta_version and c.dataset_version:
            return c.dataset_version
    return None


def apply_records(
    records: pa.Table,
    delta_version: int,
    current: pd.DataFrame,
    state: dict[str, Any],
    closed_out: list[pd.DataFrame],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply the records of one commit this process just wrote (as `_apply` does with the
    change feed): the batch mode of `History` keeps the view in memory this way."""
    recs = delta.as_stored(records).append_column(
        "_commit_version", pa.array([delta_version] * records.num_rows, pa.int64())
    )
    return _apply(recs, current, state, closed_out)


def _apply(
    recs: pa.Table,
    current: pd.DataFrame,
    state: dict[str, Any],
    closed_out: list[pd.DataFrame],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply records of later commits, in commit order, to the open versions."""
    if recs.num_rows == 0:
        return current, state
    df = recs.to_pandas()
    key = ["offer_key", "valid_from"]
    cols = [f.name for f in HISTORY_FIELDS]
    for cv in sorted(df["_commit_version"].unique()):
        r = df[df["_commit_version"] == cv]
        kind = r["record"]
        closes = r[kind == delta.RECORD_CLOSE]
        if len(closes):
            idx = pd.MultiIndex.from_frame(current[key])
            cidx = pd.MultiIndex.from_frame(closes[key])
            hit = idx.isin(cidx)
            ended = current[hit].drop(columns=delta.CLOSE_COLUMNS[2:])
            ended = ended.merge(closes[delta.CLOSE_COLUMNS], on=key, how="left")
            if len(ended) != len(closes):
                log.warning(
                    "view: commit %s closes %d versions, %d of them open here",
                    cv,
                    len(closes),
                    len(ended),
                )
            closed_out.append(ended[cols])
            current = current[~hit]
        opened = r[kind == delta.RECORD_VERSION]
        if len(opened):
            current = pd.concat([current, opened[cols]], ignore_index=True)
        if (kind == delta.RECORD_RUN).any() or (kind == delta.RECORD_SEEN).any():
            current = delta.confirm_open(current.reset_index(drop=True), r)
            state.update(delta.run_state(r))
    return current.reset_index(drop=True), state
