"""The price index after README command 1 (`scrape run --all --replay examples/archive`):
what a user sees in `scrape index`, in the Parquet files read with pandas and DuckDB, and
`scrape index recompute` rebuilding published days from the raw archive alone."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.derive.index import CURRENT_VERSION, INDEX_FILE, INPUTS_FILE, index_ids
from pipelines.tables import INDEX_EXCLUSION_REASONS, PRICE_INDEX

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_ARCHIVE = ROOT / "examples" / "archive"


@pytest.fixture
def published(readme_command_1) -> Path:
    """README command 1's datasets (tests/conftest.py), replayed once per session."""
    return readme_command_1


def _cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def _recompute(datasets: Path, day, archive: Path = EXAMPLE_ARCHIVE) -> dict:
    result = _cli(
        "index",
        "recompute",
        "--date",
        str(day),
        "--datasets",
        str(datasets),
        "--archive",
        str(archive),
        "--json",
    )
    out = json.loads(result.output[result.output.index("{") :])
    assert result.exit_code == (0 if out["matches"] else 1)
    return out


def test_index_file_read_with_pandas_and_duckdb(published):
    path = published / INDEX_FILE
    df = pd.read_parquet(path)
    assert list(df.columns) == PRICE_INDEX.columns
    assert not df.duplicated(["date", "index_id", "pricing_model"]).any()
    assert set(df["index_id"]) <= set(index_ids())
    assert set(df["methodology_version"]) == {CURRENT_VERSION}
    assert (df["provider_count"] >= 1).all() and (df["value_usd_per_gpu_hour"] > 0).all()
    # The example holds H100 SXM on-demand offers (Oracle, DataCrunch, Vast.ai): a daily series.
    h100 = df[(df["index_id"] == "H100-SXM") & (df["pricing_model"] == "on_demand")]
    assert len(h100) >= 7
    duck = duckdb.sql(
        f"SELECT count(*), min(value_usd_per_gpu_hour), max(date) FROM read_parquet('{path}') "
        "WHERE index_id = 'H100-SXM' AND pricing_model = 'on_demand'"
    ).fetchall()[0]
    assert duck == (len(h100), h100["value_usd_per_gpu_hour"].min(), h100["date"].max())


def test_a_daily_h100_on_demand_series_covers_at_least_a_year_of_the_shipped_history(published):
    # Issue 18 acceptance: after README command 1, a daily H100 series of a year or more,
    # each value with its provider count and methodology version.
    df = pd.read_parquet(published / INDEX_FILE)
    s = df[(df["index_id"] == "H100-SXM") & (df["pricing_model"] == "on_demand")]
    days = pd.to_datetime(s["date"]).sort_values()
    run = (days.diff().dt.days != 1).cumsum()  # a new run after every gap
    longest = days.groupby(run.to_numpy()).size().max()
    assert longest >= 365, f"longest daily run {longest} days"
    assert (s["provider_count"] >= 1).all() and s["methodology_version"].notna().all()


def test_every_left_out_offer_has_a_reason(published):
    inputs = pd.read_parquet(published / INPUTS_FILE)
    assert not inputs.empty
    left_out = inputs[~inputs["is_included"]]
    assert left_out["exclusion_reason"].notna().all()
    assert set(left_out["exclusion_reason"]) <= set(INDEX_EXCLUSION_REASONS)
    assert inputs.loc[inputs["is_included"], "exclusion_reason"].isna().all()
    # Jarvislabs and Vultr list H100s without saying SXM or PCIe: never guessed into either.
    unknown = inputs[inputs["exclusion_reason"] == "form_factor_unknown"]
    assert {"jarvislabs", "vultr"} <= set(unknown["provider"])
    index = pd.read_parquet(published / INDEX_FILE)
    sub = index[index["index_id"] != "H100"]
    # A row stands for every day from date to last_date: the offers counted on a day are
    # the included rows whose span holds it.
    inc = inputs[inputs["is_included"]]
    days = [
        pd.date_range(a, b, freq="D").date
        for a, b in zip(inc["date"], inc["last_date"], strict=True)
    ]
    per_day = inc.assign(date=days).explode("date")
    counted = per_day.groupby(["date", "index_id", "pricing_model"]).size()
    for r in sub.itertuples():
        assert counted[(r.date, r.index_id, r.pricing_model)] == r.offer_count


def test_scrape_index_prints_the_series(published):
    result = _cli(
        "index", "--id", "H100-SXM", "--pricing", "on_demand", "--datasets", str(published)
    )
    assert result.exit_code == 0, result.output
    assert "H100-SXM" in result.output and f"methodology {CURRENT_VERSION}" in result.output
    rows = json.loads(
        _cli(
            "index",
            "--id",
            "H100-SXM",
            "--pricing",
            "on_demand",
            "--json",
            "--datasets",
            str(published),
        ).output
    )
    df = pd.read_parquet(published / INDEX_FILE)
    expected = df[(df["index_id"] == "H100-SXM") & (df["pricing_model"] == "on_demand")]
    assert [r["value_usd_per_gpu_hour"] for r in rows] == list(expected["value_usd_per_gpu_hour"])
    assert all(
        r["methodology_version"] == CURRENT_VERSION and r["provider_count"] >= 1 for r in rows
    )
    latest = _cli("index", "--datasets", str(published))
    assert latest.exit_code == 0 and "latest value of each index" in latest.output
    bad = _cli("index", "--id", "H100", "--since", "yesterday", "--datasets", str(published))
    assert bad.exit_code == 2 and "not a date" in bad.output
    inputs = _cli(
        "index", "inputs", "--date", str(expected["date"].iloc[0]), "--datasets", str(published)
    )
    assert inputs.exit_code == 0 and "provider_price" in inputs.output


def _three_dates(published: Path) -> list:
    df = pd.read_parquet(published / INDEX_FILE)
    days = sorted(set(df["date"]))
    return [days[0], days[len(days) // 2], days[-1]]


def test_recompute_matches_three_published_dates_after_the_history_is_gone(published, tmp_path):
    # Only the index file: the published history is deleted, and a corrupt file stands in.
    only = tmp_path / "datasets"
    only.mkdir()
    shutil.copy2(published / INDEX_FILE, only / INDEX_FILE)
    (only / "gpu_prices.parquet").write_bytes(b"not parquet")
    df = pd.read_parquet(published / INDEX_FILE)
    for day in _three_dates(published):
        out = _recompute(only, day)
        assert out["matches"], out
        expected = df[df["date"] == day]
        assert len(out["rows"]) == len(expected)
        for r in out["rows"]:
            assert r["published_input_sha256"] == r["recomputed_input_sha256"]


def test_recompute_reports_another_input_hash_when_a_blob_was_tampered_with(published, tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(EXAMPLE_ARCHIVE, archive)
    # A day Vast.ai's recorded offers enter (the recompute of untampered days matches: test
    # above): one byte more in its blob (valid JSON still).
    inputs = pd.read_parquet(published / INPUTS_FILE)
    day = sorted(set(inputs.loc[inputs["provider"].eq("vastai") & inputs["is_included"], "date"]))[
        0
    ]
    blobs = sorted((archive / "vastai" / "blobs").rglob("*.gz"))
    body = gzip.decompress(blobs[0].read_bytes())
    blobs[0].write_bytes(gzip.compress(body.replace(b"[", b"[ ", 1)))
    out = _recompute(published, day, archive)
    assert not out["matches"]
    assert any("sha256 mismatch" in n for n in out["notes"]), out["notes"]
    differ = [r for r in out["rows"] if r["published_input_sha256"] != r["recomputed_input_sha256"]]
    assert differ
