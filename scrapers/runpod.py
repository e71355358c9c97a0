"""RunPod: per-GPU prices of the Secure Cloud and the Community Cloud (marketplace).

Source: the GraphQL API `POST https://api.runpod.io/graphql?api_key=...` with the public
`gpuTypes` query (the fields of RunPod's documented `get_gpu` example). RunPod documents
the GraphQL API as key-only, so the fetch needs `RUNPOD_API_KEY` and the provider is
skipped without it; the key travels as the `api_key` query parameter, which the shared
client redacts from URLs, logs and the archive.

Output, per GPU type (`id`, e.g. "NVIDIA A100 80GB PCIe"), one 1-GPU offer per cloud and
pricing model that RunPod prices:
- instance_type "secure 1x <id>" / "community 1x <id>", region "global";
- on_demand = `securePrice` / `communityPrice`, spot = `secureSpotPrice` /
  `communitySpotPrice` (interruptible), USD per GPU-hour.

Why this shape: RunPod bills pods per GPU (an N-GPU pod costs N x the per-GPU price, up
to `maxGpuCount`), so the 1-GPU row is the price and larger pods add nothing. `gpuTypes`
prices are not per data centre, hence region "global"; the cloud is part of the
instance type because Secure (RunPod's data centres) and Community (hosts on the
marketplace) are different products at different prices. RunPod publishes one price per
GPU type and cloud (its lowest, cf. `lowestPrice`), not the host offers behind it, so
the market percentile columns stay empty: there is no distribution to summarise.
Commitment prices (`oneWeekPrice`, `oneMonthPrice`, `threeMonthPrice`) and `lowestPrice`
go to `extra`.

Validated against a recorded live answer (2026-08-25, 9 of its 48 GPU types; see
tests/fixtures/runpod/README.md), which shows two things the documented example does not:
- a GPU type keeps a `securePrice` / `communityPrice` for a cloud whose flag is false
  (RTX 3090 Ti: `secureCloud` false, `securePrice` 0.46): a stale list price, so the flag,
  not the price, decides whether the cloud sells the GPU;
- `lowestPrice` is all null when nothing is in stock right now (RTX A5000) while the list
  prices stay: capacity is not price, so such types keep their rows (as Lambda's sold-out
  types do) and the null `lowestPrice` goes to `extra` for whoever needs availability.
`id` is the full name ("NVIDIA GeForce RTX 3090"), `displayName` the short one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
    Setting,
    SkipProvider,
)

NAME = "runpod"
DEFAULT_BASE_URL = "https://api.runpod.io"
GRAPHQL_PATH = "graphql"
API_KEY_ENV = "RUNPOD_API_KEY"
REGION = "global"
GPU_COUNT = 1

GPU_TYPES_QUERY = """query GpuTypes {
  gpuTypes {
    maxGpuCount
    id
    displayName
    manufacturer
    memoryInGb
    cudaCores
    secureCloud
    communityCloud
    securePrice
    communityPrice
    oneMonthPrice
    threeMonthPrice
    oneWeekPrice
    communitySpotPrice
    secureSpotPrice
    lowestPrice(input: {gpuCount: 1}) {
      minimumBidPrice
      uninterruptablePrice
    }
  }
}"""

# (cloud, flag saying the cloud offers the GPU, on-demand price field, spot price field)
CLOUDS = (
    ("secure", "secureCloud", "securePrice", "secureSpotPrice"),
    ("community", "communityCloud", "communityPrice", "communitySpotPrice"),
)
EXTRA_FIELDS = (
    "displayName",
    "manufacturer",
    "maxGpuCount",
    "oneWeekPrice",
    "oneMonthPrice",
    "threeMonthPrice",
    "lowestPrice",
)


async def fetch(ctx: FetchContext) -> list[Response]:
    api_key = ctx.settings.get(API_KEY_ENV)
    if not api_key:
        raise SkipProvider(f"{NAME}: set {API_KEY_ENV} (RunPod's GraphQL API needs an API key)")
    resp = await ctx.client.post(
        ctx.url(GRAPHQL_PATH),
        provider=NAME,
        kind="graphql-gpuTypes",
        params={"api_key": api_key},
        secrets=[api_key],
        json={"query": GPU_TYPES_QUERY},
        headers={"Accept": "application/json"},
    )
    return [resp]


def _gpu_types(resp: Response) -> list[Any]:
    doc = tk.load_json(resp, NAME, field="data", exact=True)
    if doc.get("errors"):
        first = (
            doc["errors"][0] if isinstance(doc["errors"], list) and doc["errors"] else doc["errors"]
        )
        msg = first.get("message") if isinstance(first, dict) else str(first)
        raise ParseError(NAME, resp.url, f"GraphQL error: {msg}", field="errors")
    data = doc.get("data")
    types = data.get("gpuTypes") if isinstance(data, dict) else None
    if not isinstance(types, list):
        raise ParseError(NAME, resp.url, "no 'data.gpuTypes' list", field="data.gpuTypes")
    return types


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    type_count = 0
    priced_fields_seen = False
    for resp in tk.fresh(responses):
        src = tk.source(resp)
        for i, gpu in enumerate(_gpu_types(resp)):
            type_count += 1
            if (
                not isinstance(gpu, dict)
                or not isinstance(gpu.get("id"), str)
                or not gpu["id"].strip()
            ):
                rows.skip(resp.url, f"gpuTypes[{i}]", "no 'id'", field="id")
                continue
            gpu_id = gpu["id"].strip()
            if any(field in gpu for _, _, field, _ in CLOUDS):
                priced_fields_seen = True
            memory = tk.positive_decimal(gpu.get("memoryInGb"))
            extra_common = {k: gpu[k] for k in EXTRA_FIELDS if gpu.get(k) is not None}
            for cloud, flag, od_field, spot_field in CLOUDS:
                if gpu.get(flag) is False:
                    continue  # not sold in this cloud; a price may still be there (stale)
                for pricing_model, field in (("on_demand", od_field), ("spot", spot_field)):
                    price = tk.positive_decimal(gpu.get(field))
                    if price is None:
                        if pricing_model == "on_demand" and gpu.get(flag) is True:
                            rows.skip(
                                resp.url,
                                gpu_id,
                                f"{cloud} cloud listed but {field!r} is {gpu.get(field)!r}",
                                field=field,
                            )
                        continue
                    result.offers.append(
                        src.offer(
                            instance_type=f"{cloud} {GPU_COUNT}x {gpu_id}",
                            region=REGION,
                            pricing_model=pricing_model,
                            currency="USD",
                            price_per_hour=float(price * GPU_COUNT),
                            gpu_count=float(GPU_COUNT),
                            gpu_name_raw=gpu_id,
                            gpu_memory_gb=float(memory) if memory is not None else None,
                            price_unit_published="gpu_hour",
                            extra=tk.jsonable(
                                {"cloud": cloud, "price_field": field, **extra_common}
                            ),
                        )
                    )
    url = responses[0].url if responses else NAME
    if all(r.not_modified for r in responses):
        return result
    if type_count == 0:
        raise ParseError(NAME, url, "the gpuTypes list is empty", field="data.gpuTypes")
    if not priced_fields_seen:
        raise ParseError(NAME, url, "no GPU type carries a price field", field="securePrice")
    if not result.offers:
        raise ParseError(
            NAME, url, f"none of {type_count} GPU types has a price", field="communityPrice"
        )
    return result


PROVIDER = ProviderSpec(
    name=NAME,
    title="RunPod (Secure Cloud + Community Cloud)",
    pricing_page_url="https://www.runpod.io/pricing",
    source_urls=(DEFAULT_BASE_URL + "/" + GRAPHQL_PATH,),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: graphql_gpuTypes_2026-08-25_excerpt.json (2026-08-25; 9 of 48 GPU "
        "types, from siddharthamondal1002-droid/oniq-gpu-worker "
        "tests/fixtures/gpu_types_actual.json @ f059f535)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(Setting(API_KEY_ENV, secret=True, required=True, help="RunPod API key"),),
    # Availability and community prices change during the day (dstack#1118, gpuhunt#72).
    default_cadence="15 * * * *",
    notes=(
        "Per-GPU list prices of the gpuTypes GraphQL query, checked against a recorded "
        "answer of 2026-08-25 and the documented example (runpod/docs sdks/python/apis.mdx). "
        "Community Cloud is RunPod's marketplace but publishes one price per GPU type, not "
        "host offers."
    ),
)
