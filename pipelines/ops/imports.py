"""`scrape import FORMAT`: third-party catalog versions into the same path as a scrape.

Every version of a catalog (a file given on the command line, or the blob of PATH at each
commit of a git repository) is archived like a fetched response, with its observation time
(`--observed-at`, or the commit time) as `fetched_at` and its provenance (repository, path,
commit, commit time, sha256 and size of the original blob) in the manifest line. Then the
provider is replayed from that archive: parse -> gate -> history -> change events ->
publish, oldest version first, exactly as `scrape run --replay` does.

Idempotent and resumable: each version's archive run id is derived from its commit (or, in
file mode, from the content and time), so a version already in the archive is skipped, and
the replay of versions already merged changes nothing. An interrupted import is simply
started again.

Git is read with git itself (`git log`, `git ls-tree`, `git cat-file --batch`): no checkout.
A blob missing from a partial clone or snapshot (the newest Cyclenerd pricing.yml versions
are over 4 MiB and absent from some mirrors) is skipped with one line, never a crash.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipelines.config import Config
from pipelines.ingest.archive import Archive, parse_ts
from pipelines.ops.report import RunReport
from scrapers.base import Response
from scrapers.imports.formats import FORMATS

log = logging.getLogger("pipelines.ops.imports")


class ImportError_(Exception):
    """A bad import request (unknown format, provider, repository); one line."""


@dataclass(frozen=True)
class SnapshotFile:
    path: str
    body: bytes
    blob_sha256: str  # of the original bytes, before any excerpt
    size: int


@dataclass
class Snapshot:
    """One version of a catalog: one or more files observed at one time."""

    key: str  # stable id: commit sha, or content hash in file mode
    observed_at: datetime
    files: list[SnapshotFile] = field(default_factory=list)
    source: str = ""  # repository URL or "file"
    commit: str | None = None
    window: str | None = None  # the part of a records file (ImportFormat.split), e.g. "2019"


@dataclass
class ImportResult:
    imported: int = 0
    skipped_known: int = 0
    skipped_missing: list[str] = field(default_factory=list)
    report: RunReport | None = None


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise ImportError_(f"git {' '.join(args[:2])} in {repo}: {proc.stderr.strip()[:200]}")
    return proc.stdout


def git_dir(repo: Path) -> Path:
    """The git directory of a work tree or bare repository."""
    repo = Path(repo)
    if (repo / ".git").exists():
        return repo / ".git"
    if (repo / "objects").is_dir() and (repo / "HEAD").is_file():
        return repo
    raise ImportError_(f"{repo}: not a git repository")


def _remote_url(gdir: Path) -> str:
    try:
        return _git(gdir, "config", "--get", "remote.origin.url").strip()
    except ImportError_:  # no remote configured
        return ""


class _CatFile:
    """One `git cat-file --batch` process for all blobs of an import."""

    def __init__(self, gdir: Path):
        self.proc = subprocess.Popen(
            ["git", "--git-dir", str(gdir), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def read(self, spec: str) -> bytes | None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(spec.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) < 3 or header[-1] == b"missing":
            return None
        size = int(header[2])
        body = self.proc.stdout.read(size)
        self.proc.stdout.read(1)  # the newline after the content
        return body

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def _literal_dir(pattern: str) -> str:
    head = pattern.split("*")[0].split("?")[0].split("[")[0]
    return head.rsplit("/", 1)[0] + "/" if "/" in head else "."


def git_snapshots(
    repo: Path,
    paths: Sequence[str],
    *,
    since: str | None = None,
    on_missing: Callable[[str], None] = lambda line: None,
    source_url: str | None = None,
    default_source: str | None = None,
) -> Iterator[Snapshot]:
    """Every commit that touched one of `paths` (globs allowed), oldest first, with the
    matching files as they were at that commit.

    Provenance names the repository by `source_url`, else its `origin` remote, else
    `default_source` (the format's home repository): never a local path, which means
    nothing to anyone else."""
    gdir = git_dir(repo)
    source = source_url or _remote_url(gdir) or default_source or gdir.resolve().name
    args = ["log", "--reverse", "--format=%H %cI"]
    if since:
        args.append(f"--since={since}")
    pathspecs = [f":(glob){p}" for p in paths]
    # ls-tree takes no glob pathspecs: list the literal folders, then match the names.
    prefixes = sorted({_literal_dir(p) for p in paths})
    commits = [line.split() for line in _git(gdir, *args, "--", *pathspecs).splitlines() if line]
    cat = _CatFile(gdir)
    try:
        for commit, when in commits:
            listed = _git(gdir, "ls-tree", "-r", "--name-only", commit, "--", *prefixes)
            names = [n for n in listed.splitlines() if any(fnmatch.fnmatch(n, p) for p in paths)]
            snap = Snapshot(commit, parse_ts(when), source=source, commit=commit)
            missing = []
            for name in sorted(names):
                body = cat.read(f"{commit}:{name}")
                if body is None:
                    missing.append(name)
                    continue
                snap.files.append(
                    SnapshotFile(name, body, hashlib.sha256(body).hexdigest(), len(body))
                )
            if missing:
                # A partial snapshot would look like withdrawn offers: skip the version.
                on_missing(
                    f"{source} {commit[:12]} ({when}): blob {', '.join(missing)} is not in "
                    "this repository copy (too large for the snapshot?): version skipped"
                )
                continue
            if snap.files:
                yield snap
    finally:
        cat.close()


def file_snapshot(files: Sequence[Path], observed_at: datetime) -> Snapshot:
    h = hashlib.sha256(observed_at.isoformat().encode())
    out = []
    for f in files:
        body = Path(f).read_bytes()
        sha = hashlib.sha256(body).hexdigest()
        h.update(sha.encode())
        out.append(SnapshotFile(Path(f).name, body, sha, len(body)))
    return Snapshot(h.hexdigest(), observed_at, out, source="file")


def split_snapshots(
    fmt: str, files: Sequence[Path], *, on_skip: Callable[[str], None] = lambda line: None
) -> list[Snapshot]:
    """The snapshots a file of dated records holds (`ImportFormat.split`), oldest first.

    Each is keyed by its window and content, so re-importing the file adds nothing and a
    window whose records changed becomes a new version of that window. Provenance names
    the format's home (the records file) and the sha256 of the whole file imported."""
    spec = FORMATS[fmt]
    if spec.split is None:
        raise ImportError_(f"format {fmt} reads one catalog version per file: give --observed-at")
    out = []
    for f in files:
        whole = Path(f).read_bytes()
        sha = hashlib.sha256(whole).hexdigest()
        for part in spec.split(whole):
            if part.observed_at is None:
                on_skip(f"{Path(f).name} window {part.label}: {part.skipped}; no snapshot")
                continue
            key = hashlib.sha256(f"{fmt}|{part.label}|{part.observed_at.isoformat()}|".encode())
            key.update(part.body)
            out.append(
                Snapshot(
                    key.hexdigest(),
                    part.observed_at,
                    [SnapshotFile(Path(f).name, part.body, sha, len(whole))],
                    source=spec.source,
                    window=part.label,
                )
            )
    return sorted(out, key=lambda s: s.observed_at)


def _run_id(snap: Snapshot) -> str:
    return f"import-{snap.key[:16]}"


def archive_snapshots(
    fmt: str,
    provider: str,
    snapshots: Iterator[Snapshot] | Sequence[Snapshot],
    archive_dir: Path,
    *,
    excerpt: bool = False,
    on_skip: Callable[[str], None] = lambda line: None,
) -> ImportResult:
    """Store each new snapshot as one archive run of `provider`; skip known ones.

    With `excerpt`, a version the format's excerpt cannot read (a commit that broke the
    file) is skipped with one line: there is no excerpt to ship, and the original stays
    out of the repository. Without it the original is archived and its replay fails that
    run with the parser's one-line error, like a broken live response."""
    spec = FORMATS[fmt]
    archive = Archive(archive_dir)
    known = {e["run_id"] for e in archive.entries(provider)}
    result = ImportResult()
    for snap in snapshots:
        run_id = _run_id(snap)
        if run_id in known:
            result.skipped_known += 1
            continue
        bodies: list[tuple[SnapshotFile, bytes]] = []
        for f in snap.files:
            body = f.body
            if excerpt and spec.excerpt is not None:
                try:
                    body = spec.excerpt(f.body)
                except (ValueError, UnicodeDecodeError) as exc:
                    on_skip(
                        f"{snap.source} {f.path} @ {snap.commit or snap.key[:12]}: no excerpt "
                        f"({' '.join(str(exc).split())[:120]}): version skipped"
                    )
                    result.skipped_missing.append(snap.key)
                    bodies = []
                    break
            bodies.append((f, body))
        if not bodies:
            continue
        trimmed = f"; excerpt: {spec.excerpt_note}" if excerpt and spec.excerpt else ""
        for f, body in bodies:
            if snap.commit:
                url = f"{snap.source.removesuffix('.git')}/blob/{snap.commit}/{f.path}"
                where = f"{snap.source} {f.path} @ {snap.commit}"
            elif snap.window:
                url = f"{snap.source}#{snap.window}"
                where = f"{snap.source} window {snap.window}"
            else:
                url = f"file:{f.path}"
                where = f"file {f.path}"
            provenance = (
                f"{where} (observed {snap.observed_at.isoformat()}): original blob sha256 "
                f"{f.blob_sha256}, {f.size} bytes; imported as {fmt}{trimmed}"
            )
            archive.store(
                run_id,
                provider,
                Response(url=url, fetched_at=snap.observed_at, body=body, kind=f"import:{fmt}"),
                provenance=provenance,
            )
        known.add(run_id)
        result.imported += 1
    return result


def run_import(
    fmt: str,
    provider: str,
    snapshots: Iterator[Snapshot] | Sequence[Snapshot],
    *,
    config: Config,
    archive_dir: Path | None = None,
    excerpt: bool = False,
    publish: bool = True,
    on_skip: Callable[[str], None] = lambda line: None,
) -> ImportResult:
    """Archive the new snapshots, then replay `provider` from that archive and publish."""
    from pipelines.ops.run import run_providers
    from scrapers.registry import PROVIDERS

    if fmt not in FORMATS:
        raise ImportError_(f"unknown format {fmt!r}; known: {', '.join(sorted(FORMATS))}")
    if provider not in FORMATS[fmt].providers or provider not in PROVIDERS:
        raise ImportError_(
            f"format {fmt} feeds {', '.join(FORMATS[fmt].providers)}, not {provider!r}"
        )
    archive_dir = Path(archive_dir or config.archive_dir)
    result = archive_snapshots(
        fmt, provider, snapshots, archive_dir, excerpt=excerpt, on_skip=on_skip
    )
    if publish:
        result.report = run_providers([provider], config=config, replay=archive_dir)
    return result
