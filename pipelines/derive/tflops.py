"""Price per unit of compute: USD per PFLOP-hour of every current offer, per precision.

Source: the current rows of the price history (OBSERVATION_FIELDS + SPEC_FIELDS). The spec
columns are re-joined from pipelines/data/gpu_specs.csv so the figures always match the
gpu_specs.parquet published with the same dataset version.

Outputs:
- datasets/gpu_price_per_tflop.parquet: one row per (current offer, precision), for *every*
  current offer: `usd_per_pflop_hour` = price_usd_per_gpu_hour / (TFLOPS / 1000), i.e. what
  one hour of one PFLOP/s of peak dense compute costs. An offer that cannot be ranked for a
  precision keeps its row with empty figures and an `unranked_reason` (UNRANKED_REASONS),
  so no offer leaves the table silently. Ranked (1 = cheapest) overall and within the GPU
  model, like with like only: each pricing model, price scope and accelerator kind is
  ranked on its own (on-demand never competes with spot, a GCP GPU-only SKU never with a
  whole VM, a TPU or an Inferentia chip never with a GPU).
- datasets/gpu_price_per_tflop_summary.parquet: per (gpu_model, pricing_model, price_scope,
  precision): the number of providers and offers (all of them, ranked or not), the
  cheapest ranked offer, and medians across providers (of each provider's cheapest offer,
  so a marketplace with hundreds of rows counts once).

INT8 is left out: it is counted in TOPS, not FLOPS, and mixing the two in one ranking
would compare different things.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.derive.specs import KEY_COLUMNS, PRECISION_COLUMNS, join_specs, spec_lookup
from pipelines.schema import PRICE_SCOPES
from pipelines.tables import (
    PRECISION_VALUES,
    PRICE_PER_TFLOP,
    PRICE_PER_TFLOP_SUMMARY,
    UNRANKED_REASONS,
)

TFLOPS_FILE = PRICE_PER_TFLOP.file
SUMMARY_FILE = PRICE_PER_TFLOP_SUMMARY.file

# precision -> dense TFLOPS column of SPEC_FIELDS
PRECISIONS: dict[str, str] = {p: PRECISION_COLUMNS[p] for p in PRECISION_VALUES}
TFLOPS_PER_PFLOPS = 1000.0

# Columns and types: pipelines/tables.py (UNRANKED_REASONS too, re-exported here).
TFLOPS_SCHEMA = PRICE_PER_TFLOP.schema
SUMMARY_SCHEMA = PRICE_PER_TFLOP_SUMMARY.schema
__all__ = ["UNRANKED_REASONS", "price_per_tflop", "publish", "summarize"]

_OFFER_COLUMNS = [
    "provider",
    "offer_key",
    "instance_type",
    "region",
    "zone",
    "pricing_model",
    "term",
    "price_scope",
    "accelerator_kind",
    "gpu_model",
    "gpu_memory_gb",
    "gpu_form_factor",
    "gpu_count",
    "price_usd_per_gpu_hour",
]
# Rankings compare like with like: offers of one group compete, never across groups.
RANK_GROUP = ["pricing_model", "price_scope", "accelerator_kind", "precision"]
DEFAULT_PRICE_SCOPE = PRICE_SCOPES[0]  # "instance"


def current_only(history: pd.DataFrame) -> pd.DataFrame:
    """Rows that hold now: no valid_to (history files carry closed versions too)."""
    if "valid_to" in history:
        history = history[history["valid_to"].isna()]
    if "is_withdrawn" in history:
        history = history[~history["is_withdrawn"].fillna(False).astype(bool)]
    return history


def _empty(schema) -> pd.DataFrame:  # a pyarrow.Schema
    return schema.empty_table().to_pandas()


def _lower_bound_columns(df: pd.DataFrame) -> pd.Series:
    """Per row: the spec columns that are a family lower bound (see specs.spec_lookup)."""
    keys = df[KEY_COLUMNS].astype(object).where(df[KEY_COLUMNS].notna(), None)
    cache: dict[tuple, frozenset[str]] = {}
    out = []
    for model, ff, mem in keys.itertuples(index=False, name=None):
        key = (model, ff, mem)
        if key not in cache:
            found = spec_lookup(model, mem, ff)
            cache[key] = frozenset() if found is None else found.lower_bound_columns
        out.append(cache[key])
    return pd.Series(out, index=df.index, dtype=object)


def price_per_tflop(current: pd.DataFrame, dataset_version: str | None = None) -> pd.DataFrame:
    """Long table: one row per (current offer, precision), ranked where a figure exists."""
    current = current_only(current)
    if current.empty:
        return _empty(TFLOPS_SCHEMA)
    df = join_specs(current)
    if "price_scope" not in df:  # histories written before price_scope existed
        df["price_scope"] = DEFAULT_PRICE_SCOPE
    df["price_scope"] = df["price_scope"].astype(object).fillna(DEFAULT_PRICE_SCOPE)
    df["accelerator_kind"] = df["accelerator_kind"].astype(object)
    price = pd.to_numeric(df["price_usd_per_gpu_hour"], errors="coerce")
    has_price = price.gt(0) & pd.to_numeric(df["gpu_count"], errors="coerce").gt(0)
    resolved = df["gpu_model"].notna()
    has_spec = df["spec_match"].isin(["exact", "family_lower_bound"])
    lower = _lower_bound_columns(df)
    # When the price was last confirmed (observation frames have only observed_at).
    seen = df["last_seen_at"] if "last_seen_at" in df else df.get("observed_at")
    frames = []
    for precision, col in PRECISIONS.items():
        part = df[_OFFER_COLUMNS].copy()
        part["price_usd_per_gpu_hour"] = price.where(has_price)
        tflops = pd.to_numeric(df[col], errors="coerce")
        has_figure = tflops.gt(0)
        part["precision"] = precision
        part["tflops_per_gpu"] = tflops.where(has_figure).astype("float64")
        part["spec_match"] = "none"
        part.loc[has_figure, "spec_match"] = "exact"
        part.loc[has_figure & lower.map(lambda cols, c=col: c in cols), "spec_match"] = (
            "family_lower_bound"
        )
        part["usd_per_pflop_hour"] = (
            part["price_usd_per_gpu_hour"] * TFLOPS_PER_PFLOPS / part["tflops_per_gpu"]
        )
        reason = pd.Series(None, index=df.index, dtype=object)
        reason[~has_figure & has_spec] = "precision_unknown"
        reason[~has_spec] = "no_spec_row"
        reason[~resolved] = "gpu_unresolved"
        reason[~has_price] = "no_price"
        part["unranked_reason"] = reason
        part["last_seen_at"] = seen if seen is not None else pd.NaT
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    ranked = out["unranked_reason"].isna()
    out.loc[~ranked, "usd_per_pflop_hour"] = None
    # Deterministic order first, so equal prices keep a stable order in tables.
    out = out.sort_values(
        [*RANK_GROUP, "usd_per_pflop_hour", "offer_key"], kind="stable", na_position="last"
    ).reset_index(drop=True)
    value = out["usd_per_pflop_hour"]
    group = [out[c].fillna("") for c in RANK_GROUP]
    out["rank_overall"] = value.groupby(group).rank(method="min").astype("Int32")
    out["rank_in_model"] = (
        value.groupby([*group, out["gpu_model"].fillna("")]).rank(method="min").astype("Int32")
    )
    out["dataset_version"] = dataset_version
    return out[TFLOPS_SCHEMA.names]


def _median_of_provider_minimum(df: pd.DataFrame, keys: list[str], col: str) -> pd.Series:
    """Per group: the median over providers of each provider's cheapest value (a provider
    counts once)."""
    per_provider = df.dropna(subset=[col]).groupby([*keys, "provider"], sort=False)[col].min()
    return per_provider.groupby(level=list(range(len(keys)))).median()


def summarize(per_offer: pd.DataFrame, dataset_version: str | None = None) -> pd.DataFrame:
    """Per (gpu_model, pricing_model, price_scope, precision): every provider and offer,
    the cheapest ranked offer and medians across providers.

    Grouped aggregations, not a loop over groups: a history of a few years has over a
    thousand groups, and a Python loop paid several milliseconds for each."""
    per_offer = per_offer[per_offer["gpu_model"].notna()]
    if per_offer.empty:
        return _empty(SUMMARY_SCHEMA)
    keys = ["gpu_model", "pricing_model", "price_scope", "precision"]
    # Cheapest first within each group (missing values last, ties by offer key).
    df = per_offer.sort_values([*keys, "usd_per_pflop_hour", "offer_key"], kind="stable")
    g = df.groupby(keys, sort=True)
    out = pd.DataFrame(
        {
            "accelerator_kind": g["accelerator_kind"].nth(0).set_axis(g.size().index),
            "provider_count": g["provider"].nunique(),
            "offer_count": g.size(),
        }
    )
    ranked = df[df["unranked_reason"].isna()]
    rg = ranked.groupby(keys, sort=True)
    best = rg.nth(0).set_index(keys)
    out["ranked_provider_count"] = rg["provider"].nunique()
    out["ranked_offer_count"] = rg.size()
    out["tflops_per_gpu_min"] = rg["tflops_per_gpu"].min()
    out["tflops_per_gpu_max"] = rg["tflops_per_gpu"].max()
    for col, src in (
        ("cheapest_usd_per_pflop_hour", "usd_per_pflop_hour"),
        ("cheapest_price_usd_per_gpu_hour", "price_usd_per_gpu_hour"),
        ("cheapest_provider", "provider"),
        ("cheapest_offer_key", "offer_key"),
        ("cheapest_region", "region"),
        ("cheapest_spec_match", "spec_match"),
    ):
        out[col] = best[src]
    out["median_usd_per_pflop_hour"] = _median_of_provider_minimum(
        ranked, keys, "usd_per_pflop_hour"
    )
    out["median_price_usd_per_gpu_hour"] = _median_of_provider_minimum(
        df, keys, "price_usd_per_gpu_hour"
    )
    out["ranked_provider_count"] = out["ranked_provider_count"].fillna(0)
    out["ranked_offer_count"] = out["ranked_offer_count"].fillna(0)
    out["dataset_version"] = dataset_version
    out = out.reset_index().astype(object)
    # Rows as plain values, typed below exactly as a frame built from records would be.
    out = pd.DataFrame(
        out.where(out.notna(), None).to_dict("records"), columns=SUMMARY_SCHEMA.names
    )
    for col in ("provider_count", "offer_count", "ranked_provider_count", "ranked_offer_count"):
        out[col] = out[col].astype("int32")
    for col in (
        "tflops_per_gpu_min",
        "tflops_per_gpu_max",
        "cheapest_usd_per_pflop_hour",
        "cheapest_price_usd_per_gpu_hour",
        "median_usd_per_pflop_hour",
        "median_price_usd_per_gpu_hour",
    ):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out


def publish(current: pd.DataFrame, datasets_dir: Path, version: str) -> dict[str, int]:
    """Write both tables; return {file name: rows}."""
    from pipelines.store.atomic import write_parquet_atomic

    datasets_dir = Path(datasets_dir)
    per_offer = price_per_tflop(current, version)
    summary = summarize(per_offer, version)
    meta = {"gpu_prices.dataset_version": version}
    write_parquet_atomic(per_offer, datasets_dir / TFLOPS_FILE, schema=TFLOPS_SCHEMA, metadata=meta)
    write_parquet_atomic(summary, datasets_dir / SUMMARY_FILE, schema=SUMMARY_SCHEMA, metadata=meta)
    return {TFLOPS_FILE: len(per_offer), SUMMARY_FILE: len(summary)}
