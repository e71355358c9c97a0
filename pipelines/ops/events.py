"""The change-event step of a run: detect (derive.changes), record, hand to notify.

Order of effects (each step idempotent, so a run killed anywhere can simply be repeated):
events appended to datasets/gpu_price_changes.parquet -> digests queued in the outbox
(notify.alerts) -> per-provider baselines saved -> datasets/alerts.atom regenerated
(notify.feed). Detection itself lives in `pipelines.derive.changes` and writes nothing.

The price index's daily moves take the same path (`publish_index`): the index is
published, its moves (pipelines/derive/index/moves.py) appended to the same events file,
queued for the subscribers whose filters match, and the feed rewritten.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.config import ChangesSection, Config
from pipelines.derive import index as price_index
from pipelines.derive.change_events import recent_events
from pipelines.derive.change_state import DEFAULT_PRICE_CONFIRM_RUNS
from pipelines.derive.changes import (
    CHANGES_NAME,
    NoiseRules,
    ProviderState,
    append_events,
    detect_run,
    events_frame,
    save_state,
)
from pipelines.notify import alerts, feed
from pipelines.store.atomic import file_sha256, write_json_atomic
from pipelines.store.history import History

log = logging.getLogger(__name__)


def noise_rules(changes: ChangesSection) -> NoiseRules:
    """The noise rules of change detection from the `[changes]` settings."""
    return NoiseRules(
        removal_confirm_runs=changes.removal_confirm_runs,
        removal_confirm_after=timedelta(hours=changes.removal_confirm_hours)
        if changes.removal_confirm_hours
        else None,
        min_change_pct={"spot": changes.spot_min_change_pct},
        marketplace_min_change_pct=changes.marketplace_min_change_pct,
        # A global setting replaces the built-in per-provider defaults; per-provider
        # entries win over both.
        price_confirm_runs={
            **(DEFAULT_PRICE_CONFIRM_RUNS if changes.price_confirm_runs is None else {}),
            **{name: p.price_confirm_runs for name, p in changes.providers.items()},
        },
        price_confirm_runs_default=changes.price_confirm_runs or 0,
    )


def process_run(
    observations: Mapping[str, pd.DataFrame],
    *,
    datasets_dir: Path,
    state_dir: Path,
    dataset_version: str,
    detected_at: datetime,
    previous_dataset_version: str | None,
    config: Config | None = None,
    rules: NoiseRules | None = None,
    db_url: str | None = None,
) -> pd.DataFrame:
    """Detect, record, queue and publish the events of one run; returns this run's events
    (EVENT_SCHEMA columns). `config` gives the noise rules (unless `rules`), the alerts
    database (unless `db_url`) and the public URL of the feed; None: the defaults."""
    if config is None:
        config = Config(
            root=Path(datasets_dir).parent,
            datasets_dir=datasets_dir,
            archive_dir=Path(datasets_dir).parent / "archive",
            state_dir=state_dir,
        )
    new, states = detect_run(
        observations,
        state_dir=state_dir,
        dataset_version=dataset_version,
        detected_at=detected_at,
        previous_dataset_version=previous_dataset_version,
        rules=rules or noise_rules(config.changes),
    )
    append_events(Path(datasets_dir) / CHANGES_NAME, new)
    _enqueue(new, state_dir, db_url or config.alerts.db_url)
    for provider, state in states.items():
        save_state(state_dir, provider, state)
    _write_feed(datasets_dir, config, detected_at)
    log.info(
        "changes: %d events this run (%s)",
        len(new),
        ", ".join(f"{k}={v}" for k, v in new["event_type"].value_counts().items()) or "none",
    )
    return new


def _enqueue(new: pd.DataFrame, state_dir: Path, db_url: str | None) -> None:
    if not len(new):
        return
    engine = alerts.make_engine(alerts.database_url(state_dir, db_url))
    try:
        alerts.enqueue(engine, new)
    finally:
        engine.dispose()


def _write_feed(datasets_dir: Path, config: Config, now) -> None:
    """The feed from the newest events only (the events table's newest parts)."""
    feed.write_feed(
        recent_events(Path(datasets_dir) / CHANGES_NAME, feed.FEED_ENTRIES),
        Path(datasets_dir) / feed.FEED_NAME,
        public_url=config.public_url,
        now=now if now.tzinfo else now.replace(tzinfo=UTC),
    )


def publish_index(
    history: pd.DataFrame | History, config: Config, dataset_version: str
) -> pd.DataFrame:
    """Publish the price index's new days, then record its moves as change events; returns
    the new events.

    `history`: the whole history, or the store to read it from: then only the versions the
    days after the last published day can use are read (`_index_input`), so a run's cost
    does not grow with the history.

    A new methodology version recomputes the whole series: its day-on-day moves are old
    news restated, so that publish raises none. Moves already recorded (the step repeated
    after a failure) are not recorded again.
    """
    datasets_dir = Path(config.datasets_dir)
    index_path = datasets_dir / price_index.INDEX_FILE
    published = (
        pd.read_parquet(index_path, columns=["date", "methodology_version"])
        if index_path.is_file()
        else None
    )
    versions_before = set(published["methodology_version"]) if published is not None else set()
    if isinstance(history, History):
        history = _index_input(history, published, datasets_dir)
    price_index.publish(history, datasets_dir)
    _record_index_days(history, datasets_dir)
    if versions_before and price_index.CURRENT_VERSION not in versions_before:
        log.info("price index: methodology %s recomputed; no moves", price_index.CURRENT_VERSION)
        return events_frame([])
    moves = price_index.index_moves(
        pd.read_parquet(index_path),
        min_change_pct=config.changes.index_min_change_pct,
        dataset_version=dataset_version,
    )
    if not len(moves):
        return moves.reset_index(drop=True)
    new = append_events(datasets_dir / CHANGES_NAME, moves)
    if not len(new):
        return new
    _enqueue(new, config.state_dir, config.alerts.db_url)
    _write_feed(datasets_dir, config, new["detected_at"].max().to_pydatetime())
    log.info("price index: %d moves recorded as change events", len(new))
    return new.reset_index(drop=True)


# Beside the index: the last day its publish considered (every day up to it is published
# or had no indexable offer), with the index file's hash to tell it is still that index.
INDEX_DAYS_FILE = ".gpu_price_index.days.json"


def _record_index_days(history: pd.DataFrame, datasets_dir: Path) -> None:
    through = price_index.computed_through(history)
    index_path = datasets_dir / price_index.INDEX_FILE
    if through is None or not index_path.is_file():
        return
    last = (through.floor("D") - price_index.DAY).date().isoformat()
    record = {
        "methodology_version": price_index.CURRENT_VERSION,
        "last_day": last,
        "index_sha256": file_sha256(index_path),
    }
    write_json_atomic(record, datasets_dir / INDEX_DAYS_FILE)


def _recorded_last_day(datasets_dir: Path) -> pd.Timestamp | None:
    path = datasets_dir / INDEX_DAYS_FILE
    index_path = datasets_dir / price_index.INDEX_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("methodology_version") != price_index.CURRENT_VERSION:
        return None
    if not index_path.is_file() or record.get("index_sha256") != file_sha256(index_path):
        return None  # the index was published by another path since (a replay, a recompute)
    return pd.Timestamp(record["last_day"], tz="UTC")


def _index_input(
    history: History, published: pd.DataFrame | None, datasets_dir: Path
) -> pd.DataFrame:
    """The history rows the index's unpublished days need: with every day up to D
    published (of the current methodology) or considered by the last publish
    (`INDEX_DAYS_FILE`: days without any indexable offer publish nothing), the versions
    still in force at the end of D + 1 or later (ending at or after D + 2 days, or open).

    The same index as from the whole history: the index computes day d from the versions
    in force at the end of d only, and takes its first and last days from the rows'
    earliest `valid_from` and latest `last_seen_at`. The latest observation is among these
    rows (it ends later still); every day after D with a version in force keeps a row
    starting on or before it; the days the later first day leaves out are up to D, so
    published, or days without any offer, which a live run cannot change (it adds versions
    from its own time on). A replay of older archives can change past days: it publishes
    from the whole history (`final_steps`)."""
    if published is None:
        return history.read_all()
    days = published.loc[published["methodology_version"].eq(price_index.CURRENT_VERSION), "date"]
    ends = [_recorded_last_day(datasets_dir)]
    if not days.empty:
        last = pd.Timestamp(days.max())
        ends.append(last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC"))
    ends = [e for e in ends if e is not None]
    if not ends:
        return history.read_all()
    return history.read_all(ending_from=max(ends) + 2 * price_index.DAY)


class EventBatch:
    """The change events of many consecutive runs (a replay or an import of hundreds of
    archived snapshots), detected run by run and recorded once.

    Detection is exactly `process_run`'s, in order, with the baselines kept in memory
    between runs; `flush()` then does `process_run`'s recording steps once: events appended
    (dedup by event_id), digests queued, baselines saved, feed rewritten. A replay killed
    before the flush recorded nothing of the batch; the history it published meanwhile
    makes the next replay skip those runs, so the caller flushes in a `finally` and every
    `FLUSH_EVERY` runs to bound what a hard kill can lose.
    """

    FLUSH_EVERY = 100

    def __init__(self, *, datasets_dir: Path, state_dir: Path, config: Config):
        self.datasets_dir = Path(datasets_dir)
        self.state_dir = Path(state_dir)
        self.config = config
        self.rules = noise_rules(config.changes)
        self.states: dict[str, ProviderState] = {}
        self.frames: list[pd.DataFrame] = []
        self.runs = 0
        self.last_detected_at: datetime | None = None

    def add(
        self,
        observations: Mapping[str, pd.DataFrame],
        *,
        dataset_version: str,
        detected_at: datetime,
        previous_dataset_version: str | None,
    ) -> pd.DataFrame:
        new, states = detect_run(
            observations,
            state_dir=self.state_dir,
            dataset_version=dataset_version,
            detected_at=detected_at,
            previous_dataset_version=previous_dataset_version,
            rules=self.rules,
            states=self.states,
        )
        self.states.update(states)
        if len(new):
            self.frames.append(new)
        self.runs += 1
        self.last_detected_at = detected_at
        if self.runs % self.FLUSH_EVERY == 0:
            self.flush()
        return new

    def flush(self) -> pd.DataFrame:
        """Record what was detected since the last flush; returns those events."""
        new = pd.concat(self.frames, ignore_index=True) if self.frames else events_frame([])
        self.frames = []
        if not self.states and not len(new):
            return new
        append_events(self.datasets_dir / CHANGES_NAME, new)
        _enqueue(new, self.state_dir, self.config.alerts.db_url)
        for provider, state in self.states.items():
            save_state(self.state_dir, provider, state)
        _write_feed(self.datasets_dir, self.config, self.last_detected_at or datetime.now(UTC))
        log.info("changes: %d events recorded for %d replayed runs", len(new), self.runs)
        return new
