"""Checks on a published `datasets/` directory, shared by the end-to-end tests: every
Parquet file is a table of the catalogue (pipelines/tables.py) with exactly its declared
schema, as pyarrow, pandas and DuckDB read it; `frictionless validate` accepts the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.schema import Table
from pipelines.tables import BY_FILE, PRICES

# Arrow type -> the type DuckDB reports for it (dictionaries by their values).
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.float64(): "DOUBLE",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP WITH TIME ZONE",
}


def published_parquet(datasets: Path) -> dict[Path, Table]:
    """Every Parquet file under `datasets` (history parts included) -> its catalogue table.

    Fails on a Parquet file or directory the catalogue does not declare."""
    found: dict[Path, Table] = {}
    for entry in sorted(datasets.iterdir()):
        if entry.name.startswith(".") or not entry.name.endswith(".parquet"):
            continue
        assert entry.name in BY_FILE, f"{entry.name} is published but not in the catalogue"
        table = BY_FILE[entry.name]
        if entry.is_dir():
            assert table.is_directory, entry
            parts = sorted(entry.iterdir())
            assert parts and all(p.suffix == ".parquet" for p in parts), (
                f"{entry.name}/ holds non-Parquet files: {[p.name for p in parts]}"
            )
            found.update(dict.fromkeys(parts, table))
        else:
            found[entry] = table
    # The view's parts (datasets/.view/parts/: what gpu_prices.parquet/ hard-links). The Delta
    # table's own files (gpu_prices.delta/) are records, read through deltalake, not here.
    for part in sorted((datasets / ".view" / "parts").glob("*.parquet")):
        found[part] = PRICES
    return found


def assert_matches_catalogue(datasets: Path) -> dict[Path, Table]:
    files = published_parquet(datasets)
    for path, table in files.items():
        schema = pq.read_schema(path).remove_metadata()
        assert schema.equals(table.storage_schema), f"{path}: {schema} != {table.storage_schema}"
        df = pd.read_parquet(path)
        assert list(df.columns) == table.columns, path
        described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
        assert [(name, kind) for name, kind, *_ in described] == [
            (f.name, _DUCKDB_TYPES[f.type]) for f in table.fields
        ], path
        assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0] == len(
            df
        )
    return files


def frictionless_validate(package: Path) -> subprocess.CompletedProcess:
    """`frictionless validate` as a user runs it (the CLI of this environment).

    It checks every row in Python: ~2 min of CPU on the example (110k rows over all tables),
    and 5 to 8 min of wall time on a machine shared by several test runs; the timeout only
    guards against a hang."""
    cli = Path(sys.executable).with_name("frictionless")
    return subprocess.run(
        [str(cli), "validate", str(package)], capture_output=True, text=True, timeout=1800
    )
