"""Hyperstack (NexGen Cloud): GPU VM flavors priced from the pricebook.

Sources (both with the account's key in the `api_key` header; a missing
`HYPERSTACK_API_KEY` skips the provider; no paging):

- `GET https://infrahub-api.nexgencloud.com/v1/core/flavors`: `{"status", "message",
  "data": [{gpu, region_name, flavors: [{id, name, region_name, cpu, ram (GB), disk,
  gpu, gpu_count, stock_available, ...}]}]}` — what can be launched where.
- `GET https://infrahub-api.nexgencloud.com/v1/pricebook`: a bare JSON array (Hyperstack's
  documented exception to its envelope) of `{id, name, value, original_value,
  discount_applied, start_time, end_time}`, the hourly price of each resource; GPU entries
  are named like the flavors' `gpu` field and priced per GPU.

Output: one on-demand offer per (GPU flavor, region) at `value(gpu) x gpu_count` USD per
hour: Hyperstack bills GPU VMs per GPU-hour with the flavor's vCPUs and RAM included.
`stock_available` goes to `extra`. The response kind is read from the content (array =
pricebook, object with `data` = flavors); a flavors list alone carries no price and fails
with a message asking for the pricebook, a pricebook alone gives no offer either.
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

NAME = "hyperstack"
DEFAULT_BASE_URL = "https://infrahub-api.nexgencloud.com/v1"
FLAVORS_PATH = "core/flavors"
PRICEBOOK_PATH = "pricebook"
API_KEY_SETTING = "HYPERSTACK_API_KEY"


async def fetch(ctx: FetchContext) -> list[Response]:
    # Required in the declaration below: the run skips the provider before fetch without it.
    key = ctx.settings[API_KEY_SETTING]
    headers = {"api_key": key, "Accept": "application/json"}
    return [
        await ctx.client.get(
            ctx.url(path), provider=NAME, kind=kind, headers=headers, secrets=[key]
        )
        for path, kind in ((FLAVORS_PATH, "flavors"), (PRICEBOOK_PATH, "pricebook"))
    ]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    prices: dict[str, Decimal] = {}
    groups: list[tuple[Response, list[Any]]] = []
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, expect=(dict, list), exact=True)
        if isinstance(doc, list):  # the pricebook
            for entry in doc:
                if not isinstance(entry, dict) or "name" not in entry:
                    raise ParseError(
                        NAME, resp.url, "entry without a name", field="pricebook[].name"
                    )
                value = tk.to_decimal(entry.get("value"))
                if value is not None:
                    prices[str(entry["name"])] = value
        elif isinstance(doc, dict) and isinstance(doc.get("data"), list):
            if doc.get("status") is False:
                raise ParseError(
                    NAME, resp.url, f"API error: {doc.get('message')!r}", field="status"
                )
            groups.append((resp, doc["data"]))
        else:
            raise ParseError(
                NAME, resp.url, "neither a pricebook array nor a flavors 'data' list", field="body"
            )
    if groups and not prices:
        raise ParseError(
            NAME,
            groups[0][0].url,
            "flavors carry no prices: parse them together with the /pricebook response",
            field="pricebook",
        )
    for resp, data in groups:
        for group in data:
            if not isinstance(group, dict) or not isinstance(group.get("flavors"), list):
                raise ParseError(
                    NAME, resp.url, "group without a flavors list", field="data[].flavors"
                )
            for flavor in group["flavors"]:
                if not isinstance(flavor, dict) or not flavor.get("name"):
                    raise ParseError(
                        NAME, resp.url, "flavor without a name", field="flavors[].name"
                    )
                if not tk.to_decimal(flavor.get("gpu_count")):
                    continue  # CPU-only flavor
                rows.found()
                try:
                    result.offers.append(_offer(resp, flavor, group, prices))
                except RowError as exc:
                    rows.skip(resp.url, f"flavor {flavor['name']}", exc)
    rows.require_offers(
        responses,
        default_field="data[].flavors[].gpu_count",
        none_found="no GPU flavor (a flavors response is needed besides the pricebook)",
        all_failed="every GPU flavor failed to parse",
    )
    return result


def _offer(
    resp: Response, flavor: dict[str, Any], group: dict[str, Any], prices: dict[str, Decimal]
) -> Offer:
    gpus = tk.require_decimal(flavor.get("gpu_count"), "gpu_count")
    gpu = flavor.get("gpu") or group.get("gpu")
    if not gpu:
        raise RowError("GPU flavor without a gpu name", "gpu")
    if gpu not in prices:
        raise RowError(f"GPU {gpu!r} has no pricebook entry", "pricebook")
    per_gpu = prices[gpu]
    if per_gpu <= 0:
        raise RowError(f"pricebook value {per_gpu} for {gpu!r} is not positive", "pricebook")
    region = flavor.get("region_name") or group.get("region_name")
    if not region:
        raise RowError("flavor without a region", "region_name")
    return tk.offer(
        resp,
        instance_type=str(flavor["name"]),
        region=str(region),
        pricing_model="on_demand",
        currency="USD",  # Hyperstack bills in USD
        price_per_hour=float(per_gpu * gpus),
        gpu_count=float(gpus),
        gpu_name_raw=str(gpu),
        vcpus=tk.to_float(flavor.get("cpu")),
        memory_gb=tk.to_float(flavor.get("ram")),
        price_unit_published="gpu_hour",
        extra={
            "price_per_gpu_hour": float(per_gpu),
            "stock_available": flavor.get("stock_available"),
            "disk_gb": tk.to_float(flavor.get("disk")),
            "ephemeral_gb": tk.to_float(flavor.get("ephemeral")),
        },
    )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Hyperstack",
    source_urls=(
        "https://infrahub-api.nexgencloud.com/v1/core/flavors",
        "https://infrahub-api.nexgencloud.com/v1/pricebook",
    ),
    pricing_models=("on_demand",),
    validated_against="documented schema only",
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(
            API_KEY_SETTING,
            secret=True,
            required=True,
            help="Hyperstack API key: https://console.hyperstack.cloud/api-keys; sent as api_key",
        ),
    ),
    pricing_page_url="https://www.hyperstack.cloud/gpu-pricing",
    notes=(
        "Price = pricebook per-GPU value x flavor gpu_count. Shapes: Hyperstack API reference "
        "(https://docs.hyperstack.cloud/docs/api-reference/list-flavors, .../get-pricebook); "
        "no live recording found."
    ),
)
