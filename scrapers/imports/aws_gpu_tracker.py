"""`aws-gpu-tracker-csv`: amorton45/aws-gpu-price-tracker `gpu_prices.csv`.

An append-only log (`timestamp,instance,price_usd`) that a daily job extends with the AWS
Price List API's on-demand price of p5.48xlarge in us-east-1. A version of the file is one
observation: its latest priced row is the price at the commit time. The first day's commit
holds placeholder rows with a blank price (monthly dates back to 2024-05 that the tracker
never had prices for): they are not prices and are skipped without a warning.

The repository states no license: only extracted price facts (instance, region, price,
date) are used, with attribution (README, "What is in the example data").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from scrapers import _toolkit as tk
from scrapers.base import ParseError, ParseResult, Response
from scrapers.imports import ImportFormat, import_spec

NAME = "aws_gpu_tracker"
FORMAT = "aws-gpu-tracker-csv"
SOURCE = "https://github.com/amorton45/aws-gpu-price-tracker"
# The tracker only queries this region (its tracker.py filters regionCode us-east-1).
REGION = "us-east-1"
COLUMNS = ("timestamp", "instance", "price_usd")


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    sizes = tk.table_by("aws_instance_sizes.csv", "instance_type")
    families = tk.table_by("aws_instance_families.csv", "family")
    for resp in tk.fresh(responses):
        text = resp.read().decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text))
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ParseError(
                NAME, resp.url, f"header {reader.fieldnames!r}, expected {COLUMNS}", "header"
            )
        latest: dict[str, tuple[str, dict[str, str]]] = {}
        for n, row in enumerate(reader, 2):
            if not (row.get("price_usd") or "").strip():
                continue  # a placeholder row of the first day: no price was ever recorded
            with rows.guard(resp.url, f"line {n}"):
                tk.require_decimal(row["price_usd"], "price_usd")
                # ISO timestamps sort as text; the last row of a day wins.
                prev = latest.get(row["instance"])
                if prev is None or row["timestamp"] >= prev[0]:
                    latest[row["instance"]] = (row["timestamp"], row)
        src = tk.source(resp)
        for instance, (stamp, row) in sorted(latest.items()):
            rows.found()
            size = sizes.get(instance)
            family = families.get(instance.split(".")[0])
            if size is None or family is None:
                result.unknown.append(
                    f"{NAME}: instance type {instance} not in aws_instance_sizes.csv"
                )
                rows.skip(resp.url, instance, "unknown instance type", field="instance")
                continue
            result.offers.append(
                src.offer(
                    instance_type=instance,
                    region=REGION,
                    pricing_model="on_demand",
                    currency="USD",
                    price_per_hour=tk.to_float(tk.require_decimal(row["price_usd"], "price_usd")),
                    gpu_count=float(size["gpu_count"]),
                    gpu_name_raw=family["gpu_name_raw"],
                    gpu_model_hint=family["gpu_model_hint"] or None,
                    gpu_memory_gb=tk.opt_float(size["gpu_memory_gb"]),
                    vcpus=tk.opt_float(size["vcpus"]),
                    memory_gb=tk.opt_float(size["memory_gb"]),
                    extra={"tracker_timestamp": stamp, "source": SOURCE},
                )
            )
    rows.require_offers(
        responses,
        default_field="price_usd",
        none_found="no priced row (only blank placeholders)",
        all_failed="no usable priced row",
    )
    return result


def excerpt(body: bytes) -> bytes:
    """Per instance, the row where its current price first appeared (header + those rows).

    Every daily version appends a row, so no two blobs are equal; this excerpt is the same
    for every version until the price moves, which is all the history needs: `parse` gives
    the same offer from it. It is also only facts (date, instance, price), the repository
    having no license."""
    text = body.decode("utf-8-sig", errors="replace")
    priced = sorted(
        (r for r in csv.DictReader(io.StringIO(text)) if (r.get("price_usd") or "").strip()),
        key=lambda r: (r["instance"], r["timestamp"]),
    )
    first_of_current: dict[str, dict[str, str]] = {}
    for row in priced:
        cur = first_of_current.get(row["instance"])
        if cur is None or cur["price_usd"].strip() != row["price_usd"].strip():
            first_of_current[row["instance"]] = row
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for inst in sorted(first_of_current):
        w.writerow([first_of_current[inst][c] for c in COLUMNS])
    return out.getvalue().encode()


PROVIDER = import_spec(
    NAME,
    title="AWS p5.48xlarge us-east-1 on demand (amorton45/aws-gpu-price-tracker, imported)",
    source_url=SOURCE,
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: gpu_prices.csv of amorton45/aws-gpu-price-tracker "
        "(2025-04-23 and 2026-08-22 versions)"
    ),
    parse=parse,
    notes="Imported git-scraped log; one instance type in one region.",
    pricing_page_url="https://aws.amazon.com/ec2/pricing/on-demand/",
    import_format=FORMAT,
    gpu_rules_of="aws",  # its machine types are that cloud's (instance families)
)

IMPORT = ImportFormat(
    name=FORMAT,
    parse=parse,
    providers=(NAME,),
    source=SOURCE,
    license="none stated (price facts only, with attribution)",
    description="daily AWS Price List API price of p5.48xlarge us-east-1, append-only CSV",
    excerpt=excerpt,
    excerpt_note="per instance the row where its current price first appeared (facts only)",
)
