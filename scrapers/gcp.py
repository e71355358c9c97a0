"""Google Cloud (Compute Engine): GPU, GPU machine and TPU prices from the Cloud Billing Catalog.

Source: `GET https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus?key=...`
(Compute Engine's SKUs), paged by `nextPageToken`. The API needs an API key
(`GOOGLE_API_KEY`, any Google Cloud project with the Cloud Billing API enabled); without
one the provider is skipped, not failed. A SKU is `{skuId, description, category{resourceFamily,
resourceGroup, usageType}, serviceRegions[], pricingInfo[{pricingExpression{usageUnit,
tieredRates[{startUsageAmount, unitPrice{currencyCode, units, nanos}}]}, effectiveTime}]}`.

Output, one offer per region in `serviceRegions` and per usage type
(OnDemand -> on_demand, Preemptible -> spot, Commit1Yr -> reserved_1y, Commit3Yr -> reserved_3y):

- per-GPU rows: `resourceGroup == "GPU"` SKUs ("Nvidia Tesla A100 GPU running in Americas"),
  instance_type = the accelerator type (`nvidia-tesla-a100`, table
  `scrapers/data/gcp_accelerators.csv`), gpu_count 1, price per GPU-hour. On GCE a GPU is
  attached to a VM whose vCPUs/RAM are billed on top; `extra["price_scope"]` says so.
- whole-machine rows for families with built-in GPUs (a2, a3, a4, g2; shapes in
  `scrapers/data/gcp_machine_shapes.csv`): vCPUs x "<FAMILY> Instance Core" + GB x
  "<FAMILY> Instance Ram" + GPUs x the GPU SKU, built only when all three SKUs exist for
  that region and usage type. Boot disk and bundled local SSD are not included.
- TPU rows: `resourceGroup == "TPU"` SKUs of the same service (v5e, v5p, v6e ... are billed
  under Compute Engine; the legacy Cloud TPU service E000-3F24-B8AA with per-device v2-v4
  prices is not read), per chip-hour, instance_type `tpu-<version>`. We deliberately do not
  use a hand-transcribed TPU page table: it is not an observation, goes stale silently, and
  the transcription we have lists spot above on-demand for some pods.

Prices are `units` + `nanos` (1e-9) built as `Decimal`, so 2 units + 933908000 nanos is
exactly 2.933908. Of tiered rates, the tier starting at 0 is the list price; the other tiers
are kept in `extra["tiered_rates"]`.

One module (~500 lines) on purpose: the GPU, machine and TPU rows come from one pass over
the same SKU pages and share the rate reading; split apart they would pass that state around.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from scrapers import _toolkit as tk
from scrapers.base import (
    FetchContext,
    Offer,
    ParseError,
    ParseResult,
    ProviderError,
    ProviderSpec,
    Response,
    Setting,
    SkipProvider,
)

NAME = "gcp"
DEFAULT_BASE_URL = "https://cloudbilling.googleapis.com"
COMPUTE_ENGINE_SERVICE_ID = "6F81-5844-456A"
SKUS_PATH = f"v1/services/{COMPUTE_ENGINE_SERVICE_ID}/skus"
API_KEY_SETTING = "GOOGLE_API_KEY"
PAGE_SIZE = 5000  # the API's maximum pageSize
MAX_PAGES = 200  # Compute Engine has a few tens of thousands of SKUs; a token loop must end
HOUR_UNIT = "h"  # usageUnit of GPU, TPU and vCPU SKUs
GIB_HOUR_UNIT = "GiBy.h"  # usageUnit of RAM SKUs

ACCELERATOR_TABLE = "gcp_accelerators.csv"
MACHINE_TABLE = "gcp_machine_shapes.csv"

USAGE_TYPES = {
    "OnDemand": "on_demand",
    "Preemptible": "spot",
    "Commit1Yr": "reserved_1y",
    "Commit3Yr": "reserved_3y",
}
# Committed use discounts are the only reserved variant the catalog lists for these SKUs.
COMMITMENT_TERM = "cud"

# GPU/TPU SKUs that are not a plain list price of the accelerator: vWS licences on top of the
# GPU, sole-tenant premiums, DWS calendar/flex-start and reservation variants.
VARIANT_RE = re.compile(
    r"virtual workstation|sole tenan|\bdws\b|calendar|flex[- ]start|reserved|reservation|"
    r"defined duration|capacity optimi",
    re.IGNORECASE,
)
SPOT_DESCRIPTION_RE = re.compile(
    r"^(?:Spot\s+)?Preemptible\s|attached to (?:Spot\s+)?Preemptible", re.IGNORECASE
)
# "Commitment v1: Nvidia Tesla T4 GPU in Americas for 1 Year",
# "Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas",
# "RTX 6000 96GB running in Belgium" (G4 names carry no "GPU" token).
GPU_NAME_RE = re.compile(
    r"^(?:Commitment v\d+:\s*)?(?:(?:Spot\s+)?Preemptible\s+)?(?P<name>.+?)(?:\s+GPU)?"
    r"\s+(?:running in|attached to|in)\s+\S"
)
# "A2 Instance Core running in Americas", "Spot Preemptible A2 Instance Ram running in ...",
# "Commitment v1: A2 Cpu in Americas for 1 Year", "Commitment v1: A2 Ram in ... for 3 Years".
CPU_RAM_RE = re.compile(
    r"^(?:(?:Spot\s+)?Preemptible\s+)?(?P<family>[A-Z][A-Z0-9]*)\s+(?:AMD\s+|Intel\s+|Arm\s+)?"
    r"Instance\s+(?P<what>Core|Ram)\s+running in\s"
    r"|^Commitment v\d+:\s*(?P<cfamily>[A-Z][A-Z0-9]*)\s+(?:AMD\s+|Intel\s+|Arm\s+)?"
    r"(?P<cwhat>Cpu|Core|Ram)\s+in\s",
)
# Google spells the generation "TpuV5e", "Tpu-v4", "TPU v6e", "TPU7x", "Reserved V5e TPU".
TPU_VERSION_RES = (
    re.compile(r"TPU\s?(7x)", re.IGNORECASE),
    re.compile(r"Tpu[-\s]?(v\d+[a-z]*)", re.IGNORECASE),
    re.compile(r"\b(v\d+[a-z]*)\s+TPU\b", re.IGNORECASE),
)


@dataclass(frozen=True)
class Accelerator:
    accelerator_type: str
    gpu_model_hint: str
    gpu_memory_gb: float


@dataclass(frozen=True)
class MachineShape:
    machine_type: str
    sku_family: str
    vcpus: Decimal
    memory_gb: Decimal
    gpu_count: int
    accelerator_type: str


@cache
def accelerator_table() -> dict[str, Accelerator]:
    """SKU GPU name (lower case) -> accelerator type, hint and memory."""
    return {
        row["sku_gpu_name"].lower(): Accelerator(
            row["accelerator_type"], row["gpu_model_hint"], float(row["gpu_memory_gb"])
        )
        for row in tk.table(ACCELERATOR_TABLE)
    }


@cache
def machine_shapes() -> tuple[MachineShape, ...]:
    return tuple(
        MachineShape(
            row["machine_type"],
            row["sku_family"].upper(),
            Decimal(row["vcpus"]),
            Decimal(row["memory_gb"]),
            int(row["gpu_count"]),
            row["accelerator_type"],
        )
        for row in tk.table(MACHINE_TABLE)
    )


async def fetch(ctx: FetchContext) -> list[Response]:
    """Every page of Compute Engine SKUs; the key goes in `params` so the client redacts it."""
    key = ctx.settings.get(API_KEY_SETTING)
    if not key:
        raise SkipProvider(
            f"{NAME}: skipped: set {API_KEY_SETTING} to a Google Cloud API key with the "
            "Cloud Billing API enabled (the catalog is public, any project's key works)"
        )
    url = ctx.url(SKUS_PATH)
    out: list[Response] = []
    token = ""
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"key": key, "pageSize": PAGE_SIZE, "currencyCode": "USD"}
        if token:
            params["pageToken"] = token
        resp = await ctx.client.get(url, provider=NAME, kind="skus", params=params, secrets=[key])
        out.append(resp)
        token = _next_page_token(resp)
        if not token:
            return out
        if token in seen:
            raise ProviderError(
                NAME, resp.url, "nextPageToken repeats a previous page", field="nextPageToken"
            )
        seen.add(token)
    raise ProviderError(NAME, url, f"still paging after {MAX_PAGES} pages", field="nextPageToken")


def _next_page_token(resp: Response) -> str:
    doc = tk.load_json(resp, NAME, expect=(dict, list))
    token = doc.get("nextPageToken") if isinstance(doc, dict) else None
    return token if isinstance(token, str) else ""


# --- parsing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """One SKU's list price for one region, ready to be turned into offers."""

    sku: dict[str, Any]
    region: str
    pricing_model: str
    currency: str
    price: Decimal  # per usage unit
    usage_unit: str
    extra: dict[str, Any]
    source: tk.Source


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    gpu_rates: dict[tuple[str, str, str], tuple[Rate, Accelerator, str]] = {}
    cpu_ram: dict[tuple[str, str, str, str], Rate] = {}  # (family, Core|Ram, region, model)
    tpu_rates: list[tuple[Rate, str]] = []
    skipped_usage: dict[str, int] = {}
    gpu_skus_seen = 0
    for resp in responses:
        if resp.not_modified:
            continue
        src = tk.source(resp)
        for sku in _skus(resp):
            category = sku.get("category") or {}
            group = category.get("resourceGroup")
            description = str(sku.get("description") or "")
            if group not in ("GPU", "TPU") and not CPU_RAM_RE.match(description):
                continue
            if group == "GPU":
                gpu_skus_seen += 1
            usage = category.get("usageType")
            model = USAGE_TYPES.get(str(usage))
            # Some newer SKUs (A4 B200 slices) carry usageType OnDemand for the Spot price;
            # the description is then the only marker.
            if model == "on_demand" and SPOT_DESCRIPTION_RE.search(description):
                model = "spot"
            if model is None:
                skipped_usage[str(usage)] = skipped_usage.get(str(usage), 0) + 1
                continue
            if group in ("GPU", "TPU") and VARIANT_RE.search(description):
                continue
            rates = _rates(sku, src, model, rows)
            if group == "GPU":
                _collect_gpu(rates, description, gpu_rates, result)
            elif group == "TPU":
                version = _tpu_version(description)
                if version is None:
                    result.unknown.append(
                        f"{NAME}: TPU SKU {sku.get('skuId')} {description!r}: no TPU version"
                    )
                    continue
                tpu_rates.extend((r, version) for r in rates)
            else:
                m = CPU_RAM_RE.match(description)
                assert m is not None
                family = (m.group("family") or m.group("cfamily")).upper()
                what = "Ram" if (m.group("what") or m.group("cwhat")) == "Ram" else "Core"
                for r in rates:
                    cpu_ram.setdefault((family, what, r.region, r.pricing_model), r)
    if skipped_usage:
        result.warnings.append(
            f"{NAME}: skipped SKUs with usage types we do not publish: "
            + ", ".join(f"{k} x{v}" for k, v in sorted(skipped_usage.items()))
        )
    source = responses[0].url if responses else "(no responses)"
    if not gpu_rates:
        if gpu_skus_seen:
            # GPU SKUs are there but none had a usable price: the price layout changed.
            raise ParseError(
                NAME,
                source,
                f"none of {gpu_skus_seen} GPU SKUs has a parseable hourly price "
                f"({'; '.join(result.warnings[:3])})",
                field="skus[].pricingInfo[].pricingExpression.tieredRates[].unitPrice",
            )
        raise ParseError(
            NAME,
            source,
            "no SKUs with resourceGroup GPU in any page",
            field="skus[].category.resourceGroup",
        )
    for rate, acc, raw_name in gpu_rates.values():
        result.offers.append(_gpu_offer(rate, acc, raw_name))
    result.offers.extend(_machine_offers(gpu_rates, cpu_ram))
    for rate, version in tpu_rates:
        result.offers.append(_tpu_offer(rate, version))
    return result


def _skus(resp: Response) -> Iterator[dict[str, Any]]:
    doc = tk.load_json(resp, NAME, expect=(dict, list))
    skus = tk.envelope(doc, resp, NAME, keys={"skus": list}, field="skus")["skus"]
    for sku in skus:
        if isinstance(sku, dict):
            yield sku


def _rates(sku: dict[str, Any], resp: tk.Source, model: str, rows: tk.Rows) -> list[Rate]:
    """The SKU's current list price for each of its regions; [] (and a skip) if unusable."""
    sku_id = sku.get("skuId", "?")
    row = f"SKU {sku_id}"
    infos = sku.get("pricingInfo")
    if not isinstance(infos, list) or not infos:
        rows.skip(resp.url, row, "no pricingInfo", field="pricingInfo")
        return []
    # Without a time range the API returns only the current price; if several come back,
    # the last one is the newest.
    info = infos[-1]
    expr = info.get("pricingExpression") or {}
    tiers = expr.get("tieredRates")
    if not isinstance(tiers, list) or not tiers:
        rows.skip(resp.url, row, "no tieredRates", field="pricingExpression.tieredRates")
        return []
    try:
        priced = [
            (
                Decimal(str(t.get("startUsageAmount", 0) or 0)),
                tk.units_nanos(t["unitPrice"]),
                str(t["unitPrice"].get("currencyCode", "")),
            )
            for t in tiers
        ]
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        rows.skip(resp.url, row, f"unparseable unitPrice ({exc!r})", field="unitPrice")
        return []
    base = [p for p in priced if p[0] == 0]
    if not base or not base[0][2]:
        rows.skip(
            resp.url, row, "no tier starting at 0 with a currency", field="unitPrice.currencyCode"
        )
        return []
    _, price, currency = base[0]
    extra: dict[str, Any] = {
        "sku_id": sku_id,
        "sku_description": sku.get("description"),
        "usage_type": (sku.get("category") or {}).get("usageType"),
        "usage_unit": expr.get("usageUnit"),
    }
    if info.get("effectiveTime"):
        extra["effective_time"] = info["effectiveTime"]
    if len(priced) > 1:
        extra["tiered_rates"] = [
            {"start_usage_amount": str(start), "unit_price": str(p)} for start, p, _ in priced
        ]
    regions = [r for r in (sku.get("serviceRegions") or []) if isinstance(r, str) and r]
    if not regions:
        regions = [
            r
            for r in ((sku.get("geoTaxonomy") or {}).get("regions") or [])
            if isinstance(r, str) and r
        ]
    if not regions:
        rows.skip(resp.url, row, "no serviceRegions", field="serviceRegions")
        return []
    return [
        Rate(sku, region, model, currency, price, str(expr.get("usageUnit", "")), extra, resp)
        for region in regions
    ]


def _collect_gpu(
    rates: list[Rate],
    description: str,
    gpu_rates: dict[tuple[str, str, str], tuple[Rate, Accelerator, str]],
    result: ParseResult,
) -> None:
    if not rates:
        return
    m = GPU_NAME_RE.match(description)
    raw_name = m.group("name").strip() if m else description
    acc = accelerator_table().get(raw_name.lower())
    if acc is None:
        # Keep the row under a derived accelerator id; the run summary shows the gap.
        slug = re.sub(r"[^a-z0-9]+", "-", raw_name.lower()).strip("-")
        acc = Accelerator(slug, "", 0.0)
        result.unknown.append(
            f"{NAME}: GPU {raw_name!r} (SKU {rates[0].extra['sku_id']}) not in gcp_accelerators.csv"
        )
    for r in rates:
        if r.usage_unit != HOUR_UNIT:
            result.warnings.append(
                f"{NAME}: SKU {r.extra['sku_id']}: GPU priced per {r.usage_unit!r}, not per hour; skipped"
            )
            return
        key = (acc.accelerator_type, r.region, r.pricing_model)
        prev = gpu_rates.get(key)
        if prev is None:
            gpu_rates[key] = (r, acc, raw_name)
        elif prev[0].price != r.price:
            result.warnings.append(
                f"{NAME}: {key}: SKUs {prev[0].extra['sku_id']} and {r.extra['sku_id']} disagree "
                f"({prev[0].price} vs {r.price}); kept the first"
            )


def _tpu_version(description: str) -> str | None:
    for rx in TPU_VERSION_RES:
        m = rx.search(description)
        if m:
            return m.group(1).lower()
    return None


def _common(rate: Rate) -> dict[str, Any]:
    return {
        "region": rate.region,
        "pricing_model": rate.pricing_model,
        "currency": rate.currency,
        "term": COMMITMENT_TERM if rate.pricing_model.startswith("reserved") else None,
    }


def _gpu_offer(rate: Rate, acc: Accelerator, raw_name: str) -> Offer:
    return rate.source.offer(
        instance_type=acc.accelerator_type,
        price_per_hour=float(rate.price),
        gpu_count=1.0,
        gpu_name_raw=raw_name,
        gpu_model_hint=acc.gpu_model_hint or None,
        gpu_memory_gb=acc.gpu_memory_gb or None,
        price_unit_published="gpu_hour",
        price_scope="gpu_only",
        extra={
            **rate.extra,
            "price_scope": "GPU only; the VM's vCPUs, RAM and disk are billed separately",
        },
        **_common(rate),
    )


def _tpu_offer(rate: Rate, version: str) -> Offer:
    return rate.source.offer(
        instance_type=f"tpu-{version}",
        price_per_hour=float(rate.price),
        gpu_count=1.0,
        gpu_name_raw=f"TPU {version}",
        gpu_model_hint=f"TPU {version}",
        price_unit_published="chip_hour",
        price_scope="gpu_only",  # the accelerator alone, like the per-GPU rows
        extra={**rate.extra, "price_scope": "one TPU chip; host VM and disk excluded"},
        **_common(rate),
    )


def _machine_offers(
    gpu_rates: dict[tuple[str, str, str], tuple[Rate, Accelerator, str]],
    cpu_ram: dict[tuple[str, str, str, str], Rate],
) -> Iterator[Offer]:
    """Whole-machine prices for GPU machine families, where all three component SKUs exist."""
    for shape in machine_shapes():
        for (acc_type, region, model), (gpu, acc, raw_name) in gpu_rates.items():
            if acc_type != shape.accelerator_type:
                continue
            core = cpu_ram.get((shape.sku_family, "Core", region, model))
            ram = cpu_ram.get((shape.sku_family, "Ram", region, model))
            if core is None or ram is None:
                continue
            if core.usage_unit != HOUR_UNIT or ram.usage_unit != GIB_HOUR_UNIT:
                continue
            if not (core.currency == ram.currency == gpu.currency):
                continue
            # GCE machine memory is quoted in "GB" that are GiB, the unit of the RAM SKU.
            total = (
                shape.vcpus * core.price + shape.memory_gb * ram.price + shape.gpu_count * gpu.price
            )
            yield gpu.source.offer(
                instance_type=shape.machine_type,
                price_per_hour=float(total),
                gpu_count=float(shape.gpu_count),
                gpu_name_raw=raw_name,
                gpu_model_hint=acc.gpu_model_hint or None,
                gpu_memory_gb=acc.gpu_memory_gb or None,
                vcpus=float(shape.vcpus),
                memory_gb=float(shape.memory_gb),
                price_unit_published="hour",
                extra={
                    "price_scope": "vCPUs + RAM + GPUs; boot disk and bundled local SSD excluded",
                    "components": {
                        "vcpu": {
                            "sku_id": core.extra["sku_id"],
                            "unit_price": str(core.price),
                            "quantity": str(shape.vcpus),
                        },
                        "ram_gib": {
                            "sku_id": ram.extra["sku_id"],
                            "unit_price": str(ram.price),
                            "quantity": str(shape.memory_gb),
                        },
                        "gpu": {
                            "sku_id": gpu.extra["sku_id"],
                            "unit_price": str(gpu.price),
                            "quantity": str(shape.gpu_count),
                        },
                    },
                    "price_exact": str(total),
                },
                **_common(gpu),
            )


PROVIDER = ProviderSpec(
    name=NAME,
    title="Google Cloud (Compute Engine GPUs, GPU machines, TPUs)",
    pricing_page_url="https://cloud.google.com/compute/gpus-pricing",
    source_urls=(f"{DEFAULT_BASE_URL}/{SKUS_PATH}",),
    pricing_models=("on_demand", "spot", "reserved_1y", "reserved_3y"),
    validated_against=(
        "recorded response: gcp/cloudbilling-v1_services-6F81-5844-456A_skus_2023_excerpt.json "
        "(opencost test data, 2023-08-14)"
    ),
    default_base_url=DEFAULT_BASE_URL,
    fetch=fetch,
    parse=parse,
    settings=(
        Setting(
            API_KEY_SETTING,
            secret=True,
            required=True,
            help="Google Cloud API key with the Cloud Billing API enabled",
        ),
    ),
    default_cadence="0 3 * * *",
    notes=(
        "Per-GPU rows are the GPU SKU alone (VM billed on top); a2/a3/a4/g2 machine rows sum "
        "vCPU + RAM + GPU SKUs; TPU rows are per chip-hour from TPU SKUs of the same service."
    ),
)
