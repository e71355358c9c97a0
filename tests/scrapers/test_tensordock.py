"""TensorDock: hostnode specs -> per-market aggregates (per-GPU price x count), bad rows,
layout changes and the fetch against a local server."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import tensordock
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURE = Path(__file__).parents[1] / "fixtures" / "tensordock" / "hostnodes_one-node_l40_2024.json"
FETCHED_AT = datetime(2024, 10, 28, 9, tzinfo=UTC)
URL = "https://marketplace.tensordock.com/api/v0/client/deploy/hostnodes"


def _resp(doc: dict | None = None) -> Response:
    body = FIXTURE.read_bytes() if doc is None else json.dumps(doc).encode()
    return Response(url=URL, fetched_at=FETCHED_AT, body=body)


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def test_parse_fixture_per_gpu_price_times_count():
    result = tensordock.parse([_resp()])
    assert result.warnings == []
    rows = {o.instance_type: o for o in result.offers}
    assert list(rows) == [
        "1x l40-pcie-48gb",
        "2x l40-pcie-48gb",
        "4x l40-pcie-48gb",
        "8x l40-pcie-48gb",
    ]
    for count in (1, 2, 4, 8):
        o = rows[f"{count}x l40-pcie-48gb"]
        assert o.gpu_count == float(count)
        assert o.price_per_hour == pytest.approx(1.05 * count)  # specs.gpu price is per GPU-hour
        assert o.price_per_hour / o.gpu_count == pytest.approx(1.05)
        assert o.region == "United States" and o.pricing_model == "on_demand"
        assert o.gpu_name_raw == "l40-pcie-48gb" and o.gpu_memory_gb == 48.0
        assert o.market_offer_count == 1 and o.price_unit_published == "gpu_hour"
    one = rows["1x l40-pcie-48gb"]
    assert one.extra["price_covers"] == "gpu_only"
    assert one.extra["cheapest_cpu_price_per_vcpu_hour"] == 0.003
    assert one.extra["cheapest_storage_price_per_gb_hour"] == 5e-05


def test_hosts_of_one_market_aggregate_to_cheapest():
    doc = _doc()
    node = next(iter(doc["hostnodes"].values()))
    for i, (price, amount) in enumerate([(0.95, 2), (1.20, 8)]):
        other = copy.deepcopy(node)
        other["specs"]["gpu"]["l40-pcie-48gb"].update(price=price, amount=amount)
        doc["hostnodes"][f"other-{i}"] = other
    rows = {o.instance_type: o for o in tensordock.parse([_resp(doc)]).offers}
    one = rows["1x l40-pcie-48gb"]
    assert one.market_offer_count == 3 and one.price_per_hour == pytest.approx(0.95)
    assert one.market_price_median_per_hour == pytest.approx(1.05)
    assert one.extra["cheapest_hostnode_id"] == "other-0"
    # The 0.95 host has only 2 GPUs free: it is not in the 4x and 8x markets.
    assert rows["4x l40-pcie-48gb"].market_offer_count == 2
    assert rows["4x l40-pcie-48gb"].price_per_hour == pytest.approx(4 * 1.05)


def test_bad_gpu_row_skipped_with_warning():
    doc = _doc()
    node = next(iter(doc["hostnodes"].values()))
    node["specs"]["gpu"]["v100-pcie-16gb"] = {"amount": 1, "price": None, "vram": 16}
    result = tensordock.parse([_resp(doc)])
    assert len(result.offers) == 4
    assert len(result.warnings) == 1 and "v100-pcie-16gb" in result.warnings[0]


def test_layout_change_names_the_field():
    doc = _doc()
    node = next(iter(doc["hostnodes"].values()))
    node["specs"]["gpus"] = node["specs"].pop("gpu")
    with pytest.raises(ParseError) as err:
        tensordock.parse([_resp(doc)])
    assert err.value.field == "specs.gpu" and "tensordock" in str(err.value)


@pytest.mark.parametrize(
    "doc, field", [({"success": False}, "hostnodes"), ({"hostnodes": {}}, "hostnodes")]
)
def test_whole_source_problems_raise(doc, field):
    with pytest.raises(ParseError) as err:
        tensordock.parse([_resp(doc)])
    assert err.value.field == field


def test_fetch_and_parse_against_local_server(provider_server):
    provider_server.route("/" + tensordock.HOSTNODES_PATH, (200, FIXTURE.read_bytes(), {}))

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(provider="tensordock", client=client, base_url=provider_server.url)
            return await tensordock.fetch(ctx)

    responses = asyncio.run(go())
    assert [r.url for r in responses] == [provider_server.url + "/" + tensordock.HOSTNODES_PATH]
    assert len(tensordock.parse(responses).offers) == 4
