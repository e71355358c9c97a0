"""`scrape parse PROVIDER FILE...`: output formats and one-line input errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app

FIX = Path(__file__).resolve().parents[2] / "fixtures"
PAGES = [str(FIX / "azure" / "gpu-page1.json"), str(FIX / "azure" / "gpu-page2.json")]
ARGS = ["--observed-at", "2026-11-01T04:15:00Z", "--url", "https://prices.azure.com/x", "--no-fx"]
runner = CliRunner()


def _parse(*args: str):
    return runner.invoke(app, ["parse", *args])


def test_jsonl_json_csv_and_table_show_the_same_rows():
    jsonl = _parse("azure", *PAGES, *ARGS, "--format", "jsonl")
    assert jsonl.exit_code == 0, jsonl.stderr
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(rows) == 13
    assert [r["offer_key"] for r in rows] == sorted(r["offer_key"] for r in rows)
    a100 = next(
        r for r in rows if r["offer_key"] == "azure|Standard_NC24ads_A100_v4|eastus||on_demand|"
    )
    assert a100["price_per_hour"] == 3.673 and a100["observed_at"] == "2026-11-01T04:15:00Z"
    assert a100["source_url"] == "https://prices.azure.com/x"

    as_json = _parse("azure", *PAGES, *ARGS, "--format", "json")
    assert json.loads(as_json.stdout) == rows

    as_csv = _parse("azure", *PAGES, *ARGS, "--format", "csv")
    header, *lines = as_csv.stdout.splitlines()
    assert header.split(",")[:2] == ["provider", "offer_key"] and len(lines) == 13

    table = runner.invoke(app, ["parse", "azure", *PAGES, *ARGS], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "azure: 13 row(s)" in table.stdout and "Standard_NC24ads_A100_v4" in table.stdout
    assert "3.673" in table.stdout


def test_jsonl_is_byte_identical_between_runs_and_file_order():
    first = _parse("azure", *PAGES, *ARGS, "--format", "jsonl").stdout
    again = _parse("azure", *reversed(PAGES), *ARGS, "--format", "jsonl").stdout
    assert first == again and first.endswith("\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["awz", PAGES[0]], "unknown provider 'awz' (did you mean 'aws'?)"),
        (["../x", PAGES[0]], "unknown provider '../x'"),
        (["azure", "/nope/page.json"], "no such file: /nope/page.json"),
        (["azure", str(FIX / "azure")], "not a file:"),
        (["azure", PAGES[0], "--format", "xml"], "unknown --format 'xml'; one of: table"),
        (["azure", PAGES[0], "--observed-at", "yesterday"], "--observed-at 'yesterday' is not"),
        (["azure", *PAGES, "--url", "a", "--url", "b", "--url", "c"], "one --url for all files"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = _parse(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_parse_error_is_one_line_and_exit_1():
    result = _parse("aws", PAGES[0], "--no-fx", "--format", "jsonl")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error aws: ") and result.stderr.count("\n") == 1


def test_fx_files_fill_the_usd_columns():
    # An EUR offer observed inside the ECB fixture's span gets that day's rate.
    scw = FIX / "scaleway"
    (page,) = [p for p in scw.glob("*.json")]
    result = _parse(
        "scaleway",
        str(page),
        "--format",
        "jsonl",
        "--observed-at",
        "2024-05-28T12:00:00Z",
        "--fx",
        str(FIX / "ecb" / "eurofxref-daily_2024-05-28.xml"),
    )
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all(r["currency"] == "EUR" for r in rows)
    assert {r["fx_rate_date"] for r in rows} == {"2024-05-28"}
    for r in rows:
        assert r["price_usd_per_hour"] == r["price_per_hour"] * r["fx_rate_usd_per_unit"]
