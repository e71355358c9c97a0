"""CLI: `scrape schedule [--list | --once]` and `scrape status`.

Source: the schedule file (`schedules/schedule.toml`, see schedules/README.md), the job
store under the state dir and the run log `datasets/gpu_runs.parquet`. Output: scheduled
runs (through pipelines.schedule) and, for `status`, a per-provider freshness table.

Exit codes: `schedule` 0 on a clean stop (SIGTERM/SIGINT), 2 on a bad schedule file, 3
when another scheduler already uses the state dir; `schedule --once` 0 when nothing was
due, else the run's exit code (1 when a provider failed); `status` 1 when any scheduled
provider is stale, so it can serve as a health check.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pipelines import locks, runlog
from pipelines import schedule as sched

console = Console()
err = Console(stderr=True)

SCHEDULE_ENV = "GPU_PRICES_SCHEDULE"
EXIT_BAD_SCHEDULE = 2
EXIT_ALREADY_RUNNING = 3


def _load_config(datasets: Path | None) -> Any:
    from pipelines.config import Config

    cfg = Config.load()
    if datasets:
        # Same convention as `scrape run --datasets`: the state lives beside the datasets.
        cfg.datasets_dir = datasets.resolve()
        cfg.state_dir = cfg.datasets_dir / ".state"
    return cfg


def _make_job(config: Any, schedule: sched.ScheduleConfig) -> sched.JobFn:
    return sched.default_job(config, schedule)


def _schedule_path(option: Path | None, config: Any) -> Path | None:
    """--schedule, else $GPU_PRICES_SCHEDULE, else <root>/schedules/schedule.toml if present."""
    if option is not None:
        return option
    if os.environ.get(SCHEDULE_ENV):
        return Path(os.environ[SCHEDULE_ENV])
    default = Path(getattr(config, "root", Path.cwd())) / sched.DEFAULT_SCHEDULE_FILE
    return default if default.is_file() else None


def _load_schedule(option: Path | None, config: Any) -> sched.ScheduleConfig:
    try:
        return sched.load_schedule(_schedule_path(option, config))
    except sched.ScheduleError as exc:
        err.print(f"[red]schedule error[/] {exc}")
        raise typer.Exit(EXIT_BAD_SCHEDULE) from None


def _fmt(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def register(app: typer.Typer) -> None:
    @app.command("schedule")
    def schedule_cmd(
        list_: bool = typer.Option(False, "--list", help="Print each job's cadence and next run time, then exit."),
        once: bool = typer.Option(False, "--once", help="Run every due provider once (one publish), then exit."),
        schedule_file: Path | None = typer.Option(
            None, "--schedule", help=f"Schedule file (default: ${SCHEDULE_ENV} or schedules/schedule.toml)."
        ),
        datasets: Path | None = typer.Option(None, "--datasets", help="Datasets directory (default ./datasets)."),
        as_json: bool = typer.Option(False, "--json", help="With --list: JSON lines."),
    ) -> None:
        """Run the providers on their cadences in the foreground (for systemd or a container)."""
        if list_ and once:
            err.print("--list and --once exclude each other")
            raise typer.Exit(EXIT_BAD_SCHEDULE)
        config = _load_config(datasets)
        schedule = _load_schedule(schedule_file, config)
        if list_:
            _print_jobs(sched.list_jobs(schedule, config.state_dir), as_json)
            return
        # Scheduled runs are unattended: their progress goes to the log (journald, cron mail).
        logging.getLogger("pipelines.schedule").setLevel(logging.INFO)
        try:
            job = _make_job(config, schedule)
        except sched.ScheduleError as exc:
            err.print(f"[red]schedule error[/] {exc}")
            raise typer.Exit(EXIT_BAD_SCHEDULE) from None
        if once:
            due, result = sched.run_once(
                schedule, state_dir=config.state_dir, datasets_dir=config.datasets_dir, job=job
            )
            if not due:
                console.print("nothing due")
                return
            if result is None:
                console.print(f"due: {', '.join(due)}; all already running elsewhere")
                return
            from pipelines.cli import print_report

            print_report(result)
            raise typer.Exit(result.exit_code)
        try:
            code = sched.serve(
                schedule, state_dir=config.state_dir, datasets_dir=config.datasets_dir, job=job
            )
        except locks.AlreadyRunning as exc:
            err.print(f"[red]not started[/] another `scrape schedule` uses this state dir: {exc}")
            raise typer.Exit(EXIT_ALREADY_RUNNING) from None
        except sched.ScheduleError as exc:
            err.print(f"[red]schedule error[/] {exc}")
            raise typer.Exit(EXIT_BAD_SCHEDULE) from None
        raise typer.Exit(code)

    @app.command("status")
    def status_cmd(
        schedule_file: Path | None = typer.Option(None, "--schedule", help="Schedule file (cadences)."),
        datasets: Path | None = typer.Option(None, "--datasets", help="Datasets directory (default ./datasets)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per provider."),
    ) -> None:
        """Last run and last good run per provider; exits 1 when a provider is stale."""
        config = _load_config(datasets)
        schedule = _load_schedule(schedule_file, config)
        rows = runlog.status(
            config.datasets_dir,
            schedule.cadences(),
            datetime.now(UTC),
            stale_after_cadences=schedule.stale_after_cadences,
        )
        running = {r.provider for r in rows if locks.is_locked(config.state_dir, r.provider)}
        if as_json:
            for r in rows:
                typer.echo(json.dumps({**r.to_dict(), "is_running": r.provider in running}))
        else:
            _print_status(rows, running, schedule.stale_after_cadences)
        stale = [r.provider for r in rows if r.is_stale]
        if stale:
            err.print(f"[red]stale[/]: {', '.join(stale)}")
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
    t = Table(title=f"providers (stale: no good run within {stale_after:g} x cadence)")
    for col in ("provider", "cadence", "last run", "status", "last good run", "rows", "fresh"):
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
            _fmt(r.last_run_at),
            state,
            _fmt(r.last_good_at),
            "-" if r.last_good_rows is None else str(r.last_good_rows),
            fresh,
        )
    console.print(t)
    for r in rows:
        if r.is_stale:
            err.print(f"[red]STALE[/] {r.provider}: {r.stale_reason}")
        if r.last_status in ("failed", "gate_failed") and r.last_error:
            err.print(f"[yellow]last error[/] {r.provider}: {r.last_error}")
