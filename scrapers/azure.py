"""Azure: GPU VM prices from the public Retail Prices API (no credentials).

Source: `GET https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview
&meterRegion='primary'&$filter=serviceName eq 'Virtual Machines' and
contains(armSkuName,'Standard_N<family>')`, one paged walk per GPU family prefix
(NC, ND, NV, NG), following `NextPageLink`.
Output: Linux on-demand, spot, reserved (1 and 3 years) and savings-plan offers for every
VM size in scrapers/data/azure_vm_sizes.csv, in every region the API lists.

Quirks handled here:
- A reservation row says `unitOfMeasure: "1 Hour"` but `unitPrice` is the price of the
  whole term (e.g. 18689 for one year of a D64ds v5): divide by the hours in the term.
- Windows rows are the same meter with "Windows" at the end of `productName`: skipped.
- "Low Priority" is Azure's older evictable tier (Batch/VMSS). It is priced and evicted
  like spot, so it is published as `pricing_model = spot` with `term = "low_priority"`:
  distinct offer keys, one pricing model for users comparing evictable capacity.
- `DevTestConsumption` rows are a subscription-type discount, not a public price: skipped.
- The API has been seen returning an empty `NextPageLink` on a full page (Microsoft Q&A
  1188465, 2023-03-10); we then page on with `$skip` ourselves.
- `NextPageLink` is absolute (`https://prices.azure.com:443/...`): only its path and query
  are kept, so a configured mirror or local server receives the follow-up pages too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from urllib.parse import parse_qsl, urlencode, urlsplit

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
)

NAME = "azure"
DEFAULT_BASE_URL = "https://prices.azure.com"
PRICES_PATH = "/api/retail/prices"
API_VERSION = "2023-01-01-preview"  # the version that also returns savingsPlan rates
FAMILY_PREFIXES = ("Standard_NC", "Standard_ND", "Standard_NV", "Standard_NG")
PAGE_SIZE = 100  # the API's page size; a full page with no NextPageLink means "more"
MAX_PAGES = 2000  # a loop guard: the whole VM catalog is ~150 pages of 1000
TERM_YEARS = {"1 Year": 1, "3 Years": 3}
REQUIRED_ITEM_FIELDS = (
    "armSkuName",
    "armRegionName",
    "unitPrice",
    "type",
    "currencyCode",
    "productName",
    "meterName",
    "unitOfMeasure",
)


def vm_sizes() -> dict[str, dict[str, str]]:
    """The maintained VM size -> GPU table (scrapers/data/azure_vm_sizes.csv)."""
    return tk.table_by("azure_vm_sizes.csv", "arm_sku_name")


def _is_gpu_family(sku: str) -> bool:
    return sku.startswith(FAMILY_PREFIXES)


# --- fetch ------------------------------------------------------------------------------


def _first_url(ctx: FetchContext, prefix: str) -> str:
    query = {
        "api-version": API_VERSION,
        "meterRegion": "'primary'",
        "$filter": f"serviceName eq 'Virtual Machines' and contains(armSkuName,'{prefix}')",
    }
    return ctx.url(PRICES_PATH) + "?" + urlencode(query)


def _next_url(ctx: FetchContext, current: str, doc: dict) -> str | None:
    link = doc.get("NextPageLink")
    items = doc.get("Items") or []
    if link:
        parts = urlsplit(link)
        return ctx.url(parts.path) + ("?" + parts.query if parts.query else "")
    if len(items) >= PAGE_SIZE:  # empty link on a full page: page on ourselves
        parts = urlsplit(current)
        q = dict(parse_qsl(parts.query, keep_blank_values=True))
        q["$skip"] = str(int(q.get("$skip", "0")) + len(items))
        return ctx.url(parts.path) + "?" + urlencode(q)
    return None


async def fetch(ctx: FetchContext) -> list[Response]:
    import asyncio

    async def walk(prefix: str) -> list[Response]:
        out: list[Response] = []
        url: str | None = _first_url(ctx, prefix)
        seen: set[str] = set()
        while url and len(out) < MAX_PAGES:
            if url in seen:
                raise ParseError(
                    NAME,
                    url,
                    "NextPageLink loops back to a page already fetched",
                    field="NextPageLink",
                )
            seen.add(url)
            resp = await ctx.client.get(url, provider=NAME, kind="retail-prices-page")
            out.append(resp)
            url = _next_url(ctx, url, tk.load_json(resp, NAME))
        return out

    pages = await asyncio.gather(*(walk(p) for p in FAMILY_PREFIXES))
    return [r for group in pages for r in group]


# --- parse ------------------------------------------------------------------------------


def _pricing(item: dict) -> tuple[str, str | None] | None:
    """(pricing_model, term) of an item, or None when it is not a public Linux VM price."""
    # Windows products end "Windows", or "Win" in shortened names ("Virtual Machines NCCadsv5
    # Srs Win", seen in the Retail Prices API dumps of azure-pricing-radar, 2026-08).
    if item.get("productName", "").endswith(("Windows", " Win")):
        return None
    kind = item.get("type")
    names = f"{item.get('meterName', '')} {item.get('skuName', '')}"
    if kind == "Consumption":
        if "Low Priority" in names:
            return "spot", "low_priority"
        if "Spot" in names:
            return "spot", None
        return "on_demand", None
    if kind == "Reservation":
        years = TERM_YEARS.get(item.get("reservationTerm") or "")
        if years is None:
            return None
        return ("reserved_1y" if years == 1 else "reserved_3y"), "reservation"
    return None  # DevTestConsumption and future types


def _effective(item: dict, at: datetime) -> bool:
    end = item.get("effectiveEndDate")
    if not end:
        return True
    try:
        return datetime.fromisoformat(end.replace("Z", "+00:00")) > at
    except ValueError:
        return True


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    sizes = vm_sizes()
    chosen: dict[tuple, tuple[str, Offer]] = {}
    for resp in responses:
        doc = tk.load_json(resp, NAME, keys={"Items": list})
        src = tk.source(resp)
        for n, item in enumerate(doc["Items"]):
            sku = item.get("armSkuName") or ""
            if item.get("serviceName") not in (None, "Virtual Machines") or not _is_gpu_family(sku):
                continue
            missing = [f for f in REQUIRED_ITEM_FIELDS if f not in item]
            if missing:
                raise ParseError(
                    NAME, resp.url, f"item {n} ({sku}) lacks {missing}", field=missing[0]
                )
            if item["unitOfMeasure"] != "1 Hour":
                rows.skip(
                    resp.url,
                    f"{sku} item {n}",
                    f"unit {item['unitOfMeasure']!r}",
                    field="unitOfMeasure",
                )
                continue
            if float(item.get("tierMinimumUnits") or 0) > 0:
                continue  # tiered volume rate, not the list price
            if not _effective(item, resp.fetched_at):
                continue
            pm = _pricing(item)
            if pm is None:
                continue
            size = sizes.get(sku)
            if size is None:
                result.unknown.append(f"azure VM size {sku} (not in azure_vm_sizes.csv)")
                continue
            pricing_model, term = pm
            try:
                unit_price = Decimal(str(item["unitPrice"]))
            except ArithmeticError:
                raise ParseError(
                    NAME,
                    resp.url,
                    f"{sku}: unparseable unitPrice {item['unitPrice']!r}",
                    field="unitPrice",
                ) from None
            extra = {
                "meterId": item.get("meterId"),
                "productName": item.get("productName"),
                "effectiveStartDate": item.get("effectiveStartDate"),
            }
            upfront = None
            unit = "hour"
            if pricing_model.startswith("reserved"):
                years = TERM_YEARS[item["reservationTerm"]]
                upfront = unit_price
                # Azure bills reservations per 365-day year.
                hourly = unit_price / (tk.HOURS_PER_YEAR * years)
                unit = "term"
                extra["term_price"] = str(unit_price)
                extra["term_years"] = years
            else:
                hourly = unit_price
            offers = [(pricing_model, term, hourly, unit, upfront, extra)]
            # Savings plans (preview API) ride on the pay-as-you-go row as hourly rates.
            if pricing_model == "on_demand":
                for sp in item.get("savingsPlan") or []:
                    years = TERM_YEARS.get(sp.get("term") or "")
                    if years is None or "unitPrice" not in sp:
                        continue
                    offers.append(
                        (
                            "reserved_1y" if years == 1 else "reserved_3y",
                            "savings_plan",
                            Decimal(str(sp["unitPrice"])),
                            "hour",
                            None,
                            {**extra, "savings_plan_term": sp["term"]},
                        )
                    )
            for pmodel, pterm, price, punit, pup, pextra in offers:
                offer = src.offer(
                    instance_type=sku,
                    region=item["armRegionName"],
                    pricing_model=pmodel,
                    term=pterm,
                    currency=item["currencyCode"],
                    price_per_hour=float(price),
                    price_unit_published=punit,
                    upfront_fee=float(pup) if pup is not None else None,
                    gpu_count=float(Fraction(size["gpu_count"])),  # "1/6": partitioned GPU
                    gpu_name_raw=size["gpu_name_raw"],
                    gpu_model_hint=size["gpu_model_hint"] or None,
                    gpu_memory_gb=float(size["gpu_memory_gb"]) if size["gpu_memory_gb"] else None,
                    vcpus=float(size["vcpus"]) if size["vcpus"] else None,
                    memory_gb=float(size["memory_gb"]) if size["memory_gb"] else None,
                    extra=pextra,
                )
                key = (sku, offer.region, pmodel, pterm)
                start = item.get("effectiveStartDate") or ""
                prev = chosen.get(key)
                # The same meter can appear twice (e.g. a price with a newer effective
                # date): keep the latest, so one offer has one price.
                if prev is None or start > prev[0]:
                    if prev is not None:
                        result.warnings.append(
                            f"{sku} {offer.region} {pmodel}: superseded row dropped"
                        )
                    chosen[key] = (start, offer)
    result.offers = [o for _, o in chosen.values()]
    return result


PROVIDER = ProviderSpec(
    name=NAME,
    title="Microsoft Azure",
    pricing_page_url="https://azure.microsoft.com/en-us/pricing/details/virtual-machines/linux/",
    source_urls=(DEFAULT_BASE_URL + PRICES_PATH,),
    pricing_models=("on_demand", "spot", "reserved_1y", "reserved_3y"),
    validated_against=(
        "recorded responses: Retail Prices API pages 2022-06-06 and 2026 (non-GPU rows; "
        "GPU rows follow the same layout, see tests/fixtures/azure/README.md)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    default_cadence="15 4 * * *",
)
