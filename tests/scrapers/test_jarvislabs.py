"""JarvisLabs: the gpuhunt-recorded server_meta body (per-GPU prices, spot, VM vs container
rows), layout changes, the missing-key skip and a full run against the local server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import jarvislabs
from scrapers.base import ParseError, Response
from tests.support.live_run import archived_bytes, run_live, run_without_settings

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "jarvislabs"
    / "misc_server_meta_gpuhunt-fixture_2026-08.json"
)
URL = "https://backendn.jarvislabs.net/misc/server_meta"
AT = datetime(2026, 8, 14, tzinfo=UTC)
KEY = "jl_test_key_0123456789abcdef"


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def _resp(doc: dict | bytes) -> Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Response(url=URL, fetched_at=AT, body=body)


def test_parse_recorded_server_meta():
    result = jarvislabs.parse([_resp(FIXTURE.read_bytes())])
    assert result.warnings == []
    offers = {(o.instance_type, o.region, o.pricing_model): o for o in result.offers}
    assert len(offers) == 10  # 6 rows, 4 of them with a spot price
    a100 = offers[("A100-80GB", "india-noida-01", "on_demand")]
    assert a100.price_per_hour == 1.49 and a100.gpu_count == 1 and a100.gpu_memory_gb == 80
    assert a100.price_unit_published == "gpu_hour" and a100.vcpus == 28 and a100.memory_gb == 112
    assert a100.extra["max_gpus_per_instance"] == 4 and a100.extra["num_free_devices"] == 1
    assert offers[("A100-80GB", "india-noida-01", "spot")].price_per_hour == 0.89
    # Containers and VMs are different products with the same GPU: distinct keys.
    assert offers[("L4:container", "india-noida-01", "on_demand")].extra["workload_type"] == (
        "container"
    )
    assert offers[("L4", "india-noida-01", "on_demand")].extra["workload_type"] == "vm"
    # A null workload_type (older VM rows) is a VM; no spot price, no spot offer.
    assert ("H100", "europe-01", "on_demand") in offers
    assert ("H100", "europe-01", "spot") not in offers
    assert ("RTX PRO 6000", "india-noida-01", "spot") not in offers  # spot_price null


def test_bad_row_skipped_and_layout_change_fails():
    doc = _doc()
    doc["server_meta"][0]["price_per_hour"] = None
    result = jarvislabs.parse([_resp(doc)])
    assert len(result.warnings) == 1 and "price_per_hour" in result.warnings[0]
    with pytest.raises(ParseError, match="'server_meta'"):
        jarvislabs.parse([_resp({"gpus": []})])
    with pytest.raises(ParseError, match="body"):
        jarvislabs.parse([_resp(b"Internal Server Error")])
    with pytest.raises(ParseError, match="no GPU row"):
        jarvislabs.parse([_resp({"server_meta": []})])
    for row in doc["server_meta"]:
        del row["region"]
    with pytest.raises(ParseError) as err:
        jarvislabs.parse([_resp(doc)])
    assert str(err.value).startswith("jarvislabs:") and "'region'" in str(err.value)


def test_missing_key_is_a_skip_with_a_hint(tmp_path):
    # What the user sees: the run skips jarvislabs with one line saying where to get the key.
    res = run_without_settings(tmp_path, "jarvislabs")
    assert res.status == "skipped"
    assert re.search(
        r"JARVISLABS_API_KEY \(JarvisLabs API key: https://jarvislabs\.ai", res.error
    ), res.error


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route(
        "/misc/server_meta", (200, FIXTURE.read_bytes(), {"Content-Type": "application/json"})
    )
    res, df, cfg = run_live(tmp_path, provider_server, "jarvislabs", JARVISLABS_API_KEY=KEY)
    assert res.status == "ok", res.error
    (req,) = provider_server.requests
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert len(df) == 10 and set(df["gpu_model"]) == {"A100", "L4", "RTX PRO 6000", "H100"}
    pro = df[(df.instance_type == "RTX-PRO6000") & (df.pricing_model == "on_demand")]
    assert pro["gpu_model"].item() == "RTX PRO 6000"  # via the alias row
    assert KEY.encode() not in archived_bytes(cfg)
