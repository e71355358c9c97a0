"""Nebius AI Cloud: GPU instance prices from the public pricing page.

Source: `GET https://nebius.com/prices` (HTML, no auth, parsed with selectolax/lexbor).
Nebius publishes no price API; the page is built with Gravity UI's page-constructor, and
each price table follows a section heading. Two layouts are known, both recorded:

- 2025-2026 ("highlight table"): heading `span.pc-title-item__text` "NVIDIA GPU Instances"
  (and, from autumn 2026, a second table "Preemptible NVIDIA GPU Instances"); head and body
  rows of `div.pc-highlight-table-block__cell`: "Item", "vCPUs", "RAM, GB" and price columns
  per GPU-hour: "Preemptible, GPU-hour", "On-demand, GPU-hour", "Spot price, GPU-hour*",
  "GPU-hour (Effective October 1, 2026)". Rows name the platform ("NVIDIA HGX H100",
  "NVIDIA L40S with Intel CPU"); the vCPUs/RAM are the share of one GPU.
- 2024 ("table block"): heading "GPU prices and configurations"; `div.pc-table__row` rows of
  `div.pc-table__cell`: "GPU" ("1 × H200 SXM", "8 × H200 SXM"), "vRAM, GB" (all GPUs),
  "RAM, GB", "vCPUS", "On demand" and "Reserve", priced per whole VM and hour.

Output: one offer per (row, price column), region "global" (the page names none).
Per-GPU-hour columns give a 1-GPU offer (`price_unit_published` "gpu_hour", price scope
"instance": vCPUs and RAM come with the GPU); the 2024 columns give the whole VM with its
GPU count ("hour"). "Preemptible"/"Spot price" columns are `spot`. A "from $X" price (the
L40S rows, whose vCPUs/RAM are ranges) is the smallest configuration: vCPUs and RAM take
the range's lower end, the range goes to `extra`. "Contact us" and "––" are no public price
(no offer, no warning).

Not offers, kept in `extra` of the row's offers: the 2024 "Reserve" column (an "as low as"
rate for commitments of 3 months to 3 years, per the section text; the term is not stated,
so no reserved_1y/3y offer is claimed), and an "(Effective <date>)" column announcing the
next on-demand price. Once the response was fetched on or after that date the announced
price *is* the on-demand price: the offer takes it and keeps the older column in `extra`.

A row without a name or with an unreadable price is skipped with a warning; a missing GPU
section or an unknown column heading is a layout change and fails the provider.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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

NAME = "nebius"
DEFAULT_BASE_URL = "https://nebius.com"
PRICING_PATH = "prices"
REGION = "global"  # the page names no region
GPU_SECTIONS = (
    "NVIDIA GPU Instances",
    "Preemptible NVIDIA GPU Instances",
    "GPU prices and configurations",  # the 2024 page
)
# Section headings: page-constructor titles (2025-) and the 2024 table block's title.
HEADING_CLASSES = ("pc-title-item__text", "g-text_variant_display-2")
# Table container -> its cell class: the highlight table (2025-) and the 2024 table block.
TABLES = {
    "pc-highlight-table-block__content": "pc-highlight-table-block__cell",
    "pc-table__table": "pc-table__cell",
}
ROW_CLASSES = ("pc-highlight-table-block__row", "pc-table__row")
NAME_COLUMNS = ("item", "gpu")


@dataclass(frozen=True)
class PriceColumn:
    pricing_model: str | None  # None: not an offer of its own (kept in extra)
    per_gpu: bool  # per GPU-hour (1-GPU offer) or per whole VM and hour
    extra_key: str | None = None
    effective_from: datetime | None = None


FIXED_COLUMNS: dict[str, str | PriceColumn] = {
    "vcpus": "vcpus",
    "ram, gb": "ram_gb",
    "vram, gb": "vram_gb",
    "on-demand, gpu-hour": PriceColumn("on_demand", per_gpu=True),
    "preemptible, gpu-hour": PriceColumn("spot", per_gpu=True),
    "spot price, gpu-hour*": PriceColumn("spot", per_gpu=True),
    "on demand": PriceColumn("on_demand", per_gpu=False),
    "reserve": PriceColumn(None, per_gpu=False, extra_key="reserve_price_per_hour_as_low_as"),
}
EFFECTIVE_RE = re.compile(r"^GPU-hour \(Effective ([A-Za-z]+ \d{1,2}, \d{4})\)$", re.I)
NO_PUBLIC_PRICE = {"contact us", "––", "–", "—", "-", "--", ""}
PRICE_RE = re.compile(r"^(from\s+)?\$\s*(\d+(?:\.\d+)?)\s*\**$", re.IGNORECASE)
COUNT_RE = re.compile(r"^(\d+)\s*[×x]\s*(.+)$")  # "8 × H200 SXM"
CPU_SUFFIX_RE = re.compile(r"\s+with\s+(\S+)\s+CPU$", re.IGNORECASE)  # "L40S with AMD CPU"
RANGE_RE = re.compile(r"^(\d+(?:\.\d+)?)(?:\s*[-–]\s*(\d+(?:\.\d+)?))?$")


async def fetch(ctx: FetchContext) -> list[Response]:
    return await tk.fetch_page(ctx, PRICING_PATH, NAME)


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        src = tk.source(resp)
        for columns, cells_by_row in _gpu_tables(resp):
            for i, cells in enumerate(cells_by_row):
                label = cells[0] if cells and cells[0] else f"row {i + 1}"
                rows.found()
                with rows.guard(resp.url, label):
                    result.offers.extend(_offers(src, columns, cells, resp.fetched_at))
    rows.require_offers(
        responses,
        default_field="price",
        none_found="no row in the GPU price tables",
        all_failed="no GPU row with a usable price (each failed or says 'Contact us')",
    )
    return result


def _gpu_tables(resp: Response) -> list[tuple[list[str | PriceColumn], list[list[str]]]]:
    """Each GPU price table as (column meanings, body rows of cell texts), in page order."""
    tree = LexborHTMLParser(resp.read().decode("utf-8", errors="replace"))
    heading: str | None = None
    tables = []
    for node in tree.root.traverse() if tree.root is not None else ():
        classes = (node.attributes.get("class") or "").split()
        if any(c in classes for c in HEADING_CLASSES):
            heading = tk.page_text(node)
        elif heading in GPU_SECTIONS and (cell := _cell_class(classes)) is not None:
            rows = [[tk.page_text(c) for c in row.css(f"div.{cell}")] for row in _rows(node)]
            if not rows:
                raise ParseError(NAME, resp.url, f"table {heading!r} has no rows", field="rows")
            tables.append((_columns(resp, heading, rows[0]), rows[1:]))
            heading = None  # one table per heading
    if not tables:
        raise ParseError(
            NAME,
            resp.url,
            f"no GPU price table after a section heading among {list(GPU_SECTIONS)}",
            field="section",
        )
    return tables


def _cell_class(classes: list[str]) -> str | None:
    return next((TABLES[c] for c in classes if c in TABLES), None)


def _rows(table: LexborNode) -> Iterator[LexborNode]:
    # Head row first, then the body rows (the highlight table nests them in head/body divs).
    for node in table.traverse():
        classes = (node.attributes.get("class") or "").split()
        if any(c in classes for c in ROW_CLASSES):
            yield node


def _columns(resp: Response, heading: str, head: list[str]) -> list[str | PriceColumn]:
    if not head or head[0].lower() not in NAME_COLUMNS:
        raise ParseError(
            NAME,
            resp.url,
            f"table {heading!r} columns {head!r}: the first should be one of {NAME_COLUMNS}",
            field="columns",
        )
    columns: list[str | PriceColumn] = ["name"]
    for text in head[1:]:
        known = FIXED_COLUMNS.get(text.lower())
        if known is None and (m := EFFECTIVE_RE.match(text)):
            try:
                when = datetime.strptime(m.group(1), "%B %d, %Y").replace(tzinfo=UTC)
            except ValueError:
                when = None
            if when is not None:
                known = PriceColumn(
                    "on_demand", per_gpu=True, extra_key="price_effective", effective_from=when
                )
        if known is None:
            raise ParseError(
                NAME,
                resp.url,
                f"table {heading!r}: unknown column {text!r} (columns {head!r})",
                field="columns",
            )
        columns.append(known)
    if not any(isinstance(c, PriceColumn) and c.pricing_model for c in columns):
        raise ParseError(
            NAME, resp.url, f"table {heading!r} has no price column: {head!r}", field="columns"
        )
    return columns


def _price(text: str, field: str) -> tuple[Decimal, bool] | None:
    """(price, is_from) of a cell, or None when the page shows no public price."""
    if text.lower() in NO_PUBLIC_PRICE:
        return None
    m = PRICE_RE.match(text)
    if m is None:
        raise RowError(f"price {text!r} is not '$X' or 'from $X'", field)
    return tk.require_decimal(m.group(2), field), bool(m.group(1))


def _lower(text: str | None) -> float | None:
    m = RANGE_RE.match(text or "")
    return float(m.group(1)) if m else None


def _offers(
    src: tk.Source, columns: list[str | PriceColumn], cells: list[str], fetched_at: datetime
) -> list[Offer]:
    if len(cells) < len(columns):
        raise RowError(f"{len(cells)} cells for {len(columns)} columns", "cells")
    name = cells[0]
    if not name:
        raise RowError("no name in the first cell", "name")
    m = COUNT_RE.match(name)
    count, gpu = (int(m.group(1)), m.group(2)) if m else (None, name)
    cpu = CPU_SUFFIX_RE.search(gpu)
    gpu_name = CPU_SUFFIX_RE.sub("", gpu)
    specs: dict[str, str] = {}
    prices: list[tuple[PriceColumn, str]] = []
    for col, text in zip(columns[1:], cells[1:], strict=False):
        if isinstance(col, PriceColumn):
            prices.append((col, text))
        else:
            specs[col] = text
    # Columns that are no offer of their own, and an announced price that is not due yet.
    extra: dict[str, Any] = {"cpu": cpu.group(1) if cpu else None}
    offer_prices: dict[str, tuple[PriceColumn, str]] = {}
    for col, text in prices:
        due = col.effective_from is None or fetched_at >= col.effective_from
        if col.effective_from is not None:
            extra["price_effective_from"] = col.effective_from.date().isoformat()
        if col.extra_key is not None:
            parsed = _price(text, col.extra_key)
            extra[col.extra_key] = float(parsed[0]) if parsed else None
        if col.pricing_model is not None and due:
            replaced = offer_prices.get(col.pricing_model)
            if replaced is not None:  # a due announced price replaces the older column
                parsed = _price(replaced[1], "price_before_effective")
                extra["price_before_effective"] = float(parsed[0]) if parsed else None
            offer_prices[col.pricing_model] = (col, text)
    vram = tk.to_decimal(specs.get("vram_gb"))
    ranges = {k: v for k, v in specs.items() if k in ("vcpus", "ram_gb") and "-" in v}
    offers = []
    for model, (col, text) in offer_prices.items():
        parsed = _price(text, model)
        if parsed is None:
            continue
        price, is_from = parsed
        if not col.per_gpu and count is None:
            raise RowError(f"whole-VM price but no GPU count in {name!r}", "name")
        gpus = 1 if col.per_gpu else count
        offers.append(
            src.offer(
                instance_type=name,
                region=REGION,
                pricing_model=model,
                currency="USD",  # the page prices in "$" only
                price_per_hour=float(price),
                gpu_count=float(gpus),
                gpu_name_raw=gpu_name,
                # "vRAM, GB" is the VM's total: per GPU is total / count.
                gpu_memory_gb=float(vram / count) if vram and count else None,
                vcpus=_lower(specs.get("vcpus")),
                memory_gb=_lower(specs.get("ram_gb")),
                price_unit_published="gpu_hour" if col.per_gpu else "hour",
                extra={
                    **extra,
                    "price_text": text,
                    "is_from_price": is_from,
                    **({"ranges": ranges} if ranges else {}),
                },
            )
        )
    return offers


PROVIDER = ProviderSpec(
    name=NAME,
    title="Nebius AI Cloud",
    source_urls=("https://nebius.com/prices",),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded responses: pricing_wayback-20241115043809_excerpt.html and "
        "pricing_wayback-20260712235400_excerpt.html (Internet Archive captures of the "
        "pricing page, 2024-11-15 and 2026-07-12, as excerpted in "
        "henryzhangpku/gpu-price-index tests/fixtures/backfill/ @ c4ae7ff9) and "
        "pricing_gpu-price-index-fixture_gpu-sections_excerpt.html (the page as recorded in "
        "ewyluda/gpu-price-index tests/fixtures/nebius.html @ eb72cc64, about 2026-10-04)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    pricing_page_url="https://nebius.com/prices",
    notes=(
        "GPU tables of the pricing page: per-GPU on-demand/preemptible offers (2025-), whole-VM "
        "on-demand offers (2024 layout); the 2024 'Reserve' rate (term not stated) in extra."
    ),
)
