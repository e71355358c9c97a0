"""datasets/datapackage.json: the Frictionless Data Package describing what we publish.

Generated from the catalogue (pipelines/tables.py): one resource per Parquet *file*, with
its Table Schema (types, units, descriptions, primary key), row count and sha256, and the
package metadata (title, description, homepage, sources, licenses, contributors). `version`
is the dataset version; `schema_version` beside it is the catalogue's fingerprint.

Why one resource per file: the price history (the plain-Parquet view of the Delta table of
record) is a directory of Parquet parts, and a
resource whose `path` lists several files means "one file split in chunks" to the spec, so
`frictionless validate` would read only the first part. Each part of the history is its own
resource instead (`gpu_prices-current-…`, `gpu_prices-closed-…`, all with
`"group": "gpu_prices"`), sharing one Table Schema file, `gpu_prices.schema.json`, so the
package stays small with hundreds of parts. The append-only tables (change events, run
log: pipelines/store/parts.py) are directories of parts too and are described the same way
(`gpu_price_changes-part-…` in group `gpu_price_changes`, schema
`gpu_price_changes.schema.json`). `frictionless validate datasets/datapackage.json` then
reads every row of every table.

Why no `bytes`: frictionless reads Parquet through pyarrow, never through its byte stream,
so it cannot count bytes and reports a declared `bytes` as a mismatch. The sha256 `hash`
(checked by `scrape versions --verify` for the history) identifies each file instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.notify.feed import FEED_NAME
from pipelines.schema import Table
from pipelines.store.atomic import file_sha256, write_json_atomic
from pipelines.store.history import History
from pipelines.store.parts import PartedTable
from pipelines.tables import CATALOGUE, PRICES, schema_version
from scrapers import ecb
from scrapers.imports.formats import FORMATS
from scrapers.registry import PROVIDERS

PACKAGE_NAME = "gpu-prices"
PACKAGE_FILE = "datapackage.json"
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
PRICES_SCHEMA_FILE = f"{PRICES.name}.schema.json"
LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0",
}
CONTRIBUTORS = [{"title": "gpu-prices contributors", "role": "author"}]
DESCRIPTION = (
    "Published GPU instance prices of cloud providers and marketplaces (on-demand, spot, "
    "reserved, subscription, free tiers), scraped on a schedule from the providers' own "
    "pricing APIs and pages, archived verbatim, normalized and kept as a versioned history "
    "(one row per price version of an offer), joined with GPU specs; with price per TFLOP "
    "rankings, change events, the run log and the rows the gate quarantined."
)


def project_homepage() -> str | None:
    """The project's homepage as declared in pyproject.toml ([project.urls] Homepage)."""
    try:
        urls = metadata.metadata("gpu-prices").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "homepage":
            return url.strip()
    return None


def write(
    datasets_dir: Path, history: History, version: str, *, public_url: str | None = None
) -> dict:
    """Write datapackage.json (and the history's shared schema file); return the package.

    `public_url`: where the datasets are served (GPU_PRICES_PUBLIC_URL), the homepage when
    set; else the project's homepage.
    """
    datasets_dir = Path(datasets_dir)
    resources = _history_resources(datasets_dir, history, version)
    for table in CATALOGUE:
        if table is PRICES:
            continue
        if table.is_directory and (datasets_dir / table.file).is_dir():
            resources += _part_resources(datasets_dir, table)
            continue
        if not (datasets_dir / table.file).is_file():
            continue
        resources.append(
            {
                "name": table.name,
                "title": table.title,
                "description": table.description,
                **_parquet_file(datasets_dir / table.file, table.file),
                "schema": table.frictionless_schema(),
            }
        )
    atom = datasets_dir / FEED_NAME
    if atom.exists():
        resources.append(
            {
                "name": "alerts",
                "title": "Change alerts feed",
                "path": FEED_NAME,
                "format": "atom",
                "mediatype": "application/atom+xml",
                "bytes": atom.stat().st_size,
                "hash": f"sha256:{file_sha256(atom)}",
                "description": "Atom feed of recent change events.",
            }
        )
    package: dict[str, Any] = {
        "profile": "data-package",
        "name": PACKAGE_NAME,
        "title": "Cloud GPU prices: versioned history, GPU specs, price per TFLOP, change events",
        "description": DESCRIPTION,
        "version": version,
        "schema_version": schema_version(),
        "created": datetime.now(UTC).isoformat(),
        "keywords": ["gpu", "cloud", "prices", "pricing", "tflops"],
        "licenses": [LICENSE, *_source_licenses(history)],
        "contributors": CONTRIBUTORS,
        "sources": _sources(history),
        "resources": resources,
    }
    homepage = public_url or project_homepage()
    if homepage:
        package["homepage"] = homepage
    write_json_atomic(package, datasets_dir / PACKAGE_FILE)
    return package


def _parquet_file(path: Path, rel: str) -> dict[str, Any]:
    return {
        "path": rel,
        "format": "parquet",
        "mediatype": PARQUET_MEDIATYPE,
        "rows": pq.read_metadata(path).num_rows,
        "hash": f"sha256:{file_sha256(path)}",
    }


def _history_resources(datasets_dir: Path, history: History, version: str) -> list[dict]:
    """One resource per Parquet part of the published history view (the plain-Parquet
    view of the Delta table; its file hashes were recorded when the view was written)."""
    entry = history.published_files()
    if entry is None:
        return []
    write_json_atomic(PRICES.frictionless_schema(), datasets_dir / PRICES_SCHEMA_FILE)
    out = []
    # Current part first: it is what "current prices" users want.
    names = sorted(entry["files"], key=lambda n: (not n.startswith("current-"), n))
    for name in names:
        info = entry["files"][name]
        stem = name.removesuffix(".parquet")
        kind = "current" if stem.startswith("current-") else "closed"
        out.append(
            {
                "name": f"{PRICES.name}-{stem}".lower(),
                "group": PRICES.name,
                "title": f"{PRICES.title}: {kind} part",
                "description": (
                    "Open price versions (valid_to is null), one per live offer. "
                    if kind == "current"
                    else "Price versions that ended (replaced or withdrawn). "
                )
                + f"Part of {PRICES.file}/, read as one table with its other parts. "
                + PRICES.description,
                "path": f"{PRICES.file}/{name}",
                "format": "parquet",
                "mediatype": PARQUET_MEDIATYPE,
                # Recorded when the part was written: publishing never re-reads the history.
                "rows": info["rows"],
                "hash": f"sha256:{info['sha256']}",
                "schema": PRICES_SCHEMA_FILE,
            }
        )
    return out


def _part_resources(datasets_dir: Path, table: Table) -> list[dict]:
    """One resource per part of an append-only table, sharing one schema file (hashes and
    row counts from its manifest: publishing never re-reads the parts)."""
    schema_file = f"{table.name}.schema.json"
    write_json_atomic(table.frictionless_schema(), datasets_dir / schema_file)
    return [
        {
            "name": f"{table.name}-{f['name'].removesuffix('.parquet')}".lower(),
            "group": table.name,
            "title": f"{table.title}: part",
            "description": f"Part of {table.file}/, read as one table with its other parts. "
            + table.description,
            "path": f"{table.file}/{f['name']}",
            "format": "parquet",
            "mediatype": PARQUET_MEDIATYPE,
            "rows": f["rows"],
            "hash": f"sha256:{f['sha256']}",
            "schema": schema_file,
        }
        for f in PartedTable(datasets_dir, table).files()
    ]


# Licenses of imported catalogs whose excerpts the history holds (their notices travel with
# the data); sources without a license contribute price facts only and add none.
_IMPORT_LICENSES = {
    "Apache-2.0": {
        "name": "Apache-2.0",
        "path": "https://www.apache.org/licenses/LICENSE-2.0",
        "title": "Apache License 2.0 (excerpts of Cyclenerd/google-cloud-pricing-cost-calculator)",
    },
    "MIT": {
        "name": "MIT",
        "path": "https://opensource.org/license/mit",
        "title": "MIT License (excerpts of andy-diericks/azure-pricing-radar)",
    },
}


def _source_licenses(history: History) -> list[dict[str, str]]:
    found = []
    for name in sorted(history.provider_state()):
        spec = PROVIDERS.get(name)
        if spec is not None and spec.import_format:
            lic = _IMPORT_LICENSES.get(FORMATS[spec.import_format].license)
            if lic is not None and lic not in found:
                found.append(lic)
    return found


def _sources(history: History) -> list[dict[str, str]]:
    """The providers with data in the history, the FX rates and the spec datasheets."""
    out = []
    for name in sorted(history.provider_state()):
        spec = PROVIDERS.get(name)
        if spec is not None and spec.source_urls:
            title = f"{spec.title} ({name})"
            if spec.import_format:  # a third party's git-scraped catalog: credit its license
                fmt = FORMATS[spec.import_format]
                title += f"; imported with `scrape import {fmt.name}`, license: {fmt.license}"
            out.append({"title": title, "path": spec.source_urls[0]})
    out.append(
        {
            "title": "European Central Bank euro foreign exchange reference rates (USD columns)",
            "path": ecb.DEFAULT_BASE_URL,
        }
    )
    out.append(
        {
            "title": "GPU vendor datasheets: one per row of gpu_specs (column gpu_spec_source)",
        }
    )
    return out
