"""CLI: `scrape schedule [--list | --once]` and `scrape status`.

Source: the schedule file (`schedules/schedule.toml`, see schedules/README.md), the job
store under the state dir and the run log `datasets/gpu_runs.parquet`. Output: scheduled
runs (through pipelines.ops.schedule) and, for `status`, a per-provider freshness table.

Exit codes: `schedule` 0 on a clean stop (SIGTERM/SIGINT), 2 on a bad schedule file, 3
when another scheduler already uses the state dir; `schedule --once` 0 when nothing was
due, else the run's exit code (1 when a provider failed); `status` 1 when any scheduled
provider is stale, so it can serve as a health check.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import DATASETS_HELP
from pipelines.cli.report import print_report
from pipelines.ops.report import RunReport

if TYPE_CHECKING:
    from pipelines.ops import runlog
    from pipelines.ops import schedule as sched

# `scrape` loads this module for every command: the scheduling modules (pyarrow,
# APScheduler) are imported inside the commands that use them.

console = Console()

SCHEDULE_ENV = "GPU_PRICES_SCHEDULE"
EXIT_BAD_SCHEDULE = 2
EXIT_ALREADY_RUNNING = 3

ScheduleOption = Annotated[
    Path | None,
    typer.Option(
        "--schedule",
        help=f"Schedule file (default: ${SCHEDULE_ENV} or "
        "schedules/schedule.toml in the project root, else the providers' own cadences).",
    ),
]
DatasetsOption = Annotated[Path | None, typer.Option("--datasets", help=DATASETS_HELP)]


def _load_config(datasets: Path | None) -> Any:
    from pipelines.config import Config

    # Same convention as `scrape run --datasets`: the state lives beside the datasets.
    return Config.load().with_datasets(datasets)


def _make_job(config: Any, schedule: sched.ScheduleConfig) -> sched.JobFn:
    from pipelines.ops import schedule as sched

    return sched.default_job(config, schedule)


def _fail(label: str, exc: BaseException, code: int) -> typer.Exit:
    # Plain text, one line: it ends up in journald or cron mail, and a provider's error
    # text must not be read as rich markup.
    typer.echo(f"{label}: {exc}", err=True)
    return typer.Exit(code)


def _schedule_path(option: Path | None, config: Any) -> Path | None:
    """--schedule, else the configured `schedule` ($GPU_PRICES_SCHEDULE; must exist), else
    <project root>/schedules/schedule.toml if present (else the provider defaults)."""
    if option is not None:
        return option
    if config.schedule_file is not None:
        return config.schedule_file
    default = config.default_schedule_file
    return default if default.is_file() else None


def _load_schedule(option: Path | None, config: Any) -> sched.ScheduleConfig:
    from pipelines.ops import schedule as sched

    try:
        return sched.load_schedule(_schedule_path(option, config))
    except sched.ScheduleError as exc:
        raise _fail("schedule error", exc, EXIT_BAD_SCHEDULE) from None


def _fmt(ts: datetime | None, zone: str = " UTC") -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + zone if ts else "-"


def register(app: typer.Typer) -> None:
    @app.command("schedule")
    def schedule_cmd(
        list_: Annotated[
            bool, typer.Option("--list", help="Print each job's cadence and next run time; exit.")
        ] = False,
        once: Annotated[
            bool, typer.Option("--once", help="Run every due provider once (one publish); exit.")
        ] = False,
        schedule_file: ScheduleOption = None,
        datasets: DatasetsOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="With --list: JSON lines.")] = False,
    ) -> None:
        """Run the providers on their cadences in the foreground (for systemd or a container)."""
        from pipelines.ops import schedule as sched
        from pipelines.store import locks

        if list_ and once:
            typer.echo("--list and --once exclude each other", err=True)
            raise typer.Exit(EXIT_BAD_SCHEDULE)
        config = _load_config(datasets)
        schedule = _load_schedule(schedule_file, config)
        if list_:
            # Say where the schedule came from: run from another directory, the built-in
            # defaults are otherwise indistinguishable from the project's file.
            typer.echo(
                f"schedule: {schedule.source} (project root {config.root}; "
                f"state {config.state_dir})",
                err=True,
            )
            _print_jobs(
                sched.list_jobs(schedule, config.state_dir, datasets_dir=config.datasets_dir),
                as_json,
            )
            return
        # Scheduled runs are unattended: their progress goes to the log (journald, cron mail).
        logging.getLogger("pipelines.ops.schedule").setLevel(logging.INFO)
        try:
            job = _make_job(config, schedule)
        except sched.ScheduleError as exc:
            raise _fail("schedule error", exc, EXIT_BAD_SCHEDULE) from None
        if once:
            once = sched.run_once(
                schedule, state_dir=config.state_dir, datasets_dir=config.datasets_dir, job=job
            )
            if not once.due:
                console.print("nothing due")
                return
            if not once.started:
                console.print(f"due: {', '.join(once.due)}; all already running elsewhere")
                return
            if isinstance(once.result, RunReport):
                print_report(once.result)
                raise typer.Exit(once.result.exit_code)
            console.print(f"ran: {', '.join(once.started)}")
            return
        try:
            code = sched.serve(
                schedule, state_dir=config.state_dir, datasets_dir=config.datasets_dir, job=job
            )
        except locks.AlreadyRunning as exc:
            raise _fail(
                "not started: another `scrape schedule` uses this state dir",
                exc,
                EXIT_ALREADY_RUNNING,
            ) from None
        except sched.ScheduleError as exc:
            raise _fail("schedule error", exc, EXIT_BAD_SCHEDULE) from None
        raise typer.Exit(code)

    @app.command("status")
    def status_cmd(
        schedule_file: ScheduleOption = None,
        datasets: DatasetsOption = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="One JSON object per provider.")
        ] = False,
    ) -> None:
        """Last run (replays included), newest prices and freshness per provider.

        Stale counts the age of the data, not of the runs: a scheduled provider is stale
        when its newest published prices were fetched from it more than N x its cadence
        ago (N = stale_after_cadences in the schedule file, default 3). A replay publishes
        recorded prices as of their recording, so replaying old archives (such as
        examples/archive after setup) leaves them stale until a live `scrape run`.
        Providers that never had a good run are stale too, unless skipped by design (no
        API key). Exits 1 when any provider is stale, so it can serve as a health check.
        """
        from pipelines.cli.common import existing_dir
        from pipelines.ops import runlog
        from pipelines.store import locks

        config = _load_config(datasets)
        existing_dir(
            config.datasets_dir, "datasets directory", root=None if datasets else config.root
        )
        schedule = _load_schedule(schedule_file, config)
        rows = runlog.status(
            config.datasets_dir,
            schedule.cadences(),
            datetime.now(UTC),
            stale_after_cadences=schedule.stale_after_cadences,
        )
        # Only look at locks that exist: checking one creates its file.
        running = {
            r.provider
            for r in rows
            if locks.lock_path(config.state_dir, r.provider).exists()
            and locks.is_locked(config.state_dir, r.provider)
        }
        if as_json:
            for r in rows:
                typer.echo(json.dumps({**r.to_dict(), "is_running": r.provider in running}))
        else:
            _print_status(rows, running, schedule.stale_after_cadences)
        if any(r.is_stale for r in rows):
            raise typer.Exit(1)


def _print_jobs(jobs: list[sched.JobInfo], as_json: bool) -> None:
    if as_json:
        for j in jobs:
            d = dict(j.__dict__)
            d["next_run_at"] = j.next_run_at.isoformat() if j.next_run_at else None
            typer.echo(json.dumps(d))
        return
    t = Table(title="schedule")
    for col in ("provider", "cadence", "from", "next run", "note"):
        t.add_column(col, overflow="fold")
    for j in jobs:
        t.add_row(j.provider, j.cadence, j.cadence_source, _fmt(j.next_run_at), j.note)
    console.print(t)


def _print_status(rows: list[runlog.ProviderStatus], running: set[str], stale_after: float) -> None:
    t = Table(
        title=f"providers (times UTC; stale: newest prices fetched more than {stale_after:g} x "
        "cadence ago)",
        box=box.SIMPLE_HEAD,
    )
    # A replayed run's cell names its recording time only when it differs from "prices as
    # of" (a live run since); the STALE lines below always give both.
    for col in ("provider", "cadence", "last run", "status", "prices as of", "rows", "fresh"):
        t.add_column(col, overflow="fold")
    for r in rows:
        state = r.last_status or "-"
        if r.provider in running:
            state += " (running)"
        fresh = "[red]STALE[/]" if r.is_stale else ("ok" if r.cadence else "not scheduled")
        if r.stale_reason and not r.is_stale:
            fresh = r.stale_reason
        t.add_row(
            r.provider,
            r.cadence or "-",
            _last_run(r, zone="", unless_recorded=r.prices_observed_at),
            state,
            _fmt(r.prices_observed_at, zone=""),
            "-" if r.last_good_rows is None else str(r.last_good_rows),
            fresh,
        )
    console.print(t)
    for r in rows:
        if r.is_stale:
            last = f"; last run: {_last_run(r)}" if r.last_run_at else ""
            typer.echo(f"STALE {r.provider}: {r.stale_reason}{last}", err=True)
        if r.last_status in ("failed", "gate_failed") and r.last_error:
            typer.echo(f"last error {r.provider}: {r.last_error}", err=True)
    if any(r.is_stale and r.last_trigger == "replay" for r in rows):
        typer.echo(
            "note: a replay publishes recorded prices as of their recording time; "
            "`scrape run` fetches current ones",
            err=True,
        )


def _last_run(
    r: runlog.ProviderStatus, zone: str = " UTC", unless_recorded: datetime | None = None
) -> str:
    """Replays as "replayed at X (recorded Y)", live runs as "X (schedule)"."""
    if r.last_run_at is None:
        return "never"
    if r.last_trigger == "replay":
        recorded = ""
        if r.last_observed_at and r.last_observed_at != unless_recorded:
            recorded = f" (recorded {_fmt(r.last_observed_at, zone)})"
        return f"replayed at {_fmt(r.last_run_at, zone)}{recorded}"
    return f"{_fmt(r.last_run_at, zone)} ({r.last_trigger})"
