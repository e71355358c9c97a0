"""datasets/datapackage.json: the Frictionless Data Package describing what we publish.

One resource per published table, with its schema (from pipelines/schema.py and the other
modules' explicit schemas: names, types, units, descriptions), row count, bytes and sha256,
and the dataset version. The price history is a directory of Parquet files; its resource
lists every file (path, sha256, rows) of the current version, using the hashes recorded
when each file was written (nothing is re-read).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.derive import changes, specs, tflops
from pipelines.ops import runlog
from pipelines.schema import HISTORY_FIELDS, frictionless_fields, frictionless_type
from pipelines.store.atomic import file_sha256, write_json_atomic
from pipelines.store.history import History

LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0",
}

# Other published tables: file name -> (explicit schema, description). A table is listed
# when its file exists.
TABLES: dict[str, tuple[pa.Schema, str]] = {
    "gpu_specs.parquet": (
        specs.SPECS_SCHEMA,
        "GPU spec table (dense TFLOPS per precision, memory, TDP), one row per GPU variant.",
    ),
    "gpu_price_per_tflop.parquet": (
        tflops.TFLOPS_SCHEMA,
        "USD per PFLOP-hour of every current offer for each precision, with ranks.",
    ),
    "gpu_price_per_tflop_summary.parquet": (
        tflops.SUMMARY_SCHEMA,
        "Per GPU model: cheapest offer, median across providers, provider count.",
    ),
    "gpu_price_changes.parquet": (
        changes.EVENT_SCHEMA,
        "Change events between consecutive good runs of each provider.",
    ),
    "gpu_runs.parquet": (runlog.RUNLOG_SCHEMA, "Run log: one row per run and provider."),
}


def write(datasets_dir: Path, history: History, version: str) -> dict:
    datasets_dir = Path(datasets_dir)
    entry = next((v for v in history.versions() if v["version"] == version), None)
    resources = []
    if entry is not None:
        files = sorted(entry["files"].items())
        resources.append(
            {
                "name": "gpu_prices",
                "title": "GPU price history (one row per price version of an offer)",
                "path": [f"gpu_prices.parquet/{name}" for name, _ in files],
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "rows": entry["rows"],
                "bytes": sum(i["bytes"] for _, i in files),
                "files": [
                    {"path": f"gpu_prices.parquet/{n}", "sha256": i["sha256"], "rows": i["rows"]}
                    for n, i in files
                ],
                "description": "Current prices: rows with valid_to null. As of a time t: "
                "valid_from <= t and (valid_to is null or valid_to > t).",
                "schema": {
                    "fields": frictionless_fields(HISTORY_FIELDS),
                    "primaryKey": ["offer_key", "valid_from"],
                },
            }
        )
    for name, (schema, description) in TABLES.items():
        path = datasets_dir / name
        if not path.exists():
            continue
        meta = pq.read_metadata(path)
        resources.append(
            {
                "name": name.removesuffix(".parquet"),
                "path": name,
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "rows": meta.num_rows,
                "bytes": path.stat().st_size,
                "hash": f"sha256:{file_sha256(path)}",
                "description": description,
                "schema": {
                    "fields": [{"name": f.name, "type": frictionless_type(f.type)} for f in schema]
                },
            }
        )
    atom = datasets_dir / "alerts.atom"
    if atom.exists():
        resources.append(
            {
                "name": "alerts",
                "path": "alerts.atom",
                "format": "atom",
                "mediatype": "application/atom+xml",
                "bytes": atom.stat().st_size,
                "hash": f"sha256:{file_sha256(atom)}",
                "description": "Atom feed of recent change events.",
            }
        )
    package = {
        "profile": "data-package",
        "name": "gpu-prices",
        "title": "Cloud GPU prices: versioned history, GPU specs, price per TFLOP, change events",
        "version": version,
        "created": datetime.now(UTC).isoformat(),
        "licenses": [LICENSE],
        "resources": resources,
    }
    write_json_atomic(package, datasets_dir / "datapackage.json")
    return package
