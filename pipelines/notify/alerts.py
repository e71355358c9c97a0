"""E-mail alerts: subscriptions, an outbox, and SMTP digests of change events.

Input: change events (pipelines/derive/changes.py EVENT_SCHEMA). Output: one digest mail per
subscriber per delivery with the queued events that match its filters.

Storage (SQLAlchemy Core): SQLite at `<state_dir>/alerts.sqlite` by default; the URL in
`GPU_PRICES_ALERTS_DB` (e.g. `postgresql+psycopg://...`) overrides it. Tables:
- `alert_subscribers`: e-mail (validated, normalized), filters, unsubscribe token
  (`secrets.token_urlsafe`, 256 bits; never logged or listed).
- `alert_events`: the event payloads queued mail is rendered from.
- `alert_outbox`: one row per (subscriber, event), status queued -> sending -> sent (or
  failed on a permanent SMTP refusal).

Delivery guarantee: at most once per (subscriber, event). For each digest the rows are
first claimed (`sending`, committed), then the mail is sent, then marked `sent`. A
refusal the server states (4xx: back to `queued`; 5xx: `failed`) is certain; a connection
lost while the message is being transferred, or a process killed between claim and mark,
leaves the rows `sending`: the mail may or may not have left, and we choose never to send
it twice rather than to risk a duplicate. `scrape alerts send --requeue-stuck-minutes N`
turns such rows back into `queued` for operators who prefer at-least-once. An SMTP server
that cannot be reached is detected before anything is claimed: the rows stay queued and go
out with the next delivery.

SMTP settings come from the environment: GPU_PRICES_SMTP_HOST, GPU_PRICES_SMTP_PORT,
GPU_PRICES_SMTP_STARTTLS, GPU_PRICES_SMTP_TLS (implicit TLS), GPU_PRICES_SMTP_USER,
GPU_PRICES_SMTP_PASSWORD, GPU_PRICES_SMTP_FROM. Unsubscribe links point to
`GPU_PRICES_PUBLIC_URL` + /alerts/unsubscribe?token=... (served by `scrape alerts serve`
or any front end calling `unsubscribe_token`); mails carry `List-Unsubscribe` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).

Provider-supplied strings are HTML-escaped in the HTML part, and every header value built
from data has CR/LF removed (and goes through email.policy.SMTP, which refuses them too).
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import secrets
import smtplib
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pandas as pd
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from pipelines.derive.changes import event_to_json, fmt_price

log = logging.getLogger("pipelines.notify.alerts")

DB_FILE = "alerts.sqlite"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8025"
UNSUBSCRIBE_PATH = "/alerts/unsubscribe"
TOKEN_BYTES = 32
DEFAULT_SMTP_TIMEOUT_S = 30.0
# A digest lists at most this many events in full; the rest are counted.
DIGEST_MAX_ROWS = 200

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"

metadata = sa.MetaData()
subscribers = sa.Table(
    "alert_subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("providers_json", sa.Text),  # JSON list; null = every provider
    sa.Column("gpus_json", sa.Text),
    sa.Column("pricing_models_json", sa.Text),
    sa.Column("min_change_pct", sa.Float),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("payload_json", sa.Text, nullable=False),
    sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
)
outbox = sa.Table(
    "alert_outbox",
    metadata,
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("alert_subscribers.id"), primary_key=True),
    sa.Column("event_id", sa.String(64), sa.ForeignKey("alert_events.event_id"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_alert_outbox_status", "status", "subscriber_id"),
)


class AlertsError(ValueError):
    """A user error in an alerts command (bad address, unknown subscriber)."""


def _now() -> datetime:
    return datetime.now(UTC)


def database_url(
    state_dir: Path | None, url: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    env = os.environ if env is None else env
    if url:
        return url
    if env.get("GPU_PRICES_ALERTS_DB"):
        return env["GPU_PRICES_ALERTS_DB"]
    if state_dir is None:
        raise AlertsError("no alerts database: give a state dir or set GPU_PRICES_ALERTS_DB")
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(state_dir).resolve() / DB_FILE}"


def make_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, future=True)
    metadata.create_all(engine)
    db_file = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if db_file and db_file != ":memory:" and Path(db_file).exists():
        # Addresses and unsubscribe tokens: readable by the operator only.
        os.chmod(db_file, 0o600)
    return engine


def _one_line(value: Any) -> str:
    """A header-safe rendering of a data value: no CR, LF or other control characters."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value)).strip()


def normalize_email(address: str) -> str:
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise AlertsError(f"invalid e-mail address {address!r}: {exc}") from None


def _json_list(values: Sequence[str] | None) -> str | None:
    cleaned = sorted({v.strip() for v in values or () if v and v.strip()})
    return json.dumps(cleaned) if cleaned else None


@dataclass
class Subscriber:
    id: int
    email: str
    token: str = field(repr=False)
    providers: list[str]
    gpus: list[str]
    pricing_models: list[str]
    min_change_pct: float | None

    @classmethod
    def from_row(cls, row: Any) -> Subscriber:
        m = row._mapping
        return cls(
            id=m["id"],
            email=m["email"],
            token=m["token"],
            providers=json.loads(m["providers_json"] or "[]"),
            gpus=json.loads(m["gpus_json"] or "[]"),
            pricing_models=json.loads(m["pricing_models_json"] or "[]"),
            min_change_pct=m["min_change_pct"],
        )

    def filters_text(self) -> str:
        parts = []
        if self.providers:
            parts.append("provider=" + ",".join(self.providers))
        if self.gpus:
            parts.append("gpu=" + ",".join(self.gpus))
        if self.pricing_models:
            parts.append("pricing=" + ",".join(self.pricing_models))
        if self.min_change_pct is not None:
            parts.append(f"min-change={self.min_change_pct:g}%")
        return " ".join(parts) or "all events"

    def matches(self, ev: Mapping[str, Any]) -> bool:
        """Filters: provider, GPU model (either side of a GPU change), pricing model, and a
        minimum |change_pct| that applies to events with a percentage only (an added or
        removed offer always passes it)."""
        if self.providers and ev.get("provider") not in self.providers:
            return False
        if self.pricing_models and ev.get("pricing_model") not in self.pricing_models:
            return False
        if self.gpus:
            wanted = {g.casefold() for g in self.gpus}
            models = {
                str(m).casefold() for m in (ev.get("gpu_model"), ev.get("old_gpu_model")) if m
            }
            if not wanted & models:
                return False
        pct = ev.get("change_pct")
        if self.min_change_pct is not None and pct is not None and not pd.isna(pct):
            if abs(float(pct)) < self.min_change_pct:
                return False
        return True


def subscribe(
    engine: sa.Engine,
    email: str,
    *,
    providers: Sequence[str] = (),
    gpus: Sequence[str] = (),
    pricing_models: Sequence[str] = (),
    min_change_pct: float | None = None,
) -> Subscriber:
    """Add a subscriber, or replace the filters of an existing one (its token is kept)."""
    address = normalize_email(email)
    values = {
        "providers_json": _json_list(providers),
        "gpus_json": _json_list(gpus),
        "pricing_models_json": _json_list(pricing_models),
        "min_change_pct": min_change_pct,
    }
    with engine.begin() as conn:
        row = conn.execute(sa.select(subscribers).where(subscribers.c.email == address)).first()
        if row is None:
            conn.execute(
                subscribers.insert().values(
                    email=address,
                    token=secrets.token_urlsafe(TOKEN_BYTES),
                    created_at=_now(),
                    **values,
                )
            )
        else:
            conn.execute(subscribers.update().where(subscribers.c.id == row.id).values(**values))
        row = conn.execute(sa.select(subscribers).where(subscribers.c.email == address)).one()
    return Subscriber.from_row(row)


def _delete_subscriber(conn: sa.Connection, sub_id: int) -> None:
    conn.execute(outbox.delete().where(outbox.c.subscriber_id == sub_id))
    conn.execute(subscribers.delete().where(subscribers.c.id == sub_id))


def unsubscribe(engine: sa.Engine, email: str) -> bool:
    """Remove a subscriber and its queued mail; False when it was not subscribed."""
    address = normalize_email(email)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(subscribers.c.id).where(subscribers.c.email == address)
        ).first()
        if row is None:
            return False
        _delete_subscriber(conn, row.id)
    return True


def unsubscribe_token(engine: sa.Engine, token: str) -> str | None:
    """Remove the subscriber holding `token`; return its address (None if unknown)."""
    if not token:
        return None
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(subscribers.c.id, subscribers.c.email).where(subscribers.c.token == token)
        ).first()
        if row is None:
            return None
        _delete_subscriber(conn, row.id)
    return row.email


def list_subscribers(engine: sa.Engine) -> list[Subscriber]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(subscribers).order_by(subscribers.c.email)).all()
    return [Subscriber.from_row(r) for r in rows]


def outbox_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
        ).all()
    return {status: int(n) for status, n in rows}


def enqueue(engine: sa.Engine, events: pd.DataFrame) -> int:
    """Queue each event for every subscriber whose filters match; return rows queued.

    Idempotent: an event or (subscriber, event) pair already present is left as it is, so
    a repeated run never queues a mail twice.
    """
    if len(events) == 0:
        return 0
    payloads = [event_to_json(r) for r in events.to_dict("records")]
    now = _now()
    queued = 0
    with engine.begin() as conn:
        subs = [Subscriber.from_row(r) for r in conn.execute(sa.select(subscribers)).all()]
        ids = [p["event_id"] for p in payloads]
        known = set(
            conn.execute(
                sa.select(alert_events.c.event_id).where(alert_events.c.event_id.in_(ids))
            ).scalars()
        )
        fresh = [p for p in payloads if p["event_id"] not in known]
        if fresh:
            conn.execute(
                alert_events.insert(),
                [
                    {
                        "event_id": p["event_id"],
                        "payload_json": json.dumps(p, sort_keys=True),
                        "detected_at": datetime.fromisoformat(p["detected_at"]),
                    }
                    for p in fresh
                ],
            )
        for sub in subs:
            wanted = [p["event_id"] for p in payloads if sub.matches(p)]
            if not wanted:
                continue
            have = set(
                conn.execute(
                    sa.select(outbox.c.event_id).where(
                        outbox.c.subscriber_id == sub.id, outbox.c.event_id.in_(wanted)
                    )
                ).scalars()
            )
            rows = [
                {
                    "subscriber_id": sub.id,
                    "event_id": eid,
                    "status": QUEUED,
                    "queued_at": now,
                    "attempts": 0,
                }
                for eid in dict.fromkeys(wanted)
                if eid not in have
            ]
            if rows:
                conn.execute(outbox.insert(), rows)
                queued += len(rows)
    log.info("alerts: %d (subscriber, event) pairs queued", queued)
    return queued


# --- SMTP ---------------------------------------------------------------------------


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    from_addr: str
    starttls: bool = False
    tls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = DEFAULT_SMTP_TIMEOUT_S

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """None when GPU_PRICES_SMTP_HOST is unset (mail delivery not configured)."""
        env = os.environ if env is None else env
        host = env.get("GPU_PRICES_SMTP_HOST")
        if not host:
            return None
        tls = _truthy(env.get("GPU_PRICES_SMTP_TLS"))
        starttls = _truthy(env.get("GPU_PRICES_SMTP_STARTTLS"))
        default_port = 465 if tls else 587 if starttls else 25
        from_addr = env.get("GPU_PRICES_SMTP_FROM") or env.get("GPU_PRICES_SMTP_USER")
        if not from_addr:
            raise AlertsError("GPU_PRICES_SMTP_FROM is not set")
        return cls(
            host=host,
            port=int(env.get("GPU_PRICES_SMTP_PORT") or default_port),
            from_addr=normalize_email(from_addr),
            starttls=starttls,
            tls=tls,
            user=env.get("GPU_PRICES_SMTP_USER") or None,
            password=env.get("GPU_PRICES_SMTP_PASSWORD") or None,
        )

    def connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_s, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            if self.starttls:
                smtp.starttls(context=context)
        if self.user:
            smtp.login(self.user, self.password or "")
        return smtp


def unsubscribe_url(public_url: str | None, token: str) -> str:
    base = (public_url or DEFAULT_PUBLIC_URL).rstrip("/")
    return f"{base}{UNSUBSCRIBE_PATH}?token={quote(token, safe='')}"


def _safe_href(url: Any) -> str | None:
    if not url or not isinstance(url, str):
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def _change_cells(ev: Mapping[str, Any]) -> tuple[str, str]:
    """(old -> new, percent) for the digest table."""
    t = ev["event_type"]
    cur = ev.get("currency") or ""
    unit = "/GPU-h" if ev.get("price_unit") == "gpu_hour" else "/h"
    if t in ("price_changed", "spot_price_changed"):
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
    pct_s = f"{float(pct):+.1f}%" if pct is not None and not pd.isna(pct) else ""
    return change, pct_s


def build_digest(
    sub: Subscriber,
    events: Sequence[Mapping[str, Any]],
    *,
    from_addr: str,
    public_url: str | None,
    now: datetime | None = None,
) -> EmailMessage:
    """The digest mail for one subscriber: plain text + HTML, RFC 8058 unsubscribe headers."""
    now = now or _now()
    events = sorted(
        events,
        key=lambda e: (
            str(e.get("provider")),
            str(e.get("event_type")),
            str(e.get("gpu_model")),
            str(e.get("offer_key")),
        ),
    )
    shown, hidden = events[:DIGEST_MAX_ROWS], max(0, len(events) - DIGEST_MAX_ROWS)
    unsub = unsubscribe_url(public_url, sub.token)
    providers = sorted({_one_line(e.get("provider")) for e in events})

    msg = EmailMessage(policy=SMTP_POLICY)
    n = len(events)
    subject = f"GPU price alerts: {n} change{'s' if n != 1 else ''} ({', '.join(providers)})"
    msg["Subject"] = _one_line(subject)[:200]
    msg["From"] = _one_line(from_addr)
    msg["To"] = _one_line(sub.email)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=from_addr.rsplit("@", 1)[-1])
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Unsubscribe"] = f"<{_one_line(unsub)}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    lines = [f"{n} GPU price change(s) matching your subscription ({sub.filters_text()}).", ""]
    for ev in shown:
        change, pct = _change_cells(ev)
        where = " ".join(
            str(x)
            for x in (
                ev.get("provider"),
                ev.get("instance_type"),
                ev.get("region"),
                ev.get("pricing_model"),
            )
            if x
        )
        lines.append(f"- {where} [{ev.get('gpu_model') or '?'}]: {change} {pct}".rstrip())
        if ev.get("source_url"):
            lines.append(f"  source: {ev['source_url']}")
    if hidden:
        lines.append(f"... and {hidden} more.")
    lines += ["", f"Unsubscribe: {unsub}"]
    msg.set_content("\n".join(lines) + "\n")

    e = html.escape
    rows = []
    for ev in shown:
        change, pct = _change_cells(ev)
        href = _safe_href(ev.get("source_url"))
        link = f'<a href="{e(href, quote=True)}">source</a>' if href else ""
        offer = " ".join(
            str(x)
            for x in (ev.get("instance_type"), ev.get("region"), ev.get("pricing_model"))
            if x
        )
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{e(str(c))}</td>"
                for c in (ev.get("provider"), offer, ev.get("gpu_model") or "", change, pct)
            )
            + f"<td>{link}</td></tr>"
        )
    more = f"<p>... and {hidden} more.</p>" if hidden else ""
    body = (
        "<!doctype html><html><body>"
        f"<p>{n} GPU price change(s) matching your subscription ({e(sub.filters_text())}).</p>"
        '<table border="1" cellpadding="4" cellspacing="0">'
        "<tr><th>Provider</th><th>Offer</th><th>GPU</th><th>Change</th><th>%</th><th>Source</th></tr>"
        + "".join(rows)
        + f"</table>{more}"
        f'<p><a href="{e(unsub, quote=True)}">Unsubscribe</a></p></body></html>'
    )
    msg.add_alternative(body, subtype="html")
    return msg


@dataclass
class DeliveryReport:
    messages_sent: int = 0
    events_sent: int = 0
    still_queued: int = 0
    failed: int = 0
    error: str | None = None  # why delivery stopped early (secrets never included)


def requeue_stuck(engine: sa.Engine, older_than: timedelta, now: datetime | None = None) -> int:
    """Turn `sending` rows claimed longer ago than `older_than` back into `queued`
    (at-least-once recovery: those mails may be sent twice)."""
    cutoff = (now or _now()) - older_than
    with engine.begin() as conn:
        res = conn.execute(
            outbox.update()
            .where(outbox.c.status == SENDING, outbox.c.claimed_at < cutoff)
            .values(status=QUEUED)
        )
    return int(res.rowcount or 0)


def _claim(engine: sa.Engine, sub_id: int, now: datetime) -> list[dict[str, Any]]:
    """Mark this subscriber's queued rows `sending` (committed); return their events."""
    with engine.begin() as conn:
        ids = list(
            conn.execute(
                sa.select(outbox.c.event_id).where(
                    outbox.c.subscriber_id == sub_id, outbox.c.status == QUEUED
                )
            ).scalars()
        )
        if not ids:
            return []
        claimed = []
        for eid in ids:
            # Row by row with the status in the WHERE clause: a concurrent sender that
            # claimed the row first wins and we skip it.
            res = conn.execute(
                outbox.update()
                .where(
                    outbox.c.subscriber_id == sub_id,
                    outbox.c.event_id == eid,
                    outbox.c.status == QUEUED,
                )
                .values(status=SENDING, claimed_at=now, attempts=outbox.c.attempts + 1)
            )
            if res.rowcount == 1:
                claimed.append(eid)
        payloads = conn.execute(
            sa.select(alert_events.c.payload_json).where(alert_events.c.event_id.in_(claimed))
        ).scalars()
        return [json.loads(p) for p in payloads]


def _mark(
    engine: sa.Engine,
    sub_id: int,
    event_ids: Iterable[str],
    status: str,
    now: datetime,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == SENT:
        values["sent_at"] = now
    with engine.begin() as conn:
        conn.execute(
            outbox.update()
            .where(
                outbox.c.subscriber_id == sub_id,
                outbox.c.event_id.in_(list(event_ids)),
                outbox.c.status == SENDING,
            )
            .values(**values)
        )


def _pending_subscribers(engine: sa.Engine) -> list[Subscriber]:
    with engine.connect() as conn:
        ids = set(
            conn.execute(
                sa.select(outbox.c.subscriber_id).where(outbox.c.status == QUEUED).distinct()
            ).scalars()
        )
        rows = (
            conn.execute(
                sa.select(subscribers).where(subscribers.c.id.in_(ids)).order_by(subscribers.c.id)
            ).all()
            if ids
            else []
        )
    return [Subscriber.from_row(r) for r in rows]


def deliver(
    engine: sa.Engine,
    smtp: SmtpSettings | None,
    *,
    public_url: str | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send one digest per subscriber with queued events (at most once per pair).

    The run itself calls `deliver_pending`, which builds `engine` and `smtp` from config.
    """
    report = DeliveryReport()
    subs = _pending_subscribers(engine)
    if not subs:
        return report
    if smtp is None:
        report.error = "SMTP not configured (GPU_PRICES_SMTP_HOST unset); mail stays queued"
        report.still_queued = outbox_counts(engine).get(QUEUED, 0)
        log.warning("alerts: %s", report.error)
        return report
    try:
        conn = smtp.connect()
    except (OSError, smtplib.SMTPException) as exc:
        report.error = (
            f"SMTP {smtp.host}:{smtp.port} unreachable or refused us ({type(exc).__name__}); "
            "mail stays queued"
        )
        report.still_queued = outbox_counts(engine).get(QUEUED, 0)
        log.warning("alerts: %s", report.error)
        return report
    try:
        for sub in subs:
            # Check the connection before claiming, so a dropped idle connection does not
            # strand claimed rows.
            try:
                if conn.noop()[0] != 250:
                    raise smtplib.SMTPServerDisconnected("NOOP refused")
            except (OSError, smtplib.SMTPException):
                try:
                    conn = smtp.connect()
                except (OSError, smtplib.SMTPException) as exc:
                    report.error = f"SMTP connection lost ({type(exc).__name__}); rest stays queued"
                    break
            when = now or _now()
            events = _claim(engine, sub.id, when)
            if not events:
                continue
            ids = [ev["event_id"] for ev in events]
            msg = build_digest(
                sub, events, from_addr=smtp.from_addr, public_url=public_url, now=when
            )
            try:
                refused = conn.send_message(msg, from_addr=smtp.from_addr, to_addrs=[sub.email])
            except smtplib.SMTPResponseException as exc:
                status = FAILED if exc.smtp_code >= 500 else QUEUED
                _mark(
                    engine,
                    sub.id,
                    ids,
                    status,
                    when,
                    f"{exc.smtp_code} {_one_line(exc.smtp_error)}",
                )
                report.failed += len(ids) if status == FAILED else 0
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                _mark(engine, sub.id, ids, FAILED, when, _one_line(exc.recipients))
                report.failed += len(ids)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                # Lost mid-transfer: the outcome is unknown; rows stay `sending` (at most once).
                report.error = f"SMTP failed while sending ({type(exc).__name__}); {len(ids)} events left unconfirmed"
                log.error("alerts: %s", report.error)
                break
            if refused:
                _mark(engine, sub.id, ids, FAILED, when, _one_line(refused))
                report.failed += len(ids)
                continue
            _mark(engine, sub.id, ids, SENT, when)
            report.messages_sent += 1
            report.events_sent += len(ids)
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            pass
    report.still_queued = outbox_counts(engine).get(QUEUED, 0)
    log.info(
        "alerts: %d digests (%d events) sent, %d still queued",
        report.messages_sent,
        report.events_sent,
        report.still_queued,
    )
    return report


def deliver_pending(
    *,
    config: Any = None,
    state_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    db_url: str | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send what is queued, with the database, SMTP settings and public URL taken from
    `config` (pipelines.config.Config: its state_dir and settings) or from `state_dir` and
    `env` (default os.environ). What a run calls after `process_run`, and `scrape alerts send`.
    """
    if config is not None:
        state_dir = state_dir or config.state_dir
        env = env if env is not None else config.settings
    env = os.environ if env is None else env
    engine = make_engine(database_url(state_dir, db_url, env))
    try:
        return deliver(
            engine, SmtpSettings.from_env(env), public_url=env.get("GPU_PRICES_PUBLIC_URL"), now=now
        )
    finally:
        engine.dispose()


# --- unsubscribe endpoint (WSGI, stdlib only) ------------------------------------------

_PAGE = "<!doctype html><html><body><p>{}</p></body></html>"


def make_unsubscribe_app(engine: sa.Engine):
    """A WSGI app for the unsubscribe link.

    GET shows a confirmation button (mail scanners follow links; a GET must not
    unsubscribe); POST unsubscribes, which is also RFC 8058's one-click request
    (body `List-Unsubscribe=One-Click`).
    """
    from urllib.parse import parse_qs

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [""])[0]
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if path != UNSUBSCRIBE_PATH or not token:
            start_response("404 Not Found", headers)
            return [_PAGE.format("Not found.").encode()]
        if method == "POST":
            email = unsubscribe_token(engine, token)
            start_response("200 OK", headers)
            text = (
                f"{html.escape(email)} is unsubscribed."
                if email
                else "This link is no longer subscribed."
            )
            return [_PAGE.format(text).encode()]
        if method in ("GET", "HEAD"):
            start_response("200 OK", headers)
            form = (
                f'<form method="post" action="{html.escape(UNSUBSCRIBE_PATH)}?token='
                f'{html.escape(quote(token, safe=""), quote=True)}">'
                '<button type="submit">Unsubscribe from GPU price alerts</button></form>'
            )
            return [_PAGE.format(form).encode()]
        start_response("405 Method Not Allowed", headers + [("Allow", "GET, POST")])
        return [b""]

    return app


def make_unsubscribe_server(engine: sa.Engine, host: str, port: int):
    """A stdlib WSGI server for `make_unsubscribe_app`; its request log omits the query
    string, so unsubscribe tokens never reach the logs."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class RedactingHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            path = self.path.split("?", 1)[0]
            self.log_message('"%s %s" %s %s', self.command, path, str(code), str(size))

    return make_server(host, port, make_unsubscribe_app(engine), handler_class=RedactingHandler)
