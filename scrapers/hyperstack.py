"""Hyperstack (NexGen Cloud): GPU VM flavors priced from the pricebook.

Sources (both with the account's key in the `api_key` header; a missing
`HYPERSTACK_API_KEY` skips the provider; no paging):

- `GET https://infrahub-api.nexgencloud.com/v1/core/flavors`: `{"status", "message",
  "data": [{gpu, region_name, flavors: [{id, name, region_name, cpu, ram (GB), disk,
  gpu, gpu_count, stock_available, ...}]}]}` — what can be launched where.
- `GET https://infrahub-api.nexgencloud.com/v1/pricebook`: a bare JSON array (Hyperstack's
  documented exception to its envelope) of `{id, name, value, original_value,
  discount_applied, start_time, end_time}`, the hourly price of each resource; GPU entries
  are named like the flavors' `gpu` field and priced per GPU.

Output: one on-demand offer per (GPU flavor, region) at `value(gpu) x gpu_count` USD per
hour: Hyperstack bills GPU VMs per GPU-hour with the flavor's vCPUs and RAM included.
`stock_available` goes to `extra`. The response kind is read from the content (array =
pricebook, object with `data` = flavors, HTML = the pricing page below); a flavors list alone
carries no price and fails with a message asking for the pricebook, a pricebook alone gives
no offer either.

Third response kind: the public pricing page `https://www.hyperstack.cloud/gpu-pricing`
(HTML, no key). Two layouts are recorded: a sortable `<table>` (2024: "GPU Model", "VRAM
(GB)", "Max pCPUs per GPU", "Max RAM (GB) per GPU", "Pricing Per Hour" "$ 0.30 Per Hour",
"Reservation Pricing" "Starts from $0.18/hour") and price cards (2025: `div.page-price_card`
whose `page-price_card_head_item` headings and `page-price_card_row_item_col` cells form
the same table; one card per pricing: on-demand "Pricing Per Hour", reservation "Starting
from" / "Reserve", spot "Spot VM"). Every table whose first heading is "GPU Model" is read;
one of another kind (CPU, storage) is not. Prices are per GPU-hour: one 1-GPU offer per
(GPU, on-demand or spot price), the per-GPU maximum vCPUs/RAM as its size; the instance type
is the page's GPU name ("NVIDIA H100 SXM"), region `global`. The reservation price is "from"
a rate whose term the page does not state: no reserved offer, it goes to `extra` of the
on-demand offer of the same GPU. An unknown heading in a "GPU Model" table, or no on-demand
table, is a layout change; a row with an unreadable price is skipped with a hint.
`fetch` still reads the API only (with the key); the page kind serves recorded captures
(`scrape parse`, the example archive).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
    RowError,
    Setting,
)

NAME = "hyperstack"
DEFAULT_BASE_URL = "https://infrahub-api.nexgencloud.com/v1"
FLAVORS_PATH = "core/flavors"
PRICEBOOK_PATH = "pricebook"
API_KEY_SETTING = "HYPERSTACK_API_KEY"
PAGE_URL = "https://www.hyperstack.cloud/gpu-pricing"
PAGE_REGION = "global"  # the page names no region
PAGE_NAME_COLUMN = "GPU Model"
# Page column heading -> what it holds; a price column names its pricing model.
PAGE_COLUMNS = {
    "VRAM (GB)": "vram_gb",
    "Max pCPUs per GPU": "vcpus",
    "Max RAM (GB) per GPU": "ram_gb",
    "Pricing Per Hour": "on_demand",
    "Spot VM": "spot",
    "Reservation Pricing": "reservation",
    "Starting from": "reservation",
    "Reserve": "reserve_link",
}
PAGE_PRICE_MODELS = ("on_demand", "spot")
PAGE_PRICE_RE = re.compile(
    r"^(?:starts? from|starting from)?\s*\$\s*(\d+(?:\.\d+)?)\s*(?:per hour|/\s*hour)?$",
    re.IGNORECASE,
)


async def fetch(ctx: FetchContext) -> list[Response]:
    # Required in the declaration below: the run skips the provider before fetch without it.
    key = ctx.settings[API_KEY_SETTING]
    headers = {"api_key": key, "Accept": "application/json"}
    return [
        await ctx.client.get(
            ctx.url(path), provider=NAME, kind=kind, headers=headers, secrets=[key]
        )
        for path, kind in ((FLAVORS_PATH, "flavors"), (PRICEBOOK_PATH, "pricebook"))
    ]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    prices: dict[str, Decimal] = {}
    groups: list[tuple[Response, list[Any]]] = []
    for resp in tk.fresh(responses):
        if tk.is_html(resp):  # the public pricing page
            _page(resp, result, rows)
            continue
        doc = tk.load_json(resp, NAME, expect=(dict, list), exact=True)
        if isinstance(doc, list):  # the pricebook
            for entry in doc:
                if not isinstance(entry, dict) or "name" not in entry:
                    raise ParseError(
                        NAME, resp.url, "entry without a name", field="pricebook[].name"
                    )
                value = tk.to_decimal(entry.get("value"))
                if value is not None:
                    prices[str(entry["name"])] = value
        elif isinstance(doc, dict) and isinstance(doc.get("data"), list):
            if doc.get("status") is False:
                raise ParseError(
                    NAME, resp.url, f"API error: {doc.get('message')!r}", field="status"
                )
            groups.append((resp, doc["data"]))
        else:
            raise ParseError(
                NAME, resp.url, "neither a pricebook array nor a flavors 'data' list", field="body"
            )
    if groups and not prices:
        raise ParseError(
            NAME,
            groups[0][0].url,
            "flavors carry no prices: parse them together with the /pricebook response",
            field="pricebook",
        )
    for resp, data in groups:
        for group in data:
            if not isinstance(group, dict) or not isinstance(group.get("flavors"), list):
                raise ParseError(
                    NAME, resp.url, "group without a flavors list", field="data[].flavors"
                )
            for flavor in group["flavors"]:
                if not isinstance(flavor, dict) or not flavor.get("name"):
                    raise ParseError(
                        NAME, resp.url, "flavor without a name", field="flavors[].name"
                    )
                if not tk.to_decimal(flavor.get("gpu_count")):
                    continue  # CPU-only flavor
                rows.found()
                try:
                    result.offers.append(_offer(resp, flavor, group, prices))
                except RowError as exc:
                    rows.skip(resp.url, f"flavor {flavor['name']}", exc)
    rows.require_offers(
        responses,
        default_field="data[].flavors[].gpu_count",
        none_found="no GPU flavor (a flavors response is needed besides the pricebook)",
        all_failed="every GPU flavor (or pricing-page row) failed to parse",
    )
    return result


def _page_tables(resp: Response) -> list[tuple[list[str], list[list[str]]]]:
    """(column headings, rows of cell texts) of every "GPU Model" table, in page order."""
    tree = LexborHTMLParser(resp.read().decode("utf-8", errors="replace"))
    tables = [
        (
            [tk.page_text(th) for th in t.css("thead th")],
            [[tk.page_text(td) for td in tr.css("td")] for tr in t.css("tbody tr")],
        )
        for t in tree.css("table")
    ] + [
        (
            [tk.page_text(h) for h in card.css("div.page-price_card_head_item")],
            [
                [tk.page_text(c) for c in row.css("div.page-price_card_row_item_col")]
                for row in card.css("div.page-price_card_row_item")
            ],
        )
        for card in tree.css("div.page-price_card_main")
    ]
    gpu_tables = [(head, body) for head, body in tables if head[:1] == [PAGE_NAME_COLUMN]]
    for head, _ in gpu_tables:
        unknown = [h for h in head[1:] if h not in PAGE_COLUMNS]
        if unknown:
            raise ParseError(
                NAME,
                resp.url,
                f"unknown price table columns {unknown!r} in {head!r}",
                field="columns",
            )
    if not any("on_demand" in map(PAGE_COLUMNS.get, head) for head, _ in gpu_tables):
        raise ParseError(
            NAME,
            resp.url,
            f"no {PAGE_NAME_COLUMN!r} table with a 'Pricing Per Hour' column (not the pricing page?)",
            field="table",
        )
    return gpu_tables


def _page_price(text: str, field: str) -> Decimal:
    m = PAGE_PRICE_RE.match(text)
    if m is None:
        raise RowError(
            f"price {text!r} is not '$X', '$ X per Hour' or 'Starts from $X/hour'", field
        )
    return tk.require_decimal(m.group(1), field)


def _page(resp: Response, result: ParseResult, rows: tk.Rows) -> None:
    src = tk.source(resp)
    tables = _page_tables(resp)
    # Reservation rates first: they go to extra of the on-demand offer of the same GPU.
    reserved: dict[str, float] = {}
    for head, body in tables:
        for cells in body:
            by = dict(zip(map(PAGE_COLUMNS.get, head[1:]), cells[1:], strict=False))
            if cells and by.get("reservation"):
                try:
                    reserved[cells[0]] = float(_page_price(by["reservation"], "reservation"))
                except RowError:
                    pass  # a broken reservation cell only loses that extra, not the offer
    for head, body in tables:
        columns = [PAGE_COLUMNS[h] for h in head[1:]]
        for i, cells in enumerate(body):
            by = dict(zip(columns, cells[1:], strict=False))
            models = [m for m in PAGE_PRICE_MODELS if m in columns]
            if not models:
                continue  # the reservation card: read above
            label = cells[0] if cells and cells[0] else f"row {i + 1}"
            for model in models:
                rows.found()
                with rows.guard(resp.url, label):
                    if not cells or not cells[0]:
                        raise RowError("no GPU name", PAGE_NAME_COLUMN)
                    if not by.get(model):
                        raise RowError("no price cell", model)
                    text = by[model]
                    price = _page_price(text, model)
                    extra: dict[str, Any] = {"price_text": text}
                    if model == "on_demand" and cells[0] in reserved:
                        extra["reservation_price_per_gpu_hour_from"] = reserved[cells[0]]
                    result.offers.append(
                        src.offer(
                            instance_type=cells[0],
                            region=PAGE_REGION,
                            pricing_model=model,
                            currency="USD",  # the page prices in "$"
                            price_per_hour=float(price),
                            gpu_count=1.0,
                            gpu_name_raw=cells[0],
                            gpu_memory_gb=tk.to_float(by.get("vram_gb")),
                            # "Max ... per GPU": the 1-GPU flavor's size.
                            vcpus=tk.to_float(by.get("vcpus")),
                            memory_gb=tk.to_float(by.get("ram_gb")),
                            price_unit_published="gpu_hour",
                            extra=extra,
                        )
                    )


def _offer(
    resp: Response, flavor: dict[str, Any], group: dict[str, Any], prices: dict[str, Decimal]
) -> Offer:
    gpus = tk.require_decimal(flavor.get("gpu_count"), "gpu_count")
    gpu = flavor.get("gpu") or group.get("gpu")
    if not gpu:
        raise RowError("GPU flavor without a gpu name", "gpu")
    if gpu not in prices:
        raise RowError(f"GPU {gpu!r} has no pricebook entry", "pricebook")
    per_gpu = prices[gpu]
    if per_gpu <= 0:
        raise RowError(f"pricebook value {per_gpu} for {gpu!r} is not positive", "pricebook")
    region = flavor.get("region_name") or group.get("region_name")
    if not region:
        raise RowError("flavor without a region", "region_name")
    return tk.offer(
        resp,
        instance_type=str(flavor["name"]),
        region=str(region),
        pricing_model="on_demand",
        currency="USD",  # Hyperstack bills in USD
        price_per_hour=float(per_gpu * gpus),
        gpu_count=float(gpus),
        gpu_name_raw=str(gpu),
        vcpus=tk.to_float(flavor.get("cpu")),
        memory_gb=tk.to_float(flavor.get("ram")),
        price_unit_published="gpu_hour",
        extra={
            "price_per_gpu_hour": float(per_gpu),
            "stock_available": flavor.get("stock_available"),
            "disk_gb": tk.to_float(flavor.get("disk")),
            "ephemeral_gb": tk.to_float(flavor.get("ephemeral")),
        },
    )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Hyperstack",
    source_urls=(
        "https://infrahub-api.nexgencloud.com/v1/core/flavors",
        "https://infrahub-api.nexgencloud.com/v1/pricebook",
        PAGE_URL,
    ),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded responses: gpu-pricing_wayback-20240822101707_excerpt.html and "
        "gpu-pricing_wayback-20250724001416_excerpt.html (the pricing page, 2024-08-22 and "
        "2025-07-24; Internet Archive captures as excerpted in henryzhangpku/gpu-price-index "
        "tests/fixtures/backfill/hyperstack_*.html @ c4ae7ff9); the flavors and pricebook API "
        "bodies themselves are still unrecorded (documented schema only)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(
            API_KEY_SETTING,
            secret=True,
            required=True,
            help="Hyperstack API key: https://console.hyperstack.cloud/api-keys; sent as api_key",
        ),
    ),
    pricing_page_url="https://www.hyperstack.cloud/gpu-pricing",
    notes=(
        "Price = pricebook per-GPU value x flavor gpu_count. Shapes: Hyperstack API reference "
        "(https://docs.hyperstack.cloud/docs/api-reference/list-flavors, .../get-pricebook); "
        "no live API recording found. The pricing page (per-GPU on-demand and spot) is parsed "
        "from recorded captures."
    ),
)
