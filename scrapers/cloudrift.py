"""CloudRift: GPU VM instance types and their hourly prices from the public API.

Source: `POST https://api.cloudrift.ai/api/v1/instance-types/list` with the body
`{"version": "2025-05-29", "data": {"selector": {"ByServiceAndLocation": {"services":
["vm"]}}}}` (no key needed for the catalogue; an optional `CLOUDRIFT_API_KEY` is sent as
`X-API-Key`). One body, no paging: `{"version": ..., "data": {"instance_types": [{name,
brand_short, manufacturer, variants[{name, gpu_count, cpu_count, dram (bytes), vram (bytes,
per GPU), disk (bytes), cost_per_hour (US cents), nodes_per_dc{dc: n},
available_nodes_per_dc{dc: n}}]}]}}`.

Output: one on-demand offer per (GPU variant, data center in `nodes_per_dc`) at
`cost_per_hour / 100` USD; the GPU is the type's `brand_short` ("RTX 4090"). Free node
counts go to `extra` (capacity, not price). Variants with `gpu_count` 0 are CPU-only and
dropped.

No recorded response was found (gpuhunt and dstack only mock this endpoint); the parser is
validated against a documented-format fixture built from the fields those clients read.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

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

NAME = "cloudrift"
DEFAULT_BASE_URL = "https://api.cloudrift.ai/api/v1"
LIST_PATH = "instance-types/list"
API_VERSION = "2025-05-29"  # the request/response schema version the parser knows
API_KEY_SETTING = "CLOUDRIFT_API_KEY"
BYTES_PER_GIB = Decimal(2**30)
REQUEST = {
    "version": API_VERSION,
    "data": {"selector": {"ByServiceAndLocation": {"services": ["vm"]}}},
}


async def fetch(ctx: FetchContext) -> list[Response]:
    key = ctx.settings.get(API_KEY_SETTING)
    headers = {"Accept": "application/json"} | ({"X-API-Key": key} if key else {})
    resp = await ctx.client.post(
        ctx.url(LIST_PATH),
        provider=NAME,
        kind="instance-types",
        json=REQUEST,
        headers=headers,
        secrets=[key] if key else [],
    )
    return [resp]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, exact=True, keys={"data": dict})
        types = doc["data"].get("instance_types")
        if not isinstance(types, list):
            raise ParseError(NAME, resp.url, "no instance_types list", field="data.instance_types")
        for t in types:
            if not isinstance(t, dict) or not isinstance(t.get("variants"), list):
                raise ParseError(
                    NAME,
                    resp.url,
                    "instance type without variants",
                    field="instance_types[].variants",
                )
            for v in t["variants"]:
                if not isinstance(v, dict) or not v.get("name"):
                    raise ParseError(
                        NAME, resp.url, "variant without a name", field="variants[].name"
                    )
                gpus = tk.to_decimal(v.get("gpu_count"))
                if not gpus:
                    continue  # CPU-only variant
                rows.found()
                try:
                    result.offers.extend(_offers(resp, t, v, gpus))
                except RowError as exc:
                    rows.skip(resp.url, f"variant {v['name']}", exc)
    rows.require_offers(
        responses,
        default_field="variants[].gpu_count",
        none_found="no GPU variant",
        all_failed="every GPU variant failed to parse",
    )
    return result


def _gib(v: dict[str, Any], field: str) -> float | None:
    n = tk.to_decimal(v.get(field))
    return float(n / BYTES_PER_GIB) if n else None


def _offers(resp: Response, t: dict[str, Any], v: dict[str, Any], gpus: Decimal) -> list[Offer]:
    cents = tk.require_decimal(v.get("cost_per_hour"), "cost_per_hour")
    gpu = t.get("brand_short")
    if not gpu:
        raise RowError("instance type without brand_short (GPU name)", "brand_short")
    dcs = v.get("nodes_per_dc")
    if not isinstance(dcs, dict) or not dcs:
        raise RowError("nodes_per_dc is not a non-empty object", "nodes_per_dc")
    free = v.get("available_nodes_per_dc") or {}
    return [
        tk.offer(
            resp,
            instance_type=str(v["name"]),
            region=str(dc),
            pricing_model="on_demand",
            currency="USD",  # cost_per_hour is in US cents
            price_per_hour=float(cents / tk.CENTS_PER_UNIT),
            gpu_count=float(gpus),
            gpu_name_raw=str(gpu),
            gpu_memory_gb=_gib(v, "vram"),
            vcpus=float(v["cpu_count"]) if v.get("cpu_count") is not None else None,
            memory_gb=_gib(v, "dram"),
            price_unit_published="hour",
            extra={
                "cost_per_hour_cents": tk.jsonable(cents),
                "nodes": tk.jsonable(n),
                "available_nodes": tk.jsonable(free.get(dc)) if isinstance(free, dict) else None,
                "disk_gib": _gib(v, "disk"),
            },
        )
        for dc, n in sorted(dcs.items())
    ]


PROVIDER = ProviderSpec(
    name=NAME,
    title="CloudRift",
    source_urls=("https://api.cloudrift.ai/api/v1/instance-types/list",),
    pricing_models=("on_demand",),
    validated_against="documented schema only",
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(
            API_KEY_SETTING,
            secret=True,
            help="optional CloudRift API key (the instance-type catalogue answers without one)",
        ),
    ),
    pricing_page_url="https://www.cloudrift.ai/pricing",
    notes=(
        "POST catalogue, no key needed. Fields as read by dstackai/gpuhunt providers/cloudrift.py "
        "and dstack's CloudRift client; no live recording found."
    ),
)
