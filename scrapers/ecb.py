"""ECB euro foreign exchange reference rates: the FX source for non-USD prices.

Source: the European Central Bank's reference-rate files under
https://www.ecb.europa.eu/stats/eurofxref/ (public, no key; published around 16:00 CET on
every TARGET business day):
- `eurofxref-daily.xml`: the latest day, `<Cube time='YYYY-MM-DD'><Cube currency='USD'
  rate='1.0882'/>...` inside a `gesmes:Envelope`;
- `eurofxref-hist-90d.xml`: the same layout, one dated `Cube` per business day, 90 days;
- `eurofxref-hist.zip`: one `eurofxref-hist.csv` since 1999, `Date,USD,JPY,...,` with one
  row per day, newest first, `N/A` for currencies not quoted that day.
Every rate is "units of the currency per 1 EUR".

This is not an offer provider (it is not in the registry): the run fetches and archives
these files like any source, and `parse` turns the recorded responses into `FxRates`,
which the pipeline (`pipelines.ingest.fx.load_fx`) uses to fill the USD columns. Replaying the
archived files reproduces the same USD figures.

Conversion: USD per EUR is the USD rate; for another currency X, USD per X = (USD per
EUR) / (X per EUR). The rate used is the latest ECB day on or before the observation date
(weekends and TARGET holidays take the previous business day), at most
`MAX_RATE_AGE_DAYS` old; older or missing rates raise `FxError`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree

from scrapers.base import FetchContext, ParseError, Response, Setting
from scrapers.errors import GpuPricesError

NAME = "ecb"
DEFAULT_BASE_URL = "https://www.ecb.europa.eu/stats/eurofxref"
DAILY_PATH = "eurofxref-daily.xml"
HIST_90D_PATH = "eurofxref-hist-90d.xml"
HIST_PATH = "eurofxref-hist.zip"
# Setting this (to anything but "", "0", "false") also fetches the full history since 1999
# (~600 KB zipped): needed once to backfill archives older than 90 days.
FULL_HISTORY_SETTING = "ECB_FULL_HISTORY"
# What the ECB fetch may read (it is not a registered provider, so it declares here).
SETTINGS = (
    Setting(FULL_HISTORY_SETTING, help="also fetch the full rate history since 1999 (yes/no)"),
)
# A rate older than this is not "the rate of the observation date": the longest run of
# TARGET closing days (Good Friday to Easter Monday, a weekend at Christmas) is 4 days.
MAX_RATE_AGE_DAYS = 7
BASE_CURRENCY = "EUR"
USD = "USD"
ZIP_MAGIC = b"PK\x03\x04"


class FxError(GpuPricesError, LookupError):
    """No usable ECB rate for a currency on a date (missing, or older than 7 days)."""


@dataclass
class FxRates:
    """ECB reference rates by day: `rates[day][currency]` = units of currency per 1 EUR."""

    rates: dict[date, dict[str, Decimal]] = field(default_factory=dict)
    source_urls: tuple[str, ...] = ()
    snapshot_sha256s: tuple[str, ...] = ()
    max_rate_age_days: int = MAX_RATE_AGE_DAYS

    @property
    def dates(self) -> list[date]:
        return sorted(self.rates)

    @property
    def currencies(self) -> set[str]:
        return {c for day in self.rates.values() for c in day} | {BASE_CURRENCY}

    def usd_per_unit_decimal(self, currency: str, on: date) -> tuple[Decimal, date]:
        """USD per 1 unit of `currency` and the ECB date the rate comes from."""
        cur = currency.strip().upper()
        if cur == USD:
            return Decimal(1), on
        for day in sorted((d for d in self.rates if d <= on), reverse=True):
            if (on - day).days > self.max_rate_age_days:
                break
            quotes = self.rates[day]
            if USD not in quotes or (cur != BASE_CURRENCY and cur not in quotes):
                continue  # e.g. a currency suspended that day: look further back
            usd_per_eur = quotes[USD]
            if cur == BASE_CURRENCY:
                return usd_per_eur, day
            return usd_per_eur / quotes[cur], day
        known = self.dates
        span = f"rates loaded for {known[0]}..{known[-1]}" if known else "no rates loaded"
        raise FxError(
            f"ecb: no reference rate for {cur} (and USD) within {self.max_rate_age_days} days "
            f"on or before {on.isoformat()} ({span})"
        )

    def usd_per_unit(self, currency: str, on: date) -> tuple[float, date]:
        """Float form for the pipeline: (USD per unit, date of the ECB rate used)."""
        rate, day = self.usd_per_unit_decimal(currency, on)
        return float(rate), day


async def fetch(ctx: FetchContext) -> list[Response]:
    """The daily file and the 90-day file; the full history too when asked for."""
    paths = [(DAILY_PATH, "daily"), (HIST_90D_PATH, "hist-90d")]
    if ctx.settings.get(FULL_HISTORY_SETTING, "").strip().lower() not in ("", "0", "false", "no"):
        paths.append((HIST_PATH, "hist"))
    out = []
    for path, kind in paths:
        out.append(await ctx.client.get(ctx.url(path), provider=NAME, kind=kind))
    return out


def parse(responses: Sequence[Response]) -> FxRates:
    """Merge every recorded ECB file into one `FxRates`.

    A day present in several files keeps the value of the most recently fetched one (the
    ECB does not revise published rates, so they agree in practice).
    """
    rates: dict[date, dict[str, Decimal]] = {}
    used: list[Response] = []
    for resp in sorted((r for r in responses if not r.not_modified), key=lambda r: r.fetched_at):
        body = resp.read()
        if body.startswith(ZIP_MAGIC):
            days = _parse_zip(body, resp.url)
        elif body.lstrip()[:1] == b"<":
            days = _parse_xml(body, resp.url)
        else:
            days = _parse_csv(body.decode("utf-8-sig"), resp.url)
        if not days:
            raise ParseError(NAME, resp.url, "no dated rates in the file", field="Cube@time")
        for day, quotes in days.items():
            rates.setdefault(day, {}).update(quotes)
        used.append(resp)
    if not rates:
        raise ParseError(NAME, NAME, "no ECB responses with a body to read", field="Cube@time")
    if not any(USD in q for q in rates.values()):
        raise ParseError(NAME, used[0].url, "no USD rate on any day", field="USD")
    return FxRates(
        rates=rates,
        source_urls=tuple(r.url for r in used),
        snapshot_sha256s=tuple(r.sha256 for r in used),
    )


def _rate(text: str | None, source: str, where: str) -> Decimal | None:
    """A published rate; None for the CSV's 'N/A' / empty cells."""
    if text is None:
        return None
    text = text.strip()
    if text in ("", "N/A"):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ParseError(
            NAME, source, f"unparseable rate {text!r} at {where}", field="rate"
        ) from None
    if not value.is_finite() or value <= 0:
        raise ParseError(NAME, source, f"non-positive rate {text!r} at {where}", field="rate")
    return value


def _day(text: str | None, source: str, fld: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ParseError(NAME, source, f"unparseable date {text!r}", field=fld) from None


def _parse_xml(body: bytes, source: str) -> dict[date, dict[str, Decimal]]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise ParseError(NAME, source, f"not well-formed XML: {exc}", field="Cube") from None
    out: dict[date, dict[str, Decimal]] = {}
    # Match on the local name: the eurofxref namespace URI is part of the layout, but
    # matching `{*}Cube` keeps a namespace-less mirror readable too.
    for cube in root.iter():
        if _local(cube.tag) != "Cube" or "time" not in cube.attrib:
            continue
        day = _day(cube.attrib["time"], source, "Cube@time")
        quotes: dict[str, Decimal] = {}
        for child in cube:
            if _local(child.tag) != "Cube":
                continue
            cur = child.attrib.get("currency")
            if not cur:
                raise ParseError(
                    NAME, source, f"rate without currency on {day}", field="Cube@currency"
                )
            rate = _rate(child.attrib.get("rate"), source, f"{day} {cur}")
            if rate is None:
                raise ParseError(NAME, source, f"{cur} on {day} has no rate", field="Cube@rate")
            quotes[cur.strip().upper()] = rate
        out[day] = quotes
    return out


def _parse_csv(text: str, source: str) -> dict[date, dict[str, Decimal]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header[0].strip() != "Date":
        raise ParseError(NAME, source, "CSV does not start with a 'Date' column", field="Date")
    # The file ends every line with a comma: the last header cell is empty.
    currencies = [h.strip().upper() for h in header[1:]]
    out: dict[date, dict[str, Decimal]] = {}
    for row in reader:
        if not row or not row[0].strip():
            continue
        day = _day(row[0], source, "Date")
        quotes = {}
        for cur, cell in zip(currencies, row[1:], strict=False):
            if not cur:
                continue
            rate = _rate(cell, source, f"{day} {cur}")
            if rate is not None:
                quotes[cur] = rate
        out[day] = quotes
    return out


def _parse_zip(body: bytes, source: str) -> dict[date, dict[str, Decimal]]:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise ParseError(NAME, source, "zip holds no CSV file", field="eurofxref-hist.csv")
            text = zf.read(names[0]).decode("utf-8-sig")
    except zipfile.BadZipFile as exc:
        raise ParseError(NAME, source, f"broken zip: {exc}", field="eurofxref-hist.csv") from None
    return _parse_csv(text, source)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
