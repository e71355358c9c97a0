"""Per-provider run locks, so a manual run and a scheduled run (or two schedulers, or a
cron job that outlives its interval) never fetch and publish one provider at the same time.

The lock is an OS file lock (`filelock`, flock on POSIX) on
`<state_dir>/locks/<provider>.lock`: it works across processes and threads, and the
kernel drops it when the holder dies, so a killed run never leaves a stale lock behind.
Beside it, `<provider>.owner.json` says who holds it (pid, host, since) for the error
message; it is informational only and may be stale, the lock itself is the truth.

Output: nothing published; `AlreadyRunning` when the lock is busy.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from pipelines.errors import GpuPricesError

LOCKS_DIRNAME = "locks"
# `is_locked` (used by `scrape status` and the scheduler's look-ahead) takes the lock for an
# instant. A run starting in that instant must not mistake the probe for another run, so a
# "non-blocking" acquire retries for this long before it reports the provider as running.
CONTENTION_GRACE_SECONDS = 0.5
_POLL_SECONDS = 0.02
# Names become file names: only the registry's lowercase ids (plus "scheduler") are allowed.
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class AlreadyRunning(GpuPricesError, RuntimeError):
    """Another process (or thread) holds the lock for this provider."""

    def __init__(self, name: str, owner: dict[str, Any] | None = None):
        self.provider = name
        self.owner = owner
        who = ""
        if owner:
            who = f" (pid {owner.get('pid')} on {owner.get('host')} since {owner.get('since')})"
        super().__init__(f"{name}: already running in another process{who}; not started")


def lock_path(state_dir: Path, name: str) -> Path:
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid lock name {name!r}: expected a lowercase provider id")
    return Path(state_dir) / LOCKS_DIRNAME / f"{name}.lock"


def _owner_path(state_dir: Path, name: str) -> Path:
    return lock_path(state_dir, name).with_suffix(".owner.json")


def read_owner(state_dir: Path, name: str) -> dict[str, Any] | None:
    """Who last took the lock (informational: may describe a holder that has exited)."""
    try:
        return json.loads(_owner_path(state_dir, name).read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def provider_lock(
    state_dir: Path,
    provider: str,
    *,
    blocking: bool = False,
    timeout_seconds: float | None = None,
) -> Iterator[Path]:
    """Hold the run lock for `provider` for the duration of the `with` block.

    `blocking=False` (the default) raises `AlreadyRunning` when the lock stays busy for
    `CONTENTION_GRACE_SECONDS` (a run holds it for minutes, an `is_locked` probe for
    microseconds). `blocking=True` waits, forever or up to `timeout_seconds`, then raises
    `AlreadyRunning`. Yields the lock file's path.
    """
    lock = _acquire(state_dir, provider, blocking=blocking, timeout_seconds=timeout_seconds)
    try:
        _write_owner(state_dir, provider)
        yield lock_path(state_dir, provider)
    finally:
        lock.release()


def is_locked(state_dir: Path, provider: str) -> bool:
    """True when some process holds the lock right now (a snapshot: it may change)."""
    try:
        lock = _acquire(state_dir, provider, blocking=False, timeout_seconds=None)
    except AlreadyRunning:
        return True
    lock.release()
    return False


def _acquire(
    state_dir: Path, name: str, *, blocking: bool, timeout_seconds: float | None
) -> FileLock:
    path = lock_path(state_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        if not blocking:
            lock.acquire(timeout=CONTENTION_GRACE_SECONDS, poll_interval=_POLL_SECONDS)
        else:
            lock.acquire(timeout=-1 if timeout_seconds is None else timeout_seconds)
    except Timeout:
        raise AlreadyRunning(name, read_owner(state_dir, name)) from None
    return lock


def _write_owner(state_dir: Path, name: str) -> None:
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    target = _owner_path(state_dir, name)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(owner))
        os.replace(tmp, target)
    except OSError:
        # The owner note only improves an error message; never fail a run over it.
        tmp.unlink(missing_ok=True)
