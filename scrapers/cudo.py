"""Cudo Compute: per-GPU hourly prices of its VM machine types, per data center.

Source: `GET https://rest.compute.cudo.org/v1/vms/machine-types` (public, no key; one body,
no paging): `{"machineTypes": [{dataCenterId, machineType, gpuModel, gpuModelId,
gpuPriceHr{value}, vcpuPriceHr{value}, memoryGibPriceHr{value}, minStorageGibPriceHr{value},
ipv4PriceHr{value}, minVcpuPerGpu, maxVcpuPerGpu, ..., maxGpuFree, totalGpuFree}]}`.
Prices are decimal strings in USD.

Output: one on-demand offer per (GPU machine type, data center) at `gpuPriceHr`, the price of
one GPU per hour. Cudo bills a VM by its parts: vCPUs, memory, storage and an IPv4 address
come on top at their own unit prices, and the buyer chooses how many (within the
per-GPU ranges). There is no fixed instance price to publish, so the offer is the GPU part
(`price_scope = "gpu_only"`) and the other unit prices are kept in `extra`.
CPU-only machine types (empty `gpuModelId`) are dropped; free GPU counts go to `extra`.
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
)

NAME = "cudo"
DEFAULT_BASE_URL = "https://rest.compute.cudo.org/v1"
MACHINE_TYPES_PATH = "vms/machine-types"
# The unit prices a VM adds to its GPUs, kept beside the GPU price.
COMPONENT_PRICES = (
    "vcpuPriceHr",
    "memoryGibPriceHr",
    "minStorageGibPriceHr",
    "ipv4PriceHr",
)


async def fetch(ctx: FetchContext) -> list[Response]:
    return [
        await ctx.client.get(
            ctx.url(MACHINE_TYPES_PATH),
            provider=NAME,
            kind="machine-types",
            headers={"Accept": "application/json"},
        )
    ]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, exact=True, keys={"machineTypes": list})
        for mt in doc["machineTypes"]:
            if not isinstance(mt, dict) or "dataCenterId" not in mt or "machineType" not in mt:
                raise ParseError(
                    NAME,
                    resp.url,
                    "machine type without dataCenterId/machineType",
                    field="machineTypes[].machineType",
                )
            if not mt.get("gpuModelId"):
                continue  # CPU-only machine type
            rows.found()
            try:
                result.offers.append(_offer(resp, mt))
            except RowError as exc:
                rows.skip(resp.url, f"{mt['machineType']} in {mt['dataCenterId']}", exc)
    rows.require_offers(
        responses,
        default_field="machineTypes[].gpuModelId",
        none_found="no GPU machine type",
        all_failed="every GPU machine type failed to parse",
    )
    return result


def _price(mt: dict[str, Any], field: str) -> Any:
    money = mt.get(field)
    return money.get("value") if isinstance(money, dict) else None


def _offer(resp: Response, mt: dict[str, Any]) -> Offer:
    gpu_price = tk.require_decimal(_price(mt, "gpuPriceHr"), "gpuPriceHr.value")
    components = {f: tk.to_decimal(_price(mt, f)) for f in COMPONENT_PRICES}
    return tk.offer(
        resp,
        instance_type=str(mt["machineType"]),
        region=str(mt["dataCenterId"]),
        pricing_model="on_demand",
        currency="USD",  # the API's prices are USD
        price_per_hour=float(gpu_price),
        gpu_count=1.0,
        gpu_name_raw=str(mt.get("gpuModel") or mt["gpuModelId"]),
        price_unit_published="gpu_hour",
        price_scope="gpu_only",  # vCPU, RAM, disk and IPv4 are billed on top
        extra={
            "price_scope": "GPU only; vCPUs, RAM, storage and IPv4 billed on top",
            "gpu_model_id": mt["gpuModelId"],
            "cpu_model": mt.get("cpuModel"),
            **{f: tk.jsonable(v) for f, v in components.items()},
            "vcpu_per_gpu_range": [mt.get("minVcpuPerGpu"), mt.get("maxVcpuPerGpu")],
            "max_gpu_free": mt.get("maxGpuFree"),
            "total_gpu_free": mt.get("totalGpuFree"),
        },
    )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Cudo Compute",
    source_urls=("https://rest.compute.cudo.org/v1/vms/machine-types",),
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: vms_machine-types_gpuhunt-fixture_2026-06.json "
        "(dstackai/gpuhunt src/tests/providers/test_cudo.py @ ed6d79e2, 2026-06-12)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    pricing_page_url="https://www.cudocompute.com/pricing",
    notes="Price is the GPU part only (per GPU-hour); vCPU/RAM/disk/IPv4 unit prices in extra.",
)
