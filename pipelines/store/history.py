"""The versioned price history: one row per price version of an offer.

Storage (why not one Parquet file, why not Delta Lake: see the README, "History storage"):

    datasets/gpu_prices.parquet -> symlink to .history/v<version>/gpu_prices.parquet/
    datasets/.history/parts/closed-<version>.parquet  immutable: row versions that ended
    datasets/.history/parts/current-<version>.parquet the open versions (valid_to is null)
    datasets/.history/v<version>/gpu_prices.parquet/  hard links: every closed part that
                                                      existed at that version + its current part
    datasets/.history/v<version>/_state.json          per provider: last good run (gate state)
    datasets/.history/v<version>/_meta.json           publisher's notes (spec-table key)
    datasets/.history/versions.jsonl                  one line per published version

`pd.read_parquet("datasets/gpu_prices.parquet")` reads the directory the symlink points to:
the whole history. It holds Parquet files only (polars and DuckDB read a directory only
when every file in it is Parquet); the state beside it is published by the same rename.
Versions written before that layout kept the data directly in `v<version>/`: readers
below accept both. A run reads and rewrites only the *current* part (one row per live
offer) and appends one small closed part with the versions it ended, so its cost follows
the number of live and changed offers, not the length of the history. Publishing is
atomic: all new files are written first, the version directory is assembled under a
temporary name and renamed, and the symlink is swapped with one `rename(2)`. A crash at any
point leaves the previous version published and intact. Earlier versions stay readable at
`datasets/.history/v<version>/`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.schema import (
    OBSERVATION_FIELDS,
    PRICE_DECIMALS,
    SPEC_FIELDS,
    VERSION_VALUE_COLUMNS,
)
from pipelines.store.atomic import file_sha256, to_table, write_json_atomic, write_parquet_atomic
from pipelines.tables import PRICES

log = logging.getLogger("pipelines.store.history")

PRICES_NAME = PRICES.file
HISTORY_DIR = ".history"
# Closed parts are merged into one when there are more than this many, so a reader does
# not open thousands of small files after years of hourly runs.
COMPACT_AFTER_PARTS = 200
# A publish takes seconds; a writer waiting longer than this means a stuck process.
PUBLISH_LOCK_TIMEOUT_S = 600
# Row groups small enough for the reader to decode in parallel, big enough to compress well.
ROW_GROUP_ROWS = 256_000


@dataclass
class ProviderMerge:
    """What merging one provider's observations did to the history."""

    provider: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped_reason: str | None = None


@dataclass
class PublishResult:
    version: str | None
    previous_version: str | None
    merges: dict[str, ProviderMerge] = field(default_factory=dict)
    current_rows: int = 0
    closed_rows_added: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


class History:
    def __init__(self, datasets_dir: Path):
        self.datasets_dir = Path(datasets_dir)
        self.hdir = self.datasets_dir / HISTORY_DIR
        self.parts = self.hdir / "parts"
        self.link = self.datasets_dir / PRICES_NAME

    # --- reading -------------------------------------------------------------------
    def versions(self) -> list[dict[str, Any]]:
        path = self.hdir / "versions.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        # Only versions whose directory exists count (a crash may leave a line without it).
        return [v for v in out if (self.hdir / f"v{v['version']}").is_dir()]

    def current_version(self) -> str | None:
        if not self.link.is_symlink():
            return None
        target = Path(os.readlink(self.link))
        if target.name == PRICES_NAME:
            target = target.parent
        name = target.name
        return name[1:] if name.startswith("v") else None

    def version_dir(self, version: str) -> Path:
        """The version's directory: its Parquet directory and its state files."""
        return self.hdir / f"v{version}"

    def data_dir(self, version: str) -> Path:
        """The version's Parquet directory (Parquet files only)."""
        vdir = self.version_dir(version)
        data = vdir / PRICES_NAME
        return data if data.is_dir() or not vdir.is_dir() else vdir

    def current_part(self, version: str | None = None) -> Path | None:
        version = version or self.current_version()
        if not version:
            return None
        found = sorted(self.data_dir(version).glob("current-*.parquet"))
        return found[-1] if found else None

    def read_current(self) -> pd.DataFrame:
        part = self.current_part()
        if part is None:
            return PRICES.schema.empty_table().to_pandas()
        return pq.read_table(part).cast(PRICES.schema).to_pandas()

    def read_all(self, version: str | None = None) -> pd.DataFrame:
        version = version or self.current_version()
        if not version:
            return PRICES.schema.empty_table().to_pandas()
        return pd.read_parquet(self.data_dir(version))

    def provider_state(self) -> dict[str, dict[str, Any]]:
        """Per provider: last good run (observed_at, rows, version, regions).

        Kept in the version directory beside the Parquet directory, so the state and the
        data it describes are published by the same rename.
        """
        version = self.current_version()
        if not version:
            return {}
        path = self.version_dir(version) / "_state.json"
        if path.exists():
            return json.loads(path.read_text())
        return {}

    # --- writing -------------------------------------------------------------------
    def new_version_id(self, now: datetime | None = None) -> str:
        now = now or _now()
        base = now.strftime("%Y%m%dT%H%M%S%fZ")
        vid, n = base, 1
        while self.version_dir(vid).exists():
            n += 1
            vid = f"{base}-{n}"
        return vid

    def merge_and_publish(
        self,
        observations: dict[str, pd.DataFrame],
        *,
        enrich=None,
        enrich_key: str | None = None,
        now: datetime | None = None,
    ) -> PublishResult:
        """Merge each provider's gated observations into the history and publish a version.

        `observations` holds only providers that passed the gate. `enrich(df) -> df` adds
        the spec columns (GPU specs join) to rows about to be written as current.
        Providers whose observations are not newer than what the history already holds
        (a replay of an archive already merged) are skipped: replays are idempotent.

        One publisher at a time, across processes: two runs of different providers (the
        scheduler and a manual `scrape run`) would otherwise both start from the same
        current version, and the later switch would drop the other's changes.
        """
        self.hdir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.hdir / ".publish.lock"), timeout=PUBLISH_LOCK_TIMEOUT_S):
            return self._merge_and_publish(
                observations, enrich=enrich, enrich_key=enrich_key, now=now
            )

    def _merge_and_publish(
        self,
        observations: dict[str, pd.DataFrame],
        *,
        enrich,
        enrich_key: str | None,
        now: datetime | None,
    ) -> PublishResult:
        self._cleanup_tmp()
        prev_version = self.current_version()
        current = self.read_current()
        state = self.provider_state()
        result = PublishResult(version=None, previous_version=prev_version)
        version = self.new_version_id(now)
        fresh: dict[str, pd.DataFrame] = {}
        for provider, obs in sorted(observations.items()):
            merge = ProviderMerge(provider)
            result.merges[provider] = merge
            obs_at = obs["observed_at"].max()
            last_at = state.get(provider, {}).get("last_observed_at")
            if last_at is not None and obs_at <= pd.Timestamp(last_at):
                merge.skipped_reason = (
                    f"already in history (observed {obs_at.isoformat()} <= {last_at})"
                )
                continue
            fresh[provider] = obs
            state[provider] = {
                **state.get(provider, {}),
                "last_observed_at": obs_at.isoformat(),
                "last_good_rows": int(len(obs)),
                "last_good_version": version,
                "regions": sorted(obs["region"].dropna().unique().tolist()),
            }
        if not fresh:
            return result
        # One vectorized merge for all providers of the run: offer keys start with the
        # provider id, so they are unique across providers.
        touched = current["provider"].isin(list(fresh))
        untouched = current[~touched]
        obs_all = pd.concat(list(fresh.values()), ignore_index=True)
        kept, closed, counts = _merge(current[touched], obs_all, version)
        for provider, (n_new, n_changed, n_same, n_gone) in counts.items():
            m = result.merges[provider]
            m.new, m.changed, m.unchanged, m.removed = n_new, n_changed, n_same, n_gone
        meta = self._meta(prev_version)
        if enrich is not None:
            if enrich_key is not None and meta.get("enrich_key") != enrich_key:
                # The spec table changed since the last publish: re-join every current row.
                kept = enrich(pd.concat([untouched, kept], ignore_index=True))
                untouched = kept.iloc[0:0]
            else:
                is_new = kept["dataset_version"] == version
                if is_new.any():
                    kept = pd.concat([kept[~is_new], enrich(kept[is_new])], ignore_index=True)
        keep = pd.concat([x for x in (untouched, kept) if len(x)], ignore_index=True)
        keep = keep.sort_values(["provider", "offer_key"], kind="stable").reset_index(drop=True)
        closed_all = closed if len(closed) else None
        meta_next = {"enrich_key": enrich_key}
        self._publish(version, prev_version, keep, closed_all, state, meta_next)
        result.version = version
        result.current_rows = len(keep)
        result.closed_rows_added = 0 if closed_all is None else len(closed_all)
        return result

    def _publish(
        self,
        version: str,
        prev_version: str | None,
        current: pd.DataFrame,
        closed: pd.DataFrame | pa.Table | None,
        state: dict,
        meta_next: dict[str, Any] | None = None,
    ) -> None:
        self.parts.mkdir(parents=True, exist_ok=True)
        meta = {
            "gpu_prices.dataset_version": version,
            "gpu_prices.created_at": _now().isoformat(),
        }
        new_files: dict[str, dict[str, Any]] = {}
        cur_path = self.parts / f"current-{version}.parquet"
        sha = write_parquet_atomic(
            _stored(current), cur_path, metadata=meta, row_group_size=ROW_GROUP_ROWS
        )
        new_files[cur_path.name] = {
            "sha256": sha,
            "rows": len(current),
            "bytes": cur_path.stat().st_size,
        }
        if closed is not None and len(closed):
            closed_path = self.parts / f"closed-{version}.parquet"
            sha = write_parquet_atomic(
                _stored(closed), closed_path, metadata=meta, row_group_size=ROW_GROUP_ROWS
            )
            new_files[closed_path.name] = {
                "sha256": sha,
                "rows": len(closed),
                "bytes": closed_path.stat().st_size,
            }
        # Closed parts of the previous version carry over; their hashes were recorded when
        # they were written, so publishing never re-reads the history.
        files: dict[str, dict[str, Any]] = {}
        if prev_version:
            prev_entry = next((v for v in self.versions() if v["version"] == prev_version), None)
            if prev_entry:
                files = {k: v for k, v in prev_entry["files"].items() if k.startswith("closed-")}
        files.update(new_files)
        closed_names = [k for k in files if k.startswith("closed-")]
        if len(closed_names) > COMPACT_AFTER_PARTS:
            files = self._compact(version, files, closed_names, meta)
        tmp_dir = self.hdir / f".v{version}.tmp"
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir)
        (tmp_dir / PRICES_NAME).mkdir(parents=True)
        for name in files:
            os.link(self.parts / name, tmp_dir / PRICES_NAME / name)
        write_json_atomic(state, tmp_dir / "_state.json")
        write_json_atomic(meta_next or {}, tmp_dir / "_meta.json")
        final_dir = self.version_dir(version)
        os.rename(tmp_dir, final_dir)
        entry = {
            "version": version,
            "previous_version": prev_version,
            "created_at": _now().isoformat(),
            "rows": sum(f["rows"] for f in files.values()),
            "current_rows": len(current),
            "files": files,
        }
        with open(self.hdir / "versions.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        # The switch: one atomic rename of a symlink. Before it, readers see the previous
        # version; after it, the new one.
        tmp_link = self.datasets_dir / f".{PRICES_NAME}.tmp"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        os.symlink(os.path.relpath(final_dir / PRICES_NAME, self.datasets_dir), tmp_link)
        os.replace(tmp_link, self.link)

    def _meta(self, version: str | None) -> dict[str, Any]:
        if not version:
            return {}
        path = self.version_dir(version) / "_meta.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _compact(self, version: str, files: dict, closed_names: list[str], meta: dict) -> dict:
        tables = [pq.read_table(self.parts / n).cast(PRICES.schema) for n in sorted(closed_names)]
        merged = _stored(pa.concat_tables(tables))
        path = self.parts / f"closed-{version}-compacted.parquet"
        sha = write_parquet_atomic(merged, path, metadata=meta, row_group_size=ROW_GROUP_ROWS)
        out = {k: v for k, v in files.items() if not k.startswith("closed-")}
        out[path.name] = {"sha256": sha, "rows": merged.num_rows, "bytes": path.stat().st_size}
        return out

    def _cleanup_tmp(self) -> None:
        if not self.hdir.exists():
            return
        for p in self.hdir.glob(".v*.tmp"):
            shutil.rmtree(p, ignore_errors=True)

    def verify(self, version: str | None = None) -> list[str]:
        """Check a version's files against the hashes recorded when they were written."""
        version = version or self.current_version()
        entry = next((v for v in self.versions() if v["version"] == version), None)
        if entry is None:
            return [f"version {version} not found"]
        problems = []
        for name, info in entry["files"].items():
            path = self.data_dir(version) / name
            if not path.exists():
                problems.append(f"{name}: missing")
            elif file_sha256(path) != info["sha256"]:
                problems.append(f"{name}: sha256 mismatch")
        return problems


def _stored(data: pd.DataFrame | pa.Table) -> pa.Table:
    """History rows in their on-disk form (explicit schema, dictionary-encoded strings)."""
    return to_table(data, PRICES.schema).cast(PRICES.storage_schema)


def _round(s: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(s):
        return s.round(PRICE_DECIMALS)
    return s


def _values_equal(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Row-wise equality of the version value columns (NaN == NaN; floats rounded)."""
    eq = np.ones(len(a), dtype=bool)
    for col in VERSION_VALUE_COLUMNS:
        x = _round(a[col]).reset_index(drop=True)
        y = _round(b[col]).reset_index(drop=True)
        both_na = x.isna() & y.isna()
        same = (x == y).fillna(False).astype(bool) | both_na
        eq &= same.to_numpy()
    return eq


def _merge(
    prev: pd.DataFrame, obs: pd.DataFrame, version: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[int, int, int, int]]]:
    """Merge observations into the current rows of the providers they come from.

    Returns (rows current afterwards, rows closed by this run, per-provider counts of
    new / changed / unchanged / removed offers). All work is on index arrays: the cost
    follows the number of live offers, not the history.
    """
    obs_cols = [f.name for f in OBSERVATION_FIELDS]
    obs = obs[obs_cols].reset_index(drop=True)
    prev = prev.reset_index(drop=True)
    run_at = obs.groupby("provider", observed=True)["observed_at"].min()
    pos = pd.Index(prev["offer_key"]).get_indexer(obs["offer_key"])
    in_prev = pos >= 0
    old_rows = prev.iloc[pos[in_prev]].reset_index(drop=True)
    new_seen = obs[in_prev].reset_index(drop=True)
    same = _values_equal(old_rows, new_seen) if len(old_rows) else np.zeros(0, dtype=bool)

    unchanged = old_rows[same].copy()
    unchanged["last_seen_at"] = new_seen.loc[same, "observed_at"].to_numpy()

    closed_changed = old_rows[~same].copy()
    closed_changed["valid_to"] = new_seen.loc[~same, "observed_at"].to_numpy()
    closed_changed["is_withdrawn"] = False

    opened = _open_rows(pd.concat([new_seen[~same], obs[~in_prev]], ignore_index=True), version)

    still_there = pd.Index(obs["offer_key"]).get_indexer(prev["offer_key"]) >= 0
    gone = prev[~still_there].copy()
    gone["valid_to"] = gone["provider"].map(run_at).astype(prev["valid_to"].dtype)
    gone["is_withdrawn"] = True

    kept = pd.concat(
        [x for x in (unchanged, opened) if len(x)] or [prev.iloc[0:0]], ignore_index=True
    )
    closed = pd.concat(
        [x for x in (closed_changed, gone) if len(x)] or [prev.iloc[0:0]], ignore_index=True
    )

    def per_provider(series: pd.Series) -> pd.Series:
        return series.value_counts()

    n_new = per_provider(obs.loc[~in_prev, "provider"])
    n_changed = per_provider(new_seen.loc[~same, "provider"])
    n_same = per_provider(new_seen.loc[same, "provider"])
    n_gone = per_provider(gone["provider"])
    counts = {
        p: (
            int(n_new.get(p, 0)),
            int(n_changed.get(p, 0)),
            int(n_same.get(p, 0)),
            int(n_gone.get(p, 0)),
        )
        for p in obs["provider"].unique()
    }
    return kept, closed, counts


def _open_rows(obs: pd.DataFrame, version: str) -> pd.DataFrame:
    df = obs.copy()
    for f in SPEC_FIELDS:
        df[f.name] = None
    df["valid_from"] = df["observed_at"]
    df["valid_to"] = pd.Series([pd.NaT] * len(df), dtype="datetime64[us, UTC]")
    df["last_seen_at"] = df["observed_at"]
    df["is_withdrawn"] = False
    df["dataset_version"] = version
    return df
