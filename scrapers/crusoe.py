"""Crusoe Cloud: per-GPU hourly on-demand and spot prices from the public pricing page.

Source: `GET https://www.crusoe.ai/cloud/pricing` (HTML, no auth, parsed with
selectolax/lexbor). Crusoe publishes no price API; the page is a Webflow CMS list. The GPU
section is the `h3.pricing-col-heading` "GPU instances pricing", followed by column
headings (`div.pricing-heading`: "GPU model", "On-demand", "Current spot") and one
`div.pricing_gpu-item` per GPU: an `h4.pricing-item-heading` ("NVIDIA H100"), tags
(`div.pricing-tag`: memory per GPU "80GB", then the system "HGX" / "NVL72" / "OAM") and one
`div.pricing-rich` cell per price column, in column order: "$3.90/GPU-hr" or "Contact sales".

Output: one offer per (GPU, priced column), priced per GPU-hour as the page states it
(`price_unit_published` "gpu_hour"): Crusoe VMs take 1, 2, 4 or 8 GPUs at that rate with
their vCPUs and RAM included, so the offer is the 1-GPU share of the machine (gpu_count 1,
price scope "instance"). The GPU name is the heading with the system tag ("NVIDIA H100
HGX", an SXM board). The instance type is "<heading> <memory tag> <system tag>"
("NVIDIA H100 80GB HGX") because one heading can be listed in several memory or system
variants (the May 2025 page listed A100 80GB SXM and PCIe). The page names no region:
"global". "Contact sales" is no public price (no offer, no warning); an item without a
heading or a price cell, or a price in another unit, is skipped with a warning. Missing
section or column headings other than these three are a layout change and fail the provider.
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

NAME = "crusoe"
DEFAULT_BASE_URL = "https://www.crusoe.ai"
PRICING_PATH = "cloud/pricing"
REGION = "global"  # the page names no region
SECTION_HEADING = "GPU instances pricing"
# Column heading on the page -> pricing model; "GPU model" is the item heading itself.
COLUMNS = {"On-demand": "on_demand", "Current spot": "spot"}
FIRST_COLUMN = "GPU model"
NO_PUBLIC_PRICE = "contact sales"
GPU_HOUR_PRICE_RE = re.compile(r"^\$\s*(\d+(?:\.\d+)?)\s*/\s*GPU-hr$", re.IGNORECASE)
MEMORY_TAG_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*GB$", re.IGNORECASE)


async def fetch(ctx: FetchContext) -> list[Response]:
    return await tk.fetch_page(ctx, PRICING_PATH, NAME)


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        items, models = _gpu_section(resp)
        src = tk.source(resp)
        for i, item in enumerate(items):
            heading = item.css_first("h4.pricing-item-heading")
            label = tk.page_text(heading) if heading is not None else f"item {i}"
            rows.found()
            with rows.guard(resp.url, label):
                result.offers.extend(_offers(src, item, label, heading, models))
    rows.require_offers(
        responses,
        default_field="pricing_gpu-item",
        none_found="no GPU item in the GPU section",
        all_failed="no GPU item with a usable price (each failed or says 'Contact sales')",
    )
    return result


def _gpu_section(resp: Response) -> tuple[list[LexborNode], list[str]]:
    """The GPU items and the pricing model of each price column, in page order.

    The section runs from its `h3.pricing-col-heading` to the next one (CPU instances and
    storage follow on the live page), so items of other sections are never read as GPUs."""
    tree = LexborHTMLParser(resp.read().decode("utf-8", errors="replace"))
    in_section, found_section = False, False
    headings: list[str] = []
    items: list[LexborNode] = []
    for node in tree.root.traverse() if tree.root is not None else ():
        classes = (node.attributes.get("class") or "").split()
        if node.tag == "h3" and "pricing-col-heading" in classes:
            in_section = tk.page_text(node) == SECTION_HEADING
            found_section = found_section or in_section
        elif not in_section:
            continue
        elif "pricing-heading" in classes:
            headings.append(tk.page_text(node))
        elif "pricing_gpu-item" in classes:
            items.append(node)
    if not found_section:
        raise ParseError(
            NAME, resp.url, f"section heading {SECTION_HEADING!r} not found", field="section"
        )
    if not headings or headings[0] != FIRST_COLUMN or any(h not in COLUMNS for h in headings[1:]):
        raise ParseError(
            NAME,
            resp.url,
            f"price columns {headings!r}, expected {FIRST_COLUMN!r} then some of {list(COLUMNS)}",
            field="pricing-heading",
        )
    return items, [COLUMNS[h] for h in headings[1:]]


def _offers(
    src: tk.Source,
    item: LexborNode,
    label: str,
    heading: LexborNode | None,
    models: list[str],
) -> list[Offer]:
    if heading is None or not label:
        raise RowError("no GPU heading", "pricing-item-heading")
    cells = item.css("div.pricing-rich")
    if len(cells) < len(models):
        missing = models[len(cells)]
        raise RowError(f"no price cell for {missing}", missing)
    tags = [tk.page_text(t) for t in item.css("div.pricing-tag")]
    memory = next((Decimal(m.group(1)) for t in tags if (m := MEMORY_TAG_RE.match(t))), None)
    systems = [t for t in tags if not MEMORY_TAG_RE.match(t)]
    instance_type = " ".join([label, *[t for t in tags if t]])
    offers = []
    for model, cell in zip(models, cells, strict=False):
        text = tk.page_text(cell)
        if text.lower() == NO_PUBLIC_PRICE:
            continue
        m = GPU_HOUR_PRICE_RE.match(text)
        if m is None:
            raise RowError(f"price {text!r} is not '$X/GPU-hr'", model)
        price = tk.require_decimal(m.group(1), model)
        offers.append(
            src.offer(
                instance_type=instance_type,
                region=REGION,
                pricing_model=model,
                currency="USD",  # the page prices in "$" only
                price_per_hour=float(price),
                gpu_count=1.0,
                # "NVIDIA H100 HGX": the system tag names the board (HGX = SXM).
                gpu_name_raw=" ".join([label, *systems[:1]]),
                gpu_memory_gb=float(memory) if memory is not None else None,
                price_unit_published="gpu_hour",
                extra={"system": systems[0] if systems else None, "price_text": text},
            )
        )
    return offers


PROVIDER = ProviderSpec(
    name=NAME,
    title="Crusoe Cloud",
    source_urls=("https://www.crusoe.ai/cloud/pricing",),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: pricing_wayback-20251215002446_excerpt.html (2025-12-15; Internet "
        "Archive capture 20251215002446 of the pricing page, its GPU section as excerpted in "
        "henryzhangpku/gpu-price-index tests/fixtures/backfill/crusoe_20251215002446.html "
        "@ c4ae7ff9)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    pricing_page_url="https://www.crusoe.ai/cloud/pricing",
    notes="Per-GPU prices of the pricing page: one 1-GPU offer per (GPU, on-demand/spot).",
)
