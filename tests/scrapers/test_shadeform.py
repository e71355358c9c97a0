"""Shadeform: a production instances/types answer recorded 2024-04-21 and the vendor's
documented example (resold offers of the underlying cloud, cents), layout changes, the
missing-key skip and a run on the local server."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import shadeform
from scrapers.base import ParseError, Response
from tests.support.live_run import archived_bytes, run_live, run_without_settings

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "shadeform"
    / "v1_instances_types_docs-quickstart-example_2026-01.json"
)
RECORDED = FIXTURE.with_name("v1_instances_types_take-home-capture_2024-04-21_excerpt.json")
URL = "https://api.shadeform.ai/v1/instances/types"
AT = datetime(2026, 1, 28, tzinfo=UTC)
KEY = "shade_test_key_0123456789"


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def _resp(doc: dict | bytes) -> Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Response(url=URL, fetched_at=AT, body=body)


def test_parse_documented_example_as_a_resold_offer():
    (o,) = shadeform.parse([_resp(FIXTURE.read_bytes())]).offers
    assert o.instance_type == "massedcompute/A6000" and o.region == "kansascity-usa-1"
    assert o.price_per_hour == 0.57 and o.currency == "USD" and o.gpu_count == 1
    assert o.gpu_name_raw == "A6000" and o.gpu_memory_gb == 48
    assert o.extra["reseller"] == "shadeform" and o.extra["resold_from"] == "massedcompute"
    assert o.extra["cloud_instance_type"] == "gpu_1x_a6000" and o.extra["available"] is True


def test_parse_recorded_answer_one_row_per_listed_region():
    offers = shadeform.parse([_resp(RECORDED.read_bytes())]).offers
    doc = json.loads(RECORDED.read_text())
    assert len(offers) == sum(len(t["availability"]) for t in doc["instance_types"]) == 58
    assert {o.extra["resold_from"] for o in offers} == {
        t["cloud"] for t in doc["instance_types"]
    } and len({o.extra["resold_from"] for o in offers}) == 15
    by_key = {(o.instance_type, o.region): o for o in offers}
    p4d = by_key[("aws/A100x8", "us-east-1a")]
    assert p4d.price_per_hour == 32.77 and p4d.gpu_count == 8 and p4d.gpu_memory_gb == 40
    assert p4d.extra["cloud_instance_type"] == "p4d.24xlarge" and p4d.vcpus == 96
    # Live quirks: regions as the cloud lists them, no display_name in 2024.
    assert ("jarvislabs/A5000x2", "Default") in by_key
    assert {("runpod/H100_sxm5x4", r) in by_key for r in ("Any", "any", "CA-MTL-2")} == {True}
    assert by_key[("jarvislabs/A5000x2", "Default")].extra["region_name"] is None


def test_recorded_zero_vcpus_and_memory_mean_not_stated():
    # RunPod's types say vcpus 0 / memory_in_gb 0 in the live answer: unknown, not zero.
    offers = shadeform.parse([_resp(RECORDED.read_bytes())]).offers
    runpod = [o for o in offers if o.extra["resold_from"] == "runpod"]
    assert runpod and all(o.vcpus is None and o.memory_gb is None for o in runpod)
    assert runpod[0].gpu_name_raw == "H100 SXM5" and runpod[0].price_per_hour == 18.87


def test_recorded_gpu_names_all_resolve():
    # What a user sees: `scrape parse` on the file as saved names every GPU model.
    from typer.testing import CliRunner

    from pipelines.cli.main import app

    out = CliRunner().invoke(
        app,
        ["parse", "shadeform", str(RECORDED), "--format", "jsonl", "--no-fx"],
    )
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 58 and all(r["gpu_model"] for r in rows)
    models = {r["gpu_name_raw"]: r["gpu_model"] for r in rows}
    assert models["V100 SXM3"] == "V100" and models["A100_80G"] == "A100"


def test_every_listed_region_and_sxm_form_factor():
    doc = _doc()
    h100 = copy.deepcopy(doc["instance_types"][0])
    h100.update(cloud="lambdalabs", shade_instance_type="H100x8", hourly_price=2392)
    h100["configuration"].update(gpu_type="H100", num_gpus=8, interconnect="sxm5")
    h100["availability"] = [
        {"region": "us-east-1", "available": True},
        {"region": "us-west-1", "available": False},
    ]
    doc["instance_types"].append(h100)
    offers = [
        o for o in shadeform.parse([_resp(doc)]).offers if o.extra["resold_from"] == "lambdalabs"
    ]
    assert [(o.region, o.extra["available"]) for o in offers] == [
        ("us-east-1", True),
        ("us-west-1", False),
    ]
    assert offers[0].gpu_name_raw == "H100 SXM5" and offers[0].price_per_hour == 23.92


def test_layout_change_fails_loudly():
    with pytest.raises(ParseError, match="'instance_types'"):
        shadeform.parse([_resp({"types": []})])
    with pytest.raises(ParseError, match="no instance type"):
        shadeform.parse([_resp({"instance_types": []})])
    doc = _doc()
    del doc["instance_types"][0]["configuration"]
    with pytest.raises(ParseError) as err:
        shadeform.parse([_resp(doc)])
    assert str(err.value).startswith("shadeform:") and "'configuration'" in str(err.value)


def test_missing_key_is_a_skip_with_a_hint(tmp_path):
    # What the user sees: the run skips shadeform with one line saying where to get the key.
    res = run_without_settings(tmp_path, "shadeform")
    assert res.status == "skipped"
    assert re.search(
        r"SHADEFORM_API_KEY \(Shadeform API key: https://platform\.shadeform\.ai", res.error
    ), res.error


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route(
        "/v1/instances/types", (200, FIXTURE.read_bytes(), {"Content-Type": "application/json"})
    )
    res, df, cfg = run_live(
        tmp_path, provider_server, "shadeform", path_prefix="/v1", SHADEFORM_API_KEY=KEY
    )
    assert res.status == "ok", res.error
    assert provider_server.requests[0].headers["X-API-KEY"] == KEY
    row = df.iloc[0]
    assert row["gpu_model"] == "RTX A6000" and row["price_usd_per_gpu_hour"] == 0.57
    assert '"resold_from": "massedcompute"' in row["extra_json"]
    assert KEY.encode() not in archived_bytes(cfg)
