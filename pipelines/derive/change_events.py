"""The change-event table: event types, the schema of `datasets/gpu_price_changes.parquet`
(declared as PRICE_CHANGES in pipelines/tables.py), reading/appending it, and one line of
text per event.

Detection (pipelines/derive/changes.py) produces these rows; the feed and the mail digests
(pipelines/notify/) read them. See changes.py for what each event type means; the index's
daily moves (`index_changed`) come from pipelines/derive/index/moves.py.

Storage: an append-only table of immutable parts (pipelines/store/parts.py), one per run
that raised events, published at `datasets/gpu_price_changes.parquet` (a symlinked
directory that pandas, polars and DuckDB read as one table). An append reads only the
`event_id` column of the parts that can hold its ids (dedup: an event already recorded is
not recorded again; `DEDUP_BOUNDS`) and writes the new rows; the feed reads only the
newest parts (`recent_events`).
Each part is sorted by detection time, provider, type and id, and parts follow the order
of the runs, so the rows read in the order the single file of earlier releases kept;
`read_events` sorts anyway (a replay may record older events after newer ones).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.schema import PRICE_DECIMALS
from pipelines.store.atomic import to_table
from pipelines.store.parts import PartedTable
from pipelines.tables import EVENT_TYPES, PRICE_CHANGES

CHANGES_NAME = PRICE_CHANGES.file

(
    PRICE_CHANGED,
    OFFER_ADDED,
    OFFER_REMOVED,
    GPU_MODEL_ADDED,
    GPU_MODEL_REMOVED,
    OFFER_GPU_CHANGED,
    SPOT_PRICE_CHANGED,
    INDEX_CHANGED,
) = EVENT_TYPES

# Columns and types of gpu_price_changes.parquet: pipelines/tables.py.
EVENT_SCHEMA = PRICE_CHANGES.schema
EVENT_COLUMNS = PRICE_CHANGES.columns


def clean_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def round_price(x: float | None) -> float | None:
    return None if x is None else round(float(x), PRICE_DECIMALS)


def fmt_price(x: float | None) -> str:
    """A price as text without float noise: 0.2 and 0.2000 both read '0.2'."""
    if x is None:
        return ""
    return f"{round(float(x), PRICE_DECIMALS):.{PRICE_DECIMALS}f}".rstrip("0").rstrip(".")


def gpu_id(rec: Mapping[str, Any]) -> str | None:
    """What 'the GPU' of an offer is for comparisons: the canonical model, else the raw name."""
    return rec.get("gpu_model") or rec.get("gpu_name_raw")


def event_id_of(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass
class RunContext:
    provider: str
    detected_at: datetime
    from_version: str | None
    to_version: str

    def event(
        self, event_type: str, row: Mapping[str, Any], *, id_key: str | None = None, **values: Any
    ) -> dict[str, Any]:
        ev: dict[str, Any] = dict.fromkeys(EVENT_COLUMNS)
        ev.update(
            event_type=event_type,
            provider=self.provider,
            offer_key=row.get("offer_key"),
            pricing_model=row["pricing_model"],
            region=row.get("region"),
            instance_type=row.get("instance_type"),
            gpu_model=gpu_id(row),
            currency=row.get("currency"),
            detected_at=self.detected_at,
            observed_at=self.detected_at,
            from_version=self.from_version,
            to_version=self.to_version,
            source_url=row.get("source_url"),
        )
        ev.update(values)
        ev["event_id"] = event_id_of(
            event_type,
            self.provider,
            id_key or ev["offer_key"],
            ev["old_value"],
            ev["new_value"],
            ev["old_gpu_model"],
            self.from_version,
        )
        return ev


def events_frame(events: list[dict[str, Any]]) -> pd.DataFrame:
    """Events as a DataFrame with exactly EVENT_SCHEMA's columns and dtypes."""
    rows = []
    # A run's events share a few timestamps: each converted once (by value).
    utc: dict[Any, datetime] = {}
    for ev in events:
        r = {c: ev.get(c) for c in EVENT_COLUMNS}
        for ts in ("detected_at", "observed_at"):
            v = r[ts]
            if v is not None:
                if v not in utc:
                    utc[v] = pd.Timestamp(v).tz_convert("UTC").to_pydatetime()
                r[ts] = utc[v]
        rows.append(r)
    table = pa.Table.from_pylist(rows, schema=EVENT_SCHEMA) if rows else EVENT_SCHEMA.empty_table()
    return table.to_pandas()


def event_to_json(ev: Mapping[str, Any]) -> dict[str, Any]:
    """An event row as JSON-ready values (timestamps ISO 8601, NaN/NA as null)."""
    out: dict[str, Any] = {}
    for k, v in ev.items():
        if clean_value(v) is None:
            out[k] = None
        elif isinstance(v, pd.Timestamp | datetime):
            out[k] = pd.Timestamp(v).isoformat()
        elif isinstance(v, date):
            out[k] = v.isoformat()  # index_date
        elif hasattr(v, "item"):
            out[k] = v.item()  # numpy scalar
        else:
            out[k] = v
    return out


# The order of the rows in a part, and of what read_events returns.
EVENT_ORDER = ["detected_at", "provider", "event_type", "event_id"]


# Columns an event_id determines: the id hashes `from_version` (per-offer and group events)
# or the index day (index moves, whose from_version is null). An id already recorded is
# therefore in a part whose recorded ranges of both contain the new event's values: the
# dedup of a run reads the parts since its baseline version, not every part.
DEDUP_BOUNDS = ("from_version", "index_date")


def events_table(path: Path) -> PartedTable:
    """The events table whose published path is `path` (`<datasets>/gpu_price_changes.parquet`)."""
    return PartedTable(
        Path(path).parent, PRICE_CHANGES, range_column="detected_at", key_bounds=DEDUP_BOUNDS
    )


def read_events(path: Path) -> pd.DataFrame:
    """Every event, in EVENT_ORDER."""
    table = events_table(path)
    if not table.exists():
        return EVENT_SCHEMA.empty_table().to_pandas()
    events = table.read().to_pandas()
    return events.sort_values(EVENT_ORDER, kind="mergesort").reset_index(drop=True)


def recent_events(path: Path, limit: int) -> pd.DataFrame:
    """At least the `limit` most recently detected events (all ties included), reading
    only the parts that can hold them: newest parts first, by their recorded range."""
    table = events_table(path)
    files = table.files()
    if any("rows" not in f for f in files):  # the plain file of an earlier release
        return read_events(path)
    frames = [EVENT_SCHEMA.empty_table().to_pandas()]
    times: list[pd.Timestamp] = []
    for f in sorted((f for f in files if f["rows"]), key=lambda f: f["max"], reverse=True):
        if len(times) >= limit and pd.Timestamp(f["max"]) < times[-limit]:
            break  # this part and all older ones hold nothing newer than the `limit` read
        frames.append(table.read(files=[f]).to_pandas())
        times = sorted([*times, *frames[-1]["detected_at"]])
    events = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return events.sort_values(EVENT_ORDER, kind="mergesort").reset_index(drop=True)


def count_events(path: Path) -> int:
    """How many events are recorded, from the parts' recorded row counts."""
    files = events_table(path).files()
    if any("rows" not in f for f in files):  # the plain file of an earlier release
        return len(read_events(path))
    return sum(int(f["rows"]) for f in files)


def append_events(path: Path, new: pd.DataFrame) -> pd.DataFrame:
    """Record the events of `new` not recorded yet (dedup by event_id, first kept) as one
    part; return them. The first call creates the table, even with no events."""
    table = events_table(path)
    with table.lock():
        # Only the parts that can hold one of these ids are read (DEDUP_BOUNDS).
        maybe = table.parts_with(to_table(new, EVENT_SCHEMA), DEDUP_BOUNDS)
        known = set(table.read(["event_id"], files=maybe)["event_id"].to_pylist())
        added = new[~new["event_id"].isin(known)].drop_duplicates("event_id", keep="first")
        part = added.sort_values(EVENT_ORDER, kind="mergesort")
        table.append(to_table(part.reset_index(drop=True), EVENT_SCHEMA))
    return added.reset_index(drop=True)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, arrays: not a scalar, so not missing
        return False


def for_people(ev: Mapping[str, Any]) -> dict[str, Any]:
    """The event with missing values as None and whole counts as ints.

    Events come out of pandas, where a missing value is NaN/NaT/<NA> and a count is a float
    (`offer_count` 1.0): printed as is they read "runpod A100 nan global spot ... over 1.0
    offers" (issue 16 finding 13)."""
    out: dict[str, Any] = {}
    for key, value in ev.items():
        if _missing(value):
            value = None
        elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
            if key in ("offer_count", "gpu_count", "provider_count"):
                value = int(value)
        out[key] = value
    return out


def describe_index_move(ev: Mapping[str, Any]) -> str:
    """`H100-SXM on_demand index 2025-10-03: 2.5 -> 2.65 USD/GPU-hour (+6.0%), 5 providers,
    methodology 1.0`."""
    pct = clean_value(ev.get("change_pct"))
    pct_s = f" ({pct:+.1f}%)" if pct is not None else ""
    day = clean_value(ev.get("index_date"))
    day_s = f" {pd.Timestamp(day):%Y-%m-%d}" if day is not None else ""
    n = clean_value(ev.get("provider_count"))
    count = f", {int(n)} provider{'s' if n != 1 else ''}" if n is not None else ""
    return (
        f"{ev.get('index_id')} {ev.get('pricing_model')} index{day_s}: {ev['old_value']} -> "
        f"{ev['new_value']} USD/GPU-hour{pct_s}{count}, methodology "
        f"{ev.get('methodology_version')}"
    )


def describe(ev: Mapping[str, Any]) -> str:
    """One line of text for an event (feed titles, mail digests, `scrape diff`, the site),
    without "nan" or "None" in it."""
    ev = for_people(ev)
    t = ev["event_type"]
    if t == INDEX_CHANGED:
        return describe_index_move(ev)
    cur = ev.get("currency") or ""
    where = " ".join(
        str(x) for x in (ev.get("instance_type"), ev.get("region"), ev.get("pricing_model")) if x
    )
    head = f"{ev['provider']} {ev.get('gpu_model') or ''} {where}".replace("  ", " ").strip()
    pct = clean_value(ev.get("change_pct"))
    pct_s = f" ({pct:+.1f}%)" if pct is not None else ""
    if t == PRICE_CHANGED:
        return f"{head}: price {ev['old_value']} -> {ev['new_value']} {cur}/h{pct_s}"
    if t == SPOT_PRICE_CHANGED:
        return (
            f"{head}: cheapest {ev['old_value']} -> {ev['new_value']} {cur}/GPU-hour{pct_s}"
            f" over {ev.get('offer_count')} offers"
        )
    if t == OFFER_ADDED:
        return f"{head}: new offer at {ev['new_value']} {cur}/h"
    if t == OFFER_REMOVED:
        return f"{head}: offer withdrawn (was {ev['old_value']} {cur}/h)"
    if t == OFFER_GPU_CHANGED:
        return f"{head}: GPU {ev['old_value']} -> {ev['new_value']}"
    if t == GPU_MODEL_ADDED:
        return f"{head}: GPU model added ({ev.get('offer_count')} offers)"
    if t == GPU_MODEL_REMOVED:
        return f"{head}: GPU model removed"
    return f"{head}: {t}"
