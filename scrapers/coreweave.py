"""CoreWeave: whole-instance hourly on-demand and spot prices from the public pricing page.

Source: `GET https://www.coreweave.com/pricing` (HTML, no auth, parsed with
selectolax/lexbor). CoreWeave publishes no price API. Under "On-demand GPU instances" the
page has one `div.table-v2.gpu-pricing` table per region, each after an eyebrow heading
(`strong.eyebrow` "REGION: NORTH AMERICA", "REGION: EUROPE"). A table's header
(`div.table-v2-header div.table-header-text`) names the columns: GPU Model, GPU Count,
VRAM (GB), vCPUs, System RAM (GB), Local Storage (TB), On-Demand Price (Per Hour), Spot Price
(Per Hour) and, in some regions, an inference price. Each row (`div.table-row-v2`) holds one
`div.table-grid` whose direct `div.table-v2-cell` children follow the header order; the name
cell has an `h3.table-model-name` with a stable `data-product` slug ("hgx-h100").

Output: one offer per (row, region, priced column). The prices are for the whole instance
(8 x H100 at $49.24/h), so price_per_hour is the stated price, gpu_count the GPU Count cell
(a footnote marker such as "4^1" on the NVL72 rows is dropped: 4 GPUs) and the price scope
"instance". VRAM is per GPU. The instance type is the `data-product` slug; the region is
the eyebrow's region, lowercased with dashes ("north-america"). A price cell that says
"Contact sales" or "N/A" (or is empty) is no offer. The inference column (a per-GPU price of
CoreWeave's inference service, not an instance) goes to `extra`. A row without a name, a
GPU count or a parseable price is skipped with a warning; no pricing table, or a header
without GPU Model / GPU Count / a price column, is a layout change and fails the provider.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

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

NAME = "coreweave"
DEFAULT_BASE_URL = "https://www.coreweave.com"
PRICING_PATH = "pricing"
TABLE_CLASSES = ("table-v2", "gpu-pricing")
REGION_RE = re.compile(r"^REGION:\s*(.+)$", re.IGNORECASE)
NAME_COLUMN, COUNT_COLUMN = "GPU Model", "GPU Count"
PRICE_COLUMNS = {
    "On-Demand Price (Per Hour)": "on_demand",
    "Spot Price (Per Hour)": "spot",
}
INFERENCE_PREFIX = "Inference Single GPU Price"
SPEC_COLUMNS = {
    "VRAM (GB)": "gpu_memory_gb",
    "vCPUs": "vcpus",
    "System RAM (GB)": "memory_gb",
}
NO_PRICE = {"", "n/a", "contact sales"}
PRICE_RE = re.compile(r"^\$\s*(\d[\d,]*(?:\.\d+)?)$")
# "8", "1", or "4^1" (a footnote marker after the count on the NVL72 rows).
COUNT_RE = re.compile(r"^(\d+)(?:\^\d+)?$")


async def fetch(ctx: FetchContext) -> list[Response]:
    return await tk.fetch_page(ctx, PRICING_PATH, NAME)


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        tables = _tables(resp)
        if not tables:
            raise ParseError(
                NAME, resp.url, "no div.table-v2.gpu-pricing table on the page", field="table"
            )
        src = tk.source(resp)
        seen: set[tuple[str, str]] = set()
        for region, table in tables:
            columns = _columns(resp, table, region)
            for i, grid in enumerate(table.css("div.table-row-v2 div.table-grid")):
                heading = grid.css_first("h3.table-model-name")
                label = tk.page_text(heading) if heading is not None else f"{region} row {i}"
                rows.found()
                with rows.guard(resp.url, label):
                    slug = (heading.attributes.get("data-product") or "") if heading else ""
                    if (slug, region) in seen:
                        # The page lists some products twice; the first listing counts.
                        continue
                    seen.add((slug, region))
                    result.offers.extend(_offers(src, grid, heading, region, columns))
    rows.require_offers(
        responses,
        default_field="table-row-v2",
        none_found="no GPU row in the pricing tables",
        all_failed="no GPU row with a usable price (each failed or says 'Contact sales')",
    )
    return result


def _tables(resp: Response) -> list[tuple[str, LexborNode]]:
    """(region, table) in page order; the region is the last eyebrow before the table."""
    tree = LexborHTMLParser(resp.read().decode("utf-8", errors="replace"))
    region, out = "global", []
    for node in tree.root.traverse() if tree.root is not None else ():
        classes = (node.attributes.get("class") or "").split()
        if node.tag == "strong" and "eyebrow" in classes:
            m = REGION_RE.match(tk.page_text(node))
            if m:
                region = "-".join(m.group(1).lower().split())
        elif all(c in classes for c in TABLE_CLASSES):
            out.append((region, node))
    return out


def _columns(resp: Response, table: LexborNode, region: str) -> list[str]:
    header = [tk.page_text(h) for h in table.css("div.table-v2-header div.table-header-text")]
    if (
        NAME_COLUMN not in header
        or COUNT_COLUMN not in header
        or not set(PRICE_COLUMNS) & set(header)
    ):
        raise ParseError(
            NAME,
            resp.url,
            f"{region} table header {header!r} lacks {NAME_COLUMN!r}, {COUNT_COLUMN!r} or a "
            f"price column ({', '.join(PRICE_COLUMNS)})",
            field="table-header-text",
        )
    return header


def _offers(
    src: tk.Source,
    grid: LexborNode,
    heading: LexborNode | None,
    region: str,
    columns: list[str],
) -> list[Offer]:
    if heading is None or not tk.page_text(heading):
        raise RowError("no GPU model heading", "table-model-name")
    slug = heading.attributes.get("data-product") or ""
    if not slug:
        raise RowError("no data-product slug", "data-product")
    # Direct cells only: the mobile summary columns repeat the values in other markup.
    cells = [c for c in grid.iter() if "table-v2-cell" in (c.attributes.get("class") or "").split()]
    values = {col: tk.page_text(cell) for col, cell in zip(columns, cells, strict=False)}
    count_m = COUNT_RE.match(values.get(COUNT_COLUMN, ""))
    if count_m is None or int(count_m.group(1)) == 0:
        raise RowError(f"GPU count {values.get(COUNT_COLUMN)!r} is not a number", COUNT_COLUMN)
    specs = {fld: _number(values.get(col)) for col, fld in SPEC_COLUMNS.items()}
    extra: dict[str, Any] = {"local_storage_tb": _number(values.get("Local Storage (TB)"))}
    inference = next((v for c, v in values.items() if c.startswith(INFERENCE_PREFIX)), None)
    if inference and inference.lower() not in NO_PRICE:
        extra["inference_single_gpu_price_per_hour"] = inference
    offers = []
    for col, model in PRICE_COLUMNS.items():
        text = values.get(col)
        if text is None or text.lower() in NO_PRICE:
            continue
        m = PRICE_RE.match(text)
        if m is None:
            raise RowError(f"price {text!r} is not '$X'", col)
        price = tk.require_decimal(m.group(1).replace(",", ""), col)
        offers.append(
            src.offer(
                instance_type=slug,
                region=region,
                pricing_model=model,
                currency="USD",  # the page prices in "$" only
                price_per_hour=float(price),
                gpu_count=float(count_m.group(1)),
                gpu_name_raw=tk.page_text(heading),
                price_unit_published="hour",
                extra=extra,
                **specs,
            )
        )
    return offers


def _number(text: str | None) -> float | None:
    value = tk.to_decimal((text or "").replace(",", ""))
    return float(value) if isinstance(value, Decimal) else None


PROVIDER = ProviderSpec(
    name=NAME,
    title="CoreWeave",
    source_urls=("https://www.coreweave.com/pricing",),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: pricing_gpu-price-index-fixture_north-america_excerpt.html "
        "(about 2026-10; the North America on-demand table of the pricing page as recorded in "
        "ewyluda/gpu-price-index tests/fixtures/coreweave.html @ 078a7891)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    pricing_page_url="https://www.coreweave.com/pricing",
    notes="Whole-instance prices per region table; one offer per (product slug, region, model).",
)
