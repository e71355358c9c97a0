"""JarvisLabs: per-GPU hourly prices of GPU VMs and containers from the server-meta API.

Source: `GET https://backendn.jarvislabs.net/misc/server_meta` with the account's API key
(`Authorization: Bearer <JARVISLABS_API_KEY>`; a missing key skips the provider). One body,
no paging: `{"server_meta": [{gpu_type, region, price_per_hour, spot_price, vram,
cpus_per_gpu, ram_per_gpu, num_gpus, workload_type, num_free_devices, ...}],
"cpu_meta": {...}}`.

Output: one offer per server-meta row, priced per GPU-hour as JarvisLabs publishes it
(`price_per_hour` is per GPU; an instance takes 1..`num_gpus` GPUs at that rate, so the
offer is the 1-GPU instance: gpu_count 1, vCPUs and RAM per GPU). A row with a
`spot_price` also gives a spot offer. The instance type is `<gpu_type>` for VMs (rows with
`workload_type` "vm" or null, which JarvisLabs returns for older VM-capable rows) and
`<gpu_type>:container` for containers, so both products keep distinct offer keys. Free
device counts go to `extra` (capacity, not price). CPU-only `cpu_meta` is not a GPU offer.
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

NAME = "jarvislabs"
DEFAULT_BASE_URL = "https://backendn.jarvislabs.net"
SERVER_META_PATH = "misc/server_meta"
API_KEY_SETTING = "JARVISLABS_API_KEY"
VM_WORKLOADS = ("vm", None)


async def fetch(ctx: FetchContext) -> list[Response]:
    # Required in the declaration below: the run skips the provider before fetch without it.
    key = ctx.settings[API_KEY_SETTING]
    resp = await ctx.client.get(
        ctx.url(SERVER_META_PATH),
        provider=NAME,
        kind="server_meta",
        headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
        secrets=[key],
    )
    return [resp]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, exact=True, keys={"server_meta": list})
        for i, row in enumerate(doc["server_meta"]):
            if not isinstance(row, dict):
                raise ParseError(NAME, resp.url, f"row {i} is not an object", field="server_meta")
            rows.found()
            try:
                result.offers.extend(_offers(resp, row))
            except RowError as exc:
                rows.skip(resp.url, f"row {i} ({row.get('gpu_type')} {row.get('region')})", exc)
    rows.require_offers(
        responses,
        default_field="server_meta",
        none_found="no GPU row in server_meta",
        all_failed="every server_meta row failed to parse",
    )
    return result


def _offers(resp: Response, row: dict[str, Any]) -> list[Offer]:
    gpu_type, region = row.get("gpu_type"), row.get("region")
    if not gpu_type:
        raise RowError("no gpu_type", "gpu_type")
    if not region:
        raise RowError("no region", "region")
    workload = row.get("workload_type")
    instance = str(gpu_type) if workload in VM_WORKLOADS else f"{gpu_type}:{workload}"
    prices = [("on_demand", tk.require_decimal(row.get("price_per_hour"), "price_per_hour"))]
    spot = tk.to_decimal(row.get("spot_price"))
    if spot is not None and spot > 0:
        prices.append(("spot", spot))
    extra = {
        "workload_type": workload or "vm",
        "max_gpus_per_instance": tk.to_float(row.get("num_gpus")),
        "num_free_devices": tk.jsonable(row.get("num_free_devices")),
        "spot_num_free_devices": tk.jsonable(row.get("spot_num_free_devices")),
    }
    return [
        tk.offer(
            resp,
            instance_type=instance,
            region=str(region),
            pricing_model=model,
            currency="USD",  # JarvisLabs prices in USD
            price_per_hour=float(price),
            gpu_count=1.0,
            gpu_name_raw=str(gpu_type),
            gpu_memory_gb=tk.to_float(row.get("vram")),  # per GPU, a numeric string
            vcpus=tk.to_float(row.get("cpus_per_gpu")),
            memory_gb=tk.to_float(row.get("ram_per_gpu")),
            price_unit_published="gpu_hour",
            extra=extra,
        )
        for model, price in prices
    ]


PROVIDER = ProviderSpec(
    name=NAME,
    title="JarvisLabs",
    source_urls=("https://backendn.jarvislabs.net/misc/server_meta",),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: misc_server_meta_gpuhunt-fixture_2026-08.json "
        "(dstackai/gpuhunt src/tests/providers/test_jarvislabs.py @ 35841515, 2026-08-14; "
        "one synthetic 'unknown-region' row removed)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(
            API_KEY_SETTING,
            secret=True,
            required=True,
            help="JarvisLabs API key: https://jarvislabs.ai/settings",
        ),
    ),
    pricing_page_url="https://jarvislabs.ai/pricing",
    notes="Per-GPU prices: one 1-GPU offer per server_meta row; containers as '<gpu>:container'.",
)
