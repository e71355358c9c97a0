"""Atomic writes of published files.

Every published file is written to a temporary file in the same directory, fsynced, then
renamed over the target with `os.replace` (atomic on POSIX): a reader, or a run killed at
any instant, sees the old file or the new one, never a half-written, empty or missing one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_COMPRESSION = "zstd"
# mkstemp creates 0600 files; published data is for everyone on the machine to read.
PUBLISHED_MODE = 0o644


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def to_table(data: pa.Table | pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    if isinstance(data, pd.DataFrame):
        if schema is not None:
            data = data.reindex(columns=schema.names)
        table = pa.Table.from_pandas(data, schema=schema, preserve_index=False)
    else:
        table = data
        if schema is not None:
            table = table.select(schema.names).cast(schema)
    return table


def write_parquet_atomic(
    data: pa.Table | pd.DataFrame,
    path: Path,
    schema: pa.Schema | None = None,
    metadata: dict[str, str] | None = None,
    row_group_size: int | None = None,
    **write_options: Any,
) -> str:
    """Write `data` as Parquet at `path` atomically; return the file's sha256.

    `metadata` goes into the Parquet key-value metadata (e.g. the dataset version);
    `write_options` go to `pq.write_table` (e.g. `write_statistics=False` for small files
    whose footer would outweigh their rows).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = to_table(data, schema)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(
            table,
            tmp,
            compression=PARQUET_COMPRESSION,
            row_group_size=row_group_size,
            **write_options,
        )
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        digest = file_sha256(Path(tmp))
        os.chmod(tmp, PUBLISHED_MODE)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def write_rebatched(
    writer: pq.ParquetWriter, tables: Iterable[pa.Table], row_group_rows: int
) -> int:
    """Write `tables` (the row groups of the parts being merged, streamed) through `writer` in
    row groups of `row_group_rows` rows, the last one shorter; return the rows written.

    Copied as they are, small parts' row groups would all be kept, each with its own
    column-chunk metadata and statistics in the footer (a merge of ten one-row-group parts of
    ten rows was 40 KB, one row group of the same rows 7 KB). At most about two row groups
    are held in memory, whatever the number of rows."""
    pending: list[pa.Table] = []
    held = rows = 0
    for t in tables:
        pending.append(t)
        held += t.num_rows
        rows += t.num_rows
        if held >= row_group_rows:
            batch = pa.concat_tables(pending).unify_dictionaries()
            full = batch.num_rows // row_group_rows * row_group_rows
            writer.write_table(batch.slice(0, full), row_group_size=row_group_rows)
            pending, held = [batch.slice(full)], batch.num_rows - full
    if held:
        writer.write_table(
            pa.concat_tables(pending).unify_dictionaries(), row_group_size=row_group_rows
        )
    return rows


def write_bytes_atomic(data: bytes, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, PUBLISHED_MODE)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(obj: Any, path: Path) -> None:
    write_bytes_atomic(
        (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode(), path
    )


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
