"""DigitalOcean GPU Droplets: GPU sizes and their hourly prices from the public API.

Source: `GET https://api.digitalocean.com/v2/sizes?per_page=200&page=N` with a personal
access token (`Authorization: Bearer <DIGITALOCEAN_TOKEN>`; a missing token skips the
provider). The API pages with `links.pages.next` (200 is the documented maximum page size);
each page is `{"sizes": [...], "links": {...}, "meta": {"total": N}}`.

Output: one on-demand offer per (GPU size, region in its `regions` list) at `price_hourly`
USD. A GPU size carries `gpu_info{count, model, vram{amount, unit}}`; `vram` is the total
of all GPUs, so the per-GPU memory is `amount / count`. CPU-only sizes are dropped.
`memory` is in MiB (the API's "MB"). `available: false` sizes keep their price and are
flagged in `extra` (the price list still states them).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
    Setting,
)

NAME = "digitalocean"
DEFAULT_BASE_URL = "https://api.digitalocean.com"
SIZES_PATH = "v2/sizes"
TOKEN_SETTING = "DIGITALOCEAN_TOKEN"
PER_PAGE = 200  # the documented maximum
MAX_PAGES = 50  # a runaway next link fails the provider instead of hanging the run
VRAM_UNITS_PER_GIB = {"gib": Decimal(1), "mib": 1 / tk.MIB_PER_GIB, "tib": tk.MIB_PER_GIB}


async def fetch(ctx: FetchContext) -> list[Response]:
    # Required in the declaration below: the run skips the provider before fetch without it.
    token = ctx.settings[TOKEN_SETTING]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    url, page, out = ctx.url(SIZES_PATH), 1, []
    for _ in range(MAX_PAGES):
        resp = await ctx.client.get(
            url,
            provider=NAME,
            kind="sizes",
            params={"per_page": PER_PAGE, "page": page},
            headers=headers,
            secrets=[token],
        )
        out.append(resp)
        nxt = _next_page(resp)
        if nxt is None:
            return out
        page = nxt
    raise ProviderError(
        NAME, url, f"still paging after {MAX_PAGES} pages", field="links.pages.next"
    )


def _next_page(resp: Response) -> int | None:
    """The page number of `links.pages.next`. The link is absolute (api.digitalocean.com);
    only its page number is used so a mirror or test base URL stays in charge."""
    doc = tk.peek_json(resp)
    nxt = ((doc or {}).get("links") or {}).get("pages", {}).get("next") if doc else None
    if not nxt:
        return None
    pages = parse_qs(urlsplit(str(nxt)).query).get("page")
    return int(pages[0]) if pages and pages[0].isdigit() else None


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, exact=True, keys={"sizes": list})
        for size in doc["sizes"]:
            if not isinstance(size, dict) or not size.get("slug"):
                raise ParseError(NAME, resp.url, "size without a slug", field="sizes[].slug")
            if not size.get("gpu_info"):
                continue  # CPU-only Droplet
            rows.found()
            try:
                result.offers.extend(_offers(resp, size))
            except RowError as exc:
                rows.skip(resp.url, f"size {size['slug']}", exc)
    rows.require_offers(
        responses,
        default_field="sizes[].gpu_info",
        none_found="no GPU size (gpu_info) in any page",
        all_failed="every GPU size failed to parse",
    )
    return result


def _offers(resp: Response, size: dict[str, Any]) -> list[Offer]:
    gpu = size["gpu_info"]
    if not isinstance(gpu, dict):
        raise RowError("gpu_info is not an object", "gpu_info")
    count = tk.require_decimal(gpu.get("count"), "gpu_info.count")
    model = gpu.get("model")
    if not model:
        raise RowError("no GPU model", "gpu_info.model")
    price = tk.require_decimal(size.get("price_hourly"), "price_hourly")
    regions = size.get("regions")
    if not isinstance(regions, list):
        raise RowError("regions is not a list", "regions")
    vram = gpu.get("vram") or {}
    per_unit = VRAM_UNITS_PER_GIB.get(str(vram.get("unit", "")).lower())
    total_vram = tk.require_decimal(vram.get("amount"), "gpu_info.vram.amount") if vram else None
    memory_mib = tk.require_decimal(size.get("memory"), "memory") if "memory" in size else None
    return [
        tk.offer(
            resp,
            instance_type=str(size["slug"]),
            region=str(region),
            pricing_model="on_demand",
            currency="USD",  # the sizes API prices in USD only
            price_per_hour=float(price),
            gpu_count=float(count),
            gpu_name_raw=str(model),
            gpu_memory_gb=float(total_vram * per_unit / count) if total_vram and per_unit else None,
            vcpus=tk.to_float(size.get("vcpus")),
            memory_gb=float(memory_mib / tk.MIB_PER_GIB) if memory_mib is not None else None,
            price_unit_published="hour",
            extra={
                "description": size.get("description"),
                "price_monthly": tk.jsonable(size.get("price_monthly")),
                "available": size.get("available"),
                "disk_gb": tk.jsonable(size.get("disk")),
            },
        )
        for region in regions
    ]


PROVIDER = ProviderSpec(
    name=NAME,
    title="DigitalOcean GPU Droplets",
    source_urls=("https://api.digitalocean.com/v2/sizes?per_page=200",),
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: v2_sizes_per_page-500_gpuhunt-fixture_2025-08.json "
        "(dstackai/gpuhunt src/tests/providers/test_digitalocean.py @ 35841515, 2025-08-29)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(
            TOKEN_SETTING,
            secret=True,
            required=True,
            help="DigitalOcean personal access token (read scope)",
        ),
    ),
    pricing_page_url="https://www.digitalocean.com/pricing/gpu-droplets",
    notes="One offer per (GPU size, region); per-GPU memory = gpu_info.vram / gpu_info.count.",
)
