"""pipelines.ingest.fx: loading ECB responses, the as-of rule for replay, and a EUR offer's USD
columns through the normalize step (that date's rate; weekend -> previous business day)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipelines.ingest.fx import FxError, load_fx
from pipelines.ingest.normalize import offers_to_frame
from scrapers import ecb
from scrapers.base import Offer, ParseError, ParseResult, Response

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ecb"
DAILY = FIXTURES / "eurofxref-daily_2024-05-28.xml"
HIST_90D = FIXTURES / "eurofxref-hist-90d_excerpt_2024-05-20_2024-05-31.xml"
BASE = "https://www.ecb.europa.eu/stats/eurofxref/"


def _ecb_responses() -> list[Response]:
    return [
        Response(
            url=BASE + "eurofxref-daily.xml",
            fetched_at=datetime(2024, 5, 28, 16, tzinfo=UTC),
            body=DAILY.read_bytes(),
            kind="daily",
        ),
        Response(
            url=BASE + "eurofxref-hist-90d.xml",
            fetched_at=datetime(2024, 5, 31, 16, tzinfo=UTC),
            body=HIST_90D.read_bytes(),
            kind="hist-90d",
        ),
    ]


def _eur_offer(observed_at: datetime) -> Offer:
    # OVHcloud t2-45 (1 x Tesla V100S) at 1.80 EUR/h, as in samples/ovhcloud.
    return Offer(
        instance_type="t2-45",
        region="GRA",
        pricing_model="on_demand",
        currency="EUR",
        price_per_hour=1.80,
        gpu_count=1.0,
        gpu_name_raw="Tesla V100S",
        source_url="https://example.invalid/catalog",
        observed_at=observed_at,
        snapshot_sha256="0" * 64,
    )


def test_load_fx_is_the_ecb_parse():
    fx = load_fx(_ecb_responses())
    assert fx.rates == ecb.parse(_ecb_responses()).rates
    assert fx.usd_per_unit("EUR", date(2024, 5, 28)) == (1.0882, date(2024, 5, 28))


def test_as_of_ignores_files_fetched_later():
    fx = load_fx(_ecb_responses(), as_of=datetime(2024, 5, 29, tzinfo=UTC))
    assert fx.dates == [date(2024, 5, 28)]  # only the daily file existed then
    with pytest.raises(ParseError):
        load_fx(_ecb_responses(), as_of=datetime(2024, 5, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "observed_at, rate_date, usd_per_eur",
    [
        (datetime(2024, 5, 28, 20, 35, 22, tzinfo=UTC), date(2024, 5, 28), 1.0882),
        (datetime(2024, 5, 25, 9, 0, tzinfo=UTC), date(2024, 5, 24), 1.084),  # Saturday
        (datetime(2024, 5, 26, 23, 0, tzinfo=UTC), date(2024, 5, 24), 1.084),  # Sunday
    ],
)
def test_eur_offer_gets_the_rate_of_its_observation_date(observed_at, rate_date, usd_per_eur):
    fx = load_fx(_ecb_responses())
    frame = offers_to_frame(
        "ovhcloud", ParseResult(offers=[_eur_offer(observed_at)]), fx=fx.usd_per_unit
    )
    row = frame.iloc[0]
    assert row["currency"] == "EUR" and row["price_per_hour"] == 1.80
    assert row["fx_rate_usd_per_unit"] == usd_per_eur
    assert row["fx_rate_date"] == rate_date
    assert row["price_usd_per_hour"] == pytest.approx(1.80 * usd_per_eur)


def test_replay_from_archived_bytes_reproduces_usd_figure():
    live = load_fx(_ecb_responses())
    # What a replay sees: the same bodies read back from the archive, possibly in another order.
    replayed = load_fx(
        [
            Response(url=r.url, fetched_at=r.fetched_at, body=bytes(r.read()))
            for r in reversed(_ecb_responses())
        ]
    )
    offer = ParseResult(offers=[_eur_offer(datetime(2024, 5, 30, 3, tzinfo=UTC))])
    a = offers_to_frame("ovhcloud", offer, fx=live.usd_per_unit)
    b = offers_to_frame("ovhcloud", offer, fx=replayed.usd_per_unit)
    cols = ["fx_rate_usd_per_unit", "fx_rate_date", "price_usd_per_hour"]
    assert a[cols].equals(b[cols])
    assert a.iloc[0]["fx_rate_date"] == date(2024, 5, 30)


def test_fx_error_is_clear():
    fx = load_fx(_ecb_responses())
    with pytest.raises(FxError, match="EUR.*2026-07-01"):
        fx.usd_per_unit("EUR", date(2026, 7, 1))
