"""A live run fetches the ECB reference rates when a provider declares a non-USD currency, so
the published USD columns of EUR rows are filled (issue 16 finding 3: they were always empty
live, because no provider declared its currency). End to end: a real local HTTP server serves
a recorded Scaleway catalog page and the real ECB rate files; the run's clock is set within
the ECB files' dates (a rate is used for at most 7 days)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd

import scrapers.http
from pipelines.config import Config
from pipelines.ops.run import run_providers
from pipelines.store.history import History
from scrapers import ecb, scaleway

FIXTURES = Path(__file__).parents[2] / "fixtures"
CATALOG_PAGE = (
    FIXTURES
    / "scaleway"
    / "product-catalog-v2alpha1_public-catalog-products_instance_fr-par-1_page1_2026-07-01_trimmed.json"
)
ECB_DAILY = FIXTURES / "ecb" / "eurofxref-daily_2024-05-28.xml"
ECB_90D = FIXTURES / "ecb" / "eurofxref-hist-90d_excerpt_2024-05-20_2024-05-31.xml"
RUN_AT = datetime(2024, 5, 28, 18, 0, tzinfo=UTC)  # after that day's rates were published
USD_PER_EUR_2024_05_28 = 1.0882  # the ECB's rate of that day (tests/fixtures/ecb/README.md)


class _FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):  # the HTTP client's default clock reads datetime.now(UTC)
        return RUN_AT if tz is not None else RUN_AT.replace(tzinfo=None)


def _serve(server) -> None:
    page = json.loads(CATALOG_PAGE.read_bytes())
    # The recorded page 1 of 96 products, then an empty page: the fetch stops there.
    last = json.dumps({"products": [], "total_count": page["total_count"]}).encode()
    json_type = {"Content-Type": "application/json"}
    server.route("/" + scaleway.CATALOG_PATH, (200, CATALOG_PAGE.read_bytes(), json_type))
    server.routes["/" + scaleway.CATALOG_PATH].append((200, last, json_type))
    xml = {"Content-Type": "text/xml"}
    server.route("/" + ecb.DAILY_PATH, (200, ECB_DAILY.read_bytes(), xml))
    server.route("/" + ecb.HIST_90D_PATH, (200, ECB_90D.read_bytes(), xml))


def _config(tmp_path: Path, server) -> Config:
    cfg = Config.load(root=tmp_path, env={})
    cfg.base_urls["scaleway"] = server.url
    cfg.base_urls["ecb"] = server.url
    cfg.settings["SCALEWAY_ZONES"] = "fr-par-1"
    cfg.http = {"max_retries": 0, "timeout_s": 2.0}
    return cfg


def test_finding_03_live_run_fetches_ecb_rates_and_fills_usd_columns_of_eur_rows(
    tmp_path, provider_server, monkeypatch
):
    monkeypatch.setattr(scrapers.http, "datetime", _FixedClock)
    _serve(provider_server)
    cfg = _config(tmp_path, provider_server)

    report = run_providers(["scaleway"], config=cfg, post_steps=False, alerts=False)

    assert report.providers["scaleway"].error is None, report.providers["scaleway"].error
    paths = [r.path.split("?")[0] for r in provider_server.requests]
    assert "/" + ecb.DAILY_PATH in paths and "/" + ecb.HIST_90D_PATH in paths
    # What a user loads: the published history.
    prices = History(cfg.datasets_dir).read_current()
    rows = prices[prices["provider"] == "scaleway"]
    assert len(rows) == 5 and set(rows["currency"]) == {"EUR"}
    assert rows["observed_at"].dt.date.unique().tolist() == [RUN_AT.date()]
    assert rows["price_usd_per_hour"].notna().all()
    assert rows["price_usd_per_gpu_hour"].notna().all()
    assert set(rows["fx_rate_usd_per_unit"]) == {USD_PER_EUR_2024_05_28}
    assert set(pd.to_datetime(rows["fx_rate_date"]).dt.date.astype(str)) == {"2024-05-28"}
    for _, row in rows.iterrows():
        expected = Decimal(str(row["price_per_hour"])) * Decimal(str(USD_PER_EUR_2024_05_28))
        assert abs(row["price_usd_per_hour"] - float(expected)) < 1e-9
