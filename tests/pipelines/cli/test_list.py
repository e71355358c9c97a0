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


def test_list_table_names_settings_and_whether_they_are_secret():
    res = runner.invoke(app, ["list"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "DATACRUNCH_CLIENT_SECRET (required, secret)" in res.output
    assert "SCALEWAY_ZONES (optional)" in res.output
