"""The quarantine: rows the gate kept out of the published prices, with why and when.

Source: `GateResult.quarantined` (pipelines/ingest/gate.py) of every provider a run gated,
whether the provider then published or failed. Output: `datasets/gpu_quarantine.parquet`,
one row per quarantined observation: the row's key fields and values, the gate check that
stopped it (`check`, a fixed id), the field and a one-line reason, and the run it came
from. A user can see what was left out; a maintainer can see a source going bad.

Appending rewrites the whole file atomically (read, concatenate, write to a temp file,
`os.replace`), like the run log. Cost: each run reads and writes every quarantined row so
far, O(total rows) time and memory per run; a row is ~300 bytes in memory, so even 100k
quarantined rows (years of a few a run) cost tens of MB for a moment. When that stops
being small, write one Parquet part per run instead (the readers below already read a
file; they would read a directory). Concurrent appends are serialized by a lock file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.store.atomic import write_parquet_atomic
from pipelines.tables import QUARANTINE

QUARANTINE_NAME = QUARANTINE.file
_LOCK_FILE = ".gpu_quarantine.lock"

# Columns and types of gpu_quarantine.parquet: pipelines/tables.py.
QUARANTINE_SCHEMA = QUARANTINE.schema
QUARANTINE_COLUMNS = QUARANTINE.columns
# What makes a quarantine row the same row again.
_IDENTITY = list(QUARANTINE.primary_key)


def quarantine_path(datasets_dir: Path) -> Path:
    return Path(datasets_dir) / QUARANTINE_NAME


def to_rows(
    quarantined: pd.DataFrame,
    *,
    run_id: str,
    dataset_version: str | None,
    published: bool,
) -> pd.DataFrame:
    """The gate's quarantined rows in QUARANTINE_SCHEMA's columns."""
    df = pd.DataFrame(index=quarantined.index)
    for name in QUARANTINE_COLUMNS:
        df[name] = quarantined[name] if name in quarantined.columns else None
    df["run_id"] = run_id
    df["dataset_version"] = dataset_version
    df["provider_published"] = published
    for num in ("gpu_count", "price_per_hour", "price_usd_per_gpu_hour"):
        df[num] = pd.to_numeric(df[num], errors="coerce").astype(float)
    df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True)
    return df.reset_index(drop=True)


def read(datasets_dir: Path) -> pd.DataFrame:
    path = quarantine_path(datasets_dir)
    if not path.exists():
        return QUARANTINE_SCHEMA.empty_table().to_pandas()
    return pq.read_table(path, schema=QUARANTINE_SCHEMA).to_pandas()


def append(datasets_dir: Path, rows: pd.DataFrame) -> int:
    """Append `rows` (from `to_rows`; may be empty). Appending the same rows again (a run repeated after
    a crash) adds nothing. Returns the number of rows in the file."""
    datasets_dir = Path(datasets_dir)
    datasets_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(datasets_dir / _LOCK_FILE)):
        old = read(datasets_dir)
        frames = [f for f in (old, rows[QUARANTINE_COLUMNS]) if len(f)]
        if not frames:
            if not quarantine_path(datasets_dir).exists():
                # The table exists (empty) once anything was gated: users can always load it.
                write_parquet_atomic(QUARANTINE_SCHEMA.empty_table(), quarantine_path(datasets_dir))
            return 0
        out = pd.concat(frames, ignore_index=True).drop_duplicates(_IDENTITY, keep="last")
        table = pa.Table.from_pandas(out, schema=QUARANTINE_SCHEMA, preserve_index=False)
        write_parquet_atomic(table, quarantine_path(datasets_dir))
        return len(out)
