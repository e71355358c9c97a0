"""The index's daily moves as change events (`index_changed`, pipelines/tables.py
PRICE_CHANGES), so subscribers and feed readers follow the index like a price.

Input: the published index (gpu_price_index.parquet). A move is a day of the latest
computation (the rows sharing the newest `computed_through`: one live run adds one day, a
backfill many) whose value differs from the published value of the day before, of the same
index, pricing model and methodology version, by at least `min_change_pct`. A day after a
gap (no value the day before: no eligible provider) raises nothing: there is no daily move
to state, and comparing with a value weeks old would read as one.

Pure: frame in, events out; recording them is pipelines/ops/events.py's job. The event id
is the (index, pricing model, day, methodology version): a published day is never
rewritten, so repeating the step finds the same ids and records nothing twice.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipelines.derive.change_events import (
    INDEX_CHANGED,
    event_id_of,
    events_frame,
    fmt_price,
    round_price,
)
from pipelines.derive.index.methodology import CURRENT, Methodology

# Index values are shown to 4 decimals in texts (USD per GPU-hour: a hundredth of a cent);
# old_price/new_price keep the full value.
_TEXT_DECIMALS = 4
_KEY = ["index_id", "pricing_model"]


def gpu_model_of(index_id: str, m: Methodology = CURRENT) -> str | None:
    """The GPU model an index id stands for (a composite: its components' model)."""
    for d in m.indexes:
        if d.index_id == index_id:
            return d.gpu_model
    for c in m.composites:
        if c.index_id == index_id:
            return gpu_model_of(c.weights[0][0], m)
    return None


def _text(x: float) -> str:
    return fmt_price(round(float(x), _TEXT_DECIMALS))


def index_moves(
    index: pd.DataFrame,
    *,
    min_change_pct: float,
    dataset_version: str,
    methodology: Methodology = CURRENT,
) -> pd.DataFrame:
    """`index_changed` events (EVENT_SCHEMA columns) of the latest computed days."""
    idx = index[index["methodology_version"] == methodology.version]
    if idx.empty:
        return events_frame([])
    idx = idx.assign(day=pd.to_datetime(idx["date"]))
    latest = idx[idx["computed_through"] == idx["computed_through"].max()]
    before = idx[[*_KEY, "day", "value_usd_per_gpu_hour"]].assign(
        day=idx["day"] + pd.Timedelta(days=1)
    )
    pairs = latest.merge(before, on=[*_KEY, "day"], suffixes=("", "_before"))
    old, new = pairs["value_usd_per_gpu_hour_before"], pairs["value_usd_per_gpu_hour"]
    pct = (new - old) / old * 100
    moved = old.gt(0) & new.round(9).ne(old.round(9)) & pct.abs().ge(min_change_pct)
    events = []
    for r, p in zip(pairs[moved].to_dict("records"), pct[moved], strict=True):
        day: date = r["day"].date()
        through = pd.Timestamp(r["computed_through"])
        events.append(
            {
                "event_id": event_id_of(
                    INDEX_CHANGED, r["index_id"], r["pricing_model"], day, methodology.version
                ),
                "event_type": INDEX_CHANGED,
                "pricing_model": r["pricing_model"],
                "gpu_model": gpu_model_of(r["index_id"], methodology),
                "old_value": _text(r["value_usd_per_gpu_hour_before"]),
                "new_value": _text(r["value_usd_per_gpu_hour"]),
                "old_price": round_price(r["value_usd_per_gpu_hour_before"]),
                "new_price": round_price(r["value_usd_per_gpu_hour"]),
                "change_pct": float(p),
                "currency": "USD",
                "price_unit": "gpu_hour",
                "offer_count": int(r["offer_count"]),
                # Detected when the history held observations up to computed_through.
                "detected_at": through,
                "observed_at": through,
                "to_version": dataset_version,
                "index_id": r["index_id"],
                "index_date": day,
                "provider_count": int(r["provider_count"]),
                "methodology_version": methodology.version,
            }
        )
    events.sort(key=lambda e: (e["index_date"], e["index_id"], e["pricing_model"]))
    return events_frame(events)
