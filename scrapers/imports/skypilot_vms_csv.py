"""`skypilot-vms-csv`: the SkyPilot catalog `vms.csv` (skypilot-org/skypilot-catalog,
`catalogs/v5..v8/<cloud>/vms.csv`; schema in that repository's README).

Columns (found by header name: their order differs per cloud and schema version):
InstanceType, vCPUs, MemoryGiB, AcceleratorName, AcceleratorCount, GpuInfo, Region,
AvailabilityZone (not for every cloud), Price, SpotPrice (v8 adds Arch). Quirks:
- GCP lists host VMs and accelerators as separate rows: an accelerator row has an empty
  InstanceType and prices the accelerators alone (`price_scope="gpu_only"`, instance type
  "<accelerator> x<count>"); a host row without an accelerator is a CPU VM and skipped,
  like every row without an accelerator. TPUs are accelerators ("tpu-v4-8").
- GpuInfo is a Python-literal dict ("{'Gpus': [{'Name': ..., 'MemoryInfo': {'SizeInMiB':
  ...}}]}"); some files leave it unquoted, so its commas split it into extra cells: a row
  with more cells than the header has them joined back into GpuInfo.
- Duplicate rows exist: identical ones are kept once, silently; differing ones under one
  key keep the cheapest, with a warning.
- Price or SpotPrice may be empty (no on-demand or no spot price there).
Each cloud is its own provider id (`--provider skypilot_gcp`, ...): one vms.csv is the whole
catalog of one cloud.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Sequence

from scrapers import _toolkit as tk
from scrapers.base import Offer, ParseError, ParseResult, Response
from scrapers.imports import ImportFormat, import_spec

FORMAT = "skypilot-vms-csv"
SOURCE = "https://github.com/skypilot-org/skypilot-catalog"
CLOUDS = ("aws", "gcp", "azure", "lambda")
REQUIRED = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Region", "Price")


def _gpu_memory_gb(info: str) -> float | None:
    if not info.strip():
        return None
    try:
        doc = ast.literal_eval(info)
        mib = doc["Gpus"][0]["MemoryInfo"]["SizeInMiB"]
    except (ValueError, SyntaxError, KeyError, IndexError, TypeError):
        return None  # memory unknown; the GPU name still resolves
    return float(tk.to_decimal(mib) / tk.MIB_PER_GIB) if tk.to_decimal(mib) else None


def _cells(header: list[str], row: list[str]) -> dict[str, str]:
    extra = len(row) - len(header)
    if extra > 0 and "GpuInfo" in header:
        g = header.index("GpuInfo")
        row = [*row[:g], ",".join(row[g : g + extra + 1]), *row[g + extra + 1 :]]
    return dict(zip(header, row, strict=False))


def make_parse(name: str):
    def parse(responses: Sequence[Response]) -> ParseResult:
        result = ParseResult()
        rows = tk.Rows(name, result)
        chosen: dict[tuple, Offer] = {}
        for resp in tk.fresh(responses):
            text = resp.read().decode("utf-8", errors="replace")
            reader = csv.reader(io.StringIO(text))
            header = next(reader, None) or []
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise ParseError(
                    name, resp.url, f"no column {missing[0]!r} in the header", missing[0]
                )
            src = tk.source(resp)
            for n, raw in enumerate(reader, 2):
                if not raw:
                    continue
                row = _cells(header, raw)
                accel = (row.get("AcceleratorName") or "").strip()
                if not accel:
                    continue  # a CPU VM (or a GCP host VM priced without its GPUs)
                rows.found()
                with rows.guard(resp.url, f"line {n}"):
                    count = tk.require_decimal(row.get("AcceleratorCount"), "AcceleratorCount")
                    instance = (row.get("InstanceType") or "").strip()
                    scope = "instance"
                    if not instance:  # GCP: the accelerators alone, host VM billed on top
                        instance, scope = f"{accel} x{count.normalize():f}", "gpu_only"
                    for col, model in (("Price", "on_demand"), ("SpotPrice", "spot")):
                        price = tk.positive_decimal(row.get(col))
                        if price is None:
                            continue
                        offer = src.offer(
                            instance_type=instance,
                            region=row["Region"],
                            zone=(row.get("AvailabilityZone") or "").strip() or None,
                            pricing_model=model,
                            currency="USD",
                            price_per_hour=float(price),
                            gpu_count=float(count),
                            gpu_name_raw=accel,
                            gpu_memory_gb=_gpu_memory_gb(row.get("GpuInfo") or ""),
                            vcpus=tk.to_float(row.get("vCPUs") or None),
                            memory_gb=tk.to_float(row.get("MemoryGiB") or None),
                            price_scope=scope,
                            extra={"source": SOURCE}
                            if scope == "instance"
                            else {
                                "source": SOURCE,
                                "price_scope": "GPU only; host VM billed on top",
                            },
                        )
                        key = (instance, offer.region, offer.zone, model)
                        prev = chosen.get(key)
                        if prev is not None and prev.price_per_hour != offer.price_per_hour:
                            result.warnings.append(
                                f"{name}: {resp.url}: line {n}: duplicate {key} with another "
                                f"price ({prev.price_per_hour} vs {offer.price_per_hour}): "
                                "kept the cheaper"
                            )
                        if prev is None or offer.price_per_hour < prev.price_per_hour:
                            chosen[key] = offer
        result.offers.extend(chosen[k] for k in sorted(chosen, key=str))
        rows.require_offers(
            responses,
            default_field="AcceleratorName",
            none_found="no accelerator row (header only?)",
            all_failed="no usable accelerator row",
        )
        return result

    return parse


def _spec(cloud: str):
    name = f"skypilot_{cloud}"
    return import_spec(
        name,
        title=f"{cloud.upper() if cloud != 'lambda' else 'Lambda'} via the SkyPilot catalog (imported)",
        source_url=f"{SOURCE}/blob/master/catalogs/v6/{cloud}/vms.csv",
        pricing_models=("on_demand", "spot"),
        validated_against=(
            "recorded response: catalogs/v6/gcp/vms.csv @ 04895829 and catalogs/v5/lambda/"
            "vms.csv @ 2a8fa5b2 of skypilot-org/skypilot-catalog (excerpts)"
        ),
        parse=make_parse(name),
        notes="Imported SkyPilot catalog versions of one cloud.",
        import_format=FORMAT,
        # The catalog lists that cloud's own instance types: its instance-family rules apply.
        gpu_rules_of="lambdalabs" if cloud == "lambda" else cloud,
    )


SPECS = tuple(_spec(c) for c in CLOUDS)

IMPORT = ImportFormat(
    name=FORMAT,
    parse=SPECS[0].parse,
    providers=tuple(s.name for s in SPECS),
    source=SOURCE,
    license="none found in the repository (price excerpts in test fixtures only, with attribution)",
    description="SkyPilot catalog vms.csv, one file per cloud",
)
