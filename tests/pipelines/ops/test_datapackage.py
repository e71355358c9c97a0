"""datasets/datapackage.json as published: `frictionless validate` reads every row of every
table and accepts it; every Parquet file is declared once in the catalogue with its schema;
polars, DuckDB and pandas read `datasets/gpu_prices.parquet` directly (issue 16, items 14
and 15)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

from pipelines.config import ChangesSection
from pipelines.ops.run import run_providers
from pipelines.store.history import History
from pipelines.tables import BY_FILE, PRICES, schema_version
from tests.pipelines.ops.test_run import PAGE1, azure_answer, make_config
from tests.support.published import assert_matches_catalogue, frictionless_validate

ROOT = Path(__file__).resolve().parents[3]


def test_finding_14_datapackage_validates_with_frictionless(readme_command_1):
    datasets = readme_command_1
    result = frictionless_validate(datasets / "datapackage.json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    package = json.loads((datasets / "datapackage.json").read_text())
    for key in ("title", "description", "homepage", "sources", "licenses", "contributors"):
        assert package[key], key
    assert package["version"] == History(datasets).current_version()
    assert package["schema_version"] == schema_version()
    # Every published table is described, every field with a description.
    names = {r.get("group", r["name"]) for r in package["resources"]}
    assert set(BY_FILE) - {"gpu_quarantine.parquet"} <= {f"{n}.parquet" for n in names}
    for res in package["resources"]:
        schema = res.get("schema")
        if isinstance(schema, str):
            schema = json.loads((datasets / schema).read_text())
        for field in (schema or {}).get("fields", []):
            assert field["description"], (res["name"], field["name"])


def test_every_parquet_file_of_the_run_is_in_the_catalogue_with_its_schema(readme_command_1):
    files = assert_matches_catalogue(readme_command_1)
    assert {t.file for t in files.values()} >= {
        "gpu_prices.parquet",
        "gpu_specs.parquet",
        "gpu_price_per_tflop.parquet",
        "gpu_price_per_tflop_summary.parquet",
        "gpu_price_changes.parquet",
        "gpu_runs.parquet",
    }


def test_finding_15_polars_and_duckdb_read_the_prices_directory_directly(readme_command_1):
    path = readme_command_1 / PRICES.file
    expected = pd.read_parquet(path)
    assert len(expected) > 100
    assert pl.read_parquet(path).shape == expected.shape
    n = duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()[0][0]
    assert n == len(expected)
    # The view's manifest (file hashes, gate state) lives beside the Parquet directory.
    assert sorted(p.suffix for p in path.iterdir()) == [".parquet"] * len(list(path.iterdir()))
    assert (path.resolve().parent / f"{path.resolve().name}.json").is_file()


def test_finding_15_readme_string_tip_keeps_missing_values_missing(readme_command_1):
    """The README's tip was `.astype(str)`, which turns a missing value into the text 'nan'."""
    readme = (ROOT / "README.md").read_text()
    assert '`.astype("string")`' in readme
    prices = pd.read_parquet(readme_command_1 / PRICES.file)
    categorical = [c for c in prices.columns if isinstance(prices[c].dtype, pd.CategoricalDtype)]
    assert categorical
    missing = 0
    for column in categorical:
        as_text = prices[column].astype("string")
        assert as_text.isna().equals(prices[column].isna()), column
        assert not (as_text == "nan").any(), column
        missing += int(prices[column].isna().sum())
    assert missing  # the check above met missing values


def test_finding_14_two_versions_with_events_validate_and_sum_to_the_history(
    tmp_path, provider_server
):
    """A price change: a closed part beside the current one, and change events whose null
    integers (offer_count) the validator must read as nulls."""
    provider_server.route("/api/retail/prices", azure_answer())
    cfg = make_config(tmp_path, provider_server)
    # Azure holds a new price back one run (price_confirm_runs 1): this test wants the
    # event in the second run's package.
    cfg.changes = ChangesSection(price_confirm_runs=0)
    run_providers(["azure"], config=cfg)
    changed = PAGE1.replace(
        b'"retailPrice":3.06,"unitPrice":3.06', b'"retailPrice":2.75,"unitPrice":2.75', 1
    )
    provider_server.route("/api/retail/prices", azure_answer(nc_page1=changed))
    report = run_providers(["azure"], config=cfg)
    assert report.providers["azure"].changed_offers == 1
    datasets = cfg.datasets_dir
    events = pd.read_parquet(datasets / "gpu_price_changes.parquet")
    assert len(events) and events["offer_count"].isna().any()

    result = frictionless_validate(datasets / "datapackage.json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    package = json.loads((datasets / "datapackage.json").read_text())
    parts = [r for r in package["resources"] if r.get("group") == "gpu_prices"]
    assert sorted(r["name"].split("-")[1] for r in parts) == ["closed", "current"]
    assert all(isinstance(r["path"], str) for r in package["resources"])
    assert sum(r["rows"] for r in parts) == len(pd.read_parquet(datasets / "gpu_prices.parquet"))
    assert_matches_catalogue(datasets)


def test_validator_rejects_a_package_that_misdescribes_its_data(tmp_path, provider_server):
    """The validation above can fail: a wrong row count and a wrong type are reported."""
    provider_server.route("/api/retail/prices", azure_answer())
    cfg = make_config(tmp_path, provider_server)
    run_providers(["azure"], config=cfg)
    path = cfg.datasets_dir / "datapackage.json"
    package = json.loads(path.read_text())
    runs = next(r for r in package["resources"] if r.get("group") == "gpu_runs")
    runs["rows"] += 1
    path.write_text(json.dumps(package))
    result = frictionless_validate(path)
    assert result.returncode != 0 and "row-count" in result.stdout


def test_public_url_is_the_homepage(readme_command_1):
    from pipelines.ops import datapackage

    history = History(readme_command_1)
    version = history.current_version()
    served = datapackage.write(
        readme_command_1, history, version, public_url="https://data.example.org/gpu-prices"
    )
    assert served["homepage"] == "https://data.example.org/gpu-prices"
    default = datapackage.write(readme_command_1, history, version)
    assert default["homepage"] == "https://github.com/gpu-prices/gpu-prices"
