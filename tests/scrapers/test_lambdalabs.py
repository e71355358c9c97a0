"""Lambda: parsing the documented instance-types shape, the API-key skip, the auth header
(never recorded), and layout-change errors."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import lambdalabs
from scrapers.base import FetchContext, ParseError, Response, SkipProvider
from scrapers.http import HttpClient

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "lambdalabs"
    / "instance-types_documented-schema_2026-05.json"
)
URL = "https://cloud.lambda.ai/api/v1/instance-types"
FETCHED_AT = datetime(2026, 5, 7, tzinfo=UTC)
FAKE_KEY = "secret_test_key_0123456789"


def _resp(body: bytes | dict) -> Response:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return Response(url=URL, fetched_at=FETCHED_AT, body=body)


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def test_parse_documented_shape():
    result = lambdalabs.parse([_resp(FIXTURE.read_bytes())])
    assert result.warnings == [] and result.unknown == []
    offers = {o.instance_type: o for o in result.offers}
    assert len(offers) == 6

    example = offers["gpu_8x_example"]  # the spec's own example object
    assert example.price_per_hour == pytest.approx(15.92)
    assert example.gpu_count == 8 and example.price_per_hour / example.gpu_count == pytest.approx(
        1.99
    )
    assert example.gpu_name_raw == "Example GPU (40 GB SXM4)" and example.gpu_memory_gb == 40
    assert example.vcpus == 124 and example.memory_gb == 1800
    assert example.extra["regions_with_capacity"] == ["us-west-1"]

    h100 = offers["gpu_1x_h100_sxm5"]
    assert h100.price_per_hour == pytest.approx(3.78) and h100.gpu_count == 1
    assert h100.gpu_name_raw == "H100 (80 GB SXM5)" and h100.gpu_memory_gb == 80
    assert h100.region == "global" and h100.pricing_model == "on_demand" and h100.currency == "USD"
    assert h100.extra["regions_with_capacity"] == ["us-east-1", "us-west-1"]
    assert h100.observed_at == FETCHED_AT and h100.source_url == URL

    # Sold out is still a price: kept, flagged, same offer key.
    assert offers["gpu_1x_a10"].extra["has_capacity"] is False
    assert offers["gpu_1x_a10"].price_per_hour == pytest.approx(0.86)
    assert offers["gpu_1x_rtx6000"].gpu_memory_gb == 24


def test_cpu_types_dropped_and_description_fallback():
    doc = _doc()
    cpu = copy.deepcopy(doc["data"]["gpu_1x_a10"])
    cpu["instance_type"].update(name="cpu_4x_general", description="4x vCPU", gpu_description="")
    cpu["instance_type"]["specs"] = {"vcpus": 4, "memory_gib": 16, "storage_gib": 0, "gpus": 0}
    doc["data"]["cpu_4x_general"] = cpu
    del doc["data"]["gpu_8x_example"]["instance_type"]["gpu_description"]
    result = lambdalabs.parse([_resp(doc)])
    names = {o.instance_type for o in result.offers}
    assert "cpu_4x_general" not in names
    example = next(o for o in result.offers if o.instance_type == "gpu_8x_example")
    assert example.gpu_name_raw == "Example GPU (40 GB SXM4)"  # "8x " stripped from description


def test_bad_price_skipped_all_bad_is_layout_error():
    doc = _doc()
    doc["data"]["gpu_1x_a10"]["instance_type"]["price_cents_per_hour"] = "ask"
    result = lambdalabs.parse([_resp(doc)])
    assert len(result.offers) == 5 and "price_cents_per_hour" in result.warnings[0]

    for entry in doc["data"].values():
        del entry["instance_type"]["price_cents_per_hour"]
    with pytest.raises(ParseError) as err:
        lambdalabs.parse([_resp(doc)])
    msg = str(err.value)
    assert msg.startswith("lambdalabs:") and URL in msg and "price_cents_per_hour" in msg


def test_layout_change_raises_parse_error():
    with pytest.raises(ParseError, match="'data'"):
        lambdalabs.parse([_resp({"instance_types": []})])
    with pytest.raises(ParseError, match="global/invalid-api-key"):
        lambdalabs.parse([_resp({"error": {"code": "global/invalid-api-key", "message": "x"}})])
    doc = _doc()
    del doc["data"]["gpu_1x_a10"]["instance_type"]["specs"]
    with pytest.raises(ParseError, match="specs.gpus"):
        lambdalabs.parse([_resp(doc)])


def _ctx(client, settings, base="https://cloud.lambda.ai"):
    return FetchContext(provider="lambdalabs", client=client, base_url=base, settings=settings)


def test_missing_key_skips_with_clear_message():
    async def run():
        async with HttpClient(max_retries=0) as client:
            await lambdalabs.fetch(_ctx(client, {}))

    with pytest.raises(SkipProvider, match="LAMBDA_API_KEY is not set"):
        asyncio.run(run())


@respx.mock
def test_fetch_sends_bearer_key_and_never_records_it():
    route = respx.get("https://mirror.test/api/v1/instance-types").mock(
        return_value=httpx.Response(
            200, content=FIXTURE.read_bytes(), headers={"Content-Type": "application/json"}
        )
    )

    async def run():
        async with HttpClient(max_retries=0) as client:
            return await lambdalabs.fetch(
                _ctx(client, {"LAMBDA_API_KEY": FAKE_KEY}, "https://mirror.test")
            )

    responses = asyncio.run(run())
    assert route.call_count == 1
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    (resp,) = responses
    assert FAKE_KEY not in resp.url and FAKE_KEY not in json.dumps(dict(resp.headers))
    assert len(lambdalabs.parse(responses).offers) == 6


@respx.mock
def test_fetch_error_does_not_leak_key():
    respx.get("https://mirror.test/api/v1/instance-types").mock(
        return_value=httpx.Response(
            401,
            json={
                "error": {
                    "code": "global/invalid-api-key",
                    "message": "API key was invalid, expired, or deleted.",
                }
            },
        )
    )

    async def run():
        async with HttpClient(max_retries=0) as client:
            await lambdalabs.fetch(
                _ctx(client, {"LAMBDA_API_KEY": FAKE_KEY}, "https://mirror.test")
            )

    with pytest.raises(Exception) as err:
        asyncio.run(run())
    assert "401" in str(err.value) and FAKE_KEY not in str(err.value)


def test_raw_names_resolve_to_canonical_models():
    from pipelines.ingest.gpus import resolve

    offers = {o.instance_type: o for o in lambdalabs.parse([_resp(FIXTURE.read_bytes())]).offers}
    expected = {
        "gpu_1x_h100_sxm5": ("H100", 80.0, "SXM"),
        "gpu_1x_h100_pcie": ("H100", 80.0, "PCIe"),
        "gpu_1x_a100_sxm4": ("A100", 40.0, "SXM"),
        "gpu_1x_a10": ("A10", 24.0, "PCIe"),
    }
    for name, want in expected.items():
        o = offers[name]
        r = resolve(
            o.gpu_name_raw, memory_gb=o.gpu_memory_gb, provider="lambdalabs", instance_type=name
        )
        assert (r.gpu_model, r.gpu_memory_gb, r.gpu_form_factor) == want, name
    rtx = offers["gpu_1x_rtx6000"]
    assert (
        resolve(rtx.gpu_name_raw, memory_gb=rtx.gpu_memory_gb, provider="lambdalabs").gpu_model
        == "Quadro RTX 6000"
    )
