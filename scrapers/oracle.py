"""Oracle Cloud Infrastructure (OCI): GPU shapes priced from the public cost-estimator API.

Source: `GET https://apexapps.oracle.com/pls/apex/cetools/api/v1/products?currencyCode=USD`
(public, no key): every OCI product with `partNumber`, `displayName`, `metricName` and
`currencyCodeLocalizations[{currencyCode, prices[{model: "PAY_AS_YOU_GO", value}]}]`. GPU
products ("Compute - GPU - A100 - v2" ...) are priced per GPU-hour (`metricName: "GPU Per
Hour"`); the API does not say which shapes a product prices or how many GPUs a shape has.

Output: one on-demand offer per GPU shape in `scrapers/data/oracle_gpu_shapes.csv`
(shape -> part number, GPU count and model, each row with its source), priced at
per-GPU-hour price x GPU count, `price_unit_published = "gpu_hour"`, region `global` (OCI
list prices are the same in every commercial region). VM shapes also get a spot offer at
50% of on-demand: OCI's documented preemptible price (there is no preemptible price in the
API), marked `extra["derived"] = True`. A "GPU Per Hour" product no shape row maps is kept
as a one-GPU offer named by its part number and reported in `unknown`, so a new GPU shows up
in the data before the table learns it.

The API answers with every product in one body (the recorded response has no paging
envelope). Should it ever page ORDS-style (`hasMore` + a `links` entry with `rel: "next"`),
fetch follows the next links.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import cache
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

NAME = "oracle"
DEFAULT_BASE_URL = "https://apexapps.oracle.com/pls/apex/cetools/api/v1"
PRODUCTS_PATH = "products"
CURRENCY = "USD"
MAX_PAGES = 20
GPU_METRIC = "GPU Per Hour"
PAY_AS_YOU_GO = "PAY_AS_YOU_GO"
REGION = "global"
# "Preemptible instances are priced at 50% of the price of regular instances" (OCI compute
# pricing notes); "Always 50% off your on-demand instance rates":
PREEMPTIBLE_PRICE_FRACTION = Decimal("0.5")
PREEMPTIBLE_SOURCE = "https://blogs.oracle.com/cloud-infrastructure/announcing-ga-of-oracle-preemptible-instances-vm-shapes"
SHAPE_TABLE = "oracle_gpu_shapes.csv"


@cache
def shapes_by_part() -> dict[str, list[dict[str, str]]]:
    table: dict[str, list[dict[str, str]]] = {}
    for row in tk.table(SHAPE_TABLE):
        table.setdefault(row["part_number"], []).append(row)
    return table


async def fetch(ctx: FetchContext) -> list[Response]:
    url: str | None = ctx.url(PRODUCTS_PATH)
    params: dict[str, str] | None = {"currencyCode": CURRENCY}
    out: list[Response] = []
    for _ in range(MAX_PAGES):
        if url is None:
            return out
        resp = await ctx.client.get(url, provider=NAME, kind="products", params=params)
        out.append(resp)
        # A next link already carries its query string.
        url, params = _next_link(resp), None
    if url is not None:
        raise ProviderError(
            NAME, out[-1].url, f"still paging after {MAX_PAGES} pages", field="links"
        )
    return out


def _next_link(resp: Response) -> str | None:
    doc = tk.peek_json(resp)  # parse reports a broken body
    if not isinstance(doc, dict) or not doc.get("hasMore"):
        return None
    for link in doc.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return str(link["href"])
    return None


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    seen_parts: set[str] = set()
    for resp in tk.fresh(responses):
        src = tk.source(resp)
        for item in tk.load_json(resp, NAME, keys={"items": list}, exact=True)["items"]:
            if not isinstance(item, dict) or "partNumber" not in item or "metricName" not in item:
                raise ParseError(
                    NAME,
                    resp.url,
                    "product without partNumber/metricName",
                    field="items[].metricName",
                )
            if item["metricName"] != GPU_METRIC:
                continue
            rows.found()
            seen_parts.add(str(item["partNumber"]))
            with rows.guard(resp.url, f"product {item['partNumber']}"):
                result.offers.extend(_offers(src, item, result))
    rows.require_offers(
        responses,
        default_field="metricName",
        none_found=f"no product with metricName {GPU_METRIC!r}",
        all_failed="every GPU product failed to parse",
    )
    for part in sorted(set(shapes_by_part()) - seen_parts):
        shapes = ", ".join(r["shape"] for r in shapes_by_part()[part])
        result.warnings.append(
            f"{NAME}: part {part} ({shapes}) is in {SHAPE_TABLE} but not in the price list"
        )
    return result


def _price(item: dict[str, Any]) -> tuple[str, Decimal]:
    locs = item.get("currencyCodeLocalizations")
    if not isinstance(locs, list) or not locs:
        raise RowError("no currencyCodeLocalizations", "currencyCodeLocalizations")
    loc = next(
        (c for c in locs if isinstance(c, dict) and c.get("currencyCode") == CURRENCY), locs[0]
    )
    prices = [
        p
        for p in loc.get("prices") or []
        if isinstance(p, dict) and p.get("model") == PAY_AS_YOU_GO
    ]
    if not prices:
        raise RowError(f"no {PAY_AS_YOU_GO} price", "currencyCodeLocalizations[].prices[].model")
    value = tk.require_decimal(prices[0].get("value"), "currencyCodeLocalizations[].prices[].value")
    return str(loc.get("currencyCode") or CURRENCY), value


def _offers(src: tk.Source, item: dict[str, Any], result: ParseResult) -> list[Offer]:
    currency, per_gpu_hour = _price(item)
    part = str(item["partNumber"])
    product = " ".join(str(item.get("displayName", "")).split())  # the API has double spaces
    base_extra = {
        "part_number": part,
        "product": product,
        "price_per_gpu_hour": float(per_gpu_hour),
        "service_category": item.get("serviceCategory"),
    }
    rows = shapes_by_part().get(part)
    common = dict(region=REGION, currency=currency, price_unit_published="gpu_hour")
    if not rows:
        result.unknown.append(
            f"{NAME}: GPU product {part} {product!r} has no shape in {SHAPE_TABLE}"
        )
        return [
            src.offer(
                instance_type=part,
                pricing_model="on_demand",
                price_per_hour=float(per_gpu_hour),
                gpu_count=1.0,
                gpu_name_raw=product,
                extra={**base_extra, "per_gpu_product": True},
                **common,
            )
        ]
    offers = []
    for row in rows:
        gpu_count = Decimal(row["gpu_count"])
        on_demand = per_gpu_hour * gpu_count
        spec = dict(
            instance_type=row["shape"],
            gpu_count=float(gpu_count),
            gpu_name_raw=row["gpu_name"],
            gpu_model_hint=row["gpu_model_hint"],
            gpu_memory_gb=float(row["gpu_memory_gb"]),
            vcpus=float(row["vcpus"]),
            memory_gb=float(row["memory_gb"]),
        )
        offers.append(
            src.offer(
                pricing_model="on_demand",
                price_per_hour=float(on_demand),
                extra=dict(base_extra),
                **spec,
                **common,
            )
        )
        if row["preemptible_supported"] == "true":
            offers.append(
                src.offer(
                    pricing_model="spot",
                    price_per_hour=float(on_demand * PREEMPTIBLE_PRICE_FRACTION),
                    extra={
                        **base_extra,
                        "derived": True,
                        "derivation": f"{PREEMPTIBLE_PRICE_FRACTION} x on-demand (preemptible capacity)",
                        "derivation_source": PREEMPTIBLE_SOURCE,
                    },
                    **spec,
                    **common,
                )
            )
    return offers


PROVIDER = ProviderSpec(
    name=NAME,
    title="Oracle Cloud Infrastructure",
    pricing_page_url="https://www.oracle.com/cloud/price-list/",
    source_urls=("https://apexapps.oracle.com/pls/apex/cetools/api/v1/products?currencyCode=USD",),
    pricing_models=("on_demand", "spot"),
    validated_against="recorded response: oracle-cetools-products_currencyCode-USD_2024-01.json (2024-01-19)",
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    notes=(
        "Per-GPU-hour prices x GPU count from scrapers/data/oracle_gpu_shapes.csv; spot = documented "
        "50% preemptible price for VM shapes (derived, not published by the API)."
    ),
)
