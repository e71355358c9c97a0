"""A minimal provider for pipeline tests: fetches `/offers.json` (with an API key as a query
parameter, to test redaction) and parses a JSON list of {instance_type, region, price}."""

from __future__ import annotations

import json
from collections.abc import Sequence

from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
    Setting,
)

NAME = "fakecloud"


async def fetch(ctx: FetchContext) -> list[Response]:
    key = ctx.settings.get("FAKECLOUD_API_KEY", "")
    return [
        await ctx.client.get(
            ctx.url("/offers.json"),
            params={"key": key},
            provider=NAME,
            secrets=[key],
            kind="offers",
        )
    ]


def parse(responses: Sequence[Response]) -> ParseResult:
    out = ParseResult()
    for r in responses:
        try:
            rows = json.loads(r.read())
        except ValueError as exc:
            raise ParseError(NAME, r.url, f"invalid JSON ({exc})") from None
        if not isinstance(rows, list):
            raise ParseError(NAME, r.url, "expected a list of offers", field="offers")
        for row in rows:
            out.offers.append(
                Offer(
                    instance_type=row["instance_type"],
                    region=row["region"],
                    pricing_model="on_demand",
                    currency="USD",
                    price_per_hour=float(row["price"]),
                    gpu_count=float(row.get("gpus", 1)),
                    gpu_name_raw=row.get("gpu", "NVIDIA Tesla T4"),
                    source_url=r.url,
                    observed_at=r.fetched_at,
                    snapshot_sha256=r.sha256,
                )
            )
    return out


KEY_SETTING = "FAKECLOUD_API_KEY"


def spec(name: str = NAME, key_required: bool = False, fetch=fetch) -> ProviderSpec:
    return ProviderSpec(
        name=name,
        title="Fake cloud",
        source_urls=("http://fake/offers.json",),
        pricing_models=("on_demand",),
        validated_against="documented schema only",
        default_base_url="http://127.0.0.1:9",
        fetch=fetch,
        parse=parse,
        settings=(Setting(KEY_SETTING, secret=True, required=key_required, help="fake key"),),
    )


def offers_body(n: int = 3, price: float = 1.0, gpu: str = "NVIDIA Tesla T4") -> bytes:
    return json.dumps(
        [
            {"instance_type": f"fk{i}.xlarge", "region": "r1", "price": price + i, "gpu": gpu}
            for i in range(n)
        ]
    ).encode()
