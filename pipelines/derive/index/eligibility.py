"""Eligibility: the price versions of indexed GPU models, each with the index it belongs
to and its day-independent exclusion reason (`candidates`), expanded to one row per day it
was in force at the day's end (`expand_days`), with the record digests the input-set hash
is made of.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import numpy as np
import pandas as pd

from pipelines.derive.index.methodology import Methodology
from pipelines.tables import INDEX_EXCLUSION_REASONS

INDEXED_PRICING_MODELS = ("on_demand", "spot")
DAY = pd.Timedelta(days=1)
NS_PER_DAY = 86_400 * 10**9
# Prices are hashed at this precision (pipelines/schema.py PRICE_DECIMALS): a float
# round-trip must not change a content hash.
_HASH_DECIMALS = 9

# Columns the computation reads (others are ignored; absent optional ones are tolerated).
_NEEDED = [
    "provider",
    "offer_key",
    "pricing_model",
    "gpu_model",
    "gpu_form_factor",
    "gpu_memory_gb",
    "price_per_hour",
    "price_usd_per_gpu_hour",
    "snapshot_sha256",
    "valid_from",
    "valid_to",
    "last_seen_at",
]
_OPTIONAL = [
    "price_scope",
    "accelerator_kind",
    "spec_match",
    "market_price_median_per_hour",
]
READ_COLUMNS = _NEEDED + _OPTIONAL


def _resellers() -> list[str]:
    """Providers whose offers are other clouds' machines resold (ProviderSpec.resells)."""
    from scrapers.registry import PROVIDERS

    return sorted(name for name, spec in PROVIDERS.items() if spec.resells)


def empty_frame(table) -> pd.DataFrame:
    return table.schema.empty_table().to_pandas()


def utc(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(s, utc=True)
    return s.astype("datetime64[ns, UTC]")


def computed_through(history: pd.DataFrame) -> pd.Timestamp | None:
    """The latest observation in the history (every merge confirms or opens a version)."""
    if history.empty:
        return None
    return utc(history["last_seen_at"]).max()


def candidates(history: pd.DataFrame, m: Methodology) -> pd.DataFrame:
    """Price versions of indexed GPU models with their day-independent exclusion reason."""
    models = sorted({d.gpu_model for d in m.indexes})
    h = history[history["gpu_model"].astype("object").isin(models)]
    c = pd.DataFrame(
        {
            col: h[col].astype("object")
            if isinstance(h[col].dtype, pd.CategoricalDtype)
            else h[col]
            for col in READ_COLUMNS
            if col in h
        }
    ).reset_index(drop=True)
    for col in _OPTIONAL:
        if col not in c:
            c[col] = None
    # Absent before the scope column existed: every row was a whole-instance price.
    c["price_scope"] = c["price_scope"].fillna("instance")
    c["valid_from"] = utc(c["valid_from"])
    c["valid_to"] = utc(c["valid_to"])
    c["last_seen_at"] = utc(c["last_seen_at"])
    price = pd.to_numeric(c["price_usd_per_gpu_hour"], errors="coerce").astype("float64")
    # Marketplace rows: the minimum is one host's price, often an unverified outlier; the
    # market median is what the marketplace typically charges. Same unit as price_per_hour.
    median = pd.to_numeric(c["market_price_median_per_hour"], errors="coerce")
    per_hour = pd.to_numeric(c["price_per_hour"], errors="coerce")
    market = c["price_scope"].eq("marketplace_min") & median.gt(0) & per_hour.gt(0)
    price = price.where(~market, price * median / per_hour)
    c["price"] = price

    index_of = pd.Series(pd.NA, index=c.index, dtype="object")
    ff = c["gpu_form_factor"].astype("object")
    mem = pd.to_numeric(c["gpu_memory_gb"], errors="coerce")
    variant_known = pd.Series(False, index=c.index)
    for d in m.indexes:
        same = c["gpu_model"].eq(d.gpu_model)
        fits = same & mem.isin(d.memory_gb)
        if d.form_factor is not None:
            fits &= ff.eq(d.form_factor)
        index_of = index_of.mask(fits & index_of.isna(), d.index_id)
        variant_known |= fits
    needs_ff = c["gpu_model"].isin({d.gpu_model for d in m.indexes if d.form_factor})
    kind = c["accelerator_kind"]
    spec = c["spec_match"]
    conditions = [
        ~c["pricing_model"].isin(INDEXED_PRICING_MODELS),
        kind.notna() & kind.ne("gpu"),
        c["price_scope"].eq("gpu_only"),
        c["price_scope"].eq("curated_min"),
        c["provider"].isin(_resellers() if m.exclude_resold else []),
        needs_ff & ff.isna(),
        mem.isna(),
        ~variant_known,
        spec.notna() & spec.ne("exact"),
        ~price.gt(0),
    ]
    reasons = [
        "pricing_model_not_indexed",
        "not_gpu",
        "price_scope_gpu_only",
        "price_scope_curated_min",
        "resold_offer",
        "form_factor_unknown",
        "memory_unknown",
        "variant_not_indexed",
        "spec_not_exact",
        "no_usd_price",
    ]
    assert set(reasons) <= set(INDEX_EXCLUSION_REASONS)
    c["reason"] = np.select(conditions, reasons, default=None)
    c["index_id"] = index_of.where(~(needs_ff & ff.isna()), None)
    c["digest"] = _record_digests(c)
    # Integer codes for the statistic's sorts and groups (see _statistic).
    c["okey"], _ = codes(c["offer_key"])
    c["pkey"], _ = codes(c["provider"])
    c["dkey"], _ = codes(c["digest"])
    pair = c["index_id"].fillna("").astype(object) + "|" + c["pricing_model"].astype(object)
    c["gkey"], pairs = codes(pair)
    split = [v.split("|") for v in pairs]
    c.attrs["gkeys"] = (
        np.array([a for a, _ in split], dtype=object),
        np.array([b for _, b in split], dtype=object),
    )
    # Plain object arrays: the day expansion repeats every row hundreds of times, and
    # numpy takes object pointers far faster than pandas' Arrow-backed strings.
    for col in c.columns:
        if not (
            pd.api.types.is_numeric_dtype(c[col]) or pd.api.types.is_datetime64_any_dtype(c[col])
        ):
            c[col] = c[col].astype(object)
    return c


def _record_digests(c: pd.DataFrame) -> pd.Series:
    """sha256 of each version's identity and price: the unit of the input-set hash."""
    if c.empty:
        # `.map` on an empty column gives float64, and str + float then raises: a run whose
        # history holds no candidate (one provider without indexed GPUs) has no digests.
        return pd.Series([], index=c.index, dtype=object)
    vf = c["valid_from"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    price = c["price"].round(_HASH_DECIMALS).map(lambda x: "" if pd.isna(x) else repr(float(x)))
    text = (
        c["offer_key"].astype(str)
        + "|"
        + vf
        + "|"
        + price
        + "|"
        + c["snapshot_sha256"].fillna("").astype(str)
    )
    return text.map(lambda s: hashlib.sha256(s.encode()).hexdigest())


# The candidate columns the per-day rows need (the others are not repeated per day).
_EXPANDED = [
    "provider",
    "offer_key",
    "pricing_model",
    "gpu_model",
    "index_id",
    "reason",
    "price",
    "digest",
    "okey",
    "pkey",
    "dkey",
    "gkey",
    "valid_from",
    "last_seen_at",
]


def expand_days(
    c: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, listed_for: timedelta
) -> pd.DataFrame:
    """One row per (version, day D in [first, last]) with the version in force at D's end.

    In force at the end of D (t = D + 1 day): valid_from < t <= valid_to (or no valid_to).
    """
    vf = c["valid_from"].array.asi8
    vt = c["valid_to"]
    vt_ns = np.where(vt.isna(), np.iinfo(np.int64).max, vt.array.asi8)
    first_ns, last_ns = first.value, last.value
    # Smallest D with D + 1 day > valid_from: the day valid_from falls on.
    d0 = np.maximum(vf // NS_PER_DAY * NS_PER_DAY, first_ns)
    # Largest D with D + 1 day <= valid_to.
    d1 = np.minimum(
        np.where(vt.isna(), last_ns, vt_ns // NS_PER_DAY * NS_PER_DAY - NS_PER_DAY), last_ns
    )
    listed_until = c["last_seen_at"].array.asi8 + pd.Timedelta(listed_for).value
    d1 = np.minimum(d1, listed_until // NS_PER_DAY * NS_PER_DAY)
    n = np.maximum((d1 - d0) // NS_PER_DAY + 1, 0)
    rows = np.repeat(np.arange(len(c)), n)
    starts = np.repeat(d0, n)
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    day_ns = starts + offsets * NS_PER_DAY
    out = c[_EXPANDED].iloc[rows].reset_index(drop=True)
    out["day_ns"] = day_ns
    out["vrow"] = rows  # which version: the inputs table joins a version's days into runs
    return out


def codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted integer codes (-1 for null) and the values they stand for."""
    ints, uniques = pd.factorize(values, sort=True)
    return ints, np.asarray(uniques, dtype=object)
