"""Vast.ai: the GPU marketplace's host offers, aggregated per market.

Source: the offer search `GET https://console.vast.ai/api/v0/bundles/?q=<JSON query>`
(public: it answers without an API key; `VAST_API_KEY`, when set, is sent as a Bearer
token). The answer is `{"offers": [...]}`; `vastai search offers --raw` prints the same
list bare, which is how the recorded samples look, and both forms are accepted. The fetch
asks once per GPU-count band (1, 2, 3-4, 5-8, 9+) so no single answer hits the result
limit, and the raw answers are archived whole.

Output: one offer per market = (GPU name as Vast spells it, GPU memory, GPU count, host
country, pricing model), e.g. instance_type "8x RTX 4090 24GB" in region "US", with
price_per_hour = the cheapest host's price and the 25th percentile, median and count of
all matching hosts (scrapers/market.py). Only offers that can be rented now count
(`rentable` true, `rented` false).

Units and quirks:
- `dph_total` is USD per hour for the whole offer (all its `num_gpus` GPUs) including the
  search's default disk allocation (`storage_total_cost`); `dph_base` is the GPU part.
  price_per_hour is `dph_total`, so the per-GPU price is dph_total / num_gpus.
- spot = `min_bid` (the lowest interruptible bid for the whole offer, same basis as
  `dph_base`) + `storage_total_cost`, so spot and on-demand include the same disk.
- `gpu_ram` is per GPU in what Vast calls MB; the values are nvidia-smi MiB (an RTX 4090
  shows 24564), so GB = gpu_ram / 1024. The market key uses the rounded GB because Vast
  spells A100 40 GB and 80 GB the same ("A100 SXM4").
- Region: ISO country code after the last comma of `geolocation` ("Alberta, CA" -> "CA";
  ", US" -> "US"); "unknown" when the host has no location.
"""

from __future__ import annotations

import json
import re
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
    Setting,
)
from scrapers.market import aggregate, format_count

NAME = "vastai"
DEFAULT_BASE_URL = "https://console.vast.ai"
BUNDLES_PATH = "api/v0/bundles/"
# The API caps an answer at `limit` offers; gpuhunt asks for 3000, SkyPilot for 10000.
RESULT_LIMIT = 3000
# (min, max) num_gpus per request; None = no upper bound.
GPU_COUNT_BANDS: tuple[tuple[int, int | None], ...] = ((1, 1), (2, 2), (3, 4), (5, 8), (9, None))
UNKNOWN_REGION = "unknown"
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
REQUIRED_FIELDS = ("id", "gpu_name", "num_gpus", "gpu_ram", "dph_total")


def bundle_query(min_gpus: int, max_gpus: int | None) -> dict[str, Any]:
    num_gpus: dict[str, int] = {"gte": min_gpus}
    if max_gpus is not None:
        num_gpus["lte"] = max_gpus
    return {
        "rentable": {"eq": True},
        "rented": {"eq": False},
        "num_gpus": num_gpus,
        "type": "on-demand",
        "order": [["score", "desc"]],
        "limit": RESULT_LIMIT,
    }


async def fetch(ctx: FetchContext) -> list[Response]:
    """One search per GPU-count band; the query travels in the URL, so the archive keeps it."""
    headers: dict[str, str] = {"Accept": "application/json"}
    secrets: list[str] = []
    api_key = ctx.settings.get("VAST_API_KEY")
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
        secrets.append(api_key)
    out: list[Response] = []
    for lo, hi in GPU_COUNT_BANDS:
        query = json.dumps(bundle_query(lo, hi), separators=(",", ":"), sort_keys=True)
        resp = await ctx.client.get(
            ctx.url(BUNDLES_PATH),
            provider=NAME,
            kind="bundles",
            params={"q": query},
            headers=headers,
            secrets=secrets,
        )
        out.append(resp)
    return out


@dataclass(frozen=True)
class _HostOffer:
    offer_id: Any
    gpu_name: str
    num_gpus: int
    gpu_ram_mib: Decimal
    memory_gb: int
    region: str
    pricing_model: str
    price_per_hour: Decimal
    raw: dict[str, Any]
    source: tk.Source

    @property
    def market_key(self) -> tuple[str, int, int, str, str]:
        return (self.gpu_name, self.memory_gb, self.num_gpus, self.region, self.pricing_model)


def _offers_list(resp: Response) -> list[Any]:
    # Plain floats: Decimal(str(x)) of a float is its shortest repr, i.e. the number as
    # written by the (Python) API, and parsing every float field as Decimal is 2x slower.
    # A bare list is `vastai search offers --raw` output: the offers list alone.
    doc = tk.load_json(resp, NAME, expect=(dict, list), keys={"offers": list}, field="offers")
    return doc["offers"] if isinstance(doc, dict) else doc


def region_of(geolocation: Any) -> str:
    """ISO country code from Vast's "Region, CC" location text; 'unknown' if absent."""
    if not isinstance(geolocation, str):
        return UNKNOWN_REGION
    code = geolocation.rsplit(",", 1)[-1].strip()
    return code if COUNTRY_RE.match(code) else UNKNOWN_REGION


def _host_offers(raw: dict[str, Any], src: tk.Source) -> tuple[list[_HostOffer], str | None]:
    """The on-demand and spot host offers of one raw offer, or a reason to skip it."""
    missing = [f for f in REQUIRED_FIELDS if raw.get(f) is None]
    if missing:
        return [], f"missing {missing[0]!r}"
    gpu_name = raw["gpu_name"]
    num_gpus = tk.to_decimal(raw["num_gpus"])
    gpu_ram = tk.to_decimal(raw["gpu_ram"])
    dph_total = tk.to_decimal(raw["dph_total"])
    if not isinstance(gpu_name, str) or not gpu_name.strip():
        return [], "empty 'gpu_name'"
    if num_gpus is None or num_gpus <= 0 or num_gpus != num_gpus.to_integral_value():
        return [], f"bad 'num_gpus' {raw['num_gpus']!r}"
    if gpu_ram is None or gpu_ram <= 0:
        return [], f"bad 'gpu_ram' {raw['gpu_ram']!r}"
    if dph_total is None or dph_total <= 0:
        return [], f"bad 'dph_total' {raw['dph_total']!r}"
    common = dict(
        offer_id=raw["id"],
        gpu_name=gpu_name.strip(),
        num_gpus=int(num_gpus),
        gpu_ram_mib=gpu_ram,
        memory_gb=int((gpu_ram / tk.MIB_PER_GIB).to_integral_value()),
        region=region_of(raw.get("geolocation")),
        raw=raw,
        source=src,
    )
    out = [_HostOffer(pricing_model="on_demand", price_per_hour=dph_total, **common)]
    min_bid = tk.to_decimal(raw.get("min_bid"))
    if min_bid is not None and min_bid > 0:
        storage = tk.to_decimal(raw.get("storage_total_cost")) or Decimal(0)
        out.append(_HostOffer(pricing_model="spot", price_per_hour=min_bid + storage, **common))
    return out, None


def _is_available(raw: dict[str, Any]) -> bool:
    # Absent flags count as available: the search itself filters rentable / not rented.
    return raw.get("rentable", True) is True and raw.get("rented", False) is not True


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    hosts: list[_HostOffer] = []
    seen_ids: set[Any] = set()
    raw_count = 0
    skip_reasons: dict[str, int] = {}
    for resp in tk.fresh(responses):
        src = tk.source(resp)
        for i, raw in enumerate(_offers_list(resp)):
            raw_count += 1
            if not isinstance(raw, dict):
                rows.skip(resp.url, f"offer #{i}", "not an object", field="offers[]")
                continue
            if not _is_available(raw):
                continue
            if raw.get("id") in seen_ids:
                continue  # the same offer in two bands' answers
            offers, reason = _host_offers(raw, src)
            if reason:
                skip_reasons[reason] = skip_reasons.get(reason, 0) + 1
                field = reason.split("'")[1] if "'" in reason else "offers"
                rows.skip(resp.url, f"offer {raw.get('id', f'#{i}')}", reason, field=field)
                continue
            seen_ids.add(raw["id"])
            hosts.extend(offers)
    url = responses[0].url if responses else NAME
    if all(r.not_modified for r in responses):
        return result  # nothing new was fetched; the archive holds the last answers
    if raw_count == 0:
        raise ParseError(NAME, url, "the search answers hold no offers at all", field="offers")
    if not hosts and skip_reasons:
        # Every offer failed the same way: the layout changed, not a few bad rows.
        reason = max(skip_reasons, key=lambda r: skip_reasons[r])
        field = reason.split("'")[1] if "'" in reason else "offers"
        raise ParseError(NAME, url, f"no usable offer among {raw_count} ({reason})", field=field)
    if not hosts:
        raise ParseError(NAME, url, f"none of {raw_count} offers is rentable now", field="rentable")

    for group in aggregate(hosts, key=lambda h: h.market_key, price=lambda h: h.price_per_hour):
        gpu_name, memory_gb, num_gpus, region, pricing_model = group.key
        cheapest = group.cheapest
        rams = [h.gpu_ram_mib for h in group.members]
        result.offers.append(
            cheapest.source.offer(
                instance_type=f"{format_count(num_gpus)}x {gpu_name} {memory_gb}GB",
                region=region,
                pricing_model=pricing_model,
                currency="USD",
                price_per_hour=float(group.min_price),
                gpu_count=float(num_gpus),
                gpu_name_raw=gpu_name,
                gpu_memory_gb=float(memory_gb),
                price_unit_published="hour",
                price_scope="marketplace_min",
                market_offer_count=group.offer_count,
                market_price_p25_per_hour=float(group.p25_price),
                market_price_median_per_hour=float(group.median_price),
                extra={
                    "cheapest_offer_id": cheapest.offer_id,
                    "cheapest_machine_id": cheapest.raw.get("machine_id"),
                    "cheapest_geolocation": cheapest.raw.get("geolocation"),
                    "market_price_max_per_hour": float(group.prices[-1]),
                    "gpu_ram_mib_min": float(min(rams)),
                    "gpu_ram_mib_max": float(max(rams)),
                    "verified_offers": sum(
                        1 for h in group.members if h.raw.get("verification") == "verified"
                    ),
                    "datacenter_offers": sum(
                        1 for h in group.members if h.raw.get("hosting_type") == 1
                    ),
                },
            )
        )
    return result


PROVIDER = ProviderSpec(
    name=NAME,
    title="Vast.ai (marketplace)",
    pricing_page_url="https://vast.ai/pricing",
    source_urls=(DEFAULT_BASE_URL + "/" + BUNDLES_PATH,),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: samples/vastai/search-offers_raw_2024-11-05_one-per-gpu_excerpt.json (2024-11-05)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    # Marketplace prices move within the day (gpuhunt moved to hourly for this reason).
    default_cadence="15 * * * *",
    settings=(
        Setting(
            "VAST_API_KEY",
            secret=True,
            help="optional Vast.ai API key (the offer search answers without one)",
        ),
    ),
    # The number of distinct markets swings with host availability.
    max_row_drop_fraction=0.7,
    notes="Aggregated per (GPU, memory, count, country, pricing model): min, p25, median, count.",
)
