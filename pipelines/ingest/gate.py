"""The gate: a provider's new observations are checked before they may touch the history.

Two kinds of check, both per provider:
1. schema and invariants of the observations themselves (required columns present and
   non-null, price > 0 except free tiers, gpu_count > 0, no duplicate offer keys, sane
   prices), and
2. a comparison with that provider's last good run: zero rows, or a fall in row count
   beyond a configurable fraction, fails. This is the check that would have stopped "a
   transient empty API response wiped all Lambda VM data" (skypilot-catalog#179-#181).

A failing provider keeps its last good data; nothing it produced is published.
"""

from __future__ import annotations

import pandas as pd

from pipelines.schema import OBSERVATION_FIELDS

# A GPU-hour above this is a parse error (a monthly or per-term price read as hourly, a
# cents/dollars mix-up), not a price. The dearest real offers (8x B200 machines) are
# around $15/GPU-hour on demand in 2026; 200 leaves a wide margin.
MAX_USD_PER_GPU_HOUR = 200.0
DEFAULT_MAX_DROP_FRACTION = 0.5


def check(
    provider: str,
    obs: pd.DataFrame,
    last_good_rows: int | None,
    *,
    max_drop_fraction: float = DEFAULT_MAX_DROP_FRACTION,
) -> list[str]:
    """Return the reasons `obs` must not be published (empty list = pass)."""
    reasons: list[str] = []
    if obs is None or len(obs) == 0:
        return [f"{provider}: zero rows (last good run had {last_good_rows or 0})"]
    missing = [f.name for f in OBSERVATION_FIELDS if f.name not in obs.columns]
    if missing:
        reasons.append(f"{provider}: missing columns {missing}")
        return reasons
    for f in OBSERVATION_FIELDS:
        if not f.nullable and obs[f.name].isna().any():
            n = int(obs[f.name].isna().sum())
            reasons.append(f"{provider}: {n} rows with null {f.name}")
    wrong_provider = obs["provider"] != provider
    if wrong_provider.any():
        reasons.append(f"{provider}: {int(wrong_provider.sum())} rows carry another provider id")
    is_free = obs["pricing_model"] == "free"
    bad_price = ~is_free & ~(obs["price_per_hour"] > 0)
    if bad_price.any():
        ex = obs.loc[bad_price, "offer_key"].iloc[0]
        reasons.append(
            f"{provider}: {int(bad_price.sum())} rows with price_per_hour <= 0 (e.g. {ex})"
        )
    bad_free = is_free & (obs["price_per_hour"] != 0)
    if bad_free.any():
        reasons.append(f"{provider}: {int(bad_free.sum())} free-tier rows with a non-zero price")
    bad_gpus = ~(obs["gpu_count"] > 0)
    if bad_gpus.any():
        ex = obs.loc[bad_gpus, "offer_key"].iloc[0]
        reasons.append(f"{provider}: {int(bad_gpus.sum())} rows with gpu_count <= 0 (e.g. {ex})")
    if "price_usd_per_gpu_hour" in obs.columns:
        absurd = obs["price_usd_per_gpu_hour"] > MAX_USD_PER_GPU_HOUR
        if absurd.any():
            row = obs.loc[absurd].iloc[0]
            reasons.append(
                f"{provider}: {int(absurd.sum())} rows above {MAX_USD_PER_GPU_HOUR} USD/GPU-hour "
                f"(e.g. {row['offer_key']} at {row['price_usd_per_gpu_hour']:.2f}; field price_per_hour)"
            )
    dup = obs["offer_key"].duplicated(keep=False)
    if dup.any():
        keys = obs.loc[dup, "offer_key"].drop_duplicates()
        reasons.append(f"{provider}: {len(keys)} duplicate offer keys (e.g. {keys.iloc[0]})")
    if last_good_rows:
        floor = last_good_rows * (1.0 - max_drop_fraction)
        if len(obs) < floor:
            reasons.append(
                f"{provider}: row count fell from {last_good_rows} to {len(obs)} "
                f"(more than {max_drop_fraction:.0%})"
            )
    return reasons
