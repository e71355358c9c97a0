"""Observation rows for change/alert tests: one builder, the normalized schema's columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipelines.schema import offer_key

T0 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
P4D_USD_PER_HOUR = 32.7726  # p4d.24xlarge us-east-1, recorded offer file 2024-05-28
AWS_SOURCE = (
    "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/us-east-1/index.json"
)


def observation(
    instance_type: str = "p4d.24xlarge",
    price: float = P4D_USD_PER_HOUR,
    gpu_model: str = "A100",
    *,
    provider: str = "aws",
    region: str = "us-east-1",
    pricing_model: str = "on_demand",
    gpu_count: float = 8.0,
    currency: str = "USD",
    at: datetime = T0,
    source_url: str = AWS_SOURCE,
    **extra: Any,
) -> dict[str, Any]:
    r = {
        "provider": provider,
        "offer_key": offer_key(provider, instance_type, region, None, pricing_model, None),
        "instance_type": instance_type,
        "region": region,
        "pricing_model": pricing_model,
        "gpu_name_raw": gpu_model,
        "gpu_model": gpu_model,
        "gpu_count": gpu_count,
        "currency": currency,
        "price_per_hour": price,
        "price_usd_per_hour": price,
        "price_usd_per_gpu_hour": price / gpu_count,
        "observed_at": at,
        "source_url": source_url,
        "snapshot_sha256": "0" * 64,
    }
    r.update(extra)
    return r
