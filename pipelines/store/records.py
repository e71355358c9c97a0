"""Records <-> history rows: the row model of the Delta table (pipelines/store/delta.py).

The table stores *records* (`version`, `close`, `run`, `seen`; what each holds: delta.py's
docstring). This module builds the records a run appends from history rows
(`version_records`, `close_records`, `run_records`, `seen_records`) and derives history rows
back from records (`derive_history`, `confirm_open`, `run_state`). Pure functions over
pandas/Arrow: no table handle, no I/O (that is delta.py's `PriceTable`).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from pipelines.schema import HISTORY_FIELDS
from pipelines.tables import PRICES

RECORD_VERSION = "version"
RECORD_CLOSE = "close"
RECORD_RUN = "run"
RECORD_SEEN = "seen"

# Every column is nullable in the table: close/run records carry only a few of them.
TABLE_SCHEMA = pa.schema(
    [pa.field("record", pa.string(), nullable=False)]
    + [pa.field(f.name, f.type, nullable=True) for f in HISTORY_FIELDS]
)
CLOSE_COLUMNS = ["offer_key", "valid_from", "valid_to", "is_withdrawn", "last_seen_at"]


def as_stored(records: pa.Table) -> pa.Table:
    """Records as a commit stores them and the change feed returns them."""
    return _normalize(records.select(TABLE_SCHEMA.names).cast(TABLE_SCHEMA))


def _normalize(table: pa.Table) -> pa.Table:
    """Arrow as delta-rs returns it (string views, any column order) -> TABLE_SCHEMA."""
    cols = []
    for f in TABLE_SCHEMA:
        if f.name in table.column_names:
            col = table[f.name]
            if pa.types.is_string_view(col.type) or pa.types.is_large_string(col.type):
                col = col.cast(pa.string())
            cols.append(col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=TABLE_SCHEMA)


# --- records <-> history rows ----------------------------------------------------------


def version_records(rows: pd.DataFrame) -> pa.Table:
    """Records for versions opened by a run (history rows, valid_to null)."""
    from pipelines.store.atomic import to_table

    t = to_table(rows, PRICES.schema)
    t = t.append_column("record", pa.array([RECORD_VERSION] * t.num_rows, pa.string()))
    return t.select(TABLE_SCHEMA.names).cast(TABLE_SCHEMA)


def close_records(closed: pd.DataFrame, dataset_version: str) -> pa.Table:
    """Records for versions a run ended (closed history rows: valid_to set)."""
    df = closed[["provider", *CLOSE_COLUMNS]].copy()
    df["dataset_version"] = dataset_version
    df["record"] = RECORD_CLOSE
    return _from_frame(df)


def run_records(
    state: dict[str, dict[str, Any]], providers: list[str], dataset_version: str
) -> pa.Table:
    """One record per provider merged by a run: what confirms its open versions, and the
    gate's state for its next run."""
    rows = []
    for p in providers:
        s = state[p]
        rows.append(
            {
                "record": RECORD_RUN,
                "provider": p,
                "observed_at": pd.Timestamp(s["last_observed_at"]),
                "dataset_version": dataset_version,
                "extra_json": json.dumps(
                    {"last_good_rows": s["last_good_rows"], "regions": s["regions"]},
                    sort_keys=True,
                ),
            }
        )
    return _from_frame(pd.DataFrame(rows))


def seen_records(rows: pd.DataFrame, state: dict[str, dict[str, Any]]) -> pa.Table:
    """Exact `last_seen_at` of open versions (migration), each stamped with its provider's
    latest run time: it holds until a later run of that provider confirms them again."""
    df = rows[["provider", "offer_key", "valid_from", "last_seen_at", "dataset_version"]].copy()
    run_at = {p: pd.Timestamp(s["last_observed_at"]) for p, s in state.items()}
    df["observed_at"] = df["provider"].map(run_at)
    df["record"] = RECORD_SEEN
    return _from_frame(df)


def _from_frame(df: pd.DataFrame) -> pa.Table:
    cols = []
    for f in TABLE_SCHEMA:
        if f.name in df.columns:
            cols.append(pa.array(df[f.name], type=f.type, from_pandas=True))
        else:
            cols.append(pa.nulls(len(df), f.type))
    return pa.Table.from_arrays(cols, schema=TABLE_SCHEMA)


def run_state(records: pa.Table | pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per provider, its latest run record as the gate state (`History.provider_state`)."""
    df = records if isinstance(records, pd.DataFrame) else records.to_pandas()
    # Only the columns a run record fills: a commit's records are as wide as the history.
    runs = df.loc[
        df["record"] == RECORD_RUN, ["provider", "observed_at", "dataset_version", "extra_json"]
    ]
    out: dict[str, dict[str, Any]] = {}
    if not len(runs):
        return out
    runs = runs.sort_values("observed_at", kind="stable")
    # Each provider's last run record in that order, listed in that order too.
    last = runs[runs["provider"].notna()].drop_duplicates("provider", keep="last")
    for provider, observed_at, version, extra_json in last.itertuples(index=False, name=None):
        extra = json.loads(extra_json or "{}")
        out[str(provider)] = {
            "last_observed_at": pd.Timestamp(observed_at).isoformat(),
            "last_good_rows": int(extra.get("last_good_rows", 0)),
            "last_good_version": version,
            "regions": list(extra.get("regions", [])),
        }
    return out


def derive_history(records: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """History rows (the view's columns) from records: versions with their close joined;
    open versions confirmed by their provider's latest run."""
    df = records if isinstance(records, pd.DataFrame) else records.to_pandas()
    kind = df["record"]
    versions = df[kind == RECORD_VERSION].drop(columns=["record"])
    closes = df[kind == RECORD_CLOSE][CLOSE_COLUMNS]
    key = ["offer_key", "valid_from"]
    out = versions.drop(columns=["valid_to", "is_withdrawn"]).merge(
        closes, on=key, how="left", suffixes=("", "_closed")
    )
    closed = out["valid_to"].notna()
    out["last_seen_at"] = out["last_seen_at_closed"].where(closed, out["last_seen_at"])
    out = out.drop(columns=["last_seen_at_closed"])
    out["is_withdrawn"] = out["is_withdrawn"].where(closed, False).astype(bool)
    out = confirm_open(out, df)
    return out[[f.name for f in HISTORY_FIELDS]].reset_index(drop=True)


def confirm_open(rows: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Set `last_seen_at` of the open versions in `rows` from the run and seen records."""
    open_ = rows["valid_to"].isna()
    kind = records["record"]
    runs = records.loc[kind == RECORD_RUN, ["provider", "observed_at"]]
    if len(runs):
        last_run = runs.groupby("provider", observed=True)["observed_at"].max()
        by_run = rows["provider"].map(last_run)
        seen = rows["last_seen_at"]
        newer = open_ & by_run.notna() & (by_run > seen)
        rows.loc[newer, "last_seen_at"] = by_run[newer]
    seen_recs = records.loc[
        kind == RECORD_SEEN, ["provider", "offer_key", "valid_from", "last_seen_at", "observed_at"]
    ]
    if len(seen_recs):
        # A seen record holds unless a later run of its provider confirmed the version.
        if len(runs):
            latest = seen_recs["provider"].map(last_run)
            seen_recs = seen_recs[latest.isna() | (seen_recs["observed_at"] >= latest)]
        s = seen_recs.groupby(["offer_key", "valid_from"])["last_seen_at"].max()
        idx = pd.MultiIndex.from_frame(rows[["offer_key", "valid_from"]])
        val = pd.Series(s.reindex(idx).to_numpy(), index=rows.index)
        hit = open_ & val.notna()
        rows.loc[hit, "last_seen_at"] = val[hit]
    return rows
