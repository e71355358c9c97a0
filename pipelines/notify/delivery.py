"""Mail delivery: the outbox's queued rows go out as one digest per subscriber over SMTP.

Delivery guarantee: at most once per (subscriber, event). For each digest the rows are
first claimed (`sending`, committed), then the mail is sent, then marked `sent`. A
refusal the server states (4xx: back to `queued`; 5xx: `failed`) is certain, and so is a
refusal we can tell before sending (a non-ASCII address the server cannot take: `failed`,
with the reason); a connection lost while the message is being transferred, or a process
killed between claim and mark, leaves the rows `sending`: the mail may or may not have
left, and we choose never to send it twice rather than to risk a duplicate. `scrape alerts
send` reports them as unconfirmed; `--requeue-stuck-minutes N` turns them back into
`queued` for operators who prefer at-least-once. An SMTP server that cannot be reached is
detected before anything is claimed: the rows stay queued and go out with the next
delivery (a run, or `scrape alerts send`).

SMTP settings: the `[smtp]` table of gpu-prices.toml or GPU_PRICES_SMTP_HOST, _PORT,
_STARTTLS, _TLS (implicit TLS), _USER, _PASSWORD, _FROM (pipelines/config.py).
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pipelines.errors import AlertsError
from pipelines.notify import text
from pipelines.notify.digest import build_digest
from pipelines.notify.subscriptions import (
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    Subscriber,
    alert_events,
    database_url,
    make_engine,
    normalize_email,
    outbox,
    outbox_counts,
    subscribers,
)

if TYPE_CHECKING:
    from pipelines.config import SmtpSection

log = logging.getLogger("pipelines.notify.alerts")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    from_addr: str
    starttls: bool = False
    tls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0

    smtputf8: bool = False  # the operator says the server takes non-ASCII addresses

    @classmethod
    def from_config(cls, section: SmtpSection) -> SmtpSettings | None:
        """None when no host is set (mail delivery not configured)."""
        if not section.host:
            return None
        from_addr = section.from_addr or section.user
        if not from_addr:
            raise AlertsError("smtp.from (GPU_PRICES_SMTP_FROM) is not set")
        default_port = 465 if section.tls else 587 if section.starttls else 25
        return cls(
            host=section.host,
            port=section.port or default_port,
            from_addr=normalize_email(from_addr, smtputf8=section.smtputf8),
            starttls=section.starttls,
            tls=section.tls,
            user=section.user or None,
            password=section.password or None,
            timeout_s=section.timeout_s,
            smtputf8=section.smtputf8,
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


@dataclass
class DeliveryReport:
    messages_sent: int = 0
    events_sent: int = 0
    still_queued: int = 0  # rows waiting for the next delivery
    failed: int = 0  # rows refused in this delivery (reason in the outbox's last_error)
    unconfirmed: int = 0  # rows `sending`: outcome unknown, never resent unless requeued
    error: str | None = None  # why delivery stopped early (secrets never included)

    def count_left(self, engine: sa.Engine) -> None:
        counts = outbox_counts(engine)
        self.still_queued = counts.get(QUEUED, 0)
        self.unconfirmed = counts.get(SENDING, 0)


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
        report.count_left(engine)
        log.warning("alerts: %s", report.error)
        return report
    try:
        conn = smtp.connect()
    except (OSError, smtplib.SMTPException) as exc:
        report.error = (
            f"SMTP {smtp.host}:{smtp.port} unreachable or refused us ({type(exc).__name__}); "
            "mail stays queued"
        )
        report.count_left(engine)
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
            # Refusals certain before anything is transferred: the address needs SMTPUTF8
            # and the server does not offer it, or the message cannot be encoded. Retrying
            # cannot help, so the rows fail with the reason instead of staying `sending`.
            reason = _unsendable(conn, sub.email, msg)
            if reason:
                _mark(engine, sub.id, ids, FAILED, when, reason)
                report.failed += len(ids)
                log.warning("alerts: %s: %s", sub.email, reason)
                continue
            try:
                refused = conn.send_message(msg, from_addr=smtp.from_addr, to_addrs=[sub.email])
            except smtplib.SMTPNotSupportedError as exc:
                _mark(engine, sub.id, ids, FAILED, when, text.one_line(exc))
                report.failed += len(ids)
                continue
            except smtplib.SMTPResponseException as exc:
                status = FAILED if exc.smtp_code >= 500 else QUEUED
                _mark(
                    engine,
                    sub.id,
                    ids,
                    status,
                    when,
                    f"{exc.smtp_code} {text.one_line(exc.smtp_error)}",
                )
                report.failed += len(ids) if status == FAILED else 0
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                _mark(engine, sub.id, ids, FAILED, when, text.one_line(exc.recipients))
                report.failed += len(ids)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                # Lost mid-transfer: the outcome is unknown; rows stay `sending` (at most once).
                report.error = f"SMTP failed while sending ({type(exc).__name__}); {len(ids)} events left unconfirmed"
                log.error("alerts: %s", report.error)
                break
            if refused:
                _mark(engine, sub.id, ids, FAILED, when, text.one_line(refused))
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
    report.count_left(engine)
    log.info(
        "alerts: %d digests (%d events) sent, %d still queued, %d unconfirmed",
        report.messages_sent,
        report.events_sent,
        report.still_queued,
        report.unconfirmed,
    )
    return report


def deliver_pending(
    config: Any = None,
    *,
    state_dir: Path | None = None,
    db_url: str | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send what is queued, with the database, SMTP settings and public URL taken from
    `config` (pipelines.config.Config). What a run calls after `process_run`, and
    `scrape alerts send`."""
    if config is None:
        from pipelines.config import Config

        config = Config.load()
    state_dir = state_dir or config.state_dir
    engine = make_engine(database_url(state_dir, db_url or config.alerts.db_url))
    try:
        return deliver(
            engine, SmtpSettings.from_config(config.smtp), public_url=config.public_url, now=now
        )
    finally:
        engine.dispose()


def _unsendable(conn: smtplib.SMTP, address: str, msg: EmailMessage) -> str | None:
    if not address.isascii():
        conn.ehlo_or_helo_if_needed()
        if not conn.has_extn("smtputf8"):
            return "the SMTP server does not offer SMTPUTF8, needed for this non-ASCII address"
    try:
        msg.as_bytes()
    except (UnicodeError, ValueError) as exc:
        return f"message cannot be encoded: {text.one_line(exc)}"
    return None
