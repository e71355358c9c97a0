"""The run log: one row per (run, provider), whatever started the run.

Source: the `RunReport` every `run_providers` call returns (manual, schedule or replay).
Output: `datasets/gpu_runs.parquet` with the explicit schema `RUNLOG_SCHEMA`, and the
per-provider freshness summary behind `scrape status`.

The log is small (a row per provider per run: about 200k rows after a year of hourly runs
for 20 providers), so an append rewrites the whole file, atomically
(pipelines.store.atomic.write_parquet_atomic: temp file in the same folder, then `os.replace`). A reader therefore sees the old log or the
new one, never a half-written file. Concurrent appends (a manual run while the scheduler
runs another provider) are serialized by a lock file beside it, `.gpu_runs.lock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from pipelines.ops.report import OK, SKIPPED, UNCHANGED, RunReport
from pipelines.store.atomic import write_parquet_atomic
from pipelines.tables import RUNS

RUNLOG_FILE = RUNS.file
_LOCK_FILE = ".gpu_runs.lock"
# Long errors (a stack of nested causes) are cut: the log is for finding a problem, the
# process log keeps the details.
MAX_ERROR_CHARS = 2000
DEFAULT_STALE_AFTER_CADENCES = 3

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
        rows.append(
            {
                "run_id": report.run_id,
                "trigger": report.trigger,
                "started_at": _utc(report.started_at),
                "finished_at": _utc(finished),
                "provider": p.provider,
                "status": p.status,
                "rows": p.rows,
                "new_offers": p.new_offers,
                "changed_offers": p.changed_offers,
                "unchanged_offers": p.unchanged_offers,
                "removed_offers": p.removed_offers,
                "quarantined_rows": p.quarantined_rows,
                "warning_count": len(p.warnings),
                "seconds": round(float(p.seconds), 3),
                "error": p.error[:MAX_ERROR_CHARS] if p.error else None,
                "dataset_version": report.dataset_version,
                "gate_findings": "\n".join(str(f) for f in p.gate_findings)[:MAX_ERROR_CHARS]
                or None,
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
    path = runlog_path(datasets_dir)
    with FileLock(str(datasets_dir / _LOCK_FILE)):
        old = read(datasets_dir)
        keys = {(r["run_id"], r["provider"]) for r in new_rows}
        kept = [r for r in old if (r["run_id"], r["provider"]) not in keys]
        write_parquet_atomic(pa.Table.from_pylist(kept + new_rows, schema=RUNLOG_SCHEMA), path)


def read(datasets_dir: Path) -> list[dict]:
    """All rows, oldest first (by started_at, then provider); [] when there is no log yet."""
    path = runlog_path(datasets_dir)
    if not path.exists():
        return []
    table = pq.read_table(path)
    # A log written before a column was added gets that column as nulls.
    for f in RUNLOG_SCHEMA:
        if f.name not in table.column_names:
            table = table.append_column(f.name, pa.nulls(len(table), f.type))
    rows = table.select(RUNLOG_SCHEMA.names).to_pylist()
    rows.sort(key=lambda r: (r["started_at"], r["provider"]))
    return rows


def last_started(datasets_dir: Path) -> dict[str, datetime]:
    """Start time of each provider's latest run, whatever its outcome."""
    out: dict[str, datetime] = {}
    for r in read(datasets_dir):
        if r["trigger"] == "replay":
            # A replay re-parses old responses; it fetched nothing, so it does not make a
            # provider's data any fresher.
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
    last_trigger: str | None
    last_status: str | None
    last_error: str | None
    last_good_at: datetime | None
    last_good_rows: int | None
    dataset_version: str | None  # the latest version a run of this provider published
    is_stale: bool
    stale_reason: str | None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        for k in ("last_run_at", "last_good_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def status(
    datasets_dir: Path,
    cadences: Mapping[str, CadenceLike],
    now: datetime | None = None,
    *,
    stale_after_cadences: float = DEFAULT_STALE_AFTER_CADENCES,
) -> list[ProviderStatus]:
    """Last run and last good run per provider, and whether its data is stale.

    A scheduled provider is stale when it has no good run within `stale_after_cadences` x
    its cadence (for a cron cadence: the gap between the two slots that follow the last good
    run, so "0 3 * * *" counts as 24 h). A provider that has never had a good run is stale,
    except when its latest run was skipped by design (e.g. no API key): it was never set
    up here, so there is no data to go stale. Providers found only in the log (no longer
    scheduled) are listed and never flagged.
    """
    now = _utc(now or datetime.now(UTC))
    last: dict[str, dict] = {}
    good: dict[str, dict] = {}
    published: dict[str, str] = {}
    for r in read(datasets_dir):
        if r["trigger"] == "replay":
            continue  # see last_started
        name = r["provider"]
        last[name] = r
        if r["status"] in GOOD_STATUSES:
            good[name] = r
        if r["dataset_version"] and r["status"] == OK:
            published[name] = r["dataset_version"]

    out = []
    for name in sorted(set(cadences) | set(last)):
        cadence = cadences.get(name)
        lr, gr = last.get(name), good.get(name)
        good_at = (gr["finished_at"] or gr["started_at"]) if gr else None
        stale, reason = False, None
        if cadence is not None:
            if gr is None:
                if lr is not None and lr["status"] == SKIPPED:
                    reason = "skipped: never had a good run here"
                else:
                    stale = True
                    reason = "no good run recorded" if lr else "never ran"
            else:
                limit = cadence.period_at(good_at) * stale_after_cadences
                if now - good_at > limit:
                    stale = True
                    reason = (
                        f"last good run {_age(now - good_at)} ago "
                        f"(> {stale_after_cadences:g} x {cadence.spec})"
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
            )
        )
    return out


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(f"naive timestamp {ts!r}: run times must be timezone-aware")
    return ts.astimezone(UTC)


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"
