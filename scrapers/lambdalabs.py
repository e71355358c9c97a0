"""Lambda (Lambda Labs) On-Demand Cloud: GPU instance types from the instance-types API.

Source: `GET https://cloud.lambda.ai/api/v1/instance-types` with the account's API key
(`Authorization: Bearer <LAMBDA_API_KEY>`); a missing key skips the provider. Documented
in Lambda's OpenAPI spec v1.10.0 (https://cloud.lambda.ai/api/v1/openapi.json, operation
`listInstanceTypes`; `cloud.lambdalabs.com` is listed there as the deprecated secondary
server): `{"data": {<name>: {"instance_type": {name, description, gpu_description,
price_cents_per_hour, specs{vcpus, memory_gib, storage_gib, gpus}},
"regions_with_capacity_available": [{name, description}]}}}`. One body, no paging.

Output: one on-demand offer per GPU instance type at `price_cents_per_hour / 100` USD, in
region `global`: the API gives one price per type for every region, and the region list
only says where capacity is free *right now*, so it goes to `extra` instead of the offer
key (otherwise every sell-out would look like a withdrawn offer in the history). GPU
memory per GPU comes from the type's own `gpu_description` ("H100 (80 GB SXM5)").

No live response is recorded anywhere we could find; the parser is validated against the
documented schema only.
"""

from __future__ import annotations

import re
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
    SkipProvider,
)

NAME = "lambdalabs"
DEFAULT_BASE_URL = "https://cloud.lambda.ai"
INSTANCE_TYPES_PATH = "api/v1/instance-types"
API_KEY_ENV = "LAMBDA_API_KEY"
REGION = "global"
GPU_MEMORY_RE = re.compile(r"(\d+(?:\.\d+)?)\s*GB\b", re.IGNORECASE)
COUNT_PREFIX_RE = re.compile(r"^\s*\d+\s*x\s*", re.IGNORECASE)  # "8x A100 (...)" -> "A100 (...)"


async def fetch(ctx: FetchContext) -> list[Response]:
    api_key = ctx.settings.get(API_KEY_ENV)
    if not api_key:
        raise SkipProvider(
            f"{NAME}: {API_KEY_ENV} is not set; Lambda's instance-types API needs an API key "
            "(create one in the Lambda Cloud dashboard and export it as LAMBDA_API_KEY)"
        )
    resp = await ctx.client.get(
        ctx.url(INSTANCE_TYPES_PATH),
        provider=NAME,
        kind="instance-types",
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        secrets=[api_key],
    )
    return [resp]


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    for resp in tk.fresh(responses):
        src = tk.source(resp)
        for key, entry in _types(resp).items():
            if not isinstance(entry, dict) or not isinstance(entry.get("instance_type"), dict):
                raise ParseError(
                    NAME,
                    resp.url,
                    f"type {key!r} has no instance_type object",
                    field="data.*.instance_type",
                )
            itype = entry["instance_type"]
            specs = itype.get("specs")
            if not isinstance(specs, dict) or "gpus" not in specs:
                raise ParseError(
                    NAME,
                    resp.url,
                    f"type {key!r} has no specs.gpus",
                    field="data.*.instance_type.specs.gpus",
                )
            if not specs["gpus"]:
                continue  # CPU-only type
            rows.found()
            with rows.guard(resp.url, f"type {key}"):
                result.offers.append(_offer(src, str(key), entry, itype, specs))
    rows.require_offers(
        responses,
        default_field="data.*.instance_type.specs.gpus",
        none_found="no GPU instance type found",
        all_failed="every GPU instance type failed to parse",
    )
    return result


def _types(resp: Response) -> dict[str, Any]:
    doc = tk.load_json(resp, NAME)
    if isinstance(doc.get("error"), dict):
        code = doc["error"].get("code", "unknown")  # the message may echo input; the code does not
        raise ParseError(NAME, resp.url, f"API error {code!r} instead of data", field="data")
    return tk.envelope(doc, resp, NAME, keys={"data": dict})["data"]


def _offer(
    src: tk.Source, key: str, entry: dict[str, Any], itype: dict[str, Any], specs: dict[str, Any]
) -> Offer:
    # The schema says integer; accept a numeric string too (the published spec example once
    # used one) but never a float-rounded guess.
    price_cents = tk.require_decimal(itype.get("price_cents_per_hour"), "price_cents_per_hour")
    gpu_count = tk.require_decimal(specs["gpus"], "specs.gpus", minimum="any")
    gpu_desc = itype.get("gpu_description") or COUNT_PREFIX_RE.sub(
        "", str(itype.get("description") or "")
    )
    if not gpu_desc:
        raise RowError("neither gpu_description nor description", "gpu_description")
    memory = GPU_MEMORY_RE.search(gpu_desc)
    regions = entry.get("regions_with_capacity_available") or []
    region_names = sorted(
        str(r.get("name")) for r in regions if isinstance(r, dict) and r.get("name")
    )
    return src.offer(
        instance_type=str(itype.get("name") or key),
        region=REGION,
        pricing_model="on_demand",
        currency="USD",  # Lambda prices in US cents
        price_per_hour=float(price_cents / tk.CENTS_PER_UNIT),
        gpu_count=float(gpu_count),
        gpu_name_raw=gpu_desc.strip(),
        gpu_memory_gb=float(memory.group(1)) if memory else None,
        vcpus=float(specs["vcpus"]) if specs.get("vcpus") is not None else None,
        # memory_gib kept as the number Lambda states; the dataset's memory_gb follows the
        # clouds' loose GB-for-GiB convention throughout.
        memory_gb=float(specs["memory_gib"]) if specs.get("memory_gib") is not None else None,
        price_unit_published="hour",
        extra={
            "description": itype.get("description"),
            "price_cents_per_hour": int(price_cents)
            if price_cents == price_cents.to_integral()
            else float(price_cents),
            "storage_gib": specs.get("storage_gib"),
            "regions_with_capacity": region_names,
            "has_capacity": bool(region_names),
        },
    )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Lambda",
    pricing_page_url="https://lambda.ai/pricing",
    source_urls=("https://cloud.lambda.ai/api/v1/instance-types",),
    pricing_models=("on_demand",),
    validated_against="documented schema only",
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(Setting(API_KEY_ENV, secret=True, required=True, help="Lambda Cloud API key"),),
    notes=(
        "Schema: Lambda Cloud API OpenAPI v1.10.0 (https://cloud.lambda.ai/api/v1/openapi.json, "
        "listInstanceTypes). One offer per type in region 'global'; capacity regions in extra."
    ),
)
