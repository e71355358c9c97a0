"""ECB reference rates: the daily XML, 90-day XML, history CSV and zip layouts; the rate of
the observation date (previous business day on weekends, 7-day limit); cross rates;
layout errors; the fetch."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx

from scrapers import ecb
from scrapers.base import FetchContext, ParseError, Response
from scrapers.http import HttpClient

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ecb"
DAILY = FIXTURES / "eurofxref-daily_2024-05-28.xml"
HIST_90D = FIXTURES / "eurofxref-hist-90d_excerpt_2024-05-20_2024-05-31.xml"
HIST_CSV = FIXTURES / "eurofxref-hist_excerpt_2024-05-20_2024-05-31.csv"
BASE = "https://www.ecb.europa.eu/stats/eurofxref/"


def _resp(
    path: Path,
    name: str | None = None,
    fetched_at=datetime(2024, 5, 31, 15, tzinfo=UTC),
    body: bytes | None = None,
) -> Response:
    return Response(
        url=BASE + (name or path.name),
        fetched_at=fetched_at,
        body=path.read_bytes() if body is None else body,
    )


def test_daily_file_eur_rate_of_its_date():
    fx = ecb.parse([_resp(DAILY, "eurofxref-daily.xml")])
    assert fx.dates == [date(2024, 5, 28)]
    assert fx.usd_per_unit("EUR", date(2024, 5, 28)) == (1.0882, date(2024, 5, 28))
    assert len(fx.currencies) == 31  # 30 quoted currencies + EUR itself
    assert fx.source_urls == (BASE + "eurofxref-daily.xml",)


def test_eur_price_converts_with_that_dates_rate():
    fx = ecb.parse([_resp(HIST_90D)])
    price_eur = Decimal("1.80")  # OVHcloud t2-45 hourly (samples/ovhcloud), EUR
    for day, usd_per_eur in [
        (date(2024, 5, 24), "1.084"),
        (date(2024, 5, 28), "1.0882"),
        (date(2024, 5, 31), "1.0852"),
    ]:
        rate, rate_day = fx.usd_per_unit_decimal("EUR", day)
        assert rate == Decimal(usd_per_eur) and rate_day == day
        assert price_eur * rate == price_eur * Decimal(usd_per_eur)
    assert float(price_eur * fx.usd_per_unit_decimal("EUR", date(2024, 5, 28))[0]) == pytest.approx(
        1.95876
    )


def test_weekend_and_holiday_use_previous_business_day():
    fx = ecb.parse([_resp(HIST_CSV)])
    friday = date(2024, 5, 24)
    for weekend_day in (date(2024, 5, 25), date(2024, 5, 26)):
        assert fx.usd_per_unit("EUR", weekend_day) == (1.084, friday)
    assert fx.usd_per_unit("EUR", date(2024, 5, 27)) == (1.0843, date(2024, 5, 27))


def test_cross_rate_for_other_currencies():
    fx = ecb.parse([_resp(HIST_CSV)])
    rate, day = fx.usd_per_unit_decimal("GBP", date(2024, 5, 28))
    assert day == date(2024, 5, 28)
    assert rate == Decimal("1.0882") / Decimal("0.8508")  # USD/EUR ÷ GBP/EUR
    assert fx.usd_per_unit("jpy", date(2024, 5, 28))[0] == pytest.approx(1.0882 / 170.54)


def test_usd_is_identity():
    fx = ecb.parse([_resp(DAILY)])
    assert fx.usd_per_unit("USD", date(2030, 1, 1)) == (1.0, date(2030, 1, 1))


def test_no_rate_within_seven_days_raises_clear_error():
    fx = ecb.parse([_resp(HIST_CSV)])
    assert fx.usd_per_unit("EUR", date(2024, 6, 7)) == (1.0852, date(2024, 5, 31))  # 7 days
    with pytest.raises(ecb.FxError, match=r"EUR .*2024-06-08.*2024-05-20\.\.2024-05-31"):
        fx.usd_per_unit("EUR", date(2024, 6, 8))
    with pytest.raises(ecb.FxError, match="before 2024-05-19"):
        fx.usd_per_unit("EUR", date(2024, 5, 19))
    with pytest.raises(ecb.FxError, match="XYZ"):
        fx.usd_per_unit("XYZ", date(2024, 5, 28))
    with pytest.raises(ecb.FxError, match="CYP"):  # 'N/A' cells are no rate
        fx.usd_per_unit("CYP", date(2024, 5, 28))


def test_all_layouts_agree():
    xml90 = ecb.parse([_resp(HIST_90D)])
    csv = ecb.parse([_resp(HIST_CSV)])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("eurofxref-hist.csv", HIST_CSV.read_bytes())
    zipped = ecb.parse([_resp(HIST_CSV, "eurofxref-hist.zip", body=buf.getvalue())])
    daily = ecb.parse([_resp(DAILY)])
    assert xml90.rates == csv.rates == zipped.rates
    assert daily.rates[date(2024, 5, 28)] == csv.rates[date(2024, 5, 28)]


def test_files_merge_newest_fetch_wins():
    old = _resp(
        DAILY,
        fetched_at=datetime(2024, 5, 28, 15, tzinfo=UTC),
        body=DAILY.read_bytes().replace(b"rate='1.0882'", b"rate='1.5'"),
    )
    new = _resp(HIST_90D, fetched_at=datetime(2024, 5, 31, 15, tzinfo=UTC))
    fx = ecb.parse([new, old])  # order of the list does not matter, fetch time does
    assert fx.usd_per_unit("EUR", date(2024, 5, 28))[0] == 1.0882
    assert len(fx.dates) == 10


@pytest.mark.parametrize(
    "body, field",
    [
        (
            b"<gesmes:Envelope xmlns:gesmes='x'><Cube><Cube><Cube currency='USD' rate='1.1'/></Cube></Cube></gesmes:Envelope>",
            "Cube@time",
        ),
        (
            b"<Envelope><Cube><Cube time='2024-05-28'><Cube currency='USD' rate='abc'/></Cube></Cube></Envelope>",
            "rate",
        ),
        (b"<Envelope><Cube><Cube time='28 May 2024'/></Cube></Envelope>", "Cube@time"),
        (b"<Envelope><Cube", "Cube"),
        (b"Day,USD\n2024-05-28,1.0882\n", "Date"),
        (b"Date,GBP\n2024-05-28,0.8508\n", "USD"),
        (b"PK\x03\x04broken", "eurofxref-hist.csv"),
    ],
)
def test_layout_changes_raise_parse_error(body, field):
    with pytest.raises(ParseError) as err:
        ecb.parse([_resp(DAILY, body=body)])
    assert err.value.field == field and "ecb" in str(err.value)


def test_parse_needs_a_body():
    with pytest.raises(ParseError):
        ecb.parse([])


@respx.mock
def test_fetch_daily_and_90_day_files_and_optionally_history():
    daily = respx.get("https://ecb.example/eurofxref-daily.xml").mock(
        return_value=httpx.Response(200, content=DAILY.read_bytes())
    )
    hist90 = respx.get("https://ecb.example/eurofxref-hist-90d.xml").mock(
        return_value=httpx.Response(200, content=HIST_90D.read_bytes())
    )
    hist = respx.get("https://ecb.example/eurofxref-hist.zip").mock(
        return_value=httpx.Response(200, content=b"PK")
    )

    async def go(settings):
        async with HttpClient(max_retries=0) as client:
            return await ecb.fetch(
                FetchContext(
                    provider="ecb", client=client, base_url="https://ecb.example", settings=settings
                )
            )

    responses = asyncio.run(go({}))
    assert [r.kind for r in responses] == ["daily", "hist-90d"]
    assert daily.call_count == hist90.call_count == 1 and hist.call_count == 0
    assert ecb.parse(responses).usd_per_unit("EUR", date(2024, 5, 26)) == (1.084, date(2024, 5, 24))
    responses = asyncio.run(go({"ECB_FULL_HISTORY": "1"}))
    assert [r.kind for r in responses] == ["daily", "hist-90d", "hist"] and hist.call_count == 1
