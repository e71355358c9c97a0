"""Scaleway: on-demand prices of its GPU Instances (L4, L40S, H100, RENDER-S P100, ...).

Source: the Product Catalog API, `GET https://api.scaleway.com/product-catalog/v2alpha1/
public-catalog/products?product_types=instance&zone=<zone>&page=N&page_size=100`, one
paged listing per zone. Each product carries `properties.instance.offer_id` (the
commercial type, e.g. "L4-1-24G"), `locality.zone`, `properties.hardware.gpu{count, type,
description}` and `price.retail_price{currency_code, units, nanos}` for one
`unit_of_measure{unit, size}`. GPU types are priced per **minute** (L4-8-24G: 0.105
EUR/minute), most other types per hour, so the unit is read per product and normalised
to per hour exactly (Decimal), with the published unit kept in `price_unit_published`.
Prices stay in EUR; the pipeline converts with the ECB rate of the observation day.

Why the catalog and not the Instance API (`/instance/v1/zones/{zone}/products/servers`,
`hourly_price`/`monthly_price` floats): the catalog is a public endpoint needing no
`X-Auth-Token`, states its unit and currency explicitly, and gives exact units+nanos
prices. What it lacks is the per-GPU memory; Scaleway's GPU type names spell it out
("L4-1-24G" = 1 GPU, 24 GB each), so it is read from `offer_id` when the name has that
`-<count>-<GB>G` form with the count matching `gpu.count`.

Paging: `total_count` in the body; pages are fetched until that many products arrived
(or a page comes back empty).

Output: one on_demand `Offer` per (GPU commercial type, zone); region = the zone without
its number ("fr-par-2" -> "fr-par"). Scaleway sells no spot GPU Instances.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from scrapers.base import (
    HOURS_PER_MONTH,
    MINUTES_PER_HOUR,
    SECONDS_PER_HOUR,
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderError,
    ProviderSpec,
    Response,
)

NAME = "scaleway"
DEFAULT_BASE_URL = "https://api.scaleway.com"
CATALOG_PATH = "product-catalog/v2alpha1/public-catalog/products"
# Zones with GPU Instances (Scaleway's GPU Instance documentation lists Paris 1/2,
# Amsterdam 1 and Warsaw 2); override with SCALEWAY_ZONES="fr-par-2,pl-waw-2".
DEFAULT_ZONES = ("fr-par-1", "fr-par-2", "nl-ams-1", "pl-waw-2")
ENV_ZONES = "SCALEWAY_ZONES"
PAGE_SIZE = 100
MAX_PAGES = 50  # ~5000 products per zone; more means the paging loop is broken
# Statuses of products one can order (the same filter the Scaleway CLI sends).
ORDERABLE_STATUSES = ("public_beta", "preview", "general_availability", "end_of_new_features")

NANOS_PER_UNIT = Decimal(10**9)
BYTES_PER_GIB = 2**30
# Published unit -> (multiply, divide) turning a price per that unit into a price per
# hour; kept as a fraction so the Decimal result stays exact.
PER_HOUR_FACTOR = {
    "second": (Decimal(int(SECONDS_PER_HOUR)), Decimal(1)),
    "minute": (Decimal(int(MINUTES_PER_HOUR)), Decimal(1)),
    "hour": (Decimal(1), Decimal(1)),
    "month": (Decimal(1), Decimal(int(HOURS_PER_MONTH))),
}
# "L4-1-24G", "H100-SXM-2-80G": <gpu count>-<GB per GPU>G at the end of the name.
_GPU_SIZE_IN_NAME = re.compile(r"-(\d+)-(\d+)G$")


def zones(settings: Any) -> list[str]:
    raw = (settings or {}).get(ENV_ZONES) or ""
    chosen = [z.strip() for z in raw.split(",") if z.strip()]
    return chosen or list(DEFAULT_ZONES)


async def fetch(ctx: FetchContext) -> list[Response]:
    responses: list[Response] = []
    url = ctx.url(CATALOG_PATH)
    for zone in zones(ctx.settings):
        received = 0
        for page in range(1, MAX_PAGES + 1):
            params = {
                "product_types": "instance",
                "zone": zone,
                "status": list(ORDERABLE_STATUSES),
                "page": str(page),
                "page_size": str(PAGE_SIZE),
            }
            response = await ctx.client.get(url, provider=NAME, kind="catalog-page", params=params)
            responses.append(response)
            try:
                body = json.loads(response.read())
                products = body["products"]
                total = int(body["total_count"])
            except (ValueError, KeyError, TypeError):
                raise ParseError(
                    NAME,
                    response.url,
                    "catalog page without products/total_count",
                    field="total_count",
                ) from None
            received += len(products)
            if not products or received >= total:
                break
        else:
            raise ProviderError(
                NAME, url, f"zone {zone}: still short of total_count after {MAX_PAGES} pages"
            )
    return responses


def _region_of(zone: str) -> str:
    head, _, tail = zone.rpartition("-")
    return head if head and tail.isdigit() else zone


def _price_per_unit(retail: dict[str, Any]) -> Decimal:
    units = retail["units"]
    nanos = retail.get("nanos", 0)
    if isinstance(units, bool) or isinstance(nanos, bool):
        raise TypeError("boolean price")
    # units may come as a string (int64 in JSON); nanos is an int32.
    return Decimal(int(units)) + Decimal(int(nanos)) / NANOS_PER_UNIT


def _load(response: Response) -> list[Any]:
    try:
        body = json.loads(response.read())
    except ValueError as exc:
        raise ParseError(NAME, response.url, f"body is not JSON: {exc}", field="products") from None
    if not isinstance(body, dict) or not isinstance(body.get("products"), list):
        raise ParseError(NAME, response.url, "no 'products' list: layout changed", field="products")
    return body["products"]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    seen: set[tuple[str, str]] = set()
    gpu_rows = 0
    for response in responses:
        if response.not_modified:
            continue
        products = _load(response)
        if products and not any(
            isinstance(p, dict) and "price" in p and "unit_of_measure" in p for p in products
        ):
            raise ParseError(
                NAME,
                response.url,
                "no product carries price and unit_of_measure: layout changed",
                field="price",
            )
        for product in products:
            if not isinstance(product, dict):
                continue
            properties = product.get("properties") or {}
            gpu = (properties.get("hardware") or {}).get("gpu")
            if not isinstance(gpu, dict) or not gpu.get("count"):
                continue  # not a GPU type
            gpu_rows += 1
            offer = _offer(product, gpu, response, result)
            if offer is None:
                continue
            key = (offer.instance_type, offer.zone or "")
            if key in seen:
                # The catalog shifted between two page requests; keep the first copy.
                result.warnings.append(f"{NAME}: {key[0]} in {key[1]} listed twice, kept once")
                continue
            seen.add(key)
            result.offers.append(offer)
    if gpu_rows == 0:
        source = responses[0].url if responses else DEFAULT_BASE_URL + "/" + CATALOG_PATH
        raise ParseError(
            NAME, source, "no GPU product in the catalog", field="properties.hardware.gpu"
        )
    return result


def _offer(
    product: dict[str, Any], gpu: dict[str, Any], response: Response, result: ParseResult
) -> Offer | None:
    properties = product.get("properties") or {}
    offer_id = (properties.get("instance") or {}).get("offer_id") or product.get("product")
    label = offer_id or product.get("sku") or "?"
    zone = (product.get("locality") or {}).get("zone")
    if not offer_id or not zone:
        result.warnings.append(f"{NAME}: {label}: no offer_id or locality.zone, skipped")
        return None
    retail = (product.get("price") or {}).get("retail_price") or {}
    measure = product.get("unit_of_measure") or {}
    unit = measure.get("unit")
    try:
        price = _price_per_unit(retail)
        size = Decimal(int(measure.get("size") or 1))
        currency = retail["currency_code"]
    except (KeyError, TypeError, ValueError, ArithmeticError):
        result.warnings.append(f"{NAME}: {label} in {zone}: unreadable retail_price, skipped")
        return None
    if unit not in PER_HOUR_FACTOR or size <= 0:
        result.warnings.append(f"{NAME}: {label} in {zone}: unknown unit {unit!r}, skipped")
        return None
    if price <= 0:
        result.warnings.append(f"{NAME}: {label} in {zone}: price {price} not positive, skipped")
        return None
    multiply, divide = PER_HOUR_FACTOR[unit]
    price_per_hour = price * multiply / (divide * size)
    try:
        gpu_count = int(gpu["count"])
    except (TypeError, ValueError):
        result.warnings.append(f"{NAME}: {label} in {zone}: bad gpu.count, skipped")
        return None
    gpu_memory_gb = None
    sized = _GPU_SIZE_IN_NAME.search(offer_id)
    if sized and int(sized.group(1)) == gpu_count:
        gpu_memory_gb = float(sized.group(2))
    hardware = properties.get("hardware") or {}
    cpu = hardware.get("cpu") or {}
    ram = hardware.get("ram") or {}
    vcpus = (cpu.get("virtual") or {}).get("count") or cpu.get("threads")
    ram_bytes = ram.get("size")
    return Offer(
        instance_type=offer_id,
        region=_region_of(zone),
        zone=zone,
        pricing_model="on_demand",
        currency=currency,
        price_per_hour=float(price_per_hour),
        price_unit_published=unit if size == 1 else f"{size} {unit}",
        gpu_count=float(gpu_count),
        gpu_name_raw=gpu.get("type") or gpu.get("description") or None,
        gpu_memory_gb=gpu_memory_gb,
        vcpus=float(vcpus) if isinstance(vcpus, int | float) else None,
        memory_gb=ram_bytes / BYTES_PER_GIB if isinstance(ram_bytes, int | float) else None,
        source_url=response.url,
        observed_at=response.fetched_at,
        snapshot_sha256=response.sha256,
        extra={
            "sku": product.get("sku"),
            "price_published": str(price),
            "unit_size": int(size),
            "gpu_description": gpu.get("description"),
            "range": (properties.get("instance") or {}).get("range"),
            "status": product.get("status"),
            "cpu_type": cpu.get("type"),
            **({"gpu_memory_from": "offer_id"} if gpu_memory_gb is not None else {}),
        },
    )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Scaleway",
    pricing_page_url="https://www.scaleway.com/en/pricing/",
    source_urls=(DEFAULT_BASE_URL + "/" + CATALOG_PATH,),
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: product-catalog-v2alpha1_public-catalog-products_instance_"
        "fr-par-1_page1_2026-07-01.json (2026-07-01)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    default_cadence="0 3 * * *",
    notes="EUR; GPU types priced per minute in the catalog, normalised to per hour.",
)
