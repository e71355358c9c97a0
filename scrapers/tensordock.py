"""TensorDock Marketplace: per-GPU prices of independent host nodes, aggregated per market.

Source: `GET https://marketplace.tensordock.com/api/v0/client/deploy/hostnodes` (public,
no key; documented in TensorDock's v0 Postman collection). The answer maps host node ids
to `{"location": {"country", "region", "city"}, "specs": {"cpu", "gpu", "ram",
"storage"}}`; each `specs.gpu` entry is `{"<v0 GPU name>": {"amount", "price", "vram",
"pcie", "rtx", "gtx"}}` with `price` in USD per GPU-hour and `amount` the GPUs free now.

Output: one on-demand offer per market = (v0 GPU name, GPU count, country), e.g.
instance_type "8x l40-pcie-48gb" in region "United States" (TensorDock's own country
spelling), price_per_hour = the cheapest host's GPU price x count, plus the 25th
percentile, median and number of hosts (scrapers/market.py).

What the price covers: TensorDock prices every resource separately (`cpu.price` per vCPU,
`ram.price` per GB, `storage.price` per GB, all per hour) and the renter picks the amounts,
so there is no fixed instance price. The published price is the GPU part only
(price_unit_published "gpu_hour", `extra["price_covers"] = "gpu_only"`); the cheapest
host's CPU/RAM/storage unit prices go to `extra` so a full configuration can be priced.
GPU counts: 1, 2, 4 and 8, as far as the host has that many free (`amount`).

Whole instances, so the GPU part is not ranked against whole machines of other clouds: for
every market a second offer prices the smallest sensible machine built from the parts the
host prices (`price_scope = "instance"`, its own offer key `"<n>x <gpu> <v>vcpu-<r>gb-<d>gb"`):

    n GPUs + n x 2 vCPUs + n x 8 GB RAM + 30 GB disk, each at the host's own unit price.

TensorDock's API states no minimum vCPUs or RAM per GPU (the renter picks any amount), so
2 vCPUs and 8 GB per GPU is our floor for a usable GPU machine (RAM in even GB, as the
deploy form takes it); 30 GB is the smallest disk that holds the Ubuntu image (the figure
gpuhunt's TensorDock provider uses as its minimum disk). A host whose free vCPUs, RAM or
disk (`amount`) cannot hold that machine, or that prices none of them, does not count for
the instance market. The rule and the amounts are in `extra["composition"]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
)
from scrapers.market import aggregate, format_count

NAME = "tensordock"
DEFAULT_BASE_URL = "https://marketplace.tensordock.com"
HOSTNODES_PATH = "api/v0/client/deploy/hostnodes"
GPU_COUNTS = (1, 2, 4, 8)
UNKNOWN_REGION = "unknown"
# The smallest sensible whole machine (see the module docstring): per GPU, plus one disk.
INSTANCE_VCPUS_PER_GPU = 2
INSTANCE_RAM_GB_PER_GPU = 8
INSTANCE_DISK_GB = 30
COMPOSITION_RULE = (
    f"n GPUs + {INSTANCE_VCPUS_PER_GPU} vCPUs and {INSTANCE_RAM_GB_PER_GPU} GB RAM per GPU + "
    f"{INSTANCE_DISK_GB} GB disk, at the host's unit prices per hour"
)


async def fetch(ctx: FetchContext) -> list[Response]:
    resp = await ctx.client.get(
        ctx.url(HOSTNODES_PATH),
        provider=NAME,
        kind="hostnodes",
        headers={"Accept": "application/json"},
    )
    return [resp]


@dataclass(frozen=True)
class _HostOffer:
    hostnode_id: str
    gpu_name: str
    gpu_count: int
    vram_gb: Decimal | None
    region: str
    price_per_gpu_hour: Decimal
    specs: dict[str, Any]
    location: dict[str, Any]
    source: tk.Source

    @property
    def price_per_hour(self) -> Decimal:
        return self.price_per_gpu_hour * self.gpu_count

    @property
    def parts(self) -> dict[str, int]:
        """What the smallest sensible machine with these GPUs takes of each resource."""
        return {
            "cpu": INSTANCE_VCPUS_PER_GPU * self.gpu_count,
            "ram": INSTANCE_RAM_GB_PER_GPU * self.gpu_count,
            "storage": INSTANCE_DISK_GB,
        }

    @property
    def instance_price_per_hour(self) -> Decimal | None:
        """GPUs + the parts at this host's unit prices; None when the host cannot hold the
        machine (too few free units) or does not price a part."""
        total = self.price_per_hour
        for resource, amount in self.parts.items():
            part = self.specs.get(resource)
            price = tk.to_decimal(part.get("price")) if isinstance(part, dict) else None
            free = tk.to_decimal(part.get("amount")) if isinstance(part, dict) else None
            if price is None or price < 0 or free is None or free < amount:
                return None
            total += price * amount
        return total


def _market(host: _HostOffer) -> tuple[str, int, str]:
    """A market: one GPU model and count in one country."""
    return (host.gpu_name, host.gpu_count, host.region)


def _hostnodes(resp: Response) -> dict[str, Any]:
    return tk.load_json(resp, NAME, keys={"hostnodes": dict}, field="hostnodes", exact=True)[
        "hostnodes"
    ]


def _region(location: Any) -> str:
    if (
        isinstance(location, dict)
        and isinstance(location.get("country"), str)
        and location["country"].strip()
    ):
        return location["country"].strip()
    return UNKNOWN_REGION


def _unit_price(specs: dict[str, Any], resource: str) -> float | None:
    part = specs.get(resource)
    price = tk.to_decimal(part.get("price")) if isinstance(part, dict) else None
    return float(price) if price is not None else None


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    hosts: list[_HostOffer] = []
    node_count = 0

    def skip(node_id: str, url: str, field: str, why: str) -> None:
        rows.skip(url, f"hostnode {node_id}", why, field=field)

    for resp in tk.fresh(responses):
        src = tk.source(resp)
        for node_id, node in _hostnodes(resp).items():
            node_count += 1
            specs = node.get("specs") if isinstance(node, dict) else None
            gpus = specs.get("gpu") if isinstance(specs, dict) else None
            if not isinstance(gpus, dict):
                skip(node_id, resp.url, "specs.gpu", "no 'specs.gpu' object")
                continue
            location = node.get("location") if isinstance(node.get("location"), dict) else {}
            for gpu_name, gpu in gpus.items():
                if not isinstance(gpu, dict):
                    skip(node_id, resp.url, "specs.gpu", f"GPU {gpu_name!r} is not an object")
                    continue
                price = tk.to_decimal(gpu.get("price"))
                amount = tk.to_decimal(gpu.get("amount"))
                if price is None or price <= 0:
                    skip(node_id, resp.url, "price", f"GPU {gpu_name!r} has no positive 'price'")
                    continue
                if amount is None:
                    skip(node_id, resp.url, "amount", f"GPU {gpu_name!r} has no 'amount'")
                    continue
                for count in GPU_COUNTS:
                    if count > amount:
                        break
                    hosts.append(
                        _HostOffer(
                            hostnode_id=str(node_id),
                            gpu_name=gpu_name,
                            gpu_count=count,
                            vram_gb=tk.to_decimal(gpu.get("vram")),
                            region=_region(location),
                            price_per_gpu_hour=price,
                            specs=specs,
                            location=location,
                            source=src,
                        )
                    )
    url = responses[0].url if responses else NAME
    if all(r.not_modified for r in responses):
        return result
    if node_count == 0:
        raise ParseError(NAME, url, "the hostnodes object is empty", field="hostnodes")
    if not hosts and rows.skipped:
        raise ParseError(
            NAME,
            url,
            f"no usable GPU on any of {node_count} host nodes",
            field=rows.most_common_field,
        )
    groups = aggregate(
        hosts,
        key=_market,
        price=lambda h: h.price_per_hour,
    )
    _instance_offers(hosts, result)
    for group in groups:
        gpu_name, count, region = group.key
        cheapest = group.cheapest
        vrams = [h.vram_gb for h in group.members if h.vram_gb is not None]
        result.offers.append(
            cheapest.source.offer(
                instance_type=f"{format_count(count)}x {gpu_name}",
                region=region,
                pricing_model="on_demand",
                currency="USD",
                price_per_hour=float(group.min_price),
                gpu_count=float(count),
                gpu_name_raw=gpu_name,
                gpu_memory_gb=float(max(vrams)) if vrams else None,
                price_unit_published="gpu_hour",
                # GPU part only (CPU/RAM/storage are priced per unit on top); it is also a
                # marketplace minimum, which market_offer_count says.
                price_scope="gpu_only",
                market_offer_count=group.offer_count,
                market_price_p25_per_hour=float(group.p25_price),
                market_price_median_per_hour=float(group.median_price),
                extra={
                    "price_covers": "gpu_only",
                    "cheapest_hostnode_id": cheapest.hostnode_id,
                    "cheapest_city": cheapest.location.get("city"),
                    "cheapest_price_per_gpu_hour": float(cheapest.price_per_gpu_hour),
                    "cheapest_cpu_price_per_vcpu_hour": _unit_price(cheapest.specs, "cpu"),
                    "cheapest_ram_price_per_gb_hour": _unit_price(cheapest.specs, "ram"),
                    "cheapest_storage_price_per_gb_hour": _unit_price(cheapest.specs, "storage"),
                    "market_price_max_per_hour": float(group.prices[-1]),
                },
            )
        )
    return result


def _instance_offers(hosts: list[_HostOffer], result: ParseResult) -> None:
    """The whole-machine market of each (GPU, count, country): see the module docstring."""
    whole = [h for h in hosts if h.instance_price_per_hour is not None]
    groups = aggregate(
        whole,
        key=_market,
        price=lambda h: h.instance_price_per_hour,  # type: ignore[arg-type,return-value]
    )
    missing = sorted({_market(h) for h in hosts} - {g.key for g in groups})
    if missing:
        shown = ", ".join(f"{format_count(n)}x {g} in {r}" for g, n, r in missing[:3])
        result.warnings.append(
            f"{NAME}: {len(missing)} GPU market(s) without a whole-instance row: no host "
            f"prices or has free the vCPUs/RAM/disk the rule needs ({shown}"
            + (", ..." if len(missing) > 3 else "")
            + ")"
        )
    for group in groups:
        gpu_name, count, region = group.key
        cheapest = group.cheapest
        parts = cheapest.parts
        vrams = [h.vram_gb for h in group.members if h.vram_gb is not None]
        result.offers.append(
            cheapest.source.offer(
                instance_type=(
                    f"{format_count(count)}x {gpu_name} "
                    f"{parts['cpu']}vcpu-{parts['ram']}gb-{parts['storage']}gb"
                ),
                region=region,
                pricing_model="on_demand",
                currency="USD",
                price_per_hour=float(group.min_price),
                gpu_count=float(count),
                gpu_name_raw=gpu_name,
                gpu_memory_gb=float(max(vrams)) if vrams else None,
                vcpus=float(parts["cpu"]),
                memory_gb=float(parts["ram"]),
                price_unit_published="hour",
                price_scope="instance",
                market_offer_count=group.offer_count,
                market_price_p25_per_hour=float(group.p25_price),
                market_price_median_per_hour=float(group.median_price),
                extra={
                    "price_covers": "instance",
                    "derived": True,
                    "composition": {
                        "rule": COMPOSITION_RULE,
                        "gpus": count,
                        "vcpus": parts["cpu"],
                        "ram_gb": parts["ram"],
                        "disk_gb": parts["storage"],
                    },
                    "cheapest_hostnode_id": cheapest.hostnode_id,
                    "cheapest_city": cheapest.location.get("city"),
                    "cheapest_price_per_gpu_hour": float(cheapest.price_per_gpu_hour),
                    "cheapest_cpu_price_per_vcpu_hour": _unit_price(cheapest.specs, "cpu"),
                    "cheapest_ram_price_per_gb_hour": _unit_price(cheapest.specs, "ram"),
                    "cheapest_storage_price_per_gb_hour": _unit_price(cheapest.specs, "storage"),
                    "market_price_max_per_hour": float(group.prices[-1]),
                },
            )
        )


PROVIDER = ProviderSpec(
    name=NAME,
    title="TensorDock Marketplace",
    pricing_page_url="https://marketplace.tensordock.com/deploy",
    source_urls=(DEFAULT_BASE_URL + "/" + HOSTNODES_PATH,),
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: samples/tensordock/hostnode-specs_gpuhunt-fixture_2024.json (2024-10-28; "
        "specs object only, hostnodes envelope per documented schema)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    default_cadence="15 * * * *",
    max_row_drop_fraction=0.7,
    notes=(
        "GPU-part rows (gpu_only) plus the smallest whole machine built from the host's "
        "unit prices (instance; rule in the module docstring). The "
        "recorded sample is one host's `specs`; the hostnodes envelope follows the v0 docs. "
        "gpuhunt dropped TensorDock in Feb 2026, so the v0 endpoint may have changed."
    ),
)
