"""AWS spot prices: the feed behind aws.amazon.com/ec2/spot/pricing/.

`https://website.spot.ec2.aws.a2z.com/spot.json` today; the older `spot.js` is the same
object in a JSONP wrapper (`callback({...});`) and, before 2021, named regions with
legacy names ("us-east", "apac-sin") mapped by `data/aws_spot_regions.csv`. Output: one
`spot` offer per (region, accelerator size), GPU counts from `data/aws_instance_sizes.csv`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from scrapers import _toolkit as tk
from scrapers.aws.tables import NAME, families, family_of, sizes, spot_regions
from scrapers.base import ParseError, ParseResult, Response

SPOT_NOT_AVAILABLE_PREFIX = "N/A"
REGION_CODE_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d+(-[a-z]+-\d+[a-z]?)?$")

_JSONP_RE = re.compile(r"^\s*(?:/\*.*?\*/\s*)?[A-Za-z_$][\w$.]*\s*\(", re.DOTALL)


def _spot_json(r: Response) -> Any:
    text = r.read().decode("utf-8")
    m = _JSONP_RE.match(text)
    if m:
        text = text[m.end() :].rstrip().rstrip(";").rstrip()
        if not text.endswith(")"):
            raise ParseError(NAME, r.url, "JSONP wrapper without closing ')'", field="callback")
        text = text[:-1]
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ParseError(NAME, r.url, f"invalid spot feed JSON ({exc})", field="config") from None


def parse_spot_feed(r: Response) -> ParseResult:
    result = ParseResult()
    doc = _spot_json(r)
    try:
        config = doc["config"]
        regions = config["regions"]
        currencies = config.get("currencies") or ["USD"]
    except (KeyError, TypeError):
        raise ParseError(
            NAME, r.url, "spot feed without config.regions", field="config.regions"
        ) from None
    currency = currencies[0]
    src = tk.source(r)
    rows = tk.Rows(NAME, result)
    legacy = spot_regions()
    unknown_families: set[str] = set()
    not_available = 0
    for region_block in regions:
        raw_region = region_block.get("region", "")
        region = legacy.get(raw_region, raw_region)
        if not REGION_CODE_RE.match(region):
            result.unknown.append(
                f"aws: spot region name {raw_region!r} in {r.url} is missing "
                "from aws_spot_regions.csv"
            )
        for group in region_block.get("instanceTypes") or []:
            group_type = str(group.get("type", ""))
            for size in group.get("sizes") or []:
                itype = str(size.get("size", ""))
                fam = family_of(itype)
                info = families().get(fam)
                if info is None:
                    if group_type.lower().startswith("gpu"):
                        unknown_families.add(fam)
                    continue
                price_raw = next(
                    (
                        (vc.get("prices") or {}).get(currency)
                        for vc in size.get("valueColumns") or []
                        if vc.get("name") == "linux"
                    ),
                    None,
                )
                if price_raw is None or str(price_raw).startswith(SPOT_NOT_AVAILABLE_PREFIX):
                    not_available += 1  # "N/A*": not offered as spot in that region
                    continue
                price = tk.to_decimal(price_raw)  # strings, some in scientific notation ("9.0E-4")
                if price is None or price <= 0:
                    rows.skip(
                        r.url,
                        f"{raw_region} {itype}",
                        f"spot price {price_raw!r} unreadable",
                        field="valueColumns[].prices",
                    )
                    continue
                spec = sizes().get(itype)
                if spec is None:
                    rows.skip(
                        r.url,
                        f"{raw_region} {itype}",
                        "missing from aws_instance_sizes.csv (no GPU count)",
                        field="size",
                    )
                    result.unknown.append(
                        f"aws: instance size {itype!r} is missing from aws_instance_sizes.csv"
                    )
                    continue
                result.offers.append(
                    src.offer(
                        instance_type=itype,
                        region=region,
                        pricing_model="spot",
                        currency=currency,
                        price_per_hour=float(price),
                        price_unit_published="hour",
                        gpu_count=spec.gpu_count,
                        gpu_name_raw=info.gpu_name_raw,
                        gpu_model_hint=info.gpu_model_hint,
                        gpu_memory_gb=spec.gpu_memory_gb,
                        vcpus=spec.vcpus,
                        memory_gb=spec.memory_gb,
                        extra={
                            "spot_region_name": raw_region,
                            "spot_group": group_type,
                            "feed_version": doc.get("vers"),
                        },
                    )
                )
    for fam in sorted(unknown_families):
        result.unknown.append(
            f"aws: instance family {fam!r} (spot feed GPU group in {r.url}) is "
            "missing from aws_instance_families.csv"
        )
    if not_available:
        result.warnings.append(
            f"aws: {r.url}: {not_available} accelerator spot price(s) 'N/A*' "
            "(not offered in that region)"
        )
    return result
