"""The Atom feed parses with a real feed parser (feedparser) and escapes provider strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser

from pipelines.derive.changes import events_frame
from pipelines.notify.feed import FEED_ID, render_feed, write_feed

T0 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


def event(i: int, **kw):
    ev = {
        "event_id": f"{i:032x}",
        "event_type": "price_changed",
        "provider": "aws",
        "offer_key": "aws|p4d.24xlarge|us-east-1||on_demand|",
        "pricing_model": "on_demand",
        "region": "us-east-1",
        "instance_type": "p4d.24xlarge",
        "gpu_model": "A100",
        "old_value": "32.7726",
        "new_value": "21.96",
        "old_price": 32.7726,
        "new_price": 21.96,
        "change_pct": -32.99,
        "currency": "USD",
        "price_unit": "hour",
        "detected_at": T0 + timedelta(hours=i),
        "from_version": f"v{i}",
        "to_version": f"v{i + 1}",
        "source_url": "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/us-east-1/index.json",
    }
    ev.update(kw)
    return ev


def test_feed_is_valid_atom(tmp_path):
    events = events_frame(
        [
            event(0),
            event(
                1,
                event_type="offer_gpu_changed",
                provider="colab",
                gpu_model="T4",
                old_gpu_model="K80",
                old_value="1x K80",
                new_value="1x T4",
                offer_key="colab|colab-free|global||free|",
                source_url=None,
            ),
        ]
    )
    path = tmp_path / "alerts.atom"
    write_feed(events, path, public_url="https://prices.example.org/")
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id == FEED_ID
    assert parsed.feed.updated == "2025-06-01T04:00:00Z"
    assert len(parsed.entries) == 2
    newest = parsed.entries[0]
    assert "K80 -> 1x T4" in newest.title and newest.id.startswith("urn:uuid:")
    older = parsed.entries[1]
    assert older.link == "https://aws.amazon.com/ec2/pricing/on-demand/"
    assert "32.7726 -> 21.96 USD/h (-33.0%)" in older.title
    assert "v0 -> v1" in older.summary
    assert parsed.feed.links[0].href == "https://prices.example.org/alerts.atom"


def test_feed_entry_ids_are_stable_and_limited():
    events = events_frame([event(i) for i in range(5)])
    a = feedparser.parse(render_feed(events, limit=3))
    b = feedparser.parse(render_feed(events, limit=3))
    assert [e.id for e in a.entries] == [e.id for e in b.entries]
    assert len(a.entries) == 3 and len({e.id for e in a.entries}) == 3


def test_feed_escapes_provider_strings_and_handles_no_events():
    nasty = event(0, instance_type='<script>alert("x")</script> & co', gpu_model="A100 ]]>")
    raw = render_feed(events_frame([nasty]))
    assert b"<script>" not in raw
    parsed = feedparser.parse(raw)
    assert parsed.bozo == 0
    assert '<script>alert("x")</script> & co' in parsed.entries[0].title
    empty = feedparser.parse(render_feed(events_frame([]), now=T0))
    assert empty.bozo == 0 and empty.version == "atom10" and empty.entries == []


def test_feed_entries_carry_required_atom_elements():
    import xml.etree.ElementTree as ET

    ns = {"a": "http://www.w3.org/2005/Atom"}
    events = events_frame([event(0), event(1, source_url=None)])
    root = ET.fromstring(render_feed(events))
    for child in ("a:id", "a:title", "a:updated", "a:author/a:name"):
        assert root.find(child, ns) is not None, child
    entries = root.findall("a:entry", ns)
    assert len(entries) == 2
    for entry in entries:
        for child in ("a:id", "a:title", "a:updated", "a:summary"):
            assert entry.find(child, ns) is not None, child
        # RFC 4287 4.1.2: an alternate link or content.
        assert (
            entry.find("a:link[@rel='alternate']", ns) is not None
            or entry.find("a:content", ns) is not None
        )


def runpod_spot_summary(**kw):
    """A spot summary as change detection builds it: no instance type (NaN once read back
    from Parquet) and a float offer count."""
    return event(
        7,
        event_type="spot_price_changed",
        provider="runpod",
        offer_key=None,
        instance_type=None,
        region="global",
        pricing_model="spot",
        old_value="1.19",
        new_value="0.89",
        old_price=1.19,
        new_price=0.89,
        change_pct=-25.2,
        price_unit="gpu_hour",
        offer_count=1.0,
        source_url="https://api.runpod.io/graphql?api_key=REDACTED",
        **kw,
    )


def test_finding_13_feed_text_never_shows_nan_and_links_to_the_pricing_page(tmp_path):
    path = tmp_path / "alerts.atom"
    events = events_frame([runpod_spot_summary(), event(8, provider="linode", offer_count=None)])
    # As the events come back from Parquet through pandas: NaN for a missing text, and a
    # float count in a column with missing values.
    events["instance_type"] = (
        events["instance_type"].astype(object).where(events["instance_type"].notna(), float("nan"))
    )
    events["offer_count"] = events["offer_count"].astype("float64")
    write_feed(events[events["provider"] == "runpod"], path)
    raw = path.read_bytes()
    parsed = feedparser.parse(raw)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    entry = parsed.entries[0]
    assert entry.title == (
        "runpod A100 global spot: cheapest 1.19 -> 0.89 USD/GPU-hour (-25.2%) over 1 offers"
    )
    assert b"nan" not in raw.lower() and b"api_key" not in raw and b"graphql" not in raw
    # People get the provider's pricing page, never the API the price was read from.
    assert entry.link == "https://www.runpod.io/pricing"
    # A self link even without a public URL: the file name, relative to where it is served.
    assert [(link.rel, link.href) for link in parsed.feed.links] == [("self", "alerts.atom")]
