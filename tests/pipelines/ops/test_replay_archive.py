"""Replaying an archive someone else made (issue 16, findings 1, 2 and 9).

Each test copies real recordings from examples/archive/ into a temporary archive, crafts or
tampers with it the way the probe did, replays it with `scrape run --replay` and checks what
a user sees: the run summary (one line per failing provider), the published Parquet, and
that nothing was written or executed outside the archive and state directories.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.config import Config
from pipelines.ops.parsing import parser_fingerprint
from pipelines.ops.run import run_providers
from scrapers.registry import PROVIDERS

EXAMPLE_ARCHIVE = Path(__file__).parents[3] / "examples" / "archive"
# Deep enough that every `..` in the crafted hashes below still lands inside tmp_path.
NEST = ("n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8")
TRAVERSAL = "../" * 9 + "x"


def _setup(tmp_path: Path, providers: tuple[str, ...]) -> tuple[Path, Config]:
    base = tmp_path.joinpath(*NEST)
    archive = base / "archive"
    for p in providers:
        shutil.copytree(EXAMPLE_ARCHIVE / p, archive / p)
    cfg = Config.load(root=base, env={})
    return archive, cfg


def _lines(archive: Path, provider: str) -> list[dict]:
    return [json.loads(x) for x in (archive / provider / "manifest.jsonl").read_text().splitlines()]


def _write_lines(archive: Path, provider: str, entries: list[dict]) -> None:
    text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries)
    (archive / provider / "manifest.jsonl").write_text(text)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _outside(tmp_path: Path, cfg: Config, archive: Path, before: dict[str, bytes]) -> list[str]:
    """Files created or changed under tmp_path outside the archive and datasets dirs."""
    allowed = (str(archive) + os.sep, str(cfg.datasets_dir) + os.sep)
    after = _files(tmp_path)
    return sorted(
        p for p, data in after.items() if not p.startswith(allowed) and before.get(p) != data
    )


def _failed_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAILED")]


def _replay_cli(archive: Path, cfg: Config, *names: str):
    return CliRunner().invoke(
        app, ["run", *names, "--replay", str(archive), "--datasets", str(cfg.datasets_dir)]
    )


def _providers_published(cfg: Config) -> set[str]:
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    return set(df["provider"].astype(str))


def test_finding_01_crafted_sha256_reads_and_writes_nothing_outside_and_runs_no_code(tmp_path):
    archive, cfg = _setup(tmp_path, ("aws", "linode", "vultr"))
    # AWS: the offer file's line points its sha256 outside the archive, where the attacker
    # placed a body, and where the old parse cache would have put (and loaded) a pickle.
    aws = _lines(archive, "aws")
    aws[0]["sha256"] = TRAVERSAL
    _write_lines(archive, "aws", aws)
    planted = Path(os.path.normpath(archive / "aws" / "blobs" / ".." / f"{TRAVERSAL}.gz"))
    assert tmp_path in planted.parents  # the crafted path stays inside the test's tree
    offer_blob = archive / "aws" / "blobs" / aws[1]["sha256"][:2]
    planted.write_bytes(next(offer_blob.glob("*.gz")).read_bytes())
    # Linode: the body it points at outside the archive carries a price we would notice.
    linode = _lines(archive, "linode")
    original = gzip.decompress(next((archive / "linode" / "blobs").rglob("*.gz")).read_bytes())
    evil = original.replace(b'"hourly": 1.5', b'"hourly": 1234.5')
    assert evil != original
    linode[0]["sha256"] = "../" * 10 + "y"
    _write_lines(archive, "linode", linode)
    evil_path = Path(
        os.path.normpath(archive / "linode" / "blobs" / ".." / f"{linode[0]['sha256']}.gz")
    )
    assert tmp_path in evil_path.parents
    evil_path.write_bytes(gzip.compress(evil))
    before = _files(tmp_path)

    result = _replay_cli(archive, cfg, "aws", "linode", "vultr")

    assert _outside(tmp_path, cfg, archive, before) == []
    failed = _failed_lines(result.output)
    assert len(failed) == 2, result.output
    assert failed[0].startswith("FAILED aws: ") and "manifest.jsonl:1" in failed[0]
    assert "sha256" in failed[0] and "64 lowercase hex" in failed[0]
    assert failed[1].startswith("FAILED linode: ") and "manifest.jsonl:1" in failed[1]
    assert "Traceback" not in result.output and result.exit_code == 1
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    assert set(df["provider"].astype(str)) == {"vultr"}
    assert not (df["price_per_hour"] == 1234.5).any()


def _cache_files(cfg: Config) -> list[Path]:
    return sorted((cfg.state_dir / "parse-cache" / "aws").iterdir())


class _Payload:
    """Unpickling this creates the marker file: proof that a pickle was executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_finding_01_planted_pickle_in_parse_cache_is_never_loaded(tmp_path):
    archive, cfg = _setup(tmp_path, ("aws",))
    first = run_providers(["aws"], config=cfg, replay=archive, alerts=False)
    assert first.providers["aws"].status == "ok", first.providers["aws"].error
    rows = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    # Plant an attacker's pickle under every name the cache knows for every archived body:
    # the old `<fingerprint>-<sha>.pickle` and whatever the cache wrote itself.
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    cache_dir = cfg.state_dir / "parse-cache" / "aws"
    written = _cache_files(cfg)
    assert written, "the first replay filled the parse cache"
    fp = parser_fingerprint(PROVIDERS["aws"])
    planted = {cache_dir / f"{fp}-{e['sha256']}.pickle" for e in _lines(archive, "aws")}
    for p in planted | set(written):
        p.write_bytes(payload)
    cfg.datasets_dir = cfg.datasets_dir.with_name("datasets-2")  # same state dir, new data

    second = run_providers(["aws"], config=cfg, replay=archive, alerts=False)

    assert not marker.exists()
    assert second.providers["aws"].status == "ok", second.providers["aws"].error
    again = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    key = ["instance_type", "region", "pricing_model", "price_per_hour"]
    pd.testing.assert_frame_equal(
        rows[key].sort_values(key).reset_index(drop=True),
        again[key].sort_values(key).reset_index(drop=True),
    )


def _tamper(archive: Path, provider: str, old: bytes, new: bytes) -> str:
    """Edit a blob in place under its original name; returns that sha256."""
    for blob in (archive / provider / "blobs").rglob("*.gz"):
        body = gzip.decompress(blob.read_bytes())
        if old in body:
            blob.write_bytes(gzip.compress(body.replace(old, new)))
            return blob.name.removesuffix(".gz")
    raise AssertionError(f"{old!r} not in any {provider} blob")


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_finding_02_tampered_blob_fails_with_sha256_mismatch(tmp_path, cache):
    archive, cfg = _setup(tmp_path, ("aws", "linode", "vultr"))
    if cache == "warm":  # parsed once before, as by a user who replayed it already
        warm = run_providers(["aws"], config=cfg, replay=archive, alerts=False)
        assert warm.exit_code == 0
    sha_aws = _tamper(archive, "aws", b'"USD": "32.7726000000"', b'"USD": "0.0100000000"')
    sha_linode = _tamper(archive, "linode", b'"hourly": 1.5', b'"hourly": 0.01')

    result = _replay_cli(archive, cfg, "aws", "linode", "vultr")

    failed = _failed_lines(result.output)
    assert len(failed) == 2, result.output
    assert failed[0].startswith("FAILED aws: ") and "sha256 mismatch" in failed[0]
    assert sha_aws in failed[0]
    assert failed[1].startswith("FAILED linode: ") and "sha256 mismatch" in failed[1]
    assert sha_linode in failed[1]
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    # The warm run's AWS rows are its last good data; nothing tampered is published.
    assert set(df["provider"].astype(str)) == ({"aws", "vultr"} if cache == "warm" else {"vultr"})
    assert not (df["price_per_hour"] == 0.01).any()


@pytest.mark.parametrize(
    "bad_line",
    [
        '{"provider": "linode", "url": "https://api.linode.com/v4beta/linode/types"}',
        '{"run_id": 7, "provider": "linode"',  # not JSON, and not the last line
        '["not", "an", "object"]',
    ],
)
def test_finding_09_malformed_manifest_line_fails_one_provider_others_publish(tmp_path, bad_line):
    archive, cfg = _setup(tmp_path, ("linode", "vultr", "oracle"))
    good = (archive / "linode" / "manifest.jsonl").read_text()
    (archive / "linode" / "manifest.jsonl").write_text(good + bad_line + "\n" + good)

    result = _replay_cli(archive, cfg, "linode", "vultr", "oracle")

    assert "Traceback" not in result.output and result.exit_code == 1
    failed = _failed_lines(result.output)
    assert len(failed) == 1, result.output
    assert failed[0].startswith("FAILED linode: ") and "manifest.jsonl:2" in failed[0]
    assert _providers_published(cfg) == {"vultr", "oracle"}


def test_torn_last_manifest_line_is_skipped_and_cut_before_the_next_append(tmp_path):
    archive, cfg = _setup(tmp_path, ("linode",))
    manifest = archive / "linode" / "manifest.jsonl"
    manifest.write_text(manifest.read_text() + '{"run_id": "killed-run", "provi')
    report = run_providers(["linode"], config=cfg, replay=archive, alerts=False)
    assert report.providers["linode"].status == "ok", report.providers["linode"].error

    from pipelines.ingest.archive import Archive

    arch = Archive(archive)
    body = EXAMPLE_ARCHIVE.parent.parent / "tests" / "fixtures" / "linode"
    arch.add_file(
        "linode",
        next(body.glob("*.json")),
        url="https://api.linode.com/v4beta/linode/types?page=1",
        fetched_at=pd.Timestamp("2024-07-12", tz="UTC").to_pydatetime(),
        run_id="next-run",
        provenance="test",
    )
    assert [e["run_id"] for e in arch.entries("linode")] == ["sample-linode-2024-07-11", "next-run"]
    assert "killed-run" not in manifest.read_text()


def test_example_archive_replay_publishes_every_provider_it_covers(tmp_path):
    cfg = Config.load(root=tmp_path, env={})
    # The imported histories (hundreds of snapshots) have their own tests
    # (tests/pipelines/ops/test_example_history.py); here the live-format recordings.
    live = sorted(n for n, s in PROVIDERS.items() if not s.import_format)
    covered = {p.name for p in EXAMPLE_ARCHIVE.iterdir() if p.is_dir()} - {"ecb"}
    covered &= set(live)
    report = run_providers(live, config=cfg, replay=EXAMPLE_ARCHIVE, alerts=False)
    status = {n: r.status for n, r in report.providers.items()}
    assert {n for n, s in status.items() if s == "ok"} == covered, report.providers
    assert {n for n, s in status.items() if s == "skipped"} == set(live) - covered
    assert _providers_published(cfg) == covered
