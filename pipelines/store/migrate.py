"""`scrape migrate`: convert a history in the earlier layout into the Delta table.

Source: `datasets/.history/` (versions.jsonl, v<version>/ directories of hard-linked
Parquet parts, directly or in `v<version>/gpu_prices.parquet/`, with `_state.json` and
`_meta.json`; the layout before the Delta table). Output: the
Delta table (one commit per earlier version, with the same dataset version id) and the
plain-Parquet view, whose rows equal the earlier `datasets/gpu_prices.parquet` row for row.

Each earlier version is compared with the one before it: rows that appear are the
versions it opened, rows whose `valid_to` appears are the versions it closed, and its
`_state.json` gives the run record of each provider it merged. The exact `last_seen_at` of
the versions still open at the end is kept as `seen` records. A migration that stops
half-way resumes: versions already in the table (by dataset version) are skipped. The
earlier layout is left in place; delete `datasets/.history/` once satisfied.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.store import delta
from pipelines.store.history import History
from pipelines.tables import PRICES

log = logging.getLogger("pipelines.store.migrate")

OLD_DIR = ".history"
KEY = ["offer_key", "valid_from"]


@dataclass
class MigrationReport:
    versions_found: int = 0
    versions_committed: int = 0
    versions_skipped: int = 0
    rows: int = 0
    torn_lines: int = 0


def old_versions(datasets_dir: Path) -> tuple[list[dict], int]:
    """The earlier layout's version records, oldest first, that have their directory;
    and the number of unreadable (torn) lines skipped."""
    hdir = Path(datasets_dir) / OLD_DIR
    path = hdir / "versions.jsonl"
    if not path.exists():
        return [], 0
    out, torn = [], 0
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            torn += 1
            continue
        if (hdir / f"v{entry['version']}").is_dir():
            out.append(entry)
    return out, torn


def _read_version(vdir: Path) -> pd.DataFrame:
    # Later versions of the layout kept the parts in v<version>/gpu_prices.parquet/,
    # earlier ones in v<version>/ itself.
    data = vdir / PRICES.file if (vdir / PRICES.file).is_dir() else vdir
    tables = [pq.read_table(p).cast(PRICES.schema) for p in sorted(data.glob("*.parquet"))]
    if not tables:
        return PRICES.schema.empty_table().to_pandas()
    return pa.concat_tables(tables).to_pandas()


def _keys(df: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(df[KEY])


def migrate(history: History) -> MigrationReport:
    """Convert `history.datasets_dir/.history` into `history.table`, then publish the view."""
    report = MigrationReport()
    entries, report.torn_lines = old_versions(history.datasets_dir)
    report.versions_found = len(entries)
    if not entries:
        return report
    hdir = history.datasets_dir / OLD_DIR
    done = {c.dataset_version for c in history.table.commits() if c.dataset_version}
    prev = PRICES.schema.empty_table().to_pandas()
    enrich_key = None
    with history.view.lock():
        for i, entry in enumerate(entries):
            version = entry["version"]
            vdir = hdir / f"v{version}"
            rows = _read_version(vdir)
            meta_path = vdir / "_meta.json"
            if meta_path.exists():
                enrich_key = json.loads(meta_path.read_text()).get("enrich_key")
            if version in done:
                report.versions_skipped += 1
                prev = rows
                continue
            records = _records_between(prev, rows, vdir, version, last=i == len(entries) - 1)
            providers = sorted(set(records.column("provider").to_pylist()))
            history.table.commit(records, dataset_version=version, providers=providers)
            report.versions_committed += 1
            prev = rows
        report.rows = len(prev)
        # The view is derived from the table, never copied: what the migration wrote is
        # exactly what readers get. The spec-table key carries over (no needless re-join).
        history.view.refresh(history.table, rebuild=True, enrich_key=enrich_key)
    return report


def _records_between(
    prev: pd.DataFrame, rows: pd.DataFrame, vdir: Path, version: str, *, last: bool
) -> pa.Table:
    opened = rows[~_keys(rows).isin(_keys(prev))].copy()
    was_closed = prev[prev["valid_to"].notna()]
    now_closed = rows[rows["valid_to"].notna()]
    closed = now_closed[~_keys(now_closed).isin(_keys(was_closed))]
    # Versions open at the time they were first published (the view derives the rest).
    opened["valid_to"] = pd.NaT
    opened["is_withdrawn"] = False
    opened["last_seen_at"] = opened["valid_from"]
    parts = [delta.version_records(opened), delta.close_records(closed, version)]
    state_path = vdir / "_state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    merged = sorted(p for p, s in state.items() if s.get("last_good_version") == version)
    if merged:
        parts.append(delta.run_records(state, merged, version))
    if last:
        still_open = rows[rows["valid_to"].isna()]
        parts.append(delta.seen_records(still_open, state))
    return pa.concat_tables(parts)
