"""Append-only published tables (pipelines/store/parts.py), on the run log's catalogue
entry: readers see one table, appends write one part, compaction bounds the file count,
a crash leaves the previous version published, a plain file of an earlier release
migrates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.store import parts as parts_mod
from pipelines.store import versioned
from pipelines.store.parts import PartedTable
from pipelines.tables import RUNS

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def rows(run: int, providers=("aws", "gcp")) -> pa.Table:
    at = T0 + timedelta(hours=run)
    return pa.Table.from_pylist(
        [
            {
                "run_id": f"r{run:04d}",
                "trigger": "schedule",
                "started_at": at,
                "finished_at": at + timedelta(minutes=1),
                "provider": p,
                "status": "ok",
                "rows": 10 * run,
                "seconds": 1.5,
                "warning_count": 0,
                "quarantined_rows": 0,
            }
            for p in providers
        ],
        schema=RUNS.schema,
    )


def published(tmp_path) -> pd.DataFrame:
    return pd.read_parquet(tmp_path / RUNS.file)


def test_readers_see_every_append_and_compaction_bounds_the_files(tmp_path):
    table = PartedTable(tmp_path, RUNS, range_column="started_at")
    counts = []
    for run in range(1, 251):
        table.append(rows(run))
        counts.append(len(list((tmp_path / RUNS.file).iterdir())))
    assert max(counts) < 3 * parts_mod.FAN_IN  # 250 appends: 2 levels of merges
    assert counts[-1] == 2 + 5  # 250 appends = 2 parts of 100 + 5 parts of 10
    expected = pa.concat_tables(rows(r) for r in range(1, 251)).to_pandas()
    df = published(tmp_path)
    pd.testing.assert_frame_equal(df, expected)  # in append order
    path = tmp_path / RUNS.file
    assert pl.read_parquet(path).height == len(expected)
    distinct = duckdb.sql(f"SELECT count(DISTINCT run_id) FROM '{path}'").fetchall()
    assert distinct == [(250,)]
    # The manifest's ranges cover the rows of each part; parts and links stay in step.
    m = table.manifest()
    assert sum(f["rows"] for f in m["files"]) == len(expected)
    assert m["files"][0]["min"] == T0.replace(hour=1).isoformat()
    # A merged part is one row group (a footer entry per append would make the merged part
    # as big as its parts together), and records the key ranges of all its rows.
    merged = pq.ParquetFile(path / m["files"][0]["name"])
    assert merged.metadata.num_row_groups == 1 and merged.metadata.num_rows == 200
    assert m["files"][0]["bytes"] < 3 * m["files"][-1]["bytes"]
    assert m["files"][0]["ranges"]["run_id"] == ["r0001", "r0100", False]
    assert sorted(p.name for p in table.parts.iterdir()) <= sorted(
        {f["name"] for f in m["files"]} | set(_previous_files(table))
    )


def _previous_files(table: PartedTable) -> list[str]:
    import json

    manifests = sorted(table.root.glob("v*.json"))
    return [f["name"] for p in manifests for f in json.loads(p.read_text())["files"]]


def test_a_crash_before_the_switch_leaves_the_previous_version_published(tmp_path, monkeypatch):
    table = PartedTable(tmp_path, RUNS)
    table.append(rows(1))
    table.append(rows(2))
    before = published(tmp_path)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # after the part and the version directory, before the link

    monkeypatch.setattr(versioned, "write_json_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        table.append(rows(3))
    monkeypatch.undo()
    pd.testing.assert_frame_equal(published(tmp_path), before)
    assert len(table.read()) == len(before)
    table.append(rows(3))  # the next append publishes over the leftovers
    assert list(published(tmp_path)["run_id"].unique()) == ["r0001", "r0002", "r0003"]
    assert not [p for p in table.root.iterdir() if p.name.endswith(".tmp")]


def test_replace_keys_rewrites_only_the_part_holding_them(tmp_path):
    table = PartedTable(tmp_path, RUNS)
    for run in (1, 2, 3):
        table.append(rows(run))
    names = [f["name"] for f in table.files()]
    again = rows(2, providers=("aws",)).set_column(5, "status", pa.array(["failed"]))
    table.append(again, replace_keys=RUNS.primary_key)
    new_names = [f["name"] for f in table.files()]
    assert new_names[0] == names[0] and new_names[2] == names[2] and new_names[1] != names[1]
    df = published(tmp_path)
    assert len(df) == 6
    assert df.set_index(["run_id", "provider"]).loc[("r0002", "aws"), "status"] == "failed"
    assert df.set_index(["run_id", "provider"]).loc[("r0002", "gcp"), "status"] == "ok"


def test_a_plain_file_of_an_earlier_release_becomes_the_first_part(tmp_path):
    old = rows(1).drop_columns(["quarantined_rows"])  # written before that column existed
    pq.write_table(old, tmp_path / RUNS.file)
    table = PartedTable(tmp_path, RUNS)
    assert table.read()["quarantined_rows"].null_count == 2
    table.append(pa.Table.from_pylist([], schema=RUNS.schema))  # nothing to add: untouched
    assert (tmp_path / RUNS.file).is_file()
    table.append(rows(2))
    assert (tmp_path / RUNS.file).is_symlink()
    df = published(tmp_path)
    assert list(df["run_id"]) == ["r0001", "r0001", "r0002", "r0002"]
    assert df["quarantined_rows"].isna().sum() == 2


def test_replace_keys_reads_only_the_parts_whose_key_ranges_hold_them(tmp_path, monkeypatch):
    """A retried run's rows are found from the parts' recorded key ranges: the log's
    history is not read, whatever its length, and rows of a run long ago still replace."""
    monkeypatch.setattr(parts_mod, "FAN_IN", 3)
    table = PartedTable(tmp_path, RUNS)
    for run in range(1, 41):
        table.append(rows(run))
    read: list[str] = []
    real = parts_mod.pq.read_table

    def spy(path, *args, **kwargs):
        read.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(parts_mod.pq, "read_table", spy)
    table.append(rows(41), replace_keys=RUNS.primary_key)  # a new run: nothing to read
    assert read == []
    again = rows(41, providers=("aws",)).set_column(5, "status", pa.array(["failed"]))
    table.append(again, replace_keys=RUNS.primary_key)  # retried: the newest part only
    assert set(read) == {"part-00000041.parquet"}
    read.clear()
    old = rows(7, providers=("gcp",)).set_column(5, "status", pa.array(["failed"]))
    table.append(old, replace_keys=RUNS.primary_key)  # a run long ago: its merged part
    assert len(set(read)) == 1
    df = published(tmp_path).set_index(["run_id", "provider"])
    assert len(df) == 82 and df.index.is_unique
    assert df.loc[("r0041", "aws"), "status"] == "failed"
    assert df.loc[("r0007", "gcp"), "status"] == "failed"
    assert df.loc[("r0007", "aws"), "status"] == "ok"
