"""Per-provider run locks: exclusive within a process and across processes, never stale."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pipelines.store.locks import AlreadyRunning, is_locked, lock_path, provider_lock, read_owner

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.store.locks import provider_lock
    with provider_lock(Path(sys.argv[1]), sys.argv[2]):
        print("held", flush=True)
        time.sleep(60)
    """
)


def _hold_in_subprocess(state_dir: Path, provider: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state_dir), provider],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_holder_in_same_process_is_refused(tmp_path: Path) -> None:
    with provider_lock(tmp_path, "azure") as path:
        assert path == lock_path(tmp_path, "azure")
        assert is_locked(tmp_path, "azure")
        with pytest.raises(AlreadyRunning) as exc:
            with provider_lock(tmp_path, "azure"):
                pass
        assert exc.value.provider == "azure"
        assert f"pid {os.getpid()}" in str(exc.value)
        # Other providers are independent.
        with provider_lock(tmp_path, "aws"):
            pass
    assert not is_locked(tmp_path, "azure")
    with provider_lock(tmp_path, "azure"):
        pass


def test_a_status_probe_holding_the_lock_for_an_instant_does_not_block_a_run(
    tmp_path: Path,
) -> None:
    # `is_locked` takes the lock briefly; a run starting at that moment must still start.
    probing = threading.Event()

    def probe() -> None:
        with provider_lock(tmp_path, "azure"):
            probing.set()
            time.sleep(0.1)

    t = threading.Thread(target=probe)
    t.start()
    assert probing.wait(2)
    with provider_lock(tmp_path, "azure"):
        pass
    t.join()


def test_blocking_lock_gives_up_after_its_timeout(tmp_path: Path) -> None:
    with provider_lock(tmp_path, "azure"):
        t0 = time.monotonic()
        with pytest.raises(AlreadyRunning):
            with provider_lock(tmp_path, "azure", blocking=True, timeout_seconds=0.3):
                pass
        assert time.monotonic() - t0 >= 0.25


def test_another_process_cannot_take_a_held_lock(tmp_path: Path) -> None:
    proc = _hold_in_subprocess(tmp_path, "azure")
    try:
        with pytest.raises(AlreadyRunning) as exc:
            with provider_lock(tmp_path, "azure"):
                pass
        assert exc.value.owner is not None and exc.value.owner["pid"] == proc.pid
        assert f"pid {proc.pid}" in str(exc.value)
        assert is_locked(tmp_path, "azure")
        # is_locked must not overwrite the holder's owner note.
        assert read_owner(tmp_path, "azure")["pid"] == proc.pid  # type: ignore[index]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    proc = _hold_in_subprocess(tmp_path, "azure")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The kernel released the flock with the process: no manual cleanup needed.
    with provider_lock(tmp_path, "azure"):
        assert read_owner(tmp_path, "azure")["pid"] == os.getpid()  # type: ignore[index]


def test_lock_names_are_provider_ids(tmp_path: Path) -> None:
    for bad in ("../etc", "Azure", "", "a/b"):
        with pytest.raises(ValueError):
            lock_path(tmp_path, bad)
