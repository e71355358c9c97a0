"""`scrape diff` on what users actually have: published dataset versions, and CSV files
without the columns the pipeline derives (issue 16, item 16).

Before: two published versions failed the gate with "duplicate offer keys" (closed and
current rows of the same offer), a diff without changes printed nothing, and a CSV without
`offer_key` failed with a pyarrow message."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.ingest.normalize import frame_from_rows
from pipelines.ops.run import run_providers
from pipelines.store.history import History
from tests.pipelines.ops.test_run import PAGE1, azure_answer, make_config
from tests.support.observations import T0, observation

runner = CliRunner()
KEY = "azure|Standard_NC6s_v3|eastus||on_demand|"


def scrape_diff(*args, env=None):
    return runner.invoke(app, ["diff", *map(str, args)], env=env)


def published_twice(tmp_path, provider_server):
    """Two published versions of the Azure fixture: one price moved 3.06 -> 2.75 USD/h."""
    provider_server.route("/api/retail/prices", azure_answer())
    cfg = make_config(tmp_path, provider_server)
    run_providers(["azure"], config=cfg)
    changed = PAGE1.replace(
        b'"retailPrice":3.06,"unitPrice":3.06', b'"retailPrice":2.75,"unitPrice":2.75', 1
    )
    provider_server.route("/api/retail/prices", azure_answer(nc_page1=changed))
    run_providers(["azure"], config=cfg)
    return cfg.datasets_dir


def test_finding_16_diff_of_two_published_versions_says_what_waits_for_confirmation(
    tmp_path, provider_server
):
    datasets = published_twice(tmp_path, provider_server)
    first, second = (v["version"] for v in History(datasets).versions())
    new = datasets / "gpu_prices.parquet"
    # The run's rules: Azure holds a new price back one snapshot (price_confirm_runs 1), so
    # with two snapshots the change is not an event yet, and diff says so instead of hiding it.
    # The earlier version by its id (read from the Delta table).
    result = scrape_diff(first, new, env={"GPU_PRICES_DATASETS_DIR": str(datasets)})
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no changes"
    assert "waiting for confirmation (not events yet): azure 1 price change(s)" in result.stderr


def test_finding_16_diff_of_two_published_versions(tmp_path, provider_server):
    datasets = published_twice(tmp_path, provider_server)
    first, second = (v["version"] for v in History(datasets).versions())
    # The earlier version by its id (read from the Delta table), the current one by its view.
    result = scrape_diff(
        first,
        datasets / "gpu_prices.parquet",
        "--format",
        "jsonl",
        "--price-confirm-runs",
        "0",
        env={"GPU_PRICES_DATASETS_DIR": str(datasets)},
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["event_type"], e["offer_key"]) for e in events] == [("price_changed", KEY)]
    assert (events[0]["old_price"], events[0]["new_price"]) == (3.06, 2.75)
    assert (events[0]["from_version"], events[0]["to_version"]) == (first, second)


def test_finding_16_diff_without_changes_says_no_changes(tmp_path, provider_server):
    datasets = published_twice(tmp_path, provider_server)
    current = datasets / "gpu_prices.parquet"
    result = scrape_diff(current, current)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no changes"
    # jsonl keeps stdout machine-readable: the note goes to stderr.
    result = scrape_diff(current, current, "--format", "jsonl")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.strip() == "no changes"


def _csv(tmp_path, name, rows, drop=()):
    path = tmp_path / f"{name}.csv"
    frame_from_rows(rows).drop(columns=list(drop)).to_csv(path, index=False)
    return path


def test_finding_16_csv_without_derivable_columns_gives_the_same_events(tmp_path):
    before = [observation(price=32.7726), observation("p5.48xlarge", 98.32, "H100")]
    at = T0 + timedelta(days=1)
    after = [
        observation(price=21.96, at=at),
        observation("p5.48xlarge", 98.32, "B200", at=at),
    ]
    full = scrape_diff(_csv(tmp_path, "a", before), _csv(tmp_path, "b", after), "--format", "jsonl")
    bare = ("offer_key", "gpu_name_raw", "snapshot_sha256")
    derived = scrape_diff(
        _csv(tmp_path, "a2", before, bare), _csv(tmp_path, "b2", after, bare), "--format", "jsonl"
    )
    assert full.exit_code == derived.exit_code == 0, derived.output

    def kinds(result):
        return sorted(
            (e["event_type"], e["offer_key"], e["new_value"])
            for e in map(json.loads, result.stdout.splitlines())
        )

    assert kinds(derived) == kinds(full)
    assert {k[0] for k in kinds(full)} >= {"price_changed", "offer_gpu_changed"}


def test_finding_16_csv_missing_other_columns_names_them_in_one_line(tmp_path):
    rows = [observation()]
    a = _csv(tmp_path, "a", rows, ("price_per_hour", "currency"))
    b = _csv(tmp_path, "b", rows)
    result = scrape_diff(a, b)
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if str(a) in x]
    assert "missing column(s) currency, price_per_hour" in line
    # One snapshot of two was read: nothing was compared, and stdout must not say
    # "no changes" as if the comparison had been clean.
    assert "no changes" not in result.stdout
    assert "nothing compared: 1 of 2 snapshot(s) could be read" in result.stderr


def test_diff_with_a_skipped_snapshot_does_not_claim_a_clean_comparison(tmp_path):
    rows = [observation()]
    a, b = _csv(tmp_path, "a", rows), _csv(tmp_path, "b", rows)
    broken = _csv(tmp_path, "c", rows, ("currency",))
    result = scrape_diff(a, broken, b)
    assert result.exit_code == 1
    assert result.stdout.strip() == (
        "no changes between the snapshots that could be compared (skipped: see above)"
    )


def test_finding_13_diff_text_never_shows_nan(tmp_path):
    """A spot summary event has no instance type; `scrape diff` printed "aws T4 nan
    af-south-1 spot: cheapest ... over 7.0 offers" (read back from CSV, missing is NaN)."""

    def spot(at, price):
        return [
            observation(f"g4dn.{size}", price * n, "T4", pricing_model="spot", gpu_count=n, at=at)
            for size, n in (("xlarge", 1.0), ("12xlarge", 4.0))
        ]

    later = T0 + timedelta(days=1)
    result = scrape_diff(
        _csv(tmp_path, "a", spot(T0, 0.2406)), _csv(tmp_path, "b", spot(later, 0.1203))
    )
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stdout.splitlines() if "spot_price_changed" in x]
    assert line.endswith(
        "aws T4 us-east-1 spot: cheapest 0.2406 -> 0.1203 USD/GPU-hour (-50.0%) over 2 offers"
    )
    assert "nan" not in result.stdout.lower() and "none" not in result.stdout.lower()
