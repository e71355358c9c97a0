"""FluidStack: the archived pricing page (Jan 2025) gives per-GPU on-demand and 1-year
offers; "n/a" is no offer; a row without a name or with an unparseable price is skipped; a
missing table or price column fails the provider; fetch and a run against the local server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import fluidstack
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient
from tests.support.live_run import run_live

FIXTURE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "fluidstack"
    / "pricing_wayback-20250109013724_excerpt.html"
)
URL = "https://www.fluidstack.io/pricing"
AT = datetime(2025, 1, 9, 1, 37, 24, tzinfo=UTC)


def _page() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def _parse(html: str):
    return fluidstack.parse([Response(url=URL, fetched_at=AT, body=html.encode())])


def _keys(result) -> set[tuple[str, str]]:
    return {(o.instance_type, o.pricing_model) for o in result.offers}


def test_parse_recorded_page():
    result = fluidstack.parse([Response(url=URL, fetched_at=AT, body=FIXTURE.read_bytes())])
    assert result.warnings == []
    offers = {(o.instance_type, o.pricing_model): o for o in result.offers}
    assert len(offers) == 9  # 5 rows x 2 columns, the H200's on-demand cell says "n/a"
    assert ("Nvidia H200", "on_demand") not in offers
    assert offers[("Nvidia H200", "reserved_1y")].price_per_hour == 2.45
    h100 = offers[("Nvidia H100 PCIe", "on_demand")]
    assert h100.price_per_hour == 2.89 and h100.gpu_count == 1 and h100.gpu_memory_gb == 80
    assert h100.vcpus == 48 and h100.memory_gb == 256 and h100.region == "global"
    assert h100.price_unit_published == "gpu_hour" and h100.price_scope == "instance"
    assert offers[("Nvidia L40", "reserved_1y")].price_per_hour == 0.99


def test_unparseable_price_skips_the_row_with_a_hint():
    result = _parse(_page().replace("<p>$2.89<br/></p>", "<p>from $2.89<br/></p>"))
    assert ("Nvidia H100 PCIe", "on_demand") not in _keys(result)
    assert result.warnings == [
        f"fluidstack: {URL}: Nvidia H100 PCIe: skipped: price 'from $2.89' is not '$X' or "
        "'n/a' (field On-Demand Price (/hr))"
    ]
    assert len(result.offers) == 7  # the row's 1-year price goes with the skipped row


def test_row_without_a_name_is_skipped():
    html = _page().replace('<h2 class="h4 table-header-mobile">Nvidia L40</h2>', "", 1)
    result = _parse(html)
    assert {t for t, _ in _keys(result)} == {
        "Nvidia H200",
        "Nvidia H100 PCIe",
        "Nvidia A100 80GB PCIe",
        "Nvidia A100 40GB PCIe",
    }
    assert any("row 4: skipped: no GPU name (field Model)" in w for w in result.warnings)


def test_reordered_columns_still_parse():
    html = _page().replace("On-Demand Price (/hr)", "TMP").replace("1 Year price (/hr)", "X")
    html = html.replace("TMP", "1 Year price (/hr)").replace(">X<", ">On-Demand Price (/hr)<")
    offers = {(o.instance_type, o.pricing_model): o for o in _parse(html).offers}
    assert offers[("Nvidia H100 PCIe", "reserved_1y")].price_per_hour == 2.89


def test_layout_changes_fail_the_provider():
    with pytest.raises(ParseError, match="no table.pricing_table") as err:
        _parse(_page().replace('class="pricing_table"', 'class="price-grid"'))
    assert str(err.value).startswith(f"fluidstack: {URL}")
    no_price = (
        _page()
        .replace("On-Demand Price (/hr)", "On-Demand")
        .replace("1 Year price (/hr)", "1 Year")
    )
    with pytest.raises(ParseError, match="lacks 'Model' or a price column"):
        _parse(no_price)
    with pytest.raises(ParseError, match="no GPU row with a price"):
        _parse(_page().split("<tbody")[0] + "</table>")


@respx.mock
def test_fetch_gets_the_pricing_page_from_the_configured_base():
    route = respx.get("https://fluidstack.test/pricing").mock(
        return_value=httpx.Response(200, content=FIXTURE.read_bytes())
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(
                provider="fluidstack", client=client, base_url="https://fluidstack.test"
            )
            return await fluidstack.fetch(ctx)

    (resp,) = asyncio.run(go())
    assert route.call_count == 1 and resp.kind == "pricing"
    assert len(fluidstack.parse([resp]).offers) == 9


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route("/pricing", (200, FIXTURE.read_bytes(), {"Content-Type": "text/html"}))
    res, df, _ = run_live(tmp_path, provider_server, "fluidstack")
    assert res.status == "ok", res.error
    assert len(df) == 9 and set(df["gpu_model"]) == {"H200", "H100", "A100", "L40"}
    a100 = df[(df.instance_type == "Nvidia A100 40GB PCIe") & (df.pricing_model == "on_demand")]
    assert a100["gpu_memory_gb"].item() == 40 and a100["price_usd_per_gpu_hour"].item() == 1.65
