"""Nebius: the pricing page in its 2024 layout (whole-VM on-demand prices, 'Reserve' in extra)
and its 2025- layout (per-GPU on-demand and preemptible prices; an announced price that is
due replaces the on-demand one); 'Contact us' / '––' is no offer; a bad cell is a skipped row
with a hint; a missing section or an unknown column fails the provider; `scrape parse` on
the saved files; fetch and a run against the local server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from pipelines.cli.main import app
from scrapers import nebius
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient
from tests.support.live_run import run_live

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nebius"
NOV_2024 = FIXTURES / "pricing_wayback-20241115043809_excerpt.html"
JUL_2026 = FIXTURES / "pricing_wayback-20260712235400_excerpt.html"
OCT_2026 = FIXTURES / "pricing_gpu-price-index-fixture_gpu-sections_excerpt.html"
URL = "https://nebius.com/prices"
AT_JUL = datetime(2026, 7, 12, 23, 54, tzinfo=UTC)
AT_OCT = datetime(2026, 10, 4, 22, 0, 23, tzinfo=UTC)


def _parse(html: str | bytes, at: datetime = AT_JUL):
    body = html.encode() if isinstance(html, str) else html
    return nebius.parse([Response(url=URL, fetched_at=at, body=body)])


def _by_key(result):
    return {(o.instance_type, o.pricing_model): o for o in result.offers}


def test_parse_2026_page_per_gpu_on_demand_and_preemptible():
    result = _parse(JUL_2026.read_bytes())
    offers = _by_key(result)
    assert len(offers) == 14 and result.warnings == []
    h100 = offers[("NVIDIA HGX H100", "on_demand")]
    assert h100.price_per_hour == 3.85 and h100.gpu_count == 1
    assert h100.price_unit_published == "gpu_hour" and h100.price_scope == "instance"
    assert (h100.vcpus, h100.memory_gb, h100.region) == (16, 200, "global")
    assert offers[("NVIDIA HGX H100", "spot")].price_per_hour == 2.15
    # "with Intel CPU" names the host, not the GPU; "from $X" is the smallest configuration.
    l40s = offers[("NVIDIA L40S with Intel CPU", "on_demand")]
    assert l40s.gpu_name_raw == "NVIDIA L40S" and l40s.price_per_hour == 1.82
    assert (l40s.vcpus, l40s.memory_gb) == (16, 96)
    assert l40s.extra["is_from_price"] and l40s.extra["ranges"]["vcpus"] == "16-192"
    # GB300 / GB200 NVL72: "––" and "Contact us" are no public price, and no warning.
    assert not any("NVL72" in k[0] for k in offers)


def test_parse_2024_page_whole_vm_prices_and_reserve_in_extra():
    result = _parse(NOV_2024.read_bytes(), datetime(2024, 11, 15, 4, 38, 9, tzinfo=UTC))
    offers = _by_key(result)
    assert sorted(offers) == [
        ("1 × H100 SXM", "on_demand"),
        ("1 × H200 SXM", "on_demand"),
        ("1 × L40s PCIe", "on_demand"),
        ("8 × H100 SXM", "on_demand"),
        ("8 × H200 SXM", "on_demand"),
    ]
    eight = offers[("8 × H200 SXM", "on_demand")]
    assert eight.price_per_hour == 28.00 and eight.gpu_count == 8
    assert eight.price_unit_published == "hour" and eight.gpu_name_raw == "H200 SXM"
    assert eight.gpu_memory_gb == 141  # "vRAM, GB" 1128 is all eight GPUs
    # The reserve rate's commitment term is not stated: no reserved offer, kept in extra.
    assert eight.extra["reserve_price_per_hour_as_low_as"] == 18.40
    assert result.warnings == []


def test_announced_price_becomes_the_on_demand_price_once_due():
    due = _by_key(_parse(OCT_2026.read_bytes(), AT_OCT))
    h100 = due[("NVIDIA HGX H100", "on_demand")]
    assert h100.price_per_hour == 4.50
    assert h100.extra["price_before_effective"] == 3.85
    assert h100.extra["price_effective_from"] == "2026-10-01"
    # The second table is the preemptible one: spot offers at "from $X**".
    assert due[("NVIDIA HGX H100", "spot")].price_per_hour == 0.79
    assert due[("NVIDIA L40S with AMD CPU", "spot")].extra["price_text"] == "from $0.90**"
    assert len(due) == 14
    early = _by_key(_parse(OCT_2026.read_bytes(), datetime(2026, 9, 20, tzinfo=UTC)))
    assert early[("NVIDIA HGX H100", "on_demand")].price_per_hour == 3.85
    assert early[("NVIDIA HGX H100", "on_demand")].extra["price_effective"] == 4.50


def test_bad_price_cell_skips_the_row_with_a_hint():
    result = _parse(JUL_2026.read_text().replace("<p>$3.85</p>", "<p>$3.85/month</p>"))
    offers = _by_key(result)
    assert ("NVIDIA HGX H100", "on_demand") not in offers
    assert ("NVIDIA HGX H200", "on_demand") in offers
    assert result.warnings == [
        f"nebius: {URL}: NVIDIA HGX H100: skipped: price '$3.85/month' is not '$X' or "
        "'from $X' (field on_demand)"
    ]


def test_row_without_a_name_is_skipped():
    result = _parse(JUL_2026.read_text().replace("<p>NVIDIA HGX B200</p>", "<p></p>"))
    assert not any("B200" in k[0] for k in _by_key(result))
    assert any(
        "row 4: skipped: no name in the first cell (field name)" in w for w in result.warnings
    )


def test_layout_changes_fail_the_provider():
    with pytest.raises(ParseError, match="no GPU price table after a section heading") as err:
        _parse(JUL_2026.read_text().replace(">NVIDIA GPU Instances<", ">Instances<"))
    assert str(err.value).startswith(f"nebius: {URL}")
    with pytest.raises(ParseError, match="unknown column 'Reserved, GPU-hour'"):
        _parse(JUL_2026.read_text().replace(">Preemptible, GPU-hour<", ">Reserved, GPU-hour<"))
    with pytest.raises(ParseError, match="the first should be one of"):
        _parse(NOV_2024.read_text().replace("<span>GPU</span>", "<span>Model</span>"))
    every_price_gone = JUL_2026.read_text()
    for price in ("4.30", "7.85", "3.95", "7.15", "2.45", "4.50", "2.15", "3.85", "0.95", "1.80"):
        every_price_gone = every_price_gone.replace(f"<p>${price}</p>", "<p>Contact us</p>")
    for price in ("0.90", "1.82", "0.74", "1.55"):
        every_price_gone = every_price_gone.replace(f"from ${price}", "Contact us")
    with pytest.raises(ParseError, match="no GPU row with a usable price"):
        _parse(every_price_gone)


def test_scrape_parse_on_the_saved_files():
    for path, rows in ((NOV_2024, 5), (JUL_2026, 14), (OCT_2026, 14)):
        out = CliRunner().invoke(
            app, ["parse", "nebius", str(path), "--format", "jsonl", "--no-fx"]
        )
        assert out.exit_code == 0, out.output
        parsed = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        assert len(parsed) == rows and all(r["gpu_model"] for r in parsed)


@respx.mock
def test_fetch_gets_the_pricing_page_from_the_configured_base():
    route = respx.get("https://nebius.test/prices").mock(
        return_value=httpx.Response(200, content=JUL_2026.read_bytes())
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            ctx = FetchContext(provider="nebius", client=client, base_url="https://nebius.test")
            return await nebius.fetch(ctx)

    (resp,) = asyncio.run(go())
    assert route.call_count == 1 and resp.kind == "pricing"
    assert len(nebius.parse([resp]).offers) == 14


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route("/prices", (200, JUL_2026.read_bytes(), {"Content-Type": "text/html"}))
    res, df, _ = run_live(tmp_path, provider_server, "nebius")
    assert res.status == "ok", res.error
    h100 = df[(df.instance_type == "NVIDIA HGX H100") & (df.pricing_model == "on_demand")]
    assert h100["gpu_model"].item() == "H100" and h100["gpu_form_factor"].item() == "SXM"
    assert h100["price_usd_per_gpu_hour"].item() == 3.85
    assert {"B200", "B300", "H200", "L40S", "RTX PRO 6000"} <= set(df["gpu_model"])
