"""Batching of scheduled runs: providers that fall due close together run in one call,
so several providers due at 03:00 publish once (used by pipelines/ops/schedule.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger("pipelines.ops.schedule")


@dataclass
class _Ticket:
    provider: str
    fired_at: datetime
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False

    def wait(self) -> None:
        self.done.wait()


class Batcher:
    """Collects providers that fall due close together and runs them in one call.

    The first provider submitted opens a window of `window_seconds`; when it closes, every
    provider submitted meanwhile runs in one `run_batch(names)` call. Batches run one at a
    time on the batcher's own thread; providers submitted during a batch form the next.
    """

    def __init__(self, run_batch: Callable[[list[str]], None], window_seconds: float):
        self._run_batch = run_batch
        self._window_seconds = window_seconds
        self._cond = threading.Condition()
        self._pending: dict[str, _Ticket] = {}
        self._opened_at: float | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="schedule-batcher")

    def start(self) -> None:
        self._thread.start()

    def submit(self, provider: str) -> _Ticket:
        with self._cond:
            if self._stopping:
                ticket = _Ticket(provider, datetime.now(UTC), cancelled=True)
                ticket.done.set()
                return ticket
            ticket = self._pending.get(provider)
            if ticket is None:
                ticket = self._pending[provider] = _Ticket(provider, datetime.now(UTC))
                if self._opened_at is None:
                    self._opened_at = time.monotonic()
                self._cond.notify_all()
            return ticket

    def stop(self) -> list[_Ticket]:
        """Stop taking work; cancel batches not yet started. Returns the cancelled tickets."""
        with self._cond:
            self._stopping = True
            cancelled = list(self._pending.values())
            self._pending.clear()
            for t in cancelled:
                t.cancelled = True
                t.done.set()
            self._cond.notify_all()
        return cancelled

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                assert self._opened_at is not None
                deadline = self._opened_at + self._window_seconds
                while not self._stopping and (remaining := deadline - time.monotonic()) > 0:
                    self._cond.wait(remaining)
                if self._stopping:
                    return
                batch, self._pending, self._opened_at = self._pending, {}, None
            try:
                self._run_batch(sorted(batch))
            except BaseException:  # one bad batch must not end the scheduler
                log.exception("scheduled run of %s failed", ", ".join(sorted(batch)))
            finally:
                for t in batch.values():
                    t.done.set()
