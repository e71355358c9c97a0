"""`scrape import`: git mode on a small repository built here from real tracker versions
(tests/fixtures/imports/aws-gpu-tracker-csv), file mode, idempotency and missing blobs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app

FIX = Path(__file__).parents[2] / "fixtures" / "imports"
TRACKER = FIX / "aws-gpu-tracker-csv"
# (committer time, fixture): the first day, a run that appended a blank row, the same
# file again a month later, and the version after the June 2025 cut.
VERSIONS = (
    ("2025-04-23T18:52:57Z", "gpu_prices_2025-04-23T18-52_first.csv"),
    ("2025-04-23T19:14:18Z", "gpu_prices_2025-04-23T19-14_blank-row.csv"),
    ("2025-05-23T07:20:00Z", "gpu_prices_2025-04-23T19-14_blank-row.csv"),
    ("2026-08-22T07:34:47Z", "gpu_prices_2026-08-22_excerpt.csv"),
)


def _git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def tracker_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "tracker"
    repo.mkdir()
    _git(repo, "init", "-q")
    for n, (when, name) in enumerate(VERSIONS):
        body = (TRACKER / name).read_bytes()
        if n == 2:  # the daily job appended a row: new blob, same price
            body += b"2025-05-23T07:20:00,p5.48xlarge,98.32\n"
        (repo / "gpu_prices.csv").write_bytes(body)
        (repo / "tracker.py").write_text(f"# run {n}\n")  # a commit touching other files too
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"v{n}", when=when)
    _git(repo, "commit", "-q", "--allow-empty", "-m", "docs only", when="2026-09-01T00:00:00Z")
    return repo


def _run(root: Path, *args: str):
    return CliRunner().invoke(app, list(args), env={"GPU_PRICES_ROOT": str(root)})


def test_git_mode_imports_each_version_at_its_commit_time(tmp_path, tracker_repo):
    root = tmp_path / "proj"
    root.mkdir()
    res = _run(
        root,
        "import",
        "aws-gpu-tracker-csv",
        "--git",
        str(tracker_repo),
        "--path",
        "gpu_prices.csv",
    )
    assert res.exit_code == 0, res.output + res.stderr
    assert "4 version(s) imported, 0 already imported" in res.stdout

    lines = [
        json.loads(x)
        for x in (root / "archive" / "aws_gpu_tracker" / "manifest.jsonl").read_text().splitlines()
    ]
    commits = _git(tracker_repo, "log", "--reverse", "--format=%H", "--", "gpu_prices.csv").split()
    assert [e["fetched_at"] for e in lines] == [w for w, _ in VERSIONS]
    for e, commit in zip(lines, commits, strict=True):
        blob = subprocess.run(
            ["git", "-C", str(tracker_repo), "show", f"{commit}:gpu_prices.csv"],
            capture_output=True,
            check=True,
        ).stdout
        assert commit in e["provenance"] and hashlib.sha256(blob).hexdigest() in e["provenance"]
        assert e["url"].endswith(f"{commit}/gpu_prices.csv")

    df = pd.read_parquet(root / "datasets" / "gpu_prices.parquet").sort_values("valid_from")
    assert df["price_per_hour"].tolist() == [98.32, 55.04]
    assert str(df["valid_from"].iloc[0]) == "2025-04-23 18:52:57+00:00"
    assert str(df["valid_from"].iloc[1]) == "2026-08-22 07:34:47+00:00"
    ev = pd.read_parquet(root / "datasets" / "gpu_price_changes.parquet")
    # the blank-row versions raise nothing; the cut raises exactly one event
    assert ev["event_type"].tolist() == ["price_changed"]
    assert (ev["old_price"].iloc[0], ev["new_price"].iloc[0]) == (98.32, 55.04)

    # Importing the same range again adds nothing and publishes nothing new.
    version = (root / "datasets" / "gpu_prices.parquet").resolve().name
    again = _run(
        root,
        "import",
        "aws-gpu-tracker-csv",
        "--git",
        str(tracker_repo),
        "--path",
        "gpu_prices.csv",
    )
    assert again.exit_code == 0, again.output
    assert "0 version(s) imported, 4 already imported" in again.stdout
    assert (root / "datasets" / "gpu_prices.parquet").resolve().name == version
    assert len(pd.read_parquet(root / "datasets" / "gpu_price_changes.parquet")) == 1


def test_git_mode_since_and_resume(tmp_path, tracker_repo):
    root = tmp_path / "proj"
    root.mkdir()
    first = _run(
        root,
        "import",
        "aws-gpu-tracker-csv",
        "--git",
        str(tracker_repo),
        "--path",
        "gpu_prices.csv",
        "--since",
        "2025-05-01",
    )
    assert "2 version(s) imported" in first.stdout, first.output
    # An earlier range imported afterwards is archived, but the history does not go back
    # in time: versions older than what it holds are skipped ("already in history").
    rest = _run(
        root,
        "import",
        "aws-gpu-tracker-csv",
        "--git",
        str(tracker_repo),
        "--path",
        "gpu_prices.csv",
    )
    assert "2 version(s) imported, 2 already imported" in rest.stdout, rest.output


def test_missing_blob_skips_that_version_with_one_line(tmp_path, tracker_repo):
    commits = _git(tracker_repo, "log", "--reverse", "--format=%H", "--", "gpu_prices.csv").split()
    blob = _git(tracker_repo, "rev-parse", f"{commits[1]}:gpu_prices.csv").strip()
    (tracker_repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()  # as in a partial snapshot
    root = tmp_path / "proj"
    root.mkdir()
    res = _run(
        root,
        "import",
        "aws-gpu-tracker-csv",
        "--git",
        str(tracker_repo),
        "--path",
        "gpu_prices.csv",
    )
    assert res.exit_code == 0, res.output + res.stderr
    skipped = [x for x in res.stderr.splitlines() if x.startswith("skipped:")]
    assert len(skipped) == 1 and commits[1][:12] in skipped[0]
    assert "3 version(s) imported" in res.stdout


def test_file_mode_and_bad_requests(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    f = FIX / "cloud-gpus-json" / "cloud_gpu_2021-05-20_first.json"
    res = _run(root, "import", "cloud-gpus-json", str(f), "--observed-at", "2021-05-20T12:42:36Z")
    assert res.exit_code == 0, res.output + res.stderr
    df = pd.read_parquet(root / "datasets" / "gpu_prices.parquet")
    assert set(df["provider"]) == {"cloud_gpus"} and len(df) == 38
    assert df["extra_json"].str.contains("curated_min").all()
    again = _run(root, "import", "cloud-gpus-json", str(f), "--observed-at", "2021-05-20T12:42:36Z")
    assert "0 version(s) imported, 1 already imported" in again.stdout

    assert _run(root, "import", "nope", str(f), "--observed-at", "2021-01-01").exit_code == 2
    assert _run(root, "import", "cloud-gpus-json", str(f)).exit_code == 2  # no --observed-at
    bad = _run(root, "import", "cloud-gpus-json", str(f), "--observed-at", "x", "--provider", "aws")
    assert bad.exit_code == 2
    wrong = _run(
        root,
        "import",
        "cloud-gpus-json",
        str(f),
        "--observed-at",
        "2021-01-01",
        "--provider",
        "aws",
    )
    assert wrong.exit_code == 2 and "feeds cloud_gpus" in wrong.stderr


RECORDS = Path(__file__).parents[3] / "examples" / "colab_free_tier" / "records.csv"


def _colab_events(root: Path) -> pd.DataFrame:
    ev = pd.read_parquet(root / "datasets" / "gpu_price_changes.parquet")
    return ev[ev["provider"] == "colab_free_tier"]


def test_records_file_mode_one_snapshot_per_window(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    res = _run(root, "import", "colab-free-tier-records", str(RECORDS))
    assert res.exit_code == 0, res.output + res.stderr
    assert "3 version(s) imported" in res.stdout
    assert "window 2020: 2 recording(s) (K80 x1, P100 x1)" in res.stderr  # no majority
    df = pd.read_parquet(root / "datasets" / "gpu_prices.parquet").sort_values("valid_from")
    assert df["gpu_model"].tolist() == ["K80", "T4"]
    assert str(df["valid_from"].iloc[1]) == "2022-11-19 23:59:59+00:00"
    (ev,) = _colab_events(root).itertuples()
    assert (ev.event_type, ev.old_value, ev.new_value) == ("offer_gpu_changed", "1x K80", "1x T4")
    manifest = [
        json.loads(x)
        for x in (root / "archive" / "colab_free_tier" / "manifest.jsonl").read_text().splitlines()
    ]
    assert manifest[0]["url"].endswith("examples/colab_free_tier/records.csv#2018")
    assert hashlib.sha256(RECORDS.read_bytes()).hexdigest() in manifest[0]["provenance"]

    again = _run(root, "import", "colab-free-tier-records", str(RECORDS))
    assert "0 version(s) imported, 3 already imported" in again.stdout
    dated = _run(root, "import", "colab-free-tier-records", str(RECORDS), "--observed-at", "2020")
    assert dated.exit_code == 2 and "no --observed-at" in dated.stderr


def test_records_single_odd_recording_raises_no_event(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    records = tmp_path / "records.csv"
    # The real recordings plus constructed odd ones: a P100 in the K80 year 2018, a K80
    # alone in 2023 (after the move to T4).
    records.write_bytes(
        RECORDS.read_bytes()
        + b"2018-12-01,P100,Tesla P100,,user report,pre-pro,constructed,https://example.org/a\n"
        + b"2023-05-01,K80,Tesla K80,,user report,stated,constructed,https://example.org/b\n"
    )
    res = _run(root, "import", "colab-free-tier-records", str(records))
    assert res.exit_code == 0, res.output + res.stderr
    ev = _colab_events(root)
    assert ev["event_type"].tolist() == ["offer_gpu_changed"]
    assert (ev["old_gpu_model"].iloc[0], ev["gpu_model"].iloc[0]) == ("K80", "T4")
