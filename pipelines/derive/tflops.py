"""Price per unit of compute: USD per PFLOP-hour of every current offer, per precision.

Source: the current rows of the price history (OBSERVATION_FIELDS + SPEC_FIELDS). The spec
columns are re-joined from pipelines/data/gpu_specs.csv so the figures always match the
gpu_specs.parquet published with the same dataset version.

Outputs:
- datasets/gpu_price_per_tflop.parquet: one row per (current offer, precision with a dense
  figure): `usd_per_pflop_hour` = price_usd_per_gpu_hour / (TFLOPS / 1000), i.e. what one
  hour of one PFLOP/s of peak dense compute costs. Ranked (1 = cheapest) overall and within
  the GPU model; each pricing model is ranked on its own (on-demand, spot, reserved ...
  never compete with each other).
- datasets/gpu_price_per_tflop_summary.parquet: per (gpu_model, pricing_model, precision):
  the cheapest offer, the median across providers (of each provider's cheapest offer, so a
  marketplace with hundreds of rows counts once) and the number of providers.

INT8 is left out: it is counted in TOPS, not FLOPS, and mixing the two in one ranking
would compare different things.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.derive.specs import PRECISION_COLUMNS, join_specs
from pipelines.tables import PRECISION_VALUES, PRICE_PER_TFLOP, PRICE_PER_TFLOP_SUMMARY

TFLOPS_FILE = PRICE_PER_TFLOP.file
SUMMARY_FILE = PRICE_PER_TFLOP_SUMMARY.file

# precision -> dense TFLOPS column of SPEC_FIELDS
PRECISIONS: dict[str, str] = {p: PRECISION_COLUMNS[p] for p in PRECISION_VALUES}
TFLOPS_PER_PFLOPS = 1000.0

# Columns and types: pipelines/tables.py.
TFLOPS_SCHEMA = PRICE_PER_TFLOP.schema
SUMMARY_SCHEMA = PRICE_PER_TFLOP_SUMMARY.schema

# The offer's own columns of the per-offer table: those before `precision`.
_OFFER_COLUMNS = PRICE_PER_TFLOP.columns[: PRICE_PER_TFLOP.columns.index("precision")]


def current_only(history: pd.DataFrame) -> pd.DataFrame:
    """Rows that hold now: no valid_to (history files carry closed versions too)."""
    if "valid_to" in history:
        history = history[history["valid_to"].isna()]
    if "is_withdrawn" in history:
        history = history[~history["is_withdrawn"].fillna(False).astype(bool)]
    return history


def price_per_tflop(current: pd.DataFrame, dataset_version: str | None = None) -> pd.DataFrame:
    """Long table: one row per (offer, precision) with a figure, ranked."""
    current = current_only(current)
    empty = pd.DataFrame({name: pd.Series(dtype=object) for name in TFLOPS_SCHEMA.names})
    if current.empty:
        return empty
    df = join_specs(current)
    price = pd.to_numeric(df["price_usd_per_gpu_hour"], errors="coerce")
    usable = (
        df["gpu_model"].notna()
        & price.gt(0)
        & pd.to_numeric(df["gpu_count"], errors="coerce").gt(0)
    )
    df = df[usable]
    if df.empty:
        return empty
    # When the price was last confirmed (observation frames have only observed_at).
    seen = df["last_seen_at"] if "last_seen_at" in df else df.get("observed_at")
    frames = []
    for precision, col in PRECISIONS.items():
        tflops = pd.to_numeric(df[col], errors="coerce")
        part = df.loc[tflops.gt(0), _OFFER_COLUMNS].copy()
        if part.empty:
            continue
        part["precision"] = precision
        part["tflops_per_gpu"] = tflops[tflops.gt(0)].astype("float64")
        part["usd_per_pflop_hour"] = (
            part["price_usd_per_gpu_hour"].astype("float64")
            * TFLOPS_PER_PFLOPS
            / part["tflops_per_gpu"]
        )
        part["last_seen_at"] = seen.loc[part.index] if seen is not None else pd.NaT
        frames.append(part)
    if not frames:
        return empty
    out = pd.concat(frames, ignore_index=True)
    # Deterministic order first, so equal prices keep a stable order in tables.
    out = out.sort_values(
        ["pricing_model", "precision", "usd_per_pflop_hour", "offer_key"], kind="stable"
    ).reset_index(drop=True)
    value = out["usd_per_pflop_hour"]
    out["rank_overall"] = (
        value.groupby([out["pricing_model"], out["precision"]]).rank(method="min").astype("int32")
    )
    out["rank_in_model"] = (
        value.groupby([out["pricing_model"], out["precision"], out["gpu_model"]])
        .rank(method="min")
        .astype("int32")
    )
    out["dataset_version"] = dataset_version
    return out[TFLOPS_SCHEMA.names]


def summarize(per_offer: pd.DataFrame, dataset_version: str | None = None) -> pd.DataFrame:
    """Per (gpu_model, pricing_model, precision): cheapest offer, median across providers."""
    if per_offer.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in SUMMARY_SCHEMA.names})
    rows = []
    keys = ["gpu_model", "pricing_model", "precision"]
    for (model, pricing, precision), grp in per_offer.groupby(keys, sort=True):
        grp = grp.sort_values(["usd_per_pflop_hour", "offer_key"], kind="stable")
        best = grp.iloc[0]
        per_provider = grp.groupby("provider").first()  # sorted: each provider's cheapest
        rows.append(
            {
                "gpu_model": model,
                "pricing_model": pricing,
                "precision": precision,
                "tflops_per_gpu_min": float(grp["tflops_per_gpu"].min()),
                "tflops_per_gpu_max": float(grp["tflops_per_gpu"].max()),
                "cheapest_usd_per_pflop_hour": float(best["usd_per_pflop_hour"]),
                "cheapest_price_usd_per_gpu_hour": float(best["price_usd_per_gpu_hour"]),
                "cheapest_provider": best["provider"],
                "cheapest_offer_key": best["offer_key"],
                "cheapest_region": best["region"],
                "median_usd_per_pflop_hour": float(per_provider["usd_per_pflop_hour"].median()),
                "median_price_usd_per_gpu_hour": float(
                    per_provider["price_usd_per_gpu_hour"].median()
                ),
                "provider_count": len(per_provider),
                "offer_count": len(grp),
                "dataset_version": dataset_version,
            }
        )
    out = pd.DataFrame(rows, columns=SUMMARY_SCHEMA.names)
    out["provider_count"] = out["provider_count"].astype("int32")
    out["offer_count"] = out["offer_count"].astype("int32")
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
