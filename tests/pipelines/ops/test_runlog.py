"""The run log (datasets/gpu_runs.parquet) and the staleness summary behind `scrape status`."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.ops import runlog
from pipelines.ops.report import FAILED, OK, SKIPPED, UNCHANGED, ProviderResult, RunReport

T0 = datetime(2024, 5, 28, 3, 0, tzinfo=UTC)


def report(
    run_id: str,
    started: datetime,
    *,
    trigger: str = "schedule",
    version: str | None = "v1",
    **statuses: str,
) -> RunReport:
    providers = {
        name: ProviderResult(
            name,
            status,
            seconds=1.25,
            warnings=["row skipped"],
            error=None if status in (OK, UNCHANGED) else f"{name}: boom",
        )
        for name, status in statuses.items()
    }
    for p in providers.values():
        if p.status == OK:
            p.record_merge(new=2, changed=1, unchanged=7, removed=0)
    return RunReport(
        run_id, trigger, started, started + timedelta(minutes=2), version, None, providers
    )


@dataclass
class Every:
    """A fixed-period cadence (the Cadence protocol runlog.status needs)."""

    hours: float

    @property
    def spec(self) -> str:
        return f"every {self.hours:g}h"

    def period_at(self, when: datetime) -> timedelta:
        return timedelta(hours=self.hours)


def test_append_writes_one_row_per_provider_with_the_declared_schema(tmp_path: Path) -> None:
    runlog.append(report("r1", T0, azure=OK, gcp=FAILED), tmp_path)
    path = tmp_path / "gpu_runs.parquet"  # a directory of parts, read as one table
    assert pq.read_table(path).schema.remove_metadata() == runlog.RUNLOG_SCHEMA
    rows = runlog.read(tmp_path)
    assert [(r["run_id"], r["provider"], r["status"]) for r in rows] == [
        ("r1", "azure", OK),
        ("r1", "gcp", FAILED),
    ]
    az = rows[0]
    assert az["started_at"] == T0 and az["finished_at"] == T0 + timedelta(minutes=2)
    assert (az["rows"], az["new_offers"], az["changed_offers"], az["unchanged_offers"]) == (
        10,
        2,
        1,
        7,
    )
    assert az["warning_count"] == 1 and az["seconds"] == 1.25 and az["dataset_version"] == "v1"
    assert rows[1]["error"] == "gcp: boom"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_appends_accumulate_and_a_repeated_append_replaces_its_rows(tmp_path: Path) -> None:
    runlog.append(report("r1", T0, azure=OK), tmp_path)
    runlog.append(report("r2", T0 + timedelta(hours=1), azure=FAILED), tmp_path)
    runlog.append(report("r2", T0 + timedelta(hours=1), azure=FAILED), tmp_path)
    assert [(r["run_id"], r["status"]) for r in runlog.read(tmp_path)] == [
        ("r1", OK),
        ("r2", FAILED),
    ]


def test_concurrent_appends_lose_no_rows(tmp_path: Path) -> None:
    def worker(i: int) -> None:
        for j in range(5):
            runlog.append(report(f"w{i}-{j}", T0 + timedelta(minutes=j), azure=OK), tmp_path)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runlog.read(tmp_path)) == 20


def test_errors_are_cut_to_a_bounded_length(tmp_path: Path) -> None:
    r = report("r1", T0, azure=FAILED)
    r.providers["azure"].error = "x" * 10_000
    runlog.append(r, tmp_path)
    assert len(runlog.read(tmp_path)[0]["error"]) == runlog.MAX_ERROR_CHARS


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="naive"):
        runlog.append(report("r1", datetime(2024, 5, 28, 3), azure=OK), tmp_path)


def test_status_flags_providers_without_a_recent_good_run(tmp_path: Path) -> None:
    hourly, daily = Every(1), Every(24)
    runlog.append(report("r1", T0, aws=OK, azure=OK, gcp=SKIPPED, oracle=OK), tmp_path)
    later = T0 + timedelta(hours=5)
    runlog.append(report("r2", later, aws=FAILED, azure=UNCHANGED, gcp=SKIPPED), tmp_path)
    # A replay fetches nothing: it never makes a provider's data look fresh.
    runlog.append(report("r3", later, trigger="replay", oracle=OK), tmp_path)
    now = later + timedelta(minutes=10)
    rows = {
        r.provider: r
        for r in runlog.status(
            tmp_path,
            {"aws": hourly, "azure": hourly, "gcp": daily, "oracle": hourly, "vultr": daily},
            now,
        )
    }
    # aws: last good run 5 h ago > 3 x 1 h; its last run failed.
    assert rows["aws"].is_stale and rows["aws"].last_status == FAILED
    assert rows["aws"].last_good_at == T0 + timedelta(minutes=2)
    assert "3 x every 1h" in rows["aws"].stale_reason
    # azure: "unchanged" is a good run (every source said not modified).
    assert not rows["azure"].is_stale and rows["azure"].last_status == UNCHANGED
    # gcp: skipped by design (no API key), never had data: reported, not stale.
    assert not rows["gcp"].is_stale and rows["gcp"].stale_reason.startswith("skipped")
    # oracle: only replayed since T0: the replay is its last run, but its data is no fresher.
    assert rows["oracle"].is_stale and rows["oracle"].last_run_at == later
    assert rows["oracle"].last_trigger == "replay"
    # vultr: scheduled, never ran.
    assert rows["vultr"].is_stale and rows["vultr"].stale_reason == "never ran"
    assert rows["aws"].dataset_version == "v1"


def test_status_threshold_is_n_cadences(tmp_path: Path) -> None:
    runlog.append(report("r1", T0, azure=OK), tmp_path)
    good_at = T0 + timedelta(minutes=2)
    cad = {"azure": Every(24)}
    assert not runlog.status(tmp_path, cad, good_at + timedelta(hours=71))[0].is_stale
    assert runlog.status(tmp_path, cad, good_at + timedelta(hours=73))[0].is_stale
    assert not runlog.status(tmp_path, cad, good_at + timedelta(hours=73), stale_after_cadences=4)[
        0
    ].is_stale


def test_providers_only_in_the_log_are_listed_but_never_stale(tmp_path: Path) -> None:
    runlog.append(report("r1", T0, retired=FAILED), tmp_path)
    (row,) = runlog.status(tmp_path, {}, T0 + timedelta(days=30))
    assert row.provider == "retired" and row.cadence is None and not row.is_stale


def test_last_started_ignores_replays(tmp_path: Path) -> None:
    runlog.append(report("r1", T0, azure=FAILED, aws=OK), tmp_path)
    runlog.append(report("r2", T0 + timedelta(hours=1), trigger="replay", azure=OK), tmp_path)
    assert runlog.last_started(tmp_path) == {"azure": T0, "aws": T0}
    assert runlog.last_started(tmp_path / "missing") == {}
