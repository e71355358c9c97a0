"""The change-event step of a run: detect (derive.changes), record, hand to notify.

Order of effects (each step idempotent, so a run killed anywhere can simply be repeated):
events appended to datasets/gpu_price_changes.parquet -> digests queued in the outbox
(notify.alerts) -> per-provider baselines saved -> datasets/alerts.atom regenerated
(notify.feed). Detection itself lives in `pipelines.derive.changes` and writes nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.derive.changes import CHANGES_NAME, NoiseRules, append_events, detect_run, save_state
from pipelines.notify import alerts, feed

log = logging.getLogger(__name__)


def process_run(
    observations: Mapping[str, pd.DataFrame],
    *,
    datasets_dir: Path,
    state_dir: Path,
    dataset_version: str,
    detected_at: datetime,
    previous_dataset_version: str | None,
    rules: NoiseRules | None = None,
    db_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Detect, record, queue and publish the events of one run; returns this run's events
    (EVENT_SCHEMA columns)."""
    env = dict(os.environ if env is None else env)
    new, states = detect_run(
        observations,
        state_dir=state_dir,
        dataset_version=dataset_version,
        detected_at=detected_at,
        previous_dataset_version=previous_dataset_version,
        rules=rules or NoiseRules.from_env(env),
    )
    all_events = append_events(Path(datasets_dir) / CHANGES_NAME, new)
    if len(new):
        engine = alerts.make_engine(alerts.database_url(state_dir, db_url, env))
        try:
            alerts.enqueue(engine, new)
        finally:
            engine.dispose()
    for provider, state in states.items():
        save_state(state_dir, provider, state)
    feed.write_feed(
        all_events,
        Path(datasets_dir) / feed.FEED_NAME,
        public_url=env.get("GPU_PRICES_PUBLIC_URL"),
        now=detected_at if detected_at.tzinfo else detected_at.replace(tzinfo=UTC),
    )
    log.info(
        "changes: %d events this run (%s)",
        len(new),
        ", ".join(f"{k}={v}" for k, v in new["event_type"].value_counts().items()) or "none",
    )
    return new
