"""Published versions of a directory of immutable parts, switched by one symlink.

The layout the price view (pipelines/store/view.py) and the append-only tables
(pipelines/store/parts.py) share:

    datasets/<file>.parquet -> symlink to <root>/<name>/
    <root>/<name>/           hard links to the parts of that version (what readers list)
    <root>/<name>.json       its manifest
    <root>/parts/...         the parts, immutable, written once

`publish` makes a version visible atomically: the directory of links under a temporary
name, renamed, the manifest, then the symlink swapped with one rename(2). A reader, or a
process killed at any point, sees the previous version or the new one. `prune` then deletes
what no kept version refers to; the previous `keep_previous` versions stay for readers
still listing them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pipelines.store.atomic import write_json_atomic


def publish(
    root: Path, parts: Path, name: str, files: Iterable[str], manifest: dict[str, Any], link: Path
) -> None:
    """Publish version `name` of the parts `files` (names under `parts`) with `manifest`,
    and point `link` at it."""
    tmp = root / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in files:
        os.link(parts / f, tmp / f)
    shutil.rmtree(root / name, ignore_errors=True)  # left by a crashed attempt
    os.rename(tmp, root / name)
    write_json_atomic(manifest, root / f"{name}.json")
    # The switch: one atomic rename of a symlink (also over a plain file of a migration).
    tmp_link = link.with_name(f".{link.name}.tmp")
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(os.path.relpath(root / name, link.parent), tmp_link)
    os.replace(tmp_link, link)


def prune(
    root: Path,
    parts: Path,
    current: str,
    *,
    keep_previous: int,
    files_of: Callable[[dict[str, Any]], Iterable[str]],
    parts_glob: str = "*",
) -> None:
    """Delete version directories, manifests and parts (matching `parts_glob`) that neither
    `current` nor the `keep_previous` versions before it refer to. `files_of` lists a
    manifest's part names."""
    names = sorted(p.stem for p in root.glob("v*.json"))
    keep = set(names[-(keep_previous + 1) :]) | {current}
    referenced: set[str] = set()
    for n in names:
        path = root / f"{n}.json"
        if n in keep:
            referenced |= set(files_of(json.loads(path.read_text())))
            continue
        shutil.rmtree(root / n, ignore_errors=True)
        path.unlink(missing_ok=True)
    for p in root.glob(".v*.tmp"):
        shutil.rmtree(p, ignore_errors=True)
    for p in parts.glob(parts_glob):
        if p.name not in referenced:
            p.unlink(missing_ok=True)
