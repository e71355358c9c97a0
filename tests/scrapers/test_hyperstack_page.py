"""Hyperstack's third response kind: the public pricing page (Internet Archive captures of
2024-08 and 2025-07), told from the API's JSON by its content. Per-GPU on-demand and spot
offers from both layouts, the reservation rate in extra; a bad cell is a skipped row with a
hint; an unknown column or no on-demand table fails loudly; `scrape parse` on the saved
files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from scrapers import hyperstack
from scrapers.base import ParseError, Response

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hyperstack"
AUG_2024 = FIXTURES / "gpu-pricing_wayback-20240822101707_excerpt.html"
JUL_2025 = FIXTURES / "gpu-pricing_wayback-20250724001416_excerpt.html"
URL = "https://www.hyperstack.cloud/gpu-pricing"
AT = datetime(2025, 7, 24, 0, 14, 16, tzinfo=UTC)


def _parse(html: str | bytes):
    body = html.encode() if isinstance(html, str) else html
    return hyperstack.parse([Response(url=URL, fetched_at=AT, body=body)])


def _by_key(result):
    return {(o.instance_type, o.pricing_model): o for o in result.offers}


def test_parse_2025_price_cards():
    result = _parse(JUL_2025.read_bytes())
    offers = _by_key(result)
    assert len(offers) == 13 and result.warnings == []
    h100 = offers[("NVIDIA H100 SXM", "on_demand")]
    assert h100.price_per_hour == 2.40 and h100.gpu_count == 1
    assert h100.price_unit_published == "gpu_hour" and h100.region == "global"
    assert (h100.gpu_memory_gb, h100.vcpus, h100.memory_gb) == (80, 24, 240)
    # The reservation card's "Starting from" rate: term not stated, so extra, not an offer.
    assert h100.extra["reservation_price_per_gpu_hour_from"] == 2.04
    assert not any(o.pricing_model.startswith("reserved") for o in result.offers)
    assert {k[0] for k in offers if k[1] == "spot"} == {"NVIDIA A100", "NVIDIA L40", "NVIDIA A6000"}
    assert offers[("NVIDIA L40", "spot")].price_per_hour == 0.80


def test_parse_2024_table():
    result = _parse(AUG_2024.read_bytes())
    offers = _by_key(result)
    assert len(offers) == 9 and result.warnings == []
    a4000 = offers[("NVIDIA RTX A4000", "on_demand")]
    assert a4000.price_per_hour == 0.30 and a4000.extra["price_text"] == "$ 0.30 Per Hour"
    assert a4000.extra["reservation_price_per_gpu_hour_from"] == 0.18
    # The same GPU name in both captures: L40 went from $1.15 to $1.00 per GPU-hour.
    assert offers[("NVIDIA L40", "on_demand")].price_per_hour == 1.15
    assert (
        _by_key(_parse(JUL_2025.read_bytes()))[("NVIDIA L40", "on_demand")].price_per_hour == 1.00
    )


def test_bad_price_cell_is_skipped_with_a_hint():
    result = _parse(JUL_2025.read_text().replace("<span> $2.40</span>", "<span>Sold out</span>"))
    assert ("NVIDIA H100 SXM", "on_demand") not in _by_key(result)
    assert result.warnings == [
        f"hyperstack: {URL}: NVIDIA H100 SXM: skipped: price 'Sold out' is not '$X', "
        "'$ X per Hour' or 'Starts from $X/hour' (field on_demand)"
    ]


def test_layout_changes_fail_the_provider():
    with pytest.raises(
        ParseError, match="unknown price table columns \\['Price per GPU'\\]"
    ) as err:
        _parse(
            JUL_2025.read_text().replace(
                "<span>Pricing Per Hour</span>", "<span>Price per GPU</span>"
            )
        )
    assert str(err.value).startswith(f"hyperstack: {URL}")
    with pytest.raises(ParseError, match="no 'GPU Model' table with a 'Pricing Per Hour' column"):
        _parse(AUG_2024.read_text().replace("<th>GPU Model", "<th>Model"))
    with pytest.raises(
        ParseError, match="every GPU flavor \\(or pricing-page row\\) failed to parse"
    ):
        _parse(
            AUG_2024.read_text()
            .replace("per Hour", "per Month")
            .replace("Per Hour</td>", "Per Month</td>")
        )


def test_scrape_parse_on_the_saved_files():
    for path, rows in ((AUG_2024, 9), (JUL_2025, 13)):
        out = CliRunner().invoke(
            app, ["parse", "hyperstack", str(path), "--format", "jsonl", "--no-fx"]
        )
        assert out.exit_code == 0, out.output
        parsed = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        assert len(parsed) == rows and all(r["gpu_model"] for r in parsed)
