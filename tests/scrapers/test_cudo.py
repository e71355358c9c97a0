"""Cudo Compute: the gpuhunt-recorded machine types (GPU part priced per GPU-hour, the
other unit prices kept), layout changes, and a keyless run against the local server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import cudo
from scrapers.base import ParseError, Response
from tests.support.live_run import run_live

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "cudo"
    / "vms_machine-types_gpuhunt-fixture_2026-06.json"
)
URL = "https://rest.compute.cudo.org/v1/vms/machine-types"
AT = datetime(2026, 6, 12, tzinfo=UTC)


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def _resp(doc: dict | bytes) -> Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Response(url=URL, fetched_at=AT, body=body)


def test_parse_recorded_machine_types():
    result = cudo.parse([_resp(FIXTURE.read_bytes())])
    assert result.warnings == []
    offers = {o.region: o for o in result.offers}
    a5000 = offers["no-luster-1"]
    assert a5000.instance_type == "epyc-rome-rtx-a5000" and a5000.gpu_name_raw == "RTX A5000"
    assert a5000.price_per_hour == 0.52 and a5000.gpu_count == 1
    assert a5000.price_unit_published == "gpu_hour" and a5000.price_scope == "gpu_only"
    assert a5000.extra["vcpuPriceHr"] == 0.0021 and a5000.extra["memoryGibPriceHr"] == 0.0034
    assert a5000.extra["max_gpu_free"] == 4
    assert offers["br-saopaulo-1"].price_per_hour == 0.05


def test_cpu_types_dropped_bad_rows_skipped_layout_fails():
    doc = _doc()
    cpu = dict(doc["machineTypes"][0], machineType="epyc-milan", gpuModel="", gpuModelId="")
    doc["machineTypes"].append(cpu)
    doc["machineTypes"][0]["gpuPriceHr"] = {"value": ""}
    result = cudo.parse([_resp(doc)])
    assert [o.instance_type for o in result.offers] == ["epyc-rome-rtx-a5000"]
    assert "gpuPriceHr.value" in result.warnings[0]
    with pytest.raises(ParseError, match="'machineTypes'"):
        cudo.parse([_resp({"types": []})])
    with pytest.raises(ParseError, match="no GPU machine type"):
        cudo.parse([_resp({"machineTypes": [cpu]})])
    for mt in doc["machineTypes"]:
        mt.pop("gpuPriceHr")
    with pytest.raises(ParseError, match="gpuPriceHr"):
        cudo.parse([_resp(doc)])


def test_keyless_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route(
        "/v1/vms/machine-types", (200, FIXTURE.read_bytes(), {"Content-Type": "application/json"})
    )
    res, df, _ = run_live(tmp_path, provider_server, "cudo", path_prefix="/v1")
    assert res.status == "ok", res.error
    assert "Authorization" not in provider_server.requests[0].headers
    assert sorted(df["gpu_model"]) == ["RTX 3080", "RTX A5000"]
