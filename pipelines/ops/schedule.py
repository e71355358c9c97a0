"""Scheduled, unattended runs: `scrape schedule`, `scrape schedule --list` and `--once`.

The schedule file and cadences are read by pipelines/ops/schedule_file.py, the batching of
due providers is pipelines/ops/batcher.py; this module runs them. Source: `schedules/schedule.toml` (cadence per provider; the default is each provider's
`ProviderSpec.default_cadence` in scrapers/), the run log (pipelines/ops/runlog.py) and an
APScheduler 3 job store. Output: calls of the run job (by default
`pipelines.ops.run.run_providers(names, trigger="schedule")`, which archives, publishes once
and appends to the run log); nothing is published from here.

How the pieces fit:

- One APScheduler job per provider, kept in a persistent SQLite job store
  (`<state_dir>/scheduler.sqlite`). After downtime, a job whose run times were missed runs
  ONCE at start (`coalesce`), if its latest missed run time is within the grace time.
- A job does not run the provider itself: it hands the provider to a batcher and waits.
  The batcher collects providers that fall due within `[publish] batch_window_seconds`
  and runs them in one job call, so several providers due at 03:00 publish once.
  Waiting keeps `max_instances=1` meaningful: a provider whose previous run is still
  going is not started again (APScheduler logs "maximum number of running instances").
- Across processes, `pipelines.store.locks.provider_lock` (taken by run_providers) stops a
  manual run and a scheduled run of one provider from overlapping; a second
  `scrape schedule` on the same state dir refuses to start (the "scheduler" lock).
- SIGTERM / SIGINT: stop firing, drop batches not yet started (their run time is put back
  in the job store, so the next start runs them), let the running batch finish, exit 0.
  A second signal kills the process at once; that is safe because publishing is atomic.
- `--once` (cron, systemd timers, CI) needs no long-lived state: a provider is due when
  the run log has no run of it since its latest scheduled time. Manual runs count.
"""

from __future__ import annotations

import functools
import inspect
import logging
import secrets
import signal
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.ops import runlog
from pipelines.ops.batcher import Batcher
from pipelines.ops.report import FAILED, ProviderResult, RunReport
from pipelines.ops.schedule_file import (
    DEFAULT_BATCH_WINDOW_SECONDS,
    DEFAULT_MISFIRE_GRACE_SECONDS,
    DEFAULT_SCHEDULE_FILE,
    DEFAULT_TIMEZONE,
    Cadence,
    JobSpec,
    ScheduleConfig,
    ScheduleError,
    _zone,
    load_schedule,
)
from pipelines.store import locks

if TYPE_CHECKING:
    # The scheduler and its SQLAlchemy job store cost about a second to import; only
    # `scrape schedule` and `--list` need them (see open_scheduler), not `--once` or
    # `scrape status`, nor every other `scrape` command that loads this module.
    from apscheduler.schedulers.background import BackgroundScheduler

# The schedule file's names are part of this module's interface (`sched.load_schedule`).
__all__ = [
    "DEFAULT_BATCH_WINDOW_SECONDS",
    "DEFAULT_MISFIRE_GRACE_SECONDS",
    "DEFAULT_SCHEDULE_FILE",
    "DEFAULT_TIMEZONE",
    "Batcher",
    "Cadence",
    "JobSpec",
    "ScheduleConfig",
    "ScheduleError",
    "load_schedule",
    "serve",
    "run_once",
    "list_jobs",
    "default_job",
]

log = logging.getLogger("pipelines.ops.schedule")

JOBSTORE_FILE = "scheduler.sqlite"
SCHEDULER_LOCK = "scheduler"  # lock name: one `scrape schedule` per state dir
TRIGGER = "schedule"  # RunReport.trigger for scheduled runs

# A job: the provider names due together -> the run's report (or anything; only logged).
JobFn = Callable[[list[str]], Any]


# --- running a batch ------------------------------------------------------------------


class _Runner:
    """Runs one batch: skips providers locked by another process, calls the job, logs."""

    def __init__(self, job: JobFn, *, state_dir: Path, datasets_dir: Path):
        self.job = job
        self.state_dir = Path(state_dir)
        self.datasets_dir = Path(datasets_dir)

    def __call__(self, names: list[str]) -> Any:
        runnable = self.runnable(names)
        return self.run(runnable) if runnable else None

    def runnable(self, names: list[str]) -> list[str]:
        # run_providers takes the provider locks itself; this look-ahead only keeps a
        # provider that is already running elsewhere out of the batch, with a clear log line.
        out = []
        for name in names:
            if locks.is_locked(self.state_dir, name):
                owner = locks.read_owner(self.state_dir, name) or {}
                log.warning("%s: already running (pid %s); not started", name, owner.get("pid"))
            else:
                out.append(name)
        return out

    def run(self, runnable: list[str]) -> Any:
        log.info("running %s", ", ".join(runnable))
        started = datetime.now(UTC)
        try:
            result = self.job(runnable)
        except Exception as exc:
            # run_providers contains provider failures itself; reaching here is a bug or a
            # broken environment. Record it, or an unattended failure would leave no trace.
            _record_crash(self.datasets_dir, runnable, exc, started)
            raise
        _log_report(result)
        return result


def _record_crash(
    datasets_dir: Path, names: Sequence[str], exc: BaseException, started: datetime
) -> None:
    from scrapers.http import scrub  # an exception text may carry a URL with its key

    message = scrub(" ".join(f"scheduled run crashed: {type(exc).__name__}: {exc}".split()))
    report = RunReport(
        run_id=f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}",
        trigger=TRIGGER,
        started_at=started,
        finished_at=datetime.now(UTC),
        providers={n: ProviderResult(n, FAILED, error=message) for n in names},
    )
    try:
        runlog.append(report, datasets_dir)
    except Exception:
        log.exception("could not record the crash in the run log")


def _log_report(result: Any) -> None:
    if not isinstance(result, RunReport):
        return
    for p in result.providers.values():
        line = (
            f"{p.provider}: {p.status} rows={p.rows} new={p.new_offers} "
            f"changed={p.changed_offers} removed={p.removed_offers} {p.seconds:.1f}s"
        )
        if p.error:
            line += f": {p.error}"
        (log.warning if p.failed else log.info)(line)
    if result.dataset_version:
        log.info("published dataset version %s", result.dataset_version)


# The scheduler in this process. APScheduler stores jobs by reference ("module:function"),
# so the stored function `fire` finds the live batcher through this module global.
_ACTIVE: Batcher | None = None


def fire(provider: str) -> None:
    """The function every stored job calls: queue the provider and wait for its batch."""
    batcher = _ACTIVE
    if batcher is None:
        log.warning("%s: job fired with no scheduler running in this process; ignored", provider)
        return
    batcher.submit(provider).wait()


# --- the job store ----------------------------------------------------------------------


@functools.cache
def _scheduler_class() -> type[BackgroundScheduler]:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.base import STATE_RUNNING

    class _Scheduler(BackgroundScheduler):
        """BackgroundScheduler that looks for due jobs only while running.

        APScheduler 3 skips job processing when paused but not when stopped: a wake-up
        (from `modify_job`) racing `shutdown()` submits due jobs to the already shut-down
        executor, fails, and still advances their next run time: the run would be lost.
        """

        def _process_jobs(self):
            if self.state != STATE_RUNNING:
                return None
            return super()._process_jobs()

    return _Scheduler


def open_scheduler(state_dir: Path, schedule: ScheduleConfig) -> BackgroundScheduler:
    """A scheduler on the SQLite job store under `state_dir` (not started)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    store = SQLAlchemyJobStore(url=f"sqlite:///{state_dir / JOBSTORE_FILE}")
    workers = max(4, len(schedule.jobs) + 2)  # every job thread may be waiting on a batch
    return _scheduler_class()(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults={
            "coalesce": schedule.coalesce,
            "max_instances": 1,
            "misfire_grace_time": schedule.misfire_grace_seconds,
        },
        timezone=_zone(schedule.timezone),
    )


def sync_jobs(
    scheduler: BackgroundScheduler, schedule: ScheduleConfig, run_now: Collection[str] = ()
) -> None:
    """Make the job store match the schedule without losing a stored next run time.

    `add_job(replace_existing=True)` would recompute every next run time from now and so
    forget the runs missed while the scheduler was down; instead an unchanged job is only
    modified, a job whose cadence changed is rescheduled, and a removed one is deleted.
    A job added or rescheduled for a provider in `run_now` (due by the run log: never
    ran, or missed its latest slot) runs at start instead of waiting for its next slot,
    so a first deployment or a lost job store does not leave the data to age.
    """
    now = datetime.now(UTC)
    stored = {job.id: job for job in scheduler.get_jobs()}
    for name, spec in schedule.enabled_jobs.items():
        options = {
            "coalesce": schedule.coalesce,
            "misfire_grace_time": spec.misfire_grace_seconds,
            "max_instances": 1,
        }
        job = stored.pop(name, None)
        if job is None:
            first = {"next_run_time": now} if name in run_now else {}
            scheduler.add_job(
                fire,
                spec.cadence.trigger,
                args=[name],
                id=name,
                name=spec.label,
                **options,
                **first,
            )
            log.info("%s: scheduled %s", name, spec.cadence.spec)
        elif job.name != spec.label:
            scheduler.reschedule_job(name, trigger=spec.cadence.trigger)
            scheduler.modify_job(name, name=spec.label, **options)
            if name in run_now:
                scheduler.modify_job(name, next_run_time=now)
            log.info("%s: cadence changed to %s", name, spec.cadence.spec)
        else:
            scheduler.modify_job(name, **options)
    for name in stored:
        scheduler.remove_job(name)
        log.info("%s: removed from the schedule", name)


@dataclass
class JobInfo:
    provider: str
    cadence: str
    cadence_source: str
    enabled: bool
    next_run_at: datetime | None
    note: str


def list_jobs(
    schedule: ScheduleConfig,
    state_dir: Path,
    now: datetime | None = None,
    *,
    datasets_dir: Path | None = None,
) -> list[JobInfo]:
    """Each provider's cadence and next run time, from the job store when it has the job.

    For a job not (or differently) stored, the next start adds it: it runs at start when
    the run log in `datasets_dir` says it is due (see sync_jobs), else at its next slot.
    Read-only: the job store is opened paused and nothing is added or changed.
    """
    now = now or datetime.now(UTC)
    due = set(due_providers(schedule, datasets_dir, now)) if datasets_dir is not None else set()
    stored = {}
    # No job store yet (never started here, or run outside the project): nothing is stored,
    # and listing must not create the state directory and an empty store where it ran.
    if (Path(state_dir) / JOBSTORE_FILE).is_file():
        scheduler = open_scheduler(state_dir, schedule)
        scheduler.start(paused=True)
        try:
            stored = {job.id: job for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)
    out = []
    for name, spec in sorted(schedule.jobs.items()):
        if not spec.enabled:
            out.append(
                JobInfo(name, spec.cadence.spec, spec.cadence_source, False, None, "disabled")
            )
            continue
        job = stored.get(name)
        if job is not None and job.name == spec.label and job.next_run_time is not None:
            nxt = job.next_run_time.astimezone(UTC)
            note = "scheduled"
            if nxt <= now:
                late = (now - nxt).total_seconds()
                note = (
                    "missed: runs once at start"
                    if late <= spec.misfire_grace_seconds
                    else "missed beyond the grace time: waits for its next slot"
                )
        else:
            nxt = spec.cadence.trigger.get_next_fire_time(None, now).astimezone(UTC)
            note = "new" if job is None else "cadence changed"
            if name in due:
                nxt, note = now, f"{note}: due by the run log, runs at start"
            else:
                note += ": first run at its next slot"
        out.append(JobInfo(name, spec.cadence.spec, spec.cadence_source, True, nxt, note))
    return out


# --- scrape schedule ------------------------------------------------------------------


def serve(
    schedule: ScheduleConfig,
    *,
    state_dir: Path,
    datasets_dir: Path,
    job: JobFn,
    stop_event: threading.Event | None = None,
    handle_signals: bool = True,
) -> int:
    """Run the schedule in the foreground until SIGTERM/SIGINT (or `stop_event`). Returns 0.

    Raises `locks.AlreadyRunning` when another `scrape schedule` uses this state dir.
    """
    global _ACTIVE
    stop = stop_event or threading.Event()
    if not schedule.enabled_jobs:
        raise ScheduleError(f"{schedule.source}: no provider is enabled; nothing to schedule")
    with locks.provider_lock(state_dir, SCHEDULER_LOCK):
        scheduler = open_scheduler(state_dir, schedule)
        batcher = Batcher(
            _Runner(job, state_dir=state_dir, datasets_dir=datasets_dir),
            schedule.batch_window_seconds,
        )
        previous_handlers = _install_signal_handlers(stop) if handle_signals else {}
        try:
            scheduler.start(paused=True)
            sync_jobs(scheduler, schedule, run_now=due_providers(schedule, datasets_dir))
            _ACTIVE = batcher
            batcher.start()
            scheduler.resume()
            for info in list_jobs_from(scheduler, schedule):
                log.info("%s: %s, next run %s", info.provider, info.cadence, _fmt(info.next_run_at))
            while not stop.wait(0.5):
                pass
            log.info("stopping: no new runs; a run in progress finishes first")
        finally:
            if scheduler.running:
                scheduler.pause()
                for ticket in batcher.stop():
                    # Fired but not started: put its run time back so the next start runs it.
                    try:
                        scheduler.modify_job(ticket.provider, next_run_time=ticket.fired_at)
                    except Exception:
                        log.exception("%s: could not keep the missed run time", ticket.provider)
            else:
                batcher.stop()
            batcher.join()
            _ACTIVE = None
            if scheduler.running:
                scheduler.shutdown(wait=True)
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
    log.info("scheduler stopped")
    return 0


def list_jobs_from(scheduler: BackgroundScheduler, schedule: ScheduleConfig) -> list[JobInfo]:
    """Like list_jobs, from a scheduler that is already open."""
    out = []
    for job in scheduler.get_jobs():
        spec = schedule.jobs.get(job.id)
        if spec is None:
            continue
        nxt = job.next_run_time.astimezone(UTC) if job.next_run_time else None
        out.append(JobInfo(job.id, spec.cadence.spec, spec.cadence_source, True, nxt, "scheduled"))
    return sorted(out, key=lambda i: i.provider)


def _install_signal_handlers(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.is_set():
            # Second signal: leave now. Publishing is atomic (temp file + rename, version
            # pointer last), so abandoning a run cannot leave a half-published dataset.
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        log.info("%s received", signal.Signals(signum).name)
        stop.set()

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, on_signal)
    return previous


# --- scrape schedule --once ---------------------------------------------------------


def due_providers(
    schedule: ScheduleConfig, datasets_dir: Path, now: datetime | None = None
) -> list[str]:
    """Enabled providers with no run (of any trigger) since their latest scheduled time."""
    now = now or datetime.now(UTC)
    last = runlog.last_started(datasets_dir)
    due = []
    for name, spec in sorted(schedule.enabled_jobs.items()):
        started = last.get(name)
        if started is None or spec.cadence.next_after(started) <= now:
            due.append(name)
    return due


@dataclass
class OnceResult:
    due: list[str]  # providers due by the run log
    started: list[str]  # those not already running elsewhere, passed to the job
    result: Any = None  # what the job returned (a RunReport for run_providers)


def run_once(
    schedule: ScheduleConfig,
    *,
    state_dir: Path,
    datasets_dir: Path,
    job: JobFn,
    now: datetime | None = None,
) -> OnceResult:
    """Run every due provider once, in one job call."""
    due = due_providers(schedule, datasets_dir, now)
    runner = _Runner(job, state_dir=state_dir, datasets_dir=datasets_dir)
    started = runner.runnable(due)
    if not started:
        return OnceResult(due, [])
    return OnceResult(due, started, runner.run(started))


# --- the default job ------------------------------------------------------------------


def default_job(config: Any, schedule: ScheduleConfig) -> JobFn:
    """`run_providers(names, config=config, trigger="schedule")`, imported when first needed."""
    from pipelines.ops.run import run_providers

    kwargs: dict[str, Any] = {}
    if not schedule.alerts_enabled:
        # Alert delivery is a post-publish step of run_providers; turning it off needs its
        # `alerts` switch.
        if "alerts" not in inspect.signature(run_providers).parameters:
            raise ScheduleError(
                f"{schedule.source}: [alerts] enabled = false, but this run_providers always "
                f"delivers alerts; remove the setting"
            )
        kwargs["alerts"] = False

    def job(names: list[str]) -> RunReport:
        return run_providers(names, config=config, trigger=TRIGGER, **kwargs)

    return job


def _fmt(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"
