"""`scrape run --replay ARCHIVE`: every archived run re-parsed in time order, each at its
recorded `fetched_at`, merged as it would have been live; hundreds of runs in one batch
(one Delta commit each, events recorded and derived tables rebuilt once at the end)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.config import Config
from pipelines.ingest.archive import Archive, ArchiveError
from pipelines.notify import alerts as alerts_mod
from pipelines.ops import events
from pipelines.ops.fxrates import FX_GRACE, ArchivedFx
from pipelines.ops.publish import (
    contained,
    final_steps,
    log_run,
    merge_and_post,
    process_batch,
    write_quarantine,
)
from pipelines.ops.report import (
    FAILED,
    OK,
    SKIPPED,
    ProviderResult,
    RunReport,
    new_run_id,
    one_line,
)
from pipelines.schema import PRICE_DECIMALS, VERSION_VALUE_COLUMNS
from pipelines.store.history import History
from scrapers.base import (
    ProviderSpec,
)

log = logging.getLogger("pipelines.ops.replay")


def replay_archive(
    specs: Sequence[ProviderSpec],
    *,
    config: Config,
    archive_dir: Path,
    post_steps: bool,
    progress,
    alerts: bool = True,
) -> RunReport:
    started = datetime.now(UTC)
    report = RunReport(run_id=new_run_id(started), trigger="replay", started_at=started)
    archive = Archive(archive_dir)
    # Archived runs, grouped by run id across providers, in time order: each group is
    # merged as one run, so replaying a long archive rebuilds the history step by step.
    # The archive may come from anyone: a bad manifest line or blob fails that provider
    # with one line (ArchiveError), from that run on; the others carry on.
    groups: dict[str, list] = defaultdict(list)
    for s in specs:
        try:
            runs = archive.runs(s.name)
        except ArchiveError as exc:
            report.providers[s.name] = ProviderResult(s.name, FAILED, error=one_line(exc), runs=0)
            continue
        if not runs:
            report.providers[s.name] = ProviderResult(
                s.name, SKIPPED, error=f"{s.name}: no archived responses in {archive_dir}", runs=0
            )
        for run in runs:
            groups[run.run_id].append((s, run))
    ordered = sorted(groups.values(), key=lambda g: min(r.fetched_at for _, r in g))
    failed: set[str] = set()
    fx_index = ArchivedFx(archive)
    state = ReplayState(
        events.EventBatch(
            datasets_dir=config.datasets_dir, state_dir=config.state_dir, config=config
        ),
        History.for_config(config),
    )
    try:
        # One Delta commit per replayed run, the plain-Parquet view written once at the end.
        with state.history.batch():
            _replay_groups(
                ordered,
                archive,
                fx_index,
                state,
                report,
                failed,
                config,
                started,
                progress,
                alerts,
                post_steps,
            )
            # The last snapshot of each run of identical ones, then everything done once.
            _flush_held(state, report, config, post_steps=post_steps)
    finally:
        if state.quarantine:
            frames = [f for f in state.quarantine if len(f)] or state.quarantine[:1]
            write_quarantine(pd.concat(frames, ignore_index=True), report, config)
        if post_steps:
            contained(report, "change events", state.events.flush)
    if post_steps and state.version is not None:
        final_steps(report, config, state.version, alerts=alerts)
    elif post_steps and alerts and config.alerts.enabled:
        contained(report, "alert delivery", lambda: alerts_mod.deliver_pending(config))
    report.finished_at = datetime.now(UTC)
    log_run(report, config, post_steps=post_steps)
    return report


def _replay_groups(
    ordered, archive, fx_index, state, report, failed, config, started, progress, alerts, post_steps
) -> None:
    def run_group(group) -> None:
        _replay_group(
            group,
            archive,
            fx_index,
            state,
            report,
            failed,
            config,
            started,
            progress,
            alerts,
            post_steps,
        )

    # An archived run whose bodies are exactly those of the provider's previous run (a
    # catalog commit that did not touch what we keep) parses to the same offers: it is not
    # even read, only the last run of such a streak is replayed (see ReplayState).
    last_bodies: dict[str, tuple] = {}
    held_runs: dict[str, tuple] = {}
    for group in ordered:
        keep = []
        for s, run in group:
            bodies = tuple(e.get("sha256") for e in run.entries)
            if s.separable_parse and last_bodies.get(s.name) == bodies:
                held_runs[s.name] = (s, run)
                continue
            if s.name in held_runs:
                run_group([held_runs.pop(s.name)])
            last_bodies[s.name] = bodies
            keep.append((s, run))
        if keep:
            run_group(keep)
    for name in sorted(held_runs):
        run_group([held_runs[name]])


def _replay_group(
    group, archive, fx_index, state, report, failed, config, started, progress, alerts, post_steps
) -> None:
    batch = {}
    read_s: dict[str, float] = {}
    for s, run in group:
        if s.name in failed:
            continue  # its history stays as the last good run before the bad one
        t0 = time.monotonic()
        try:
            batch[s.name] = list(archive.iter_responses(run))
        except ArchiveError as exc:
            failed.add(s.name)
            res = ProviderResult(s.name, FAILED, error=one_line(exc), seconds=time.monotonic() - t0)
            if s.name in report.providers:
                res.absorb(report.providers[s.name])
            report.providers[s.name] = res
        read_s[s.name] = time.monotonic() - t0
    sub = RunReport(run_id=report.run_id, trigger="replay", started_at=started)
    # Only the ECB files that existed at the time of the replayed run count.
    fx = fx_index.at(max(r.fetched_at for _, r in group) + FX_GRACE)
    process_batch(
        batch,
        sub,
        config,
        fx,
        archive=archive,
        post_steps=post_steps,
        fetch_seconds=read_s,
        progress=progress,
        alerts=alerts,
        replay=state,
    )
    for name, res in sub.providers.items():
        # Each provider's line sums its replayed runs (ProviderResult.absorb).
        if name in report.providers:
            res.absorb(report.providers[name])
        report.providers[name] = res
    report.dataset_version = sub.dataset_version or report.dataset_version
    if report.previous_dataset_version is None:
        report.previous_dataset_version = sub.previous_dataset_version
    report.unmatched_gpus = sorted(set(report.unmatched_gpus) | set(sub.unmatched_gpus))
    report.notes.extend(sub.notes)


@dataclass
class ReplayState:
    """What a replay carries from one archived run to the next.

    Hundreds of archived snapshots must not each pay for the derived tables, the feed and
    the data package: events are detected run by run into `events` (recorded once), the
    derived tables are rebuilt once at the end (`final_steps`). And a snapshot whose
    observations equal the previous one of its provider (same offers, same values: a daily
    catalog commit that changed nothing we keep) is not merged on its own: only the last one
    of such a streak is, just before the next different snapshot or at the end. The history
    and the events come out the same (the first snapshot of the streak opened or confirmed
    every row, the last one moves `last_seen_at` and counts as the second run that confirms
    a removal), at the cost of two merges per streak instead of one per snapshot.
    """

    events: events.EventBatch
    history: History
    quarantine: list[pd.DataFrame] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    held: dict[str, pd.DataFrame] = field(default_factory=dict)
    version: str | None = None

    def hold_repeats(
        self,
        passed: dict[str, pd.DataFrame],
        report: RunReport,
        config: Config,
        *,
        post_steps: bool,
    ) -> dict[str, pd.DataFrame]:
        return _hold_repeats(passed, self, report, config, post_steps=post_steps)


def observation_fingerprint(obs: pd.DataFrame) -> str:
    """Hash of what a merge compares (offer keys and VERSION_VALUE_COLUMNS, prices rounded
    as the history rounds them): equal fingerprints, equal history after the merge."""
    cols = ["offer_key", *(c for c in VERSION_VALUE_COLUMNS if c in obs.columns)]
    # Column by column, rows in offer-key order (no sorted copy of the frame: this runs for
    # every replayed snapshot). Only ever compared with fingerprints made here.
    order = np.argsort(obs["offer_key"].to_numpy(dtype=object), kind="stable")
    h = hashlib.sha256(f"{len(obs)} rows: {','.join(cols)}".encode())
    for c in cols:
        col = obs[c]
        col = (
            col.round(PRICE_DECIMALS) if pd.api.types.is_float_dtype(col) else col.astype("string")
        )
        h.update(pd.util.hash_pandas_object(col, index=False).to_numpy()[order].tobytes())
    return h.hexdigest()


def _hold_repeats(
    passed: dict[str, pd.DataFrame],
    replay: ReplayState,
    report: RunReport,
    config: Config,
    *,
    post_steps: bool,
) -> dict[str, pd.DataFrame]:
    merge_now: dict[str, pd.DataFrame] = {}
    for name, df in sorted(passed.items()):
        fp = observation_fingerprint(df)
        if replay.fingerprints.get(name) == fp:
            replay.held[name] = df  # the latest of a streak of identical snapshots
            # Merging it would leave every offer unchanged, and that is what it reports;
            # the streak's last snapshot is merged later for its time (_merge_held).
            report.providers[name].record_merge(0, 0, len(df), 0)
            continue
        held = replay.held.pop(name, None)
        if held is not None:  # the streak ends: its last snapshot goes in first
            _merge_held(name, held, report, config, replay, post_steps=post_steps)
        replay.fingerprints[name] = fp
        merge_now[name] = df
    return merge_now


def _merge_held(
    name: str,
    df: pd.DataFrame,
    report: RunReport,
    config: Config,
    replay: ReplayState,
    *,
    post_steps: bool,
) -> None:
    sub = RunReport(run_id=report.run_id, trigger="replay", started_at=report.started_at)
    sub.providers[name] = ProviderResult(name, OK, rows=len(df))
    merge_and_post(
        {name: df},
        {},  # its quarantined rows were recorded when it was first parsed
        sub,
        config,
        replay.history,
        post_steps=post_steps,
        replay=replay,
    )
    # Its line in the summary was counted when it was held (all offers unchanged).
    report.dataset_version = sub.dataset_version or report.dataset_version
    report.notes.extend(sub.notes)


def _flush_held(
    replay: ReplayState, report: RunReport, config: Config, *, post_steps: bool
) -> None:
    for name in sorted(replay.held):
        _merge_held(name, replay.held[name], report, config, replay, post_steps=post_steps)
    replay.held.clear()
