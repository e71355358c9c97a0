"""What the site and the dataset card read: the published tables, nothing else.

Inputs (all under the datasets directory, all optional except the history):
- `gpu_prices.parquet`, the history with `valid_from`/`valid_to`: a build from scratch
  reads it whole and summarizes it (`summary.summarize`: per-GPU price series, per-provider
  coverage); a build after a publish reads only the versions open or ending since the last
  build and brings the stored summary forward (`summary.advance`);
- `gpu_price_per_tflop_summary.parquet` (else computed from the current rows);
- of `gpu_price_changes.parquet`, the newest parts (the latest `CHANGES_SHOWN` events) and
  the parts' row counts; `gpu_specs.parquet`, `datapackage.json`;
- `gpu_price_index.parquet` (every row: a few thousand) and, of
  `gpu_price_index_inputs.parquet` (millions of rows after years), only the latest day's.

Output: a `SiteData` of pandas frames and plain values. Nothing is written here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pipelines.derive.change_events import count_events, recent_events
from pipelines.derive.specs import SPECS_FILE, load_specs
from pipelines.derive.tflops import SUMMARY_FILE, current_only, price_per_tflop, summarize
from pipelines.site import summary as history_summary
from pipelines.site.summary import HistorySummary
from pipelines.store.view import View
from pipelines.tables import PRICE_INDEX, PRICE_INDEX_INPUTS
from scrapers.registry import PROVIDERS

PRICES_FILE = "gpu_prices.parquet"
CHANGES_FILE = "gpu_price_changes.parquet"
DATAPACKAGE_FILE = "datapackage.json"
# The changes page lists the latest events, not all: a year of hourly runs records millions.
CHANGES_SHOWN = 1000

# Columns other engineers add to the tables; absent ones get these defaults so the site
# works on datasets published before them.
DEFAULTS = {"price_scope": "instance", "accelerator_kind": None, "spec_match": None}


@dataclass
class SiteData:
    datasets_dir: Path
    history: HistorySummary  # per-GPU price series and per-provider coverage of every version
    current: pd.DataFrame  # rows that hold now
    summary: pd.DataFrame  # per GPU model, pricing model and precision: the cheapest offer
    changes: pd.DataFrame  # the latest CHANGES_SHOWN events at least
    changes_total: int  # events recorded in all
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
        if "dataset_version" in self.current and not self.current.empty:
            return str(self.current["dataset_version"].astype(str).max())
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


def _with_defaults(history: pd.DataFrame) -> pd.DataFrame:
    for col, default in DEFAULTS.items():
        if col not in history:
            history[col] = default
    return history


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


def load(datasets_dir: Path, *, incremental: bool = False) -> SiteData:
    """The published tables. `incremental`: the history's summary brought forward from the
    one stored by the last build, reading only the versions open or ending since
    (`summary.advance`); the whole history when there is none or it does not fit."""
    datasets_dir = Path(datasets_dir)
    prices = datasets_dir / PRICES_FILE
    if not prices.exists():
        raise FileNotFoundError(f"{prices} does not exist; run `scrape run` first")
    hist = None
    prev = history_summary.load(datasets_dir) if incremental else None
    view = View(datasets_dir)
    manifest = view.manifest() if prev is not None else None
    if prev is not None and manifest is not None:
        recent = _with_defaults(_plain(view.read_ending_from(prev.end)))
        hist = history_summary.advance(prev, recent, int(manifest["rows"]))
        rows = recent
    if hist is None:
        rows = _with_defaults(_plain(pd.read_parquet(prices)))
        hist = history_summary.summarize(rows)
    current = current_only(rows)
    summary_path = datasets_dir / SUMMARY_FILE
    if summary_path.exists():
        summary = _plain(pd.read_parquet(summary_path))
    else:
        summary = summarize(price_per_tflop(current))
    changes_path = datasets_dir / CHANGES_FILE
    changes, changes_total = pd.DataFrame(), 0
    if changes_path.exists():
        changes = _plain(recent_events(changes_path, CHANGES_SHOWN))
        changes_total = count_events(changes_path)
    specs_path = datasets_dir / SPECS_FILE
    specs = _plain(pd.read_parquet(specs_path)) if specs_path.exists() else load_specs()
    dp_path = datasets_dir / DATAPACKAGE_FILE
    datapackage = json.loads(dp_path.read_text()) if dp_path.exists() else {}
    index, index_inputs = load_index(datasets_dir)
    return SiteData(
        datasets_dir=datasets_dir,
        history=hist,
        current=current,
        summary=summary,
        changes=changes,
        changes_total=changes_total,
        specs=specs,
        datapackage=datapackage,
        provider_pages=load_provider_pages(),
        data_end=None if hist.end is None else hist.end.to_pydatetime(),
        index=index,
        index_inputs=index_inputs,
    )
