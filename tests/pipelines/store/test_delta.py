"""The Delta table of record and its plain-Parquet view, on local disk and on an
S3-compatible server (moto on 127.0.0.1): same rows, versions that open, time travel,
concurrent writers of different providers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from deltalake import DeltaTable

from pipelines.store import delta
from pipelines.store.history import History
from tests.support.history_runs import RUNS, plain

ROOT = Path(__file__).resolve().parents[3]


def publish_all(h: History) -> list[str]:
    out = []
    for run in RUNS:
        res = h.merge_and_publish(run)
        assert res.version is not None
        out.append(res.version)
        time.sleep(0.05)  # distinct commit timestamps for the time-travel check
    return out


def test_local_table_and_view_give_the_same_rows(tmp_path):
    h = History(tmp_path / "datasets")
    published = publish_all(h)
    view = pd.read_parquet(tmp_path / "datasets" / "gpu_prices.parquet")
    # Straight from the Delta files (deltalake) through the documented derivation.
    table = delta.derive_history(DeltaTable(h.table.url).to_pyarrow_table())
    pd.testing.assert_frame_equal(plain(view), plain(table), check_dtype=False)
    # What the runs did: 5 + 2 new, p5 changed, g5 withdrawn then back, lambda 8x changed.
    p5 = view[view.instance_type == "p5.48xlarge"].sort_values("valid_from")
    assert p5.price_per_hour.tolist() == [98.32, 55.04]
    assert p5.valid_to.iloc[0] == p5.valid_from.iloc[1] and pd.isna(p5.valid_to.iloc[1])
    g5 = view[view.instance_type == "g5.xlarge"].sort_values("valid_from")
    assert g5.is_withdrawn.tolist() == [True, False] and len(g5) == 2
    assert (view.valid_to.isna()).sum() == 6
    # Open versions are confirmed by the latest run; closed ones by the run before closing.
    p4d = view[view.instance_type == "p4d.24xlarge"]
    assert p4d.last_seen_at.item() == RUNS[2]["aws"].observed_at.max()
    assert p5.last_seen_at.iloc[0] == RUNS[0]["aws"].observed_at.max()
    # Versions: one Delta commit per publish, each opening with deltalake.
    versions = h.versions()
    assert [v["version"] for v in versions] == published
    for v in versions:
        assert DeltaTable(h.table.url, version=v["delta_version"]).version() == v["delta_version"]
    assert h.current_version() == published[-1]


def test_time_travel_by_version_and_timestamp(tmp_path):
    h = History(tmp_path / "datasets")
    published = publish_all(h)
    first = plain(h.read_all(published[0]))
    assert len(first) == 5 and first.valid_to.isna().all()
    second = h.read_all(published[1])
    assert len(second) == 7 and second.valid_to.notna().sum() == 2
    # Between the second and third commits (commit times are those of the log files).
    t1, t2 = (pd.Timestamp(v["created_at"]) for v in h.versions()[1:3])
    by_time = h.table.history_rows((t1 + (t2 - t1) / 2).to_pydatetime())
    pd.testing.assert_frame_equal(plain(by_time), plain(second), check_dtype=False)


def test_polars_reads_view_and_table(tmp_path):
    h = History(tmp_path / "datasets")
    publish_all(h)
    view = pl.read_parquet(tmp_path / "datasets" / "gpu_prices.parquet" / "*.parquet")
    # The README's polars one-liner for the price history from the Delta table.
    rec = pl.read_delta(h.table.url)
    closes = rec.filter(pl.col("record") == "close").select(
        "offer_key", "valid_from", "valid_to", "is_withdrawn"
    )
    history = (
        rec.filter(pl.col("record") == "version")
        .drop("record", "valid_to", "is_withdrawn")
        .join(closes, on=["offer_key", "valid_from"], how="left")
    )
    cols = ["offer_key", "valid_from", "valid_to", "price_per_hour"]
    assert history.select(cols).sort(cols[:2]).equals(view.select(cols).sort(cols[:2]))


def test_s3_publish_read_back_and_time_travel(tmp_path, s3_server):
    url = s3_server.new_table_url()
    opts = s3_server.options()
    h = History(tmp_path / "datasets", url, opts)
    published = publish_all(h)
    view = pd.read_parquet(tmp_path / "datasets" / "gpu_prices.parquet")
    dt = DeltaTable(url, storage_options=opts)
    assert dt.version() == 2 and "delta.enableChangeDataFeed" in dt.metadata().configuration
    pd.testing.assert_frame_equal(
        plain(view), plain(delta.derive_history(dt.to_pyarrow_table())), check_dtype=False
    )
    rec = pl.read_delta(url, storage_options=opts)
    assert rec.filter(pl.col("record") == "version").height == len(view)
    # Time travel to the first publish, by Delta version (polars) and dataset version.
    v0 = pl.read_delta(url, version=0, storage_options=opts)
    assert v0.filter(pl.col("record") == "version").height == 5
    assert len(h.read_all(published[0])) == 5
    # A second machine with no view of its own rebuilds it from the table.
    other = History(tmp_path / "elsewhere", url, opts)
    assert set(other.provider_state()) == {"aws", "lambda"}
    again = pd.read_parquet(tmp_path / "elsewhere" / "gpu_prices.parquet")
    pd.testing.assert_frame_equal(plain(again), plain(view), check_dtype=False)


def test_s3_concurrent_publishers_of_different_providers_lose_nothing(tmp_path, s3_server):
    url = s3_server.new_table_url()
    runs = 5
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.publish_provider",
                str(tmp_path / name),  # each writer is its own machine: its own view
                name,
                str(runs),
                url,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **s3_server.env()},
        )
        for name in ("alpha", "beta")
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0
    opts = s3_server.options()
    h = History(tmp_path / "reader", url, opts)
    assert len(h.versions()) == 2 * runs
    df = h.read_all()
    current = df[df.valid_to.isna()]
    for name in ("alpha", "beta"):
        mine = current[current.provider == name]
        assert len(mine) == 2000 and set(mine.price_per_hour) == {float(runs)}
        assert df[df.provider == name].groupby("offer_key", observed=True).size().eq(runs).all()


def test_storage_options_come_from_the_environment():
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_REGION": "eu-west-1",
        "GPU_PRICES_TABLE_OPTION_TIMEOUT": "30s",
        "HOME": "/root",
    }
    opts = delta.storage_options("s3://b/t", env)
    assert opts == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_REGION": "eu-west-1",
        "timeout": "30s",
        "conditional_put": "etag",
    }
    assert delta.storage_options("datasets/gpu_prices.delta", env) == {}


def test_finding_04_a_torn_commit_loses_no_history_and_verify_says_so(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli.main import app

    datasets = tmp_path / "datasets"
    h = History(datasets)
    publish_all(h)
    before = plain(pd.read_parquet(datasets / "gpu_prices.parquet"))
    # A commit cut short (power loss on a store without atomic puts): half a JSON line.
    log_dir = Path(h.table.url) / "_delta_log"
    (log_dir / f"{3:020d}.json").write_text('{"commitInfo":{"timestamp":17')
    with pytest.raises(delta.TableError, match="scrape versions --verify"):
        History(datasets).table.commits()
    runner = CliRunner()
    r = runner.invoke(app, ["versions", "--verify", "--datasets", str(datasets)])
    assert r.exit_code == 1
    assert "is torn" in r.output and "repaired: moved torn commit" in r.output
    r = runner.invoke(app, ["versions", "--verify", "--datasets", str(datasets)])
    assert r.exit_code == 0, r.output
    assert "3 version(s); log, files and view all good" in " ".join(r.output.split())
    after = History(datasets)
    assert len(after.versions()) == 3
    pd.testing.assert_frame_equal(plain(after.table.history_rows()), before, check_dtype=False)
    # Publishing goes on from the last complete commit.
    assert after.merge_and_publish(RUNS[0] | {}).merges["aws"].skipped_reason


def test_finding_04_verify_reports_and_repairs_a_damaged_view(tmp_path):
    datasets = tmp_path / "datasets"
    h = History(datasets)
    publish_all(h)
    before = plain(pd.read_parquet(datasets / "gpu_prices.parquet"))
    part = h.current_part()
    part.unlink()  # the hard link of the published view
    problems = h.verify(repair=True)
    assert any("missing" in p for p in problems) and any(p.startswith("repaired") for p in problems)
    assert h.verify() == []
    after = plain(pd.read_parquet(datasets / "gpu_prices.parquet"))
    pd.testing.assert_frame_equal(after, before)


def test_maintain_compacts_and_keeps_time_travel(tmp_path):
    datasets = tmp_path / "datasets"
    h = History(datasets)
    publish_all(h)
    for step in range(3, 8):  # more runs: more small files per provider partition
        runs = {
            p: df.assign(observed_at=df.observed_at + pd.Timedelta(hours=step))
            for p, df in RUNS[step % 3].items()
        }
        h.merge_and_publish(runs)
    before = plain(pd.read_parquet(datasets / "gpu_prices.parquet"))
    files_before = len(DeltaTable(h.table.url).file_uris())
    out = h.maintain(retention_hours=0)
    dt = DeltaTable(h.table.url)
    assert out["files_removed"] > out["files_added"] >= 1
    assert len(dt.file_uris()) < files_before
    # The compacted table holds the same history; vacuum removed the superseded files.
    pd.testing.assert_frame_equal(plain(h.table.history_rows()), before, check_dtype=False)
    parquet_files = list(Path(h.table.url).rglob("*.parquet"))
    assert len([p for p in parquet_files if "_delta_log" not in str(p)]) == len(dt.file_uris())
    assert h.verify() == []
    pd.testing.assert_frame_equal(plain(pd.read_parquet(datasets / "gpu_prices.parquet")), before)


def test_a_column_added_to_the_schema_is_added_to_an_existing_table(tmp_path):
    from deltalake import write_deltalake

    # A table written before the last column was published.
    url = str(tmp_path / "gpu_prices.delta")
    older = delta.TABLE_SCHEMA.remove(delta.TABLE_SCHEMA.get_field_index("dataset_version"))
    write_deltalake(url, older.empty_table(), configuration=delta.TABLE_CONFIGURATION)
    h = History(tmp_path / "datasets", url)
    h.merge_and_publish(RUNS[0])
    assert "dataset_version" in DeltaTable(url).schema().to_arrow().names
    assert len(h.read_all()) == 5
