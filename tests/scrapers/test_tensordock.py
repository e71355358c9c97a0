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


def _gpu_only(offers):
    return {o.instance_type: o for o in offers if o.price_scope == "gpu_only"}


def _instances(offers):
    return {o.instance_type: o for o in offers if o.price_scope == "instance"}


def test_parse_fixture_per_gpu_price_times_count():
    result = tensordock.parse([_resp()])
    assert result.warnings == []
    rows = _gpu_only(result.offers)
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


def test_whole_instance_built_from_the_parts_the_host_prices():
    # Fixture host: L40 1.05/GPU-h, 0.003/vCPU-h, 0.002/GB-h RAM, 0.00005/GB-h disk. The
    # smallest sensible machine per n GPUs: 2n vCPUs + 8n GB RAM + 30 GB disk (issue 12).
    offers = tensordock.parse([_resp()]).offers
    whole = _instances(offers)
    assert sorted(whole) == [
        "1x l40-pcie-48gb 2vcpu-8gb-30gb",
        "2x l40-pcie-48gb 4vcpu-16gb-30gb",
        "4x l40-pcie-48gb 8vcpu-32gb-30gb",
        "8x l40-pcie-48gb 16vcpu-64gb-30gb",
    ]
    for n in (1, 2, 4, 8):
        o = whole[f"{n}x l40-pcie-48gb {2 * n}vcpu-{8 * n}gb-30gb"]
        expected = 1.05 * n + 0.003 * 2 * n + 0.002 * 8 * n + 0.00005 * 30
        assert o.price_per_hour == pytest.approx(expected)
        assert (o.gpu_count, o.vcpus, o.memory_gb) == (float(n), 2.0 * n, 8.0 * n)
        assert o.extra["composition"] == {
            "rule": tensordock.COMPOSITION_RULE,
            "gpus": n,
            "vcpus": 2 * n,
            "ram_gb": 8 * n,
            "disk_gb": 30,
        }
        assert o.price_unit_published == "hour" and o.pricing_model == "on_demand"
        assert o.extra["derived"] is True and o.market_offer_count == 1
    assert whole["1x l40-pcie-48gb 2vcpu-8gb-30gb"].price_per_hour == pytest.approx(1.0735)
    # The GPU-only rows stay, under their own keys.
    assert len(_gpu_only(offers)) == 4 and len(offers) == 8


def test_whole_instance_needs_a_host_that_prices_and_holds_the_parts():
    doc = _doc()
    node = next(iter(doc["hostnodes"].values()))
    cheap = copy.deepcopy(node)
    cheap["specs"]["gpu"]["l40-pcie-48gb"]["price"] = 0.50
    cheap["specs"]["cpu"]["amount"] = 4  # room for 2 GPUs' vCPUs, not 4
    doc["hostnodes"]["small-cpu"] = cheap
    no_ram_price = copy.deepcopy(node)
    no_ram_price["specs"]["gpu"]["l40-pcie-48gb"]["price"] = 0.40
    del no_ram_price["specs"]["ram"]["price"]
    doc["hostnodes"]["no-ram-price"] = no_ram_price
    offers = tensordock.parse([_resp(doc)]).offers
    gpu, whole = _gpu_only(offers), _instances(offers)
    assert gpu["1x l40-pcie-48gb"].extra["cheapest_hostnode_id"] == "no-ram-price"
    one = whole["1x l40-pcie-48gb 2vcpu-8gb-30gb"]
    assert one.extra["cheapest_hostnode_id"] == "small-cpu" and one.market_offer_count == 2
    four = whole["4x l40-pcie-48gb 8vcpu-32gb-30gb"]
    assert four.market_offer_count == 1 and four.extra["cheapest_hostnode_id"] != "small-cpu"


def test_hosts_of_one_market_aggregate_to_cheapest():
    doc = _doc()
    node = next(iter(doc["hostnodes"].values()))
    for i, (price, amount) in enumerate([(0.95, 2), (1.20, 8)]):
        other = copy.deepcopy(node)
        other["specs"]["gpu"]["l40-pcie-48gb"].update(price=price, amount=amount)
        doc["hostnodes"][f"other-{i}"] = other
    rows = _gpu_only(tensordock.parse([_resp(doc)]).offers)
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
    assert len(result.offers) == 8  # 4 GPU-only + 4 whole-instance rows of the L40
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
    assert len(tensordock.parse(responses).offers) == 8


def test_market_without_a_whole_instance_is_reported():
    doc = _doc()
    node = next(iter(doc["hostnodes"].values()))
    node["specs"]["storage"]["amount"] = 10  # less than the 30 GB disk of the rule
    result = tensordock.parse([_resp(doc)])
    assert _instances(result.offers) == {} and len(_gpu_only(result.offers)) == 4
    assert result.warnings == [
        "tensordock: 4 GPU market(s) without a whole-instance row: no host prices or has free "
        "the vCPUs/RAM/disk the rule needs (1x l40-pcie-48gb in United States, "
        "2x l40-pcie-48gb in United States, 4x l40-pcie-48gb in United States, ...)"
    ]
