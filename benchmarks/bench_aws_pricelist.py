"""Benchmark: GPU-offer extraction from an AWS EC2 region offer file, streaming vs json.load.

Generates a region offer file with the real structure of the recorded sample
(`/work/shared/samples/aws/offer-file_AmazonEC2_us-east-1_2024-05-28_p4d-excerpt.json`:
header, `products{}`, `terms{OnDemand{}, Reserved{}}`, `attributesList`) in each --layout:
`live` pretty-printed like the live files (2-space indent, `"key" : value`), `colon`
(2-space indent, `"key": value`), `compact` (no whitespace); padded to --size-mb with synthetic
non-GPU products and their terms; reserved terms copy the layout of the recorded
GetProducts item (12 terms: 1yr/3yr x standard/convertible x no/partial/all upfront).
A few hundred accelerator products (several variants each: OS, tenancy, capacity status)
are spread through the file so the filters do real work.

The same offers are also written in the bulk API's CSV layout (the `.csv` twin of every
offer file: 5 metadata rows, a header row, one row per price dimension with the product's
attributes repeated), one CSV per layout since each layout holds its own number of products.

Then, each in its own subprocess (so peak RSS is per method; --repeat N keeps the fastest):
- `stream`: `scrapers.aws.parse` on the file (the production path),
- `baseline`: `json.load` of the whole file, then a walk over products and terms with
  the same filters and offer builder,
- `csv`: a gpuhunt-style pass over the CSV (the csv module reads every row; GPU rows with
  the plain Linux on-demand hourly price are kept). It finds on-demand offers only.
Stream and baseline must produce the same offers, the CSV pass the same on-demand offers;
the stream must be >= 5x json.load and no slower than the CSV pass on every layout (exit
status 1 otherwise). Reports MB/s, peak RSS (ru_maxrss) and the ratios per layout.

    .venv/bin/python benchmarks/bench_aws_pricelist.py --size-mb 300 --layout live colon compact --repeat 3
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLES = Path(os.environ.get("AWS_SAMPLES", "/work/shared/samples/aws"))
OFFER_SAMPLE = SAMPLES / "offer-file_AmazonEC2_us-east-1_2024-05-28_p4d-excerpt.json"
RESERVED_SAMPLE = (
    SAMPLES
    / "pricing-api_GetProducts_PriceList-item_m5.large_us-east-1_2021-02-05_OnDemand+Reserved.json"
)
NON_GPU_FAMILIES = ["m5", "c5", "r5", "t3", "m6i", "c6i", "r6i", "m7g", "c7g", "i3", "x2idn", "z1d"]
GPU_TYPES = [
    "p3.2xlarge",
    "p3.8xlarge",
    "p4d.24xlarge",
    "p5.48xlarge",
    "g4dn.xlarge",
    "g5.xlarge",
    "g5.12xlarge",
    "g6.xlarge",
    "g6e.2xlarge",
    "inf2.xlarge",
    "trn1.2xlarge",
]
SIZES = ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"]
VARIANTS = [  # (operatingSystem, tenancy, capacitystatus, preInstalledSw, operation)
    ("Linux", "Shared", "Used", "NA", "RunInstances"),
    ("Windows", "Shared", "Used", "NA", "RunInstances:0002"),
    ("RHEL", "Shared", "Used", "NA", "RunInstances:0010"),
    ("Linux", "Dedicated", "Used", "NA", "RunInstances"),
    ("Linux", "Shared", "UnusedCapacityReservation", "NA", "RunInstances"),
    ("Linux", "Shared", "AllocatedCapacityReservation", "NA", "RunInstances"),
    ("Windows", "Shared", "Used", "SQL Std", "RunInstances:0006"),
]
RESERVED_FRACTION = 0.35
GPU_EVERY = 400  # one accelerator product per this many products


def _sku(rng: random.Random) -> str:
    return "".join(rng.choices("ABCDEFGHJKMNPQRSTUVWXYZ23456789", k=16))


# JSON layouts of the same content: the scanner must not depend on any of them.
LAYOUTS = {
    "live": (" : ", 2),  # what AWS serves today: `"key" : value`, 2-space indent
    "colon": (": ", 2),  # `"key": value` (Python's json.dumps, most serializers)
    "compact": (":", None),  # no whitespace at all
}


def _dumps(obj: object, level: int, key_sep: str, indent: int | None) -> str:
    if indent is None:
        return json.dumps(obj, separators=(",", key_sep))
    text = json.dumps(obj, indent=indent, separators=(",", key_sep))
    return text.replace("\n", "\n" + " " * level)


def generate(
    path: Path, size_mb: float, seed: int = 1, gpu_every: int = GPU_EVERY, layout: str = "live"
) -> dict[str, int]:
    """Write a synthetic region offer file of about size_mb MB; return counts."""
    key_sep, indent = LAYOUTS[layout]

    def nl(level: int) -> str:
        return "" if indent is None else "\n" + " " * level

    def member(first: bool, level: int, key: str, text: str) -> str:
        return ("" if first else ",") + nl(level) + json.dumps(key) + key_sep + text

    sample = json.loads(OFFER_SAMPLE.read_text())
    reserved_item = json.loads(RESERVED_SAMPLE.read_text())
    ((gpu_sku, gpu_product),) = [
        (k, v)
        for k, v in sample["products"].items()
        if v["attributes"]["marketoption"] == "OnDemand"
    ]
    od_term_template = next(iter(sample["terms"]["OnDemand"][gpu_sku].values()))
    m5_sku = reserved_item["product"]["sku"]
    reserved_templates = list(reserved_item["terms"]["Reserved"].values())
    rng = random.Random(seed)
    target = int(size_mb * 1024 * 1024)
    products: list[tuple[str, bool]] = []  # (sku, has_reserved) in file order

    def product_text(sku: str, itype: str, variant: tuple[str, ...], gpu: bool) -> str:
        p = json.loads(json.dumps(gpu_product))
        a = p["attributes"]
        a["instanceType"] = itype
        a["usagetype"] = "BoxUsage:" + itype
        (
            a["operatingSystem"],
            a["tenancy"],
            a["capacitystatus"],
            a["preInstalledSw"],
            a["operation"],
        ) = variant
        if not gpu:
            a["instanceFamily"] = "General purpose"
            del a["gpu"], a["gpuMemory"]
        p["sku"] = sku
        return _dumps(p, 4, key_sep, indent)

    def od_text(sku: str, price: float) -> str:
        t = json.loads(json.dumps(od_term_template).replace(gpu_sku, sku))
        (dim,) = t["priceDimensions"].values()
        dim["pricePerUnit"]["USD"] = f"{price:.10f}"
        dim["description"] = f"${price:.4f} per On Demand Instance Hour"
        return _dumps({f"{sku}.JRTCKXETXF": t}, 6, key_sep, indent)

    def reserved_text(sku: str, scale: float) -> str:
        block = {}
        for t in reserved_templates:
            t = json.loads(json.dumps(t).replace(m5_sku, sku))
            for dim in t["priceDimensions"].values():
                usd = float(dim["pricePerUnit"]["USD"]) * scale
                dim["pricePerUnit"]["USD"] = f"{usd:.10f}"
            block[f"{sku}.{t['offerTermCode']}"] = t
        return _dumps(block, 6, key_sep, indent)

    reserved_len = len(reserved_text(_sku(random.Random(0)), 1.0)) + 30
    tmp = path.with_suffix(".terms.tmp")
    written = 0
    counts = {"products": 0, "accelerator_products": 0, "reserved_blocks": 0}
    with open(path, "w") as out, open(tmp, "w") as terms_out:
        out.write("{")
        for i, k in enumerate(("formatVersion", "disclaimer", "offerCode", "version")):
            out.write(member(i == 0, 2, k, json.dumps(sample[k])))
        out.write(member(False, 2, "publicationDate", json.dumps(sample["publicationDate"])))
        out.write(member(False, 2, "products", "{"))
        first = True
        od_first = True
        i = 0
        while written < target:
            gpu = i % gpu_every == 0
            if gpu:
                itype = GPU_TYPES[(i // gpu_every) % len(GPU_TYPES)]
                variant = VARIANTS[(i // gpu_every // len(GPU_TYPES)) % len(VARIANTS)]
                counts["accelerator_products"] += 1
            else:
                itype = f"{rng.choice(NON_GPU_FAMILIES)}.{rng.choice(SIZES)}"
                variant = rng.choice(VARIANTS)
            sku = _sku(rng)
            chunk = member(first, 4, sku, product_text(sku, itype, variant, gpu))
            out.write(chunk)
            first = False
            price = round(rng.uniform(0.01, 40.0), 4)
            od = member(od_first, 6, sku, od_text(sku, price))
            od_first = False
            terms_out.write(od)
            has_reserved = gpu or rng.random() < RESERVED_FRACTION
            products.append((sku, has_reserved))
            written += len(chunk) + len(od) + (reserved_len if has_reserved else 0)
            counts["products"] += 1
            i += 1
        out.write(nl(2) + "}" + member(False, 2, "terms", "{") + member(True, 4, "OnDemand", "{"))
    # terms: OnDemand (already in tmp), then Reserved
    with open(path, "a") as out:
        with open(tmp) as fh:
            while chunk := fh.read(1 << 22):
                out.write(chunk)
        out.write(nl(4) + "}" + member(False, 4, "Reserved", "{"))
        first = True
        for sku, has_reserved in products:
            if not has_reserved:
                continue
            out.write(member(first, 6, sku, reserved_text(sku, rng.uniform(1, 200))))
            first = False
            counts["reserved_blocks"] += 1
        out.write(nl(4) + "}" + nl(2) + "}" + member(False, 2, "attributesList", "{ }") + nl(0))
        out.write("}\n")
    tmp.unlink()
    return counts


# The bulk API serves every offer file as CSV too (same URL, `.csv`): documented as five
# metadata rows, then a header row, then one row per price dimension: the pricing and term
# columns first, then the product attributes, repeated on every row of the product.
# https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/reading-service-price-list-file-for-services.html
# CSV_HEADER is the header row of the AmazonEC2 `index.csv` of version 20250912225308 (as
# quoted in a public repository's download notes, 2025-09); columns the generated products
# have no attribute for stay empty, as they do in the real file.
CSV_METADATA = ("FormatVersion", "Disclaimer", "Publication Date", "Version", "OfferCode")
CSV_HEADER = [
    "SKU",
    "OfferTermCode",
    "RateCode",
    "TermType",
    "PriceDescription",
    "EffectiveDate",
    "StartingRange",
    "EndingRange",
    "Unit",
    "PricePerUnit",
    "Currency",
    "RelatedTo",
    "LeaseContractLength",
    "PurchaseOption",
    "OfferingClass",
    "Product Family",
    "serviceCode",
    "Location",
    "Location Type",
    "Instance Type",
    "Current Generation",
    "Instance Family",
    "vCPU",
    "Physical Processor",
    "Clock Speed",
    "Memory",
    "Storage",
    "Network Performance",
    "Processor Architecture",
    "Storage Media",
    "Volume Type",
    "Max Volume Size",
    "Max IOPS/volume",
    "Max IOPS Burst Performance",
    "Max throughput/volume",
    "Provisioned",
    "Tenancy",
    "EBS Optimized",
    "Operating System",
    "License Model",
    "Group",
    "Group Description",
    "Transfer Type",
    "From Location",
    "From Location Type",
    "To Location",
    "To Location Type",
    "usageType",
    "operation",
    "AvailabilityZone",
    "CapacityStatus",
    "ClassicNetworkingSupport",
    "Dedicated EBS Throughput",
    "ECU",
    "Elastic Graphics Type",
    "Enhanced Networking Supported",
    "From Region Code",
    "GPU",
    "GPU Memory",
    "Instance",
    "Instance Capacity - 10xlarge",
    "Instance Capacity - 12xlarge",
    "Instance Capacity - 16xlarge",
    "Instance Capacity - 18xlarge",
    "Instance Capacity - 24xlarge",
    "Instance Capacity - 2xlarge",
    "Instance Capacity - 32xlarge",
    "Instance Capacity - 4xlarge",
    "Instance Capacity - 8xlarge",
    "Instance Capacity - 9xlarge",
    "Instance Capacity - large",
    "Instance Capacity - medium",
    "Instance Capacity - metal",
    "Instance Capacity - xlarge",
    "instanceSKU",
    "Intel AVX2 Available",
    "Intel AVX Available",
    "Intel Turbo Available",
    "MarketOption",
    "Normalization Size Factor",
    "Physical Cores",
    "Pre Installed S/W",
    "Processor Features",
    "Product Type",
    "Region Code",
    "Resource Type",
    "serviceName",
    "SnapshotArchiveFeeType",
    "To Region Code",
    "Volume API Name",
    "VPCNetworkingSupport",
]
N_TERM_COLUMNS = CSV_HEADER.index("Product Family")
# JSON product attribute -> CSV column.
CSV_PRODUCT_COLUMNS = {
    "servicecode": "serviceCode",
    "location": "Location",
    "locationType": "Location Type",
    "instanceType": "Instance Type",
    "currentGeneration": "Current Generation",
    "instanceFamily": "Instance Family",
    "vcpu": "vCPU",
    "physicalProcessor": "Physical Processor",
    "clockSpeed": "Clock Speed",
    "memory": "Memory",
    "storage": "Storage",
    "networkPerformance": "Network Performance",
    "processorArchitecture": "Processor Architecture",
    "tenancy": "Tenancy",
    "operatingSystem": "Operating System",
    "licenseModel": "License Model",
    "usagetype": "usageType",
    "operation": "operation",
    "availabilityzone": "AvailabilityZone",
    "capacitystatus": "CapacityStatus",
    "classicnetworkingsupport": "ClassicNetworkingSupport",
    "dedicatedEbsThroughput": "Dedicated EBS Throughput",
    "ecu": "ECU",
    "enhancedNetworkingSupported": "Enhanced Networking Supported",
    "gpu": "GPU",
    "gpuMemory": "GPU Memory",
    "intelAvx2Available": "Intel AVX2 Available",
    "intelAvxAvailable": "Intel AVX Available",
    "intelTurboAvailable": "Intel Turbo Available",
    "marketoption": "MarketOption",
    "normalizationSizeFactor": "Normalization Size Factor",
    "preInstalledSw": "Pre Installed S/W",
    "processorFeatures": "Processor Features",
    "regionCode": "Region Code",
    "servicename": "serviceName",
    "vpcnetworkingsupport": "VPCNetworkingSupport",
}


def _csv_line(values: list[str]) -> str:
    # The live files quote every non-empty field and leave empty ones bare (`"USD",,"3yr"`).
    return ",".join('"' + v.replace('"', '""') + '"' if v else "" for v in values) + "\n"


def write_csv(json_path: Path, csv_path: Path) -> int:
    """Write the offers of a generated JSON offer file in the bulk API's CSV layout.

    Generation only (loads the whole JSON once); returns the number of data rows."""
    with open(json_path) as fh:
        doc = json.load(fh)
    attribute_of = {column: key for key, column in CSV_PRODUCT_COLUMNS.items()}
    product_columns = CSV_HEADER[N_TERM_COLUMNS + 1 :]
    terms = doc["terms"]
    n = 0
    with open(csv_path, "w") as out:
        for name, key in zip(
            CSV_METADATA,
            ("formatVersion", "disclaimer", "publicationDate", "version", "offerCode"),
            strict=True,
        ):
            out.write(_csv_line([name, doc[key]]))
        out.write(_csv_line(CSV_HEADER))
        for sku, product in doc["products"].items():
            attrs = product["attributes"]
            product_cells = [product["productFamily"]] + [
                attrs.get(attribute_of.get(c, ""), "") for c in product_columns
            ]
            for term_type in ("OnDemand", "Reserved"):
                for term in terms[term_type].get(sku, {}).values():
                    ta = term.get("termAttributes") or {}
                    for dim in term["priceDimensions"].values():
                        ((currency, price),) = dim["pricePerUnit"].items()
                        cells = [
                            sku,
                            term["offerTermCode"],
                            dim["rateCode"],
                            term_type,
                            dim["description"],
                            term["effectiveDate"][:10],
                            dim.get("beginRange", ""),
                            dim.get("endRange", ""),
                            dim["unit"],
                            price,
                            currency,
                            "",
                            ta.get("LeaseContractLength", ""),
                            ta.get("PurchaseOption", ""),
                            ta.get("OfferingClass", ""),
                        ]
                        out.write(_csv_line(cells + product_cells))
                        n += 1
    return n


def run_csv(path: Path) -> list[tuple]:
    """A gpuhunt-style pass over the CSV layout: the csv module reads every row; GPU rows with
    the plain Linux on-demand hourly price are kept (the same filters as `offers.py`)."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        for _ in CSV_METADATA:
            next(reader)
        col = {name: i for i, name in enumerate(next(reader))}
        term, unit, price = col["TermType"], col["Unit"], col["PricePerUnit"]
        family, itype, gpu = col["Product Family"], col["Instance Type"], col["GPU"]
        wanted = [
            (col["Operating System"], "Linux"),
            (col["Tenancy"], "Shared"),
            (col["Pre Installed S/W"], "NA"),
            (col["CapacityStatus"], "Used"),
        ]
        market = col["MarketOption"]
        found = []
        for row in reader:
            if row[term] != "OnDemand" or row[unit] != "Hrs" or row[gpu] in ("", "NA", "0"):
                continue
            if not row[family].startswith("Compute Instance") or row[market] == "CapacityBlock":
                continue
            if any(row[i] != want for i, want in wanted):
                continue
            usd = float(row[price])
            if usd > 0:
                found.append((row[itype], "on_demand", "", round(usd, 8)))
    return sorted(found)


def _response(path: Path):
    from scrapers.base import Response

    gz = path.suffix == ".gz"
    return Response(
        url=f"file://{path}",
        fetched_at=datetime(2024, 5, 28, 20, 35, 22, tzinfo=UTC),
        body_path=path,
        body_path_gzip=gz,
        sha256_hex="0" * 64,
        kind="offer-file",
    )


def run_stream(path: Path) -> list[tuple]:
    from scrapers import aws

    result = aws.parse([_response(path)])
    return sorted(
        (o.instance_type, o.pricing_model, o.term or "", round(o.price_per_hour, 8))
        for o in result.offers
    )


def run_baseline(path: Path) -> list[tuple]:
    """What most tools do: load the whole file, then walk it."""
    from scrapers import _toolkit as tk
    from scrapers.aws import offers
    from scrapers.base import ParseResult

    r = _response(path)
    with r.open() as fh:
        doc = json.load(fh)
    src = offers.context(r)
    result = ParseResult()
    rows = tk.Rows("aws", result)
    terms = doc.get("terms", {})
    for sku, product in doc["products"].items():
        if offers.keep_product(product, src):
            offers.offers_for_product(
                sku,
                product,
                terms.get("OnDemand", {}).get(sku, {}),
                terms.get("Reserved", {}).get(sku, {}),
                src,
                rows,
            )
    return sorted(
        (o.instance_type, o.pricing_model, o.term or "", round(o.price_per_hour, 8))
        for o in result.offers
    )


METHODS = {"stream": run_stream, "baseline": run_baseline, "csv": run_csv}


def child(method: str, path: Path) -> None:
    if method != "csv":
        import scrapers.aws  # noqa: F401  (import time is not parse time)
    t0, cpu0 = time.perf_counter(), time.process_time()
    rows = METHODS[method](path)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    on_demand = tuple(r for r in rows if r[1] == "on_demand")
    print(
        json.dumps(
            {
                "method": method,
                # Compared: CPU seconds of the process (user + system). The VM is shared
                # by other jobs; wall time swings 2-4x with their load, CPU time much less
                # (the files are in the page cache after generation).
                "seconds": cpu,
                "wall_seconds": elapsed,
                "peak_rss_mb": rss_mb,
                "offers": len(rows),
                "digest": hash(tuple(rows)),
                "on_demand_offers": len(on_demand),
                "on_demand_digest": hash(on_demand),
            }
        )
    )


TARGET_SPEEDUP = 5.0  # issue 16: >= 5x json.load on every layout


def _run(method: str, path: Path, size_mb: float, repeat: int = 1) -> dict:
    """The fastest of `repeat` runs, each in a fresh subprocess (the VM is shared: the
    minimum is the least disturbed run)."""
    runs = []
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", method, "--file", str(path)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    res = min(runs, key=lambda r: r["seconds"])
    print(
        f"  {method:9s} {res['seconds']:7.1f} s CPU ({res['wall_seconds']:5.1f} s wall)  "
        f"{size_mb / res['seconds']:7.1f} MB/s  "
        f"peak RSS {res['peak_rss_mb']:7.0f} MB  offers {res['offers']}"
        + (f" (on-demand {res['on_demand_offers']})" if method != "csv" else "")
    )
    return res


def measure(
    path: Path, use_gzip: bool, skip_baseline: bool, csv_path: Path | None, repeat: int = 1
) -> dict:
    """Run each method in its own subprocess; print and return the figures."""
    if use_gzip:
        gz = path.with_suffix(".json.gz")
        if not gz.exists():
            with open(path, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
        measured = gz
    else:
        measured = path
    size_mb = path.stat().st_size / 1e6
    out = {}
    for method in ["stream"] + ([] if skip_baseline else ["baseline"]):
        out[method] = _run(method, measured, size_mb, repeat)
    if csv_path is not None:
        out["csv"] = _run("csv", csv_path, csv_path.stat().st_size / 1e6, repeat)
    return out


def verdict(layout: str, out: dict) -> list[str]:
    """Print the ratios of one layout; return what failed."""
    failed = []
    s = out["stream"]
    if "baseline" in out:
        b = out["baseline"]
        same = s["offers"] == b["offers"] and s["digest"] == b["digest"]
        ratio = b["seconds"] / s["seconds"]
        print(
            f"  speed-up vs json.load {ratio:.1f}x (target >= {TARGET_SPEEDUP:g}x); "
            f"identical offers: {same}"
        )
        if not same:
            failed.append(f"{layout}: stream and baseline disagree")
        elif ratio < TARGET_SPEEDUP:
            failed.append(f"{layout}: {ratio:.1f}x is below the {TARGET_SPEEDUP:g}x target")
    if "csv" in out:
        c = out["csv"]
        same = (c["offers"], c["digest"]) == (s["on_demand_offers"], s["on_demand_digest"])
        vs_load = (
            f", CSV pass {b['seconds'] / c['seconds']:.1f}x json.load" if "baseline" in out else ""
        )
        print(
            f"  stream {c['seconds'] / s['seconds']:.2f}x the CSV pass's speed{vs_load}; "
            f"same on-demand offers: {same}"
        )
        if not same:
            failed.append(f"{layout}: stream and CSV pass disagree on on-demand offers")
        elif s["seconds"] > c["seconds"]:
            failed.append(f"{layout}: stream is slower than the CSV pass")
    return failed


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument(
        "--layout",
        nargs="+",
        choices=sorted(LAYOUTS),
        default=["live", "colon"],
        help='JSON layouts to measure (default: live `"k" : v` and `"k": v`)',
    )
    ap.add_argument("--file", type=Path, default=None, help="measure this file only")
    ap.add_argument(
        "--gzip",
        action="store_true",
        help="measure on a gzip-compressed copy (how the pipeline stores downloads)",
    )
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument(
        "--skip-csv",
        action="store_true",
        help="do not compare with a CSV pass over the same offers in the CSV layout",
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per method; the fastest counts")
    ap.add_argument("--dir", type=Path, default=Path("/tmp"), help="where generated files go")
    ap.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    ap.add_argument("--write-csv", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write_csv:
        print(write_csv(args.file, args.write_csv))
        return
    if args.child:
        child(args.child, args.file)
        return
    if args.file:
        files = {args.file.name: args.file}
    else:
        files = {
            lay: args.dir / f"aws-offer-bench-{args.size_mb}mb-{lay}.json" for lay in args.layout
        }
    failed = []
    for layout, path in files.items():
        if not path.exists():
            t0 = time.perf_counter()
            counts = generate(path, args.size_mb, layout=layout)
            print(
                f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in "
                f"{time.perf_counter() - t0:.0f} s: {counts}"
            )
        csv_path = None
        if not args.skip_csv:
            # The layouts hold different numbers of products (same size in bytes): each
            # gets the CSV of its own offers.
            csv_path = path.with_suffix(".csv")
            if not csv_path.exists():
                t0 = time.perf_counter()
                # In a subprocess: loading the JSON would raise this process's peak RSS,
                # which the measured children inherit (Linux keeps ru_maxrss across exec).
                rows = subprocess.run(
                    [sys.executable, __file__, "--write-csv", str(csv_path), "--file", str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
                print(
                    f"generated {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB, {rows} rows) "
                    f"in {time.perf_counter() - t0:.0f} s"
                )
        print(f"{layout}: {path} ({path.stat().st_size / 1e6:.0f} MB)")
        out = measure(path, args.gzip, args.skip_baseline, csv_path, args.repeat)
        failed += verdict(layout, out)
    if failed:
        sys.exit("; ".join(failed))


if __name__ == "__main__":
    main()
