"""RunPod: the recorded gpuTypes answer (2026-08-25) and the documented example -> secure/
community on-demand and spot rows, layout changes, the API-key skip and the fetch (key
redacted)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import runpod
from scrapers.base import FetchContext, ParseError, Response, SkipProvider
from scrapers.http import HttpClient

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "runpod"
    / "graphql_gpuTypes_docs-example_A100-80GB-PCIe.json"
)
RECORDED = (
    Path(__file__).parents[1] / "fixtures" / "runpod" / "graphql_gpuTypes_2026-08-25_excerpt.json"
)
FETCHED_AT = datetime(2024, 6, 1, 12, tzinfo=UTC)
URL = "https://api.runpod.io/graphql?api_key=REDACTED"


def _resp(body: bytes) -> Response:
    return Response(url=URL, fetched_at=FETCHED_AT, body=body)


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def test_parse_recorded_answer():
    result = runpod.parse([_resp(RECORDED.read_bytes())])
    assert result.warnings == []
    rows = {o.instance_type: o for o in result.offers}
    # The capture asked for no spot fields: on-demand rows only, one per cloud that sells it.
    assert {o.pricing_model for o in result.offers} == {"on_demand"}
    assert len(rows) == 15
    assert rows["community 1x NVIDIA GeForce RTX 3090"].price_per_hour == 0.22
    assert rows["secure 1x NVIDIA GeForce RTX 3090"].price_per_hour == 0.5
    assert rows["secure 1x NVIDIA RTX PRO 4000 Blackwell"].price_per_hour == 0.57
    # id is the full name; displayName the short one (kept in extra).
    a5000 = rows["secure 1x NVIDIA RTX A5000"]
    assert a5000.gpu_name_raw == "NVIDIA RTX A5000" and a5000.extra["displayName"] == "RTX A5000"
    assert a5000.gpu_memory_gb == 24.0


def test_recorded_price_for_a_cloud_flagged_false_is_not_an_offer():
    # RTX 3090 Ti carries securePrice 0.46 with secureCloud false; RTX PRO 4000 carries
    # communityPrice 0.5 with communityCloud false. Neither cloud sells them.
    gpus = {g["id"]: g for g in json.loads(RECORDED.read_text())["data"]["gpuTypes"]}
    assert gpus["NVIDIA GeForce RTX 3090 Ti"]["secureCloud"] is False
    assert gpus["NVIDIA GeForce RTX 3090 Ti"]["securePrice"] == 0.46
    types = {o.instance_type for o in runpod.parse([_resp(RECORDED.read_bytes())]).offers}
    assert "secure 1x NVIDIA GeForce RTX 3090 Ti" not in types
    assert "community 1x NVIDIA GeForce RTX 3090 Ti" in types
    assert "community 1x NVIDIA RTX PRO 4000 Blackwell" not in types


def test_recorded_type_out_of_stock_keeps_its_list_price():
    # RTX A5000: lowestPrice all null (nothing in stock at capture time), prices listed.
    offers = runpod.parse([_resp(RECORDED.read_bytes())]).offers
    a5000 = [o for o in offers if o.gpu_name_raw == "NVIDIA RTX A5000"]
    assert {(o.extra["cloud"], o.price_per_hour) for o in a5000} == {
        ("secure", 0.27),
        ("community", 0.16),
    }
    assert a5000[0].extra["lowestPrice"] == {"uninterruptablePrice": None, "minimumBidPrice": None}


def test_parse_documented_example():
    result = runpod.parse([_resp(FIXTURE.read_bytes())])
    assert result.warnings == []
    rows = {(o.instance_type, o.pricing_model): o for o in result.offers}
    # secureSpotPrice is null in the example: no secure spot row.
    assert set(rows) == {
        ("secure 1x NVIDIA A100 80GB PCIe", "on_demand"),
        ("community 1x NVIDIA A100 80GB PCIe", "on_demand"),
        ("community 1x NVIDIA A100 80GB PCIe", "spot"),
    }
    secure = rows[("secure 1x NVIDIA A100 80GB PCIe", "on_demand")]
    assert secure.price_per_hour == 1.89 and secure.gpu_count == 1.0  # per GPU-hour
    assert secure.region == "global" and secure.currency == "USD"
    assert secure.gpu_name_raw == "NVIDIA A100 80GB PCIe" and secure.gpu_memory_gb == 80.0
    assert secure.price_unit_published == "gpu_hour"
    assert secure.extra["cloud"] == "secure" and secure.extra["maxGpuCount"] == 8
    community = rows[("community 1x NVIDIA A100 80GB PCIe", "on_demand")]
    assert community.price_per_hour == 1.59
    assert community.extra["lowestPrice"] == {"minimumBidPrice": 0.89, "uninterruptablePrice": 1.59}
    assert rows[("community 1x NVIDIA A100 80GB PCIe", "spot")].price_per_hour == 0.89
    assert community.market_offer_count is None  # RunPod publishes no host distribution
    json.dumps(community.extra)  # extra must be JSON-serialisable


def test_cloud_not_offered_gives_no_rows():
    doc = _doc()
    doc["data"]["gpuTypes"][0]["secureCloud"] = False
    result = runpod.parse([_resp(json.dumps(doc).encode())])
    assert {o.extra["cloud"] for o in result.offers} == {"community"}


def test_listed_cloud_without_price_warns():
    doc = _doc()
    second = dict(doc["data"]["gpuTypes"][0], id="NVIDIA GeForce RTX 4090", communityPrice=None)
    doc["data"]["gpuTypes"].append(second)
    result = runpod.parse([_resp(json.dumps(doc).encode())])
    assert any("RTX 4090" in w and "communityPrice" in w for w in result.warnings)
    assert ("secure 1x NVIDIA GeForce RTX 4090", "on_demand") in {
        (o.instance_type, o.pricing_model) for o in result.offers
    }


@pytest.mark.parametrize(
    "body, field",
    [
        (b'{"errors": [{"message": "Unauthorized"}]}', "errors"),
        (b'{"data": {"gpus": []}}', "data.gpuTypes"),
        (b'{"data": {"gpuTypes": []}}', "data.gpuTypes"),
        (b"not json", "data"),
    ],
)
def test_whole_source_problems_raise(body, field):
    with pytest.raises(ParseError) as err:
        runpod.parse([_resp(body)])
    assert err.value.field == field and "runpod" in str(err.value)


def test_renamed_price_fields_fail_with_field_name():
    doc = _doc()
    gpu = doc["data"]["gpuTypes"][0]
    for old in ("securePrice", "communityPrice", "secureSpotPrice", "communitySpotPrice"):
        gpu[old.replace("Price", "Cost")] = gpu.pop(old)
    with pytest.raises(ParseError) as err:
        runpod.parse([_resp(json.dumps(doc).encode())])
    assert err.value.field == "securePrice"


def test_fetch_skips_without_key():
    ctx = FetchContext(
        provider="runpod", client=None, base_url="https://api.runpod.io", settings={}
    )
    with pytest.raises(SkipProvider, match="RUNPOD_API_KEY"):
        asyncio.run(runpod.fetch(ctx))


@respx.mock
def test_fetch_posts_query_and_redacts_key():
    route = respx.post("https://runpod.example/graphql").mock(
        return_value=httpx.Response(200, content=FIXTURE.read_bytes())
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(
                provider="runpod",
                client=client,
                base_url="https://runpod.example",
                settings={"RUNPOD_API_KEY": "rp-secret-1234"},
            )
            return await runpod.fetch(ctx)

    [resp] = asyncio.run(go())
    sent = route.calls[0].request
    assert sent.url.params["api_key"] == "rp-secret-1234"
    assert "gpuTypes" in json.loads(sent.content)["query"]
    assert "rp-secret-1234" not in resp.url and "api_key=REDACTED" in resp.url
    offers = runpod.parse([resp]).offers
    assert all("rp-secret" not in o.source_url for o in offers)
