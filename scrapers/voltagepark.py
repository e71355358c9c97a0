"""Voltage Park: on-demand HGX H100 prices from the public pricing page.

Source: `GET https://www.voltagepark.com/pricing` (HTML, no auth, parsed with
selectolax/lexbor). Voltage Park publishes no price API. The page shows one card per plan:
an eyebrow label (`div.text-eyebrow`: "On-Demand, Ethernet", "On-demand, 3200 Gbps
Infiniband", "Long-Term Reserve"), a price (`div.heading-style-h3`: "$1.99/hr") and feature
lines (`div.pricing11_feature`), one of which gives the GPU and the GPUs a customer can take:
"1-1016 HGX H100 GPUs for your bursts and experimentation.". Cards are read in page order
(label, then its price and features up to the next label), not by their container, so a
card whose wrapper changes still parses.

Output: one on-demand offer per "On-demand" card. The "/hr" price is per GPU: the same
figure covers 1 to 1,016 GPUs (the H100 market rate; $1.99 for an 8-GPU machine would be a
tenth of any other cloud's). The offer is the smallest machine the card allows: gpu_count =
the minimum GPUs (1 on Ethernet, 8 with InfiniBand), price = per-GPU price x that count,
`price_unit_published` "gpu_hour", price scope "instance". The instance type is the card's
label. Other cards (the long-term reserve is priced on request) are not offers. A page with
no "On-demand" card is a layout change and fails the provider; a card without a "$X/hr"
price or a GPU line is skipped with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

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
)

NAME = "voltagepark"
DEFAULT_BASE_URL = "https://www.voltagepark.com"
PRICING_PATH = "pricing"
REGION = "global"  # the page names no region
LABEL_CLASS = "text-eyebrow"
PRICE_CLASS = "heading-style-h3"
FEATURE_CLASS = "pricing11_feature"
ON_DEMAND_RE = re.compile(r"^on-demand\b", re.IGNORECASE)
PRICE_RE = re.compile(r"^\$\s*(\d+(?:\.\d+)?)\s*/\s*hr$", re.IGNORECASE)
# "1-1016 HGX H100 GPUs for ..." -> min 1, max 1016, GPU "HGX H100".
GPUS_RE = re.compile(r"^(\d+)\s*-\s*(\d+)\s+(.+?)\s+GPUs\b")


@dataclass
class _Card:
    label: str
    price: str | None = None
    features: list[str] = field(default_factory=list)


async def fetch(ctx: FetchContext) -> list[Response]:
    return await tk.fetch_page(ctx, PRICING_PATH, NAME)


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        cards = [c for c in _cards(resp) if ON_DEMAND_RE.match(c.label)]
        if not cards:
            raise ParseError(
                NAME, resp.url, "no 'On-demand' plan label on the page", field=LABEL_CLASS
            )
        src = tk.source(resp)
        for card in cards:
            rows.found()
            with rows.guard(resp.url, card.label):
                result.offers.append(_offer(src, card))
    rows.require_offers(
        responses,
        default_field=LABEL_CLASS,
        none_found="no on-demand plan on the page",
        all_failed="every on-demand plan failed to parse",
    )
    return result


def _cards(resp: Response) -> list[_Card]:
    tree = LexborHTMLParser(resp.read().decode("utf-8", errors="replace"))
    cards: list[_Card] = []
    for node in tree.root.traverse() if tree.root is not None else ():
        classes = (node.attributes.get("class") or "").split()
        if LABEL_CLASS in classes:
            cards.append(_Card(tk.page_text(node)))
        elif not cards:
            continue
        elif PRICE_CLASS in classes and cards[-1].price is None:
            cards[-1].price = tk.page_text(node)
        elif FEATURE_CLASS in classes:
            cards[-1].features.append(tk.page_text(node))
    return cards


def _offer(src: tk.Source, card: _Card) -> Offer:
    m = PRICE_RE.match(card.price or "")
    if m is None:
        raise RowError(f"price {card.price!r} is not '$X/hr'", PRICE_CLASS)
    per_gpu = tk.require_decimal(m.group(1), PRICE_CLASS)
    gpus = next((g for f in card.features if (g := GPUS_RE.match(f))), None)
    if gpus is None:
        raise RowError("no '<min>-<max> <GPU> GPUs' feature line", FEATURE_CLASS)
    min_gpus, max_gpus = Decimal(gpus.group(1)), Decimal(gpus.group(2))
    if not 0 < min_gpus <= max_gpus:
        raise RowError(f"GPU range {gpus.group(1)}-{gpus.group(2)} is empty", FEATURE_CLASS)
    return src.offer(
        instance_type=card.label,
        region=REGION,
        pricing_model="on_demand",
        currency="USD",  # the page prices in "$" only
        price_per_hour=float(per_gpu * min_gpus),
        gpu_count=float(min_gpus),
        gpu_name_raw=gpus.group(3),
        price_unit_published="gpu_hour",
        extra={
            "price_text": card.price,
            "price_per_gpu_hour": str(per_gpu),
            "max_gpus": int(max_gpus),
        },
    )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Voltage Park",
    source_urls=("https://www.voltagepark.com/pricing",),
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: pricing_wayback-20250712040631_excerpt.html (2025-07-12; Internet "
        "Archive capture 20250712040631 of the pricing page, its on-demand cards as excerpted in "
        "henryzhangpku/gpu-price-index tests/fixtures/backfill/voltagepark_20250712040631.html "
        "@ c4ae7ff9)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    pricing_page_url="https://www.voltagepark.com/pricing",
    notes="Per-GPU '/hr' card prices; one offer per on-demand card at its minimum GPU count.",
)
