"""Seeweb: the gpuhunt copy of the ECS /plans body (per-region GPU offers in EUR), layout
changes, the missing-token skip and a full run against the local server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import seeweb
from scrapers.base import ParseError, Response
from tests.support.live_run import archived_bytes, run_live, run_without_settings

FIXTURE = (
    Path(__file__).parents[1] / "fixtures" / "seeweb" / "ecs-v2_plans_gpuhunt-fixture_2026-07.json"
)
URL = "https://api.seeweb.it/ecs/v2/plans"
AT = datetime(2026, 7, 30, tzinfo=UTC)
TOKEN = "seeweb_test_token_0123456789"


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def _resp(doc: dict | bytes) -> Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Response(url=URL, fetched_at=AT, body=body)


def test_parse_recorded_plans():
    result = seeweb.parse([_resp(FIXTURE.read_bytes())])
    assert result.warnings == []
    offers = {(o.instance_type, o.region): o for o in result.offers}
    assert set(offers) == {
        ("ECS1GPU7", "it-fr2"),
        ("ECS1GPU7", "it-mi2"),
        ("ECS2GPU3", "it-fr2"),
        ("ECS1GPU9", "it-fr2"),
    }  # eCS4 is CPU-only
    a100 = offers[("ECS2GPU3", "it-fr2")]
    assert a100.gpu_count == 2 and a100.gpu_name_raw == "A100 80GB"
    assert a100.price_per_hour == 1.98 and a100.currency == "EUR"
    assert a100.vcpus == 32 and a100.memory_gb == 240  # 245760 MB


def test_unsold_plans_dropped_bad_rows_skipped_layout_fails():
    doc = _doc()
    doc["plans"][0]["available"] = False
    doc["plans"][1]["hourly_price"] = None
    result = seeweb.parse([_resp(doc)])
    assert {o.instance_type for o in result.offers} == {"ECS1GPU9"}
    assert "ECS2GPU3" in result.warnings[0] and "hourly_price" in result.warnings[0]
    with pytest.raises(ParseError, match="'plans'"):
        seeweb.parse([_resp({"status": "ok", "servers": []})])
    with pytest.raises(ParseError, match="status"):
        seeweb.parse([_resp({"status": "error", "plans": []})])
    for plan in doc["plans"]:
        plan["available_regions"] = None
        plan.pop("available")
    with pytest.raises(ParseError, match="available_regions"):
        seeweb.parse([_resp(doc)])


def test_missing_token_is_a_skip_with_a_hint(tmp_path):
    # What the user sees: the run skips seeweb with one line saying where to get the key.
    res = run_without_settings(tmp_path, "seeweb")
    assert res.status == "skipped"
    assert re.search(r"SEEWEB_API_TOKEN \(.*X-APITOKEN", res.error), res.error


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route(
        "/ecs/v2/plans", (200, FIXTURE.read_bytes(), {"Content-Type": "application/json"})
    )
    res, df, cfg = run_live(
        tmp_path, provider_server, "seeweb", path_prefix="/ecs/v2", SEEWEB_API_TOKEN=TOKEN
    )
    assert res.status == "ok", res.error
    req = next(r for r in provider_server.requests if r.path.startswith("/ecs/"))
    assert req.headers["X-APITOKEN"] == TOKEN
    assert len(df) == 4 and set(df["currency"]) == {"EUR"}
    assert set(df["gpu_model"]) == {"L40S", "A100", "MI300X"}
    assert TOKEN.encode() not in archived_bytes(cfg)
