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

import json
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderSpec,
    Response,
    RowError,
    RowSkips,
    SkipProvider,
)

NAME = "lambdalabs"
DEFAULT_BASE_URL = "https://cloud.lambda.ai"
INSTANCE_TYPES_PATH = "api/v1/instance-types"
API_KEY_ENV = "LAMBDA_API_KEY"
REGION = "global"
CENTS_PER_DOLLAR = Decimal(100)
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
    gpu_types = 0
    skips = RowSkips(NAME)
    for resp in responses:
        if resp.not_modified:
            continue
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
            gpu_types += 1
            try:
                result.offers.append(_offer(resp, str(key), entry, itype, specs))
            except RowError as exc:
                skips.skip(result, resp.url, f"type {key}", exc)
    skips.require_offers(
        result,
        responses,
        default_field="data.*.instance_type.specs.gpus",
        found_rows=gpu_types,
        none_found="no GPU instance type found",
        all_failed="every GPU instance type failed to parse",
    )
    return result


def _types(resp: Response) -> dict[str, Any]:
    try:
        doc = json.loads(resp.read())
    except ValueError as exc:
        raise ParseError(NAME, resp.url, f"body is not JSON ({exc})", field="body") from None
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        code = doc["error"].get("code", "unknown")  # the message may echo input; the code does not
        raise ParseError(NAME, resp.url, f"API error {code!r} instead of data", field="data")
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        raise ParseError(NAME, resp.url, "no 'data' object in the body", field="data")
    return doc["data"]


def _offer(
    resp: Response, key: str, entry: dict[str, Any], itype: dict[str, Any], specs: dict[str, Any]
) -> Offer:
    cents = itype.get("price_cents_per_hour")
    # The schema says integer; accept a numeric string too (the published spec example once
    # used one) but never a float-rounded guess.
    try:
        price_cents = Decimal(str(cents))
    except InvalidOperation:
        raise RowError(
            f"price_cents_per_hour {cents!r} is not a number", "price_cents_per_hour"
        ) from None
    if cents is None or isinstance(cents, bool) or not price_cents.is_finite() or price_cents <= 0:
        raise RowError(
            f"price_cents_per_hour {cents!r} is not a positive number", "price_cents_per_hour"
        )
    try:
        gpu_count = Decimal(str(specs["gpus"]))
    except InvalidOperation:
        raise RowError(f"specs.gpus {specs['gpus']!r} is not a number", "specs.gpus") from None
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
    return Offer(
        instance_type=str(itype.get("name") or key),
        region=REGION,
        pricing_model="on_demand",
        currency="USD",  # Lambda prices in US cents
        price_per_hour=float(price_cents / CENTS_PER_DOLLAR),
        gpu_count=float(gpu_count),
        gpu_name_raw=gpu_desc.strip(),
        gpu_memory_gb=float(memory.group(1)) if memory else None,
        vcpus=float(specs["vcpus"]) if specs.get("vcpus") is not None else None,
        # memory_gib kept as the number Lambda states; the dataset's memory_gb follows the
        # clouds' loose GB-for-GiB convention throughout.
        memory_gb=float(specs["memory_gib"]) if specs.get("memory_gib") is not None else None,
        source_url=resp.url,
        observed_at=resp.fetched_at,
        snapshot_sha256=resp.sha256,
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
    required_env=(API_KEY_ENV,),
    notes=(
        "Schema: Lambda Cloud API OpenAPI v1.10.0 (https://cloud.lambda.ai/api/v1/openapi.json, "
        "listInstanceTypes). One offer per type in region 'global'; capacity regions in extra."
    ),
)
