"""Vultr: fixture parsing (fractional GPUs, per-location offers, preemptible bare metal),
layout-change errors and cursor paging."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import vultr
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vultr"
PLANS = FIXTURES / "v2_plans_type-all_per_page-500_gpuhunt-fixture_excerpt.json"
METAL = FIXTURES / "v2_plans-metal_per_page-500_gpuhunt-fixture_excerpt.json"
FETCHED_AT = datetime(2025, 1, 8, tzinfo=UTC)


def _resp(
    body: bytes, url: str = "https://api.vultr.com/v2/plans?type=all&per_page=500"
) -> Response:
    return Response(url=url, fetched_at=FETCHED_AT, body=body)


def _fixture_responses() -> list[Response]:
    return [
        _resp(PLANS.read_bytes()),
        _resp(METAL.read_bytes(), "https://api.vultr.com/v2/plans-metal?per_page=500"),
    ]


def _by_key(offers):
    return {(o.instance_type, o.region, o.pricing_model): o for o in offers}


def test_parse_fixture_rows():
    result = vultr.parse(_fixture_responses())
    offers = _by_key(result.offers)
    assert result.warnings == [] and result.unknown == []
    # 3 vcg plans x 1 location + 2 metal plans x (on-demand + preemptible)
    assert len(offers) == 7

    slice_4gb = offers[("vcg-a100-1c-6g-4vram", "ewr", "on_demand")]
    assert slice_4gb.gpu_name_raw == "NVIDIA_A100" and slice_4gb.gpu_model_hint == "A100"
    assert slice_4gb.gpu_count == pytest.approx(0.05)  # 4 GB of an 80 GB A100
    assert slice_4gb.gpu_memory_gb == 80.0
    assert slice_4gb.extra["gpu_vram_gb"] == 4.0
    assert slice_4gb.price_per_hour == pytest.approx(0.123)
    assert slice_4gb.price_per_hour / slice_4gb.gpu_count == pytest.approx(2.46)  # per GPU-hour
    assert slice_4gb.memory_gb == 6.0 and slice_4gb.vcpus == 1.0
    assert slice_4gb.currency == "USD" and slice_4gb.observed_at == FETCHED_AT

    half = offers[("vcg-a100-6c-60g-40vram", "ewr", "on_demand")]
    assert half.gpu_count == pytest.approx(0.5)
    whole = offers[("vcg-a100-12c-120g-80vram", "ewr", "on_demand")]
    assert whole.gpu_count == 1.0 and whole.price_per_hour == pytest.approx(2.397)

    h100 = offers[("vbm-112c-2048gb-8-h100-gpu", "sea", "on_demand")]
    assert (h100.gpu_count, h100.gpu_name_raw, h100.gpu_model_hint) == (8.0, "h100", "H100")
    assert h100.price_per_hour / h100.gpu_count == pytest.approx(2.99)
    assert h100.vcpus == 224.0
    h100_spot = offers[("vbm-112c-2048gb-8-h100-gpu", "sea", "spot")]
    assert h100_spot.price_per_hour == pytest.approx(18.4)
    mi300x = offers[("vbm-256c-2048gb-8-mi300x-gpu", "ord", "on_demand")]
    assert mi300x.gpu_memory_gb == 192.0 and mi300x.price_per_hour / 8 == pytest.approx(2.19)


def test_one_offer_per_location():
    doc = json.loads(PLANS.read_text())
    doc["plans"][0]["locations"] = ["ewr", "ord", "fra"]
    result = vultr.parse([_resp(json.dumps(doc).encode())])
    regions = sorted(o.region for o in result.offers if o.instance_type == "vcg-a100-1c-6g-4vram")
    assert regions == ["ewr", "fra", "ord"]


def test_cpu_plans_are_dropped_and_unknown_gpu_reported():
    doc = json.loads(PLANS.read_text())
    cpu = {k: v for k, v in doc["plans"][0].items() if not k.startswith("gpu_")}
    cpu.update(id="vc2-1c-1gb", type="vc2")
    new_gpu = dict(doc["plans"][1], id="vcg-x1-2c-8g-16vram", gpu_type="NVIDIA_X1", gpu_vram_gb=16)
    doc["plans"] += [cpu, new_gpu]
    result = vultr.parse([_resp(json.dumps(doc).encode())])
    ids = {o.instance_type for o in result.offers}
    assert "vc2-1c-1gb" not in ids and "vcg-x1-2c-8g-16vram" in ids
    assert any("NVIDIA_X1" in u for u in result.unknown)


def test_bad_row_is_skipped_with_warning():
    doc = json.loads(PLANS.read_text())
    doc["plans"][0]["hourly_cost"] = "n/a"
    result = vultr.parse([_resp(json.dumps(doc).encode())])
    assert len(result.offers) == 2
    assert len(result.warnings) == 1 and "vcg-a100-1c-6g-4vram" in result.warnings[0]


def test_layout_change_raises_parse_error():
    with pytest.raises(ParseError) as err:
        vultr.parse([_resp(b'{"instances": []}')])
    assert (
        "vultr" in str(err.value)
        and "plans" in str(err.value)
        and "api.vultr.com" in str(err.value)
    )
    with pytest.raises(ParseError, match="body"):
        vultr.parse([_resp(b"<html>maintenance</html>")])
    # Zero GPU plans where the list used to have some is a layout problem, not an empty market.
    with pytest.raises(ParseError, match="gpu_type"):
        vultr.parse([_resp(b'{"plans": []}')])


@respx.mock
def test_fetch_follows_cursor_pages():
    doc = json.loads(PLANS.read_text())
    page1 = {
        "plans": doc["plans"][:2],
        "meta": {"total": 3, "links": {"next": "bmV4dA==", "prev": ""}},
    }
    page2 = {
        "plans": doc["plans"][2:],
        "meta": {"total": 3, "links": {"next": "", "prev": "cHJldg=="}},
    }
    base = "https://mirror.test/v2"
    plans_route = respx.get(f"{base}/plans").mock(
        side_effect=lambda req: httpx.Response(
            200, json=page2 if req.url.params.get("cursor") else page1
        )
    )
    metal_route = respx.get(f"{base}/plans-metal").mock(
        return_value=httpx.Response(200, content=METAL.read_bytes())
    )

    async def run():
        async with HttpClient(max_retries=0) as client:
            return await vultr.fetch(FetchContext(provider="vultr", client=client, base_url=base))

    responses = asyncio.run(run())
    assert plans_route.call_count == 2 and metal_route.call_count == 1
    first, second = plans_route.calls[0].request.url.params, plans_route.calls[1].request.url.params
    assert first["type"] == "all" and first["per_page"] == "500" and "cursor" not in first
    assert second["cursor"] == "bmV4dA=="
    result = vultr.parse(responses)
    assert {o.instance_type for o in result.offers} >= {
        "vcg-a100-6c-60g-40vram",
        "vbm-112c-2048gb-8-h100-gpu",
    }


def test_raw_names_resolve_to_canonical_models():
    from pipelines.ingest.gpus import resolve

    for o in vultr.parse(_fixture_responses()).offers:
        r = resolve(
            o.gpu_name_raw,
            memory_gb=o.gpu_memory_gb,
            provider="vultr",
            instance_type=o.instance_type,
            hint=o.gpu_model_hint,
        )
        assert r.gpu_model == o.gpu_model_hint, o.instance_type


def test_every_gpu_plan_failing_names_the_field():
    doc = json.loads(PLANS.read_text())
    for plan in doc["plans"]:
        del plan["hourly_cost"]
    with pytest.raises(ParseError) as err:
        vultr.parse([_resp(json.dumps(doc).encode())])
    msg = str(err.value)
    assert msg.startswith("vultr:") and "api.vultr.com" in msg and "'hourly_cost'" in msg
