"""The change-event table as append-only parts (pipelines/derive/change_events.py on
pipelines/store/parts.py): the same events, order and dedup as the single file that was
rewritten whole every run; pandas and DuckDB read the published path; the feed reads only
the newest parts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd

from pipelines.derive import change_events
from pipelines.derive.change_events import (
    CHANGES_NAME,
    EVENT_SCHEMA,
    PRICE_CHANGED,
    RunContext,
    append_events,
    events_frame,
    read_events,
    recent_events,
)
from pipelines.notify import feed
from pipelines.store import parts as parts_mod
from pipelines.store.atomic import write_parquet_atomic

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PROVIDERS = ("aws", "gcp", "runpod")


def run_events(run: int, rng: random.Random) -> pd.DataFrame:
    """A run's events: price changes of a few offers of each provider."""
    out = []
    for provider in PROVIDERS:
        ctx = RunContext(provider, T0 + timedelta(hours=run), f"v{run - 1}", f"v{run}")
        for key in rng.sample(range(40), rng.randint(0, 4)):
            row = {
                "offer_key": f"{provider}|type-{key}|r||on_demand|",
                "pricing_model": "on_demand",
            }
            old = round(rng.uniform(1, 9), 4)
            out.append(ctx.event(PRICE_CHANGED, row, old_value=str(old), new_value=str(old + 1)))
    return events_frame(out)


def old_append(all_events: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The whole-file append of the earlier release (concat, dedup first kept, sort)."""
    frames = [f for f in (all_events, new) if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else new
    out = out.drop_duplicates("event_id", keep="first")
    return out.sort_values(change_events.EVENT_ORDER, kind="mergesort").reset_index(drop=True)


def test_many_runs_give_the_events_of_the_whole_file(tmp_path):
    path = tmp_path / CHANGES_NAME
    rng = random.Random(3)
    expected = EVENT_SCHEMA.empty_table().to_pandas()
    previous = None
    for run in range(1, 131):
        new = run_events(run, rng)
        if previous is not None and run % 7 == 0:
            # A retried step records the last run's events again, beside its own.
            new = pd.concat([previous, new], ignore_index=True)
        added = append_events(path, new)
        assert set(added["event_id"]) == set(new["event_id"]) - set(expected["event_id"])
        expected = old_append(expected, new)
        previous = new
    got = read_events(path)
    pd.testing.assert_frame_equal(got, expected)
    assert got["event_id"].is_unique and len(got) > 500
    # What users load: the published path, as one table, in the same order.
    pd.testing.assert_frame_equal(pd.read_parquet(path), expected)
    n, ids = duckdb.sql(f"SELECT count(*), count(DISTINCT event_id) FROM '{path}'").fetchall()[0]
    assert n == ids == len(expected)
    # 130 appends, merged ten at a time: a handful of files, not 130.
    assert len(list(path.iterdir())) < 2 * parts_mod.FAN_IN


def test_the_feed_reads_only_the_newest_parts(tmp_path, monkeypatch):
    path = tmp_path / CHANGES_NAME
    rng = random.Random(5)
    for run in range(1, 60):
        append_events(path, run_events(run, rng))
    everything = read_events(path)
    read_files: list[str] = []
    real_read = parts_mod.PartedTable.read

    def spy(self, columns=None, files=None):
        read_files.extend(f["name"] for f in (self.files() if files is None else files))
        return real_read(self, columns, files)

    monkeypatch.setattr(parts_mod.PartedTable, "read", spy)
    recent = recent_events(path, 20)
    assert 0 < len(read_files) <= 8 and len(recent) < len(everything) / 3
    newest = everything.sort_values(["detected_at", "event_id"], ascending=[False, True]).head(20)
    assert set(newest["event_id"]) <= set(recent["event_id"])
    now = T0 + timedelta(days=30)
    assert feed.render_feed(recent, limit=20, now=now) == feed.render_feed(
        everything, limit=20, now=now
    )


def test_an_events_file_of_an_earlier_release_is_kept_and_extended(tmp_path):
    path = tmp_path / CHANGES_NAME
    rng = random.Random(9)
    first = old_append(EVENT_SCHEMA.empty_table().to_pandas(), run_events(1, rng))
    write_parquet_atomic(first, path, schema=EVENT_SCHEMA)  # as the earlier release did
    assert len(recent_events(path, 100)) == len(first)
    second = run_events(2, rng)
    append_events(path, pd.concat([first, second], ignore_index=True))
    assert path.is_symlink()
    expected = old_append(first, second)
    pd.testing.assert_frame_equal(read_events(path), expected)
    pd.testing.assert_frame_equal(pd.read_parquet(path), expected)
