"""OVHcloud Public Cloud: hourly prices of its GPU instance flavors (t1 V100, t2 V100S, L4,
L40S, A100, H100 ...).

Source: the public order catalog, `GET https://eu.api.ovh.com/1.0/order/catalog/public/cloud
?ovhSubsidiary=FR` (no authentication). One JSON document per subsidiary: `locale
{currencyCode, subsidiary}`, `plans[].addonFamilies` naming the instance addons, and
`addons[]`, one per flavor and billing mode: `<flavor>.consumption` (hourly, "t2-45 -
Hourly") and `<flavor>.monthly.postpaid` (monthly). Each addon carries `pricings[{price,
type}]` and `blobs.technical{cpu.cores, memory.size, gpu{number, model}, name}`.

Prices are integers in 10^-8 of the currency (180000000 -> 1.80 EUR per hour); they are
converted exactly with Decimal. Only the hourly consumption addons become offers (the
on-demand price); the monthly plan of the same flavor is kept in `extra` (its price in
currency per month), not as a row, because it is a billing option of the same flavor.

Regions: the catalog is per subsidiary (currency and tax locale), not per region; it does
not say in which regions a flavor runs, and a flavor costs the same in every region of a
subsidiary. So each flavor gets one row with region "global" and the subsidiary in
`extra["ovh_subsidiary"]`. Set OVH_SUBSIDIARY (default FR, priced in EUR) to read another
subsidiary's catalog. Windows-licensed flavors (`win-...`) are left out: they price an OS
licence on top of the GPU.

Output: one on_demand `Offer` per GPU flavor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from scrapers.base import FetchContext, Offer, ParseError, ParseResult, ProviderSpec, Response

NAME = "ovhcloud"
DEFAULT_BASE_URL = "https://eu.api.ovh.com/1.0"
CATALOG_PATH = "order/catalog/public/cloud"
ENV_SUBSIDIARY = "OVH_SUBSIDIARY"
DEFAULT_SUBSIDIARY = "FR"
GLOBAL_REGION = "global"
# OVH catalog prices are integers in 10^-8 of the currency ("microcents").
PRICE_UNITS_PER_CURRENCY_UNIT = Decimal(10**8)
HOURLY_MARKER = ".consumption"
MONTHLY_MARKER = ".monthly"
WINDOWS_PREFIX = "win-"


async def fetch(ctx: FetchContext) -> list[Response]:
    subsidiary = (ctx.settings or {}).get(ENV_SUBSIDIARY) or DEFAULT_SUBSIDIARY
    url = ctx.url(CATALOG_PATH)
    return [
        await ctx.client.get(
            url, provider=NAME, kind="order-catalog", params={"ovhSubsidiary": subsidiary}
        )
    ]


def _flavor(addon: dict[str, Any]) -> str:
    """The flavor an addon prices: blobs.technical.name, else the planCode before its suffix."""
    technical = (addon.get("blobs") or {}).get("technical") or {}
    name = technical.get("name")
    if isinstance(name, str) and name:
        return name
    return str(addon.get("planCode", "")).split(".", 1)[0]


def _gpu(addon: dict[str, Any]) -> dict[str, Any] | None:
    gpu = ((addon.get("blobs") or {}).get("technical") or {}).get("gpu")
    if isinstance(gpu, dict) and isinstance(gpu.get("number"), int | float) and gpu["number"] > 0:
        return gpu
    return None


def _price_of(addon: dict[str, Any], pricing_type: str) -> Decimal | None:
    """The addon's price for `pricing_type` in currency units; None when not exactly one int."""
    for pricing in addon.get("pricings") or []:
        if isinstance(pricing, dict) and pricing.get("type") == pricing_type:
            price = pricing.get("price")
            if isinstance(price, int) and not isinstance(price, bool):
                return Decimal(price) / PRICE_UNITS_PER_CURRENCY_UNIT
            return None
    return None


def _parse_one(response: Response, result: ParseResult) -> tuple[int, int]:
    """Append the offers of one catalog; return (GPU hourly addons seen, offers made)."""
    try:
        catalog = json.loads(response.read())
    except ValueError as exc:
        raise ParseError(NAME, response.url, f"body is not JSON: {exc}", field="addons") from None
    if not isinstance(catalog, dict) or not isinstance(catalog.get("addons"), list):
        raise ParseError(NAME, response.url, "no 'addons' list: layout changed", field="addons")
    locale = catalog.get("locale") or {}
    currency = locale.get("currencyCode")
    if not isinstance(currency, str) or not currency:
        raise ParseError(NAME, response.url, "no locale.currencyCode", field="locale.currencyCode")
    subsidiary = locale.get("subsidiary")
    addons = [a for a in catalog["addons"] if isinstance(a, dict) and a.get("planCode")]

    monthly: dict[str, tuple[str, Decimal]] = {}
    for addon in addons:
        code = addon["planCode"]
        if MONTHLY_MARKER in code and _gpu(addon):
            price = _price_of(addon, "monthly.postpaid") or _price_of(addon, "consumption")
            if price is not None:
                monthly[_flavor(addon)] = (code, price)

    seen = made = 0
    for addon in addons:
        code = addon["planCode"]
        gpu = _gpu(addon)
        if gpu is None or HOURLY_MARKER not in code or code.startswith(WINDOWS_PREFIX):
            continue
        seen += 1
        price = _price_of(addon, "consumption")
        if price is None:
            result.warnings.append(
                f"{NAME}: {code}: no integer 'consumption' price in pricings, skipped"
            )
            continue
        if price <= 0:
            result.warnings.append(f"{NAME}: {code}: price {price} not positive, skipped")
            continue
        flavor = _flavor(addon)
        # A suffix after ".consumption" (none in the recorded catalog) marks a variant of
        # the flavor; keep it in the instance type so variants never share an offer key.
        suffix = code.split(HOURLY_MARKER, 1)[1]
        technical = (addon.get("blobs") or {}).get("technical") or {}
        memory = gpu.get("memory")
        gpu_memory_gb = memory.get("size") if isinstance(memory, dict) else None
        raw_price = next(
            p["price"]
            for p in addon["pricings"]
            if isinstance(p, dict) and p.get("type") == "consumption"
        )
        month = monthly.get(flavor)
        result.offers.append(
            Offer(
                instance_type=flavor + suffix,
                region=GLOBAL_REGION,
                pricing_model="on_demand",
                currency=currency,
                price_per_hour=float(price),
                price_unit_published="hour",
                gpu_count=float(gpu["number"]),
                gpu_name_raw=str(gpu.get("model") or "") or None,
                gpu_memory_gb=float(gpu_memory_gb)
                if isinstance(gpu_memory_gb, int | float)
                else None,
                vcpus=_number((technical.get("cpu") or {}).get("cores")),
                memory_gb=_number((technical.get("memory") or {}).get("size")),
                source_url=response.url,
                observed_at=response.fetched_at,
                snapshot_sha256=response.sha256,
                extra={
                    "plan_code": code,
                    "invoice_name": addon.get("invoiceName"),
                    "price_published_1e-8": raw_price,
                    "ovh_subsidiary": subsidiary,
                    "catalog_id": catalog.get("catalogId"),
                    "brick_subtype": ((addon.get("blobs") or {}).get("commercial") or {}).get(
                        "brickSubtype"
                    ),
                    **(
                        {
                            "monthly_plan_code": month[0],
                            "monthly_plan_price_per_month": str(month[1]),
                        }
                        if month
                        else {}
                    ),
                },
            )
        )
        made += 1
    return seen, made


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    seen = made = 0
    for response in responses:
        if response.not_modified:
            continue
        s, m = _parse_one(response, result)
        seen, made = seen + s, made + m
    source = responses[0].url if responses else f"{DEFAULT_BASE_URL}/{CATALOG_PATH}"
    if seen == 0:
        raise ParseError(
            NAME, source, "no hourly GPU flavor in the catalog", field="blobs.technical.gpu"
        )
    if made == 0:
        raise ParseError(
            NAME,
            source,
            "no GPU flavor has an integer consumption price: layout changed",
            field="pricings.price",
        )
    return result


PROVIDER = ProviderSpec(
    name=NAME,
    title="OVHcloud",
    pricing_page_url="https://www.ovhcloud.com/en/public-cloud/prices/",
    source_urls=(f"{DEFAULT_BASE_URL}/{CATALOG_PATH}?ovhSubsidiary={DEFAULT_SUBSIDIARY}",),
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: order-catalog-public-cloud_opencost-trimmed_b2-7_t2-45.json "
        "(opencost test fixture, trimmed by its author)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    default_cadence="0 3 * * *",
    notes="EUR (FR subsidiary); prices in 1e-8 units; one 'global' row per flavor.",
)
