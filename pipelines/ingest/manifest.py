"""Manifest lines of the raw archive (pipelines/ingest/archive.py): validate, read, append.

Everything read back from an archive is untrusted (archives are shared and replayed by other
people): `validate_entry` checks one manifest line field by field, `check_source` and
`check_sha256` the two values paths are built from, `inside` that a path stays in its
directory. `_lines` reads a manifest tolerating a torn last line; `_drop_torn_tail` cuts one
before the next append. The errors raised are one line each (`ArchiveError` and subclasses).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapers import ecb

log = logging.getLogger("pipelines.ingest.archive")

MANIFEST = "manifest.jsonl"
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Sources archived next to the providers without being providers themselves.
EXTRA_SOURCES = (ecb.NAME,)
_MAX_TEXT = 4096  # longest url/kind/run_id/provenance a manifest line may carry


class ArchiveError(Exception):
    """Something read from an archive cannot be trusted; the message is one line."""


class ManifestError(ArchiveError):
    """A manifest line is malformed (names file:line and the field)."""


class BlobError(ArchiveError):
    """A blob does not hold the body its sha256 names."""


class MissingBlob(ArchiveError, FileNotFoundError):
    """A manifest line points at a body that is not in the archive."""


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_ts(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def known_sources() -> list[str]:
    """Every id an archive folder may have: the registered providers plus the FX source."""
    from scrapers.registry import PROVIDERS  # read at call time: tests register fakes

    return sorted(set(PROVIDERS) | set(EXTRA_SOURCES))


def check_source(name: object) -> str:
    """`name` if it is a registered provider id (or the FX source), else ArchiveError."""
    known = known_sources()
    if isinstance(name, str) and name in known:
        return name
    import difflib

    hint = difflib.get_close_matches(str(name), known, n=1)
    did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ArchiveError(
        f"unknown provider {str(name)[:80]!r}{did_you_mean} (known: {', '.join(known)})"
    )


def check_sha256(value: object) -> str:
    if isinstance(value, str) and SHA256_RE.fullmatch(value):
        return value
    raise ArchiveError(f"sha256 {str(value)[:80]!r} is not 64 lowercase hex characters")


def inside(base: Path, path: Path) -> Path:
    """`path` if it resolves inside `base` (symlinks included), else ArchiveError."""
    resolved, root = path.resolve(), base.resolve()
    if resolved != root and root not in resolved.parents:
        raise ArchiveError(f"path {path} leaves {base}")
    return path


def _text(value: object, *, empty_ok: bool = False) -> bool:
    return (
        isinstance(value, str)
        and (empty_ok or bool(value.strip()))
        and len(value) <= _MAX_TEXT
        and value.isprintable()
    )


def validate_entry(entry: object, provider: str) -> dict[str, Any]:
    """The manifest line `entry` of `provider`'s folder, or ValueError naming the field."""
    if not isinstance(entry, dict):
        raise ValueError("not a JSON object")

    def bad(field: str, why: str) -> ValueError:
        shown = json.dumps(entry.get(field), default=str)[:80]
        return ValueError(f"field {field!r} {why} (got {shown})")

    if entry.get("provider") != provider:
        raise bad("provider", f"must be {provider!r}, the folder it is in")
    for field in ("run_id", "url", "fetched_at"):
        if not _text(entry.get(field)):
            raise bad(field, "must be a non-empty one-line string")
    try:
        parse_ts(entry["fetched_at"])
    except ValueError:
        raise bad("fetched_at", "must be an ISO 8601 time") from None
    status = entry.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise bad("status", "must be an HTTP status code")
    if not _text(entry.get("kind", ""), empty_ok=True):
        raise bad("kind", "must be a one-line string")
    headers = entry.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        _text(k) and _text(v, empty_ok=True) for k, v in headers.items()
    ):
        raise bad("headers", "must map header names to strings")
    not_modified = entry.get("not_modified", False)
    if not isinstance(not_modified, bool):
        raise bad("not_modified", "must be true or false")
    sha, blob = entry.get("sha256"), entry.get("blob")
    if sha is None and not_modified and blob is None:
        pass  # a 304 whose earlier body was never archived: nothing to read
    elif not (isinstance(sha, str) and SHA256_RE.fullmatch(sha)):
        raise bad("sha256", "must be 64 lowercase hex characters")
    if blob is None and not not_modified:
        raise bad("blob", "must name the stored body of a response that has one")
    if blob is not None and blob != f"blobs/{sha[:2]}/{sha}.gz":  # type: ignore[index]
        raise bad("blob", "must be blobs/<sha256[:2]>/<sha256>.gz of this line's sha256")
    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise bad("size", "must be a byte count")
    if "provenance" in entry and not _text(entry["provenance"]):
        raise bad("provenance", "must be a non-empty one-line string")
    return entry


def _drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (a run killed mid-append) before appending after it.

    Appending after the fragment would glue the next line onto it and turn a tolerated torn
    tail into a malformed line in the middle of the manifest.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        fh.seek(0)
        content = fh.read()
        keep = content.rfind(b"\n") + 1  # 0 when the fragment is the only line
        log.warning("%s: dropping torn last line (%d bytes)", path, len(content) - keep)
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())


def _lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, is a torn last line) for each non-blank line of a manifest."""
    data = path.read_text(encoding="utf-8", errors="replace")
    lines = data.split("\n")
    last = len(lines)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        # Only the final fragment, with no newline after it, can be a torn append.
        yield n, line.strip(), n == last and not data.endswith("\n")
