"""Vast.ai: real search answers -> per-market aggregates (units, regions, spot), layout
changes, and the fetch (respx for the query, a real local server end to end)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from scrapers import vastai
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vastai"
EXCERPT = FIXTURES / "search-offers_raw_2024-11-05_one-per-gpu_excerpt.json"
ALBERTA = FIXTURES / "search-offers_raw_2025-01_RTX4090_Alberta.json"
FETCHED_AT = datetime(2024, 11, 5, 16, 0, tzinfo=UTC)
URL = "https://console.vast.ai/api/v0/bundles/?q=%7B%7D"


def _resp(path: Path, fetched_at: datetime = FETCHED_AT, url: str = URL) -> Response:
    return Response(url=url, fetched_at=fetched_at, body=path.read_bytes())


def _raw(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def _by_key(offers):
    return {(o.instance_type, o.region, o.pricing_model): o for o in offers}


def test_parse_excerpt_rows_units_and_regions():
    result = vastai.parse([_resp(EXCERPT)])
    assert result.warnings == []
    offers = _by_key(result.offers)
    # 64 rentable offers, each with a min_bid: one on-demand and one spot market each,
    # and no two offers of the excerpt share a market.
    assert len(result.offers) == 128

    h100 = offers[("8x H100 PCIE 80GB", "AE", "on_demand")]
    assert h100.gpu_name_raw == "H100 PCIE" and h100.gpu_count == 8.0
    assert h100.gpu_memory_gb == 80.0  # gpu_ram 81559 MiB per GPU
    assert h100.price_per_hour == pytest.approx(20.268055555555556)  # dph_total: whole offer
    assert h100.price_per_hour / h100.gpu_count == pytest.approx(20.268055555555556 / 8)
    assert h100.currency == "USD" and h100.price_unit_published == "hour"
    assert h100.market_offer_count == 1
    assert h100.observed_at == FETCHED_AT and h100.source_url == URL
    assert h100.extra["cheapest_offer_id"] == 13495141

    # Spot = min_bid (whole offer, GPU part) + the same disk cost dph_total includes.
    spot = offers[("8x RTX 4090 24GB", "US", "spot")]
    raw = next(o for o in _raw(EXCERPT) if o["id"] == 13447327)
    assert spot.price_per_hour == pytest.approx(raw["min_bid"] + raw["storage_total_cost"])
    assert offers[("8x RTX 4090 24GB", "US", "on_demand")].price_per_hour == pytest.approx(
        raw["dph_total"]
    )

    # ", US" (no state) still gives the country; gpu_ram MB is MiB / 1024 per GPU.
    ada = offers[("4x RTX 4000Ada 20GB", "US", "on_demand")]
    assert ada.gpu_memory_gb == 20.0 and ada.extra["gpu_ram_mib_max"] == 20475.0
    assert offers[("2x RTX 3060 Ti 8GB", "CA", "on_demand")].gpu_count == 2.0


def test_per_gpu_price_is_dph_total_over_num_gpus_for_every_offer():
    result = vastai.parse([_resp(EXCERPT)])
    offers = _by_key(result.offers)
    for raw in _raw(EXCERPT):
        mem = round(raw["gpu_ram"] / 1024)
        region = raw["geolocation"].rsplit(",", 1)[-1].strip()
        o = offers[(f"{raw['num_gpus']}x {raw['gpu_name']} {mem}GB", region, "on_demand")]
        assert o.price_per_hour / o.gpu_count == pytest.approx(raw["dph_total"] / raw["num_gpus"])


def test_marketplace_snapshot_minimum_equals_cheapest_matching_offer():
    """Two real answers as one snapshot: every aggregate's minimum is the cheapest raw
    offer of its market, the count is the number of such offers, p25/median bracket it."""
    responses = [_resp(EXCERPT), _resp(ALBERTA, url=URL + "&band=2")]
    result = vastai.parse(responses)
    raws = [o for p in (EXCERPT, ALBERTA) for o in _raw(p) if o["rentable"] and not o["rented"]]
    by_market: dict[tuple, list[float]] = {}
    for o in raws:
        key = (
            o["gpu_name"],
            round(o["gpu_ram"] / 1024),
            o["num_gpus"],
            o["geolocation"].rsplit(",", 1)[-1].strip(),
        )
        by_market.setdefault(key, []).append(o["dph_total"])
    on_demand = [o for o in result.offers if o.pricing_model == "on_demand"]
    assert len(on_demand) == len(by_market)
    for offer in on_demand:
        mem = int(offer.gpu_memory_gb)
        prices = by_market[(offer.gpu_name_raw, mem, int(offer.gpu_count), offer.region)]
        assert offer.price_per_hour == min(prices)
        assert offer.market_offer_count == len(prices)
        assert (
            offer.price_per_hour
            <= offer.market_price_p25_per_hour
            <= offer.market_price_median_per_hour
        )
    # The Alberta machine: only its 1-GPU slot is rentable (the other slots say rentable=false).
    ca = [o for o in on_demand if o.region == "CA" and o.gpu_name_raw == "RTX 4090"]
    assert [o.instance_type for o in ca] == ["1x RTX 4090 24GB"]


def test_aggregates_several_hosts_of_one_market():
    """Real offer objects of one market on two pages (re-listed by other hosts at other
    prices) aggregate into one row: min, exact p25 and median, count."""
    base = _raw(ALBERTA)[0]
    prices = ["0.41", "0.40138888888888885", "0.55", "0.47"]
    offers = []
    for i, p in enumerate(prices):
        o = dict(base, id=base["id"] + 100 + i, dph_total=float(p))
        offers.append(o)
    page1 = Response(
        url=URL, fetched_at=FETCHED_AT, body=json.dumps({"offers": offers[:2]}).encode()
    )
    page2 = Response(
        url=URL + "&p=2", fetched_at=FETCHED_AT, body=json.dumps({"offers": offers[2:]}).encode()
    )
    result = vastai.parse([page1, page2])
    row = _by_key(result.offers)[("1x RTX 4090 24GB", "CA", "on_demand")]
    assert row.market_offer_count == 4
    assert row.price_per_hour == 0.40138888888888885
    sorted_prices = sorted(Decimal(p) for p in prices)
    assert row.market_price_median_per_hour == pytest.approx(
        float((sorted_prices[1] + sorted_prices[2]) / 2)
    )
    assert row.market_price_p25_per_hour == pytest.approx(
        float(sorted_prices[0] + Decimal("0.75") * (sorted_prices[1] - sorted_prices[0]))
    )
    assert row.source_url == URL  # the cheapest host's page


def test_same_offer_on_two_pages_counts_once():
    r1 = _resp(ALBERTA)
    r2 = _resp(ALBERTA, url=URL + "&again=1")
    row = _by_key(vastai.parse([r1, r2]).offers)[("1x RTX 4090 24GB", "CA", "on_demand")]
    assert row.market_offer_count == 1


def test_region_of():
    assert vastai.region_of("Alberta, CA") == "CA"
    assert vastai.region_of(", US") == "US"
    assert vastai.region_of("Vilnius City Municipality, LT") == "LT"
    assert vastai.region_of(None) == "unknown"
    assert vastai.region_of("somewhere") == "unknown"


def test_bad_row_is_skipped_with_warning():
    offers = _raw(EXCERPT)[:3]
    offers[1] = dict(offers[1], dph_total=None)
    result = vastai.parse(
        [Response(url=URL, fetched_at=FETCHED_AT, body=json.dumps(offers).encode())]
    )
    assert len([o for o in result.offers if o.pricing_model == "on_demand"]) == 2
    assert len(result.warnings) == 1 and "dph_total" in result.warnings[0]


def test_layout_change_names_the_field():
    offers = [
        {k: v for k, v in o.items() if k != "dph_total"} | {"price_total": o["dph_total"]}
        for o in _raw(EXCERPT)
    ]
    with pytest.raises(ParseError) as err:
        vastai.parse([Response(url=URL, fetched_at=FETCHED_AT, body=json.dumps(offers).encode())])
    assert err.value.field == "dph_total"
    assert "vastai" in str(err.value) and URL in str(err.value)


@pytest.mark.parametrize(
    "body, field",
    [
        (b"<html>maintenance</html>", "offers"),
        (b'{"success": false, "msg": "x"}', "offers"),
        (b'{"offers": []}', "offers"),
    ],
)
def test_whole_source_problems_raise(body, field):
    with pytest.raises(ParseError) as err:
        vastai.parse([Response(url=URL, fetched_at=FETCHED_AT, body=body)])
    assert err.value.field == field


def test_no_rentable_offer_raises():
    offers = [dict(o, rentable=False) for o in _raw(ALBERTA)]
    with pytest.raises(ParseError) as err:
        vastai.parse([Response(url=URL, fetched_at=FETCHED_AT, body=json.dumps(offers).encode())])
    assert err.value.field == "rentable"


@respx.mock
def test_fetch_asks_once_per_gpu_count_band_with_query_in_url():
    route = respx.get("https://vast.example/api/v0/bundles/").mock(
        return_value=httpx.Response(200, json={"offers": _raw(ALBERTA)})
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(
                provider="vastai",
                client=client,
                base_url="https://vast.example",
                settings={"VAST_API_KEY": "sekret-vast-key"},
            )
            return await vastai.fetch(ctx)

    responses = asyncio.run(go())
    assert len(responses) == len(vastai.GPU_COUNT_BANDS) == route.call_count
    queries = [
        json.loads(parse_qs(urlsplit(str(c.request.url)).query)["q"][0]) for c in route.calls
    ]
    assert queries[0]["num_gpus"] == {"gte": 1, "lte": 1}
    assert queries[-1]["num_gpus"] == {"gte": 9}
    assert all(q["rentable"] == {"eq": True} and q["rented"] == {"eq": False} for q in queries)
    assert route.calls[0].request.headers["Authorization"] == "Bearer sekret-vast-key"
    # The key is a header: it never reaches the recorded URL.
    assert all("sekret" not in r.url for r in responses)
    assert vastai.parse(responses).offers


def test_fetch_and_parse_against_local_server(provider_server):
    provider_server.route(
        "/api/v0/bundles/", (200, ALBERTA.read_bytes(), {"Content-Type": "application/json"})
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(provider="vastai", client=client, base_url=provider_server.url)
            return await vastai.fetch(ctx)

    responses = asyncio.run(go())
    assert all(r.url.startswith(provider_server.url) for r in responses)
    assert "Authorization" not in provider_server.requests[0].headers  # anonymous by default
    offers = vastai.parse(responses).offers
    assert {(o.instance_type, o.pricing_model) for o in offers} == {
        ("1x RTX 4090 24GB", "on_demand"),
        ("1x RTX 4090 24GB", "spot"),
    }
