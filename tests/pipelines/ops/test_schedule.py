"""Cadences, the schedule file, batching, the persistent job store (catch-up after
downtime), overlap protection and clean stops. Jobs are fake functions recording calls."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipelines.ops import runlog
from pipelines.ops import schedule as sched
from pipelines.ops.report import OK, ProviderResult, RunReport
from pipelines.store import locks

REPO = Path(__file__).resolve().parents[3]
FAKE_PROVIDERS = {
    "alpha": SimpleNamespace(default_cadence="0 3 * * *"),
    "beta": SimpleNamespace(default_cadence="every 1h"),
}


def write_schedule(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedule.toml"
    path.write_text(text)
    return path


def schedule_of(tmp_path: Path, *, window: float = 0, grace: int = 86400, **cadences: str):
    """A schedule for fake providers `cadences` (name -> cadence)."""
    providers = {n: SimpleNamespace(default_cadence=c) for n, c in cadences.items()}
    path = write_schedule(
        tmp_path,
        f"[scheduler]\nmisfire_grace_time_seconds = {grace}\n[publish]\nbatch_window_seconds = {window}\n",
    )
    return sched.load_schedule(path, providers)


class Recorder:
    """A fake job: records (monotonic time, names); optionally blocks until released."""

    def __init__(self, block: threading.Event | None = None):
        self.calls: list[tuple[float, list[str]]] = []
        self.started = threading.Event()
        self.block = block

    def __call__(self, names: list[str]) -> None:
        self.calls.append((time.monotonic(), list(names)))
        self.started.set()
        if self.block is not None:
            self.block.wait(10)


class Serving:
    """`serve` on a thread; stop() sets the stop event and waits for it to return."""

    def __init__(self, schedule, tmp_path: Path, job):
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(schedule, tmp_path, job))
        self.thread.start()

    def _run(self, schedule, tmp_path, job) -> None:
        try:
            sched.serve(
                schedule,
                state_dir=tmp_path / "state",
                datasets_dir=tmp_path / "datasets",
                job=job,
                stop_event=self.stop_event,
                handle_signals=False,
            )
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        if self.error:
            raise self.error


def store_jobs(schedule, state_dir: Path, next_run: dict[str, datetime] | None = None):
    """Sync the job store as a previous `scrape schedule` would have, then set run times."""
    s = sched.open_scheduler(state_dir, schedule)
    s.start(paused=True)
    try:
        sched.sync_jobs(s, schedule)
        for name, when in (next_run or {}).items():
            s.modify_job(name, next_run_time=when)
        return {j.id: j.next_run_time for j in s.get_jobs()}
    finally:
        s.shutdown(wait=False)


def stored_next_runs(schedule, state_dir: Path) -> dict[str, datetime]:
    return {j.provider: j.next_run_at for j in sched.list_jobs(schedule, state_dir)}


# --- cadences ----------------------------------------------------------------------


def test_cron_cadence_uses_crontab_weekday_numbers() -> None:
    tuesday = datetime(2024, 5, 28, 20, 0, tzinfo=UTC)
    monday = sched.Cadence.parse("0 3 * * 1")
    assert monday.next_after(tuesday) == datetime(2024, 6, 3, 3, 0, tzinfo=UTC)
    sunday = sched.Cadence.parse("0 3 * * 0")
    assert sunday.next_after(tuesday) == datetime(2024, 6, 2, 3, 0, tzinfo=UTC)
    assert sched.Cadence.parse("0 3 * * 7").next_after(tuesday) == sunday.next_after(tuesday)
    weekend = sched.Cadence.parse("0 3 * * 6-7")
    assert weekend.next_after(tuesday) == datetime(2024, 6, 1, 3, 0, tzinfo=UTC)
    assert weekend.next_after(datetime(2024, 6, 1, 3, 0, tzinfo=UTC)).day == 2


def test_cadence_next_after_is_strictly_after_and_period_is_the_slot_gap() -> None:
    at_slot = datetime(2024, 5, 28, 3, 0, tzinfo=UTC)
    daily = sched.Cadence.parse("0 3 * * *")
    assert daily.next_after(at_slot) == at_slot + timedelta(days=1)
    assert daily.period_at(at_slot) == timedelta(days=1)
    assert sched.Cadence.parse("@hourly").period_at(at_slot) == timedelta(hours=1)
    every = sched.Cadence.parse("every 1h30m")
    assert every.next_after(at_slot) == at_slot + timedelta(minutes=90)
    assert sched.Cadence.parse("every 90s").interval == timedelta(seconds=90)


@pytest.mark.parametrize("bad", ["0 3 * *", "61 * * * *", "every 0s", "every soon", "0 0 30 2 *"])
def test_bad_cadences_are_refused(bad: str) -> None:
    with pytest.raises(sched.ScheduleError, match="cadence"):
        sched.Cadence.parse(bad)


# --- the schedule file -------------------------------------------------------------


def test_schedule_defaults_come_from_the_providers_and_the_file_overrides(tmp_path: Path) -> None:
    path = write_schedule(
        tmp_path,
        "[scheduler]\nmisfire_grace_time_seconds = 600\nstale_after_cadences = 2\n"
        "[publish]\nbatch_window_seconds = 5\n[alerts]\nenabled = true\n"
        '[providers.alpha]\ncadence = "every 15m"\nmisfire_grace_time_seconds = 60\n'
        "[providers.beta]\nenabled = false\n",
    )
    s = sched.load_schedule(path, FAKE_PROVIDERS)
    assert s.jobs["alpha"].cadence.interval == timedelta(minutes=15)
    assert s.jobs["alpha"].cadence_source == "schedule.toml"
    assert s.jobs["alpha"].misfire_grace_seconds == 60
    assert s.jobs["beta"].cadence_source == "provider default" and not s.jobs["beta"].enabled
    assert list(s.enabled_jobs) == ["alpha"]
    assert (s.misfire_grace_seconds, s.stale_after_cadences, s.batch_window_seconds) == (600, 2, 5)
    defaults = sched.load_schedule(None, FAKE_PROVIDERS)
    assert defaults.jobs["alpha"].cadence.spec == "0 3 * * *" and defaults.coalesce


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[providers.gamma]\ncadence = '@daily'\n", "unknown provider 'providers.gamma'"),
        (
            "[providers.alhpa]\ncadence = '@daily'\n",
            "unknown provider 'providers.alhpa' (did you mean 'alpha'?)",
        ),
        ("[publsh]\nbatch_window_seconds = 1\n", "unknown key 'publsh' (did you mean 'publish'?)"),
        (
            "[publish]\nbatch_window = 1\n",
            "unknown key 'publish.batch_window' (did you mean 'batch_window_seconds'?)",
        ),
        ("[scheduler]\ncoalesce = 'yes'\n", "scheduler.coalesce: input should be a valid boolean"),
        ("[scheduler]\nmisfire_grace_time_seconds = true\n", "should be a valid integer"),
        ("[scheduler]\nstale_after_cadences = 0\n", "should be greater than 0"),
        ("[scheduler]\ntimezone = 'Mars/Olympus'\n", "unknown timezone"),
        ("[providers.alpha]\ncadence = 'every now'\n", "providers.alpha.cadence"),
        ("[scheduler\n", "not valid TOML"),
    ],
)
def test_schedule_file_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(sched.ScheduleError, match=re.escape(message)):
        sched.load_schedule(write_schedule(tmp_path, text), FAKE_PROVIDERS)


def test_a_bad_provider_default_names_the_provider_module(tmp_path: Path) -> None:
    with pytest.raises(sched.ScheduleError, match=r"scrapers/alpha.py default_cadence"):
        sched.load_schedule(None, {"alpha": SimpleNamespace(default_cadence="hourly-ish")})


def test_the_shipped_schedule_loads_against_the_registry() -> None:
    s = sched.load_schedule(REPO / "schedules" / "schedule.toml")
    from scrapers.registry import PROVIDERS

    # Import-only providers (scrape import) are not scheduled: nothing to fetch.
    assert set(s.jobs) == {n for n, spec in PROVIDERS.items() if not spec.import_format}
    assert s.coalesce and s.batch_window_seconds > 0


# --- batching ----------------------------------------------------------------------


def test_providers_due_within_the_window_run_in_one_batch() -> None:
    calls: list[list[str]] = []
    b = sched.Batcher(calls.append, window_seconds=0.3)
    b.start()
    try:
        t1 = b.submit("beta")
        time.sleep(0.1)
        t2 = b.submit("alpha")
        t1.wait()
        t2.wait()
        t3 = b.submit("gamma")
        t3.wait()
    finally:
        b.stop()
        b.join(5)
    assert calls == [["alpha", "beta"], ["gamma"]]


def test_stopping_cancels_batches_not_yet_started() -> None:
    calls: list[list[str]] = []
    b = sched.Batcher(calls.append, window_seconds=30)
    b.start()
    ticket = b.submit("alpha")
    cancelled = b.stop()
    b.join(5)
    assert (
        [t.provider for t in cancelled] == ["alpha"] and ticket.cancelled and ticket.done.is_set()
    )
    assert calls == []
    assert b.submit("beta").cancelled


# --- scrape schedule ---------------------------------------------------------------


def test_interval_cadence_is_honoured(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, alpha="every 1s")
    logged_run(tmp_path / "datasets", datetime.now(UTC), "alpha")  # not due at start
    job = Recorder()
    t0 = time.monotonic()
    serving = Serving(schedule, tmp_path, job)
    time.sleep(2.5)
    serving.stop()
    times = [t - t0 for t, _ in job.calls]
    # Slots 1 s and 2 s after the job was stored (allowing for a loaded machine).
    assert 2 <= len(times) <= 3, times
    assert 0.8 <= times[0] <= 1.8, times
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(0.6 <= g <= 1.4 for g in gaps), gaps
    assert all(names == ["alpha"] for _, names in job.calls)


def test_missed_runs_during_downtime_run_once_not_once_per_slot(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, alpha="every 1h")
    now = datetime.now(UTC)
    # The scheduler was down for 5 h 30 min: five hourly run times were missed.
    store_jobs(schedule, tmp_path / "state", {"alpha": now - timedelta(hours=5, minutes=30)})
    assert stored_next_runs(schedule, tmp_path / "state")["alpha"] < now
    job = Recorder()
    serving = Serving(schedule, tmp_path, job)
    assert job.started.wait(3)
    time.sleep(0.5)
    serving.stop()
    assert [names for _, names in job.calls] == [["alpha"]]
    # The next run time follows the cadence again: in the future, within one interval.
    nxt = stored_next_runs(schedule, tmp_path / "state")["alpha"]
    assert datetime.now(UTC) < nxt <= datetime.now(UTC) + timedelta(hours=1)


def test_a_run_missed_beyond_the_grace_time_waits_for_its_next_slot(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, grace=60, alpha="every 1h")
    store_jobs(
        schedule, tmp_path / "state", {"alpha": datetime.now(UTC) - timedelta(hours=5, minutes=30)}
    )
    job = Recorder()
    serving = Serving(schedule, tmp_path, job)
    time.sleep(1.0)
    serving.stop()
    assert job.calls == []


def test_providers_due_together_are_batched_into_one_run(tmp_path: Path) -> None:
    schedule = schedule_of(
        tmp_path, window=0.5, alpha="every 1h", beta="0 3 * * *", gamma="every 1h"
    )
    past = datetime.now(UTC) - timedelta(minutes=10)
    store_jobs(schedule, tmp_path / "state", {"alpha": past, "beta": past})
    logged_run(tmp_path / "datasets", datetime.now(UTC), "gamma")  # gamma is not due
    job = Recorder()
    serving = Serving(schedule, tmp_path, job)
    assert job.started.wait(3)
    time.sleep(0.3)
    serving.stop()
    assert [names for _, names in job.calls] == [["alpha", "beta"]]


def test_restarting_keeps_stored_run_times_and_applies_cadence_changes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    schedule = schedule_of(tmp_path, alpha="every 1h", beta="0 3 * * *")
    past = datetime.now(UTC) - timedelta(hours=2)
    store_jobs(schedule, state, {"alpha": past, "beta": past})
    # Same schedule again (a restart): the missed run time must survive.
    after = store_jobs(schedule, state)
    assert after["alpha"] == past and after["beta"] == past
    # beta's cadence changed: rescheduled from now; alpha untouched; gamma added.
    changed = schedule_of(tmp_path, alpha="every 1h", beta="0 4 * * *", gamma="every 1h")
    after = store_jobs(changed, state)
    assert after["alpha"] == past and after["beta"] > datetime.now(UTC) and "gamma" in after
    notes = {j.provider: j.note for j in sched.list_jobs(changed, state)}
    assert notes["alpha"] == "missed: runs once at start" and notes["beta"] == "scheduled"
    # A provider dropped from the schedule leaves the job store.
    assert set(store_jobs(schedule_of(tmp_path, alpha="every 1h"), state)) == {"alpha"}


def test_providers_due_by_the_run_log_run_at_first_start(tmp_path: Path) -> None:
    # A fresh deployment (or a lost job store): alpha never ran, beta ran 2 h ago (its
    # daily slot not yet due again), gamma's hourly slot passed since its last run.
    schedule = schedule_of(
        tmp_path, window=0.3, alpha="0 3 * * *", beta="every 1d", gamma="@hourly"
    )
    now = datetime.now(UTC)
    logged_run(tmp_path / "datasets", now - timedelta(hours=2), "beta", "gamma")
    job = Recorder()
    serving = Serving(schedule, tmp_path, job)
    assert job.started.wait(3)
    time.sleep(0.3)
    serving.stop()
    assert [names for _, names in job.calls] == [["alpha", "gamma"]]
    nxt = stored_next_runs(schedule, tmp_path / "state")
    assert all(t > now for t in nxt.values())


def test_list_says_which_new_jobs_run_at_start(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, alpha="0 3 * * *", beta="every 1d")
    now = datetime.now(UTC)
    logged_run(tmp_path / "datasets", now - timedelta(hours=2), "beta")
    jobs = {
        j.provider: j
        for j in sched.list_jobs(
            schedule, tmp_path / "state", now, datasets_dir=tmp_path / "datasets"
        )
    }
    assert jobs["alpha"].next_run_at == now and "runs at start" in jobs["alpha"].note
    assert jobs["beta"].next_run_at > now and jobs["beta"].note == "new: first run at its next slot"


def test_a_second_scheduler_on_the_same_state_dir_refuses_to_start(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, alpha="every 1h")
    serving = Serving(schedule, tmp_path, Recorder())
    try:
        deadline = time.monotonic() + 3
        while not locks.is_locked(tmp_path / "state", sched.SCHEDULER_LOCK):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(locks.AlreadyRunning, match="scheduler"):
            sched.serve(
                schedule,
                state_dir=tmp_path / "state",
                datasets_dir=tmp_path,
                job=Recorder(),
                stop_event=threading.Event(),
                handle_signals=False,
            )
    finally:
        serving.stop()


def test_stop_lets_the_running_batch_finish(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, alpha="every 1h")
    store_jobs(schedule, tmp_path / "state", {"alpha": datetime.now(UTC) - timedelta(minutes=1)})
    release = threading.Event()
    finished = threading.Event()

    def job(names: list[str]) -> None:
        started.set()
        release.wait(5)
        finished.set()

    started = threading.Event()
    serving = Serving(schedule, tmp_path, job)
    assert started.wait(3)
    serving.stop_event.set()
    time.sleep(0.3)
    assert serving.thread.is_alive()  # still waiting for the run in progress
    release.set()
    serving.stop()
    assert finished.is_set()


def test_a_run_fired_but_not_started_at_stop_is_kept_for_the_next_start(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, window=30, alpha="every 1h")
    store_jobs(schedule, tmp_path / "state", {"alpha": datetime.now(UTC) - timedelta(minutes=1)})
    job = Recorder()
    serving = Serving(schedule, tmp_path, job)
    time.sleep(0.8)  # fired, waiting in the 30 s batch window
    serving.stop()
    assert job.calls == []
    assert stored_next_runs(schedule, tmp_path / "state")["alpha"] <= datetime.now(UTC)


# --- one batch: locks, crashes ------------------------------------------------------


def test_a_provider_running_elsewhere_is_left_out_of_the_batch(tmp_path: Path) -> None:
    job = Recorder()
    runner = sched._Runner(job, state_dir=tmp_path / "state", datasets_dir=tmp_path / "datasets")
    with locks.provider_lock(tmp_path / "state", "alpha"):
        runner(["alpha", "beta"])
        assert runner(["alpha"]) is None
    assert [names for _, names in job.calls] == [["beta"]]


def test_a_crashing_job_is_recorded_in_the_run_log(tmp_path: Path) -> None:
    def job(names: list[str]) -> None:
        raise RuntimeError("disk full")

    runner = sched._Runner(job, state_dir=tmp_path / "state", datasets_dir=tmp_path / "datasets")
    with pytest.raises(RuntimeError):
        runner(["alpha", "beta"])
    rows = runlog.read(tmp_path / "datasets")
    assert [(r["provider"], r["status"], r["trigger"]) for r in rows] == [
        ("alpha", "failed", "schedule"),
        ("beta", "failed", "schedule"),
    ]
    assert rows[0]["error"] == "scheduled run crashed: RuntimeError: disk full"


# --- scrape schedule --once ---------------------------------------------------------


def logged_run(datasets: Path, started: datetime, *names: str) -> None:
    runlog.append(
        RunReport(
            f"r-{started:%H%M}",
            "schedule",
            started,
            started + timedelta(minutes=1),
            "v1",
            None,
            {n: ProviderResult(n, OK, rows=3) for n in names},
        ),
        datasets,
    )


def test_due_providers_follow_the_run_log(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, alpha="0 3 * * *", beta="every 1h", gamma="every 1h")
    datasets = tmp_path / "datasets"
    day = datetime(2024, 5, 28, tzinfo=UTC)
    logged_run(datasets, day + timedelta(hours=3, seconds=5), "alpha")
    logged_run(datasets, day + timedelta(hours=9, minutes=30), "beta")
    # gamma never ran: due at once.
    assert sched.due_providers(schedule, datasets, day + timedelta(hours=10)) == ["gamma"]
    assert sched.due_providers(schedule, datasets, day + timedelta(hours=10, minutes=30)) == [
        "beta",
        "gamma",
    ]
    assert sched.due_providers(schedule, datasets, day + timedelta(days=1, hours=3)) == [
        "alpha",
        "beta",
        "gamma",
    ]


def test_run_once_runs_every_due_provider_in_one_call(tmp_path: Path) -> None:
    schedule = schedule_of(tmp_path, alpha="every 1h", beta="every 1h")
    datasets = tmp_path / "datasets"

    def job(names: list[str]) -> RunReport:
        now = datetime.now(UTC)
        logged_run(datasets, now, *names)
        return RunReport("r", "schedule", now)

    once = sched.run_once(schedule, state_dir=tmp_path / "state", datasets_dir=datasets, job=job)
    assert once.due == once.started == ["alpha", "beta"] and isinstance(once.result, RunReport)
    again = sched.run_once(schedule, state_dir=tmp_path / "state", datasets_dir=datasets, job=job)
    assert again.due == again.started == [] and again.result is None


# --- the default job ----------------------------------------------------------------


def test_the_default_job_runs_the_batch_as_one_scheduled_run(monkeypatch, tmp_path: Path) -> None:
    import pipelines.ops.run

    seen = []

    def run_providers(names, *, config, trigger="manual", replay=None, alerts=True):
        seen.append((list(names), config, trigger, alerts))
        return RunReport("r", trigger, datetime.now(UTC))

    monkeypatch.setattr(pipelines.ops.run, "run_providers", run_providers)
    on = schedule_of(tmp_path, alpha="@daily")
    job = sched.default_job("cfg", on)
    assert job(["alpha", "beta"]).trigger == "schedule"
    off = sched.load_schedule(
        write_schedule(tmp_path, "[alerts]\nenabled = false\n"), FAKE_PROVIDERS
    )
    sched.default_job("cfg", off)(["alpha"])
    assert seen == [
        (["alpha", "beta"], "cfg", "schedule", True),
        (["alpha"], "cfg", "schedule", False),
    ]


def test_alerts_off_needs_a_run_providers_that_can_skip_them(monkeypatch, tmp_path: Path) -> None:
    import pipelines.ops.run

    monkeypatch.setattr(
        pipelines.ops.run,
        "run_providers",
        lambda names, *, config, trigger="manual", replay=None: None,
    )
    off = sched.load_schedule(
        write_schedule(tmp_path, "[alerts]\nenabled = false\n"), FAKE_PROVIDERS
    )
    with pytest.raises(sched.ScheduleError, match=r"\[alerts\] enabled = false"):
        sched.default_job("cfg", off)
