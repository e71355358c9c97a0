"""Atom feed (RFC 4287) of the most recent change events, for feed readers.

Input: the change events (datasets/gpu_price_changes.parquet, pipelines/derive/changes.py).
Output: datasets/alerts.atom, rewritten atomically after every run. Entry ids are
`urn:uuid:` ids derived from the event_id, so a reader never sees an event twice even when
the feed is regenerated; the feed's own id is fixed. Links: each entry links to its
provider's pricing page for people (`ProviderSpec.pricing_page_url`; never the API URL the
price was read from); the feed links to itself (`rel="self"`), at the public URL when one
is set (`public_url` setting), else by its file name, relative to wherever it is served.
A price index move links to the index's section of the site's index page (same base).
Text never shows NaN (pipelines/notify/text.py).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.notify import text
from pipelines.store.atomic import write_bytes_atomic

FEED_NAME = "alerts.atom"
FEED_ENTRIES = 100
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_TITLE = "GPU cloud price changes"
# Fixed namespace so ids are stable across runs and machines.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/gpu-prices/alerts")
FEED_ID = f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, 'feed')}"


def _iso(ts) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def render_feed(
    events: pd.DataFrame,
    *,
    limit: int = FEED_ENTRIES,
    public_url: str | None = None,
    now: datetime | None = None,
    pricing_pages: Mapping[str, str] | None = None,
) -> bytes:
    pages = text.pricing_pages() if pricing_pages is None else pricing_pages
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    recent = events.sort_values(["detected_at", "event_id"], ascending=[False, True]).head(limit)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", FEED_ID)
    sub(feed, "title", FEED_TITLE)
    sub(feed, "subtitle", "Price, offer and GPU changes detected between consecutive good scrapes.")
    if len(recent):
        updated = _iso(recent["detected_at"].max())
    else:
        updated = _iso(now or datetime.now(UTC))
    sub(feed, "updated", updated)
    author = sub(feed, "author")
    sub(author, "name", "gpu-prices")
    sub(feed, "generator", "gpu-prices")
    self_href = f"{public_url.rstrip('/')}/{FEED_NAME}" if public_url else FEED_NAME
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_href)
    for ev in (text.for_people(r) for r in recent.to_dict("records")):
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, str(ev['event_id']))}")
        sub(entry, "title", text.describe_for_people(ev))
        sub(entry, "updated", _iso(ev["detected_at"]))
        is_index = ev["event_type"] == "index_changed"
        if is_index:
            url = text.index_page_url(public_url, ev.get("index_id"))
        else:
            url = text.safe_href(pages.get(str(ev["provider"])))
        has_link = url is not None
        if has_link:
            sub(entry, "link", rel="alternate", type="text/html", href=url)
        sub(entry, "category", term=str(ev["event_type"]))
        sub(entry, "category", term=str(ev["index_id"] if is_index else ev["provider"]))
        if is_index:
            summary = (
                f"{text.describe_for_people(ev)}. {ev.get('offer_count')} offers entered. "
                f"Dataset version {ev.get('to_version')}."
            )
        else:
            versions = f"{ev.get('from_version') or '-'} -> {ev.get('to_version')}"
            summary = f"{text.describe_for_people(ev)}. Offer: {ev.get('offer_key') or '-'}. Dataset versions {versions}."
        sub(entry, "summary", summary)
        if not has_link:
            # RFC 4287 4.1.2: an entry without an alternate link must carry content.
            sub(entry, "content", summary, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def write_feed(
    events: pd.DataFrame,
    path: Path,
    *,
    limit: int = FEED_ENTRIES,
    public_url: str | None = None,
    now: datetime | None = None,
    pricing_pages: Mapping[str, str] | None = None,
) -> None:
    feed = render_feed(
        events, limit=limit, public_url=public_url, now=now, pricing_pages=pricing_pages
    )
    write_bytes_atomic(feed, Path(path))
