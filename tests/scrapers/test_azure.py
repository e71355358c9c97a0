"""Azure Retail Prices: parse recorded/fixture pages, paging, layout changes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import azure
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIX = Path(__file__).parent.parent / "fixtures" / "azure"
AT = datetime(2026, 11, 1, 4, 15, tzinfo=UTC)


def resp(name: str, url: str = "https://prices.azure.com/api/retail/prices") -> Response:
    return Response(url=url, fetched_at=AT, body=(FIX / name).read_bytes())


def offers_by_key():
    res = azure.parse([resp("gpu-page1.json"), resp("gpu-page2.json")])
    return res, {(o.instance_type, o.region, o.pricing_model, o.term): o for o in res.offers}


def test_gpu_rows_linux_only_with_spot_low_priority_and_reservations():
    res, by = offers_by_key()
    od = by[("Standard_NC6s_v3", "eastus", "on_demand", None)]
    assert od.price_per_hour == 3.06 and od.gpu_count == 1 and od.gpu_model_hint == "V100"
    assert od.vcpus == 6 and od.memory_gb == 112 and od.observed_at == AT
    assert by[("Standard_NC6s_v3", "eastus", "spot", None)].price_per_hour == 0.306
    assert by[("Standard_NC6s_v3", "eastus", "spot", "low_priority")].price_per_hour == 0.612
    # Windows (3.52) and DevTestConsumption rows are not public Linux prices.
    assert all(o.price_per_hour != 3.52 for o in res.offers)
    assert len([k for k in by if k[0] == "Standard_NC6s_v3" and k[1] == "eastus"]) == 5


def test_reservation_whole_term_price_becomes_hourly():
    _, by = offers_by_key()
    r1 = by[("Standard_NC6s_v3", "eastus", "reserved_1y", "reservation")]
    r3 = by[("Standard_NC6s_v3", "eastus", "reserved_3y", "reservation")]
    assert r1.price_per_hour == pytest.approx(17051 / 8760, rel=1e-12)
    assert r3.price_per_hour == pytest.approx(32836 / (3 * 8760), rel=1e-12)
    assert r1.upfront_fee == 17051 and r1.price_unit_published == "term"


def test_savings_plan_rates_from_preview_api():
    _, by = offers_by_key()
    assert (
        by[("Standard_NC24ads_A100_v4", "eastus", "reserved_1y", "savings_plan")].price_per_hour
        == 3.1583
    )
    assert (
        by[("Standard_NC24ads_A100_v4", "eastus", "reserved_3y", "savings_plan")].price_per_hour
        == 2.6448
    )


def test_partitioned_gpu_is_fractional_and_unknown_size_reported():
    res, by = offers_by_key()
    nv6 = by[("Standard_NV6ads_A10_v5", "eastus", "on_demand", None)]
    assert nv6.gpu_count == pytest.approx(1 / 6, rel=1e-15)
    assert nv6.price_per_hour / nv6.gpu_count == pytest.approx(0.454 * 6)
    assert any("Standard_NC8ads_A10_v4" in u for u in res.unknown)
    nd = by[("Standard_ND96asr_v4", "eastus", "on_demand", None)]
    assert nd.gpu_count == 8 and nd.price_per_hour / nd.gpu_count == pytest.approx(27.197 / 8)


def test_real_non_gpu_recordings_parse_to_no_offers():
    for name in (
        "retail-prices_filter-eastus-Standard_D2s_v3-spot-lowpri_2026_raw.json",
        "retail-prices_api-2023-01-01-preview_eastus-Standard_D2s_v3_savingsPlan_2026.json",
        "retail-prices_unfiltered-page0_2022-06-06_excerpt.json",
    ):
        assert azure.parse([resp(name)]).offers == []


def test_layout_change_fails_loudly_naming_provider_source_field():
    doc = json.loads((FIX / "gpu-page1.json").read_text())
    doc["Records"] = doc.pop("Items")
    bad = Response(
        url="https://prices.azure.com/api/retail/prices?p=1",
        fetched_at=AT,
        body=json.dumps(doc).encode(),
    )
    with pytest.raises(ParseError) as ei:
        azure.parse([bad])
    assert str(ei.value).startswith(
        "azure: https://prices.azure.com/api/retail/prices?p=1 field 'Items'"
    )

    doc = json.loads((FIX / "gpu-page1.json").read_text())
    doc["Items"][0]["unitPrice"] = "3,06 $"
    bad = Response(url="u", fetched_at=AT, body=json.dumps(doc).encode())
    with pytest.raises(ParseError, match="unitPrice"):
        azure.parse([bad])

    doc = json.loads((FIX / "gpu-page1.json").read_text())
    del doc["Items"][0]["armRegionName"]
    with pytest.raises(ParseError, match="armRegionName"):
        azure.parse([Response(url="u", fetched_at=AT, body=json.dumps(doc).encode())])


@respx.mock
def test_fetch_follows_next_page_link_on_the_configured_base_and_pages_on_empty_link():
    base = "http://mirror.test"
    page1 = (FIX / "gpu-page1.json").read_bytes()  # NextPageLink -> prices.azure.com ... $skip=100
    page2 = (FIX / "gpu-page2.json").read_bytes()
    full = json.loads(page2)
    full["Items"] = full["Items"] * 20  # a full page (100 items) ...
    full["NextPageLink"] = ""  # ... whose link came back empty (Microsoft Q&A 1188465)
    empty = {"Items": [], "NextPageLink": None, "Count": 0}

    def handler(request: httpx.Request):
        q = dict(request.url.params)
        flt = q.get("$filter", "")
        if "Standard_NC" in flt:
            if "$skip" not in q:
                return httpx.Response(200, content=page1)
            return httpx.Response(200, content=page2)
        if "Standard_ND" in flt:
            if "$skip" not in q:
                return httpx.Response(200, content=json.dumps(full).encode())
            return httpx.Response(200, content=json.dumps(empty).encode())
        return httpx.Response(200, content=json.dumps(empty).encode())

    route = respx.get(url__startswith=base).mock(side_effect=handler)

    async def go():
        async with HttpClient() as c:
            return await azure.fetch(FetchContext(provider="azure", client=c, base_url=base))

    responses = asyncio.run(go())
    assert all(r.url.startswith(base) for r in responses)
    assert len(responses) == 6  # NC: 2 pages, ND: 2 pages ($skip made by us), NV: 1, NG: 1
    skips = [dict(c.request.url.params).get("$skip") for c in route.calls]
    assert "100" in skips
    assert route.call_count == 6
