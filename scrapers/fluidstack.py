"""FluidStack: per-GPU hourly on-demand and 1-year prices from the public pricing page.

Source: `GET https://www.fluidstack.io/pricing` (HTML, no auth, parsed with
selectolax/lexbor). The GPU prices are the `table.pricing_table` under the heading "On demand
GPU pricing": a header row (Model, VRAM (GB), Max vCPUs per GPU, Max RAM (GB) per GPU,
On-Demand Price (/hr), 1 Year price (/hr)) and one row per GPU whose name is the row's `th`
("Nvidia H100 PCIe"). A price cell is "$2.89" or "n/a" (not sold on that term).

Output: one offer per (GPU row, priced column), priced per GPU-hour as the page states it:
vCPUs and RAM are given "per GPU" and a machine takes several GPUs at that rate, so the offer
is the 1-GPU share (gpu_count 1, `price_unit_published` "gpu_hour", price scope "instance").
The 1-year column is `reserved_1y`. The page names no region: "global". Columns
are found by their header text, so a reordered table still parses; a missing Model or price
column, or no such table, is a layout change and fails the provider. A row without a name, or
with a price cell that is neither "$X" nor "n/a", is skipped with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
    RowError,
)

NAME = "fluidstack"
DEFAULT_BASE_URL = "https://www.fluidstack.io"
PRICING_PATH = "pricing"
REGION = "global"  # the page names no region
TABLE = "table.pricing_table"
MODEL_COLUMN = "Model"
# Header text on the page -> pricing model.
PRICE_COLUMNS = {
    "On-Demand Price (/hr)": "on_demand",
    "1 Year price (/hr)": "reserved_1y",
}
# Header text -> Offer field, read when present (not needed for a price).
SPEC_COLUMNS = {
    "VRAM (GB)": "gpu_memory_gb",
    "Max vCPUs per GPU": "vcpus",
    "Max RAM (GB) per GPU": "memory_gb",
}
NOT_SOLD = "n/a"
PRICE_RE = re.compile(r"^\$\s*(\d+(?:\.\d+)?)$")


async def fetch(ctx: FetchContext) -> list[Response]:
    return await tk.fetch_page(ctx, PRICING_PATH, NAME)


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        tree = LexborHTMLParser(resp.read().decode("utf-8", errors="replace"))
        table = tree.css_first(TABLE)
        if table is None:
            raise ParseError(NAME, resp.url, f"no {TABLE} on the page", field="pricing_table")
        columns = _columns(resp, table)
        src = tk.source(resp)
        for i, tr in enumerate(table.css("tbody tr")):
            cells = tr.css("th, td")
            label = tk.page_text(cells[0]) if cells else ""
            rows.found()
            with rows.guard(resp.url, label or f"row {i}"):
                result.offers.extend(_offers(src, label, [tk.page_text(c) for c in cells], columns))
    rows.require_offers(
        responses,
        default_field="pricing_table",
        none_found="no GPU row with a price in the pricing table",
        all_failed="every pricing-table row failed to parse",
    )
    return result


def _columns(resp: Response, table: LexborNode) -> dict[str, int]:
    header = [tk.page_text(th) for th in table.css("thead th")]
    if not header or header[0] != MODEL_COLUMN or not set(PRICE_COLUMNS) & set(header):
        raise ParseError(
            NAME,
            resp.url,
            f"table header {header!r} lacks {MODEL_COLUMN!r} or a price column "
            f"({', '.join(PRICE_COLUMNS)})",
            field="thead",
        )
    return {name: i for i, name in enumerate(header)}


def _offers(src: tk.Source, label: str, cells: list[str], columns: dict[str, int]) -> list[Offer]:
    if not label:
        raise RowError("no GPU name", MODEL_COLUMN)
    specs: dict[str, float | None] = {}
    for header, fld in SPEC_COLUMNS.items():
        i = columns.get(header)
        specs[fld] = tk.to_float(cells[i]) if i is not None and i < len(cells) else None
    offers = []
    for header, model in PRICE_COLUMNS.items():
        i = columns.get(header)
        if i is None:
            continue
        if i >= len(cells):
            raise RowError(f"no cell for {header!r}", header)
        text = cells[i]
        if text.lower() == NOT_SOLD:
            continue
        m = PRICE_RE.match(text)
        if m is None:
            raise RowError(f"price {text!r} is not '$X' or {NOT_SOLD!r}", header)
        price: Decimal = tk.require_decimal(m.group(1), header)
        offers.append(
            src.offer(
                instance_type=label,
                region=REGION,
                pricing_model=model,
                currency="USD",  # the page prices in "$" only
                price_per_hour=float(price),
                gpu_count=1.0,
                gpu_name_raw=label,
                price_unit_published="gpu_hour",
                **specs,
            )
        )
    return offers


PROVIDER = ProviderSpec(
    name=NAME,
    title="FluidStack",
    source_urls=("https://www.fluidstack.io/pricing",),
    pricing_models=("on_demand", "reserved_1y"),
    validated_against=(
        "recorded response: pricing_wayback-20250109013724_excerpt.html (2025-01-09; Internet "
        "Archive capture 20250109013724 of the pricing page, its pricing table as excerpted in "
        "henryzhangpku/gpu-price-index tests/fixtures/backfill/fluidstack_20250109013724.html "
        "@ c4ae7ff9)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    pricing_page_url="https://www.fluidstack.io/pricing",
    notes="Per-GPU prices of the pricing page: one 1-GPU offer per (GPU, on-demand/1-year).",
)
