"""`compute`: history frame in, the index rows and the inputs rows of the days asked for out
(pure: reads and writes nothing)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pipelines.derive.index.eligibility import (
    DAY,
    NS_PER_DAY,
    candidates,
    computed_through,
    empty_frame,
    expand_days,
)
from pipelines.derive.index.methodology import CURRENT, Methodology
from pipelines.derive.index.statistic import statistic
from pipelines.tables import PRICE_INDEX, PRICE_INDEX_INPUTS


def compute(
    history: pd.DataFrame,
    *,
    methodology: Methodology = CURRENT,
    days: list[date] | None = None,
    through: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The index rows and the inputs rows of `days` (default: every day the history covers).

    A day counts as covered once its end is at or before `through` (default: the latest
    observation in the history): later days could still receive observations.
    """
    empty = (empty_frame(PRICE_INDEX), empty_frame(PRICE_INDEX_INPUTS))
    through = through if through is not None else computed_through(history)
    if through is None or history.empty:
        return empty
    c = candidates(history, methodology)
    if c.empty:
        return empty
    first = c["valid_from"].min().floor("D")
    last = through.floor("D") - DAY  # its end (through's midnight) is at or before `through`
    if days is not None:
        wanted = pd.DatetimeIndex(sorted(set(days))).tz_localize("UTC").as_unit("ns")
        wanted = wanted[(wanted >= first) & (wanted <= last)]
        if wanted.empty:
            return empty
        first, last = wanted.min(), wanted.max()
    if last < first:
        return empty
    x = expand_days(c, first, last, methodology.list_stale_for)
    x.attrs["gkeys"] = c.attrs["gkeys"]
    if days is not None:
        x = x[x["day_ns"].isin(wanted.asi8)]
    x = x.reset_index(drop=True)
    # Staleness: the last confirmation at or before the day's end must be recent enough.
    end_ns = x["day_ns"].to_numpy() + NS_PER_DAY
    seen = np.minimum(x["last_seen_at"].array.asi8, end_ns)
    stale = (end_ns - seen) > pd.Timedelta(methodology.staleness_limit).value
    x["reason"] = x["reason"].where(x["reason"].notna() | ~stale, "stale")
    x["is_included"] = x["reason"].isna()
    index = statistic(x, methodology, through)
    inputs = _inputs_frame(x, methodology)
    return index, inputs


def _none(s: pd.Series) -> pd.Series:
    s = s.astype(object)
    return s.where(s.notna(), None)


def fold_runs(
    codes: list[np.ndarray], first: np.ndarray, last: np.ndarray, step: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of rows with equal `codes` whose spans [first, last] follow each other (a row's
    `first` = the previous row's `last` + `step`). Returns the sort order and, in it, each
    run's first and last position. Integer codes only: no Python object per row. Used
    for the per-day rows of one computation (`_runs`) and for published inputs rows cut by
    a chunk of days or an earlier publish (`publish.join_runs`)."""
    order = np.lexsort((first, *reversed(codes)))
    first, last = first[order], last[order]
    start = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        same = first[1:] == last[:-1] + step
        for c in codes:
            c = c[order]
            same &= c[1:] == c[:-1]
        start[1:] = ~same
    heads = np.flatnonzero(start)
    tails = np.append(heads[1:], len(order)) - 1
    return order, heads, tails


def _runs(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `x` (one row per version and day) that start a run, and each run's last
    day: consecutive days of one offer version with the same verdict (included or the same
    exclusion reason, the same statistic role)."""
    codes = [x["vrow"].to_numpy()] + [
        pd.factorize(x[col], use_na_sentinel=True)[0] for col in ("reason", "statistic_role")
    ]
    day = x["day_ns"].to_numpy()
    order, heads, tails = fold_runs(codes, day, day, NS_PER_DAY)
    return order[heads], day[order[tails]]


def _inputs_frame(x: pd.DataFrame, m: Methodology) -> pd.DataFrame:
    """One row per run of days an offer version had the same verdict (`_runs`): `date` is
    the run's first day, `last_date` its last. A catalog of a thousand regional offers over
    years (gcp_cyclenerd) would otherwise be a row per offer and day, over a million rows
    of identical verdicts; the reader of one day selects date <= D <= last_date.
    `date` stays a datetime64 (midnight UTC, naive) here: Arrow writes it as a date32
    without a Python date object per row."""
    starts, last_ns = _runs(x)
    x = x.iloc[starts].reset_index(drop=True)
    x["last_ns"] = last_ns
    order = np.lexsort((x["okey"].to_numpy(), x["day_ns"].to_numpy()))
    x = x.iloc[order].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "date": x["day_ns"].to_numpy().astype("datetime64[ns]"),
            "index_id": x["index_id"].to_numpy(),
            "pricing_model": x["pricing_model"].to_numpy(),
            "gpu_model": x["gpu_model"].to_numpy(),
            "provider": x["provider"].to_numpy(),
            "offer_key": x["offer_key"].to_numpy(),
            # The published timestamps are in microseconds (pipelines/schema.py TS).
            "valid_from": x["valid_from"].dt.floor("us"),
            "price_usd_per_gpu_hour": x["price"].to_numpy(),
            "last_seen_at": x["last_seen_at"].dt.floor("us"),
            "is_included": x["is_included"].to_numpy(dtype=bool),
            "exclusion_reason": x["reason"].to_numpy(),
            "statistic_role": x["statistic_role"].to_numpy(),
            "methodology_version": m.version,
            "last_date": x["last_ns"].to_numpy().astype("datetime64[ns]"),
        }
    )
    for col in ("index_id", "exclusion_reason", "statistic_role"):
        out[col] = _none(out[col])
    return out[PRICE_INDEX_INPUTS.columns]
