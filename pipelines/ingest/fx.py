"""FX for the USD columns: ECB reference rates loaded from recorded (archived) responses.

The ECB files are fetched and archived like any provider's responses (archive provider id
"ecb", module `scrapers.ecb`, which is not in the offer registry); this module turns those
responses into the lookup the normalize step needs.

Use:
    fx = load_fx(ecb_responses, as_of=run_started_at)   # FxRates
    rate, rate_date = fx.usd_per_unit("EUR", day)       # (USD per EUR, ECB date used)
    offers_to_frame(provider, result, fx=fx.usd_per_unit)

The rate is the latest ECB business day on or before `day`, at most 7 days old; beyond
that `FxError` names the currency, the date and the span of loaded rates.

Replay: pass `as_of` = the time of the run being replayed, so only the ECB files that run
had (fetched at or before it) count. Without it, a replay that also sees files archived
later could pick a rate the original run did not know yet (an offer observed at 03:00 UTC
gets the previous day's rate live, while the same day's rate is published at ~16:00 CET).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scrapers.base import Response
from scrapers.ecb import MAX_RATE_AGE_DAYS, FxError, FxRates
from scrapers.ecb import parse as parse_ecb

__all__ = ["MAX_RATE_AGE_DAYS", "FxError", "FxRates", "load_fx"]


def load_fx(responses: Sequence[Response], as_of: datetime | None = None) -> FxRates:
    """All rates in the given ECB responses (daily, 90-day and/or full-history files).

    `as_of` (timezone-aware) drops responses fetched after it. Raises
    `scrapers.base.ParseError` when no usable ECB file is left.
    """
    if as_of is not None:
        responses = [r for r in responses if r.fetched_at <= as_of]
    return parse_ecb(responses)
