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

Manifest line validation and reading live in pipelines/ingest/manifest.py (re-exported here).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.ingest.manifest import EXTRA_SOURCES as EXTRA_SOURCES
from pipelines.ingest.manifest import MANIFEST as MANIFEST
from pipelines.ingest.manifest import SHA256_RE as SHA256_RE
from pipelines.ingest.manifest import ArchiveError as ArchiveError
from pipelines.ingest.manifest import BlobError as BlobError
from pipelines.ingest.manifest import ManifestError as ManifestError
from pipelines.ingest.manifest import MissingBlob as MissingBlob
from pipelines.ingest.manifest import _drop_torn_tail, _iso, _lines
from pipelines.ingest.manifest import check_sha256 as check_sha256
from pipelines.ingest.manifest import check_source as check_source
from pipelines.ingest.manifest import inside as inside
from pipelines.ingest.manifest import known_sources as known_sources
from pipelines.ingest.manifest import parse_ts as parse_ts
from pipelines.ingest.manifest import validate_entry as validate_entry
from scrapers.base import Response
from scrapers.http import KEPT_HEADERS, redact_url

log = logging.getLogger("pipelines.ingest.archive")

# The shipped example archive (README command 1 replays it).
EXAMPLE_ARCHIVE = Path(__file__).resolve().parents[2] / "examples" / "archive"
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchivedRun:
    provider: str
    run_id: str
    fetched_at: datetime  # earliest fetch of the run
    entries: list[dict[str, Any]]


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
