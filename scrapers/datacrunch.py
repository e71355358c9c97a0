"""DataCrunch (now also branded Verda): on-demand and spot prices of its GPU instance types.

Source: the public REST API at `https://api.datacrunch.io/v1` (OAuth 2 client credentials):

- `GET /instance-types`: one object per instance type with `price_per_hour` and
  `spot_price` (decimal strings, USD per hour for the whole instance), `gpu.description`
  ("2x RTX A6000 48GB"), `gpu.number_of_gpus` and `gpu_memory.size_in_gigabytes` (the
  TOTAL over all GPUs of the instance).
- `GET /instance-availability?isSpot=true|false`: `[{location_code, availabilities:
  [instance_type, ...]}]`, the types that can be deployed right now, per location.
- `GET /locations`: `[{code, name, country_code}]`.

Output: one `Offer` per (GPU instance type, pricing model, location).

How availability maps to regions (a decision, not something the API states): the price
list is global (one price per type, valid in every location), availability is the
capacity of the moment. A type gets one row per location whose availability list (of the
matching model: spot list for spot rows, on-demand list for on-demand rows) names it.
A priced type that no location lists gets one row with region "global" and
`extra["available_locations"] = []`, so a capacity shortage never hides a published price.
When the on-demand availability response is missing (older archives recorded only the
spot list) every on-demand row is "global" and a warning says so.

Currency: the API carries no currency field. DataCrunch quotes its API and web prices in
US dollars (the official SDK prints them with a "$"); this module records "USD".

The OAuth token response is never returned from `fetch`, so it never reaches the archive.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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

NAME = "datacrunch"
DEFAULT_BASE_URL = "https://api.datacrunch.io/v1"
CURRENCY = "USD"  # see the module docstring: the API has no currency field
GLOBAL_REGION = "global"

KIND_TYPES = "instance-types"
KIND_SPOT = "availability-spot"
KIND_ON_DEMAND = "availability-on-demand"
KIND_LOCATIONS = "locations"
KINDS = (KIND_TYPES, KIND_SPOT, KIND_ON_DEMAND, KIND_LOCATIONS)

ENV_CLIENT_ID = "DATACRUNCH_CLIENT_ID"
ENV_CLIENT_SECRET = "DATACRUNCH_CLIENT_SECRET"

# "1x H100 SXM5 80GB" -> count "1", name "H100 SXM5 80GB"
_GPU_DESCRIPTION_RE = re.compile(r"^\s*(\d+)\s*x\s*(.+?)\s*$", re.IGNORECASE)


async def fetch(ctx: FetchContext) -> list[Response]:
    client_id = ctx.settings.get(ENV_CLIENT_ID)
    client_secret = ctx.settings.get(ENV_CLIENT_SECRET)
    if not client_id or not client_secret:
        raise SkipProvider(
            f"{NAME}: set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (API client credentials "
            "from the DataCrunch cloud dashboard); the instance-types API needs a token"
        )
    secrets = [client_id, client_secret]
    token_response = await ctx.client.post(
        ctx.url("oauth2/token"),
        provider=NAME,
        kind="oauth-token",
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
        secrets=secrets,
    )
    try:
        access_token = tk.peek_json(token_response)["access_token"]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ParseError(
            NAME, token_response.url, "token response has no access_token", field="access_token"
        ) from None
    if not isinstance(access_token, str) or not access_token:
        raise ParseError(NAME, token_response.url, "empty access_token", field="access_token")
    secrets.append(access_token)
    headers = {"Authorization": f"Bearer {access_token}"}

    # No conditional requests: these are small JSON lists and the API sends no ETag.
    async def get(path: str, kind: str, params: dict[str, str] | None = None) -> Response:
        return await ctx.client.get(
            ctx.url(path),
            provider=NAME,
            kind=kind,
            params=params,
            headers=headers,
            secrets=secrets,
        )

    return [
        await get("instance-types", KIND_TYPES),
        await get("instance-availability", KIND_SPOT, {"isSpot": "true"}),
        await get("instance-availability", KIND_ON_DEMAND, {"isSpot": "false"}),
        await get("locations", KIND_LOCATIONS),
    ]


def _kind_of(response: Response) -> str | None:
    """The kind the fetch step gave, else recognised from the URL (replayed archives)."""
    if response.kind in KINDS:
        return response.kind
    parts = urlsplit(response.url)
    path = parts.path.rstrip("/")
    if path.endswith("/instance-types"):
        return KIND_TYPES
    if path.endswith("/locations"):
        return KIND_LOCATIONS
    if path.endswith("/instance-availability"):
        query = {k.lower(): v.lower() for k, v in parse_qsl(parts.query)}
        spot = query.get("isspot", query.get("is_spot"))
        if spot == "true":
            return KIND_SPOT
        if spot == "false":
            return KIND_ON_DEMAND
    return None


def _load_list(response: Response, field: str) -> list[Any]:
    return tk.load_json(response, NAME, expect=list, field=field)


def _availability(response: Response) -> dict[str, list[str]]:
    """instance_type -> location codes listing it, in the order the API gives."""
    by_type: dict[str, list[str]] = {}
    for entry in _load_list(response, "availabilities"):
        if not isinstance(entry, dict) or not isinstance(entry.get("availabilities"), list):
            raise ParseError(
                NAME,
                response.url,
                "location entry without an availabilities list",
                field="availabilities",
            )
        code = entry.get("location_code")
        if not isinstance(code, str) or not code:
            raise ParseError(
                NAME, response.url, "entry without location_code", field="location_code"
            )
        for instance_type in entry["availabilities"]:
            if isinstance(instance_type, str):
                by_type.setdefault(instance_type, []).append(code)
    return by_type


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    by_kind: dict[str, Response] = {}
    for response in responses:
        kind = _kind_of(response)
        if kind is not None and not response.not_modified:
            by_kind[kind] = response
    types_response = by_kind.get(KIND_TYPES)
    if types_response is None:
        source = responses[0].url if responses else DEFAULT_BASE_URL + "/instance-types"
        raise ParseError(
            NAME, source, "no instance-types response recorded", field="instance-types"
        )

    locations: dict[str, dict[str, Any]] = {}
    if KIND_LOCATIONS in by_kind:
        for loc in _load_list(by_kind[KIND_LOCATIONS], "locations"):
            if isinstance(loc, dict) and isinstance(loc.get("code"), str):
                locations[loc["code"]] = loc
    availability: dict[str, dict[str, list[str]] | None] = {
        "spot": _availability(by_kind[KIND_SPOT]) if KIND_SPOT in by_kind else None,
        "on_demand": _availability(by_kind[KIND_ON_DEMAND]) if KIND_ON_DEMAND in by_kind else None,
    }
    for model, avail in availability.items():
        if avail is None:
            result.warnings.append(
                f"{NAME}: no {model} availability response; {model} rows use region 'global'"
            )
        elif locations:
            for codes in avail.values():
                for code in codes:
                    if code not in locations and f"location {code}" not in result.unknown:
                        result.unknown.append(f"location {code}")

    items = _load_list(types_response, "instance-types")
    required = ("instance_type", "price_per_hour", "gpu")
    if items and not any(isinstance(i, dict) and all(k in i for k in required) for i in items):
        raise ParseError(
            NAME,
            types_response.url,
            f"no instance type carries all of {', '.join(required)}: layout changed",
            field="price_per_hour",
        )
    src = tk.source(types_response)
    url = types_response.url
    gpu_types = 0
    for i, item in enumerate(items):
        instance_type = item.get("instance_type") if isinstance(item, dict) else None
        if not isinstance(instance_type, str) or not instance_type:
            rows.skip(url, f"item {i}", "no instance_type", field="instance_type")
            continue
        gpu = item.get("gpu") if isinstance(item.get("gpu"), dict) else {}
        try:
            gpu_count = int(gpu.get("number_of_gpus") or 0)
        except (TypeError, ValueError):
            rows.skip(url, instance_type, "bad gpu.number_of_gpus", field="gpu.number_of_gpus")
            continue
        if gpu_count <= 0:
            continue  # CPU node: not a GPU offer
        gpu_types += 1
        rows.found()
        description = str(gpu.get("description") or "")
        match = _GPU_DESCRIPTION_RE.match(description)
        gpu_name_raw = match.group(2) if match else (description or item.get("name") or None)
        if match and int(match.group(1)) != gpu_count:
            result.warnings.append(
                f"{NAME}: {instance_type}: gpu.description says {match.group(1)} GPUs, "
                f"number_of_gpus says {gpu_count}; kept number_of_gpus"
            )
        gpu_memory_total = (item.get("gpu_memory") or {}).get("size_in_gigabytes")
        gpu_memory_gb = (
            float(gpu_memory_total) / gpu_count
            if isinstance(gpu_memory_total, int | float) and gpu_memory_total > 0
            else None
        )
        cpu = item.get("cpu") or {}
        memory = item.get("memory") or {}
        prices = {"on_demand": item.get("price_per_hour"), "spot": item.get("spot_price")}
        for model, raw_price in prices.items():
            price = tk.positive_decimal(raw_price)
            if price is None:
                if model == "on_demand":
                    rows.skip(
                        url,
                        instance_type,
                        f"price_per_hour {raw_price!r} unusable",
                        field="price_per_hour",
                    )
                continue
            avail = availability[model]
            codes = (avail or {}).get(instance_type, [])
            for region in codes or [GLOBAL_REGION]:
                loc = locations.get(region, {})
                result.offers.append(
                    src.offer(
                        instance_type=instance_type,
                        region=region,
                        pricing_model=model,
                        currency=CURRENCY,
                        price_per_hour=float(price),
                        gpu_count=float(gpu_count),
                        gpu_name_raw=gpu_name_raw,
                        gpu_memory_gb=gpu_memory_gb,
                        vcpus=tk.to_float(cpu.get("number_of_cores"), strings=False),
                        memory_gb=tk.to_float(memory.get("size_in_gigabytes"), strings=False),
                        price_unit_published="hour",
                        extra={
                            "price_published": str(raw_price),
                            "model": item.get("model"),
                            "name": item.get("name"),
                            "gpu_description": description,
                            "is_available": bool(codes),
                            "available_locations": list(codes),
                            "availability_recorded": avail is not None,
                            **(
                                {
                                    "location_name": loc.get("name"),
                                    "country_code": loc.get("country_code"),
                                }
                                if loc
                                else {}
                            ),
                        },
                    )
                )
    if gpu_types == 0:
        raise ParseError(
            NAME, types_response.url, "no instance type with GPUs", field="gpu.number_of_gpus"
        )
    return result


PROVIDER = ProviderSpec(
    name=NAME,
    title="DataCrunch (Verda)",
    pricing_page_url="https://datacrunch.io/pricing",
    source_urls=(
        DEFAULT_BASE_URL + "/instance-types",
        DEFAULT_BASE_URL + "/instance-availability",
        DEFAULT_BASE_URL + "/locations",
    ),
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: instance-types_gpuhunt-fixture_2025-10.json, "
        "instance-availability_is_spot-true_gpuhunt-fixture_2025-10.json, "
        "locations_gpuhunt-fixture_2025-10.json (gpuhunt test fixtures, 2025-10)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(ENV_CLIENT_ID, secret=True, required=True, help="DataCrunch API client id"),
        Setting(ENV_CLIENT_SECRET, secret=True, required=True, help="DataCrunch API client secret"),
    ),
    default_cadence="0 */6 * * *",
    notes="Prices are global; rows per location follow the availability lists (see module docstring).",
)
