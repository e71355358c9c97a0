"""`scrape migrate`: a history in the earlier layout converts with one command, losing
nothing: the view equals the earlier datasets/gpu_prices.parquet row for row, every
earlier version becomes a Delta version with the same id, and a re-run is a no-op."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.store.history import History
from tests.support.history_runs import RUNS, plain
from tests.support.legacy_history import LegacyHistory


def legacy_datasets(tmp_path, compact_after_parts=2, nested=True):
    datasets = tmp_path / "datasets"
    old = LegacyHistory(datasets, compact_after_parts=compact_after_parts, nested=nested)
    versions = []
    for step in range(6):  # two rounds of the three runs: compaction kicks in on the way
        # Each offer's response fetched a second after the previous one, as with paged
        # APIs: exact per-offer last_seen_at of open versions must survive the migration.
        runs = {
            p: df.assign(
                observed_at=df.observed_at
                + pd.Timedelta(hours=3 * (step // 3))
                + pd.to_timedelta(range(len(df)), unit="s")
            )
            for p, df in RUNS[step % 3].items()
        }
        versions.append(old.publish(runs))
    return datasets, old, versions


@pytest.mark.parametrize("nested", [True, False], ids=["v-dir-with-parquet-dir", "v-dir-flat"])
def test_migrate_is_row_for_row_equal_and_keeps_versions(tmp_path, nested):
    datasets, old, versions = legacy_datasets(tmp_path, nested=nested)
    before = plain(pd.read_parquet(datasets / "gpu_prices.parquet"))
    assert len(before) > 0 and any("compacted" in v for v in map(str, old.versions()[-1]["files"]))
    runner = CliRunner()
    r = runner.invoke(app, ["migrate", "--datasets", str(datasets)])
    assert r.exit_code == 0, r.output
    assert "6 version(s) migrated" in " ".join(r.output.split())
    after = plain(pd.read_parquet(datasets / "gpu_prices.parquet"))
    pd.testing.assert_frame_equal(after, before)
    h = History(datasets)
    assert [v["version"] for v in h.versions()] == versions
    assert h.current_version() == versions[-1]
    # Earlier versions time-travel to what they held (open versions' last_seen_at is their
    # provider's run time there; the earlier layout kept it per offer).
    for v in versions[:-1]:
        vdir = datasets / ".history" / f"v{v}"
        was = plain(pd.read_parquet(vdir / "gpu_prices.parquet" if nested else vdir))
        now = plain(h.read_all(v))
        cols = [c for c in was.columns if c != "last_seen_at"]
        pd.testing.assert_frame_equal(now[cols], was[cols], check_dtype=False)
    # The gate state came along: a replay of the last run is recognized as merged.
    assert set(h.provider_state()) == {"aws", "lambda"}
    assert h.verify() == []
    # Running it again changes nothing.
    r = runner.invoke(app, ["migrate", "--datasets", str(datasets)])
    assert r.exit_code == 0 and "0 version(s) migrated, 6 already there" in " ".join(
        r.output.split()
    )
    assert len(h.versions()) == 6


def test_finding_04_migrate_skips_a_torn_versions_line_and_says_so(tmp_path):
    datasets, old, versions = legacy_datasets(tmp_path, compact_after_parts=200)
    with open(datasets / ".history" / "versions.jsonl", "a") as fh:
        fh.write('{"version": "2026')  # a torn last line: its directory never appeared
    before = plain(pd.read_parquet(datasets / "gpu_prices.parquet"))
    r = CliRunner().invoke(app, ["migrate", "--datasets", str(datasets)])
    assert r.exit_code == 0, r.output
    assert "1 torn versions.jsonl line(s) skipped" in " ".join(r.output.split())
    pd.testing.assert_frame_equal(plain(pd.read_parquet(datasets / "gpu_prices.parquet")), before)


def test_migrate_without_an_earlier_history_is_an_error(tmp_path):
    r = CliRunner().invoke(app, ["migrate", "--datasets", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no history in the earlier layout" in r.output
