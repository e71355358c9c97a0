"""CloudRift: the documented-format catalogue (per-DC offers, cents, CPU-only dropped),
layout changes, the keyless POST and the optional key, and a run on the local server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import cloudrift
from scrapers.base import ParseError, Response
from tests.support.live_run import archived_bytes, run_live

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "cloudrift"
    / "instance-types-list_documented-format_constructed.json"
)
URL = "https://api.cloudrift.ai/api/v1/instance-types/list"
AT = datetime(2026, 8, 21, tzinfo=UTC)
KEY = "rift_test_key_0123456789"


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def _resp(doc: dict | bytes) -> Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Response(url=URL, fetched_at=AT, body=body)


def test_parse_per_data_center_offers():
    result = cloudrift.parse([_resp(FIXTURE.read_bytes())])
    offers = {(o.instance_type, o.region): o for o in result.offers}
    assert set(offers) == {
        ("rtx49-10c-kn.1", "ap-east-tw-kn-1"),
        ("rtx49-10c-kn.2", "ap-east-tw-kn-1"),
        ("rtx49-10c-kn.2", "us-east-nc-nr-1"),
    }  # cpu-16c.1 dropped
    one = offers[("rtx49-10c-kn.1", "ap-east-tw-kn-1")]
    assert one.price_per_hour == 0.39 and one.gpu_name_raw == "RTX 4090"
    assert one.gpu_memory_gb == 24 and one.memory_gb == 48 and one.vcpus == 10
    two = offers[("rtx49-10c-kn.2", "us-east-nc-nr-1")]
    assert two.gpu_count == 2 and two.price_per_hour == 0.78 and two.extra["available_nodes"] == 1


def test_layout_change_fails_loudly():
    with pytest.raises(ParseError, match="'data'"):
        cloudrift.parse([_resp({"version": "2026-01-01", "instance_types": []})])
    with pytest.raises(ParseError, match="instance_types"):
        cloudrift.parse([_resp({"data": {"types": []}})])
    doc = _doc()
    for t in doc["data"]["instance_types"]:
        for v in t["variants"]:
            v.pop("cost_per_hour")
    with pytest.raises(ParseError) as err:
        cloudrift.parse([_resp(doc)])
    assert str(err.value).startswith("cloudrift:") and "'cost_per_hour'" in str(err.value)


def test_keyless_post_against_the_local_server(tmp_path, provider_server):
    provider_server.route(
        "/api/v1/instance-types/list",
        (200, FIXTURE.read_bytes(), {"Content-Type": "application/json"}),
    )
    res, df, _ = run_live(tmp_path, provider_server, "cloudrift", path_prefix="/api/v1")
    assert res.status == "ok", res.error
    (req,) = provider_server.requests
    assert req.method == "POST" and "X-API-Key" not in req.headers
    assert len(df) == 3 and set(df["gpu_model"]) == {"RTX 4090"}


def test_optional_key_is_sent_and_never_archived(tmp_path, provider_server):
    provider_server.route(
        "/api/v1/instance-types/list",
        (200, FIXTURE.read_bytes(), {"Content-Type": "application/json"}),
    )
    res, _, cfg = run_live(
        tmp_path, provider_server, "cloudrift", path_prefix="/api/v1", CLOUDRIFT_API_KEY=KEY
    )
    assert res.status == "ok", res.error
    assert provider_server.requests[0].headers["X-API-Key"] == KEY
    assert KEY.encode() not in archived_bytes(cfg)
