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

import re
from collections.abc import Mapping, Sequence
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
    Setting,
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

# "L4-1-24G", "H100-SXM-2-80G": <gpu count>-<GB per GPU>G at the end of the name.
_GPU_SIZE_IN_NAME = re.compile(r"-(\d+)-(\d+)G$")


def zones(settings: Mapping[str, str]) -> list[str]:
    raw = settings.get(ENV_ZONES) or ""
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
                body = tk.peek_json(response)
                products = body["products"]  # type: ignore[index]
                total = int(body["total_count"])  # type: ignore[index]
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


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    seen: set[tuple[str, str]] = set()
    for response in tk.fresh(responses):
        products = tk.load_json(response, NAME, keys={"products": list})["products"]
        src = tk.source(response)
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
            rows.found()
            offer = _offer(product, gpu, src, rows)
            if offer is None:
                continue
            key = (offer.instance_type, offer.zone or "")
            if key in seen:
                # The catalog shifted between two page requests; keep the first copy.
                result.warnings.append(f"{NAME}: {key[0]} in {key[1]} listed twice, kept once")
                continue
            seen.add(key)
            result.offers.append(offer)
    rows.require_offers(
        responses,
        default_field="properties.hardware.gpu",
        none_found="no GPU product in the catalog",
        all_failed="no GPU product has a usable price",
    )
    return result


def _offer(
    product: dict[str, Any], gpu: dict[str, Any], src: tk.Source, rows: tk.Rows
) -> Offer | None:
    properties = product.get("properties") or {}
    offer_id = (properties.get("instance") or {}).get("offer_id") or product.get("product")
    label = offer_id or product.get("sku") or "?"
    zone = (product.get("locality") or {}).get("zone")
    if not offer_id or not zone:
        rows.skip(src.url, label, "no offer_id or locality.zone", field="locality.zone")
        return None
    retail = (product.get("price") or {}).get("retail_price") or {}
    measure = product.get("unit_of_measure") or {}
    unit = measure.get("unit")
    row = f"{label} in {zone}"
    try:
        price = tk.units_nanos(retail) if "units" in retail else None
        size = Decimal(int(measure.get("size") or 1))
        currency = retail["currency_code"]
    except (KeyError, TypeError, ValueError, ArithmeticError):
        price = None
    if price is None:
        rows.skip(src.url, row, "unreadable retail_price", field="price.retail_price")
        return None
    if unit not in tk.PRICE_UNITS or size <= 0:
        rows.skip(src.url, row, f"unknown unit {unit!r}", field="unit_of_measure")
        return None
    if price <= 0:
        rows.skip(src.url, row, f"price {price} not positive", field="price.retail_price")
        return None
    price_per_hour = tk.per_hour(price, unit, size)
    try:
        gpu_count = int(gpu["count"])
    except (TypeError, ValueError):
        rows.skip(src.url, row, "bad gpu.count", field="properties.hardware.gpu.count")
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
    return src.offer(
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
        memory_gb=ram_bytes / float(tk.BYTES_PER_GIB)
        if isinstance(ram_bytes, int | float)
        else None,
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
    # The catalog prices in EUR (retail_price.currency_code): live runs fetch ECB rates.
    currencies=("EUR",),
    settings=(
        Setting(
            ENV_ZONES,
            help="comma-separated zones to read (default: " + ",".join(DEFAULT_ZONES) + ")",
        ),
    ),
    notes="EUR; GPU types priced per minute in the catalog, normalised to per hour.",
)
