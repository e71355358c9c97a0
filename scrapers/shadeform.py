"""Shadeform: a GPU marketplace that resells other clouds' instances under one API.

Source: `GET https://api.shadeform.ai/v1/instances/types` with the account's key in the
`X-API-KEY` header (a missing `SHADEFORM_API_KEY` skips the provider). One body, no paging:
`{"instance_types": [{cloud, shade_instance_type, cloud_instance_type, configuration{
num_gpus, gpu_type, vram_per_gpu_in_gb, vcpus, memory_in_gb, interconnect, ...},
hourly_price (US cents), availability[{region, available, display_name}], ...}]}`.

Output: one on-demand offer per (instance type, listed region) at `hourly_price / 100` USD.
Every row is a **resold offer** of the underlying cloud: the instance type is
`<cloud>/<shade_instance_type>`, and `extra` names the cloud (`resold_from`), its own
instance type and the reseller, so a ranking can tell Shadeform's price for a Lambda or
Massed Compute machine from the cloud's own list price. `available` (capacity right now)
is kept in `extra`, not in the offer key, so a sell-out does not look like a withdrawal.

Checked against a production answer of 2024-04-21 (293 types of 15 clouds): regions are the
clouds' own codes, including RunPod's "Any"/"any" and JarvisLabs' "Default" placeholders (kept
as listed); availability entries then had no `display_name`; RunPod types state 0 vCPUs/RAM.
"""

from __future__ import annotations

from collections.abc import Sequence
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

NAME = "shadeform"
DEFAULT_BASE_URL = "https://api.shadeform.ai/v1"
TYPES_PATH = "instances/types"
API_KEY_SETTING = "SHADEFORM_API_KEY"


async def fetch(ctx: FetchContext) -> list[Response]:
    # Required in the declaration below: the run skips the provider before fetch without it.
    key = ctx.settings[API_KEY_SETTING]
    resp = await ctx.client.get(
        ctx.url(TYPES_PATH),
        provider=NAME,
        kind="instances-types",
        headers={"X-API-KEY": key, "Accept": "application/json"},
        secrets=[key],
    )
    return [resp]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, exact=True, keys={"instance_types": list})
        for t in doc["instance_types"]:
            if not isinstance(t, dict) or not t.get("cloud") or not t.get("shade_instance_type"):
                raise ParseError(
                    NAME,
                    resp.url,
                    "instance type without cloud/shade_instance_type",
                    field="instance_types[].shade_instance_type",
                )
            rows.found()
            try:
                result.offers.extend(_offers(resp, t))
            except RowError as exc:
                rows.skip(resp.url, f"{t['cloud']}/{t['shade_instance_type']}", exc)
    rows.require_offers(
        responses,
        default_field="instance_types",
        none_found="no instance type listed",
        all_failed="every instance type failed to parse",
    )
    return result


def _offers(resp: Response, t: dict[str, Any]) -> list[Offer]:
    cents = tk.require_decimal(t.get("hourly_price"), "hourly_price")
    conf = t.get("configuration")
    if not isinstance(conf, dict):
        raise RowError("no configuration object", "configuration")
    gpus = tk.require_decimal(conf.get("num_gpus"), "configuration.num_gpus")
    gpu_type = conf.get("gpu_type")
    if not gpu_type:
        raise RowError("no GPU type", "configuration.gpu_type")
    interconnect = str(conf.get("interconnect") or "")
    # "sxm4"/"sxm5" tells the resolver the form factor; "pcie" is its default anyway.
    gpu_raw = f"{gpu_type} {interconnect.upper()}" if interconnect.startswith("sxm") else gpu_type
    availability = t.get("availability")
    if not isinstance(availability, list) or not availability:
        raise RowError("no availability list (regions)", "availability")
    out = []
    for a in availability:
        if not isinstance(a, dict) or not a.get("region"):
            raise RowError("availability entry without a region", "availability[].region")
        out.append(
            tk.offer(
                resp,
                instance_type=f"{t['cloud']}/{t['shade_instance_type']}",
                region=str(a["region"]),
                pricing_model="on_demand",
                currency="USD",  # hourly_price is in US cents
                price_per_hour=float(cents / tk.CENTS_PER_UNIT),
                gpu_count=float(gpus),
                gpu_name_raw=str(gpu_raw),
                gpu_memory_gb=tk.to_float(conf.get("vram_per_gpu_in_gb")),
                vcpus=_size(conf.get("vcpus")),
                memory_gb=_size(conf.get("memory_in_gb")),
                price_unit_published="hour",
                extra={
                    "reseller": NAME,
                    "resold_from": t["cloud"],
                    "cloud_instance_type": t.get("cloud_instance_type"),
                    "shade_instance_type": t["shade_instance_type"],
                    "hourly_price_cents": int(cents) if cents == cents.to_integral() else None,
                    "available": a.get("available"),
                    "region_name": a.get("display_name"),
                    "interconnect": interconnect or None,
                    "deployment_type": t.get("deployment_type"),
                },
            )
        )
    return out


def _size(value: Any) -> float | None:
    # The live answer gives RunPod's types `vcpus: 0, memory_in_gb: 0` (RunPod assigns them per
    # pod): zero means "not stated", not a machine without CPUs.
    d = tk.positive_decimal(value)
    return float(d) if d is not None else None


PROVIDER = ProviderSpec(
    name=NAME,
    title="Shadeform (reseller)",
    resells=True,
    source_urls=("https://api.shadeform.ai/v1/instances/types",),
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: v1_instances_types_take-home-capture_2024-04-21_excerpt.json (2024-04-21; "
        "16 of 293 instance types, one per cloud, from utkukaratas/assignment-shadeform "
        "backend/src/lib/fake-data.ts @ 48d4dcbd)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(
            API_KEY_SETTING,
            secret=True,
            required=True,
            help="Shadeform API key: https://platform.shadeform.ai/settings/api",
        ),
    ),
    pricing_page_url="https://www.shadeform.ai/pricing",
    notes=(
        "Aggregator: every row is a resold offer of the cloud in extra.resold_from. Recording: "
        "the production answer a Shadeform take-home project saved on 2024-04-21 (see "
        "tests/fixtures/shadeform/README.md); the vendor's quickstart example is kept as a "
        "second fixture."
    ),
)
