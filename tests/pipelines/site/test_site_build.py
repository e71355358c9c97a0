"""Site building without a browser: the price step function behind the GPU charts, the chart
axes, the dataset card, `scrape site --out`, and the post-publish step of `scrape run`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.site import card
from pipelines.site import data as site_data
from pipelines.site import summary as site_summary
from pipelines.site.svg import StepSeries, nice_ticks, step_chart
from tests.support import site_history

T = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _versions(*rows: tuple[int, int | None, float | None]) -> pd.DataFrame:
    """(valid_from day, valid_to day or None, price) -> history-like rows."""
    return pd.DataFrame(
        {
            "valid_from": pd.to_datetime([T + a * DAY for a, _, _ in rows], utc=True),
            "valid_to": pd.to_datetime(
                [None if b is None else T + b * DAY for _, b, _ in rows], utc=True
            ),
            "price_usd_per_gpu_hour": [p for _, _, p in rows],
        }
    )


def test_steps_take_the_lowest_price_in_force_and_show_gaps():
    rows = _versions(
        (0, 10, 3.0),  # offer A
        (2, 5, 2.0),  # offer B, cheaper, for a while
        (12, None, 4.0),  # after a gap of two days, offer A again at a new price
        (1, 3, None),  # no USD price (no FX rate): ignored
    )
    steps = site_summary.price_steps(rows, end=T + 20 * DAY)
    assert steps == [
        (T, 3.0),
        (T + 2 * DAY, 2.0),
        (T + 5 * DAY, 3.0),
        (T + 10 * DAY, None),
        (T + 12 * DAY, 4.0),
    ]


def test_one_observation_is_one_step_and_thousands_stay_exact():
    assert site_summary.price_steps(_versions((0, None, 1.5)), end=T) == [(T, 1.5)]
    # 5,000 consecutive versions of one offer: every change is a step, none is lost.
    n = 5000
    prices = [1.0 + (i % 7) * 0.1 for i in range(n)]
    rows = _versions(*[(i, i + 1 if i + 1 < n else None, p) for i, p in enumerate(prices)])
    steps = site_summary.price_steps(rows, end=T + n * DAY)
    changes = [prices[0]] + [b for a, b in zip(prices, prices[1:], strict=False) if a != b]
    assert [v for _, v in steps] == changes
    svg = step_chart(
        [StepSeries("x · on_demand", "x", "on_demand", steps, end=T + n * DAY, color="#000")]
    )
    assert svg.count("<circle") == 0  # thousands of points: a line, no markers
    assert svg.count("V") >= len(changes) - 1


def test_nice_ticks_cover_the_data():
    assert nice_ticks(0, 4.42) == [0, 1, 2, 3, 4, 5]
    assert nice_ticks(0, 0.033)[-1] >= 0.033


def test_dataset_card_covers_each_provider_with_dates(tmp_path):
    datasets = tmp_path / "datasets"
    site_history.build(datasets)
    d = site_data.load(datasets)
    from pipelines.site.build import published_tables

    path = card.write(datasets, d, published_tables(d))
    text = path.read_text()
    assert path == datasets / "README.md"
    assert f"Dataset version: `{d.version}`" in text
    lines = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| `")}
    # aws: 5 price versions (on-demand cut, spot withdrawn and back), 2 current, 2025-06-01..07-01
    assert lines["| `aws`"].endswith("| 5 | 2 | 1 | on_demand, spot | 2025-06-01 | 2025-07-01 |")
    assert lines["| `gcp`"].endswith("| 1 | 1 | 1 | on_demand | 2025-07-01 | 2025-07-01 |")
    # The events table is append-only parts: one per run (the first one empty).
    assert "| `gpu_price_changes` | `gpu_price_changes.parquet/ (4 parts)` | 6 |" in text
    assert "CC BY 4.0" in text and "## Known limits" in text


def test_scrape_site_writes_to_out_and_links_back_to_the_tables(tmp_path):
    datasets = tmp_path / "datasets"
    site_history.build(datasets)
    out = tmp_path / "public" / "gpus"
    result = CliRunner().invoke(app, ["site", "--datasets", str(datasets), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "7 pages (5 current offers, 2 GPU pages)" in result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")) == [
        "changes.html",
        "downloads.html",
        "gpu/a100.html",
        "gpu/h100.html",
        "index.html",
        "price-index.html",
        "value.html",
    ]
    html = (out / "downloads.html").read_text()
    assert 'href="../../datasets/gpu_specs.parquet"' in html
    # Rebuilding replaces the folder whole (no stale page of a GPU no longer listed).
    (out / "gpu" / "old.html").write_text("stale")
    assert (
        CliRunner().invoke(app, ["site", "--datasets", str(datasets), "--out", str(out)]).exit_code
        == 0
    )
    assert not (out / "gpu" / "old.html").exists()
    assert [p.name for p in out.parent.iterdir()] == ["gpus"]  # no temporary folder left


def test_scrape_site_without_a_dataset_fails_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["site", "--datasets", str(tmp_path)])
    assert result.exit_code == 1
    assert "gpu_prices.parquet does not exist; run `scrape run` first" in result.output


def test_scrape_run_publishes_the_card_and_the_site(example_datasets):
    assert (example_datasets / "site" / "index.html").is_file()
    text = (example_datasets / "README.md").read_text()
    for provider in ("aws", "vastai", "vultr"):
        assert f"| `{provider}` |" in text
    # The card is output in the datasets directory, never the repository's README.
    assert text.startswith("# Cloud GPU prices: dataset card")


def test_a_failing_site_build_does_not_fail_the_run(tmp_path, monkeypatch):
    from pathlib import Path

    from pipelines.config import Config
    from pipelines.ops import run as run_mod
    from pipelines.site import build as site_build

    def broken(datasets_dir, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(site_build, "publish", broken)
    cfg = Config.load(root=tmp_path, env={})
    archive = Path(__file__).parents[3] / "examples" / "archive"
    report = run_mod.run_providers(["linode"], config=cfg, replay=archive, alerts=False)
    assert report.exit_code == 0
    assert report.notes == ["report site failed: disk full"]
    assert len(pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")) > 0
    assert not (cfg.datasets_dir / "site").exists()


def _site_files(datasets) -> dict[str, str]:
    out = {
        p.relative_to(datasets).as_posix(): p.read_text()
        for p in (datasets / "site").rglob("*.html")
    }
    out["README.md"] = (datasets / "README.md").read_text()
    return out


def test_a_site_brought_forward_run_by_run_equals_one_built_from_the_whole_history(
    tmp_path, monkeypatch
):
    """Each run's site reads only the versions open or ending since the last build and
    brings the stored summary forward; the pages and the card are byte for byte those of a
    build from the whole history."""
    from pipelines.site import build as site_build

    datasets = tmp_path / "datasets"
    built_at = datetime(2026, 6, 1, tzinfo=UTC)
    advanced = []
    real_advance = site_summary.advance

    def spy(prev, recent, rows):
        out = real_advance(prev, recent, rows)
        advanced.append((len(recent), rows, out is not None))
        return out

    monkeypatch.setattr(site_summary, "advance", spy)
    site_history.build(datasets, after_run=lambda i: site_build.publish(datasets, now=built_at))
    # Runs 2-4 brought the summary forward (run 1 had none to start from).
    assert [ok for _, _, ok in advanced] == [True, True, True]
    by_runs = _site_files(datasets)
    site_build.publish(datasets, incremental=False, now=built_at)
    whole = _site_files(datasets)
    assert sorted(by_runs) == sorted(whole)
    for name in whole:
        assert by_runs[name] == whole[name], name
    # The chart of the A100 page has the step of every run (a cut, a withdrawal, a return).
    assert whole["site/gpu/a100.html"].count("aws · spot") >= 1


def _rows(*versions):
    """(provider, valid_from day, valid_to day or None, price) -> history rows of one GPU."""
    return pd.DataFrame(
        {
            "gpu_model": "A100",
            "provider": [p for p, _, _, _ in versions],
            "pricing_model": "on_demand",
            "valid_from": pd.to_datetime([T + a * DAY for _, a, _, _ in versions], utc=True),
            "valid_to": pd.to_datetime(
                [None if b is None else T + b * DAY for _, _, b, _ in versions], utc=True
            ),
            "last_seen_at": pd.to_datetime(
                [T + (a if b is None else b - 1) * DAY for _, a, b, _ in versions], utc=True
            ),
            "price_usd_per_gpu_hour": [p for _, _, _, p in versions],
        }
    )


def test_the_summary_is_rebuilt_when_the_history_changed_before_its_end():
    first = _rows(("aws", 0, 4, 3.0), ("aws", 4, None, 2.5), ("gcp", 1, None, 4.0))
    prev = site_summary.summarize(first)
    assert prev.end == pd.Timestamp(T + 4 * DAY)
    later = pd.concat([first, _rows(("gcp", 6, None, 3.5))], ignore_index=True)
    later.loc[2, "valid_to"] = pd.Timestamp(T + 6 * DAY)
    # Forward: the same as from the whole history.
    ahead = site_summary.advance(
        prev, later[later["valid_to"].isna() | (later["valid_to"] >= prev.end)], 4
    )
    assert ahead is not None and ahead.series == site_summary.summarize(later).series
    # An imported older version (starts before the summary's end): counts disagree.
    older = pd.concat([later, _rows(("aws", 2, 3, 1.0))], ignore_index=True)
    assert site_summary.advance(prev, older, 5) is None
    # A version in force at the end was closed earlier (a rewrite): rebuilt too.
    closed = later.copy()
    closed.loc[1, "valid_to"] = pd.Timestamp(T + 3 * DAY)
    assert site_summary.advance(prev, closed, 4) is None
    # Rows removed.
    assert site_summary.advance(prev, later, 3) is None
