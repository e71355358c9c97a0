"""AWS products and terms -> offers: the filters and the offer builder shared by every
AWS price-list format (bulk offer files, GetProducts pages/items).

A product is kept when it is an accelerator instance (family in the table, a `gpu`
attribute > 0 or an accelerator category) with the plain Linux price (shared tenancy, no
pre-installed software, capacity status Used, not a Capacity Block). Its OnDemand terms
give `on_demand` offers; its Reserved terms give `reserved_1y` / `reserved_3y` offers at
AWS's effective hourly rate (recurring rate + upfront fee spread over the term's hours).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from scrapers import _toolkit as tk
from scrapers.aws.tables import families, family_of, sizes
from scrapers.base import ParseResult, Response

# AWS quotes reserved terms as an upfront fee plus a recurring hourly rate; its own
# "effective hourly" spreads the upfront fee over 365 days x 24 h per year of the term
# (tk.HOURS_PER_YEAR).
LEASE_YEARS = {"1yr": 1, "3yr": 3}
RESERVED_MODEL = {"1yr": "reserved_1y", "3yr": "reserved_3y"}

# Product attribute values that select the plain Linux price of an instance.
WANTED_ATTRIBUTES = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
}
# AWS's own category names for accelerator instances; a product in one of these (or with
# a `gpu` attribute > 0) whose family is missing from the family table is reported.
ACCELERATOR_CATEGORIES = frozenset({"GPU instance", "Machine Learning ASIC Instances"})
CAPACITY_BLOCK = "CapacityBlock"

_OFFER_URL_REGION_RE = re.compile(r"/AmazonEC2/[^/]+/([a-z0-9-]+)/index\.json")


@dataclass
class OfferContext:
    """Per-response context every offer of that response shares."""

    prov: tk.Source  # source_url / observed_at / snapshot_sha256 of every offer
    offer_version: str | None = None
    publication_date: str | None = None
    region_hint: str | None = None  # region from the offer-file URL, for files without regionCode
    capacity_blocks_excluded: int = 0
    unknown_families: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return self.prov.url


def context(r: Response) -> OfferContext:
    m = _OFFER_URL_REGION_RE.search(r.url)
    return OfferContext(prov=tk.source(r), region_hint=m.group(1) if m else None)


def _gib(value: Any) -> float | None:
    # "1152 GiB" -> 1152.0; "NA" -> None
    m = re.match(r"\s*([\d.,]+)\s*GiB", str(value or ""))
    return float(m.group(1).replace(",", "")) if m else None


def accelerator_family(attrs: Mapping[str, Any]) -> tuple[str, bool] | None:
    """(family, known) when the product is an accelerator instance, else None."""
    itype = attrs.get("instanceType")
    if not itype or "." not in str(itype):
        return None  # dedicated-host products name a family only
    fam = family_of(str(itype))
    if fam in families():
        return fam, True
    gpu = tk.to_float(attrs["gpu"]) if "gpu" in attrs else None
    if (gpu is not None and gpu > 0) or attrs.get("instanceFamily") in ACCELERATOR_CATEGORIES:
        return fam, False
    return None


def _rejection(product: Mapping[str, Any]) -> str | None:
    """Why a product is not a plain Linux on-demand/reserved instance price (None = keep)."""
    if not str(product.get("productFamily", "")).startswith("Compute Instance"):
        return "productFamily"
    attrs = product.get("attributes") or {}
    for key, want in WANTED_ATTRIBUTES.items():
        if attrs.get(key) != want:
            return key
    if attrs.get("marketoption", "OnDemand") == CAPACITY_BLOCK:
        return CAPACITY_BLOCK
    return None


def keep_product(product: Mapping[str, Any], src: OfferContext) -> bool:
    """True for accelerator products this parser prices; records unknown families."""
    attrs = product.get("attributes") or {}
    acc = accelerator_family(attrs)
    if acc is None:
        return False
    fam, known = acc
    if not known:
        src.unknown_families.add(fam)
    why = _rejection(product)
    if why == CAPACITY_BLOCK:
        # Capacity Blocks are sold by reservation at a separate price; the offer file
        # lists them with a $0.00 hourly rate that is not an on-demand price.
        src.capacity_blocks_excluded += 1
    return why is None


def _gpu_fields(
    itype: str, attrs: Mapping[str, Any], result: ParseResult, src: OfferContext
) -> dict[str, Any]:
    fam = family_of(itype)
    info = families().get(fam)
    size = sizes().get(itype)
    count_attr = tk.to_float(attrs.get("gpu"))
    count: float | None = count_attr if count_attr and count_attr > 0 else None
    if size is not None and (count is None or size.gpu_count < 1):
        # The size table knows fractional slices (g6f) and accelerator chips the offer
        # file does not count in its `gpu` attribute (inf*, trn*).
        if count is not None and count != size.gpu_count:
            result.warnings.append(
                f"aws: {src.url}: {itype} gpu attribute {count} differs from "
                f"aws_instance_sizes.csv {size.gpu_count}; using the table"
            )
        count = size.gpu_count
    memory = (
        size.gpu_memory_gb
        if size and size.gpu_memory_gb
        else (info.gpu_memory_gb if info else None)
    )
    return {
        "gpu_count": count,
        "gpu_name_raw": info.gpu_name_raw if info else None,
        "gpu_model_hint": info.gpu_model_hint if info else None,
        "gpu_memory_gb": memory,
        "vcpus": tk.to_float(attrs.get("vcpu")) or (size.vcpus if size else None),
        "memory_gb": _gib(attrs.get("memory")) or (size.memory_gb if size else None),
    }


def hourly_usd(term: Mapping[str, Any]) -> tuple[Decimal | None, Decimal, str | None]:
    """(recurring hourly, upfront fee, rate code) of one term, in USD."""
    hourly: Decimal | None = None
    upfront = Decimal(0)
    rate_code = None
    for dim in (term.get("priceDimensions") or {}).values():
        price = tk.to_decimal((dim.get("pricePerUnit") or {}).get("USD"))
        if price is None:
            continue
        unit = dim.get("unit")
        if unit == "Hrs":
            hourly = price
            rate_code = dim.get("rateCode")
        elif unit == "Quantity":
            upfront += price
    return hourly, upfront, rate_code


def offers_for_product(
    sku: str,
    product: Mapping[str, Any],
    on_demand_terms: Mapping[str, Any],
    reserved_terms: Mapping[str, Any],
    src: OfferContext,
    rows: tk.Rows,
) -> None:
    """Offers of one kept product from its terms; unusable terms are skipped and counted."""
    result = rows.result
    attrs = product.get("attributes") or {}
    itype = str(attrs.get("instanceType"))
    region = attrs.get("regionCode") or src.region_hint or attrs.get("location")
    row = f"{itype} sku {sku}"
    rows.found()
    gpu = _gpu_fields(itype, attrs, result, src)
    if gpu["gpu_count"] is None:
        rows.skip(src.url, row, "no GPU count in the offer or aws_instance_sizes.csv", field="gpu")
        return
    base_extra = {
        "sku": sku,
        "instance_family_category": attrs.get("instanceFamily"),
        "physical_processor": attrs.get("physicalProcessor"),
        "gpu_attribute": attrs.get("gpu"),
        "gpu_memory_attribute": attrs.get("gpuMemory"),
        "usagetype": attrs.get("usagetype"),
        "operation": attrs.get("operation"),
        "current_generation": attrs.get("currentGeneration"),
        "offer_version": src.offer_version,
        "publication_date": src.publication_date,
    }
    common = dict(instance_type=itype, region=str(region), currency="USD", **gpu)
    for term in on_demand_terms.values():
        hourly, _, rate_code = hourly_usd(term)
        if hourly is None:
            rows.skip(
                src.url,
                row,
                "on-demand term without an hourly USD price",
                field="priceDimensions.pricePerUnit.USD",
            )
            continue
        if hourly <= 0:
            rows.skip(
                src.url,
                row,
                f"on-demand price {hourly}",
                field="priceDimensions.pricePerUnit.USD",
            )
            continue
        result.offers.append(
            src.prov.offer(
                pricing_model="on_demand",
                price_per_hour=float(hourly),
                price_unit_published="hour",
                extra={
                    **base_extra,
                    "rate_code": rate_code,
                    "effective_date": term.get("effectiveDate"),
                },
                **common,
            )
        )
    for term in reserved_terms.values():
        ta = term.get("termAttributes") or {}
        lease = ta.get("LeaseContractLength")
        offering_class = str(ta.get("OfferingClass", "")).lower()
        purchase = str(ta.get("PurchaseOption", ""))
        hourly, upfront, rate_code = hourly_usd(term)
        if lease not in LEASE_YEARS or not offering_class or not purchase or hourly is None:
            rows.skip(
                src.url,
                row,
                f"reserved term {term.get('offerTermCode')} with lease {lease!r}, class "
                f"{offering_class!r}, option {purchase!r}",
                field="termAttributes",
            )
            continue
        effective = hourly + upfront / (tk.HOURS_PER_YEAR * LEASE_YEARS[lease])
        purchase_id = purchase.lower().replace(" ", "_")
        result.offers.append(
            src.prov.offer(
                pricing_model=RESERVED_MODEL[lease],
                price_per_hour=float(effective),
                price_unit_published="hour+upfront" if upfront else "hour",
                term=f"{offering_class}/{purchase_id}",
                upfront_fee=float(upfront),
                extra={
                    **base_extra,
                    "lease_contract_length": lease,
                    "offering_class": offering_class,
                    "purchase_option": purchase,
                    "recurring_per_hour": float(hourly),
                    "upfront_fee": float(upfront),
                    "offer_term_code": term.get("offerTermCode"),
                    "rate_code": rate_code,
                    "effective_date": term.get("effectiveDate"),
                },
                **common,
            )
        )


def finish(src: OfferContext, result: ParseResult) -> ParseResult:
    for fam in sorted(src.unknown_families):
        result.unknown.append(
            f"aws: instance family {fam!r} (accelerator attributes in {src.url}) "
            "is missing from aws_instance_families.csv"
        )
    if src.capacity_blocks_excluded:
        result.warnings.append(
            f"aws: {src.url}: excluded {src.capacity_blocks_excluded} Capacity "
            "Block product(s) (listed at $0.00, not an on-demand price)"
        )
    return result
