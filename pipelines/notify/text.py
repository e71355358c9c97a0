"""Text built for people (feed entries, mail digests) from change events.

Events come out of pandas with NaN for missing values; `for_people` (in
pipelines.derive.change_events, where `describe` uses it too) turns them into None and whole
numbers first. Links for people go to the provider's pricing page
(`ProviderSpec.pricing_page_url`), never to the API URL a price was read from: that one may
carry a redacted key and means nothing in a browser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from pipelines.derive.change_events import for_people as for_people  # feed, digest use it
from pipelines.derive.changes import describe
from pipelines.site import PRICE_INDEX_PAGE, SITE_DIR


def describe_for_people(ev: Mapping[str, Any]) -> str:
    """One line for an event, without "nan" or "None" in it."""
    return describe(ev)


def one_line(value: Any) -> str:
    """A header-safe rendering of a data value: no CR, LF or other control characters."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value)).strip()


def safe_href(url: Any) -> str | None:
    if not url or not isinstance(url, str):
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def pricing_pages() -> dict[str, str]:
    """Provider id -> its pricing page for people (providers that declare one)."""
    from scrapers.registry import PROVIDERS

    return {n: s.pricing_page_url for n, s in PROVIDERS.items() if s.pricing_page_url}


def index_page_url(base_url: str | None, index_id: Any) -> str:
    """The site's section of a price index: under `base_url` (where the datasets directory
    is served, `public_url`), else relative to the datasets directory."""
    page = f"{SITE_DIR}/{PRICE_INDEX_PAGE}#{quote(str(index_id), safe='')}"
    return f"{base_url.rstrip('/')}/{page}" if base_url else page


def subject_label(ev: Mapping[str, Any]) -> str:
    """Who an event is about, for subjects and sorting: the provider, or the price index."""
    return one_line(ev.get("provider") or "price index")
