"""Crusoe: the archived pricing page (GPU section, Dec 2025) gives per-GPU on-demand and spot
offers; "Contact sales" is no offer; a missing cell or another unit is a skipped item; a
changed section or column layout fails the provider; fetch and a run against the local
server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import crusoe
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient
from tests.support.live_run import run_live

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "crusoe"
    / "pricing_wayback-20251215002446_excerpt.html"
)
URL = "https://www.crusoe.ai/cloud/pricing"
AT = datetime(2025, 12, 15, 0, 24, 46, tzinfo=UTC)


def _page() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def _parse(html: str):
    return crusoe.parse([Response(url=URL, fetched_at=AT, body=html.encode())])


def test_parse_recorded_page():
    result = crusoe.parse([Response(url=URL, fetched_at=AT, body=FIXTURE.read_bytes())])
    offers = {(o.instance_type, o.pricing_model): o for o in result.offers}
    assert sorted(offers) == [
        ("NVIDIA H100 80GB HGX", "on_demand"),
        ("NVIDIA H100 80GB HGX", "spot"),
        ("NVIDIA H200 141GB HGX", "on_demand"),
    ]
    h100 = offers[("NVIDIA H100 80GB HGX", "on_demand")]
    assert h100.price_per_hour == 3.90 and h100.gpu_count == 1 and h100.gpu_memory_gb == 80
    assert h100.price_unit_published == "gpu_hour" and h100.price_scope == "instance"
    assert h100.gpu_name_raw == "NVIDIA H100 HGX" and h100.region == "global"
    assert offers[("NVIDIA H100 80GB HGX", "spot")].price_per_hour == 1.60
    assert offers[("NVIDIA H200 141GB HGX", "on_demand")].price_per_hour == 4.29
    # GB200 / B200 say "Contact sales" in both columns: no offer and no warning. The excerpt
    # ends right after the A100 heading, so that item has no price cell: one skip.
    assert result.warnings == [
        f"crusoe: {URL}: NVIDIA A100: skipped: no price cell for on_demand (field on_demand)"
    ]


def test_price_in_another_unit_skips_the_item_with_a_hint():
    result = _parse(_page().replace("$4.29/GPU-hr", "$34.32/hr"))
    assert ("NVIDIA H200 141GB HGX", "on_demand") not in {
        (o.instance_type, o.pricing_model) for o in result.offers
    }
    assert any(
        "NVIDIA H200: skipped: price '$34.32/hr' is not '$X/GPU-hr' (field on_demand)" in w
        for w in result.warnings
    )


def test_item_without_heading_is_skipped():
    html = _page().replace('<h4 class="pricing-item-heading">NVIDIA H100</h4>', "", 1)
    result = _parse(html)
    assert {o.instance_type for o in result.offers} == {"NVIDIA H200 141GB HGX"}
    assert any("item 3: skipped: no GPU heading" in w for w in result.warnings)


def test_missing_section_heading_is_a_layout_change():
    with pytest.raises(ParseError, match="'GPU instances pricing' not found") as err:
        _parse(_page().replace("GPU instances pricing", "Instances"))
    assert str(err.value).startswith(f"crusoe: {URL}")


def test_changed_price_columns_are_a_layout_change():
    with pytest.raises(ParseError, match="price columns"):
        _parse(_page().replace(">Current spot<", ">Reserved 1 year<"))
    # The May 2025 page was a <table> without these classes: no section, loud failure.
    with pytest.raises(ParseError, match="not found"):
        _parse("<table><tr><th>GPU Pricing</th><th>On-Demand</th></tr></table>")


def test_no_public_price_at_all_fails():
    html = (
        _page()
        .replace("$4.29/GPU-hr", "Contact sales")
        .replace("$3.90/GPU-hr", "Contact sales")
        .replace("$1.60/GPU-hr", "Contact sales")
    )
    with pytest.raises(ParseError, match="no GPU item with a usable price"):
        _parse(html)


@respx.mock
def test_fetch_gets_the_pricing_page_from_the_configured_base():
    route = respx.get("https://crusoe.test/cloud/pricing").mock(
        return_value=httpx.Response(200, content=FIXTURE.read_bytes())
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(provider="crusoe", client=client, base_url="https://crusoe.test")
            return await crusoe.fetch(ctx)

    (resp,) = asyncio.run(go())
    assert route.call_count == 1 and resp.kind == "pricing"
    assert len(crusoe.parse([resp]).offers) == 3


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route(
        "/cloud/pricing", (200, FIXTURE.read_bytes(), {"Content-Type": "text/html"})
    )
    res, df, _ = run_live(tmp_path, provider_server, "crusoe")
    assert res.status == "ok", res.error
    assert len(df) == 3 and set(df["gpu_model"]) == {"H100", "H200"}
    assert set(df["gpu_form_factor"]) == {"SXM"}
    spot = df[df.pricing_model == "spot"]
    assert spot["price_usd_per_gpu_hour"].item() == 1.60
