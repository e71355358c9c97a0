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
capacity of the moment.

- On-demand: a type gets one row per location whose on-demand availability list names it.
  A priced type that no location lists gets one row with region "global" and
  `extra["available_locations"] = []`, so a capacity shortage never hides a published
  price. When the on-demand availability response is missing every on-demand row is
  "global" and a warning says so.
- Spot: a row exists only where the provider says the type is offered as spot, i.e. one
  row per location whose *spot* availability list names it. A `spot_price` of a type that
  no spot list names (or all spot prices, when no spot availability response was
  recorded) is not published; a warning per type says so. A spot price alone is not an
  offer: DataCrunch quotes one for types it has no spot capacity for anywhere.

Response kinds are recognised from the fetch step's label, else the URL, else the content
(so `scrape parse datacrunch FILE` works on the files as saved): instance types carry
`instance_type`, availability lists `location_code` + `availabilities`, locations `code` +
`name`. Spot and on-demand availability look the same; which one a file is comes from the
URL's `isSpot` query or, for a saved file, an `is_spot-true`/`isSpot=false` in its name;
an availability list that says neither is not used (warning). Availability or locations
without the instance-types response give no rows (prices come only from
`/instance-types`) and a warning, not an error.

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


KIND_AVAILABILITY = "availability"  # spot or on-demand not yet known
# "isSpot=true" in a URL query, "is_spot-true" / "isSpot=false" in a saved file's name.
_SPOT_FLAG_RE = re.compile(r"is_?spot[-=_:](true|false)", re.IGNORECASE)


def _spot_flag(text: str) -> str | None:
    m = _SPOT_FLAG_RE.search(text)
    if m is None:
        return None
    return KIND_SPOT if m.group(1).lower() == "true" else KIND_ON_DEMAND


def _kind_from_url(url: str) -> str | None:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/instance-types"):
        return KIND_TYPES
    if path.endswith("/locations"):
        return KIND_LOCATIONS
    if path.endswith("/instance-availability"):
        query = {k.lower(): v.lower() for k, v in parse_qsl(parts.query)}
        spot = query.get("isspot", query.get("is_spot"))
        return {"true": KIND_SPOT, "false": KIND_ON_DEMAND}.get(spot or "", KIND_AVAILABILITY)
    return None


def _kind_from_content(response: Response) -> str | None:
    """The kind a saved body has, from the keys of its first object (None: not one of ours)."""
    doc = tk.peek_json(response)
    first = next((x for x in doc if isinstance(x, dict)), None) if isinstance(doc, list) else None
    if first is None:
        return None
    if "instance_type" in first:
        return KIND_TYPES
    if "location_code" in first and "availabilities" in first:
        return _spot_flag(urlsplit(response.url).path.rsplit("/", 1)[-1]) or KIND_AVAILABILITY
    if "code" in first and ("name" in first or "country_code" in first):
        return KIND_LOCATIONS
    return None


def _kind_of(response: Response) -> str | None:
    """The kind the fetch step gave, else recognised from the URL (replayed archives), else
    from the content (a file saved from the API and parsed without its URL)."""
    if response.kind in KINDS:
        return response.kind
    return _kind_from_url(response.url) or _kind_from_content(response)


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
    for response in tk.fresh(responses):
        kind = _kind_of(response)
        if kind is None:
            raise ParseError(
                NAME,
                response.url,
                "not an instance-types, instance-availability or locations response",
                field="body",
            )
        if kind == KIND_AVAILABILITY:
            result.warnings.append(
                f"{NAME}: {response.url}: availability list not used: neither its URL nor its "
                "file name says isSpot=true or false (give --url ...?isSpot=true)"
            )
            continue
        by_kind[kind] = response
    types_response = by_kind.get(KIND_TYPES)
    if types_response is None:
        if not by_kind:
            source = responses[0].url if responses else DEFAULT_BASE_URL + "/instance-types"
            raise ParseError(
                NAME, source, "no instance-types response recorded", field="instance-types"
            )
        # Availability / locations alone: checked below for their layout, but they carry
        # no prices, so no rows (a live run always fetches the instance types too).
        for kind in (KIND_SPOT, KIND_ON_DEMAND):
            if kind in by_kind:
                _availability(by_kind[kind])
        if KIND_LOCATIONS in by_kind:
            _load_list(by_kind[KIND_LOCATIONS], "locations")
        result.warnings.append(
            f"{NAME}: no instance-types response among the {', '.join(sorted(by_kind))} "
            "response(s): no rows (prices come only from GET /instance-types)"
        )
        return result

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
                f"{NAME}: no {model} availability response; "
                + (
                    "spot prices are not published (a spot row needs a spot list naming it)"
                    if model == "spot"
                    else f"{model} rows use region 'global'"
                )
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
            if model == "spot" and not codes:
                if avail is not None:
                    result.warnings.append(
                        f"{NAME}: {url}: {instance_type}: spot_price {raw_price!r} not "
                        "published: no spot availability list names the type"
                    )
                continue
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
