"""AWS EC2 GPU and accelerator prices: on-demand, reserved (1 yr / 3 yr) and spot.

Sources (public, no credentials):

- The Price List bulk API: the offer index (`/offers/v1.0/aws/index.json`) names the EC2
  region index (`region_index.json`), which names each region's versioned offer file
  (`/offers/v1.0/aws/AmazonEC2/<version>/<region>/index.json`, hundreds of MB each).
  Output: `on_demand` and `reserved_1y` / `reserved_3y` offers for Linux, shared tenancy,
  no pre-installed software, `capacitystatus` Used, of the instance families listed in
  `data/aws_instance_families.csv` (GPUs plus Inferentia / Trainium / Gaudi).
- The spot price feed behind aws.amazon.com/ec2/spot/pricing/
  (`https://website.spot.ec2.aws.a2z.com/spot.json`; older `spot.js` JSONP form too).
  Output: `spot` offers per region, GPU counts from `data/aws_instance_sizes.csv`.

The package, by concern:
- `tables`: the reference tables (families, sizes, legacy spot region names);
- `fetch`: offer index -> region index -> offer files (streamed to disk) + spot feed;
- `offers`: product filters and products + terms -> offers, shared by every format;
- `offer_file`: the streaming offer-file scanner (bounded memory, any JSON layout,
  truncation is an error) and its exact ijson fallback;
- `get_products`: Price List Query API pages / items (the older per-product format);
- `spot`: the spot feeds (spot.json, JSONP spot.js, legacy region names).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

from scrapers.aws.fetch import (
    OFFER_INDEX_PATH,
    PRICING_BASE_URL,
    REGIONS_SETTING,
    SPOT_BASE_URL,
    SPOT_FEED_PATH,
    fetch,
)
from scrapers.aws.get_products import parse_get_products
from scrapers.aws.offer_file import parse_offer_file
from scrapers.aws.spot import _JSONP_RE, parse_spot_feed
from scrapers.aws.tables import DATA_DIR, NAME, families, family_of, sizes, spot_regions
from scrapers.base import ParseError, ParseResult, ProviderSpec, Response, Setting

__all__ = [
    "DATA_DIR",
    "NAME",
    "PROVIDER",
    "detect_kind",
    "families",
    "family_of",
    "fetch",
    "parse",
    "parse_one",
    "sizes",
    "spot_regions",
]


def parse(responses: Sequence[Response]) -> ParseResult:
    """Recorded responses -> offers. Each response is parsed on its own (cacheable per sha256)."""
    result = ParseResult()
    for r in responses:
        if r.not_modified and r.body is None and r.body_path is None:
            continue  # the pipeline substitutes the archived body; nothing to read here
        result.extend(parse_one(r))
    return result


def parse_one(r: Response) -> ParseResult:
    try:
        kind = detect_kind(r)
        if kind in ("offer-index", "region-index"):
            return ParseResult()
        if kind == "offer-file":
            return parse_offer_file(r)
        if kind == "get-products":
            return parse_get_products(r)
        return parse_spot_feed(r)
    except (EOFError, OSError, UnicodeDecodeError, zlib.error) as exc:
        # A gzip body cut short (EOFError, BadGzipFile) or bytes that are not UTF-8.
        raise ParseError(NAME, r.url, f"unreadable body ({exc})", field="document") from None


def _head(r: Response, n_bytes: int = 8192) -> str:
    with r.open() as fh:
        return fh.read(n_bytes).decode("utf-8", errors="replace")


def detect_kind(r: Response) -> str:
    """Recognize a recorded file by its content, not its name or `kind` label."""
    head = _head(r).lstrip("\ufeff \t\r\n")
    if _JSONP_RE.match(head):
        return "spot-feed"
    keys = set(re.findall(r'"(\w+)"\s*:', head))
    if "offers" in keys or "currentRegionIndexUrl" in keys:
        return "offer-index"  # checked first: its entries carry "offerCode" too
    if "offerCode" in keys or "products" in keys:
        return "offer-file"
    if "regions" in keys and "currentVersionUrl" in keys:
        return "region-index"
    if "vers" in keys and "config" in keys:
        return "spot-feed"
    if "PriceList" in keys or "product" in keys:
        return "get-products"
    raise ParseError(
        NAME,
        r.url,
        "not an AWS offer file, region index, GetProducts page or spot feed",
        field="top-level keys",
    )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Amazon Web Services EC2",
    pricing_page_url="https://aws.amazon.com/ec2/pricing/on-demand/",
    source_urls=(
        PRICING_BASE_URL + OFFER_INDEX_PATH,
        PRICING_BASE_URL + "/offers/v1.0/aws/AmazonEC2/current/region_index.json",
        SPOT_BASE_URL + "/" + SPOT_FEED_PATH,
    ),
    pricing_models=("on_demand", "reserved_1y", "reserved_3y", "spot"),
    validated_against=(
        "recorded response: offer-file_AmazonEC2_us-east-1_2024-05-28_p4d-excerpt.json (2024-05-28), "
        "offer-file_AmazonEC2_region_index_2025-05-23.json (2025-05-23), "
        "pricing-api_GetProducts_PriceList-item_m5.large_us-east-1_2021-02-05_OnDemand+Reserved.json "
        "(2021-02-05), spot-price-feed_spot.json_2026-08_af-south-1_excerpt.json (2026-08-10), "
        "spot-price-feed_spot.js-body_2021-04_5regions.json (2021-04), legacy_spot.js_2014-04.js (2014-04)"
    ),
    default_base_url=PRICING_BASE_URL,
    extra_base_urls={"spot": SPOT_BASE_URL},
    fetch=fetch,
    parse=parse,
    default_cadence="0 3 * * *",
    separable_parse=True,
    settings=(
        Setting(
            REGIONS_SETTING,
            help="comma-separated region codes to fetch (default: every region in the index)",
        ),
    ),
    notes="Offer files stream to disk and are parsed in bounded memory; an unchanged offer "
    "version is not downloaded again. Settings: AWS_REGIONS (comma list) restricts regions.",
)
