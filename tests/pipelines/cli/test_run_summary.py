"""Issue 16 finding 18: what `scrape run` and `scrape status` tell a person after a run.

The run summary's counts agree by construction (rows = new + changed + unchanged, removed
apart), also when a replay goes over several archived runs; its seconds are the provider's
wall time (fetch or archive read + parse + gate + merge/publish); `scrape status` shows a
replay as a run ("replayed at X (recorded Y)") and says what "stale" counts.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.config import Config
from pipelines.ingest.archive import Archive
from pipelines.ops import runlog
from pipelines.ops.run import run_providers
from pipelines.store.history import History
from scrapers import registry
from tests.support import fakes

runner = CliRunner()
REC1 = datetime(2024, 5, 28, 3, 0, tzinfo=UTC)
REC2 = REC1 + timedelta(days=1)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "archive"


def offers(n: int, bump: int | None = None) -> bytes:
    """`n` fakecloud offers; offer `bump` (if any) a dollar dearer."""
    return json.dumps(
        [
            {"instance_type": f"fk{i}.xlarge", "region": "r1", "price": 1.0 + i + (i == bump)}
            for i in range(n)
        ]
    ).encode()


def two_run_archive(tmp_path: Path) -> Path:
    """fakecloud recorded twice: 13 offers, then the same 13 with one price changed."""
    arch = Archive(tmp_path / "archive")
    for run_id, when, body in (("r1", REC1, offers(13)), ("r2", REC2, offers(13, bump=4))):
        f = tmp_path / f"{run_id}.json"
        f.write_bytes(body)
        arch.add_file(
            fakes.NAME,
            f,
            url="http://fake/offers.json",
            fetched_at=when,
            run_id=run_id,
            provenance="constructed test fixture",
        )
    return arch.root


@pytest.fixture
def fake_registered(monkeypatch):
    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, fakes.spec())


def summary_rows(stdout: str) -> dict[str, list[str]]:
    """provider -> cells of its line in the summary table (cells hold no spaces)."""
    out = {}
    for line in stdout.splitlines():
        cells = line.split()
        if len(cells) >= 8 and cells[0] != "provider":
            out[cells[0]] = cells
    return out


def test_finding_18_summary_rows_equal_new_plus_changed_plus_unchanged_over_a_replay(
    tmp_path, fake_registered
):
    archive = two_run_archive(tmp_path)
    # 80 columns: the summary fits a default terminal without cutting names or headers.
    env = {"GPU_PRICES_ROOT": str(tmp_path), "COLUMNS": "80"}
    res = runner.invoke(app, ["run", fakes.NAME, "--replay", str(archive)], env=env)
    assert res.exit_code == 0, res.output
    header = next(line for line in res.stdout.splitlines() if "provider" in line)
    cols = header.split()
    row = dict(zip(cols, summary_rows(res.stdout)[fakes.NAME], strict=True))
    rows, new, changed, unchanged = (int(row[k]) for k in ("rows", "new", "changed", "unchanged"))
    # Run 1: 13 new; run 2: 1 changed, 12 unchanged. The line adds up both runs.
    assert (new, changed, unchanged) == (13, 1, 12)
    assert rows == new + changed + unchanged == 26
    assert row["runs"] == "2" and row["removed"] == "0"
    assert "rows = new + changed + unchanged" in res.stdout
    # The run log holds the same numbers.
    (logged,) = runlog.read(tmp_path / "datasets")
    assert logged["rows"] == (
        logged["new_offers"] + logged["changed_offers"] + logged["unchanged_offers"]
    )
    assert logged["observed_at"] == REC2


def test_finding_18_the_invariant_holds_for_every_outcome(tmp_path, fake_registered):
    """Live runs too: first publish, no change, a change, an offer gone; replayed again
    (already in the history: not merged, so no counts are claimed)."""
    archive = two_run_archive(tmp_path)
    cfg = Config.load(root=tmp_path, env={})
    first = run_providers([fakes.NAME], config=cfg, replay=archive)
    again = run_providers([fakes.NAME], config=cfg, replay=archive)
    for report in (first, again):
        r = report.providers[fakes.NAME]
        if r.merged:
            assert r.rows == r.new_offers + r.changed_offers + r.unchanged_offers
    assert not again.providers[fakes.NAME].merged
    res = runner.invoke(
        app,
        ["run", fakes.NAME, "--replay", str(archive)],
        env={"GPU_PRICES_ROOT": str(tmp_path), "COLUMNS": "200"},
    )
    row = summary_rows(res.stdout)[fakes.NAME]
    assert row[1] == "unchanged" and row[3:7] == ["-", "-", "-", "-"], res.stdout


def test_finding_18_seconds_are_the_providers_wall_time(tmp_path, fake_registered, monkeypatch):
    """Parse and the merge/publish step both count (each made 0.3 s slow here); before,
    a 30 s replay showed 0.0 s for every provider."""
    slow = 0.3
    spec = fakes.spec()

    def slow_parse(responses):
        time.sleep(slow)
        return fakes.parse(responses)

    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, dataclasses.replace(spec, parse=slow_parse))
    merge = History.merge_and_publish

    def slow_merge(self, *a, **kw):
        time.sleep(slow)
        return merge(self, *a, **kw)

    monkeypatch.setattr(History, "merge_and_publish", slow_merge)
    archive = two_run_archive(tmp_path)
    report = run_providers([fakes.NAME], config=Config.load(root=tmp_path, env={}), replay=archive)
    r = report.providers[fakes.NAME]
    # Two replayed runs, each parsed and merged: at least 4 x 0.3 s, and never more than
    # the whole run.
    assert 4 * slow <= r.seconds <= (report.finished_at - report.started_at).total_seconds()


def test_finding_18_status_after_setup_shows_the_replay_and_what_stale_counts(tmp_path):
    """README command 1 replays examples/archive: status must not say "never ran"."""
    env = {"GPU_PRICES_ROOT": str(tmp_path), "COLUMNS": "250"}
    cfg = Config.load(root=tmp_path, env={})
    run_providers(["linode", "azure"], config=cfg, replay=EXAMPLES, post_steps=False)
    res = runner.invoke(app, ["status"], env=env)
    assert "linode: never ran" not in res.stderr and "azure: never ran" not in res.stderr
    lines = {line.split()[0]: line for line in res.stdout.splitlines() if line.strip()}
    recorded = runlog.read(cfg.datasets_dir)[-1]["observed_at"]
    assert "replayed at" in lines["linode"]
    assert f"{recorded:%Y-%m-%d %H:%M}" in lines["linode"]  # prices as of
    assert f"(recorded {recorded:%Y-%m-%d %H:%M} UTC)" in res.stderr
    # The prices are as old as the recording: stale, and the reason says so.
    assert re.search(r"STALE linode: newest prices fetched [\d.]+ d ago", res.stderr)
    assert "STALE azure: never fetched (not in the replayed archive)" in res.stderr
    assert "a replay publishes recorded prices as of their recording time" in res.stderr
    assert res.exit_code == 1
    # --help says what stale counts.
    help_text = runner.invoke(app, ["status", "--help"], env=env).stdout
    assert "Stale counts the age of the data" in " ".join(help_text.split())
    # --json carries both times.
    js = runner.invoke(app, ["status", "--json"], env=env)
    linode = next(json.loads(x) for x in js.stdout.splitlines() if '"linode"' in x)
    assert linode["last_trigger"] == "replay"
    assert linode["prices_observed_at"] == recorded.isoformat()
