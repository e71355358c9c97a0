"""`scrape run`: fetch -> archive -> parse -> normalize -> gate -> history -> publish.

One run handles any number of providers and publishes once. Providers are fetched
concurrently; each one's failure (fetch, parse, FX, gate) is contained: it is reported,
keeps its last good data in the history, and never blocks the others.

The stages live in their own modules: `parsing` (parse cache, normalize), `fxrates` (ECB
rates live or archived), `publish` (gate -> history -> derived tables, events, mail, run
log, data package, site) and `replay` (`replay=ARCHIVE_DIR`: nothing is fetched, every
archived run is re-parsed in time order at its recorded `fetched_at`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pipelines.config import Config
from pipelines.ingest.archive import Archive, ArchiveError
from pipelines.ops.fxrates import live_fx
from pipelines.ops.parsing import materialize
from pipelines.ops.publish import log_run, process_batch
from pipelines.ops.replay import replay_archive
from pipelines.ops.report import (
    FAILED,
    SKIPPED,
    UNCHANGED,
    ProviderResult,
    RunReport,
    new_run_id,
    one_line,
)
from pipelines.store import locks
from scrapers.base import (
    FetchContext,
    ProviderError,
    ProviderSpec,
    Response,
    SkipProvider,
)
from scrapers.http import HttpClient
from scrapers.registry import PROVIDERS

log = logging.getLogger("pipelines.ops.run")

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
                "deadline_s",
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
        return replay_archive(
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
            fx = live_fx(config, archive, run_id, workdir, transport, runnable)
            batch: dict[str, list[Response]] = {}
            for s in runnable:
                r = fetched[s.name]
                if isinstance(r, SkipProvider):
                    report.providers[s.name] = ProviderResult(s.name, SKIPPED, error=str(r))
                elif isinstance(r, BaseException):
                    report.providers[s.name] = ProviderResult(
                        s.name, FAILED, error=one_line(r), seconds=fetch_s[s.name]
                    )
                elif r and all(x.not_modified for x in r):
                    report.providers[s.name] = ProviderResult(
                        s.name, UNCHANGED, responses=len(r), seconds=fetch_s[s.name]
                    )
                else:
                    try:
                        batch[s.name] = materialize(archive, s.name, r)
                    except ArchiveError as exc:  # the archived body is gone or was changed
                        report.providers[s.name] = ProviderResult(
                            s.name, FAILED, error=one_line(exc), seconds=fetch_s[s.name]
                        )
            process_batch(
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
    log_run(report, config, post_steps=post_steps)
    return report
