"""CoreWeave: the recorded pricing page (North America table, 2026) gives whole-instance
on-demand and spot offers per region; "Contact sales" / "N/A" is no offer; a second listing
of a product counts once; bad rows are skipped with a hint; a missing table or column fails
the provider; fetch and a run against the local server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import coreweave
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient
from tests.support.live_run import run_live

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "coreweave"
    / "pricing_gpu-price-index-fixture_north-america_excerpt.html"
)
URL = "https://www.coreweave.com/pricing"
AT = datetime(2026, 10, 4, tzinfo=UTC)
NA = "north-america"


def _page() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def _parse(html: str):
    return coreweave.parse([Response(url=URL, fetched_at=AT, body=html.encode())])


def _by_key(result) -> dict:
    return {(o.instance_type, o.region, o.pricing_model): o for o in result.offers}


def test_parse_recorded_page():
    result = coreweave.parse([Response(url=URL, fetched_at=AT, body=FIXTURE.read_bytes())])
    assert result.warnings == []
    offers = _by_key(result)
    assert len(offers) == 14
    h100 = offers[("hgx-h100", NA, "on_demand")]
    # The whole 8-GPU machine: $49.24/h, i.e. $6.155 per GPU-hour.
    assert (h100.price_per_hour, h100.gpu_count, h100.gpu_memory_gb) == (49.24, 8, 80)
    assert (h100.vcpus, h100.memory_gb, h100.price_scope) == (128, 2048, "instance")
    assert h100.price_unit_published == "hour" and h100.gpu_name_raw == "NVIDIA HGX H100"
    assert h100.extra == {
        "local_storage_tb": 61.44,
        "inference_single_gpu_price_per_hour": "$6.16",
    }
    assert offers[("hgx-h100", NA, "spot")].price_per_hour == 19.71
    # "4^1": four GPUs and a footnote marker.
    assert offers[("nvidia-gb200-nvl72", NA, "on_demand")].gpu_count == 4
    assert offers[("nvidia-gh200", NA, "on_demand")].gpu_count == 1
    # Contact sales / N/A cells make no offer: GB300 has none, B300 only spot.
    assert not any(k[0] == "nvidia-gb300-nvl72" for k in offers)
    assert ("nvidia-b300", NA, "on_demand") not in offers
    assert offers[("nvidia-b300", NA, "spot")].price_per_hour == 35.84
    assert ("nvidia-gb200-nvl72", NA, "spot") not in offers


def test_each_region_table_is_its_own_region_and_a_repeated_listing_counts_once():
    page = _page()
    table_at = page.index('<h5><strong class="eyebrow">REGION: NORTH AMERICA')
    europe = page[table_at:].replace("REGION: NORTH AMERICA", "REGION: EUROPE")
    europe = europe.replace("$49.24", "$51.00")
    offers = _by_key(_parse(page + europe + page[table_at:]))
    assert offers[("hgx-h100", NA, "on_demand")].price_per_hour == 49.24
    assert offers[("hgx-h100", "europe", "on_demand")].price_per_hour == 51.00
    assert len(offers) == 28  # the third table repeats North America: no new offer


def test_bad_rows_are_skipped_with_a_hint():
    result = _parse(_page().replace("<div>$50.44</div>", "<div>from $50</div>", 1))
    assert ("hgx-h200", NA, "on_demand") not in _by_key(result)
    assert result.warnings == [
        f"coreweave: {URL}: NVIDIA HGX H200: skipped: price 'from $50' is not '$X' "
        "(field On-Demand Price (Per Hour))"
    ]
    no_count = _page().replace(
        '<div>1</div></div>\n  <div class="table-v2-cell"><div>96',
        ('<div>-</div></div>\n  <div class="table-v2-cell"><div>96'),
    )
    result = _parse(no_count)
    assert ("nvidia-gh200", NA, "on_demand") not in _by_key(result)
    assert (
        "NVIDIA GH200: skipped: GPU count '-' is not a number (field GPU Count)"
        in (result.warnings[0])
    )


def test_layout_changes_fail_the_provider():
    with pytest.raises(ParseError, match="no div.table-v2.gpu-pricing table") as err:
        _parse(_page().replace("table-v2 gpu-pricing", "pricing-grid"))
    assert str(err.value).startswith(f"coreweave: {URL}")
    with pytest.raises(ParseError, match="north-america table header .* lacks"):
        _parse(_page().replace(">GPU Count<", ">GPUs<", 1))
    every_price_gone = _page()
    for price in (
        "$42.00",
        "$35.84",
        "$68.80",
        "$34.11",
        "$20.00",
        "$11.09",
        "$9.56",
        "$6.50",
        "$49.24",
        "$19.71",
        "$10.00",
        "$6.27",
        "$50.44",
        "$20.93",
    ):
        every_price_gone = every_price_gone.replace(f"<div>{price}</div>", "<div>N/A</div>")
    with pytest.raises(ParseError, match="no GPU row with a usable price"):
        _parse(every_price_gone)


@respx.mock
def test_fetch_gets_the_pricing_page_from_the_configured_base():
    route = respx.get("https://coreweave.test/pricing").mock(
        return_value=httpx.Response(200, content=FIXTURE.read_bytes())
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(
                provider="coreweave", client=client, base_url="https://coreweave.test"
            )
            return await coreweave.fetch(ctx)

    (resp,) = asyncio.run(go())
    assert route.call_count == 1 and resp.kind == "pricing"
    assert len(coreweave.parse([resp]).offers) == 14


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route("/pricing", (200, FIXTURE.read_bytes(), {"Content-Type": "text/html"}))
    res, df, _ = run_live(tmp_path, provider_server, "coreweave")
    assert res.status == "ok", res.error
    h100 = df[(df.instance_type == "hgx-h100") & (df.pricing_model == "on_demand")]
    assert h100["gpu_model"].item() == "H100" and h100["gpu_form_factor"].item() == "SXM"
    # What a ranking compares: the whole machine's price divided by its GPUs.
    assert h100["price_usd_per_gpu_hour"].item() == pytest.approx(6.155)
    assert {"B200", "B300", "GH200", "H200", "L40", "RTX PRO 6000"} <= set(df["gpu_model"])
