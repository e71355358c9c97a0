"""Seeweb: GPU Cloud Server (ECS) plans and their hourly prices from the ECS API.

Source: `GET https://api.seeweb.it/ecs/v2/plans` with the account's token in the
`X-APITOKEN` header (a missing `SEEWEB_API_TOKEN` skips the provider). One body, no
paging: `{"status": "ok", "plans": [{name, cpu, ram (MB), disk, gpu (count, a string),
gpu_label ("L40s 48GB"), hourly_price, available, available_regions[{location}]}]}`.

Output: one on-demand offer per (GPU plan, region in `available_regions`) at
`hourly_price`. The API carries no currency field; Seeweb is an Italian provider whose
price list is in euros, so prices are recorded as EUR (converted with the ECB rate of the
day downstream). Plans with `gpu` "0" are CPU-only and dropped; plans with
`available: false` are not sold and are dropped too.
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

NAME = "seeweb"
DEFAULT_BASE_URL = "https://api.seeweb.it/ecs/v2"
PLANS_PATH = "plans"
TOKEN_SETTING = "SEEWEB_API_TOKEN"
CURRENCY = "EUR"


async def fetch(ctx: FetchContext) -> list[Response]:
    # Required in the declaration below: the run skips the provider before fetch without it.
    token = ctx.settings[TOKEN_SETTING]
    resp = await ctx.client.get(
        ctx.url(PLANS_PATH),
        provider=NAME,
        kind="plans",
        headers={"X-APITOKEN": token, "Accept": "application/json"},
        secrets=[token],
    )
    return [resp]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, exact=True, keys={"plans": list})
        if doc.get("status") not in (None, "ok"):
            raise ParseError(NAME, resp.url, f"status {doc.get('status')!r}", field="status")
        for plan in doc["plans"]:
            if not isinstance(plan, dict) or not plan.get("name"):
                raise ParseError(NAME, resp.url, "plan without a name", field="plans[].name")
            gpus = tk.to_decimal(plan.get("gpu"))
            if not gpus or plan.get("available") is False:
                continue  # CPU-only, or not sold
            rows.found()
            try:
                result.offers.extend(_offers(resp, plan, gpus))
            except RowError as exc:
                rows.skip(resp.url, f"plan {plan['name']}", exc)
    rows.require_offers(
        responses,
        default_field="plans[].gpu",
        none_found="no GPU plan",
        all_failed="every GPU plan failed to parse",
    )
    return result


def _offers(resp: Response, plan: dict[str, Any], gpus: Any) -> list[Offer]:
    price = tk.require_decimal(plan.get("hourly_price"), "hourly_price")
    label = plan.get("gpu_label")
    if not label:
        raise RowError("GPU plan without gpu_label", "gpu_label")
    regions = plan.get("available_regions")
    if not isinstance(regions, list) or not all(
        isinstance(r, dict) and r.get("location") for r in regions
    ):
        raise RowError("available_regions is not a list of {location}", "available_regions")
    ram_mb = tk.to_decimal(plan.get("ram"))
    return [
        tk.offer(
            resp,
            instance_type=str(plan["name"]),
            region=str(r["location"]),
            pricing_model="on_demand",
            currency=CURRENCY,
            price_per_hour=float(price),
            gpu_count=float(gpus),
            gpu_name_raw=str(label),  # "L40s 48GB": the resolver reads the memory from it
            vcpus=tk.to_float(plan.get("cpu")),
            memory_gb=float(ram_mb / tk.MIB_PER_GIB) if ram_mb is not None else None,
            price_unit_published="hour",
            extra={"plan_id": plan.get("id"), "disk_gb": tk.to_float(plan.get("disk"))},
        )
        for r in regions
    ]


PROVIDER = ProviderSpec(
    name=NAME,
    title="Seeweb",
    source_urls=("https://api.seeweb.it/ecs/v2/plans",),
    pricing_models=("on_demand",),
    validated_against="documented schema only",
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(
            TOKEN_SETTING,
            secret=True,
            required=True,
            help="Seeweb API token: Seeweb panel > API; sent as X-APITOKEN",
        ),
    ),
    currencies=(CURRENCY,),
    pricing_page_url="https://www.seeweb.it/en/products/cloud-server-gpu",
    notes=(
        "No currency in the API; recorded as EUR (Seeweb's price list currency). Shape: the "
        "gpuhunt authors' copy of the live /plans shape (dstackai/gpuhunt "
        "src/tests/providers/test_seeweb.py @ 35841515); no live recording found."
    ),
)
