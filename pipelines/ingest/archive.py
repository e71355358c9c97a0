"""The raw archive: every response body verbatim, gzip-compressed, content-addressed.

Layout (one folder per provider id; the same id as the module and the `provider` column):

    <archive>/<provider>/manifest.jsonl                 one JSON line per response fetched
    <archive>/<provider>/blobs/<sha256[:2]>/<sha256>.gz the body, stored once per content

A manifest line: run_id, provider, url (redacted), status, headers (ETag, Last-Modified,
Date, Content-Type, Content-Length only), fetched_at (UTC ISO), sha256 and size of the
uncompressed body, kind, blob (relative path), not_modified, and for recordings added by
hand (`scrape archive add`, the shipped example) `provenance`: where the body was recorded.
An unchanged body is not stored twice: its line points at the existing blob. Lines are
appended and fsynced one by one; a torn last line from a killed run is ignored on read.

Archives are shared and replayed by other people, so everything read back is untrusted:

- every manifest line is validated when read (`validate_entry`): `sha256` is exactly 64
  lowercase hex characters, `provider` is a registered id and matches its folder, the other
  fields have their types. A bad line fails that provider with one line naming file:line
  (`ManifestError`); it is not skipped, because replaying around a missing response would
  publish a partial snapshot as if it were the whole source.
- no path is built from anything but a validated provider id and a validated sha256, and
  every path is checked to stay inside its directory.
- a blob is hashed when read and must match the sha256 that names it (`BlobError`,
  "sha256 mismatch"): a body edited in place is never published under its old hash.

`--replay ARCHIVE_DIR` reads this back: one group of responses per (provider, run_id), in
time order, each with its recorded fetched_at as the observation time.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import shutil
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapers import ecb
from scrapers.base import Response
from scrapers.http import KEPT_HEADERS, redact_url

log = logging.getLogger("pipelines.ingest.archive")

MANIFEST = "manifest.jsonl"
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Sources archived next to the providers without being providers themselves.
EXTRA_SOURCES = (ecb.NAME,)
# The shipped example archive (README command 1 replays it).
EXAMPLE_ARCHIVE = Path(__file__).resolve().parents[2] / "examples" / "archive"
_READ_CHUNK = 1 << 20
_MAX_TEXT = 4096  # longest url/kind/run_id/provenance a manifest line may carry


class ArchiveError(Exception):
    """Something read from an archive cannot be trusted; the message is one line."""


class ManifestError(ArchiveError):
    """A manifest line is malformed (names file:line and the field)."""


class BlobError(ArchiveError):
    """A blob does not hold the body its sha256 names."""


class MissingBlob(ArchiveError, FileNotFoundError):
    """A manifest line points at a body that is not in the archive."""


@dataclass(frozen=True)
class ArchivedRun:
    provider: str
    run_id: str
    fetched_at: datetime  # earliest fetch of the run
    entries: list[dict[str, Any]]


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


class Archive:
    def __init__(self, root: Path):
        self.root = Path(root)
        # Blobs already hashed by this process, keyed by what would change if one were
        # rewritten: a replay of a long archive reads an unchanged AWS file in many runs.
        self._verified: dict[tuple[str, int, int, int], str] = {}

    # --- paths ---------------------------------------------------------------------
    def provider_dir(self, provider: str) -> Path:
        return inside(self.root, self.root / check_source(provider))

    def blob_path(self, provider: str, sha256: str) -> Path:
        base = self.provider_dir(provider)
        sha = check_sha256(sha256)
        return inside(base, base / "blobs" / sha[:2] / f"{sha}.gz")

    def manifest_path(self, provider: str) -> Path:
        return self.provider_dir(provider) / MANIFEST

    # --- writing -------------------------------------------------------------------
    def store(
        self,
        run_id: str,
        provider: str,
        response: Response,
        *,
        provenance: str | None = None,
    ) -> dict[str, Any]:
        """Archive one response (body once per content) and append its manifest line."""
        entry: dict[str, Any] = {
            "run_id": run_id,
            "provider": provider,
            "url": redact_url(response.url),
            "status": response.status,
            "headers": {k: v for k, v in response.headers.items() if k.lower() in KEPT_HEADERS},
            "fetched_at": _iso(response.fetched_at),
            "kind": response.kind,
            "not_modified": bool(response.not_modified),
        }
        if provenance is not None:
            entry["provenance"] = provenance
        if response.not_modified:
            sha = response.sha256_hex
            if sha and self.blob_path(provider, sha).exists():
                entry.update(sha256=sha, blob=self._rel(provider, sha), size=None)
            else:
                entry.update(sha256=sha, blob=None, size=None)
        else:
            sha, size = self._write_blob(provider, response)
            entry.update(sha256=sha, size=size, blob=self._rel(provider, sha))
        validate_entry(entry, provider)  # never write a line the reader would refuse
        self._append(provider, entry)
        return entry

    def _rel(self, provider: str, sha: str) -> str:
        return self.blob_path(provider, sha).relative_to(self.provider_dir(provider)).as_posix()

    def _write_blob(self, provider: str, response: Response) -> tuple[str, int]:
        if response.body is not None:
            body = response.body
            sha = hashlib.sha256(body).hexdigest()
            dest = self.blob_path(provider, sha)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_suffix(".tmp")
                with gzip.open(tmp, "wb", compresslevel=6) as fh:
                    fh.write(body)
                os.replace(tmp, dest)
            return sha, len(body)
        # Streamed bodies are already gzip files on disk with a known sha256.
        sha = response.sha256
        dest = self.blob_path(provider, sha)
        size = 0
        with response.open() as fh:
            for chunk in iter(lambda: fh.read(_READ_CHUNK), b""):
                size += len(chunk)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(".tmp")
            if response.body_path_gzip:
                shutil.copyfile(response.body_path, tmp)  # type: ignore[arg-type]
            else:
                with open(response.body_path, "rb") as src, gzip.open(tmp, "wb") as out:  # type: ignore[arg-type]
                    shutil.copyfileobj(src, out, _READ_CHUNK)
            os.replace(tmp, dest)
        return sha, size

    def _append(self, provider: str, entry: dict[str, Any]) -> None:
        path = self.manifest_path(provider)
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(path)
        line = json.dumps(entry, sort_keys=True) + "\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    # --- reading -------------------------------------------------------------------
    def providers(self) -> list[str]:
        """Registered ids with a manifest here (other folders are reported by verify)."""
        if not self.root.is_dir():
            return []
        known = set(known_sources())
        return sorted(
            p.name for p in self.root.iterdir() if p.name in known and (p / MANIFEST).is_file()
        )

    def entries(self, provider: str) -> list[dict[str, Any]]:
        """The validated manifest lines of `provider`; ManifestError on the first bad one.

        Only a torn *last* line (a JSON fragment without its newline: a run killed while
        appending) is skipped, with a warning.
        """
        try:
            path = self.manifest_path(provider)
        except ArchiveError as exc:
            raise ManifestError(str(exc)) from None
        if not path.is_file():
            return []
        out = []
        for n, line, torn in _lines(path):
            try:
                out.append(validate_entry(json.loads(line), provider))
            except json.JSONDecodeError:
                if torn:
                    log.warning("%s: skipping torn manifest line %d", path, n)
                    continue
                raise ManifestError(f"{provider}: {path}:{n}: not valid JSON") from None
            except ValueError as exc:
                raise ManifestError(f"{provider}: {path}:{n}: {exc}") from None
        return out

    def runs(self, provider: str) -> list[ArchivedRun]:
        groups: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        for e in self.entries(provider):
            groups.setdefault(e["run_id"], []).append(e)
        runs = [
            ArchivedRun(provider, rid, min(parse_ts(e["fetched_at"]) for e in es), es)
            for rid, es in groups.items()
        ]
        return sorted(runs, key=lambda r: (r.fetched_at, r.run_id))

    def previous(self, provider: str) -> dict[str, dict[str, Any]]:
        """Last archived entry with a body for each URL (for conditional requests)."""
        prev: dict[str, dict[str, Any]] = {}
        for e in self.entries(provider):
            if e.get("sha256") and e.get("blob"):
                prev[e["url"]] = {
                    "url": e["url"],
                    "sha256": e["sha256"],
                    "etag": (e.get("headers") or {}).get("etag"),
                    "last_modified": (e.get("headers") or {}).get("last-modified"),
                    "fetched_at": e["fetched_at"],
                }
        return prev

    def verify_blob(self, provider: str, sha256: str) -> Path:
        """The blob's path once its decompressed body hashes to `sha256` (else BlobError)."""
        path = self.blob_path(provider, sha256)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise MissingBlob(f"{provider}: archived body {sha256} is missing") from None
        key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
        if self._verified.get(key) == sha256:
            return path
        h = hashlib.sha256()
        try:
            with gzip.open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(_READ_CHUNK), b""):
                    h.update(chunk)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise BlobError(
                f"{provider}: {self._rel(provider, sha256)}: unreadable gzip "
                f"({' '.join(str(exc).split()) or type(exc).__name__})"
            ) from None
        actual = h.hexdigest()
        if actual != sha256:
            raise BlobError(
                f"{provider}: {self._rel(provider, sha256)}: sha256 mismatch "
                f"(body hashes to {actual}): the blob was changed after it was archived"
            )
        self._verified[key] = sha256
        return path

    def response(self, provider: str, entry: dict[str, Any]) -> Response:
        """The archived response of a manifest line, its body verified against its sha256.

        Bodies stay on disk, gzip-compressed; the hash is computed streaming.
        """
        sha = entry.get("sha256")
        if not sha:
            raise MissingBlob(
                f"{provider}: archived body for {entry.get('url')} is missing (no sha256)"
            )
        path = self.verify_blob(provider, sha)
        return Response(
            url=entry["url"],
            fetched_at=parse_ts(entry["fetched_at"]),
            status=int(entry.get("status") or 200),
            headers=entry.get("headers") or {},
            body_path=path,
            body_path_gzip=True,
            sha256_hex=sha,
            kind=entry.get("kind") or "",
        )

    def iter_responses(self, run: ArchivedRun) -> Iterator[Response]:
        for e in run.entries:
            yield self.response(run.provider, e)

    def add_file(
        self,
        provider: str,
        path: Path,
        *,
        url: str,
        fetched_at: datetime,
        run_id: str,
        kind: str = "",
        status: int = 200,
        headers: dict[str, str] | None = None,
        provenance: str | None = None,
    ) -> dict[str, Any]:
        """Archive a recorded file as if it had been fetched (used to build examples/archive).

        `provenance` says where the recording comes from (repository + path + commit, or
        URL + capture date) and what, if anything, was rebuilt around it.
        """
        check_source(provider)
        body = Path(path).read_bytes()
        resp = Response(
            url=url,
            fetched_at=fetched_at,
            body=body,
            status=status,
            headers=headers or {},
            kind=kind,
        )
        return self.store(run_id, provider, resp, provenance=provenance)

    # --- checking ------------------------------------------------------------------
    def verify(self) -> tuple[list[str], dict[str, int]]:
        """Check every manifest line and every blob; (problems, counts). One line each."""
        problems: list[str] = []
        counts = {"providers": 0, "lines": 0, "blobs": 0}
        if not self.root.is_dir():
            return [f"{self.root}: no such archive directory"], counts
        known = set(known_sources())
        for d in sorted(self.root.iterdir()):
            if not d.is_dir():
                continue
            if d.name not in known:
                problems.append(f"{d}: not a registered provider id; its files are never read")
                continue
            counts["providers"] += 1
            self._verify_manifest(d.name, problems, counts)
            self._verify_blobs(d.name, problems, counts)
        return problems, counts

    def _verify_manifest(self, provider: str, problems: list[str], counts: dict) -> None:
        path = self.manifest_path(provider)
        if not path.is_file():
            problems.append(f"{path}: missing")
            return
        for n, line, torn in _lines(path):
            counts["lines"] += 1
            try:
                entry = validate_entry(json.loads(line), provider)
            except json.JSONDecodeError:
                what = "torn last line (run killed while writing)" if torn else "not valid JSON"
                problems.append(f"{provider}: {path}:{n}: {what}")
                continue
            except ValueError as exc:
                problems.append(f"{provider}: {path}:{n}: {exc}")
                continue
            if entry.get("blob"):
                if not self.blob_path(provider, entry["sha256"]).is_file():
                    problems.append(f"{provider}: {path}:{n}: blob {entry['blob']} is missing")

    def _verify_blobs(self, provider: str, problems: list[str], counts: dict) -> None:
        blobs = self.provider_dir(provider) / "blobs"
        if not blobs.is_dir():
            return
        # A blob no line refers to (a run killed between blob and line) is harmless: the
        # next fetch of that body points at it. Leftover .tmp files are half-written blobs.
        for f in sorted(p for p in blobs.rglob("*") if p.is_file() and p.suffix != ".tmp"):
            rel = f.relative_to(self.provider_dir(provider)).as_posix()
            sha = f.name.removesuffix(".gz")
            if not (
                f.name.endswith(".gz") and SHA256_RE.fullmatch(sha) and f.parent.name == sha[:2]
            ):
                problems.append(f"{provider}: {rel}: not a blob name (blobs/<2>/<sha256>.gz)")
                continue
            counts["blobs"] += 1
            try:
                self.verify_blob(provider, sha)
            except ArchiveError as exc:
                problems.append(str(exc))


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


def example_coverage(root: Path = EXAMPLE_ARCHIVE) -> dict[str, list[str]]:
    """Provider id -> the provenance of each response in the shipped example archive."""
    arch = Archive(root)
    out: dict[str, list[str]] = {}
    for provider in arch.providers():
        try:
            out[provider] = [e.get("provenance", "") for e in arch.entries(provider)]
        except ArchiveError as exc:
            log.warning("example archive: %s", exc)
    return out
