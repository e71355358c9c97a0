"""`azure-radar-json`: andy-diericks/azure-pricing-radar `data/latest/vm-*.json` (MIT).

Each file is one region's dump of the Azure Retail Prices API (`serviceName eq 'Virtual
Machines' and armRegionName eq '<region>' and priceType eq 'Consumption'`, default currency
USD), reduced by the radar to an object keyed by meter: `{armRegionName, meterName,
productName, retailPrice, skuName, unitOfMeasure, unitPrice}`. One commit's `vm-*.json`
files together are one snapshot. The radar adds regions over time: a region entering the
scope is a fetch-scope change, which change detection keeps silent.

There is no `armSkuName`: the VM size is rebuilt from `skuName` ("NC24ads A100 v4" ->
"Standard_NC24ads_A100_v4"; the " Spot" / " Low Priority" suffix marks the pricing model)
and looked up in the same VM size -> GPU table as the live Azure provider
(scrapers/data/azure_vm_sizes.csv). Windows products are skipped (the OS licence is not
the GPU price); sizes not in the table are listed, not guessed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction

from scrapers import _toolkit as tk
from scrapers.base import ParseResult, Response, RowError
from scrapers.imports import ImportFormat, import_spec

NAME = "azure_radar"
FORMAT = "azure-radar-json"
SOURCE = "https://github.com/andy-diericks/azure-pricing-radar"
GPU_FAMILY_PREFIX = "N"  # NC, ND, NV, NG, NP, NM: Azure's GPU/accelerator families
# Windows products end "Windows" ("... Series Windows") or, for short product names, "Win"
# ("Virtual Machines NCCadsv5 Srs Win"): their price includes the OS licence.
_WINDOWS_PRODUCTS = ("Windows", " Win")
_SUFFIXES = ((" Low Priority", "spot", "low_priority"), (" Spot", "spot", None))


def _pricing(sku_name: str) -> tuple[str, str, str | None]:
    """(VM size as in armSkuName, pricing_model, term) of a `skuName`."""
    for suffix, model, term in _SUFFIXES:
        if sku_name.endswith(suffix):
            return "Standard_" + sku_name[: -len(suffix)].replace(" ", "_"), model, term
    return "Standard_" + sku_name.replace(" ", "_"), "on_demand", None


# Meter names spell some sizes their own way (same vCPUs, same series, as the meter's
# productName says): "NC128dsxlRTX6Kv6" is Standard_NC128ds_xl_RTXPRO6000BSE_v6 (Microsoft's
# size pages list no other RTX PRO 6000 series); "ND96amsA100v4" (product "NDamsr A100 v4")
# is Standard_ND96amsr_A100_v4; "ND96asr_A100_v4" (product "NDasr A100 v4") is
# Standard_ND96asr_v4. Applied after `_size_key`'s folding.
_METER_ABBREVIATIONS = (
    ("rtx6kv6", "rtxpro6000bsev6"),
    ("nd96amsa100v4", "nd96amsra100v4"),
    ("nd96asra100v4", "nd96asrv4"),
)


def _size_key(size_name: str) -> str:
    """A VM size name folded so a meter's spelling meets the armSkuName: case and
    underscores vary between them ("NC16asT4 v3" for Standard_NC16as_T4_v3, "RTX6Kv6" next
    to "RTX6kv6" in the same dump)."""
    key = size_name.lower().replace("_", "")
    for short, full in _METER_ABBREVIATIONS:
        key = key.replace(short, full)
    return key


def excerpt(body: bytes) -> bytes:
    """The GPU (N-series) meters of a dump, same layout (what examples/ ships)."""
    doc = json.loads(body)
    kept = {
        k: v
        for k, v in doc.items()
        if isinstance(v, dict) and str(v.get("skuName") or "").startswith(GPU_FAMILY_PREFIX)
    }
    return json.dumps(kept, indent=0, sort_keys=True).encode()


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    sizes = {
        _size_key(name): row
        for name, row in tk.table_by("azure_vm_sizes.csv", "arm_sku_name").items()
    }
    chosen: dict[tuple, tuple[float, object]] = {}
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, expect=dict)
        src = tk.source(resp)
        for meter, item in doc.items():
            if not isinstance(item, dict):
                continue
            sku_name = str(item.get("skuName") or "")
            product = str(item.get("productName") or "")
            if not sku_name.startswith(GPU_FAMILY_PREFIX) or product.endswith(_WINDOWS_PRODUCTS):
                continue
            rows.found()
            size_name, model, term = _pricing(sku_name)
            size = sizes.get(_size_key(size_name))
            if size is None:
                result.unknown.append(f"{NAME}: VM size {size_name} not in azure_vm_sizes.csv")
                continue
            size_name = size["arm_sku_name"]  # the armSkuName spelling, not the meter's
            with rows.guard(resp.url, f"{meter} {sku_name}"):
                if item.get("unitOfMeasure") != "1 Hour":
                    raise RowError(f"unit {item.get('unitOfMeasure')!r}", "unitOfMeasure")
                price = tk.require_decimal(item.get("unitPrice"), "unitPrice")
                region = item.get("armRegionName")
                if not region:
                    raise RowError("no armRegionName", "armRegionName")
                offer = src.offer(
                    instance_type=size_name,
                    region=region,
                    pricing_model=model,
                    term=term,
                    currency="USD",
                    price_per_hour=float(price),
                    gpu_count=float(Fraction(size["gpu_count"])),
                    gpu_name_raw=size["gpu_name_raw"],
                    gpu_model_hint=size["gpu_model_hint"] or None,
                    gpu_memory_gb=tk.opt_float(size["gpu_memory_gb"]),
                    vcpus=tk.opt_float(size["vcpus"]),
                    memory_gb=tk.opt_float(size["memory_gb"]),
                    extra={"meter": meter, "productName": product, "source": SOURCE},
                )
                # A size can have two meters (a promo product next to the list one): keep
                # the list price, i.e. the dearer, so a promo ending is not a price rise.
                key = (size_name, region, model, term)
                prev = chosen.get(key)
                if prev is None or float(price) > prev[0]:
                    chosen[key] = (float(price), offer)
    result.offers.extend(o for _, o in (chosen[k] for k in sorted(chosen, key=str)))
    rows.require_offers(
        responses,
        default_field="skuName",
        none_found="no GPU VM meter (N-series) in the dump",
        all_failed="no usable GPU VM price",
    )
    return result


PROVIDER = import_spec(
    NAME,
    title="Azure GPU VMs in EU regions (azure-pricing-radar dumps, imported)",
    source_url=SOURCE,
    pricing_models=("on_demand", "spot"),
    validated_against=(
        "recorded response: data/latest/vm-*.json of andy-diericks/azure-pricing-radar "
        "(2026-07 and 2026-08 versions, GPU meters)"
    ),
    parse=parse,
    notes="Imported Retail Prices API dumps for a few EU regions; regions join over time.",
    pricing_page_url="https://azure.microsoft.com/pricing/details/virtual-machines/linux/",
    import_format=FORMAT,
    gpu_rules_of="azure",  # its machine types are that cloud's (instance families)
    # One snapshot is several region files, and a region without GPU VMs (Belgium Central)
    # is normal: only a snapshot with no GPU meter in any file fails.
    separable_parse=False,
)

IMPORT = ImportFormat(
    name=FORMAT,
    parse=parse,
    providers=(NAME,),
    source=SOURCE,
    license="MIT",
    description="Azure Retail Prices API dumps (Virtual Machines, EU regions)",
    excerpt=excerpt,
    excerpt_note="the N-series (GPU) meters only, values unchanged",
)
