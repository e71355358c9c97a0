"""Paperspace: the recorded Gradient "Machine Types" page (2022-02-16: a "Price" column with
"/hr" cells, an HTML multi-GPU table in the Markdown, no storage table), the constructed
DigitalOcean Markdown pricing page (machine + storage tables, footnotes), strict failures on
layout changes, and the fetch of the page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import paperspace
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "paperspace"
PAGE = FIXTURES / "pricing_index.html.md"
RECORDED = FIXTURES / "gradient-docs_machine-types_2022-02-16.md"
RECORDED_URL = (
    "https://raw.githubusercontent.com/Paperspace/Docs/616262e0dc5145eb736e7747d8dcc20e21af2c2b/"
    "more/instance-types/README.md"
)
URL = "https://docs.digitalocean.com/products/paperspace/pricing/index.html.md"
FETCHED_AT = datetime(2026, 9, 20, tzinfo=UTC)


def _parse_text(text: str):
    return paperspace.parse([Response(url=URL, fetched_at=FETCHED_AT, body=text.encode())])


def _by_type(offers):
    return {o.instance_type: o for o in offers}


def test_parse_recorded_gradient_machine_types_page():
    result = paperspace.parse(
        [Response(url=RECORDED_URL, fetched_at=FETCHED_AT, body=RECORDED.read_bytes())]
    )
    offers = _by_type(result.offers)
    assert result.unknown == []
    assert not {"C5", "C7"} & set(offers)  # the CPU table
    # First table: "| Name | GPU | Memory | vCPUs | Price |", "GPU" is the GPU's memory.
    p4000 = offers["P4000"]
    assert (p4000.price_per_hour, p4000.gpu_count, p4000.gpu_memory_gb) == (0.51, 1.0, 8.0)
    assert (p4000.vcpus, p4000.memory_gb) == (8.0, 30.0)
    assert p4000.pricing_model == "on_demand" and p4000.storage_per_month is None
    # Second table: HTML lists inside the cells, one machine per <li>, "Price on Core".
    assert offers["M4000"].price_per_hour == 0.45
    assert (offers["A100x8"].price_per_hour, offers["A100x8"].gpu_count) == (24.72, 8.0)
    assert offers["p5000x4"].gpu_name_raw == "p5000" and offers["p5000x4"].gpu_count == 4.0
    # A5000/A6000 are "🔜" in the first table (skipped, warned), priced in the second.
    assert offers["A5000"].price_per_hour == 1.38
    assert sum("🔜" in w for w in result.warnings) == 2
    # Listed in both tables at the same price: one offer each.
    assert len(result.offers) == 30 and len(offers) == 30


def test_machine_listed_twice_at_different_prices_keeps_the_first():
    text = """
| Name | Price |
|---|---|
| P4000 | $0.51/hr |

| GPU | Price on Core |
|---|---|
| P4000 | $0.99 / hr |
"""
    result = _parse_text(text)
    assert [o.price_per_hour for o in result.offers] == [0.51]
    assert any("P4000" in w and "listed again" in w for w in result.warnings)


def test_parse_machine_and_storage_tables():
    result = paperspace.parse([Response(url=URL, fetched_at=FETCHED_AT, body=PAGE.read_bytes())])
    offers = _by_type(o for o in result.offers if o.pricing_model == "on_demand")
    assert result.unknown == []
    assert "C1" not in offers  # CPU-only machine type
    assert {"P4000", "P5000", "P6000", "V100", "H100"} <= set(offers)
    p4000 = offers["P4000"]
    assert (p4000.price_per_hour, p4000.gpu_count, p4000.gpu_memory_gb) == (0.51, 1.0, 8.0)
    assert p4000.gpu_name_raw == "P4000" and p4000.gpu_model_hint == "Quadro P4000"
    assert (
        p4000.pricing_model == "on_demand" and p4000.region == "global" and p4000.currency == "USD"
    )
    assert p4000.storage_per_month == 5.0 and p4000.extra["storage_size_gb"] == 50.0
    assert p4000.observed_at == FETCHED_AT and p4000.source_url == URL
    assert all(o.storage_per_month == 5.0 for o in result.offers)


def test_footnoted_prices_take_the_pricing_model_their_footnote_names():
    # The fixture's "$2.24*/hr" H100 row has the footnote "* 3-year commitment": a commitment
    # rate, not on-demand. A100-80G's "$1.15**/hr" has a footnote the page never explains:
    # skipped with a counted warning naming it, never published as on-demand (issue 12).
    result = paperspace.parse([Response(url=URL, fetched_at=FETCHED_AT, body=PAGE.read_bytes())])
    models = {(o.instance_type, o.pricing_model): o for o in result.offers}
    h100_3y = models[("H100", "reserved_3y")]
    assert h100_3y.price_per_hour == 2.24 and h100_3y.term == "commitment"
    assert h100_3y.extra["footnote"] == "3-year commitment"
    assert models[("H100", "on_demand")].price_per_hour == 3.09
    assert not any(o.instance_type == "A100-80G" for o in result.offers)
    assert not any(
        o.extra["has_footnote"] and o.pricing_model == "on_demand" for o in result.offers
    )
    assert result.warnings == [
        f"paperspace: {URL}: A100-80G: skipped: price '$1.15**/hr': footnote '**' is not "
        "explained on the page; not an on-demand price (field Price per hour)"
    ]


@pytest.mark.parametrize(
    ("note", "model"),
    [
        ("\\* With a 36-month commitment", "reserved_3y"),
        ("*Requires a 1-year commitment", "reserved_1y"),
        ("\\* 12 month term, contact sales", "reserved_1y"),
        ("\\* Billed as a monthly subscription", "subscription"),
    ],
)
def test_footnote_wording_maps_to_a_pricing_model(note, model):
    text = PAGE.read_text().replace("\\* 3-year commitment", note)
    offers = {(o.instance_type, o.price_per_hour): o for o in _parse_text(text).offers}
    assert offers[("H100", 2.24)].pricing_model == model


def test_footnote_naming_no_known_term_skips_the_row():
    text = PAGE.read_text().replace("\\* 3-year commitment", "\\* Limited-time promotion")
    result = _parse_text(text)
    assert ("H100", 2.24) not in {(o.instance_type, o.price_per_hour) for o in result.offers}
    assert any("'Limited-time promotion'" in w and "H100" in w for w in result.warnings)


def test_bullets_and_bold_text_are_not_footnotes():
    notes = paperspace.footnotes("* a bullet\n**Bold line**\n*italic*\n\\*\\* 36-month term\n")
    assert notes == {2: "36-month term"}


def test_multi_gpu_suffix_gpus_column_not_priced_and_unknown():
    text = """
| Machine Type | GPUs | vCPUs | RAM | Hourly | Monthly |
|:--|--:|--:|--:|--:|--:|
| A100-80Gx8 | 8 | 96 | 640 GB | $25.44/hr | $15,000/mo |
| H100x8 | - | 128 | 1 TB | Contact sales | - |
| Z900 | 1 | 8 | 45 GB | $9.00 | - |

| Storage | Monthly |
|---|---|
| 250 GB | $10 |
| 50 GB | $5 |
| 2 TB | $80 |
"""
    result = _parse_text(text)
    offers = _by_type(result.offers)
    big = offers["A100-80Gx8"]
    assert big.gpu_count == 8.0 and big.gpu_name_raw == "A100-80G" and big.gpu_memory_gb == 80.0
    assert (big.vcpus, big.memory_gb, big.price_per_hour) == (96.0, 640.0, 25.44)
    assert big.extra["monthly_subscription_price"] == "15000"
    assert big.storage_per_month == 5.0  # the smallest disk's fee
    assert "H100x8" not in offers and any("H100x8" in w for w in result.warnings)
    assert offers["Z900"].gpu_model_hint is None and any("Z900" in u for u in result.unknown)


def test_layout_changed_price_column_without_unit_fails():
    # "Price" with "$0.45" cells: per hour or per month is stated nowhere, so no hourly column.
    with pytest.raises(ParseError) as err:
        paperspace.parse(
            [
                Response(
                    url=URL,
                    fetched_at=FETCHED_AT,
                    body=(FIXTURES / "pricing_layout_changed.md").read_bytes(),
                )
            ]
        )
    assert (
        err.value.provider == "paperspace"
        and err.value.source == URL
        and err.value.field == "machines"
    )


def test_unparseable_price_fails_naming_the_row():
    with pytest.raises(ParseError) as err:
        paperspace.parse(
            [
                Response(
                    url=URL,
                    fetched_at=FETCHED_AT,
                    body=(FIXTURES / "pricing_price_unparseable.md").read_bytes(),
                )
            ]
        )
    assert err.value.field == "machines[P5000].Price per hour"
    assert "0.78 dollars an hour" in str(err.value)


def test_missing_storage_table_leaves_the_fee_empty_with_a_warning():
    # The real Gradient page has no storage table: its machines still publish, without a fee.
    text = PAGE.read_text().split("## Storage")[0]
    result = _parse_text(text)
    assert result.offers and all(o.storage_per_month is None for o in result.offers)
    assert any("no storage table" in w for w in result.warnings)


def test_unparseable_storage_fee_fails():
    text = PAGE.read_text().replace("| 50 GB | $5.00 |", "| 50 GB | five dollars |")
    with pytest.raises(ParseError) as err:
        _parse_text(text)
    assert err.value.field == "storage.Monthly price"


def test_html_instead_of_markdown_fails():
    with pytest.raises(ParseError, match="no machine pricing table"):
        _parse_text(
            "<!DOCTYPE html><html><body><table><tr><td>P4000</td></tr></table></body></html>"
        )


@respx.mock
def test_fetch_gets_the_markdown_page():
    route = respx.get("https://docs.test/products/paperspace/pricing/index.html.md").mock(
        return_value=httpx.Response(200, content=PAGE.read_bytes())
    )

    async def go():
        async with HttpClient(max_retries=0) as client:
            return await paperspace.fetch(
                FetchContext(provider="paperspace", client=client, base_url="https://docs.test")
            )

    responses = asyncio.run(go())
    assert route.call_count == 1 and responses[0].kind == "pricing-markdown"
    assert len(paperspace.parse(responses).offers) == 12


def test_html_lists_that_do_not_pair_up_fail():
    text = """
| GPU | Price on Core |
|---|---|
| <ul><li>P4000</li><li>P4000x2</li></ul> | <ul><li>$0.51 / hr</li></ul> |
"""
    with pytest.raises(ParseError) as err:
        _parse_text(text)
    assert err.value.field == "machines"  # never a guessed pairing of names and prices
