"""The archive as a user handles it: `scrape archive add`, `scrape archive verify`, and the
validation of everything read back (issue 16, findings 1, 2, 9 and 11)."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.ingest.archive import (
    Archive,
    ArchiveError,
    BlobError,
    ManifestError,
    validate_entry,
)
from scrapers.base import Response

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "examples" / "archive"
LINODE_BODY = next((ROOT / "tests" / "fixtures" / "linode").glob("*.json"))
URL = "https://api.linode.com/v4beta/linode/types?page=1"
WHEN = datetime(2024, 7, 11, tzinfo=UTC)


def _add(archive: Path, provider: str, *extra: str):
    return CliRunner().invoke(
        app,
        [
            "archive",
            "add",
            str(archive),
            provider,
            str(LINODE_BODY),
            "--url",
            URL,
            "--fetched-at",
            "2024-07-11T00:00:00Z",
            "--run-id",
            "r1",
            *extra,
        ],
    )


def _entry(**changes) -> dict:
    entry = {
        "run_id": "r1",
        "provider": "linode",
        "url": URL,
        "status": 200,
        "headers": {"etag": '"abc"'},
        "fetched_at": "2024-07-11T00:00:00Z",
        "kind": "linode-types",
        "not_modified": False,
        "sha256": "a" * 64,
        "size": 10,
        "blob": f"blobs/aa/{'a' * 64}.gz",
        "provenance": "somewhere @ 0123abc",
    }
    entry.update(changes)
    return entry


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sha256", "../../x"),
        ("sha256", "A" * 64),  # upper case: not what we write
        ("sha256", "a" * 63),
        ("sha256", None),
        ("provider", "../linode"),
        ("provider", "azure"),  # registered, but not this folder
        ("url", 5),
        ("url", "https://x/\nInjected: header"),
        ("status", "200"),
        ("status", True),
        ("fetched_at", "yesterday"),
        ("kind", ["x"]),
        ("headers", {"etag": 1}),
        ("not_modified", "no"),
        ("size", -1),
        ("blob", "../../../etc/passwd"),
        ("provenance", ""),
        ("run_id", ""),
    ],
)
def test_finding_01_manifest_fields_are_validated(field, value):
    with pytest.raises(ValueError, match=repr(field)):
        validate_entry(_entry(**{field: value}), "linode")
    validate_entry(_entry(), "linode")  # the unchanged line is fine


def test_finding_01_paths_are_built_from_validated_ids_only(tmp_path):
    arch = Archive(tmp_path / "archive")
    for provider, sha in (("../x", "a" * 64), ("/etc", "a" * 64), ("linode", "../../x")):
        with pytest.raises(ArchiveError):
            arch.blob_path(provider, sha)
    with pytest.raises(ManifestError, match="unknown provider"):
        arch.entries("../x")
    assert list(tmp_path.rglob("*")) == []


def test_finding_11_archive_add_rejects_path_like_provider_names(tmp_path):
    archive = tmp_path / "nest" / "archive"
    for name in ("../x", str(tmp_path / "abs"), "linode/../../x", ""):
        result = _add(archive, name, "--provenance", "p")
        assert result.exit_code == 2, result.output
        lines = [x for x in result.output.splitlines() if x.strip()]
        assert len(lines) == 1 and "unknown provider" in lines[0], result.output
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing written anywhere
    typo = _add(archive, "linod", "--provenance", "p")
    assert typo.exit_code == 2 and "did you mean 'linode'" in typo.output


def test_archive_add_requires_provenance_and_records_it(tmp_path):
    archive = tmp_path / "archive"
    missing = _add(archive, "linode")
    assert missing.exit_code == 2 and "--provenance" in missing.output
    blank = _add(archive, "linode", "--provenance", "   ")
    assert blank.exit_code == 2
    ok = _add(archive, "linode", "--provenance", "linode/linodego cassette @ a2241c8f")
    assert ok.exit_code == 0, ok.output
    (entry,) = Archive(archive).entries("linode")
    assert entry["provenance"] == "linode/linodego cassette @ a2241c8f"
    assert entry["sha256"] == hashlib.sha256(LINODE_BODY.read_bytes()).hexdigest()


def test_finding_02_blobs_are_verified_when_read(tmp_path):
    arch = Archive(tmp_path / "archive")
    entry = arch.add_file("linode", LINODE_BODY, url=URL, fetched_at=WHEN, run_id="r1")
    assert arch.response("linode", entry).read() == LINODE_BODY.read_bytes()
    blob = arch.blob_path("linode", entry["sha256"])
    blob.write_bytes(gzip.compress(LINODE_BODY.read_bytes().replace(b"1.5", b"0.1")))
    with pytest.raises(BlobError, match="sha256 mismatch"):
        Archive(arch.root).response("linode", entry)
    blob.write_bytes(b"not gzip at all")
    with pytest.raises(BlobError, match="unreadable gzip"):
        Archive(arch.root).response("linode", entry)


def test_streamed_gzip_body_is_verified_without_loading_it(tmp_path):
    # AWS offer files arrive as gzip files on disk; the archive hashes them in chunks.
    body = b'{"products": {}}' + b" " * (3 << 20)
    src = tmp_path / "body.gz"
    src.write_bytes(gzip.compress(body))
    sha = hashlib.sha256(body).hexdigest()
    resp = Response(
        url="https://example.test/offer.json",
        fetched_at=WHEN,
        body_path=src,
        body_path_gzip=True,
        sha256_hex=sha,
        kind="offer-file",
    )
    arch = Archive(tmp_path / "archive")
    entry = arch.store("r1", "aws", resp)
    assert arch.verify_blob("aws", sha) == arch.blob_path("aws", sha)
    assert entry["size"] == len(body)


def _verify(path: Path):
    return CliRunner().invoke(app, ["archive", "verify", str(path)])


def test_finding_02_archive_verify_reports_one_line_per_problem(tmp_path):
    clean = _verify(EXAMPLE)
    assert clean.exit_code == 0, clean.output
    assert "all good" in clean.output

    archive = tmp_path / "archive"
    for p in ("linode", "vultr", "oracle"):
        shutil.copytree(EXAMPLE / p, archive / p)
    # 1: a blob edited in place; 2: a manifest line with a crafted sha256; 3: a line that
    # is not JSON; 4: a folder that is no provider; 5: a blob whose line was deleted is fine.
    linode_blob = next((archive / "linode" / "blobs").rglob("*.gz"))
    linode_blob.write_bytes(gzip.compress(b"edited"))
    vultr = (archive / "vultr" / "manifest.jsonl").read_text().splitlines()
    crafted = json.loads(vultr[0]) | {"sha256": "../../x"}
    (archive / "vultr" / "manifest.jsonl").write_text(
        json.dumps(crafted) + "\n" + "{oops\n" + vultr[1] + "\n"
    )
    (archive / "..evil").mkdir()

    result = _verify(archive)

    assert result.exit_code == 1
    problems = [x for x in result.output.splitlines() if x.startswith("problem ")]
    assert len(problems) == 4, result.output
    text = "\n".join(problems)
    assert (
        f"linode: {linode_blob.relative_to(archive / 'linode').as_posix()}: sha256 mismatch" in text
    )
    assert "manifest.jsonl:1: field 'sha256'" in text
    assert "manifest.jsonl:2: not valid JSON" in text
    assert "..evil: not a registered provider id" in text
    assert "4 problem(s)" in result.output


def test_verify_of_a_missing_directory_is_a_problem(tmp_path):
    result = _verify(tmp_path / "nope")
    assert result.exit_code == 1 and "no such archive directory" in result.output
