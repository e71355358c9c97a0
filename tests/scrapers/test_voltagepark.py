"""Voltage Park: the archived pricing page (Jul 2025) gives the on-demand HGX H100 cards as
offers at their minimum GPU count; a card without a price or GPU line is skipped; a page
without on-demand cards fails; fetch and a run against the local server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import voltagepark
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient
from tests.support.live_run import run_live

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "voltagepark"
    / "pricing_wayback-20250712040631_excerpt.html"
)
URL = "https://www.voltagepark.com/pricing"
AT = datetime(2025, 7, 12, 4, 6, 31, tzinfo=UTC)
ETHERNET, INFINIBAND = "On-Demand, Ethernet", "On-demand, 3200 Gbps Infiniband"


def _page() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def _parse(html: str):
    return voltagepark.parse([Response(url=URL, fetched_at=AT, body=html.encode())])


def test_parse_recorded_page():
    result = voltagepark.parse([Response(url=URL, fetched_at=AT, body=FIXTURE.read_bytes())])
    assert result.warnings == []
    offers = {o.instance_type: o for o in result.offers}
    assert sorted(offers) == [ETHERNET, INFINIBAND]  # the reserve card has no public price
    eth, ib = offers[ETHERNET], offers[INFINIBAND]
    assert (eth.gpu_count, eth.price_per_hour) == (1, 1.99)
    # "$2.49/hr" per GPU, from 8 GPUs: the smallest machine is 8 x H100 at $19.92/h.
    assert (ib.gpu_count, ib.price_per_hour) == (8, 19.92)
    assert ib.extra == {"price_text": "$2.49/hr", "price_per_gpu_hour": "2.49", "max_gpus": 1016}
    assert {o.gpu_name_raw for o in offers.values()} == {"HGX H100"}
    assert all(
        o.pricing_model == "on_demand" and o.price_unit_published == "gpu_hour"
        for o in offers.values()
    )


def test_card_without_a_price_or_gpu_line_is_skipped_with_a_hint():
    result = _parse(_page().replace("$2.49/hr", "Contact us"))
    assert [o.instance_type for o in result.offers] == [ETHERNET]
    assert result.warnings == [
        f"voltagepark: {URL}: {INFINIBAND}: skipped: price 'Contact us' is not '$X/hr' "
        "(field heading-style-h3)"
    ]
    result = _parse(_page().replace("1-1016 HGX H100 GPUs", "HGX H100 GPUs on demand"))
    assert [o.instance_type for o in result.offers] == [INFINIBAND]
    assert "no '<min>-<max> <GPU> GPUs' feature line" in result.warnings[0]


def test_page_without_on_demand_cards_is_a_layout_change():
    with pytest.raises(ParseError, match="no 'On-demand' plan label") as err:
        _parse(_page().replace("text-eyebrow", "plan-label"))
    assert str(err.value).startswith(f"voltagepark: {URL}")
    both_bad = _page().replace("$1.99/hr", "TBA").replace("$2.49/hr", "TBA")
    with pytest.raises(ParseError, match="every on-demand plan failed"):
        _parse(both_bad)


@respx.mock
def test_fetch_gets_the_pricing_page_from_the_configured_base():
    route = respx.get("https://voltagepark.test/pricing").mock(
        return_value=httpx.Response(200, content=FIXTURE.read_bytes())
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(
                provider="voltagepark", client=client, base_url="https://voltagepark.test"
            )
            return await voltagepark.fetch(ctx)

    (resp,) = asyncio.run(go())
    assert route.call_count == 1 and resp.kind == "pricing"
    assert len(voltagepark.parse([resp]).offers) == 2


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route("/pricing", (200, FIXTURE.read_bytes(), {"Content-Type": "text/html"}))
    res, df, _ = run_live(tmp_path, provider_server, "voltagepark")
    assert res.status == "ok", res.error
    assert len(df) == 2 and set(df["gpu_model"]) == {"H100"}
    assert set(df["gpu_form_factor"]) == {"SXM"}
    # What a ranking compares: the per-GPU price, whatever the machine size.
    assert sorted(df["price_usd_per_gpu_hour"]) == [1.99, 2.49]
