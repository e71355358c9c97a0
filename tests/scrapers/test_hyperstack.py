"""Hyperstack: flavors joined to the pricebook (kinds detected from content), layout
changes, the missing-key skip and a two-endpoint run against the local server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import hyperstack
from scrapers.base import ParseError, Response
from tests.support.live_run import archived_bytes, run_live, run_without_settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hyperstack"
FLAVORS = FIXTURES / "core-flavors_documented-format_constructed.json"
PRICEBOOK = FIXTURES / "pricebook_documented-format_constructed.json"
BASE = "https://infrahub-api.nexgencloud.com/v1"
AT = datetime(2026, 8, 21, tzinfo=UTC)
KEY = "hs_test_key_0123456789"


def _resp(body: bytes | dict | list, path: str) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(url=f"{BASE}/{path}", fetched_at=AT, body=raw)


def _both() -> list[Response]:
    return [_resp(FLAVORS.read_bytes(), "core/flavors"), _resp(PRICEBOOK.read_bytes(), "pricebook")]


def test_flavors_priced_from_the_pricebook_in_any_order():
    result = hyperstack.parse(_both())
    offers = {o.instance_type: o for o in result.offers}
    assert set(offers) == {"n3-RTX-A6000x1", "n3-RTX-A6000x2", "n3-H100x1"}  # CPU flavor dropped
    x2 = offers["n3-RTX-A6000x2"]
    assert x2.price_per_hour == 1.0 and x2.gpu_count == 2 and x2.region == "CANADA-1"
    assert x2.extra["price_per_gpu_hour"] == 0.5 and x2.extra["stock_available"] is False
    assert offers["n3-H100x1"].vcpus == 28 and offers["n3-H100x1"].memory_gb == 180
    # The kind is read from the content, not the URL or the order.
    swapped = [_resp(PRICEBOOK.read_bytes(), "x"), _resp(FLAVORS.read_bytes(), "y")]
    assert len(hyperstack.parse(swapped).offers) == 3


def test_unpriced_gpu_skipped_and_one_kind_alone_fails_clearly():
    prices = json.loads(PRICEBOOK.read_text())
    result = hyperstack.parse(
        [_resp(FLAVORS.read_bytes(), "core/flavors"), _resp(prices[:1], "pricebook")]
    )
    assert {o.instance_type for o in result.offers} == {"n3-RTX-A6000x1", "n3-RTX-A6000x2"}
    assert "H100-80G-PCIe" in result.warnings[0] and "pricebook" in result.warnings[0]
    with pytest.raises(ParseError, match="together with the /pricebook"):
        hyperstack.parse([_resp(FLAVORS.read_bytes(), "core/flavors")])
    with pytest.raises(ParseError, match="no GPU flavor"):
        hyperstack.parse([_resp(PRICEBOOK.read_bytes(), "pricebook")])


def test_layout_change_fails_loudly():
    with pytest.raises(ParseError, match="neither a pricebook array nor a flavors"):
        hyperstack.parse([_resp({"flavours": []}, "core/flavors")])
    with pytest.raises(ParseError, match="API error"):
        hyperstack.parse([_resp({"status": False, "message": "bad key", "data": []}, "x")])
    flavors = json.loads(FLAVORS.read_text())
    for g in flavors["data"]:
        for f in g["flavors"]:
            f["gpu"] = "B999"
        g["gpu"] = "B999"
    with pytest.raises(ParseError) as err:
        hyperstack.parse([_resp(flavors, "core/flavors"), _resp(PRICEBOOK.read_bytes(), "p")])
    assert str(err.value).startswith("hyperstack:") and "'pricebook'" in str(err.value)


def test_missing_key_is_a_skip_with_a_hint(tmp_path):
    # What the user sees: the run skips hyperstack with one line saying where to get the key.
    res = run_without_settings(tmp_path, "hyperstack")
    assert res.status == "skipped"
    assert re.search(
        r"HYPERSTACK_API_KEY \(Hyperstack API key: https://console\.hyperstack", res.error
    ), res.error


def test_run_against_the_local_server(tmp_path, provider_server):
    ct = {"Content-Type": "application/json"}
    provider_server.route("/v1/core/flavors", (200, FLAVORS.read_bytes(), ct))
    provider_server.route("/v1/pricebook", (200, PRICEBOOK.read_bytes(), ct))
    res, df, cfg = run_live(
        tmp_path, provider_server, "hyperstack", path_prefix="/v1", HYPERSTACK_API_KEY=KEY
    )
    assert res.status == "ok", res.error
    assert sorted(r.path for r in provider_server.requests) == ["/v1/core/flavors", "/v1/pricebook"]
    assert all(r.headers["api_key"] == KEY for r in provider_server.requests)
    assert set(df["gpu_model"]) == {"RTX A6000", "H100"}
    assert KEY.encode() not in archived_bytes(cfg)
