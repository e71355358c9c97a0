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

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from scrapers import _toolkit as tk
from scrapers.base import FetchContext, ParseError, ParseResult, ProviderSpec, Response, Setting

NAME = "ovhcloud"
DEFAULT_BASE_URL = "https://eu.api.ovh.com/1.0"
CATALOG_PATH = "order/catalog/public/cloud"
ENV_SUBSIDIARY = "OVH_SUBSIDIARY"
DEFAULT_SUBSIDIARY = "FR"
GLOBAL_REGION = "global"
HOURLY_MARKER = ".consumption"
MONTHLY_MARKER = ".monthly"
WINDOWS_PREFIX = "win-"


async def fetch(ctx: FetchContext) -> list[Response]:
    subsidiary = ctx.settings.get(ENV_SUBSIDIARY) or DEFAULT_SUBSIDIARY
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
                # OVH catalog prices are integers in 10^-8 of the currency.
                return Decimal(price) / tk.UNITS_1E8_PER_UNIT
            return None
    return None


def _parse_one(response: Response, rows: tk.Rows) -> None:
    """Append the offers of one catalog."""
    result = rows.result
    catalog = tk.load_json(response, NAME, keys={"addons": list})
    src = tk.source(response)
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

    for addon in addons:
        code = addon["planCode"]
        gpu = _gpu(addon)
        if gpu is None or HOURLY_MARKER not in code or code.startswith(WINDOWS_PREFIX):
            continue
        rows.found()
        price = _price_of(addon, "consumption")
        if price is None:
            rows.skip(
                response.url,
                code,
                "no integer 'consumption' price in pricings",
                field="pricings.price",
            )
            continue
        if price <= 0:
            rows.skip(response.url, code, f"price {price} not positive", field="pricings.price")
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
            src.offer(
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
                vcpus=tk.to_float((technical.get("cpu") or {}).get("cores"), strings=False),
                memory_gb=tk.to_float((technical.get("memory") or {}).get("size"), strings=False),
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


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for response in tk.fresh(responses):
        _parse_one(response, rows)
    rows.require_offers(
        responses,
        default_field="blobs.technical.gpu",
        none_found="no hourly GPU flavor in the catalog",
        all_failed="no GPU flavor has an integer consumption price: layout changed",
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
    # The default FR catalog prices in EUR (locale.currencyCode). Another subsidiary's
    # currency (GBP, CAD ...) is covered too: the ECB files carry every reference rate, and
    # one non-USD currency declared is what makes a live run fetch them.
    currencies=("EUR",),
    settings=(
        Setting(
            ENV_SUBSIDIARY,
            help=f"OVHcloud subsidiary whose catalog (and currency) to read; default {DEFAULT_SUBSIDIARY}",
        ),
    ),
    notes="EUR (FR subsidiary); prices in 1e-8 units; one 'global' row per flavor.",
)
