"""Atom feed (RFC 4287) of the most recent change events, for feed readers.

Input: the change events (datasets/gpu_price_changes.parquet, pipelines/derive/changes.py).
Output: datasets/alerts.atom, rewritten atomically after every run. Entry ids are
`urn:uuid:` ids derived from the event_id, so a reader never sees an event twice even when
the feed is regenerated; the feed's own id is fixed. Links: each entry links to the source
the price was read from; the feed links to itself when GPU_PRICES_PUBLIC_URL is set.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.derive.changes import describe
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
) -> bytes:
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
    if public_url:
        sub(
            feed,
            "link",
            rel="self",
            type="application/atom+xml",
            href=f"{public_url.rstrip('/')}/{FEED_NAME}",
        )
    for ev in recent.to_dict("records"):
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, str(ev['event_id']))}")
        sub(entry, "title", describe(ev))
        sub(entry, "updated", _iso(ev["detected_at"]))
        url = ev.get("source_url")
        has_link = isinstance(url, str) and url.startswith(("http://", "https://"))
        if has_link:
            sub(entry, "link", rel="alternate", href=url)
        sub(entry, "category", term=str(ev["event_type"]))
        sub(entry, "category", term=str(ev["provider"]))
        versions = f"{ev.get('from_version') or '-'} -> {ev.get('to_version')}"
        summary = (
            f"{describe(ev)}. Offer: {ev.get('offer_key') or '-'}. Dataset versions {versions}."
        )
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
) -> None:
    write_bytes_atomic(render_feed(events, limit=limit, public_url=public_url, now=now), Path(path))
