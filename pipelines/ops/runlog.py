"""The run log: one row per (run, provider), whatever started the run.

Source: the `RunReport` every `run_providers` call returns (manual, schedule or replay).
Output: `datasets/gpu_runs.parquet` with the explicit schema `RUNLOG_SCHEMA`, and the
per-provider freshness summary behind `scrape status`.

The log grows by a row per provider per run (about 200k rows after a year of hourly runs
for 20 providers), so an append writes only the run's rows: the log is an append-only
table of immutable parts (pipelines/store/parts.py), published at `datasets/gpu_runs.parquet`
(a symlinked directory, read by pandas, polars and DuckDB as one table) and switched
atomically: a reader sees the old log or the new one, never a half-written one. Appending
a run again (a retried step) rewrites only the part holding its earlier rows. Concurrent
appends (a manual run while the scheduler runs another provider) are serialized by a lock
file beside it, `.gpu_runs.lock`. A log written as one file by an earlier release becomes
the first part on the next append.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pyarrow as pa
from filelock import FileLock

from pipelines.ops.report import OK, SKIPPED, UNCHANGED, RunReport
from pipelines.store.parts import PartedTable
from pipelines.tables import RUNS

RUNLOG_FILE = RUNS.file
_LOCK_FILE = ".gpu_runs.lock"
# Long errors (a stack of nested causes) are cut: the log is for finding a problem, the
# process log keeps the details.
MAX_ERROR_CHARS = 2000
DEFAULT_STALE_AFTER_CADENCES = 3
REPLAY = "replay"  # the trigger of `scrape run --replay`

# A "good" run leaves the provider's published data current: either new data passed the
# gate (ok) or every source said "not modified" (unchanged).
GOOD_STATUSES = frozenset({OK, UNCHANGED})

# Columns and types of gpu_runs.parquet: pipelines/tables.py.
RUNLOG_SCHEMA = RUNS.schema


def runlog_path(datasets_dir: Path) -> Path:
    return Path(datasets_dir) / RUNLOG_FILE


def rows_from_report(report: RunReport) -> list[dict]:
    finished = report.finished_at or datetime.now(UTC)
    rows = []
    for name in sorted(report.providers):
        p = report.providers[name]
        merged = p.merged

        def count(n: int, merged: bool = merged) -> int | None:
            return n if merged else None

        rows.append(
            {
                "run_id": report.run_id,
                "trigger": report.trigger,
                "started_at": _utc(report.started_at),
                "finished_at": _utc(finished),
                "provider": p.provider,
                "status": p.status,
                "rows": p.rows,
                "new_offers": count(p.new_offers),
                "changed_offers": count(p.changed_offers),
                "unchanged_offers": count(p.unchanged_offers),
                "removed_offers": count(p.removed_offers),
                "quarantined_rows": p.quarantined_rows,
                "warning_count": len(p.warnings),
                "seconds": round(float(p.seconds), 3),
                "error": p.error[:MAX_ERROR_CHARS] if p.error else None,
                "dataset_version": report.dataset_version,
                "gate_findings": "\n".join(str(f) for f in p.gate_findings)[:MAX_ERROR_CHARS]
                or None,
                "observed_at": _utc(p.observed_at) if p.observed_at else None,
            }
        )
    return rows


def append(report: RunReport, datasets_dir: Path) -> None:
    """Add one row per provider of `report`. Appending the same run twice replaces its rows."""
    new_rows = rows_from_report(report)
    if not new_rows:
        return
    datasets_dir = Path(datasets_dir)
    datasets_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(datasets_dir / _LOCK_FILE)):
        PartedTable(datasets_dir, RUNS).append(
            pa.Table.from_pylist(new_rows, schema=RUNLOG_SCHEMA), replace_keys=RUNS.primary_key
        )


def read(datasets_dir: Path) -> list[dict]:
    """All rows, oldest first (by started_at, then provider); [] when there is no log yet."""
    log = PartedTable(datasets_dir, RUNS)
    if not log.exists():
        return []
    # A log written before a column was added gets that column as nulls.
    rows = log.read().to_pylist()
    rows.sort(key=lambda r: (r["started_at"], r["provider"]))
    return rows


def last_started(datasets_dir: Path) -> dict[str, datetime]:
    """Start time of each provider's latest run, whatever its outcome."""
    out: dict[str, datetime] = {}
    for r in read(datasets_dir):
        if r["trigger"] == REPLAY:
            # A replay re-parses old responses; it fetched nothing, so it does not make a
            # provider's next fetch any less due.
            continue
        out[r["provider"]] = r["started_at"]
    return out


class CadenceLike(Protocol):
    """What `status` needs from a cadence (pipelines.ops.schedule.Cadence implements it)."""

    spec: str

    def period_at(self, when: datetime) -> timedelta: ...


@dataclass
class ProviderStatus:
    provider: str
    cadence: str | None  # None: in the log but not scheduled
    last_run_at: datetime | None
    last_trigger: str | None  # manual | schedule | replay
    last_status: str | None
    last_error: str | None
    last_good_at: datetime | None  # when the latest good run (of any trigger) finished
    last_good_rows: int | None
    dataset_version: str | None  # the latest version a run of this provider published
    is_stale: bool
    stale_reason: str | None
    # Newest observation the last run parsed (for a replay: when it was recorded).
    last_observed_at: datetime | None = None
    # What staleness counts: when the newest prices published for this provider were
    # fetched from it (a live good run: its end; a replay: the recording's fetch time).
    prices_observed_at: datetime | None = None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        for k in ("last_run_at", "last_good_at", "last_observed_at", "prices_observed_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def _prices_at(row: dict) -> datetime | None:
    """When the prices of a good run were fetched: a live run confirmed them at its end
    (even "not modified"); a replay republishes responses recorded at `observed_at`."""
    if row["trigger"] == REPLAY:
        return row.get("observed_at")
    return row["finished_at"] or row["started_at"]


def status(
    datasets_dir: Path,
    cadences: Mapping[str, CadenceLike],
    now: datetime | None = None,
    *,
    stale_after_cadences: float = DEFAULT_STALE_AFTER_CADENCES,
) -> list[ProviderStatus]:
    """Last run, last good run and the age of the newest prices, per provider.

    Every run counts as a run, replays included: the last run may be "replayed at X
    (recorded Y)". Staleness counts the age of the data, not of the runs: a scheduled
    provider is stale when its newest published prices were fetched from it longer ago
    than `stale_after_cadences` x its cadence (for a cron cadence: the gap between the two
    slots that follow that time, so "0 3 * * *" counts as 24 h). Replaying old recordings
    therefore publishes data without making it fresh. A provider without any good run is
    stale, except when its latest live run was skipped by design (e.g. no API key): it was
    never set up here, so there is no data to go stale. Providers found only in the log
    (no longer scheduled) are listed and never flagged.
    """
    now = _utc(now or datetime.now(UTC))
    last: dict[str, dict] = {}
    good: dict[str, dict] = {}
    prices_at: dict[str, datetime] = {}
    published: dict[str, str] = {}
    for r in read(datasets_dir):
        name = r["provider"]
        last[name] = r
        if r["status"] in GOOD_STATUSES:
            good[name] = r
            at = _prices_at(r)
            if at is not None and (name not in prices_at or at > prices_at[name]):
                prices_at[name] = at
        if r["dataset_version"] and r["status"] == OK:
            published[name] = r["dataset_version"]

    out = []
    for name in sorted(set(cadences) | set(last)):
        cadence = cadences.get(name)
        lr, gr = last.get(name), good.get(name)
        good_at = (gr["finished_at"] or gr["started_at"]) if gr else None
        data_at = prices_at.get(name)
        stale, reason = False, None
        if cadence is not None:
            if data_at is None:
                if lr is not None and lr["status"] == SKIPPED and lr["trigger"] != REPLAY:
                    reason = "skipped: never had a good run here"
                elif lr is None:
                    stale, reason = True, "never ran"
                elif lr["trigger"] == REPLAY and lr["status"] == SKIPPED:
                    stale, reason = True, "never fetched (not in the replayed archive)"
                else:
                    stale, reason = True, "no good run recorded"
            else:
                limit = cadence.period_at(data_at) * stale_after_cadences
                if now - data_at > limit:
                    stale = True
                    reason = (
                        f"newest prices fetched {_age(now - data_at)} ago "
                        f"({_when(data_at)}; > {stale_after_cadences:g} x {cadence.spec})"
                    )
        out.append(
            ProviderStatus(
                provider=name,
                cadence=cadence.spec if cadence is not None else None,
                last_run_at=lr["started_at"] if lr else None,
                last_trigger=lr["trigger"] if lr else None,
                last_status=lr["status"] if lr else None,
                last_error=lr["error"] if lr else None,
                last_good_at=good_at,
                last_good_rows=gr["rows"] if gr else None,
                dataset_version=published.get(name),
                is_stale=stale,
                stale_reason=reason,
                last_observed_at=lr.get("observed_at") if lr else None,
                prices_observed_at=data_at,
            )
        )
    return out


def _when(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(f"naive timestamp {ts!r}: run times must be timezone-aware")
    return ts.astimezone(UTC)


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"
