"""Quarantine through `scrape run`: a snapshot with a few implausible rows publishes the rest
and quarantines those; too many, and the provider fails and keeps its last good data.

Data: the real Vast.ai `search offers --raw` recording (tests/fixtures/vastai, 64 offers,
2024-11-05) and the real Scaleway Product Catalog page (tests/fixtures/scaleway,
2026-07-01). The implausible rows are CONSTRUCTED here: the tests copy the recordings and
set a few prices to placeholder values (700 USD/h, as in the third-party GCP catalog the
issue cites; 6e10 EUR/h, as Scaleway once published). Nothing else is changed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.config import Config
from pipelines.ingest.archive import Archive
from pipelines.ops.run import run_providers
from pipelines.store.quarantine import QUARANTINE_NAME, QUARANTINE_SCHEMA
from tests.support.published import assert_matches_catalogue, frictionless_validate

FIX = Path(__file__).parents[2] / "fixtures"
VAST = FIX / "vastai" / "search-offers_raw_2024-11-05_one-per-gpu_excerpt.json"
VAST_URL = "https://console.vast.ai/api/v0/bundles/"
SCW = (
    FIX
    / "scaleway"
    / "product-catalog-v2alpha1_public-catalog-products_instance_fr-par-1_page1_2026-07-01_trimmed.json"
)
SCW_URL = "https://api.scaleway.com/product-catalog/v2alpha1/public-catalog/products?page=1"
T0 = datetime(2024, 11, 5, 16, 0, tzinfo=UTC)
PLACEHOLDER_USD_PER_HOUR = 700.0


def vast_offers() -> list[dict]:
    return json.loads(VAST.read_text())


def with_placeholders(n: int) -> tuple[list[dict], list[int]]:
    """The real offers with the first `n` single-GPU offers' on-demand price set to 700/h."""
    offers = vast_offers()
    edited = []
    for o in offers:
        if len(edited) == n:
            break
        if o["num_gpus"] == 1:
            o["dph_total"] = PLACEHOLDER_USD_PER_HOUR
            edited.append(o["id"])
    return offers, edited


def archive_runs(tmp_path: Path, provider: str, url: str, bodies: list[bytes]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    arch = Archive(tmp_path / "archive")
    for i, body in enumerate(bodies):
        path = tmp_path / f"{provider}-{i}.json"
        path.write_bytes(body)
        arch.add_file(provider, path, url=url, fetched_at=T0 + timedelta(hours=i), run_id=f"r{i}")
    return arch.root


def current(cfg: Config, provider: str) -> pd.DataFrame:
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    return df[(df.provider == provider) & df.valid_to.isna()]


def test_few_implausible_rows_are_quarantined_and_the_rest_published(tmp_path):
    clean = json.dumps(vast_offers()).encode()
    offers, edited = with_placeholders(3)
    root = archive_runs(tmp_path, "vastai", VAST_URL, [json.dumps(offers).encode()])
    cfg = Config.load(root=tmp_path, env={})

    report = run_providers(["vastai"], config=cfg, replay=root)

    res = report.providers["vastai"]
    assert res.status == "ok", res.error
    # rows = published offers (new + changed + unchanged); with the quarantined ones, all 128 parsed.
    assert res.quarantined_rows == 3 and res.rows == 125
    assert [(f.check, f.field, f.count) for f in res.gate_findings] == [
        ("price_implausible", "price_usd_per_gpu_hour", 3)
    ]
    # The quarantine file holds exactly those rows, with the reason and the run.
    q = pq.read_table(cfg.datasets_dir / QUARANTINE_NAME)
    assert q.schema.equals(QUARANTINE_SCHEMA, check_metadata=False)
    q = q.to_pandas()
    assert len(q) == 3
    assert set(q["check"]) == {"price_implausible"} and set(q["provider"]) == {"vastai"}
    assert (q["price_per_hour"] == PLACEHOLDER_USD_PER_HOUR).all()
    assert (q["run_id"] == report.run_id).all()
    assert (q["dataset_version"] == report.dataset_version).all()
    assert q["provider_published"].all() and q["reason"].str.contains("USD per GPU-hour").all()
    assert (q["observed_at"] == pd.Timestamp(T0)).all()
    # Published like every table: as the catalogue declares it, and the package validates.
    assert_matches_catalogue(cfg.datasets_dir)
    checked = frictionless_validate(cfg.datasets_dir / "datapackage.json")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Nothing else of the provider is lost: every other row of the snapshot is published
    # with the price a clean parse of the recording gives.
    pub = current(cfg, "vastai")
    assert len(pub) == 125 and not set(pub.offer_key) & set(q.offer_key)
    clean_cfg = Config.load(root=tmp_path / "clean", env={})
    run_providers(
        ["vastai"],
        config=clean_cfg,
        replay=archive_runs(tmp_path / "clean", "vastai", VAST_URL, [clean]),
    )
    ref = current(clean_cfg, "vastai").set_index("offer_key")["price_per_hour"]
    # A clean run leaves an empty (but loadable, and described) quarantine table.
    assert len(pd.read_parquet(clean_cfg.datasets_dir / QUARANTINE_NAME)) == 0
    package = json.loads((clean_cfg.datasets_dir / "datapackage.json").read_text())
    assert QUARANTINE_NAME in [r.get("path") for r in package["resources"]]
    assert set(q.offer_key) <= set(ref.index)
    assert pub.set_index("offer_key")["price_per_hour"].equals(
        ref.drop(q.offer_key).loc[pub.offer_key]
    )

    # The user-facing summary says so, and the run log keeps the count and the line.
    runs = pd.read_parquet(cfg.datasets_dir / "gpu_runs.parquet")
    row = runs[runs.provider == "vastai"].iloc[-1]
    assert row["quarantined_rows"] == 3 and "3 GPU rows above 200 USD" in row["gate_findings"]


def test_too_many_implausible_rows_fail_the_provider_which_keeps_its_last_good_data(tmp_path):
    offers, edited = with_placeholders(8)  # 8 of 128 rows = 6.25% > 5%
    root = archive_runs(
        tmp_path,
        "vastai",
        VAST_URL,
        [json.dumps(vast_offers()).encode(), json.dumps(offers).encode()],
    )
    cfg = Config.load(root=tmp_path, env={})
    result = CliRunner().invoke(
        app, ["run", "vastai", "--replay", str(root), "--datasets", str(cfg.datasets_dir)]
    )
    assert result.exit_code == 1
    assert "vastai: 8 of 128 rows quarantined (6.2%), more than the allowed 5.0%" in result.stderr
    pub = current(cfg, "vastai")
    assert len(pub) == 128 and (pub.price_per_hour < PLACEHOLDER_USD_PER_HOUR).all()
    q = pd.read_parquet(cfg.datasets_dir / QUARANTINE_NAME)
    assert len(q) == 8 and not q["provider_published"].any() and q["dataset_version"].isna().all()
    runs = pd.read_parquet(cfg.datasets_dir / "gpu_runs.parquet")
    assert runs.sort_values("started_at")["status"].tolist()[-1] == "gate_failed"


def test_the_threshold_is_configurable_per_provider(tmp_path):
    offers, _ = with_placeholders(8)
    root = archive_runs(tmp_path, "vastai", VAST_URL, [json.dumps(offers).encode()])
    (tmp_path / "gpu-prices.toml").write_text(
        "[gate]\nmax_quarantine_fraction = 0.01\n"
        "[gate.providers.vastai]\nmax_quarantine_fraction = 0.1\n"
    )
    cfg = Config.load(root=tmp_path, env={})
    result = CliRunner().invoke(
        app,
        ["run", "vastai", "--replay", str(root), "--datasets", str(cfg.datasets_dir)],
        env={"GPU_PRICES_CONFIG": str(tmp_path / "gpu-prices.toml")},
    )
    assert result.exit_code == 0, result.output
    assert "quarantined vastai: 8 GPU rows above 200 USD per GPU-hour" in " ".join(
        result.stderr.split()
    )
    assert len(current(cfg, "vastai")) == 120


def test_finding_03_scaleway_at_6e10_eur_per_hour_is_quarantined_without_fx(tmp_path):
    """Issue 16 finding 3: without ECB rates the USD columns are empty, and the absurd-price
    check used to look only at them, so 6e10 EUR/h was published."""
    page = json.loads(SCW.read_text())
    gpu = next(p for p in page["products"] if p["product"] == "RENDER-S")
    gpu["price"]["retail_price"].update(units=60_000_000_000, nanos=0)
    root = archive_runs(tmp_path, "scaleway", SCW_URL, [json.dumps(page).encode()])
    # 1 of Scaleway's 5 GPU rows: allow that share so the rest is published.
    (tmp_path / "gpu-prices.toml").write_text(
        "[gate.providers.scaleway]\nmax_quarantine_fraction = 0.25\n"
    )
    cfg = Config.load(root=tmp_path, env={})
    report = run_providers(["scaleway"], config=cfg, replay=root)

    res = report.providers["scaleway"]
    assert res.status == "ok", res.error
    pub = current(cfg, "scaleway")
    assert pub["price_usd_per_hour"].isna().all()  # no FX rate in this archive
    assert len(pub) == 4 and (pub.price_per_hour < 100).all()
    q = pd.read_parquet(cfg.datasets_dir / QUARANTINE_NAME)
    assert q[["instance_type", "check", "field", "currency"]].values.tolist() == [
        ["RENDER-S", "price_implausible", "price_per_hour", "EUR"]
    ]
    assert q["price_per_hour"].item() == 6e10
