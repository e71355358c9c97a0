"""What the site and the dataset card need of the whole price history, kept small and
brought forward run by run, so a publish's site costs what changed, not what was ever
published (issue 14: at 10M history rows, reading and charting every version was 255 s of
every run).

A `HistorySummary` holds, up to a time `end` (the latest observation then):
- `series`: per GPU model, provider and pricing model, the step function of the lowest USD
  per GPU-hour in force (`price_steps`: change points, a null price for a gap);
- `coverage`: per provider, price versions, first `valid_from`, last observation and the
  pricing models seen;
- `models`: the GPU models with any price version;
- `rows` and `open_at_end` (versions in force at `end`): what the next update checks.

`summarize` builds it from the whole history. `advance` brings it to a later state from
only the versions still open or ending at or after `end` (a filtered read of the view:
Parquet statistics skip the parts closed earlier). That is exact when everything published
since `end` happened at or after `end`, which is how a live run publishes (it opens and
closes versions at its own time): the step values before `end` cannot change, and every
version in force at any time from `end` on is in the read. Anything else (an import of
older snapshots, a replay of older archives, rows removed) shows in the two counts: the
versions added since must all start after `end`, and the versions in force at `end` must
all still be there. On a mismatch `advance` returns None and the caller summarizes the
whole history instead.

Stored as one Parquet file (`STATE_FILE` in the datasets directory: the series as rows,
the rest in its key-value metadata), written atomically after each site build.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.store.atomic import write_parquet_atomic

STATE_FILE = ".site_history.parquet"
# Bump when what `summarize` computes changes: a state of another format is rebuilt.
FORMAT = 1
GROUP = ["gpu_model", "provider", "pricing_model"]
PRICE = "price_usd_per_gpu_hour"
SERIES_SCHEMA = pa.schema(
    [
        ("gpu_model", pa.string()),
        ("provider", pa.string()),
        ("pricing_model", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
        (PRICE, pa.float64()),  # null: no version in force (a gap in the chart)
    ]
)
# The columns of the history a summary reads.
COLUMNS = [*GROUP, "valid_from", "valid_to", "last_seen_at", PRICE]

Point = tuple[datetime, float | None]


@dataclass
class HistorySummary:
    series: dict[tuple[str, str, str], list[Point]]
    coverage: pd.DataFrame  # index provider; rows, first, last, pricing (", "-joined)
    models: list[str]
    end: pd.Timestamp | None
    rows: int
    open_at_end: int

    @property
    def providers(self) -> list[str]:
        return [str(p) for p in self.coverage.index]

    def series_of(self, model: str) -> dict[tuple[str, str], list[Point]]:
        """Per (provider, pricing model), sorted: the step series of one GPU model."""
        return {(p, pm): pts for (m, p, pm), pts in sorted(self.series.items()) if m == model}


def price_steps(rows: pd.DataFrame, end: datetime, value: str = PRICE) -> list[Point]:
    """The lowest `value` among the row versions in force at each time, as a step function.

    Each row version holds from `valid_from` until `valid_to` (open versions until `end`).
    Returns change points [(time, lowest value or None when no version holds)], so a
    provider that stopped offering a GPU shows a gap, not a flat line. One sweep over the
    sorted start/stop times with a lazy-deletion heap: O(n log n) for n versions.
    """
    rows = rows[rows[value].notna()]
    if rows.empty:
        return []
    starts = sorted(
        (t.to_pydatetime(), float(v), i)
        for i, (t, v) in enumerate(zip(rows["valid_from"], rows[value], strict=True))
    )
    stops = sorted((t.to_pydatetime(), i) for i, t in enumerate(rows["valid_to"]) if not pd.isna(t))
    times = sorted({t for t, _, _ in starts} | {t for t, _ in stops})
    heap: list[tuple[float, int]] = []
    dead: set[int] = set()
    si = ti = 0
    points: list[Point] = []
    last: object = object()
    for t in times:
        while si < len(starts) and starts[si][0] == t:
            heapq.heappush(heap, (starts[si][1], starts[si][2]))
            si += 1
        while ti < len(stops) and stops[ti][0] == t:
            dead.add(stops[ti][1])
            ti += 1
        while heap and heap[0][1] in dead:
            heapq.heappop(heap)
        v = heap[0][0] if heap else None
        if v != last and t <= end:
            points.append((t, v))
            last = v
    return points


def data_end(history: pd.DataFrame) -> pd.Timestamp | None:
    """The latest observation: a version's last sighting, closing or start."""
    ends = [
        history[c].max()
        for c in ("last_seen_at", "valid_to", "valid_from")
        if c in history and history[c].notna().any()
    ]
    return pd.Timestamp(max(ends)) if ends else None


def _in_force(history: pd.DataFrame, at: pd.Timestamp | None) -> pd.Series:
    if at is None:
        return pd.Series(False, index=history.index)
    return (history["valid_from"] <= at) & (history["valid_to"].isna() | (history["valid_to"] > at))


def _all_series(history: pd.DataFrame, end: pd.Timestamp | None) -> dict:
    out: dict[tuple[str, str, str], list[Point]] = {}
    if end is None:
        return out
    rows = history[history[GROUP].notna().all(axis=1) & history[PRICE].notna()]
    keys = rows[GROUP].astype(str)
    for key, grp in rows.groupby([keys[c] for c in GROUP], sort=True):
        points = price_steps(grp, end.to_pydatetime())
        if points:
            out[tuple(key)] = points
    return out


def _coverage(history: pd.DataFrame) -> pd.DataFrame:
    seen = "last_seen_at" if "last_seen_at" in history else "valid_from"
    g = history.groupby(history["provider"].astype(str), sort=True)
    return pd.DataFrame(
        {
            "rows": g.size(),
            "first": g["valid_from"].min(),
            "last": g[seen].max(),
            "pricing": g["pricing_model"].agg(
                lambda s: ", ".join(sorted({str(x) for x in s.dropna()}))
            ),
        }
    )


def _models(history: pd.DataFrame) -> set[str]:
    return {str(m) for m in history["gpu_model"].dropna().unique()}


def summarize(history: pd.DataFrame) -> HistorySummary:
    """The summary of a whole history (every version)."""
    end = data_end(history)
    return HistorySummary(
        series=_all_series(history, end),
        coverage=_coverage(history),
        models=sorted(_models(history), key=str.casefold),
        end=end,
        rows=len(history),
        open_at_end=int(_in_force(history, end).sum()),
    )


def _dedupe(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for t, v in points:
        if not out and v is None:
            continue  # a series starts with a price, never with a gap
        if out and out[-1][1] == v:
            continue
        out.append((t, v))
    return out


def advance(prev: HistorySummary, recent: pd.DataFrame, rows: int) -> HistorySummary | None:
    """`prev` brought forward: `recent` holds every version open or ending at or after
    `prev.end` (at least), `rows` is how many versions the history has now. None when the
    history changed otherwise than forward in time (see the module docstring)."""
    t0 = prev.end
    if t0 is None:
        return None
    recent = recent[recent["valid_to"].isna() | (recent["valid_to"] >= t0)]
    added = recent[recent["valid_from"] > t0]
    if rows - prev.rows != len(added):
        return None  # versions added before `end`, or versions removed
    if int(_in_force(recent, t0).sum()) != prev.open_at_end:
        return None  # a version in force at `end` was closed earlier or removed
    end = max(t0, data_end(recent) or t0)
    fresh = _all_series(recent, end)
    cut = t0.to_pydatetime()
    series = {}
    for key in sorted(set(prev.series) | set(fresh)):
        before = [p for p in prev.series.get(key, []) if p[0] < cut]
        new = fresh.get(key, [])
        at_t0 = next((v for t, v in reversed(new) if t <= cut), None)
        after = [p for p in new if p[0] > cut]
        points = _dedupe([*before, (cut, at_t0), *after])
        if points:
            series[key] = points
    coverage = _advance_coverage(prev.coverage, recent, added)
    return HistorySummary(
        series=series,
        coverage=coverage,
        models=sorted(set(prev.models) | _models(recent), key=str.casefold),
        end=end,
        rows=rows,
        open_at_end=int(_in_force(recent, end).sum()),
    )


def _advance_coverage(prev: pd.DataFrame, recent: pd.DataFrame, added: pd.DataFrame):
    if recent.empty:
        return prev
    now = _coverage(recent)
    new = _coverage(added) if len(added) else now.iloc[:0]
    out = prev.reindex(prev.index.union(now.index))
    out["rows"] = out["rows"].fillna(0).astype(int) + new["rows"].reindex(out.index).fillna(
        0
    ).astype(int)
    out["first"] = pd.concat([out["first"], new["first"].reindex(out.index)], axis=1).min(axis=1)
    out["last"] = pd.concat([out["last"], now["last"].reindex(out.index)], axis=1).max(axis=1)
    out["pricing"] = [
        ", ".join(
            sorted(
                {x for x in str(a if isinstance(a, str) else "").split(", ") if x}
                | {x for x in str(b if isinstance(b, str) else "").split(", ") if x}
            )
        )
        for a, b in zip(out["pricing"], now["pricing"].reindex(out.index), strict=True)
    ]
    return out


# --- storage -------------------------------------------------------------------------------


def _ts(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()


def save(summary: HistorySummary, datasets_dir: Path) -> None:
    keys = sorted(summary.series)
    points = [(key, t, v) for key in keys for t, v in summary.series[key]]
    table = pa.table(
        {
            "gpu_model": [k[0] for k, _, _ in points],
            "provider": [k[1] for k, _, _ in points],
            "pricing_model": [k[2] for k, _, _ in points],
            "at": [t for _, t, _ in points],
            PRICE: [v for _, _, v in points],
        },
        schema=SERIES_SCHEMA,
    )
    cov = [
        {
            "provider": str(p),
            "rows": int(r["rows"]),
            "first": _ts(r["first"]),
            "last": _ts(r["last"]),
            "pricing": r["pricing"],
        }
        for p, r in summary.coverage.iterrows()
    ]
    meta = {
        "format": FORMAT,
        "end": _ts(summary.end),
        "rows": summary.rows,
        "open_at_end": summary.open_at_end,
        "models": summary.models,
        "coverage": cov,
    }
    path = Path(datasets_dir) / STATE_FILE
    write_parquet_atomic(table, path, metadata={"summary": json.dumps(meta)})


def load(datasets_dir: Path) -> HistorySummary | None:
    """The stored summary, or None (absent, unreadable or of another format)."""
    path = Path(datasets_dir) / STATE_FILE
    try:
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[b"summary"])
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return None
    if meta.get("format") != FORMAT or meta.get("end") is None:
        return None
    series: dict[tuple[str, str, str], list[Point]] = {}
    d = table.to_pydict()
    for m, p, pm, t, v in zip(*(d[c] for c in SERIES_SCHEMA.names), strict=True):
        price = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        series.setdefault((m, p, pm), []).append((t, price))
    cov = pd.DataFrame(meta["coverage"], columns=["provider", "rows", "first", "last", "pricing"])
    for c in ("first", "last"):
        cov[c] = pd.to_datetime(cov[c], utc=True, format="ISO8601")
    return HistorySummary(
        series=series,
        coverage=cov.set_index("provider"),
        models=list(meta["models"]),
        end=pd.Timestamp(meta["end"]),
        rows=int(meta["rows"]),
        open_at_end=int(meta["open_at_end"]),
    )
