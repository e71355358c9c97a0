"""Lambda (Lambda Labs) On-Demand Cloud: GPU instance types from the instance-types API.

Source: `GET https://cloud.lambda.ai/api/v1/instance-types` with the account's API key
(`Authorization: Bearer <LAMBDA_API_KEY>`); a missing key skips the provider. Documented
in Lambda's OpenAPI spec v1.10.0 (https://cloud.lambda.ai/api/v1/openapi.json, operation
`listInstanceTypes`; `cloud.lambdalabs.com` is listed there as the deprecated secondary
server): `{"data": {<name>: {"instance_type": {name, description, gpu_description,
price_cents_per_hour, specs{vcpus, memory_gib, storage_gib, gpus}},
"regions_with_capacity_available": [{name, description}]}}}`. One body, no paging.

Output: one on-demand offer per GPU instance type at `price_cents_per_hour / 100` USD, in
region `global`: the API gives one price per type for every region, and the region list
only says where capacity is free *right now*, so it goes to `extra` instead of the offer
key (otherwise every sell-out would look like a withdrawn offer in the history). GPU
memory per GPU comes from the type's own `gpu_description` ("H100 (80 GB SXM5)").

Second response kind, recognised from its content (HTML, not JSON): the public pricing page
`https://lambda.ai/pricing` ("Instances pricing"), which needs no key. It shows one tab per
instance size ("8x", "4x", "2x", "1x", a `button[role=tab]` labelling each
`div[role=tabpanel]`) holding a `<table>` whose head is "", "VRAM/GPU", "vCPUs", "RAM",
"STORAGE", "PRICE/GPU/HR*" and one row per GPU ("NVIDIA H100 SXM", "80 GB", "208",
"1800 GiB", "22 TiB SSD", "$2.99"). The vCPUs, RAM and storage are the whole instance's, the
price is per GPU: one on-demand offer per (tab, row) for the instance, at price x GPUs
(`price_unit_published` "gpu_hour"). Its instance type is "<n>x <GPU> <VRAM>" ("8x NVIDIA
A100 SXM 80 GB": the page lists A100 SXM twice, 80 and 40 GB), region `global`. Prices
exclude sales tax (the table's footnote). A table without the price column, or outside a
size tab, is a layout change; a row without a name or with an unreadable price is skipped.
`fetch` still reads the API only (with the key): fetching both would list every instance
twice under two naming schemes; the page kind serves recorded captures (`scrape parse`,
the example archive).

No live API response is recorded anywhere we could find (the API path is validated against
the documented schema only); the page kind is validated against a recorded page capture.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    Setting,
    SkipProvider,
)

NAME = "lambdalabs"
DEFAULT_BASE_URL = "https://cloud.lambda.ai"
INSTANCE_TYPES_PATH = "api/v1/instance-types"
API_KEY_ENV = "LAMBDA_API_KEY"
REGION = "global"
PAGE_URL = "https://lambda.ai/pricing"
PAGE_PRICE_COLUMN = "PRICE/GPU/HR*"
PAGE_COLUMNS = ("VRAM/GPU", "vCPUs", "RAM", "STORAGE", PAGE_PRICE_COLUMN)
TAB_COUNT_RE = re.compile(r"^(\d+)\s*x$", re.IGNORECASE)  # the size tab "8x"
PAGE_PRICE_RE = re.compile(r"^\$\s*(\d+(?:\.\d+)?)$")
SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*GI?B\b", re.IGNORECASE)
GPU_MEMORY_RE = re.compile(r"(\d+(?:\.\d+)?)\s*GB\b", re.IGNORECASE)
COUNT_PREFIX_RE = re.compile(r"^\s*\d+\s*x\s*", re.IGNORECASE)  # "8x A100 (...)" -> "A100 (...)"


async def fetch(ctx: FetchContext) -> list[Response]:
    api_key = ctx.settings.get(API_KEY_ENV)
    if not api_key:
        raise SkipProvider(
            f"{NAME}: {API_KEY_ENV} is not set; Lambda's instance-types API needs an API key "
            "(create one in the Lambda Cloud dashboard and export it as LAMBDA_API_KEY)"
        )
    resp = await ctx.client.get(
        ctx.url(INSTANCE_TYPES_PATH),
        provider=NAME,
        kind="instance-types",
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        secrets=[api_key],
    )
    return [resp]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        src = tk.source(resp)
        if tk.is_html(resp):  # the public pricing page
            for label, count, header, cells in _page_rows(resp):
                rows.found()
                with rows.guard(resp.url, label):
                    result.offers.append(_page_offer(src, count, header, cells))
            continue
        for key, entry in _types(resp).items():
            if not isinstance(entry, dict) or not isinstance(entry.get("instance_type"), dict):
                raise ParseError(
                    NAME,
                    resp.url,
                    f"type {key!r} has no instance_type object",
                    field="data.*.instance_type",
                )
            itype = entry["instance_type"]
            specs = itype.get("specs")
            if not isinstance(specs, dict) or "gpus" not in specs:
                raise ParseError(
                    NAME,
                    resp.url,
                    f"type {key!r} has no specs.gpus",
                    field="data.*.instance_type.specs.gpus",
                )
            if not specs["gpus"]:
                continue  # CPU-only type
            rows.found()
            with rows.guard(resp.url, f"type {key}"):
                result.offers.append(_offer(src, str(key), entry, itype, specs))
    rows.require_offers(
        responses,
        default_field="data.*.instance_type.specs.gpus",
        none_found="no GPU instance type found",
        all_failed="every GPU instance type failed to parse",
    )
    return result


def _page_rows(resp: Response) -> list[tuple[str, int, list[str], list[str]]]:
    """(row label, GPUs per instance, column headings, cell texts) of each pricing table."""
    tree = LexborHTMLParser(resp.read().decode("utf-8", errors="replace"))
    tabs = {b.attributes.get("id"): tk.page_text(b) for b in tree.css('button[role="tab"]')}
    out = []
    for table in tree.css("table"):
        header = [tk.page_text(th) for th in table.css("thead th")]
        if PAGE_PRICE_COLUMN not in header:
            continue
        if header[1:] != list(PAGE_COLUMNS):
            raise ParseError(
                NAME,
                resp.url,
                f"pricing table columns {header!r}, expected a name column then "
                f"{list(PAGE_COLUMNS)}",
                field="thead",
            )
        count = _tab_count(table, tabs)
        if count is None:
            raise ParseError(
                NAME,
                resp.url,
                "pricing table outside a size tab ('8x', '4x', ...): GPUs per instance unknown",
                field="tabpanel",
            )
        for i, tr in enumerate(table.css("tbody tr")):
            cells = [tk.page_text(c) for c in tr.css("th, td")]
            label = f"{count}x {cells[0]}" if cells and cells[0] else f"{count}x row {i + 1}"
            out.append((label, count, header, cells))
    if not out:
        raise ParseError(
            NAME,
            resp.url,
            f"no pricing table with a {PAGE_PRICE_COLUMN!r} column (not the pricing page?)",
            field="table",
        )
    return out


def _tab_count(table: LexborNode, tabs: dict[str | None, str]) -> int | None:
    node = table.parent
    while node is not None and node.attributes.get("role") != "tabpanel":
        node = node.parent
    if node is None:
        return None
    m = TAB_COUNT_RE.match(tabs.get(node.attributes.get("aria-labelledby"), ""))
    return int(m.group(1)) if m else None


def _page_size(text: str) -> float | None:
    """'80 GB' / '1800 GiB' as a number (GB and GiB not told apart, as for memory_gib)."""
    m = SIZE_RE.match(text)
    return float(m.group(1)) if m else None


def _page_offer(src: tk.Source, count: int, header: list[str], cells: list[str]) -> Offer:
    if len(cells) < len(header):
        raise RowError(f"{len(cells)} cells for {len(header)} columns", header[len(cells)])
    by = dict(zip(header, cells, strict=False))
    gpu = cells[0]
    if not gpu:
        raise RowError("no GPU name", "Plan")
    text = by[PAGE_PRICE_COLUMN]
    m = PAGE_PRICE_RE.match(text)
    if m is None:
        raise RowError(f"price {text!r} is not '$X'", PAGE_PRICE_COLUMN)
    per_gpu = tk.require_decimal(m.group(1), PAGE_PRICE_COLUMN)
    vram = by["VRAM/GPU"]
    return src.offer(
        instance_type=" ".join(p for p in (f"{count}x {gpu}", vram) if p),
        region=REGION,
        pricing_model="on_demand",
        currency="USD",  # the page prices in "$"
        price_per_hour=float(per_gpu * count),
        gpu_count=float(count),
        gpu_name_raw=gpu,
        gpu_memory_gb=_page_size(vram),
        vcpus=tk.to_float(by["vCPUs"]),
        memory_gb=_page_size(by["RAM"]),
        price_unit_published="gpu_hour",
        extra={
            "price_per_gpu_hour": float(per_gpu),
            "price_text": text,
            "storage": by["STORAGE"] or None,
        },
    )


def _types(resp: Response) -> dict[str, Any]:
    doc = tk.load_json(resp, NAME)
    if isinstance(doc.get("error"), dict):
        code = doc["error"].get("code", "unknown")  # the message may echo input; the code does not
        raise ParseError(NAME, resp.url, f"API error {code!r} instead of data", field="data")
    return tk.envelope(doc, resp, NAME, keys={"data": dict})["data"]


def _offer(
    src: tk.Source, key: str, entry: dict[str, Any], itype: dict[str, Any], specs: dict[str, Any]
) -> Offer:
    # The schema says integer; accept a numeric string too (the published spec example once
    # used one) but never a float-rounded guess.
    price_cents = tk.require_decimal(itype.get("price_cents_per_hour"), "price_cents_per_hour")
    gpu_count = tk.require_decimal(specs["gpus"], "specs.gpus", minimum="any")
    gpu_desc = itype.get("gpu_description") or COUNT_PREFIX_RE.sub(
        "", str(itype.get("description") or "")
    )
    if not gpu_desc:
        raise RowError("neither gpu_description nor description", "gpu_description")
    memory = GPU_MEMORY_RE.search(gpu_desc)
    regions = entry.get("regions_with_capacity_available") or []
    region_names = sorted(
        str(r.get("name")) for r in regions if isinstance(r, dict) and r.get("name")
    )
    return src.offer(
        instance_type=str(itype.get("name") or key),
        region=REGION,
        pricing_model="on_demand",
        currency="USD",  # Lambda prices in US cents
        price_per_hour=float(price_cents / tk.CENTS_PER_UNIT),
        gpu_count=float(gpu_count),
        gpu_name_raw=gpu_desc.strip(),
        gpu_memory_gb=float(memory.group(1)) if memory else None,
        vcpus=float(specs["vcpus"]) if specs.get("vcpus") is not None else None,
        # memory_gib kept as the number Lambda states; the dataset's memory_gb follows the
        # clouds' loose GB-for-GiB convention throughout.
        memory_gb=float(specs["memory_gib"]) if specs.get("memory_gib") is not None else None,
        price_unit_published="hour",
        extra={
            "description": itype.get("description"),
            "price_cents_per_hour": int(price_cents)
            if price_cents == price_cents.to_integral()
            else float(price_cents),
            "storage_gib": specs.get("storage_gib"),
            "regions_with_capacity": region_names,
            "has_capacity": bool(region_names),
        },
    )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Lambda",
    pricing_page_url="https://lambda.ai/pricing",
    source_urls=("https://cloud.lambda.ai/api/v1/instance-types", PAGE_URL),
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: pricing_wayback-20260109103934_excerpt.html (the pricing page, "
        "2026-01-09; Internet Archive capture 20260109103934 of https://lambda.ai/pricing, its "
        "8x instances table as excerpted in henryzhangpku/gpu-price-index "
        "tests/fixtures/backfill/lambda_20260109103934.html @ c4ae7ff9); the instance-types "
        "API body itself is still unrecorded (documented schema only)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(Setting(API_KEY_ENV, secret=True, required=True, help="Lambda Cloud API key"),),
    notes=(
        "Schema: Lambda Cloud API OpenAPI v1.10.0 (https://cloud.lambda.ai/api/v1/openapi.json, "
        "listInstanceTypes). One offer per type in region 'global'; capacity regions in extra."
    ),
)
