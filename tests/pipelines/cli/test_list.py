"""`scrape list`: every provider with the settings it declares (name, secret, required, help)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipelines.cli.main import app

runner = CliRunner()


def test_list_json_shows_each_providers_declared_settings():
    res = runner.invoke(app, ["list", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["provider"]: r for r in json.loads(res.output)}
    assert rows["gcp"]["settings"] == [
        {
            "name": "GOOGLE_API_KEY",
            "secret": True,
            "required": True,
            "help": "Google Cloud API key with the Cloud Billing API enabled",
        }
    ]
    assert rows["gcp"]["requires"] == ["GOOGLE_API_KEY"]
    assert [s["name"] for s in rows["aws"]["settings"]] == ["AWS_REGIONS"]
    assert rows["aws"]["requires"] == [] and rows["linode"]["settings"] == []
    assert rows["shadeform"]["resells"] is True and rows["aws"]["resells"] is False


def test_list_table_names_settings_and_whether_they_are_secret():
    res = runner.invoke(app, ["list", "--long"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "DATACRUNCH_CLIENT_SECRET (required, secret)" in res.output
    assert "SCALEWAY_ZONES (optional)" in res.output
    assert "recorded response:" in res.output and "https://" in res.output


def test_list_fits_an_80_column_terminal_and_names_every_provider_whole():
    """The default table was six folded columns of URLs and file names at 80 columns, one
    character per line in places; it now keeps the short facts and points to `--long`."""
    from scrapers.registry import PROVIDERS

    res = runner.invoke(app, ["list"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    first_cells = {line.split("│")[1].strip() for line in lines if line.startswith("│")}
    assert set(PROVIDERS) <= first_cells
    row = next(line for line in lines if line.startswith("│ aws "))
    assert "recorded" in row and "AWS_REGIONS?" in row
    assert "DATACRUNCH_CL" in res.output and "* secret" in res.output
    assert "https://" not in res.output and "scrape list --long" in res.output
