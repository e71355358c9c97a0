"""Lambda's second response kind: the public pricing page (Internet Archive capture,
2026-01-09), told from the API's JSON by its content. Per-GPU prices of the size tab become
whole-instance offers; a bad row is skipped with a hint; a changed table fails loudly;
`scrape parse lambdalabs FILE` on the saved file; page and API parsed together."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from scrapers import lambdalabs
from scrapers.base import ParseError, Response

FIXTURES = Path(__file__).parents[1] / "fixtures" / "lambdalabs"
PAGE = FIXTURES / "pricing_wayback-20260109103934_excerpt.html"
API = FIXTURES / "instance-types_documented-schema_2026-05.json"
URL = "https://lambda.ai/pricing"
AT = datetime(2026, 1, 9, 10, 39, 34, tzinfo=UTC)


def _parse(html: str | bytes):
    body = html.encode() if isinstance(html, str) else html
    return lambdalabs.parse([Response(url=URL, fetched_at=AT, body=body)])


def test_parse_recorded_page():
    result = _parse(PAGE.read_bytes())
    offers = {o.instance_type: o for o in result.offers}
    assert sorted(offers) == [
        "8x NVIDIA A100 SXM 40 GB",
        "8x NVIDIA A100 SXM 80 GB",
        "8x NVIDIA B200 SXM6 180 GB",
        "8x NVIDIA H100 SXM 80 GB",
        "8x NVIDIA Tesla V100 16 GB",
    ]
    h100 = offers["8x NVIDIA H100 SXM 80 GB"]
    # "PRICE/GPU/HR" x the tab's 8 GPUs; vCPUs and RAM are the whole instance's.
    assert h100.price_per_hour == pytest.approx(23.92) and h100.gpu_count == 8
    assert h100.extra["price_per_gpu_hour"] == 2.99 and h100.price_unit_published == "gpu_hour"
    assert (h100.vcpus, h100.memory_gb, h100.gpu_memory_gb) == (208, 1800, 80)
    assert h100.pricing_model == "on_demand" and h100.region == "global"
    assert offers["8x NVIDIA A100 SXM 40 GB"].extra["price_per_gpu_hour"] == 1.29
    assert result.warnings == []


def test_bad_row_is_skipped_with_a_hint():
    result = _parse(PAGE.read_text().replace(">$1.29<", ">Sold out<"))
    assert "8x NVIDIA A100 SXM 40 GB" not in {o.instance_type for o in result.offers}
    assert result.warnings == [
        f"lambdalabs: {URL}: 8x NVIDIA A100 SXM: skipped: price 'Sold out' is not '$X' "
        "(field PRICE/GPU/HR*)"
    ]


def test_layout_changes_fail_the_provider():
    with pytest.raises(ParseError, match="pricing table columns") as err:
        _parse(PAGE.read_text().replace("<th>vCPUs</th>", "<th>CPU cores</th>"))
    assert str(err.value).startswith(f"lambdalabs: {URL}")
    with pytest.raises(ParseError, match="no pricing table with a 'PRICE/GPU/HR\\*' column"):
        _parse(PAGE.read_text().replace("PRICE/GPU/HR*", "PRICE/HR"))
    with pytest.raises(ParseError, match="outside a size tab"):
        _parse(PAGE.read_text().replace('role="tabpanel"', 'role="region"'))


def test_scrape_parse_on_the_saved_file_and_with_the_api_body():
    out = CliRunner().invoke(
        app, ["parse", "lambdalabs", str(PAGE), "--format", "jsonl", "--no-fx"]
    )
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert {r["gpu_model"] for r in rows} == {"A100", "B200", "H100", "V100"}
    h100 = next(r for r in rows if r["instance_type"] == "8x NVIDIA H100 SXM 80 GB")
    assert h100["price_usd_per_gpu_hour"] == pytest.approx(2.99)
    # Both kinds given together: each is recognised from its content.
    both = CliRunner().invoke(
        app, ["parse", "lambdalabs", str(PAGE), str(API), "--format", "jsonl", "--no-fx"]
    )
    assert both.exit_code == 0, both.output
    types = {
        json.loads(line)["instance_type"]
        for line in both.stdout.splitlines()
        if line.startswith("{")
    }
    assert "8x NVIDIA H100 SXM 80 GB" in types and "gpu_1x_h100_sxm5" in types
