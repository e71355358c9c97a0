"""OVHcloud: parse the public cloud order catalog fixture; fetch through respx."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import ovhcloud
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ovhcloud"
RECORDED = FIXTURES / "order-catalog-public-cloud_opencost-trimmed_b2-7_t2-45.json"
WITH_H100 = FIXTURES / "order-catalog-public-cloud_opencost-trimmed_plus-h100-760_constructed.json"
URL = "https://eu.api.ovh.com/1.0/order/catalog/public/cloud?ovhSubsidiary=FR"
FETCHED_AT = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def _response(body: bytes) -> Response:
    return Response(url=URL, fetched_at=FETCHED_AT, body=body)


def test_parse_recorded_catalog_hourly_gpu_flavor_only():
    result = ovhcloud.parse([_response(RECORDED.read_bytes())])
    assert len(result.offers) == 1  # b2-7 has no GPU, monthly plans are not rows
    t2 = result.offers[0]
    assert t2.instance_type == "t2-45"
    assert t2.pricing_model == "on_demand"
    assert t2.currency == "EUR"
    # 180000000 x 10^-8 EUR = 1.80 EUR per hour, exactly
    assert Decimal(str(t2.price_per_hour)) == Decimal("1.8")
    assert t2.price_unit_published == "hour"
    assert t2.gpu_count == 1.0 and t2.gpu_name_raw == "Tesla V100S"
    assert t2.vcpus == 15.0 and t2.memory_gb == 45.0
    assert t2.region == "global"
    assert t2.extra["ovh_subsidiary"] == "FR"
    assert t2.extra["price_published_1e-8"] == 180000000
    assert t2.extra["monthly_plan_code"] == "t2-45.monthly.postpaid"
    assert t2.extra["monthly_plan_price_per_month"] == "638"
    assert t2.observed_at == FETCHED_AT and t2.source_url == URL
    assert result.warnings == []


def test_multi_gpu_flavor_per_gpu_price():
    rows = {o.instance_type: o for o in ovhcloud.parse([_response(WITH_H100.read_bytes())]).offers}
    assert sorted(rows) == ["h100-760", "t2-45"]
    h100 = rows["h100-760"]
    assert h100.price_per_hour == 5.6 and h100.gpu_count == 2.0
    assert h100.price_per_hour / h100.gpu_count == pytest.approx(2.8)
    assert h100.gpu_name_raw == "H100"
    assert h100.extra["monthly_plan_price_per_month"] == "3880"


def test_bad_price_row_is_skipped_with_a_warning():
    catalog = json.loads(WITH_H100.read_text())
    for addon in catalog["addons"]:
        if addon["planCode"] == "h100-760.consumption":
            addon["pricings"][0]["price"] = "5.60"
    result = ovhcloud.parse([_response(json.dumps(catalog).encode())])
    assert [o.instance_type for o in result.offers] == ["t2-45"]
    assert any("h100-760.consumption" in w for w in result.warnings)


def test_windows_flavors_are_left_out():
    catalog = json.loads(RECORDED.read_text())
    t2 = next(a for a in catalog["addons"] if a["planCode"] == "t2-45.consumption")
    catalog["addons"].append(dict(t2, planCode="win-t2-45.consumption"))
    assert [
        o.instance_type for o in ovhcloud.parse([_response(json.dumps(catalog).encode())]).offers
    ] == ["t2-45"]


def test_layout_changes_name_provider_source_and_field():
    with pytest.raises(ParseError) as exc:
        ovhcloud.parse([_response(b'{"catalogId": 1, "products": []}')])
    assert "ovhcloud" in str(exc.value) and URL in str(exc.value)
    assert exc.value.field == "addons"

    catalog = json.loads(RECORDED.read_text())
    del catalog["locale"]
    with pytest.raises(ParseError) as exc:
        ovhcloud.parse([_response(json.dumps(catalog).encode())])
    assert exc.value.field == "locale.currencyCode"

    # Prices turned into objects: every GPU row fails, so the source fails.
    catalog = json.loads(RECORDED.read_text())
    for addon in catalog["addons"]:
        for pricing in addon["pricings"]:
            pricing["price"] = {"value": pricing["price"] / 1e8, "currencyCode": "EUR"}
    with pytest.raises(ParseError) as exc:
        ovhcloud.parse([_response(json.dumps(catalog).encode())])
    assert exc.value.field == "pricings.price"


def test_no_gpu_flavor_is_a_source_failure():
    catalog = json.loads(RECORDED.read_text())
    catalog["addons"] = [a for a in catalog["addons"] if not a["planCode"].startswith("t2-45")]
    with pytest.raises(ParseError) as exc:
        ovhcloud.parse([_response(json.dumps(catalog).encode())])
    assert exc.value.field == "blobs.technical.gpu"


@respx.mock
def test_fetch_asks_for_the_configured_subsidiary():
    route = respx.get("https://eu.api.ovh.com/1.0/order/catalog/public/cloud").mock(
        return_value=httpx.Response(200, content=RECORDED.read_bytes())
    )

    async def run(settings):
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(
                provider="ovhcloud",
                client=client,
                base_url=ovhcloud.DEFAULT_BASE_URL,
                settings=settings,
            )
            return await ovhcloud.fetch(ctx)

    responses = asyncio.run(run({}))
    assert route.calls.last.request.url.params["ovhSubsidiary"] == "FR"
    assert responses[0].url == URL
    assert len(ovhcloud.parse(responses).offers) == 1
    asyncio.run(run({"OVH_SUBSIDIARY": "DE"}))
    assert route.calls.last.request.url.params["ovhSubsidiary"] == "DE"


def test_raw_gpu_names_resolve_to_canonical_models():
    from pipelines.ingest.gpus import resolve

    models = {
        o.instance_type: resolve(
            o.gpu_name_raw,
            memory_gb=o.gpu_memory_gb,
            provider="ovhcloud",
            instance_type=o.instance_type,
        ).gpu_model
        for o in ovhcloud.parse([_response(WITH_H100.read_bytes())]).offers
    }
    assert models == {"t2-45": "V100S", "h100-760": "H100"}
