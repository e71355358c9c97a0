"""The digest mail: one message per subscriber with the events queued for it.

Plain text + HTML. Provider-supplied strings are HTML-escaped in the HTML part, and every
header value built from data has CR/LF removed (and goes through the SMTP policy, which
refuses them too). `List-Unsubscribe: <URL>` and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058) must reach the mail client as written: a header
longer than the policy's line length that cannot be folded (a URL has no spaces) would be
RFC 2047-encoded (`=?utf-8?q?=3Chttps...?=`), which clients do not decode there, so the
policy allows lines up to RFC 5322's hard limit of 998 characters.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import quote

from pipelines.derive.changes import fmt_price
from pipelines.notify import text
from pipelines.notify.subscriptions import Subscriber

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8025"
UNSUBSCRIBE_PATH = "/alerts/unsubscribe"
# A digest lists at most this many events in full; the rest are counted.
DIGEST_MAX_ROWS = 200
MAIL_POLICY = SMTP_POLICY.clone(max_line_length=998)


def unsubscribe_url(public_url: str | None, token: str) -> str:
    base = (public_url or DEFAULT_PUBLIC_URL).rstrip("/")
    return f"{base}{UNSUBSCRIBE_PATH}?token={quote(token, safe='')}"


def _change_cells(ev: Mapping[str, Any]) -> tuple[str, str]:
    """(old -> new, percent) for the digest table."""
    t = ev["event_type"]
    cur = ev.get("currency") or ""
    unit = "/GPU-h" if ev.get("price_unit") == "gpu_hour" else "/h"
    if t in ("price_changed", "spot_price_changed", "index_changed"):
        change = f"{ev.get('old_value')} -> {ev.get('new_value')} {cur}{unit}"
    elif t == "offer_added":
        change = f"new: {fmt_price(ev.get('new_price'))} {cur}{unit}"
    elif t == "offer_removed":
        change = f"withdrawn (was {fmt_price(ev.get('old_price'))} {cur}{unit})"
    elif t == "offer_gpu_changed":
        change = f"GPU {ev.get('old_value')} -> {ev.get('new_value')}"
    elif t == "gpu_model_added":
        change = f"{ev.get('gpu_model')} added ({ev.get('offer_count')} offers)"
    elif t == "gpu_model_removed":
        change = f"{ev.get('gpu_model')} removed"
    else:
        change = t
    pct = ev.get("change_pct")
    pct_s = f"{float(pct):+.1f}%" if pct is not None else ""
    return change, pct_s


def _subject_cells(
    ev: Mapping[str, Any], pages: Mapping[str, str], public_url: str | None
) -> tuple[str, str, str, str | None]:
    """(who, what, link label, link) of one digest row. A price index move names the
    index, the day, its provider count and methodology version, and links to the site's
    index page; an offer event its provider's offer and pricing page."""
    if ev.get("event_type") == "index_changed":
        day = ev.get("index_date")
        n = ev.get("provider_count")
        what = " ".join(
            str(x) for x in (ev.get("index_id"), ev.get("pricing_model"), day and str(day)) if x
        )
        if n is not None:
            what += f", {int(n)} provider{'s' if int(n) != 1 else ''}"
        what += f", methodology {ev.get('methodology_version')}"
        href = text.index_page_url(public_url or DEFAULT_PUBLIC_URL, ev.get("index_id"))
        return "price index", what, "index", text.safe_href(href)
    offer = " ".join(
        str(x) for x in (ev.get("instance_type"), ev.get("region"), ev.get("pricing_model")) if x
    )
    href = text.safe_href(pages.get(str(ev.get("provider"))))
    return str(ev.get("provider")), offer, "prices", href


def build_digest(
    sub: Subscriber,
    events: Sequence[Mapping[str, Any]],
    *,
    from_addr: str,
    public_url: str | None,
    now: datetime | None = None,
    pricing_pages: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The digest mail for one subscriber: plain text + HTML, RFC 8058 unsubscribe headers.

    Each event links to its provider's pricing page (`pricing_pages`, default: the
    registry's `pricing_page_url`s)."""
    now = now or datetime.now(UTC)
    pages = text.pricing_pages() if pricing_pages is None else pricing_pages
    events = sorted(
        (text.for_people(e) for e in events),
        key=lambda e: (
            text.subject_label(e),
            str(e.get("event_type")),
            str(e.get("gpu_model")),
            str(e.get("offer_key")),
        ),
    )
    shown, hidden = events[:DIGEST_MAX_ROWS], max(0, len(events) - DIGEST_MAX_ROWS)
    unsub = unsubscribe_url(public_url, sub.token)
    providers = sorted({text.subject_label(e) for e in events})

    msg = EmailMessage(policy=MAIL_POLICY)
    n = len(events)
    subject = f"GPU price alerts: {n} change{'s' if n != 1 else ''} ({', '.join(providers)})"
    msg["Subject"] = text.one_line(subject)[:200]
    msg["From"] = text.one_line(from_addr)
    msg["To"] = text.one_line(sub.email)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=from_addr.rsplit("@", 1)[-1])
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Unsubscribe"] = f"<{text.one_line(unsub)}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    lines = [f"{n} GPU price change(s) matching your subscription ({sub.filters_text()}).", ""]
    for ev in shown:
        change, pct = _change_cells(ev)
        who, what, label, href = _subject_cells(ev, pages, public_url)
        where = f"{who} {what}".strip()
        lines.append(f"- {where} [{ev.get('gpu_model') or '?'}]: {change} {pct}".rstrip())
        if href:
            lines.append(f"  {label}: {href}")
    if hidden:
        lines.append(f"... and {hidden} more.")
    lines += ["", f"Unsubscribe: {unsub}"]
    msg.set_content("\n".join(lines) + "\n")

    e = html.escape
    rows = []
    for ev in shown:
        change, pct = _change_cells(ev)
        who, what, label, href = _subject_cells(ev, pages, public_url)
        link = f'<a href="{e(href, quote=True)}">{label}</a>' if href else ""
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{e(str(c))}</td>" for c in (who, what, ev.get("gpu_model") or "", change, pct)
            )
            + f"<td>{link}</td></tr>"
        )
    more = f"<p>... and {hidden} more.</p>" if hidden else ""
    body = (
        "<!doctype html><html><body>"
        f"<p>{n} GPU price change(s) matching your subscription ({e(sub.filters_text())}).</p>"
        '<table border="1" cellpadding="4" cellspacing="0">'
        "<tr><th>Provider</th><th>Offer</th><th>GPU</th><th>Change</th><th>%</th><th>Link</th></tr>"
        + "".join(rows)
        + f"</table>{more}"
        f'<p><a href="{e(unsub, quote=True)}">Unsubscribe</a></p></body></html>'
    )
    msg.add_alternative(body, subtype="html")
    return msg
