"""Vultr: cloud GPU and bare-metal GPU plans from the public plans API.

Source: `GET https://api.vultr.com/v2/plans?type=all&per_page=500` (cloud instances; GPU
plans have `type: "vcg"`, `gpu_type` and `gpu_vram_gb`) and
`GET https://api.vultr.com/v2/plans-metal?per_page=500` (bare metal; GPU servers carry the
GPU only in the plan id, e.g. `vbm-112c-2048gb-8-h100-gpu`). Both are public (no key) and
page with a cursor in `meta.links.next`.

Output: one on-demand offer per (GPU plan, location) at `hourly_cost` (USD), plus a spot
offer where a bare-metal plan publishes `hourly_cost_preemptible`.

Fractional GPUs: Vultr sells slices of one GPU (`vcg-a100-1c-6g-4vram` = 4 GB of an 80 GB
A100). `gpu_count` = `gpu_vram_gb` / the full GPU's memory from
`scrapers/data/vultr_gpu_types.csv`, so the 4 GB slice counts 0.05 GPU and a plan with
160 GB of A100 counts 2 GPUs; `gpu_memory_gb` stays the full GPU's memory (per GPU) and the
slice size is kept in `extra["gpu_vram_gb"]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

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
)

NAME = "vultr"
DEFAULT_BASE_URL = "https://api.vultr.com/v2"
PLANS_PATH = "plans"
METAL_PATH = "plans-metal"
PER_PAGE = 500  # the documented maximum page size
MAX_PAGES = 50  # a runaway cursor loop fails the provider instead of hanging the run
GPU_TABLE = "vultr_gpu_types.csv"
# Bare-metal GPU plans name the GPU only in the id: "...-<count>-<gpu>-gpu".
METAL_GPU_RE = re.compile(r"-(\d+)-([a-z0-9]+)-gpu$")


def gpu_table() -> dict[str, dict[str, str]]:
    return tk.table_by(GPU_TABLE, "gpu_key")


async def fetch(ctx: FetchContext) -> list[Response]:
    """Both plan lists, following `meta.links.next` cursors until the last page."""
    out: list[Response] = []
    for path, params, kind in (
        (PLANS_PATH, {"type": "all"}, "plans"),
        (METAL_PATH, {}, "plans-metal"),
    ):
        url = ctx.url(path)
        cursor = ""
        for _ in range(MAX_PAGES):
            query: dict[str, Any] = {**params, "per_page": PER_PAGE}
            if cursor:
                query["cursor"] = cursor
            resp = await ctx.client.get(url, provider=NAME, kind=kind, params=query)
            out.append(resp)
            cursor = _next_cursor(resp)
            if not cursor:
                break
        else:
            raise ProviderError(
                NAME, url, f"still paging after {MAX_PAGES} pages", field="meta.links.next"
            )
    return out


def _next_cursor(resp: Response) -> str:
    try:
        meta = tk.peek_json(resp).get("meta") or {}  # type: ignore[union-attr]
        return str((meta.get("links") or {}).get("next") or "")
    except AttributeError:
        return ""  # parse reports the broken body with the right field name


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, exact=True)
        if "plans" in doc:
            _parse_list(resp, doc["plans"], "plans", _vm_gpu, result, rows)
        elif "plans_metal" in doc:
            _parse_list(resp, doc["plans_metal"], "plans_metal", _metal_gpu, result, rows)
        else:
            raise ParseError(
                NAME, resp.url, "neither 'plans' nor 'plans_metal' in the body", field="plans"
            )
    # Every GPU plan failing means the layout changed, not one row.
    rows.require_offers(
        responses,
        default_field="gpu_type",
        none_found="no GPU plan found in any plan list",
        all_failed="every GPU plan failed to parse",
    )
    return result


def _parse_list(
    resp: Response,
    plans: Any,
    list_key: str,
    gpu_of: Callable[[dict[str, Any], ParseResult], dict[str, Any] | None],
    result: ParseResult,
    rows: tk.Rows,
) -> None:
    if not isinstance(plans, list):
        raise ParseError(NAME, resp.url, "plan list is not an array", field=list_key)
    src = tk.source(resp)
    for plan in plans:
        if not isinstance(plan, dict) or "id" not in plan:
            raise ParseError(NAME, resp.url, "plan without an id", field=f"{list_key}[].id")
        with rows.guard(resp.url, f"plan {plan['id']}"):
            gpu = gpu_of(plan, result)
            if gpu is None:
                continue  # a CPU-only plan
            rows.found()
            result.offers.extend(_offers(src, plan, gpu))


def _decimal(plan: dict[str, Any], field: str) -> Decimal:
    return tk.require_decimal(plan.get(field), field, minimum="non_negative")


def _vm_gpu(plan: dict[str, Any], result: ParseResult) -> dict[str, Any] | None:
    gpu_type = plan.get("gpu_type")
    if not gpu_type:
        return None
    vram_gb = _decimal(plan, "gpu_vram_gb")
    if vram_gb <= 0:
        raise RowError(f"gpu_vram_gb {vram_gb} on a GPU plan", "gpu_vram_gb")
    row = gpu_table().get(gpu_type)
    extra: dict[str, Any] = {"gpu_vram_gb": float(vram_gb), "plan_type": plan.get("type")}
    if row is None:
        # Unknown board: the slice size is known but not the whole GPU, so count it as one
        # GPU of that memory and report it; the table needs a row.
        result.unknown.append(
            f"{NAME}: gpu_type {gpu_type!r} (plan {plan['id']}) not in {GPU_TABLE}"
        )
        extra["gpu_count_assumed"] = True
        return {
            "name": gpu_type,
            "hint": None,
            "count": Decimal(1),
            "memory_gb": vram_gb,
            "extra": extra,
        }
    full_gb = Decimal(row["full_gpu_memory_gb"])
    return {
        "name": gpu_type,
        "hint": row["gpu_model_hint"],
        "count": vram_gb / full_gb,
        "memory_gb": full_gb,
        "extra": extra,
    }


def _metal_gpu(plan: dict[str, Any], result: ParseResult) -> dict[str, Any] | None:
    match = METAL_GPU_RE.search(str(plan["id"]))
    if not match:
        return None
    count, token = Decimal(match.group(1)), match.group(2)
    row = gpu_table().get(token)
    # In plans-metal `type` is the disk type ("NVMe"), not a plan family.
    extra: dict[str, Any] = {"gpu_from_plan_id": True, "disk_type": plan.get("type")}
    if row is None:
        result.unknown.append(
            f"{NAME}: bare-metal GPU {token!r} (plan {plan['id']}) not in {GPU_TABLE}"
        )
        return {"name": token, "hint": None, "count": count, "memory_gb": None, "extra": extra}
    return {
        "name": token,
        "hint": row["gpu_model_hint"],
        "count": count,
        "memory_gb": Decimal(row["full_gpu_memory_gb"]),
        "extra": extra,
    }


def _offers(src: tk.Source, plan: dict[str, Any], gpu: dict[str, Any]) -> list[Offer]:
    locations = plan.get("locations")
    if not isinstance(locations, list):
        raise RowError("locations is not a list", "locations")
    prices = [("on_demand", _decimal(plan, "hourly_cost"), plan.get("monthly_cost"))]
    if plan.get("hourly_cost_preemptible"):
        prices.append(
            (
                "spot",
                _decimal(plan, "hourly_cost_preemptible"),
                plan.get("monthly_cost_preemptible"),
            )
        )
    vcpus = plan.get("vcpu_count", plan.get("cpu_threads"))
    memory_gb = (
        # `ram` is in MB that are MiB, as the API documents.
        float(Decimal(str(plan["ram"])) / tk.MIB_PER_GIB) if plan.get("ram") is not None else None
    )
    offers = []
    for pricing_model, hourly, monthly in prices:
        if hourly <= 0:
            raise RowError(f"{pricing_model} price {hourly} is not positive", "hourly_cost")
        for location in locations:
            offers.append(
                src.offer(
                    instance_type=str(plan["id"]),
                    region=str(location),
                    pricing_model=pricing_model,
                    currency="USD",  # the plans API prices in USD only
                    price_per_hour=float(hourly),
                    gpu_count=float(gpu["count"]),
                    gpu_name_raw=gpu["name"],
                    gpu_model_hint=gpu["hint"],
                    gpu_memory_gb=float(gpu["memory_gb"]) if gpu["memory_gb"] is not None else None,
                    vcpus=float(vcpus) if vcpus is not None else None,
                    memory_gb=memory_gb,
                    price_unit_published="hour",
                    extra={
                        **gpu["extra"],
                        "monthly_cost": float(monthly) if monthly is not None else None,
                    },
                )
            )
    return offers


PROVIDER = ProviderSpec(
    name=NAME,
    title="Vultr",
    pricing_page_url="https://www.vultr.com/pricing/",
    source_urls=(
        "https://api.vultr.com/v2/plans?type=all&per_page=500",
        "https://api.vultr.com/v2/plans-metal?per_page=500",
    ),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: v2_plans_type-all_per_page-500_gpuhunt-fixture_excerpt.json and "
        "v2_plans-metal_per_page-500_gpuhunt-fixture_excerpt.json (2025-01-08)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    notes="Fractional GPU plans: gpu_count = gpu_vram_gb / full GPU memory (scrapers/data/vultr_gpu_types.csv).",
)
