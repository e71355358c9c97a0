"""Append-only published tables: immutable Parquet parts behind one path.

Used for the change events (`datasets/gpu_price_changes.parquet`) and the run log
(`datasets/gpu_runs.parquet`): tables that only grow, a few rows per run, which were read
and rewritten whole on every run (issue 14). The layout is the one pipelines/store/view.py
gives the price history:

    datasets/<name>.parquet -> symlink to .<name>/v<n>/
    datasets/.<name>/v<n>/       hard links to the parts of version n (what readers list)
    datasets/.<name>/v<n>.json   manifest: the parts in order, each with rows, bytes, sha256,
                                 level and the range of one column (`range_column`)
    datasets/.<name>/parts/part-<n>.parquet   immutable, written once

`pd.read_parquet`, polars and DuckDB read the symlinked directory as one table. An append
writes one part, links it with the others into a new version directory (under a temporary
name, then renamed), writes the manifest, then swaps the symlink with one rename(2): a
reader, or a run killed at any point, sees the previous version or the new one. The
previous version directory is kept for readers still listing it.

Compaction bounds the file count without rewriting the history each time: an appended part
is level 0; when `fan_in` parts share a level they are merged, in order and a row group at
a time (bounded memory), into one part of the next level. A row is rewritten once per
level (log_fan_in of the number of appends), and a table holds at most fan_in - 1 parts per
level: with the default 10, fewer than 40 files after a million appends. Parts are named by
the version that wrote them, so their names sort in table order.

A table published earlier as one plain file becomes the first part on the first append.
One writer at a time: callers hold `lock()` (or their own lock) around an append.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.schema import Table
from pipelines.store import versioned
from pipelines.store.atomic import (
    PARQUET_COMPRESSION,
    file_sha256,
    write_parquet_atomic,
    write_rebatched,
)

FAN_IN = 10
# Rows per row group of a merged part (one row group per appended part would keep a footer
# entry per append: see write_rebatched).
ROW_GROUP_ROWS = 128_000
KEEP_PREVIOUS = 1  # earlier version directories kept after a switch
LOCK_TIMEOUT_S = 600


class PartedTable:
    """One append-only table of the catalogue published as a directory of parts."""

    def __init__(
        self,
        datasets_dir: Path,
        table: Table,
        *,
        range_column: str | None = None,
        key_bounds: Sequence[str] = (),
    ):
        self.table = table
        self.schema = table.storage_schema
        self.datasets_dir = Path(datasets_dir)
        self.path = self.datasets_dir / table.file
        self.root = self.datasets_dir / f".{table.name}"
        self.parts = self.root / "parts"
        self.range_column = range_column
        # Columns whose range each part records (`ranges` in the manifest), so that a look-up
        # by key reads only the parts that can hold the key: the primary key's columns and
        # `key_bounds`, columns whose values a key determines (see `parts_with`).
        self.ranged = list(dict.fromkeys([*table.primary_key, *key_bounds]))
        self.fan_in = FAN_IN

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / ".lock"), timeout=LOCK_TIMEOUT_S):
            yield

    # --- reading -----------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def manifest(self) -> dict[str, Any] | None:
        if not self.path.is_symlink():
            return None
        path = self.root / f"{Path(os.readlink(self.path)).name}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def files(self) -> list[dict[str, Any]]:
        """The current parts, oldest first, with their manifest entries and `path`; a table
        published as one plain file is one entry without a range."""
        m = self.manifest()
        if m is None:
            if self.path.is_file():
                return [{"name": self.path.name, "path": self.path, "level": 0}]
            return []
        vdir = self.root / m["name"]
        return [{**f, "path": vdir / f["name"]} for f in m["files"]]

    def read(
        self, columns: Sequence[str] | None = None, files: list[dict[str, Any]] | None = None
    ) -> pa.Table:
        """The rows of `files` (default: all), in order, with the catalogue's types; columns
        a part predates come back as nulls."""
        schema = self.table.schema
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        tables = []
        for f in self.files() if files is None else files:
            have = set(pq.read_schema(f["path"]).names)
            t = pq.read_table(f["path"], columns=[c for c in schema.names if c in have])
            for field in schema:
                if field.name not in have:
                    t = t.append_column(field.name, pa.nulls(len(t), field.type))
            tables.append(t.select(schema.names).cast(schema))
        return pa.concat_tables(tables) if tables else schema.empty_table()

    def parts_with(self, data: pa.Table, columns: Sequence[str]) -> list[dict[str, Any]]:
        """The current parts that may hold a row equal to a row of `data` in `columns`: for
        some row of `data`, each column's value lies in the part's recorded range (or is
        null and the part has nulls there). Parts without a recorded range for a column
        (written by an earlier release) always may. The others are not read at all, so a
        look-up of a run's keys reads the few parts of its time window, not the history."""
        files = self.files()
        if not data.num_rows or not files:
            return []
        values = {c: _texts(data[c]) for c in columns}
        out = []
        for f in files:
            may = None
            for c, (vals, nulls) in values.items():
                r = f.get("ranges", {}).get(c)
                if r is None:
                    continue
                lo, hi, has_nulls = r
                inside = nulls & has_nulls
                if lo is not None:
                    some = ~nulls
                    inside[some] = (vals[some] >= lo) & (vals[some] <= hi)
                may = inside if may is None else may & inside
                if not may.any():
                    break
            if f.get("rows", 1) and (may is None or may.any()):
                out.append(f)
        return out

    # --- writing -----------------------------------------------------------------------
    def append(self, data: pa.Table, *, replace_keys: Sequence[str] | None = None) -> None:
        """Publish `data` as a new part. `replace_keys`: existing rows with the same values
        in these columns as a row of `data` are dropped first (their parts rewritten).
        Nothing is written for no rows, except the first time (an empty table)."""
        files = self.files()
        if data.num_rows == 0 and files:
            return
        files = [self._migrate(f) if "sha256" not in f else f for f in files]
        files = [{k: v for k, v in f.items() if k != "path"} for f in files]
        self.parts.mkdir(parents=True, exist_ok=True)
        version = self._next_version()
        if replace_keys and files and data.num_rows:
            files = self._drop_keys(files, data, list(replace_keys), version)
        files.append(self._write(data, f"part-{version:08d}.parquet", level=0))
        files = self._compact(files, version)
        self._publish(version, files)

    def _next_version(self) -> int:
        m = self.manifest()
        return (m["version"] + 1) if m else 1

    def _write(self, data: pa.Table, name: str, *, level: int) -> dict[str, Any]:
        table = data.select(self.schema.names).cast(self.schema)
        path = self.parts / name
        sha = write_parquet_atomic(table, path)
        return self._entry(path, sha, table, level)

    def _entry(self, path: Path, sha: str, table: pa.Table | None, level: int) -> dict[str, Any]:
        meta = pq.read_metadata(path)
        entry: dict[str, Any] = {
            "name": path.name,
            "rows": meta.num_rows,
            "bytes": path.stat().st_size,
            "sha256": sha,
            "level": level,
        }
        if self.range_column and meta.num_rows:
            col = (
                table if table is not None else pq.read_table(path, columns=[self.range_column])
            )[self.range_column]
            entry["min"], entry["max"], _ = _range(col)
        if table is not None:
            entry["ranges"] = {c: _range(table[c]) for c in self.ranged}
        return entry

    def _migrate(self, f: dict[str, Any]) -> dict[str, Any]:
        """The plain file of an earlier release as the first part (the catalogue's types)."""
        self.parts.mkdir(parents=True, exist_ok=True)
        return {**self._write(self.read(files=[f]), "part-00000000.parquet", level=0), "path": None}

    def _drop_keys(
        self, files: list[dict[str, Any]], data: pa.Table, keys: list[str], version: int
    ) -> list[dict[str, Any]]:
        wanted = set(zip(*(data[k].to_pylist() for k in keys), strict=True))
        candidates = {f["name"] for f in self.parts_with(data, keys)}
        out = []
        for f in files:
            if f["name"] not in candidates:
                out.append(f)
                continue
            existing = pq.read_table(self.parts / f["name"], columns=keys)
            hit = [k in wanted for k in zip(*(existing[k].to_pylist() for k in keys), strict=True)]
            if not any(hit):
                out.append(f)
                continue
            kept = pq.read_table(self.parts / f["name"]).filter(pa.array([not h for h in hit]))
            name = f"{f['name'].removesuffix('.parquet')}-r{version:08d}.parquet"
            out.append(self._write(kept, name, level=f["level"]))
        return out

    def _compact(self, files: list[dict[str, Any]], version: int) -> list[dict[str, Any]]:
        level = 0
        while any(f["level"] >= level for f in files):
            same = [i for i, f in enumerate(files) if f["level"] == level]
            if len(same) >= self.fan_in:
                # Levels only fall from the oldest part to the newest: `same` is contiguous.
                merged = self._merge([files[i] for i in same], version, level + 1)
                files = files[: same[0]] + [merged] + files[same[-1] + 1 :]
            level += 1
        return files

    def _merge(self, group: list[dict[str, Any]], version: int, level: int) -> dict[str, Any]:
        path = self.parts / f"part-{version:08d}-l{level}.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        ranges: dict[str, list[Any]] = {}

        def row_groups() -> Iterator[pa.Table]:
            for f in group:
                pf = pq.ParquetFile(self.parts / f["name"])
                for i in range(pf.num_row_groups):
                    rg = pf.read_row_group(i).cast(self.schema)
                    for c in self.ranged:
                        ranges[c] = _union(ranges.get(c), _range(rg[c]))
                    yield rg

        with pq.ParquetWriter(tmp, self.schema, compression=PARQUET_COMPRESSION) as w:
            write_rebatched(w, row_groups(), ROW_GROUP_ROWS)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        entry = self._entry(path, file_sha256(path), None, level)
        entry["ranges"] = {c: ranges.get(c, [None, None, False]) for c in self.ranged}
        if self.range_column and all("min" in f for f in group if f["rows"]):
            ranged = [f for f in group if f["rows"]]
            if ranged:
                entry["min"] = min(f["min"] for f in ranged)
                entry["max"] = max(f["max"] for f in ranged)
        return entry

    def _publish(self, version: int, files: list[dict[str, Any]]) -> None:
        name = f"v{version:08d}"
        manifest = {
            "name": name,
            "version": version,
            "rows": sum(f["rows"] for f in files),
            "files": files,
        }
        versioned.publish(
            self.root, self.parts, name, [f["name"] for f in files], manifest, self.path
        )
        versioned.prune(
            self.root,
            self.parts,
            name,
            keep_previous=KEEP_PREVIOUS,
            files_of=lambda m: (f["name"] for f in m["files"]),
        )


def _range(col: pa.ChunkedArray | pa.Array) -> list[Any]:
    """[min, max, has nulls] of a column, the bounds as JSON (None: no value)."""
    lo, hi = pc.min_max(col).values() if len(col) > col.null_count else (None, None)
    return [
        None if lo is None else _text(lo.as_py()),
        None if hi is None else _text(hi.as_py()),
        col.null_count > 0,
    ]


def _union(a: list[Any] | None, b: list[Any]) -> list[Any]:
    if a is None:
        return b
    los = [x for x in (a[0], b[0]) if x is not None]
    his = [x for x in (a[1], b[1]) if x is not None]
    return [min(los, default=None), max(his, default=None), a[2] or b[2]]


def _texts(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A column's values as `_text` gives range bounds (an object array), and its null
    mask."""
    values = col.to_pylist()
    nulls = np.array([v is None for v in values], dtype=bool)
    return np.array([None if v is None else _text(v) for v in values], dtype=object), nulls


def _text(value: Any) -> Any:
    """A part's range bound as JSON (timestamps as ISO 8601, which sorts like the times)."""
    return value.isoformat() if hasattr(value, "isoformat") else value
