"""ECB reference rates for a run: fetched and archived live, or read from the archive as
they were at the time of a replayed run (indexed once per replay)."""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.config import Config
from pipelines.ingest.archive import Archive, ArchiveError
from pipelines.ingest.fx import load_fx
from pipelines.ops.report import (
    one_line,
)
from scrapers import ecb
from scrapers.base import (
    FetchContext,
    ProviderSpec,
    Response,
    select_settings,
)
from scrapers.http import HttpClient

log = logging.getLogger("pipelines.ops.fxrates")


FX_SOURCE = "ecb"
FX_GRACE = timedelta(minutes=30)


def archived_fx(archive: Archive, as_of: datetime | None = None):
    """The FX lookup from the ECB files in `archive` fetched at or before `as_of`.

    None when there are none (or none readable): non-USD rows then get empty USD columns.
    """
    return ArchivedFx(archive).at(as_of)


class ArchivedFx:
    """The archive's ECB files, read and verified once; `at(as_of)` gives the lookup of
    the files fetched by then, built once per distinct set (a replay of hundreds of runs
    asks for the same few sets again and again)."""

    def __init__(self, archive: Archive):
        responses: list[Response] = []
        try:
            runs = archive.runs(FX_SOURCE)
        except ArchiveError as exc:  # then non-USD rows get empty USD columns
            log.warning("ECB reference rates unusable: %s", one_line(exc))
            runs = []
        for run in runs:
            try:
                responses.extend(archive.iter_responses(run))
            except ArchiveError as exc:
                log.warning("ECB reference rates of run %s unusable: %s", run.run_id, one_line(exc))
        self.responses = sorted(responses, key=lambda r: r.fetched_at)
        self._times = [r.fetched_at for r in self.responses]
        self._built: dict[int, Any] = {}

    def at(self, as_of: datetime | None = None):
        n = len(self._times) if as_of is None else bisect.bisect_right(self._times, as_of)
        if n == 0:
            return None
        if n not in self._built:
            try:
                self._built[n] = load_fx(self.responses[:n]).usd_per_unit
            except Exception as exc:  # an unreadable ECB file
                log.warning("ECB reference rates unusable: %s", one_line(exc))
                self._built[n] = None
        return self._built[n]


def live_fx(
    config: Config,
    archive: Archive,
    run_id: str,
    workdir: Path,
    transport,
    specs: Sequence[ProviderSpec],
):
    """Fetch and archive the ECB reference rates; fall back to the archived ones."""
    if all(set(s.currencies) <= {"USD"} for s in specs):
        return archived_fx(archive)

    async def go():
        async with HttpClient(transport=transport) as client:
            ctx = FetchContext(
                provider=FX_SOURCE,
                client=client,
                base_url=config.base_url(FX_SOURCE, ecb.DEFAULT_BASE_URL),
                settings=select_settings(ecb.SETTINGS, config.settings),
                previous=archive.previous(FX_SOURCE),
                workdir=workdir / FX_SOURCE,
            )
            return await ecb.fetch(ctx)

    try:
        for r in asyncio.run(go()):
            archive.store(run_id, FX_SOURCE, r)
    except Exception as exc:  # then the archived rates (or empty USD columns) serve
        log.warning("ECB reference rates not fetched: %s", one_line(exc))
    return archived_fx(archive)
