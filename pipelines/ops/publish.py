"""After the fetch: parse -> gate -> history -> derived tables, change events, mail -> run
log, data package, site. Shared by live runs (`run.py`) and replays (`replay.py`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from pipelines.config import Config
from pipelines.derive import specs as gpu_specs
from pipelines.derive import tflops
from pipelines.ingest import gate
from pipelines.ingest.archive import Archive
from pipelines.notify import alerts as alerts_mod
from pipelines.ops import datapackage, events, runlog
from pipelines.ops.parsing import parse
from pipelines.ops.report import (
    FAILED,
    GATE_FAILED,
    OK,
    UNCHANGED,
    ProviderResult,
    RunReport,
    one_line,
)
from pipelines.site import build as site_build
from pipelines.store import quarantine
from pipelines.store.history import History
from scrapers.base import (
    ProviderSpec,
    Response,
)
from scrapers.http import scrub
from scrapers.registry import PROVIDERS

log = logging.getLogger("pipelines.ops.publish")


class ReplayBatch(Protocol):
    """What a replay carries between its runs (`replay.ReplayState`), as this module uses
    it: the batched history and event detector, the quarantined rows collected for one
    write, the latest version, and the hold of identical consecutive snapshots."""

    history: History
    events: events.EventBatch
    quarantine: list[pd.DataFrame]
    version: str | None

    def hold_repeats(
        self,
        passed: dict[str, pd.DataFrame],
        report: RunReport,
        config: Config,
        *,
        post_steps: bool,
    ) -> dict[str, pd.DataFrame]: ...


def process_batch(
    batch: dict[str, list[Response]],
    report: RunReport,
    config: Config,
    fx,
    *,
    archive: Archive,
    post_steps: bool,
    fetch_seconds: dict[str, float],
    progress,
    alerts: bool = True,
    replay: ReplayBatch | None = None,
) -> None:
    history = replay.history if replay is not None else History.for_config(config)
    state = history.provider_state()
    passed: dict[str, pd.DataFrame] = {}
    gated: dict[str, gate.GateResult] = {}
    for name, responses in sorted(batch.items()):
        spec = PROVIDERS[name]
        t0 = time.monotonic() - fetch_seconds.get(name, 0.0)
        res = ProviderResult(name, OK, responses=len(responses))
        report.providers[name] = res
        try:
            df, parsed = parse(spec, responses, fx, cache_dir=config.state_dir / "parse-cache")
            res.warnings = list(parsed.warnings)
            res.unknown = list(parsed.unknown)
        except Exception as exc:  # a parser bug must fail this provider, not the run
            res.status, res.error = FAILED, one_line(exc)
            res.seconds = time.monotonic() - t0
            continue
        res.rows = len(df)
        result = _gate(spec, df, state.get(name, {}).get("last_good_rows"), config)
        gated[name] = result
        res.quarantined_rows = result.quarantined_rows
        res.gate_findings = list(result.findings)
        if result.passed:
            passed[name] = result.publish
            res.observed_at = result.publish["observed_at"].max().to_pydatetime()
        else:
            res.status, res.error = GATE_FAILED, "; ".join(result.lines())
        res.seconds = time.monotonic() - t0
        if progress:
            progress(name, res.status)
    if replay is not None:
        passed = replay.hold_repeats(passed, report, config, post_steps=post_steps)
    if not passed:
        _record_quarantine(gated, report, config, None, replay=replay)
        return
    # The merge, publish and post-publish steps are one step for all passed providers:
    # its wall time is part of each one's (ProviderResult.seconds).
    t_publish = time.monotonic()
    try:
        merge_and_post(
            passed,
            gated,
            report,
            config,
            history,
            post_steps=post_steps,
            alerts=alerts,
            replay=replay,
        )
    finally:
        for name in passed:
            report.providers[name].seconds += time.monotonic() - t_publish


def merge_and_post(
    passed: dict[str, pd.DataFrame],
    gated: dict[str, gate.GateResult],
    report: RunReport,
    config: Config,
    history: History,
    *,
    post_steps: bool,
    alerts: bool = True,
    replay: ReplayBatch | None = None,
) -> None:
    # When the spec table changes, every current row is re-joined; otherwise only new rows.
    pub = history.merge_and_publish(
        passed, enrich=gpu_specs.join_specs, enrich_key=gpu_specs.reference_key()
    )
    for name, merge in pub.merges.items():
        res = report.providers[name]
        if not merge.skipped_reason:
            res.record_merge(merge.new, merge.changed, merge.unchanged, merge.removed)
        else:
            res.status = UNCHANGED
            res.warnings.append(merge.skipped_reason)
    report.previous_dataset_version = pub.previous_version
    _record_quarantine(gated, report, config, pub.version, replay=replay)
    if pub.version is None:
        # Nothing new to publish, but mail queued by an earlier run (SMTP down then) goes.
        if replay is None and post_steps and alerts and config.alerts.enabled:
            contained(report, "alert delivery", lambda: alerts_mod.deliver_pending(config))
        return
    report.dataset_version = pub.version
    merged = {n: df for n, df in passed.items() if not pub.merges[n].skipped_reason}
    if replay is not None:
        # Events run by run (their baselines depend on the order); the derived tables, the
        # feed and the mail once at the end of the replay (final_steps).
        replay.version = pub.version
        if merged and post_steps:
            contained(
                report,
                "change events",
                lambda: replay.events.add(
                    merged,
                    dataset_version=pub.version,
                    detected_at=max(
                        df["observed_at"].max() for df in merged.values()
                    ).to_pydatetime(),
                    previous_dataset_version=pub.previous_version,
                ),
            )
        return
    if post_steps:
        post_publish(
            report, config, history, merged, pub.version, pub.previous_version, alerts=alerts
        )


def _gate(spec: ProviderSpec, df: pd.DataFrame, last_rows: int | None, config: Config):
    return gate.check(
        spec.name,
        df,
        last_rows,
        max_drop_fraction=config.drop_fraction(spec.name, spec.max_row_drop_fraction),
        max_quarantine_fraction=config.quarantine_fraction(
            spec.name, gate.DEFAULT_MAX_QUARANTINE_FRACTION
        ),
    )


def _record_quarantine(
    gated: dict[str, gate.GateResult],
    report: RunReport,
    config: Config,
    version: str | None,
    *,
    replay: ReplayBatch | None = None,
) -> None:
    """Append this batch's quarantined rows to datasets/gpu_quarantine.parquet.

    Also for providers that failed the gate: their rows say what went wrong. A failure to
    write is a note, never a lost publish (the rows' findings are in the run log too).
    A replay collects them and appends once, at its end (`write_quarantine`).
    """
    frames = [
        quarantine.to_rows(
            r.quarantined,
            run_id=report.run_id,
            dataset_version=version if r.passed else None,
            published=r.passed,
        )
        for r in gated.values()
        if r.quarantined_rows
    ]
    if not gated:
        return
    if replay is not None and not frames and replay.quarantine:
        # The replay writes its non-empty batches, or its first one when all are empty
        # (replay_archive): later empty ones are never read.
        return
    rows = (
        pd.concat(frames, ignore_index=True)
        if frames
        else quarantine.to_rows(
            pd.DataFrame(), run_id=report.run_id, dataset_version=version, published=True
        )
    )
    if replay is not None:
        replay.quarantine.append(rows)
        return
    write_quarantine(rows, report, config)


def write_quarantine(rows: pd.DataFrame, report: RunReport, config: Config) -> None:
    try:
        quarantine.append(config.datasets_dir, rows)
    except Exception as exc:
        log.exception("quarantine not written")
        report.notes.append(f"quarantine file failed: {one_line(exc)}")


def final_steps(report: RunReport, config: Config, version: str, *, alerts: bool) -> None:
    """The derived tables and mail of a replay, once, from the history as it ends."""
    history = History.for_config(config)
    current = history.read_current()
    report.unmatched_gpus = sorted(set(gpu_specs.unmatched(current)))
    version = history.current_version() or version
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("gpu specs", lambda: gpu_specs.publish_specs(config.datasets_dir, version)),
        ("price per TFLOP", lambda: tflops.publish(current, config.datasets_dir, version)),
        ("price index", lambda: events.publish_index(history.read_all(), config, version)),
    ]
    if alerts and config.alerts.enabled:
        steps.append(("alert delivery", lambda: alerts_mod.deliver_pending(config)))
    for label, fn in steps:
        contained(report, label, fn)


def post_publish(
    report: RunReport,
    config: Config,
    history: History,
    observations: dict[str, pd.DataFrame],
    version: str,
    previous_version: str | None,
    *,
    alerts: bool = True,
) -> None:
    """Derived tables and alerts. Each step is contained: a failure is noted, not fatal."""
    current = history.read_current()
    report.unmatched_gpus = sorted(set(gpu_specs.unmatched(current)))
    detected_at = (
        max(df["observed_at"].max() for df in observations.values()).to_pydatetime()
        if observations
        else datetime.now(UTC)
    )
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("gpu specs", lambda: gpu_specs.publish_specs(config.datasets_dir, version)),
        ("price per TFLOP", lambda: tflops.publish(current, config.datasets_dir, version)),
        # The store, not read_all(): the index reads only the versions its new days need.
        ("price index", lambda: events.publish_index(history, config, version)),
        (
            "change events",
            lambda: events.process_run(
                observations,
                datasets_dir=config.datasets_dir,
                state_dir=config.state_dir,
                dataset_version=version,
                detected_at=detected_at,
                previous_dataset_version=previous_version,
                config=config,
            ),
        ),
    ]
    if alerts and config.alerts.enabled:
        steps.append(("alert delivery", lambda: alerts_mod.deliver_pending(config)))
    for label, fn in steps:
        contained(report, label, fn)


def contained(report: RunReport, label: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as exc:
        log.exception("post-publish step %s failed", label)
        report.notes.append(f"{label} failed: {one_line(exc)}")


# --- FX ---------------------------------------------------------------------------------


# A run fetches the ECB file at its start; the providers' responses come a little later.
def log_run(report: RunReport, config: Config, *, post_steps: bool = True) -> None:
    """Append the run log, describe everything published in datapackage.json, then (when
    this run published) rebuild the dataset card and the report site from it.

    The data package comes after the run log so its entry for the run log includes this
    run; the card and the site come last because they describe and link all of it.
    """
    # Errors go into a published file: scrub any key a message might still carry.
    for res in report.providers.values():
        if res.error:
            res.error = scrub(res.error)
    try:
        runlog.append(report, config.datasets_dir)
    except Exception as exc:
        log.exception("run log not written")
        report.notes.append(f"run log failed: {one_line(exc)}")
    history = History.for_config(config)
    version = history.current_version()
    if version is not None:
        try:
            datapackage.write(
                config.datasets_dir,
                history,
                version,
                public_url=config.public_url,
            )
        except Exception as exc:
            log.exception("datapackage.json not written")
            report.notes.append(f"datapackage.json failed: {one_line(exc)}")
    if version is not None and post_steps and report.dataset_version is not None:
        try:
            site_build.publish(config.datasets_dir)
        except Exception as exc:  # the data is published; only its pages are stale
            log.exception("dataset card / report site not built")
            report.notes.append(f"report site failed: {one_line(exc)}")
