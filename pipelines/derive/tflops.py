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
import pyarrow as pa

from pipelines.derive.specs import join_specs

TFLOPS_FILE = "gpu_price_per_tflop.parquet"
SUMMARY_FILE = "gpu_price_per_tflop_summary.parquet"

# precision -> dense TFLOPS column of SPEC_FIELDS
PRECISIONS: dict[str, str] = {
    "fp64": "gpu_fp64_tflops",
    "fp32": "gpu_fp32_tflops",
    "tf32": "gpu_tf32_tflops",
    "fp16": "gpu_fp16_tflops",
    "bf16": "gpu_bf16_tflops",
    "fp8": "gpu_fp8_tflops",
}
TFLOPS_PER_PFLOPS = 1000.0

_TS = pa.timestamp("us", tz="UTC")
TFLOPS_SCHEMA = pa.schema(
    [
        pa.field("provider", pa.string(), nullable=False),
        pa.field("offer_key", pa.string(), nullable=False),
        pa.field("instance_type", pa.string()),
        pa.field("region", pa.string()),
        pa.field("zone", pa.string()),
        pa.field("pricing_model", pa.string(), nullable=False),
        pa.field("term", pa.string()),
        pa.field("gpu_model", pa.string(), nullable=False),
        pa.field("gpu_memory_gb", pa.float64()),
        pa.field("gpu_form_factor", pa.string()),
        pa.field("gpu_count", pa.float64()),
        pa.field("price_usd_per_gpu_hour", pa.float64(), nullable=False),
        pa.field("precision", pa.string(), nullable=False),
        pa.field("tflops_per_gpu", pa.float64(), nullable=False),
        pa.field("usd_per_pflop_hour", pa.float64(), nullable=False),
        pa.field("rank_overall", pa.int32(), nullable=False),
        pa.field("rank_in_model", pa.int32(), nullable=False),
        pa.field("last_seen_at", _TS),
        pa.field("dataset_version", pa.string()),
    ],
    metadata={
        b"usd_per_pflop_hour": b"USD per hour of 1 PFLOP/s of dense peak compute = price_usd_per_gpu_hour * 1000 / tflops_per_gpu",
        b"rank_overall": b"1 = cheapest among all offers of the same pricing_model and precision",
        b"rank_in_model": b"1 = cheapest among offers of the same gpu_model, pricing_model and precision",
    },
)
SUMMARY_SCHEMA = pa.schema(
    [
        pa.field("gpu_model", pa.string(), nullable=False),
        pa.field("pricing_model", pa.string(), nullable=False),
        pa.field("precision", pa.string(), nullable=False),
        pa.field("tflops_per_gpu_min", pa.float64()),
        pa.field("tflops_per_gpu_max", pa.float64()),
        pa.field("cheapest_usd_per_pflop_hour", pa.float64(), nullable=False),
        pa.field("cheapest_price_usd_per_gpu_hour", pa.float64()),
        pa.field("cheapest_provider", pa.string()),
        pa.field("cheapest_offer_key", pa.string()),
        pa.field("cheapest_region", pa.string()),
        pa.field("median_usd_per_pflop_hour", pa.float64(), nullable=False),
        pa.field("median_price_usd_per_gpu_hour", pa.float64()),
        pa.field("provider_count", pa.int32(), nullable=False),
        pa.field("offer_count", pa.int32(), nullable=False),
        pa.field("dataset_version", pa.string()),
    ],
    metadata={
        b"median_usd_per_pflop_hour": b"median over providers of each provider's cheapest offer (a provider counts once)",
    },
)

_OFFER_COLUMNS = [
    "provider",
    "offer_key",
    "instance_type",
    "region",
    "zone",
    "pricing_model",
    "term",
    "gpu_model",
    "gpu_memory_gb",
    "gpu_form_factor",
    "gpu_count",
    "price_usd_per_gpu_hour",
]


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
