"""Provider toolkit: the helpers every provider module's `parse` uses, written once.

- `load_json(resp, provider, expect=..., keys=...)`: decode a JSON body and check its
  envelope (the top-level type and the keys the parser relies on); anything else is one
  `ParseError` naming the provider, the source URL and the field.
- Exact numbers: `to_decimal` / `require_decimal` build `Decimal` from the *text* of a
  value (never through float rounding), `units_nanos` reads proto3 money (`units` +
  `nanos`), `per_hour` converts a price per second / minute / hour / month with the named
  unit constants below, `to_float` is the last step.
- Reference tables: `table("vultr_gpu_types.csv")` loads `scrapers/data/*.csv` once.
- `offer(source(resp), ...)` / `Source.offer(...)`: builds an `Offer` whose provenance
  (`source_url`, `observed_at`, `snapshot_sha256`) comes from the response, so no provider
  fills those three by hand and the body is hashed once per response.
- `page_text(node)`: the visible text of an HTML node (selectolax), whitespace collapsed,
  as pricing-page parsers compare it with headings and price patterns.
- `Rows`: the one skip-log-count mechanism for bad rows. A row that cannot be used is
  skipped with a warning naming provider, source, row and field; a source where rows were
  found but none was usable fails loudly instead of publishing an empty provider.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from scrapers.base import FetchContext, Offer, ParseError, ParseResult, Response, RowError

DATA_DIR = Path(__file__).parent / "data"

# --- units: every factor a parser multiplies or divides by has a name -------------------

SECONDS_PER_HOUR = Decimal(3600)
MINUTES_PER_HOUR = Decimal(60)
# 365 * 24 / 12: the convention AWS, Azure and GCP use for monthly prices.
HOURS_PER_MONTH = Decimal(730)
# 365 * 24: AWS and Azure spread reserved terms over 365-day years.
HOURS_PER_YEAR = Decimal(8760)
CENTS_PER_UNIT = Decimal(100)
NANOS_PER_UNIT = Decimal(10**9)  # proto3 money: units + nanos / 1e9
UNITS_1E8_PER_UNIT = Decimal(10**8)  # OVHcloud catalog prices: integers in 1e-8 currency
MIB_PER_GIB = Decimal(1024)  # nvidia-smi "MiB", API "MB" that are MiB
BYTES_PER_GIB = Decimal(2**30)

# Published unit -> hours it covers; a price per unit divided by this is a price per hour.
HOURS_PER_UNIT: Mapping[str, Decimal] = {
    "second": 1 / SECONDS_PER_HOUR,
    "minute": 1 / MINUTES_PER_HOUR,
    "hour": Decimal(1),
    "month": HOURS_PER_MONTH,
}
# Kept as (multiply, divide) so the conversion stays exact: 1/3600 is not a finite decimal.
_PER_HOUR_FACTOR: Mapping[str, tuple[Decimal, Decimal]] = {
    "second": (SECONDS_PER_HOUR, Decimal(1)),
    "minute": (MINUTES_PER_HOUR, Decimal(1)),
    "hour": (Decimal(1), Decimal(1)),
    "month": (Decimal(1), HOURS_PER_MONTH),
}
PRICE_UNITS = tuple(_PER_HOUR_FACTOR)


def per_hour(price: Decimal, unit: str, size: Decimal | int = 1) -> Decimal:
    """Price per `size` `unit`s (second/minute/hour/month) -> price per hour, exactly."""
    multiply, divide = _PER_HOUR_FACTOR[unit]
    return price * multiply / (divide * Decimal(size))


# --- exact numbers -----------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal | None:
    """The number a JSON value or a text cell states, exactly; None when absent or not a
    finite number (booleans are not numbers). Floats go through their shortest repr, which
    is the number as the source wrote it."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def require_decimal(value: Any, field: str, *, minimum: str = "positive") -> Decimal:
    """Like `to_decimal`, but a missing or out-of-range value is a `RowError` naming `field`.

    `minimum`: "positive" (> 0, prices), "non_negative" (>= 0) or "any".
    """
    d = to_decimal(value)
    if d is None:
        raise RowError(f"{field} {value!r} is not a number", field)
    if minimum == "positive" and d <= 0:
        raise RowError(f"{field} {value!r} is not a positive number", field)
    if minimum == "non_negative" and d < 0:
        raise RowError(f"{field} {value!r} is not a non-negative number", field)
    return d


def positive_decimal(value: Any) -> Decimal | None:
    """A usable price or None (absent, zero, negative, unparseable)."""
    d = to_decimal(value)
    return d if d is not None and d > 0 else None


def units_nanos(money: Mapping[str, Any]) -> Decimal:
    """proto3 money `{units, nanos}` (units may be an int64 string; zero fields omitted)."""
    units, nanos = money.get("units", 0), money.get("nanos", 0)
    if isinstance(units, bool) or isinstance(nanos, bool):
        raise TypeError("boolean price")
    return Decimal(int(str(units or 0))) + Decimal(int(nanos or 0)) / NANOS_PER_UNIT


def to_float(value: Any, *, strings: bool = True) -> float | None:
    """Float of a stated number for the float columns; None when absent. With
    `strings=False` only JSON numbers count (a "16" string is not a vCPU count)."""
    if not strings and (isinstance(value, str) or not isinstance(value, int | float | Decimal)):
        return None
    d = to_decimal(value)
    return float(d) if d is not None else None


def jsonable(value: Any) -> Any:
    """Decimals from an exact JSON parse become floats for `Offer.extra` (extra_json)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


# --- JSON bodies ---------------------------------------------------------------------------

_TYPE_NAMES = {dict: "object", list: "array", str: "string"}


def _type_name(t: type | tuple[type, ...]) -> str:
    types = t if isinstance(t, tuple) else (t,)
    return " or ".join(_TYPE_NAMES.get(x, x.__name__) for x in types)


def load_json(
    resp: Response,
    provider: str,
    *,
    expect: type | tuple[type, ...] = dict,
    keys: Mapping[str, type | tuple[type, ...]] | None = None,
    field: str = "body",
    exact: bool = False,
) -> Any:
    """Decode `resp`'s JSON body and check its envelope.

    `expect` is the top-level type; `keys` maps each top-level key the parser needs to its
    type (checked only when the document is an object). `exact=True` reads every JSON
    fraction as `Decimal`. Any mismatch is a `ParseError` naming provider, URL and field.
    """
    try:
        doc = json.loads(resp.read(), parse_float=Decimal if exact else None)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(provider, resp.url, f"invalid JSON body ({exc})", field=field) from None
    return envelope(doc, resp, provider, expect=expect, keys=keys, field=field)


def envelope(
    doc: Any,
    resp: Response,
    provider: str,
    *,
    expect: type | tuple[type, ...] = dict,
    keys: Mapping[str, type | tuple[type, ...]] | None = None,
    field: str = "body",
) -> Any:
    """The envelope check of `load_json` on an already decoded document."""
    if not isinstance(doc, expect):
        raise ParseError(
            provider,
            resp.url,
            f"body is a JSON {_type_name(type(doc))}, expected {_type_name(expect)}",
            field=field,
        )
    if isinstance(doc, dict):
        for key, typ in (keys or {}).items():
            if not isinstance(doc.get(key), typ):
                raise ParseError(
                    provider, resp.url, f"no {key!r} {_type_name(typ)} in the body", field=key
                )
    return doc


def peek_json(resp: Response) -> Any:
    """Best-effort decode for fetch-side paging (next link, page count): None when the body
    is not JSON. Parse reports a broken body with the right field; fetch must not."""
    try:
        return json.loads(resp.read())
    except (ValueError, UnicodeDecodeError):
        return None


# --- reference tables ----------------------------------------------------------------------


@cache
def table(name: str) -> tuple[dict[str, str], ...]:
    """The rows of `scrapers/data/<name>` (CSV with a header), read once per process."""
    with (DATA_DIR / name).open(newline="") as fh:
        return tuple(csv.DictReader(fh))


def table_by(name: str, key: str) -> dict[str, dict[str, str]]:
    """`table(name)` keyed by column `key` (unique keys; the last row wins)."""
    return {row[key]: row for row in table(name)}


def opt_float(cell: str) -> float | None:
    """A table cell that may be empty."""
    return float(cell) if cell.strip() else None


# --- HTML pages ----------------------------------------------------------------------------

_SPACE_RE = re.compile(r"\s+")


# What a browser sends for a page: some pricing sites answer a bare client with a cut-down
# page or a 403.
PAGE_HEADERS = {"Accept": "text/html", "Accept-Language": "en-US,en;q=0.8"}


async def fetch_page(ctx: FetchContext, path: str, provider: str) -> list[Response]:
    """A provider whose prices are one public pricing page: that page, kind "pricing"."""
    resp = await ctx.client.get(
        ctx.url(path), provider=provider, kind="pricing", headers=PAGE_HEADERS
    )
    return [resp]


def is_html(resp: Response) -> bool:
    """Whether a body is an HTML page rather than JSON, read from its content (a saved file
    has no Content-Type): the first non-blank character, after a UTF-8 BOM, is '<'."""
    return resp.read().lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def page_text(node: Any) -> str:
    """Visible text of a selectolax node, whitespace (and no-break spaces) collapsed."""
    text = node.text(deep=True, separator=" ").replace("\xa0", " ")
    return _SPACE_RE.sub(" ", text).strip()


# --- offers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Provenance every offer of one response shares, with the body hashed once."""

    url: str
    observed_at: datetime
    sha256: str

    def offer(self, **fields: Any) -> Offer:
        return Offer(
            source_url=self.url,
            observed_at=self.observed_at,
            snapshot_sha256=self.sha256,
            **fields,
        )


def source(resp: Response) -> Source:
    return Source(url=resp.url, observed_at=resp.fetched_at, sha256=resp.sha256)


def offer(resp: Response | Source, **fields: Any) -> Offer:
    """An `Offer` whose source_url / observed_at / snapshot_sha256 come from `resp`."""
    return (resp if isinstance(resp, Source) else source(resp)).offer(**fields)


def fresh(responses: Sequence[Response]) -> list[Response]:
    """Responses with a body to parse (a 304 'not modified' stands for an archived one)."""
    return [r for r in responses if not r.not_modified]


# --- skip, log, count ------------------------------------------------------------------------


@dataclass
class Rows:
    """Skip-log-count of bad rows for one `parse` call, and the no-usable-row rule.

    `found()` counts a candidate row (one that should become offers); `skip()` (or a
    `RowError` raised inside `with rows.guard(url, label):`) records one skipped row as a
    warning naming provider, source, row and field. `require_offers()` raises a ParseError
    naming the first failing row's source and field when rows were found but none made an
    offer, or `none_found` when there was no candidate at all.
    """

    provider: str
    result: ParseResult
    found_count: int = 0
    skipped: int = 0
    first: tuple[str, str] | None = None
    by_field: dict[str, int] = field(default_factory=dict)

    def found(self, n: int = 1) -> None:
        self.found_count += n

    def skip(self, url: str, row: str, reason: str | RowError, field: str | None = None) -> None:
        fld = field or getattr(reason, "field", None) or "row"
        self.skipped += 1
        self.first = self.first or (url, fld)
        self.by_field[fld] = self.by_field.get(fld, 0) + 1
        self.result.warnings.append(
            f"{self.provider}: {url}: {row}: skipped: {reason} (field {fld})"
        )

    @contextmanager
    def guard(self, url: str, row: str) -> Iterator[None]:
        try:
            yield
        except RowError as exc:
            self.skip(url, row, exc)

    @property
    def most_common_field(self) -> str | None:
        return max(self.by_field, key=lambda f: self.by_field[f]) if self.by_field else None

    def require_offers(
        self,
        responses: Sequence[Response],
        *,
        default_field: str,
        none_found: str,
        all_failed: str,
    ) -> None:
        if self.result.offers:
            return
        if responses and all(r.not_modified for r in responses):
            return  # nothing new was fetched; the archive holds the last answers
        src, fld = self.first or (
            responses[0].url if responses else "no responses",
            default_field,
        )
        message = all_failed if self.found_count or self.skipped else none_found
        raise ParseError(self.provider, src, message, field=fld)
