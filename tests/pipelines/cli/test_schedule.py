"""`scrape schedule [--list|--once]` and `scrape status`, in process (CliRunner) and as
real subprocesses for the signal and cross-process tests. The run job is a fake that
behaves like run_providers where it matters: it takes the provider locks, publishes by
temp file + os.replace, and appends to the run log."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from typer.testing import CliRunner

import scrapers.registry as registry
from pipelines.cli import schedule as cli_schedule
from pipelines.config import Config
from pipelines.ops import runlog
from pipelines.ops import schedule as sched
from pipelines.ops.report import OK, ProviderResult, RunReport

FAKE = {
    "alpha": SimpleNamespace(default_cadence="every 1h"),
    "beta": SimpleNamespace(default_cadence="0 3 * * *"),
}


def fake_config(root: Path) -> Config:
    return Config.load(root=root, env={"GPU_PRICES_STATE_DIR": str(root / "state")})


def recording_job(config: Config, calls: list[list[str]]):
    def job(names: list[str]) -> RunReport:
        calls.append(list(names))
        now = datetime.now(UTC)
        report = RunReport(
            "r1",
            "schedule",
            now,
            now + timedelta(seconds=1),
            "v1",
            None,
            {n: ProviderResult(n, OK, rows=5) for n in names},
        )
        runlog.append(report, config.datasets_dir)
        return report

    return job


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(registry, "PROVIDERS", FAKE)
    config = fake_config(tmp_path)
    calls: list[list[str]] = []
    monkeypatch.setattr(cli_schedule, "_load_config", lambda datasets: config)
    monkeypatch.setattr(cli_schedule, "_make_job", lambda cfg, schedule: recording_job(cfg, calls))
    monkeypatch.delenv(cli_schedule.SCHEDULE_ENV, raising=False)
    app = typer.Typer()
    cli_schedule.register(app)
    runner = CliRunner()
    return SimpleNamespace(
        invoke=lambda *args: runner.invoke(app, list(args)), calls=calls, config=config
    )


def test_list_prints_each_job_with_cadence_and_next_run(cli) -> None:
    now = datetime.now(UTC)
    runlog.append(
        RunReport("r0", "manual", now, now, "v0", None, {"beta": ProviderResult("beta", OK)}),
        cli.config.datasets_dir,
    )
    result = cli.invoke("schedule", "--list", "--json")
    assert result.exit_code == 0, result.output
    jobs = {j["provider"]: j for j in map(json.loads, result.stdout.splitlines())}
    # Where the schedule came from, on stderr: defaults are never silent.
    assert f"schedule: built-in defaults (project root {cli.config.root}" in result.stderr
    assert jobs["alpha"]["cadence"] == "every 1h" and jobs["beta"]["cadence"] == "0 3 * * *"
    nxt = datetime.fromisoformat(jobs["beta"]["next_run_at"])
    assert (nxt.hour, nxt.minute) == (3, 0) and nxt > now
    # alpha never ran: the scheduler will run it as soon as it starts.
    assert "runs at start" in jobs["alpha"]["note"]
    table = cli.invoke("schedule", "--list")
    assert table.exit_code == 0 and "alpha" in table.output and "every 1h" in table.output


def test_once_runs_the_due_providers_then_nothing_until_their_next_slot(cli) -> None:
    first = cli.invoke("schedule", "--once")
    assert first.exit_code == 0, first.output
    assert cli.calls == [["alpha", "beta"]]
    second = cli.invoke("schedule", "--once")
    assert second.exit_code == 0 and "nothing due" in second.output
    assert cli.calls == [["alpha", "beta"]]
    status = cli.invoke("status", "--json")
    assert status.exit_code == 0, status.output
    rows = {r["provider"]: r for r in map(json.loads, status.output.splitlines())}
    assert rows["alpha"]["last_status"] == "ok" and not rows["alpha"]["is_stale"]
    assert rows["beta"]["last_good_rows"] == 5 and rows["beta"]["is_running"] is False


def test_status_exits_non_zero_when_a_provider_is_stale(cli) -> None:
    old = datetime.now(UTC) - timedelta(hours=4)
    runlog.append(
        RunReport("old", "manual", old, old, "v0", None, {"alpha": ProviderResult("alpha", OK)}),
        cli.config.datasets_dir,
    )
    result = cli.invoke("status")
    assert result.exit_code == 1
    assert "STALE" in result.output and "alpha" in result.output


def test_a_bad_schedule_file_is_a_clear_error(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[providers.gamma]\ncadence = '@daily'\n")
    result = cli.invoke("schedule", "--list", "--schedule", str(bad))
    assert result.exit_code == cli_schedule.EXIT_BAD_SCHEDULE
    assert f"schedule error: {bad}: unknown provider 'providers.gamma'" in result.stderr
    assert cli.invoke("schedule", "--list", "--once").exit_code == cli_schedule.EXIT_BAD_SCHEDULE


# --- real subprocesses ----------------------------------------------------------------

# A `scrape schedule ...` process whose registry holds one fake provider and whose job
# publishes `datasets/gpu_prices.txt` the way the real publish does (temp file, then
# os.replace), slowly, while holding the provider lock as run_providers does.
CHILD = textwrap.dedent(
    """
    import os, sys, time, types
    from pathlib import Path
    from types import SimpleNamespace
    import typer
    # A one-provider registry (and no provider modules to import: startup stays short).
    fake_registry = types.ModuleType("scrapers.registry")
    fake_registry.PROVIDERS = {"fake": SimpleNamespace(default_cadence="every 1h")}
    sys.modules["scrapers.registry"] = fake_registry
    from pipelines.cli import schedule as cli_schedule
    from pipelines.store import locks

    root = Path(sys.argv[1])
    config = SimpleNamespace(root=root, datasets_dir=root / "datasets", state_dir=root / "state")

    def job(names):
        with locks.provider_lock(config.state_dir, "fake"):
            with open(root / "calls", "a") as fh:
                fh.write(f"{os.getpid()}\\n")
            target = config.datasets_dir / "gpu_prices.txt"
            tmp = target.with_name(".gpu_prices.txt.tmp")
            with open(tmp, "w") as fh:
                (root / "started").write_text("1")
                for i in range(10):
                    fh.write(f"new {i}\\n")
                    fh.flush()
                    time.sleep(0.04)
            os.replace(tmp, target)

    cli_schedule._load_config = lambda datasets: config
    cli_schedule._make_job = lambda cfg, schedule: job
    app = typer.Typer()
    cli_schedule.register(app)
    app(["schedule", "--schedule", str(root / "schedule.toml"), *sys.argv[2:]])
    """
)
NEW = "".join(f"new {i}\n" for i in range(10))


def start_child(root: Path, *args: str) -> subprocess.Popen:
    script = root / "child.py"
    script.write_text(CHILD)
    return subprocess.Popen(
        [sys.executable, str(script), str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def prepare(root: Path) -> Path:
    """A schedule whose job is overdue in the job store, and a published dataset."""
    (root / "schedule.toml").write_text("[publish]\nbatch_window_seconds = 0\n")
    schedule = sched.load_schedule(
        root / "schedule.toml", {"fake": SimpleNamespace(default_cadence="every 1h")}
    )
    s = sched.open_scheduler(root / "state", schedule)
    s.start(paused=True)
    sched.sync_jobs(s, schedule)
    s.modify_job("fake", next_run_time=datetime.now(UTC) - timedelta(hours=3))
    s.shutdown(wait=False)
    target = root / "datasets" / "gpu_prices.txt"
    target.parent.mkdir(parents=True)
    target.write_text("old\n")
    return target


def wait_for(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_sigterm_mid_run_finishes_the_run_and_exits_cleanly(tmp_path: Path) -> None:
    target = prepare(tmp_path)
    proc = start_child(tmp_path)
    try:
        wait_for(tmp_path / "started")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, proc.stderr.read()  # type: ignore[union-attr]
    finally:
        proc.kill()
    # The run in progress finished: the dataset is fully updated, no temp file is left.
    assert target.read_text() == NEW
    assert not (tmp_path / "datasets" / ".gpu_prices.txt.tmp").exists()


def test_a_second_signal_abandons_the_run_leaving_the_dataset_as_before(tmp_path: Path) -> None:
    target = prepare(tmp_path)
    proc = start_child(tmp_path)
    try:
        wait_for(tmp_path / "started")
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == -signal.SIGTERM
    finally:
        proc.kill()
    # Killed mid-write: the published file is untouched (never half-written).
    assert target.read_text() == "old\n"


HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipelines.store.locks import provider_lock
    with provider_lock(Path(sys.argv[1]), "fake"):
        print("held", flush=True)
        sys.stdin.readline()
    """
)


def test_a_second_process_cannot_start_an_overlapping_run(tmp_path: Path) -> None:
    target = prepare(tmp_path)
    # Another process is running the provider (as run_providers would, holding its lock).
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "state")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        child = start_child(tmp_path, "--once")
        out, errs = child.communicate(timeout=15)
        assert child.returncode == 0, errs
        assert "already running elsewhere" in out
        assert f"already running (pid {holder.pid})" in errs
    finally:
        holder.kill()
        holder.wait()
    # The scheduled run did not start: no job call, the dataset untouched.
    assert not (tmp_path / "calls").exists()
    assert target.read_text() == "old\n"


def test_finding_12_schedule_list_uses_the_project_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a subdirectory, `schedule --list` finds the project (the directory holding
    gpu-prices.toml) and its schedules/schedule.toml instead of silently using defaults."""
    monkeypatch.setattr(registry, "PROVIDERS", FAKE)
    for var in ("GPU_PRICES_ROOT", "GPU_PRICES_CONFIG", "GPU_PRICES_SCHEDULE"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "gpu-prices.toml").write_text('state_dir = "state"\n')
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "schedule.toml").write_text(
        '[providers.alpha]\ncadence = "every 15m"\n'
    )
    elsewhere = tmp_path / "deep" / "er"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    app = typer.Typer()
    cli_schedule.register(app)
    result = CliRunner().invoke(app, ["schedule", "--list", "--json"])
    assert result.exit_code == 0, result.output
    jobs = {j["provider"]: j for j in map(json.loads, result.stdout.splitlines())}
    assert jobs["alpha"]["cadence"] == "every 15m"
    assert jobs["alpha"]["cadence_source"] == "schedule.toml"
    assert f"project root {tmp_path}; state {tmp_path / 'state'})" in result.stderr
    # A listing is read-only: no job store, state directory or datasets/ is created.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "gpu-prices.toml", "schedules"]
    assert list(elsewhere.iterdir()) == []


def test_finding_12_schedule_list_outside_a_project_says_so_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside any project `schedule --list` used the defaults silently and created
    ./datasets/.state/scheduler.sqlite where it ran."""
    monkeypatch.setattr(registry, "PROVIDERS", FAKE)
    for var in ("GPU_PRICES_ROOT", "GPU_PRICES_CONFIG", "GPU_PRICES_SCHEDULE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    cli_schedule.register(app)
    result = CliRunner().invoke(app, ["schedule", "--list", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"schedule: built-in defaults (project root {tmp_path};")
    assert {j["provider"] for j in map(json.loads, result.stdout.splitlines())} == set(FAKE)
    assert list(tmp_path.iterdir()) == []


def test_a_schedule_named_in_the_settings_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "PROVIDERS", FAKE)
    monkeypatch.setenv("GPU_PRICES_ROOT", str(tmp_path))
    monkeypatch.setenv("GPU_PRICES_SCHEDULE", "nope.toml")
    app = typer.Typer()
    cli_schedule.register(app)
    result = CliRunner().invoke(app, ["schedule", "--list"])
    assert result.exit_code == cli_schedule.EXIT_BAD_SCHEDULE
    assert f"{tmp_path / 'nope.toml'}: schedule file not found" in result.stderr
