"""What the site and the dataset card read: the published tables, nothing else.

Inputs (all under the datasets directory, all optional except the history):
- `gpu_prices.parquet` read with `pd.read_parquet` (a directory of parts or one file: either
  works), the history with `valid_from`/`valid_to`;
- `gpu_price_per_tflop_summary.parquet` (else computed from the current rows);
- `gpu_price_changes.parquet`, `gpu_specs.parquet`, `datapackage.json`;
- `gpu_price_index.parquet` (every row: a few thousand) and, of
  `gpu_price_index_inputs.parquet` (millions of rows after years), only the latest day's.

Output: a `SiteData` of pandas frames and plain values, and the step series of a GPU's price
history (`price_steps`). Nothing is written here.
"""

from __future__ import annotations

import heapq
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipelines.derive.specs import SPECS_FILE, load_specs
from pipelines.derive.tflops import SUMMARY_FILE, current_only, price_per_tflop, summarize
from pipelines.tables import PRICE_INDEX, PRICE_INDEX_INPUTS
from scrapers.registry import PROVIDERS

PRICES_FILE = "gpu_prices.parquet"
CHANGES_FILE = "gpu_price_changes.parquet"
DATAPACKAGE_FILE = "datapackage.json"

# Columns other engineers add to the tables; absent ones get these defaults so the site
# works on datasets published before them.
DEFAULTS = {"price_scope": "instance", "accelerator_kind": None, "spec_match": None}


@dataclass
class SiteData:
    datasets_dir: Path
    history: pd.DataFrame  # every row version
    current: pd.DataFrame  # rows that hold now
    summary: pd.DataFrame  # per GPU model, pricing model and precision: the cheapest offer
    changes: pd.DataFrame
    specs: pd.DataFrame
    datapackage: dict
    provider_pages: dict[str, dict[str, str]]
    data_end: datetime | None  # the latest observation in the history
    # The price index (every row) and the inputs of its latest day.
    index: pd.DataFrame = field(default_factory=lambda: _empty(PRICE_INDEX))
    index_inputs: pd.DataFrame = field(default_factory=lambda: _empty(PRICE_INDEX_INPUTS))

    @property
    def version(self) -> str | None:
        if self.datapackage.get("version"):
            return self.datapackage["version"]
        if "dataset_version" in self.history and not self.history.empty:
            return str(self.history["dataset_version"].astype(str).max())
        return None


def slug(name: str) -> str:
    """File-name-safe id of a GPU model: 'RTX 4090' -> 'rtx-4090', 'TPU v5e' -> 'tpu-v5e'."""
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "gpu"


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals (dictionary-encoded strings) as plain object columns."""
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


def _empty(table) -> pd.DataFrame:
    return table.schema.empty_table().to_pandas()


def load_index(datasets_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The index rows, and the inputs rows of the latest indexed day (read with a filter on
    the date, not the whole inputs table)."""
    index_path = Path(datasets_dir) / PRICE_INDEX.file
    inputs_path = Path(datasets_dir) / PRICE_INDEX_INPUTS.file
    if not index_path.is_file():
        return _empty(PRICE_INDEX), _empty(PRICE_INDEX_INPUTS)
    index = pd.read_parquet(index_path)
    if index.empty or not inputs_path.is_file():
        return index, _empty(PRICE_INDEX_INPUTS)
    latest = max(index["date"])
    inputs = pq.read_table(
        inputs_path, filters=[("date", "<=", latest), ("last_date", ">=", latest)]
    ).to_pandas()
    return index, inputs


def load_provider_pages() -> dict[str, dict[str, str]]:
    """Per registered provider: its human pricing page and how its prices are obtained.

    The prices are facts each provider publishes under its own terms of use; what we can say
    for certain is where they come from and whether reading them needs an account.
    """
    out = {}
    for name, spec in PROVIDERS.items():
        account = any(s.required and s.secret for s in spec.settings)
        how = "API read with an account key" if account else "public API or page, no account"
        out[name] = {
            "pricing_page_url": spec.pricing_page_url or "",
            "terms": f"{how}; the provider's published prices, under its own terms of use",
        }
    return out


def load(datasets_dir: Path) -> SiteData:
    datasets_dir = Path(datasets_dir)
    prices = datasets_dir / PRICES_FILE
    if not prices.exists():
        raise FileNotFoundError(f"{prices} does not exist; run `scrape run` first")
    history = _plain(pd.read_parquet(prices))
    for col, default in DEFAULTS.items():
        if col not in history:
            history[col] = default
    current = current_only(history)
    summary_path = datasets_dir / SUMMARY_FILE
    if summary_path.exists():
        summary = _plain(pd.read_parquet(summary_path))
    else:
        summary = summarize(price_per_tflop(current))
    changes_path = datasets_dir / CHANGES_FILE
    changes = _plain(pd.read_parquet(changes_path)) if changes_path.exists() else pd.DataFrame()
    specs_path = datasets_dir / SPECS_FILE
    specs = _plain(pd.read_parquet(specs_path)) if specs_path.exists() else load_specs()
    dp_path = datasets_dir / DATAPACKAGE_FILE
    datapackage = json.loads(dp_path.read_text()) if dp_path.exists() else {}
    ends = [
        history[c].max()
        for c in ("last_seen_at", "valid_to", "valid_from")
        if c in history and history[c].notna().any()
    ]
    data_end = max(ends).to_pydatetime() if ends else None
    index, index_inputs = load_index(datasets_dir)
    return SiteData(
        datasets_dir=datasets_dir,
        history=history,
        current=current,
        summary=summary,
        changes=changes,
        specs=specs,
        datapackage=datapackage,
        provider_pages=load_provider_pages(),
        data_end=data_end,
        index=index,
        index_inputs=index_inputs,
    )


def price_steps(
    rows: pd.DataFrame, end: datetime, value: str = "price_usd_per_gpu_hour"
) -> list[tuple[datetime, float | None]]:
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
    points: list[tuple[datetime, float | None]] = []
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
