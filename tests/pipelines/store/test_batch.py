"""Batch mode of the history (a replay of hundreds of archived runs): every publish is
still its own Delta commit and dataset version; only the plain-Parquet view is written
once, at the end. The view must come out row-for-row as single publishes leave it."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.store import delta
from pipelines.store.history import History
from tests.support.history_runs import RUNS, plain


def _view(datasets) -> pd.DataFrame:
    return plain(pd.read_parquet(datasets / "gpu_prices.parquet"))


def test_a_batch_publishes_the_same_history_as_single_publishes(tmp_path):
    single = History(tmp_path / "single")
    one_by_one = [single.merge_and_publish(run).version for run in RUNS]
    batched = History(tmp_path / "batched")
    with batched.batch():
        versions = [batched.merge_and_publish(run).version for run in RUNS]
        # Inside the batch the history answers from the batch, not from the stale view.
        assert batched.current_version() == versions[-1]
        assert set(batched.provider_state()) == {"aws", "lambda"}
        assert not (tmp_path / "batched" / "gpu_prices.parquet").exists()
    a, b = _view(tmp_path / "single"), _view(tmp_path / "batched")
    drop = ["dataset_version"]  # ids differ (publish times); everything else is equal
    pd.testing.assert_frame_equal(a.drop(columns=drop), b.drop(columns=drop))
    assert len(one_by_one) == len(versions) == len(RUNS)
    # One Delta commit and dataset version per publish, each openable (time travel).
    assert [v["version"] for v in batched.versions()] == versions
    for v in versions[:-1]:
        assert len(batched.read_all(v)) > 0
    # The view says the last version, and a later single publish carries on from it.
    assert batched.current_version() == versions[-1]
    again = batched.merge_and_publish(RUNS[-1])
    assert again.version is None  # already in the history: replays stay idempotent


def test_a_batch_that_fails_still_publishes_what_it_committed(tmp_path):
    h = History(tmp_path / "datasets")
    with pytest.raises(RuntimeError, match="parser crashed"):
        with h.batch():
            first = h.merge_and_publish(RUNS[0]).version
            raise RuntimeError("parser crashed")
    assert h.current_version() == first
    view = _view(tmp_path / "datasets")
    table = plain(delta.derive_history(h.table.records()))
    pd.testing.assert_frame_equal(view, table, check_dtype=False)
    assert h.verify() == []


def test_a_batch_over_a_published_view_commits_what_single_publishes_commit(tmp_path):
    """A batch keeps the open versions per provider and updates only those a publish
    touches: from a published view, runs of one provider and then of both must commit the
    same records in the same order as single publishes, and leave the same view."""
    runs = [
        RUNS[0],  # published before the batch: the batch starts from this view
        {"aws": RUNS[1]["aws"]},  # one provider: lambda's open versions are not touched
        {"lambda": RUNS[1]["lambda"]},
        RUNS[2],  # both in one commit: withdrawals and changes of each
    ]
    single, batched = History(tmp_path / "single"), History(tmp_path / "batched")
    for run in runs:
        single.merge_and_publish(run)
    batched.merge_and_publish(runs[0])
    with batched.batch():
        results = [batched.merge_and_publish(run) for run in runs[1:]]
        assert [r.current_rows for r in results] == [5, 5, 6]
    for h in (single, batched):
        assert [v["providers"] for v in h.versions()] == [
            ["aws", "lambda"],
            ["aws"],
            ["lambda"],
            ["aws", "lambda"],
        ]

    def records(h: History) -> pd.DataFrame:
        recs, _ = h.table.changes_since(0)
        df = recs.to_pandas().drop(columns=["dataset_version"])
        # delta-rs may store a commit's rows in another order than written: compare each
        # commit's records as a sorted set, commit by commit.
        keys = ["_commit_version", "record", "offer_key", "provider"]
        return plain(df).sort_values(keys, kind="stable").reset_index(drop=True)

    pd.testing.assert_frame_equal(records(single), records(batched))
    drop = ["dataset_version"]
    pd.testing.assert_frame_equal(
        _view(tmp_path / "single").drop(columns=drop),
        _view(tmp_path / "batched").drop(columns=drop),
    )
