"""The change-event table as append-only parts (pipelines/derive/change_events.py on
pipelines/store/parts.py): the same events, order and dedup as the single file that was
rewritten whole every run; pandas and DuckDB read the published path; the feed reads only
the newest parts."""

from __future__ import annotations

import json
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
        # Versions sort like the runs, as dataset versions (timestamps) do.
        ctx = RunContext(provider, T0 + timedelta(hours=run), f"v{run - 1:04d}", f"v{run:04d}")
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


def index_moves(day: int, detected: datetime) -> pd.DataFrame:
    """Index moves of one day (null from_version; the id hashes the day, not the time)."""
    index_day = (T0 + timedelta(days=day)).date()
    rows = [
        {
            "event_id": change_events.event_id_of(
                change_events.INDEX_CHANGED, index_id, "on_demand", index_day, "1.0"
            ),
            "event_type": change_events.INDEX_CHANGED,
            "pricing_model": "on_demand",
            "old_value": "2.0",
            "new_value": "2.5",
            "detected_at": detected,
            "observed_at": detected,
            "to_version": f"index-{day}",
            "index_id": index_id,
            "index_date": index_day,
            "methodology_version": "1.0",
        }
        for index_id in ("H100-SXM", "A100-SXM")
    ]
    return events_frame(rows)


def test_dedup_reads_only_the_parts_that_can_hold_the_ids(tmp_path, monkeypatch):
    """The dedup of an append reads the parts of its baseline's window, not the history, and
    drops exactly what the whole-file dedup dropped: retried runs, a provider whose
    baseline is many runs old, events re-sent long after, index moves re-detected later,
    parts merged over several levels, and parts of a manifest without recorded ranges."""
    monkeypatch.setattr(parts_mod, "FAN_IN", 3)
    path = tmp_path / CHANGES_NAME
    rng = random.Random(11)
    expected = EVENT_SCHEMA.empty_table().to_pandas()
    history: list[pd.DataFrame] = []
    dedup_reads: list[int] = []
    real_read = parts_mod.PartedTable.read

    def spy(self, columns=None, files=None):
        if columns == ["event_id"]:
            dedup_reads.append(len(files))
        return real_read(self, columns, files)

    monkeypatch.setattr(parts_mod.PartedTable, "read", spy)
    for run in range(1, 121):
        new = [run_events(run, rng)]
        if run % 5 == 0:
            new.append(history[-1])  # the previous run retried
        if run % 17 == 0:
            new.append(history[rng.randrange(len(history))])  # an old run's events re-sent
        if run % 11 == 0:
            # A provider back after 30 runs: its baseline (from_version) is that old.
            old_baseline = f"v{max(0, run - 30):04d}"
            ctx = RunContext("lambda", T0 + timedelta(hours=run), old_baseline, f"v{run:04d}")
            row = {"offer_key": "lambda|gpu_1x_h100|us||on_demand|", "pricing_model": "on_demand"}
            new.append(events_frame([ctx.event(PRICE_CHANGED, row, old_value="2", new_value="3")]))
        if run % 24 == 0:
            # The same index moves re-detected at a later time (ids ignore the time).
            moves = index_moves(run // 24, T0 + timedelta(hours=run))
            new.append(moves)
            new.append(moves.assign(detected_at=moves["detected_at"] + timedelta(hours=1)))
        new = pd.concat(new, ignore_index=True)
        dedup_reads.clear()
        added = append_events(path, new)
        assert set(added["event_id"]) == set(new["event_id"]) - set(expected["event_id"])
        expected = old_append(expected, new)
        history.append(new)
        if run > 60 and run % 5 and run % 11 and run % 17 and run % 24:
            # An ordinary run: no recorded event has its baseline (from_version), so no part
            # is read at all.
            assert dedup_reads == [0]
        elif run > 60 and run % 5 == 0 and run % 11 and run % 17 and run % 24:
            # The previous run retried: the parts whose baselines span that run's are read
            # (the newest, or a merged part right after a merge that took it in).
            assert dedup_reads[0] >= 1
    # Manifests of the earlier release recorded no ranges: those parts are always read.
    table = change_events.events_table(path)
    manifest = table.root / f"{table.manifest()['name']}.json"
    m = json.loads(manifest.read_text())
    m["files"] = [{k: v for k, v in f.items() if k != "ranges"} for f in m["files"]]
    manifest.write_text(json.dumps(m))
    new = pd.concat([history[3], history[-1], run_events(121, rng)], ignore_index=True)
    dedup_reads.clear()
    added = append_events(path, new)
    assert dedup_reads == [len(m["files"])]
    assert set(added["event_id"]) == set(new["event_id"]) - set(expected["event_id"])
    expected = old_append(expected, new)
    pd.testing.assert_frame_equal(read_events(path), expected)
