"""`cloud-gpus-json`: cloud-gpus/cloud-gpus.github.io `cloud_gpu.json` (earlier
`js/cloud_gpu.json`).

A hand-curated table (2021-05 to 2025-09, edited by pull requests): one object per cloud
(`name`, `url`, `region`, ...) with `cost<gpu>` columns holding that cloud's cheapest price
per GPU-hour for the GPU ("$0.53"; "-", "$-" or "" for none; a few in euros "€1.89" and a
few without a currency sign, read as dollars like the rest of the column). These are a third
party's summaries, not offers a provider published: every row is
`price_scope="curated_min"`, one GPU, region "global", with the curated cloud's name in the
instance type by its site ("lambdalabs.com: A100 40GB") and its name and the column in
`extra`.

The repository has no license since 2022-08 (its GPL-3.0 LICENSE was deleted): only
extracted price facts (cloud, GPU, price, date) are used, with attribution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from scrapers import _toolkit as tk
from scrapers.base import ParseResult, Response
from scrapers.imports import ImportFormat, import_spec

NAME = "cloud_gpus"
FORMAT = "cloud-gpus-json"
SOURCE = "https://github.com/cloud-gpus/cloud-gpus.github.io"
TABLE = "cloud_gpus_columns.csv"
_PRICE_RE = re.compile(r"^\s*(?P<cur>[$€])?\s*(?P<num>\d+(?:\.\d+)?)\s*\*?\s*$")
_CURRENCY = {"$": "USD", "€": "EUR", None: "USD"}
_NONE = {"", "-", "$-", "n/a", "N/A"}


def excerpt(body: bytes) -> bytes:
    """Only the price facts of a version (cloud name, region text, cost columns): the
    repository states no license, so no links, notes or prose are shipped."""
    doc = json.loads(body)
    kept = [
        {k: v for k, v in c.items() if k in ("name", "url", "region") or k.startswith("cost")}
        for c in doc.get("data", [])
        if isinstance(c, dict)
    ]
    return json.dumps({"data": kept}, indent=1, ensure_ascii=False).encode()


def parse(responses: Sequence[Response]) -> ParseResult:
    result = ParseResult()
    rows = tk.Rows(NAME, result)
    columns = tk.table_by(TABLE, "column")
    for resp in tk.fresh(responses):
        doc = tk.load_json(resp, NAME, keys={"data": list})
        src = tk.source(resp)
        for n, cloud in enumerate(doc["data"]):
            if not isinstance(cloud, dict) or not isinstance(cloud.get("name"), str):
                rows.skip(resp.url, f"data[{n}]", "no cloud name", field="name")
                continue
            name = " ".join(cloud["name"].split())
            # The cloud's site names it stably; its display name was edited over the years
            # ("Amazon Web Services (AWS)" -> "Amazon AWS"), which must not look like one
            # cloud leaving and another arriving.
            site = urlsplit(str(cloud.get("url") or "")).netloc.removeprefix("www.") or name
            for col, value in sorted(cloud.items()):
                if not col.startswith("cost") or not isinstance(value, str):
                    continue
                if value.strip() in _NONE:
                    continue
                rows.found()
                gpu = columns.get(col)
                if gpu is None:
                    result.unknown.append(f"{NAME}: column {col} not in {TABLE}")
                    continue
                m = _PRICE_RE.match(value)
                if m is None:
                    rows.skip(resp.url, f"{name} {col}", f"price {value!r}", field=col)
                    continue
                with rows.guard(resp.url, f"{name} {col}"):
                    price = tk.require_decimal(m.group("num"), col)
                    result.offers.append(
                        src.offer(
                            instance_type=f"{site}: {gpu['label']}",
                            region="global",
                            pricing_model="on_demand",
                            currency=_CURRENCY[m.group("cur")],
                            price_per_hour=float(price),
                            price_unit_published="gpu_hour",
                            gpu_count=1.0,
                            gpu_name_raw=gpu["gpu_name_raw"],
                            gpu_model_hint=gpu["gpu_model_hint"] or None,
                            gpu_memory_gb=tk.opt_float(gpu["gpu_memory_gb"]),
                            price_scope="curated_min",
                            extra={
                                # Offer.price_scope is not a published column (yet): say it
                                # where readers of gpu_prices.parquet see it too.
                                "price_scope": "curated_min: a third party's cheapest price",
                                "curated_cloud": name,
                                "column": col,
                                "curated_region": cloud.get("region"),
                                "source": SOURCE,
                            },
                        )
                    )
    rows.require_offers(
        responses,
        default_field="data",
        none_found="no priced GPU column",
        all_failed="no usable price",
    )
    return result


PROVIDER = import_spec(
    NAME,
    title="Curated cheapest GPU-hour per cloud (cloud-gpus.com table, imported)",
    source_url=SOURCE,
    pricing_models=("on_demand",),
    validated_against=(
        "recorded response: cloud_gpu.json of cloud-gpus/cloud-gpus.github.io "
        "(2021-05 js/cloud_gpu.json and 2025-09 versions)"
    ),
    parse=parse,
    notes="Curated third-party minimums (price_scope curated_min), not provider offers.",
    pricing_page_url="https://cloud-gpus.com",
    import_format=FORMAT,
)

IMPORT = ImportFormat(
    name=FORMAT,
    parse=parse,
    providers=(NAME,),
    source=SOURCE,
    license="none stated since 2022-08 (price facts only, with attribution)",
    description="curated cheapest $/GPU-hour per cloud and GPU",
    excerpt=excerpt,
    excerpt_note="price facts only (name, site, region, cost columns); notes dropped",
)
