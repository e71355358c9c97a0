"""`scrape run`: fetch -> archive -> parse -> normalize -> gate -> history -> publish.

One run handles any number of providers and publishes once. Providers are fetched
concurrently; each one's failure (fetch, parse, FX, gate) is contained: it is reported,
keeps its last good data in the history, and never blocks the others.

With `replay=ARCHIVE_DIR` nothing is fetched: every archived run is re-parsed, in time
order, with each response's recorded `fetched_at` as its observation time, and merged as
it would have been live. Replaying an archive that is already in the history changes
nothing (see History.merge_and_publish).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import logging
import secrets
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.config import Config
from pipelines.derive import specs as gpu_specs
from pipelines.derive import tflops
from pipelines.ingest import gate
from pipelines.ingest.archive import Archive, ArchiveError
from pipelines.ingest.fx import load_fx
from pipelines.ingest.normalize import offers_to_frame
from pipelines.ingest.parse_cache import ParseCache
from pipelines.notify import alerts as alerts_mod
from pipelines.ops import datapackage, events, runlog
from pipelines.ops.report import (
    FAILED,
    GATE_FAILED,
    OK,
    SKIPPED,
    UNCHANGED,
    ProviderResult,
    RunReport,
)
from pipelines.schema import PRICE_DECIMALS, VERSION_VALUE_COLUMNS
from pipelines.site import build as site_build
from pipelines.store import locks, quarantine
from pipelines.store.history import History
from scrapers import _toolkit as scrapers_toolkit
from scrapers import base as scrapers_base
from scrapers import ecb
from scrapers.base import (
    FetchContext,
    ParseResult,
    ProviderError,
    ProviderSpec,
    Response,
    SkipProvider,
    select_settings,
)
from scrapers.http import HttpClient, scrub
from scrapers.registry import PROVIDERS

log = logging.getLogger("pipelines.ops.run")

FX_SOURCE = "ecb"


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


# --- fetching ---------------------------------------------------------------------------


def _context(
    spec: ProviderSpec, client: HttpClient, config: Config, archive: Archive, workdir: Path
) -> FetchContext:
    # A provider sees only the settings it declares; its secret values are registered
    # with the redactor before any request can carry them.
    settings = spec.settings_from(config.settings)
    client.redactor.add(*(settings.get(name) for name in spec.secret_settings))
    return FetchContext(
        provider=spec.name,
        client=client,
        base_url=config.base_url(spec.name, spec.default_base_url),
        settings=settings,
        previous=archive.previous(spec.name),
        workdir=workdir / spec.name,
        base_urls={n: config.base_url(spec.name, u, n) for n, u in spec.extra_base_urls.items()},
    )


async def _fetch_one(
    spec: ProviderSpec,
    client: HttpClient,
    config: Config,
    archive: Archive,
    run_id: str,
    workdir: Path,
) -> list[Response]:
    missing = spec.missing_settings(config.settings)
    if missing:
        # The declared help says where to get the key: the one skip line is the user's hint.
        helps = {s.name: s.help for s in spec.settings}
        wanted = "; ".join(f"{n} ({helps[n]})" if helps.get(n) else n for n in missing)
        raise SkipProvider(
            f"{spec.name}: skipped: set {wanted} to enable it (see README, 'Provider credentials')"
        )
    ctx = _context(spec, client, config, archive, workdir)
    responses = await spec.fetch(ctx)
    stored = []
    for r in responses:
        archive.store(run_id, spec.name, r)
        stored.append(r)
    return stored


async def _fetch_all(
    specs: Sequence[ProviderSpec],
    config: Config,
    archive: Archive,
    run_id: str,
    workdir: Path,
    transport=None,
    seconds: dict[str, float] | None = None,
) -> dict[str, list[Response] | BaseException]:
    """Fetch every provider concurrently; `seconds` receives each one's own fetch time."""
    http = config.http
    seconds = {} if seconds is None else seconds

    async def timed(s: ProviderSpec):
        t0 = time.monotonic()
        try:
            return await _fetch_one(s, client, config, archive, run_id, workdir)
        finally:
            seconds[s.name] = time.monotonic() - t0

    async with HttpClient(
        transport=transport,
        **{
            k: http[k]
            for k in (
                "timeout_s",
                "max_retries",
                "backoff_base_s",
                "max_backoff_s",
                "per_host_limit",
                "max_body_bytes",
            )
            if k in http
        },
    ) as client:
        results = await asyncio.gather(
            *(timed(s) for s in specs),
            return_exceptions=True,
        )
        # Redact after the fact too: an exception message must not carry a key.
        out: dict[str, list[Response] | BaseException] = {}
        for s, r in zip(specs, results, strict=True):
            if isinstance(r, BaseException) and not isinstance(r, SkipProvider | ProviderError):
                r = RuntimeError(client.redactor(f"{type(r).__name__}: {r}"))
            out[s.name] = r
        return out


# --- parsing ---------------------------------------------------------------------------


def _materialize(archive: Archive, provider: str, responses: list[Response]) -> list[Response]:
    """Swap "not modified" responses for the archived body they stand for."""
    out = []
    for r in responses:
        if r.not_modified:
            entry = {
                "url": r.url,
                "fetched_at": r.fetched_at.isoformat(),
                "sha256": r.sha256_hex,
                "status": 200,
                "headers": dict(r.headers),
                "kind": r.kind,
            }
            out.append(archive.response(provider, entry))
        else:
            out.append(r)
    return out


def parser_fingerprint(spec: ProviderSpec) -> str:
    """Hash of what a provider's parse depends on: its module and its data tables."""
    import hashlib
    import sys

    h = hashlib.sha256()
    module = sys.modules.get(spec.parse.__module__)
    files = [Path(module.__file__)] if module is not None and module.__file__ else []
    if files and files[0].name == "__init__.py":  # a provider package (scrapers/aws/)
        files = sorted(files[0].parent.glob("*.py"))
    # The shared provider code every parse uses.
    files += [Path(m.__file__) for m in (scrapers_toolkit, scrapers_base) if m.__file__]
    data_dir = Path(__file__).resolve().parents[2] / "scrapers" / "data"
    files += sorted(data_dir.glob(f"{spec.name}_*.csv"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _parse_cached(spec: ProviderSpec, responses: list[Response], cache_dir: Path) -> ParseResult:
    """Parse response by response, reusing the result of any body parsed before.

    The cache holds plain JSON keyed by body sha256 and parser fingerprint (see
    pipelines/ingest/parse_cache.py: never a pickle, since its key comes from archives other
    people share). Cached offers are re-timed to the response they now stand for
    (`observed_at`), so an unchanged file still confirms its offers as seen at this run's time.
    """
    import dataclasses

    cache = ParseCache(cache_dir)
    fp = parser_fingerprint(spec)
    out = ParseResult()
    for r in responses:
        sha = r.sha256
        part = cache.get(spec.name, fp, sha)
        if part is None:
            part = spec.parse([r])
            cache.put(spec.name, fp, sha, part)
        else:
            part = ParseResult(
                offers=[
                    dataclasses.replace(
                        o, observed_at=r.fetched_at, source_url=r.url, snapshot_sha256=sha
                    )
                    for o in part.offers
                ],
                warnings=list(part.warnings),
                unknown=list(part.unknown),
            )
        out.extend(part)
    return out


def _parse(
    spec: ProviderSpec, responses: list[Response], fx, cache_dir: Path | None = None
) -> tuple[pd.DataFrame, Any]:
    if spec.separable_parse and cache_dir is not None:
        result = _parse_cached(spec, responses, cache_dir)
    else:
        result = spec.parse(responses)
    df = offers_to_frame(spec.name, result, fx)
    return df, result


# --- the run ---------------------------------------------------------------------------


def run_providers(
    names: Sequence[str],
    *,
    config: Config,
    trigger: str = "manual",
    replay: Path | None = None,
    transport=None,
    post_steps: bool = True,
    progress: Callable[[str, str], None] | None = None,
    alerts: bool = True,
) -> RunReport:
    """Run `names` end to end and publish once. Returns the report (see RunReport.exit_code).

    `alerts=False` still records change events (data) but sends no mail.
    """
    specs = [PROVIDERS[n] for n in names]
    if replay is not None:
        return _replay(
            specs,
            config=config,
            archive_dir=Path(replay),
            post_steps=post_steps,
            progress=progress,
            alerts=alerts,
        )
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    report = RunReport(run_id=run_id, trigger=trigger, started_at=started)
    archive = Archive(config.archive_dir)
    runnable: list[ProviderSpec] = []
    with contextlib.ExitStack() as held:
        for s in specs:
            try:
                held.enter_context(locks.provider_lock(config.state_dir, s.name))
                runnable.append(s)
            except locks.AlreadyRunning as exc:  # another process runs this provider now
                report.providers[s.name] = ProviderResult(s.name, SKIPPED, error=str(exc))
        workdir = Path(tempfile.mkdtemp(prefix="gpu-prices-"))
        try:
            fetch_s: dict[str, float] = {}
            fetched = asyncio.run(
                _fetch_all(runnable, config, archive, run_id, workdir, transport, fetch_s)
            )
            fx = _live_fx(config, archive, run_id, workdir, transport, runnable)
            batch: dict[str, list[Response]] = {}
            for s in runnable:
                r = fetched[s.name]
                if isinstance(r, SkipProvider):
                    report.providers[s.name] = ProviderResult(s.name, SKIPPED, error=str(r))
                elif isinstance(r, BaseException):
                    report.providers[s.name] = ProviderResult(
                        s.name, FAILED, error=_one_line(r), seconds=fetch_s[s.name]
                    )
                elif r and all(x.not_modified for x in r):
                    report.providers[s.name] = ProviderResult(
                        s.name, UNCHANGED, responses=len(r), seconds=fetch_s[s.name]
                    )
                else:
                    try:
                        batch[s.name] = _materialize(archive, s.name, r)
                    except ArchiveError as exc:  # the archived body is gone or was changed
                        report.providers[s.name] = ProviderResult(
                            s.name, FAILED, error=_one_line(exc), seconds=fetch_s[s.name]
                        )
            _process_batch(
                batch,
                report,
                config,
                fx,
                archive=archive,
                post_steps=post_steps,
                fetch_seconds=fetch_s,
                progress=progress,
                alerts=alerts,
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    report.finished_at = datetime.now(UTC)
    _log_run(report, config, post_steps=post_steps)
    return report


def _replay(
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
            report.providers[s.name] = ProviderResult(s.name, FAILED, error=_one_line(exc), runs=0)
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
    state = _ReplayState(
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
            _write_quarantine(pd.concat(frames, ignore_index=True), report, config)
        if post_steps:
            _contained(report, "change events", state.events.flush)
    if post_steps and state.version is not None:
        _final_steps(report, config, state.version, alerts=alerts)
    elif post_steps and alerts and config.alerts.enabled:
        _contained(report, "alert delivery", lambda: alerts_mod.deliver_pending(config))
    report.finished_at = datetime.now(UTC)
    _log_run(report, config, post_steps=post_steps)
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
    # even read, only the last run of such a streak is replayed (see _ReplayState).
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
            res = ProviderResult(
                s.name, FAILED, error=_one_line(exc), seconds=time.monotonic() - t0
            )
            if s.name in report.providers:
                res.absorb(report.providers[s.name])
            report.providers[s.name] = res
        read_s[s.name] = time.monotonic() - t0
    sub = RunReport(run_id=report.run_id, trigger="replay", started_at=started)
    # Only the ECB files that existed at the time of the replayed run count.
    fx = fx_index.at(max(r.fetched_at for _, r in group) + _FX_GRACE)
    _process_batch(
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


def _process_batch(
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
    replay: _ReplayState | None = None,
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
            df, parsed = _parse(spec, responses, fx, cache_dir=config.state_dir / "parse-cache")
            res.warnings = list(parsed.warnings)
            res.unknown = list(parsed.unknown)
        except Exception as exc:  # a parser bug must fail this provider, not the run
            res.status, res.error = FAILED, _one_line(exc)
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
        passed = _hold_repeats(passed, replay, report, config, post_steps=post_steps)
    if not passed:
        _record_quarantine(gated, report, config, None, replay=replay)
        return
    # The merge, publish and post-publish steps are one step for all passed providers:
    # its wall time is part of each one's (ProviderResult.seconds).
    t_publish = time.monotonic()
    try:
        _merge_and_post(
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


def _merge_and_post(
    passed: dict[str, pd.DataFrame],
    gated: dict[str, gate.GateResult],
    report: RunReport,
    config: Config,
    history: History,
    *,
    post_steps: bool,
    alerts: bool = True,
    replay: _ReplayState | None = None,
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
            _contained(report, "alert delivery", lambda: alerts_mod.deliver_pending(config))
        return
    report.dataset_version = pub.version
    merged = {n: df for n, df in passed.items() if not pub.merges[n].skipped_reason}
    if replay is not None:
        # Events run by run (their baselines depend on the order); the derived tables, the
        # feed and the mail once at the end of the replay (_final_steps).
        replay.version = pub.version
        if merged and post_steps:
            _contained(
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
        _post_publish(
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
    replay: _ReplayState | None = None,
) -> None:
    """Append this batch's quarantined rows to datasets/gpu_quarantine.parquet.

    Also for providers that failed the gate: their rows say what went wrong. A failure to
    write is a note, never a lost publish (the rows' findings are in the run log too).
    A replay collects them and appends once, at its end (`_write_quarantine`).
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
    _write_quarantine(rows, report, config)


def _write_quarantine(rows: pd.DataFrame, report: RunReport, config: Config) -> None:
    try:
        quarantine.append(config.datasets_dir, rows)
    except Exception as exc:
        log.exception("quarantine not written")
        report.notes.append(f"quarantine file failed: {_one_line(exc)}")


@dataclass
class _ReplayState:
    """What a replay carries from one archived run to the next.

    Hundreds of archived snapshots must not each pay for the derived tables, the feed and
    the data package: events are detected run by run into `events` (recorded once), the
    derived tables are rebuilt once at the end (`_final_steps`). And a snapshot whose
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


def observation_fingerprint(obs: pd.DataFrame) -> str:
    """Hash of what a merge compares (offer keys and VERSION_VALUE_COLUMNS, prices rounded
    as the history rounds them): equal fingerprints, equal history after the merge."""
    cols = ["offer_key", *(c for c in VERSION_VALUE_COLUMNS if c in obs.columns)]
    df = obs[cols].sort_values("offer_key", kind="mergesort").reset_index(drop=True)
    for c in cols:
        if pd.api.types.is_float_dtype(df[c]):
            df[c] = df[c].round(PRICE_DECIMALS)
        else:
            df[c] = df[c].astype("string")
    h = pd.util.hash_pandas_object(df, index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()


def _hold_repeats(
    passed: dict[str, pd.DataFrame],
    replay: _ReplayState,
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
    replay: _ReplayState,
    *,
    post_steps: bool,
) -> None:
    sub = RunReport(run_id=report.run_id, trigger="replay", started_at=report.started_at)
    sub.providers[name] = ProviderResult(name, OK, rows=len(df))
    _merge_and_post(
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
    replay: _ReplayState, report: RunReport, config: Config, *, post_steps: bool
) -> None:
    for name in sorted(replay.held):
        _merge_held(name, replay.held[name], report, config, replay, post_steps=post_steps)
    replay.held.clear()


def _final_steps(report: RunReport, config: Config, version: str, *, alerts: bool) -> None:
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
        _contained(report, label, fn)


def _post_publish(
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
        ("price index", lambda: events.publish_index(history.read_all(), config, version)),
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
        _contained(report, label, fn)


def _contained(report: RunReport, label: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as exc:
        log.exception("post-publish step %s failed", label)
        report.notes.append(f"{label} failed: {_one_line(exc)}")


# --- FX ---------------------------------------------------------------------------------

# A run fetches the ECB file at its start; the providers' responses come a little later.
_FX_GRACE = timedelta(minutes=30)


def archived_fx(archive: Archive, as_of: datetime | None = None):
    """The FX lookup from the ECB files in `archive` fetched at or before `as_of`.

    None when there are none (or none readable): non-USD rows then get empty USD columns.
    """
    return ArchivedFx(archive).at(as_of)


class ArchivedFx:
    """The archive's ECB files, read and verified once; `at(as_of)` gives the lookup of
    the files fetched by then, built once per distinct set (a replay of hundreds of runs
    asks for the same few sets again and again)."""

    def __init__(self, archive: Archive):
        responses: list[Response] = []
        try:
            runs = archive.runs(FX_SOURCE)
        except ArchiveError as exc:  # then non-USD rows get empty USD columns
            log.warning("ECB reference rates unusable: %s", _one_line(exc))
            runs = []
        for run in runs:
            try:
                responses.extend(archive.iter_responses(run))
            except ArchiveError as exc:
                log.warning(
                    "ECB reference rates of run %s unusable: %s", run.run_id, _one_line(exc)
                )
        self.responses = sorted(responses, key=lambda r: r.fetched_at)
        self._times = [r.fetched_at for r in self.responses]
        self._built: dict[int, Any] = {}

    def at(self, as_of: datetime | None = None):
        n = len(self._times) if as_of is None else bisect.bisect_right(self._times, as_of)
        if n == 0:
            return None
        if n not in self._built:
            try:
                self._built[n] = load_fx(self.responses[:n]).usd_per_unit
            except Exception as exc:  # an unreadable ECB file
                log.warning("ECB reference rates unusable: %s", _one_line(exc))
                self._built[n] = None
        return self._built[n]


def _live_fx(
    config: Config,
    archive: Archive,
    run_id: str,
    workdir: Path,
    transport,
    specs: Sequence[ProviderSpec],
):
    """Fetch and archive the ECB reference rates; fall back to the archived ones."""
    if all(set(s.currencies) <= {"USD"} for s in specs):
        return archived_fx(archive)

    async def go():
        async with HttpClient(transport=transport) as client:
            ctx = FetchContext(
                provider=FX_SOURCE,
                client=client,
                base_url=config.base_url(FX_SOURCE, ecb.DEFAULT_BASE_URL),
                settings=select_settings(ecb.SETTINGS, config.settings),
                previous=archive.previous(FX_SOURCE),
                workdir=workdir / FX_SOURCE,
            )
            return await ecb.fetch(ctx)

    try:
        for r in asyncio.run(go()):
            archive.store(run_id, FX_SOURCE, r)
    except Exception as exc:  # then the archived rates (or empty USD columns) serve
        log.warning("ECB reference rates not fetched: %s", _one_line(exc))
    return archived_fx(archive)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _log_run(report: RunReport, config: Config, *, post_steps: bool = True) -> None:
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
        report.notes.append(f"run log failed: {_one_line(exc)}")
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
            report.notes.append(f"datapackage.json failed: {_one_line(exc)}")
    if version is not None and post_steps and report.dataset_version is not None:
        try:
            site_build.publish(config.datasets_dir)
        except Exception as exc:  # the data is published; only its pages are stale
            log.exception("dataset card / report site not built")
            report.notes.append(f"report site failed: {_one_line(exc)}")
