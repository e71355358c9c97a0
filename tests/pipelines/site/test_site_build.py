"""Site building without a browser: the price step function behind the GPU charts, the chart
axes, the dataset card, `scrape site --out`, and the post-publish step of `scrape run`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.site import card
from pipelines.site import data as site_data
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
    steps = site_data.price_steps(rows, end=T + 20 * DAY)
    assert steps == [
        (T, 3.0),
        (T + 2 * DAY, 2.0),
        (T + 5 * DAY, 3.0),
        (T + 10 * DAY, None),
        (T + 12 * DAY, 4.0),
    ]


def test_one_observation_is_one_step_and_thousands_stay_exact():
    assert site_data.price_steps(_versions((0, None, 1.5)), end=T) == [(T, 1.5)]
    # 5,000 consecutive versions of one offer: every change is a step, none is lost.
    n = 5000
    prices = [1.0 + (i % 7) * 0.1 for i in range(n)]
    rows = _versions(*[(i, i + 1 if i + 1 < n else None, p) for i, p in enumerate(prices)])
    steps = site_data.price_steps(rows, end=T + n * DAY)
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

    def broken(datasets_dir):
        raise OSError("disk full")

    monkeypatch.setattr(site_build, "publish", broken)
    cfg = Config.load(root=tmp_path, env={})
    archive = Path(__file__).parents[3] / "examples" / "archive"
    report = run_mod.run_providers(["linode"], config=cfg, replay=archive, alerts=False)
    assert report.exit_code == 0
    assert report.notes == ["report site failed: disk full"]
    assert len(pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")) > 0
    assert not (cfg.datasets_dir / "site").exists()
