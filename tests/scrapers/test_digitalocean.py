"""DigitalOcean: the gpuhunt-recorded sizes page, per-region GPU offers, layout changes,
the missing-token skip, page-number paging and a full run against the local server."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from scrapers import digitalocean
from scrapers.base import ParseError, Response
from tests.support.live_run import archived_bytes, run_live, run_without_settings

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "digitalocean"
    / "v2_sizes_per_page-500_gpuhunt-fixture_2025-08.json"
)
URL = "https://api.digitalocean.com/v2/sizes?per_page=500"
AT = datetime(2025, 8, 29, tzinfo=UTC)
TOKEN = "dop_v1_test_token_0123456789abcdef"
JSON = {"Content-Type": "application/json"}


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def _resp(doc: dict | bytes) -> Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Response(url=URL, fetched_at=AT, body=body)


def test_parse_recorded_sizes():
    result = digitalocean.parse([_resp(FIXTURE.read_bytes())])
    assert result.warnings == [] and result.unknown == []
    offers = {o.instance_type: o for o in result.offers}
    assert set(offers) == {"gpu-h100x8-640gb", "gpu-mi300x8-1536gb"}  # CPU Droplet dropped
    h100 = offers["gpu-h100x8-640gb"]
    assert (h100.region, h100.pricing_model, h100.currency) == ("nyc1", "on_demand", "USD")
    assert h100.price_per_hour == 23.92 and h100.gpu_count == 8
    assert h100.price_per_hour / h100.gpu_count == pytest.approx(2.99)
    assert h100.gpu_name_raw == "nvidia_h100" and h100.gpu_memory_gb == 80  # 640 GiB / 8
    assert h100.vcpus == 160 and h100.memory_gb == 1920  # 1966080 MiB
    assert h100.extra["price_monthly"] == 17796.48 and h100.extra["available"] is True
    assert h100.observed_at == AT and h100.source_url == URL
    assert offers["gpu-mi300x8-1536gb"].gpu_memory_gb == 192


def test_one_offer_per_region_and_bad_row_skipped():
    doc = _doc()
    doc["sizes"][1]["regions"] = ["nyc1", "atl1", "tor1"]
    doc["sizes"][2]["price_hourly"] = "call us"
    result = digitalocean.parse([_resp(doc)])
    assert sorted(o.region for o in result.offers) == ["atl1", "nyc1", "tor1"]
    assert len(result.warnings) == 1 and "gpu-mi300x8-1536gb" in result.warnings[0]
    assert "price_hourly" in result.warnings[0]


def test_layout_change_fails_loudly():
    with pytest.raises(ParseError, match="'sizes'"):
        digitalocean.parse([_resp({"droplet_sizes": []})])
    with pytest.raises(ParseError, match="body"):
        digitalocean.parse([_resp(b"<html>rate limited</html>")])
    doc = _doc()
    for size in doc["sizes"]:
        size.pop("gpu_info", None)
    with pytest.raises(ParseError, match="gpu_info"):  # no GPU size at all
        digitalocean.parse([_resp(doc)])
    doc = _doc()
    for size in doc["sizes"]:
        size.pop("price_hourly")
    with pytest.raises(ParseError) as err:
        digitalocean.parse([_resp(doc)])
    msg = str(err.value)
    assert msg.startswith("digitalocean:") and URL in msg and "'price_hourly'" in msg


def test_missing_token_is_a_skip_with_a_hint(tmp_path):
    # What the user sees: the run skips digitalocean with one line saying where to get the key.
    res = run_without_settings(tmp_path, "digitalocean")
    assert res.status == "skipped"
    assert re.search(r"DIGITALOCEAN_TOKEN \(DigitalOcean personal access token", res.error), (
        res.error
    )


def test_run_follows_pages_on_the_local_server(tmp_path, provider_server):
    doc = _doc()
    page1 = copy.deepcopy(doc)
    page1["sizes"] = doc["sizes"][:2]
    # DigitalOcean's next link is absolute on its own host; only the page number is used.
    page1["links"] = {
        "pages": {"next": "https://api.digitalocean.com/v2/sizes?page=2&per_page=200"}
    }
    page2 = copy.deepcopy(doc)
    page2["sizes"] = doc["sizes"][2:]
    page2["links"] = {"pages": {"prev": "https://api.digitalocean.com/v2/sizes?page=1"}}
    provider_server.route(
        "/v2/sizes",
        (200, json.dumps(page1).encode(), JSON),
        (200, json.dumps(page2).encode(), JSON),
    )
    res, df, cfg = run_live(tmp_path, provider_server, "digitalocean", DIGITALOCEAN_TOKEN=TOKEN)
    assert res.status == "ok", res.error
    queries = [parse_qs(urlsplit(p).query) for p in provider_server.paths()]
    assert [q["page"] for q in queries] == [["1"], ["2"]]
    assert all(q["per_page"] == ["200"] for q in queries)
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in provider_server.requests)
    assert sorted(df["instance_type"]) == ["gpu-h100x8-640gb", "gpu-mi300x8-1536gb"]
    h100 = df[df.instance_type == "gpu-h100x8-640gb"]
    assert h100["gpu_model"].item() == "H100" and h100["price_usd_per_gpu_hour"].item() == 2.99
    assert TOKEN.encode() not in archived_bytes(cfg)


def test_raw_names_resolve():
    from pipelines.ingest.gpus import resolve

    models = {
        resolve(o.gpu_name_raw, memory_gb=o.gpu_memory_gb, provider="digitalocean").gpu_model
        for o in digitalocean.parse([_resp(FIXTURE.read_bytes())]).offers
    }
    assert models == {"H100", "MI300X"}
