"""Observation snapshots for `scrape diff`: files or published versions, as observation rows.

A snapshot is an observation file (Parquet or CSV in the normalized schema,
pipelines/schema.py), or a published dataset version: its datasets or version directory,
the `datasets/gpu_prices.parquet` view, or a dataset version id read from the Delta table
(its current rows, as last seen). Columns the gate and the change detector need and a file
may lack are derived (DERIVED_COLUMNS); any other missing column is one `SnapshotError`.
The CLI (pipelines/cli/diff.py) runs the gate and the change detector over them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.config import Config

if TYPE_CHECKING:  # pandas loads only when a command needs it (fast `scrape --help`)
    import pandas as pd


class SnapshotError(ValueError):
    """A snapshot that cannot be compared (one line, naming the file and the columns)."""


# Columns the gate and the change detector need that a snapshot may lack and we can make:
# the offer key from its parts, the provider's GPU spelling from the canonical model (and
# back), the snapshot hash from the file itself.
DERIVED_COLUMNS = ("offer_key", "gpu_name_raw", "gpu_model", "snapshot_sha256")


def resolve_snapshot(path: Path) -> Path:
    """A published version given as its datasets or version directory -> its Parquet data."""
    from pipelines.tables import PRICES

    if path.is_dir() and (path / PRICES.file).is_dir():
        return path / PRICES.file
    return path


def _history():
    from pipelines.store.history import History

    return History.for_config(Config.load())


def snapshot_label(path: Path) -> str:
    """The dataset version id of a published version (a dataset version id itself, or the
    `datasets/gpu_prices.parquet` view of the current one), else the file name."""
    from pipelines.store.view import dataset_version_of

    if not path.exists():
        return str(path)
    return dataset_version_of(resolve_snapshot(path)) or path.name


def read_snapshot(path: Path) -> pd.DataFrame:
    """An observation file, or a published version, as a frame with the schema's columns.

    A published version (a history: it has `valid_to`) gives its current rows, as last
    seen (`observed_at` = `last_seen_at`). Missing derivable columns (DERIVED_COLUMNS) are
    derived; any other missing required column is a SnapshotError naming them all.
    """
    import pandas as pd
    import pyarrow as pa

    from pipelines.ingest.normalize import conform
    from pipelines.schema import OBSERVATION_FIELDS
    from pipelines.store.atomic import file_sha256

    path = resolve_snapshot(path)
    suffix = "".join(path.suffixes).lower()
    if not path.exists():
        # A dataset version id: that version of the history, from the Delta table.
        try:
            df = _history().read_all(str(path))
        except KeyError:
            raise SnapshotError(
                f"{path}: no such file, and not a dataset version (see `scrape versions`)"
            ) from None
    elif suffix.endswith(".parquet") or path.is_dir():
        df = pd.read_parquet(path)
    elif suffix.endswith((".csv", ".csv.gz")):
        # Text columns stay text: a hash or an instance type made of digits is not a number.
        text = {f.name: str for f in OBSERVATION_FIELDS if pa.types.is_string(f.type)}
        df = pd.read_csv(path, dtype=text, keep_default_na=True)
    else:
        raise SnapshotError("expected a .parquet or .csv observation file or a dataset version")
    if "valid_to" in df.columns:
        df = df[df["valid_to"].isna()].reset_index(drop=True)
        if "last_seen_at" in df.columns:
            df["observed_at"] = df["last_seen_at"]
    # Categorical (dictionary-encoded) columns of published files compare as plain values.
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    missing = [
        f.name
        for f in OBSERVATION_FIELDS
        if not f.nullable and f.name not in df.columns and f.name not in DERIVED_COLUMNS
    ]
    if "gpu_model" not in df.columns and "gpu_name_raw" not in df.columns:
        missing.append("gpu_model (or gpu_name_raw)")
    if missing:
        raise SnapshotError(
            f"missing column(s) {', '.join(missing)} "
            f"(derived when absent: {', '.join(DERIVED_COLUMNS)})"
        )
    return conform(_derive(df, path, file_sha256))


def _derive(df: pd.DataFrame, path: Path, file_sha256) -> pd.DataFrame:

    from pipelines.ingest.gpus import resolve
    from pipelines.schema import offer_key

    df = df.copy()
    if "offer_key" not in df.columns:
        parts = ["provider", "instance_type", "region", "zone", "pricing_model", "term"]
        cells = df.reindex(columns=parts).astype(object).where(lambda x: x.notna(), None)
        df["offer_key"] = [offer_key(*r) for r in cells.itertuples(index=False, name=None)]
    if "gpu_name_raw" not in df.columns:
        df["gpu_name_raw"] = df["gpu_model"]
    if "gpu_model" not in df.columns:
        df["gpu_model"] = [
            resolve(raw, provider=p).gpu_model if isinstance(raw, str) else None
            for raw, p in zip(df["gpu_name_raw"], df["provider"], strict=True)
        ]
    if "snapshot_sha256" not in df.columns:
        df["snapshot_sha256"] = file_sha256(path) if path.is_file() else None
    return df


def snapshot_time(df: pd.DataFrame, path: Path) -> datetime:

    import pandas as pd

    if len(df) and df["observed_at"].notna().any():
        return pd.Timestamp(df["observed_at"].max()).to_pydatetime()
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
