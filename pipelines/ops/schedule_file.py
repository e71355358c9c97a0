"""The schedule file (`schedules/schedule.toml`) and cadences: what runs when.

Source: the file (see schedules/README.md) and each provider's `ProviderSpec.default_cadence`
in scrapers/. Output: a `ScheduleConfig` (one `JobSpec` per registered provider) that
pipelines/ops/schedule.py runs. The file goes through the same strict loader as
`gpu-prices.toml` (pipelines.config.load_toml_model): an unknown section or key, a value
of the wrong type, an unknown provider or a bad cadence raises `ScheduleError` with one line
naming the file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import Field

from pipelines.config import DEFAULT_SCHEDULE_FILE, Section, load_toml_model
from pipelines.errors import ScheduleError, did_you_mean
from pipelines.ops import runlog

__all__ = [
    "DEFAULT_SCHEDULE_FILE",
    "Cadence",
    "JobSpec",
    "ScheduleConfig",
    "ScheduleError",
    "load_schedule",
]


# Defaults, each overridable in schedule.toml. A catch-up run is worth doing however late
# (a price observed now is never wrong), so the grace time is a day: with hourly or daily
# cadences the latest missed run time is always within it.
DEFAULT_MISFIRE_GRACE_SECONDS = 24 * 3600
DEFAULT_BATCH_WINDOW_SECONDS = 30.0
DEFAULT_TIMEZONE = "UTC"

_INTERVAL_RE = re.compile(r"^every\s+((?:\d+\s*[smhd]\s*)+)$", re.IGNORECASE)
_INTERVAL_PART_RE = re.compile(r"(\d+)\s*([smhd])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CRON_ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
}


# --- cadences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cadence:
    """A cron expression ("0 3 * * *", "@hourly") or an interval ("every 1h", "every 90m")."""

    spec: str
    trigger: BaseTrigger
    interval: timedelta | None = None  # set for interval cadences

    @classmethod
    def parse(cls, spec: str, timezone: str = DEFAULT_TIMEZONE) -> Cadence:
        text = " ".join(str(spec).split())
        tz = _zone(timezone)
        m = _INTERVAL_RE.match(text)
        if m:
            seconds = sum(
                int(n) * _UNIT_SECONDS[u.lower()] for n, u in _INTERVAL_PART_RE.findall(m.group(1))
            )
            if seconds < 1:
                raise ScheduleError(f"cadence {spec!r}: the interval must be at least 1 second")
            return cls(
                text, IntervalTrigger(seconds=seconds, timezone=tz), timedelta(seconds=seconds)
            )
        cron = _CRON_ALIASES.get(text.lower(), text)
        if len(cron.split()) != 5:
            raise ScheduleError(
                f"cadence {spec!r}: expected a 5-field cron expression ('0 3 * * *'), "
                f"@hourly/@daily/@weekly, or an interval ('every 1h', 'every 30m')"
            )
        minute, hour, day, month, dow = cron.split()
        try:
            trigger = CronTrigger(
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=_crontab_day_of_week(dow),
                timezone=tz,
            )
        except ValueError as exc:
            raise ScheduleError(f"cadence {spec!r}: invalid cron expression: {exc}") from None
        cadence = cls(text, trigger)
        if cadence.next_after(datetime.now(UTC)) is None:
            raise ScheduleError(f"cadence {spec!r}: the cron expression never fires")
        return cadence

    def next_after(self, when: datetime) -> datetime:
        """The first scheduled time strictly after `when` (UTC)."""
        if self.interval is not None:
            return when.astimezone(UTC) + self.interval
        nxt = self.trigger.get_next_fire_time(None, when + timedelta(microseconds=1))
        return nxt.astimezone(UTC) if nxt is not None else None  # type: ignore[return-value]

    def period_at(self, when: datetime) -> timedelta:
        """The gap between the two scheduled times that follow `when`."""
        if self.interval is not None:
            return self.interval
        first = self.next_after(when)
        return self.next_after(first) - first


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 = Sunday


def _crontab_day_of_week(field_text: str) -> str:
    """Crontab's day-of-week field in APScheduler 3 terms.

    APScheduler 3 numbers weekdays from Monday = 0 while crontab has Sunday = 0 (and 7), so
    "0 3 * * 1" would silently run on Tuesdays. Expand the field to day names instead.
    """
    if field_text == "*":
        return "*"
    days: set[int] = set()
    for token in field_text.lower().split(","):
        base, _, step_text = token.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step in day-of-week {token!r}")
        if base == "*":
            lo, hi = 0, 6
        elif "-" in base:
            a, b = base.split("-", 1)
            lo, hi = _weekday(a), _weekday(b)
            if hi == 0 and b.strip() in ("7", "sun"):
                hi = 7  # "5-7" / "fri-sun": through Sunday
        else:
            lo = hi = _weekday(base)
        if lo > hi:
            raise ValueError(f"day-of-week range {base!r} runs backwards")
        days.update(d % 7 for d in range(lo, hi + 1, step or 1))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def _weekday(text: str) -> int:
    text = text.strip()
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    if text[:3] in _WEEKDAYS:
        return _WEEKDAYS.index(text[:3])
    raise ValueError(f"bad day of week {text!r}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown timezone {name!r} (use an IANA name such as 'UTC')") from None


@dataclass(frozen=True)
class JobSpec:
    provider: str
    cadence: Cadence
    cadence_source: str  # "schedule.toml" or "provider default"
    enabled: bool
    misfire_grace_seconds: int

    @property
    def label(self) -> str:
        # Stored as the APScheduler job name: a changed cadence or timezone is detected by
        # comparing labels, so an unchanged job keeps its stored next run time.
        return f"{self.provider} [{self.cadence.spec}; {self.cadence.trigger.timezone}]"


@dataclass(frozen=True)
class ScheduleConfig:
    jobs: dict[str, JobSpec]
    timezone: str = DEFAULT_TIMEZONE
    misfire_grace_seconds: int = DEFAULT_MISFIRE_GRACE_SECONDS
    coalesce: bool = True
    stale_after_cadences: float = runlog.DEFAULT_STALE_AFTER_CADENCES
    batch_window_seconds: float = DEFAULT_BATCH_WINDOW_SECONDS
    alerts_enabled: bool = True
    source: str = "built-in defaults"

    @property
    def enabled_jobs(self) -> dict[str, JobSpec]:
        return {n: j for n, j in self.jobs.items() if j.enabled}

    def cadences(self) -> dict[str, Cadence]:
        return {n: j.cadence for n, j in self.enabled_jobs.items()}


_SECTIONS: dict[str, dict[str, tuple[type, ...]]] = {
    "scheduler": {
        "timezone": (str,),
        "misfire_grace_time_seconds": (int,),
        "coalesce": (bool,),
        "stale_after_cadences": (int, float),
    },
    "publish": {"batch_window_seconds": (int, float)},
    "alerts": {"enabled": (bool,)},
}
_PROVIDER_KEYS: dict[str, tuple[type, ...]] = {
    "cadence": (str,),
    "enabled": (bool,),
    "misfire_grace_time_seconds": (int,),
}


class _SchedulerSection(Section):
    timezone: str = DEFAULT_TIMEZONE
    misfire_grace_time_seconds: int = Field(DEFAULT_MISFIRE_GRACE_SECONDS, gt=0)
    coalesce: bool = True
    stale_after_cadences: float = Field(runlog.DEFAULT_STALE_AFTER_CADENCES, gt=0)


class _PublishSection(Section):
    batch_window_seconds: float = Field(DEFAULT_BATCH_WINDOW_SECONDS, ge=0)


class _AlertsSection(Section):
    enabled: bool = True


class _ProviderSection(Section):
    cadence: str | None = None
    enabled: bool = True
    misfire_grace_time_seconds: int | None = Field(None, gt=0)


class ScheduleFile(Section):
    scheduler: _SchedulerSection = _SchedulerSection()
    publish: _PublishSection = _PublishSection()
    alerts: _AlertsSection = _AlertsSection()
    providers: dict[str, _ProviderSection] = {}


def load_schedule(path: Path | None, providers: Mapping[str, Any] | None = None) -> ScheduleConfig:
    """Read `path` (None: provider defaults only) against the registered providers.

    `providers` maps a name to something with a `default_cadence` (a ProviderSpec); it
    defaults to `scrapers.registry.PROVIDERS`. Unknown providers, sections or keys, bad
    cadences and bad values raise `ScheduleError` naming the file and the key.
    """
    if providers is None:
        from scrapers.registry import PROVIDERS

        # Import-only providers (scrape import) have nothing to fetch on a schedule.
        providers = {n: s for n, s in PROVIDERS.items() if not getattr(s, "import_format", None)}
    where = "built-in defaults"
    data = ScheduleFile()
    if path is not None:
        where = str(path)
        data = load_toml_model(ScheduleFile, Path(path), what="schedule file", error=ScheduleError)
    timezone = data.scheduler.timezone
    _zone(timezone)
    grace = data.scheduler.misfire_grace_time_seconds
    for name in data.providers:
        if name not in providers:
            raise ScheduleError(
                f"{where}: unknown provider 'providers.{name}'"
                + (
                    did_you_mean(name, providers)
                    or f" (registered: {', '.join(sorted(providers))})"
                )
            )
    jobs: dict[str, JobSpec] = {}
    for name in sorted(providers):
        table = data.providers.get(name, _ProviderSection())
        if table.cadence is not None:
            spec, source, origin = (
                table.cadence,
                "schedule.toml",
                f"{where}: providers.{name}.cadence",
            )
        else:
            spec = getattr(providers[name], "default_cadence", None)
            source, origin = "provider default", f"scrapers/{name}.py default_cadence"
            if not spec:
                raise ScheduleError(
                    f"{origin}: no cadence; set providers.{name}.cadence in {where}"
                )
        try:
            cadence = Cadence.parse(spec, timezone)
        except ScheduleError as exc:
            raise ScheduleError(f"{origin}: {exc}") from None
        job_grace = table.misfire_grace_time_seconds or grace
        jobs[name] = JobSpec(name, cadence, source, table.enabled, int(job_grace))
    return ScheduleConfig(
        jobs=jobs,
        timezone=timezone,
        misfire_grace_seconds=int(grace),
        coalesce=data.scheduler.coalesce,
        stale_after_cadences=float(data.scheduler.stale_after_cadences),
        batch_window_seconds=float(data.publish.batch_window_seconds),
        alerts_enabled=data.alerts.enabled,
        source=where,
    )
