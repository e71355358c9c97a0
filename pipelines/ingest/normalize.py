"""Offers (as a provider published them) -> normalized observations (the schema's rows).

This is where the provider-independent columns are made, once for everyone: the offer key,
the canonical GPU name (pipelines.ingest.gpus.resolve), the FX rate of the observation date and
the USD columns. Parsers stay small and pure; this step is pure too (FX rates come in as
data).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, datetime

import pandas as pd
import pyarrow as pa

from pipelines.ingest.gpus import resolve
from pipelines.ingest.kinds import accelerator_kind
from pipelines.schema import OBSERVATION_FIELDS, OBSERVATION_SCHEMA, offer_key
from scrapers.base import Offer, ParseResult

# (currency, observation date) -> (USD per unit of currency, date of the rate used)
FxLookup = Callable[[str, date], tuple[float, date]]
# What a price covers in observation files written before the column existed.
DEFAULT_PRICE_SCOPE = "instance"


def _resolve(offer: Offer, rules_provider: str):
    return resolve(
        offer.gpu_name_raw,
        memory_gb=offer.gpu_memory_gb,
        provider=rules_provider,
        instance_type=offer.instance_type,
        hint=offer.gpu_model_hint,
    )


def offers_to_frame(
    provider: str,
    result: ParseResult,
    fx: FxLookup | None = None,
    gpu_rules_of: str | None = None,
) -> pd.DataFrame:
    """One normalized row per offer. GPU names are resolved with the provider-scoped rules
    of `gpu_rules_of` (ProviderSpec.gpu_rules_of: an imported catalog of another cloud's
    machines) or else of `provider`."""
    rules_provider = gpu_rules_of or provider
    rows = []
    fx_cache: dict[tuple[str, date], tuple[float, date]] = {}
    # All offers of a response share one observed_at: one pandas Timestamp for them.
    at_cache: dict[datetime, pd.Timestamp] = {}
    for o in result.offers:
        observed_at = at_cache.get(o.observed_at)
        if observed_at is None:
            observed_at = at_cache[o.observed_at] = pd.Timestamp(o.observed_at).tz_convert("UTC")
        res = _resolve(o, rules_provider)
        if o.currency == "USD":
            rate, rate_date = 1.0, None
        else:
            day = o.observed_at.date()
            key = (o.currency, day)
            if key not in fx_cache:
                try:
                    if fx is None:
                        raise LookupError("no ECB reference rates loaded")
                    fx_cache[key] = fx(o.currency, day)
                except Exception as exc:
                    # Keep the offer in its own currency; only the USD columns stay empty.
                    # Publishing the EUR price is better than dropping the provider, and a
                    # made-up rate would be worse than both.
                    fx_cache[key] = (math.nan, None)
                    result.warnings.append(
                        f"{provider}: no {o.currency} rate for {day} ({exc}); USD columns left empty"
                    )
            rate, rate_date = fx_cache[key]
        if math.isnan(rate):
            rate = usd = per_gpu = None  # null, not NaN: DuckDB/SQL readers see NULL
        else:
            usd = o.price_per_hour * rate
            per_gpu = usd / o.gpu_count if o.gpu_count and o.gpu_count > 0 else None
        rows.append(
            {
                "provider": provider,
                "offer_key": offer_key(
                    provider, o.instance_type, o.region, o.zone, o.pricing_model, o.term
                ),
                "instance_type": o.instance_type,
                "region": o.region,
                "zone": o.zone,
                "pricing_model": o.pricing_model,
                "term": o.term,
                "gpu_name_raw": o.gpu_name_raw,
                "gpu_model": res.gpu_model,
                "gpu_memory_gb": res.gpu_memory_gb
                if res.gpu_memory_gb is not None
                else o.gpu_memory_gb,
                "gpu_form_factor": res.gpu_form_factor,
                "gpu_resolution": res.how,
                "accelerator_kind": accelerator_kind(res.gpu_model),
                "gpu_count": float(o.gpu_count),
                "vcpus": o.vcpus,
                "memory_gb": o.memory_gb,
                "currency": o.currency,
                "price_per_hour": float(o.price_per_hour),
                "price_unit_published": o.price_unit_published,
                "fx_rate_usd_per_unit": rate,
                "fx_rate_date": rate_date,
                "price_usd_per_hour": usd,
                "price_usd_per_gpu_hour": per_gpu,
                "price_scope": o.price_scope,
                "price_basis": o.price_basis,
                "upfront_fee": o.upfront_fee,
                "storage_per_month": o.storage_per_month,
                "market_offer_count": o.market_offer_count,
                "market_price_p25_per_hour": o.market_price_p25_per_hour,
                "market_price_median_per_hour": o.market_price_median_per_hour,
                "observed_at": observed_at,
                "source_url": o.source_url,
                "snapshot_sha256": o.snapshot_sha256,
                "extra_json": json.dumps(o.extra, sort_keys=True, default=str) if o.extra else None,
            }
        )
    return frame_from_rows(rows)


def frame_from_rows(rows: list[dict]) -> pd.DataFrame:
    """A DataFrame with exactly the observation schema's columns and dtypes."""
    table = (
        pa.Table.from_pylist(rows, schema=OBSERVATION_SCHEMA)
        if rows
        else OBSERVATION_SCHEMA.empty_table()
    )
    return table.to_pandas()


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Coerce an observation frame (e.g. read from CSV) to the schema's columns and dtypes."""
    df = df.copy()
    for f in OBSERVATION_FIELDS:
        if f.name not in df.columns:
            df[f.name] = None
    # Observation files written before these columns existed: the defaults they imply.
    df["price_scope"] = df["price_scope"].fillna(DEFAULT_PRICE_SCOPE)
    missing_kind = df["accelerator_kind"].isna()
    df.loc[missing_kind, "accelerator_kind"] = df.loc[missing_kind, "gpu_model"].map(
        accelerator_kind
    )
    df = df[[f.name for f in OBSERVATION_FIELDS]]
    for col in ("observed_at",):
        df[col] = pd.to_datetime(df[col], utc=True)
    if "fx_rate_date" in df:
        df["fx_rate_date"] = pd.to_datetime(df["fx_rate_date"]).dt.date
    table = pa.Table.from_pandas(df, schema=OBSERVATION_SCHEMA, preserve_index=False, safe=False)
    return table.to_pandas()
