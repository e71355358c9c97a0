"""Linode (Akamai Cloud): GPU Linode plans from the public types API.

Source: `GET https://api.linode.com/v4/linode/types?page=N&page_size=500` (public, no key),
paged with `page` / `pages` in the body. Each type has `price{hourly, monthly}` (USD) and
`region_prices[{id, hourly, monthly}]`: regions whose price differs from the default.

Output: one on-demand offer per GPU type (`gpus > 0`) at the default price, in region
`global` (it applies to every region without an override), plus one offer per
`region_prices` entry in that region. GPU model and memory are not in the API: they come
from `scrapers/data/linode_gpu_types.csv` keyed by the type-id prefix (`g1-gpu-rtx6000`);
the raw name is Linode's own, taken from the label ("Dedicated 32GB + RTX6000 GPU x1").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderError,
    ProviderSpec,
    Response,
    RowError,
)

NAME = "linode"
DEFAULT_BASE_URL = "https://api.linode.com/v4"
TYPES_PATH = "linode/types"
PAGE_SIZE = 500  # the documented maximum page_size
MAX_PAGES = 50
DEFAULT_REGION = "global"  # the default price: every region without a region_prices entry
GPU_TABLE = "linode_gpu_types.csv"
LABEL_GPU_RE = re.compile(r"\+\s*(.+?)\s+GPU\b")


def gpu_table() -> dict[str, dict[str, str]]:
    return tk.table_by(GPU_TABLE, "type_id_prefix")


async def fetch(ctx: FetchContext) -> list[Response]:
    """Page 1, then pages 2..`pages` as the first page announces them."""
    url = ctx.url(TYPES_PATH)
    out: list[Response] = []
    page, pages = 1, 1
    while page <= pages:
        if page > MAX_PAGES:
            raise ProviderError(NAME, url, f"more than {MAX_PAGES} pages announced", field="pages")
        resp = await ctx.client.get(
            url, provider=NAME, kind="linode-types", params={"page": page, "page_size": PAGE_SIZE}
        )
        out.append(resp)
        pages = _pages(resp, default=pages)
        page += 1
    return out


def _pages(resp: Response, default: int) -> int:
    doc = tk.peek_json(resp)
    try:
        return int(doc["pages"])  # type: ignore[index]
    except (ValueError, KeyError, TypeError):
        return default  # parse reports the broken page with the right field


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        src = tk.source(resp)
        for item in tk.load_json(resp, NAME, keys={"data": list}, exact=True)["data"]:
            if not isinstance(item, dict) or "id" not in item:
                raise ParseError(NAME, resp.url, "type without an id", field="data[].id")
            if "gpus" not in item:
                raise ParseError(
                    NAME, resp.url, f"type {item['id']} has no GPU count", field="gpus"
                )
            try:
                gpus = int(item["gpus"])
            except (TypeError, ValueError):
                raise ParseError(
                    NAME,
                    resp.url,
                    f"type {item['id']}: gpus {item['gpus']!r} is not a number",
                    field="gpus",
                ) from None
            if gpus <= 0:
                continue
            rows.found()
            with rows.guard(resp.url, f"type {item['id']}"):
                result.offers.extend(_offers(src, item, gpus, result))
    rows.require_offers(
        responses,
        default_field="gpus",
        none_found="no GPU type (gpus > 0) found",
        all_failed="every GPU type failed to parse",
    )
    return result


def _gpu(item: dict[str, Any], result: ParseResult) -> tuple[str, dict[str, str] | None]:
    type_id = str(item["id"])
    row = next((r for prefix, r in gpu_table().items() if type_id.startswith(prefix)), None)
    label_match = LABEL_GPU_RE.search(str(item.get("label", "")))
    if row is None:
        result.unknown.append(f"{NAME}: GPU type {type_id!r} not in {GPU_TABLE}")
    raw = label_match.group(1) if label_match else (row["gpu_name"] if row else type_id)
    return raw, row


def _offers(src: tk.Source, item: dict[str, Any], gpus: int, result: ParseResult) -> list[Offer]:
    price = item.get("price")
    if not isinstance(price, dict) or "hourly" not in price:
        raise RowError("no price.hourly", "price.hourly")
    region_prices = item.get("region_prices") or []
    if not isinstance(region_prices, list):
        raise RowError("region_prices is not a list", "region_prices")
    raw, row = _gpu(item, result)
    prices = [
        (
            DEFAULT_REGION,
            tk.require_decimal(price["hourly"], "price.hourly"),
            price.get("monthly"),
            "default",
        )
    ]
    for rp in region_prices:
        if not isinstance(rp, dict) or "id" not in rp:
            raise RowError("region_prices entry without id", "region_prices[].id")
        prices.append(
            (
                str(rp["id"]),
                tk.require_decimal(rp.get("hourly"), "region_prices[].hourly"),
                rp.get("monthly"),
                "region_override",
            )
        )
    memory_mb = item.get("memory")
    offers = []
    for region, hourly, monthly, scope in prices:
        offers.append(
            src.offer(
                instance_type=str(item["id"]),
                region=region,
                pricing_model="on_demand",
                currency="USD",  # Linode prices in USD only
                price_per_hour=float(hourly),
                gpu_count=float(gpus),
                gpu_name_raw=raw,
                gpu_model_hint=row["gpu_model_hint"] if row else None,
                gpu_memory_gb=float(row["gpu_memory_gb"]) if row else None,
                vcpus=float(item["vcpus"]) if item.get("vcpus") is not None else None,
                # `memory` is in MB that are MiB.
                memory_gb=float(Decimal(str(memory_mb)) / tk.MIB_PER_GIB)
                if memory_mb is not None
                else None,
                price_unit_published="hour",
                extra={
                    "label": item.get("label"),
                    "class": item.get("class"),
                    "price_scope": scope,
                    # Linode bills hourly up to this monthly cap.
                    "monthly_cap": float(monthly) if monthly is not None else None,
                    "successor": item.get("successor"),
                },
            )
        )
    return offers


PROVIDER = ProviderSpec(
    name=NAME,
    title="Linode (Akamai Cloud)",
    pricing_page_url="https://www.linode.com/pricing/",
    source_urls=("https://api.linode.com/v4/linode/types",),
    pricing_models=("on_demand",),
    validated_against="recorded response: linode-api-v4beta_linode-types_page1_2024-07_raw-body.json (2024-07-11)",
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    notes="Default price published as region 'global'; region_prices overrides as their own regions.",
)
