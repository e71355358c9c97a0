"""The raw archive: every response body verbatim, gzip-compressed, content-addressed.

Layout (one folder per provider id; the same id as the module and the `provider` column):

    <archive>/<provider>/manifest.jsonl                 one JSON line per response fetched
    <archive>/<provider>/blobs/<sha256[:2]>/<sha256>.gz the body, stored once per content

A manifest line: run_id, provider, url (redacted), status, headers (ETag, Last-Modified,
Date, Content-Type, Content-Length only), fetched_at (UTC ISO), sha256 and size of the
uncompressed body, kind, blob (relative path), not_modified. An unchanged body is not
stored twice: its line points at the existing blob. Lines are appended and fsynced one
by one; a torn last line from a killed run is ignored on read.

`--replay ARCHIVE_DIR` reads this back: one group of responses per (provider, run_id), in
time order, each with its recorded fetched_at as the observation time.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapers.base import Response
from scrapers.http import KEPT_HEADERS, redact_url

log = logging.getLogger("pipelines.ingest.archive")

MANIFEST = "manifest.jsonl"


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


class Archive:
    def __init__(self, root: Path):
        self.root = Path(root)

    # --- writing -------------------------------------------------------------------
    def blob_path(self, provider: str, sha256: str) -> Path:
        return self.root / provider / "blobs" / sha256[:2] / f"{sha256}.gz"

    def store(self, run_id: str, provider: str, response: Response) -> dict[str, Any]:
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
        if response.not_modified:
            sha = response.sha256_hex
            if sha and self.blob_path(provider, sha).exists():
                entry.update(sha256=sha, blob=self._rel(provider, sha), size=None)
            else:
                entry.update(sha256=sha, blob=None, size=None)
        else:
            sha, size = self._write_blob(provider, response)
            entry.update(sha256=sha, size=size, blob=self._rel(provider, sha))
        self._append(provider, entry)
        return entry

    def _rel(self, provider: str, sha: str) -> str:
        return str(self.blob_path(provider, sha).relative_to(self.root / provider))

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
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                size += len(chunk)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(".tmp")
            if response.body_path_gzip:
                shutil.copyfile(response.body_path, tmp)  # type: ignore[arg-type]
            else:
                with open(response.body_path, "rb") as src, gzip.open(tmp, "wb") as out:  # type: ignore[arg-type]
                    shutil.copyfileobj(src, out, 1 << 20)
            os.replace(tmp, dest)
        return sha, size

    def _append(self, provider: str, entry: dict[str, Any]) -> None:
        path = self.root / provider / MANIFEST
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True) + "\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    # --- reading -------------------------------------------------------------------
    def providers(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / MANIFEST).is_file())

    def entries(self, provider: str) -> list[dict[str, Any]]:
        path = self.root / provider / MANIFEST
        if not path.is_file():
            return []
        out = []
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    log.warning("%s: skipping torn manifest line %d", path, n)
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

    def response(self, provider: str, entry: dict[str, Any]) -> Response:
        """The archived response of a manifest line (bodies stay on disk, gzip-compressed)."""
        sha = entry.get("sha256")
        if not sha or not self.blob_path(provider, sha).exists():
            raise FileNotFoundError(
                f"{provider}: archived body {sha} for {entry.get('url')} is missing"
            )
        return Response(
            url=entry["url"],
            fetched_at=parse_ts(entry["fetched_at"]),
            status=int(entry.get("status") or 200),
            headers=entry.get("headers") or {},
            body_path=self.blob_path(provider, sha),
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
    ) -> dict[str, Any]:
        """Archive a recorded file as if it had been fetched (used to build examples/archive)."""
        body = Path(path).read_bytes()
        resp = Response(
            url=url,
            fetched_at=fetched_at,
            body=body,
            status=status,
            headers=headers or {},
            kind=kind,
        )
        return self.store(run_id, provider, resp)
