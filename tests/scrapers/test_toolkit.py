"""The provider toolkit (scrapers/_toolkit.py) and the rule that every provider uses it."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scrapers import _toolkit as tk
from scrapers.base import ParseError, ParseResult, Response, RowError
from scrapers.registry import PROVIDER_MODULES

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SCRAPERS = Path(tk.__file__).parent


def resp(body: bytes, url: str = "https://api.example/v1/things") -> Response:
    return Response(url=url, fetched_at=AT, body=body)


def test_load_json_checks_the_envelope_and_names_provider_url_and_field():
    assert tk.load_json(resp(b'{"data": [1]}'), "p", keys={"data": list}) == {"data": [1]}
    with pytest.raises(ParseError) as err:
        tk.load_json(resp(b'{"data": {}}'), "p", keys={"data": list})
    assert err.value.field == "data" and str(err.value).startswith(
        "p: https://api.example/v1/things field 'data': no 'data' array"
    )
    with pytest.raises(ParseError, match="expected object") as err:
        tk.load_json(resp(b"[1, 2]"), "p")
    assert err.value.field == "body"
    with pytest.raises(ParseError, match="invalid JSON body") as err:
        tk.load_json(resp(b'{"data": [1'), "p", field="offers")  # cut short
    assert err.value.field == "offers"
    exact = tk.load_json(resp(b'{"price": 0.1}'), "p", exact=True)
    assert exact["price"] == Decimal("0.1")


def test_decimals_come_from_the_text_never_from_float_rounding():
    assert tk.to_decimal("0.1") + tk.to_decimal("0.2") == Decimal("0.3")
    assert tk.to_decimal(0.1) == Decimal("0.1")  # a JSON float: its shortest repr
    assert tk.to_decimal(" 9.0E-4 ") == Decimal("0.0009")
    assert [tk.to_decimal(v) for v in (None, True, "N/A", "NaN", "Infinity")] == [None] * 5
    assert tk.units_nanos({"units": "2", "nanos": 933908000}) == Decimal("2.933908")
    assert tk.units_nanos({"nanos": 5}) == Decimal("5E-9")  # proto3 omits zero fields
    assert tk.to_float("16", strings=False) is None and tk.to_float(16, strings=False) == 16.0


def test_per_hour_units_are_exact():
    # Scaleway's L4-8-24G: 0.105 EUR per minute is exactly 6.3 EUR per hour
    assert tk.per_hour(Decimal("0.105"), "minute") == Decimal("6.300")
    assert tk.per_hour(Decimal("730"), "month") == Decimal(1)
    assert tk.per_hour(Decimal("0.001"), "second") == Decimal("3.6")
    assert tk.per_hour(Decimal("2"), "hour", size=4) == Decimal("0.5")
    assert Decimal(180000000) / tk.UNITS_1E8_PER_UNIT == Decimal("1.8")  # OVHcloud


def test_require_decimal_raises_a_row_error_naming_the_field():
    assert tk.require_decimal("1.25", "price") == Decimal("1.25")
    for bad in (None, "abc", 0, -1):
        with pytest.raises(RowError) as err:
            tk.require_decimal(bad, "price")
        assert err.value.field == "price"
    assert tk.require_decimal(0, "ram", minimum="non_negative") == 0


def test_offer_builder_fills_provenance_from_the_response():
    r = resp(b"{}")
    offer = tk.source(r).offer(
        instance_type="x",
        region="global",
        pricing_model="on_demand",
        currency="USD",
        price_per_hour=1.0,
        gpu_count=1.0,
        gpu_name_raw="T4",
    )
    assert (offer.source_url, offer.observed_at, offer.snapshot_sha256) == (
        r.url,
        AT,
        r.sha256,
    )
    assert offer.price_scope == "instance"
    with pytest.raises(ValueError, match="price_scope"):
        dataclasses.replace(offer, price_scope="per_gpu")


def test_rows_skip_count_and_fail_when_nothing_was_usable():
    result = ParseResult()
    rows = tk.Rows("p", result)
    rows.found(2)
    with rows.guard("u1", "row 1"):
        raise RowError("price 'x' is not a number", "price")
    rows.skip("u2", "row 2", "no id", field="id")
    assert rows.skipped == 2 and rows.most_common_field in ("price", "id")
    assert result.warnings[0] == "p: u1: row 1: skipped: price 'x' is not a number (field price)"
    with pytest.raises(ParseError) as err:
        rows.require_offers([resp(b"{}")], default_field="d", none_found="none", all_failed="all")
    assert (err.value.source, err.value.field, "all" in str(err.value)) == ("u1", "price", True)
    empty = tk.Rows("p", ParseResult())
    with pytest.raises(ParseError, match="none") as err:
        empty.require_offers([resp(b"{}")], default_field="d", none_found="none", all_failed="x")
    assert err.value.field == "d"


def test_tables_are_read_once():
    assert tk.table("vultr_gpu_types.csv") is tk.table("vultr_gpu_types.csv")
    assert "gpu_key" in tk.table("vultr_gpu_types.csv")[0]


def _provider_sources() -> dict[str, str]:
    out = {}
    for name in PROVIDER_MODULES:
        path = SCRAPERS / f"{name}.py"
        files = [path] if path.exists() else sorted((SCRAPERS / name).glob("*.py"))
        out[name] = "\n".join(f.read_text() for f in files)
    return out


@pytest.mark.parametrize("name", PROVIDER_MODULES)
def test_every_provider_uses_the_toolkit_not_its_own_copies(name):
    src = _provider_sources()[name]
    assert "from scrapers import _toolkit as tk" in src
    # provenance comes from the response through the offer builder, never by hand
    assert not re.search(r"\b(source_url|observed_at|snapshot_sha256)=", src)
    # reference tables through tk.table; bad rows through tk.Rows
    assert "csv.DictReader" not in src and "RowSkips" not in src
    # colab has no skippable row: each of its three plans is required (a missing one is a
    # layout change that fails the provider), and the rate table drives the rows
    assert "tk.Rows(" in src or name == "colab"
    # no private number converters: one set of exact conversions for everyone
    assert not re.search(r"def _(decimal|number|price|money)\(value", src)
