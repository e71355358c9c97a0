"""Alert subscriptions and the outbox they fill (SQLAlchemy Core).

Input: change events (pipelines/derive/changes.py EVENT_SCHEMA). Output: rows in the outbox,
one per (subscriber, matching event), that pipelines/notify/delivery.py sends as digests.

Storage: SQLite at `<state_dir>/alerts.sqlite` by default; the `alerts.db_url` setting
(`GPU_PRICES_ALERTS_DB`, e.g. `postgresql+psycopg://...`) overrides it. Tables:
- `alert_subscribers`: e-mail (validated, normalized), filters (providers, GPU models,
  pricing models, price indexes, a minimum change), unsubscribe token
  (`secrets.token_hex`, 256 bits; never logged or listed). Hex, not base64url: a
  token_urlsafe value starts with '-' about once in 64 draws, and the CLI then read
  `scrape alerts unsubscribe-token TOKEN` as an unknown option.
- `alert_events`: the event payloads queued mail is rendered from.
- `alert_outbox`: one row per (subscriber, event), status queued -> sending -> sent (or
  failed, with the reason in `last_error`).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from pipelines.derive.changes import event_to_json
from pipelines.errors import AlertsError, did_you_mean

log = logging.getLogger("pipelines.notify.alerts")

DB_FILE = "alerts.sqlite"
TOKEN_BYTES = 32


def new_token() -> str:
    """An unsubscribe token: URL- and command-line-safe (never starts with '-')."""
    return secrets.token_hex(TOKEN_BYTES)


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
    sa.Column("indexes_json", sa.Text),  # price index ids (index_changed events)
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


def _now() -> datetime:
    return datetime.now(UTC)


def database_url(state_dir: Path | None, url: str | None = None) -> str:
    """`url` (the `--db` option or the `alerts.db_url` setting), else SQLite in `state_dir`."""
    if url:
        return url
    if state_dir is None:
        raise AlertsError("no alerts database: give a state dir or set GPU_PRICES_ALERTS_DB")
    return f"sqlite:///{Path(state_dir).resolve() / DB_FILE}"


def make_engine(url: str) -> sa.Engine:
    """An engine on `url` with the tables created (and a SQLite file's directory)."""
    parsed = sa.engine.make_url(url)
    db_file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if db_file and db_file != ":memory:":
        Path(db_file).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True)
    metadata.create_all(engine)
    _add_missing_columns(engine)
    if db_file and db_file != ":memory:" and Path(db_file).exists():
        # Addresses and unsubscribe tokens: readable by the operator only.
        os.chmod(db_file, 0o600)
    return engine


def _add_missing_columns(engine: sa.Engine) -> None:
    """Columns added to a table after a database was created (`indexes_json`): created
    empty (null: no filter), so an existing database keeps working and keeps its rows."""
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have and col.nullable and not col.primary_key:
                kind = col.type.compile(dialect=engine.dialect)
                with engine.begin() as conn:
                    conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {kind}"))


def normalize_email(address: str, *, smtputf8: bool = False) -> str:
    """The normalized address, or AlertsError. Unless the SMTP server is known to offer
    SMTPUTF8 (`smtp.smtputf8` setting), an address with a non-ASCII local part is refused
    here: no server without SMTPUTF8 can take it, and its mail would never leave the queue.
    A non-ASCII domain is fine either way: it is stored in its ASCII (IDNA) form."""
    try:
        v = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=smtputf8)
    except EmailNotValidError as exc:
        local = address.strip().rpartition("@")[0]
        if not smtputf8 and not local.isascii():
            raise AlertsError(
                f"e-mail address {address!r} has non-ASCII characters before the @: only "
                "SMTP servers offering SMTPUTF8 accept it; set smtp.smtputf8 = true "
                "(GPU_PRICES_SMTP_SMTPUTF8) if yours does"
            ) from None
        raise AlertsError(f"invalid e-mail address {address!r}: {exc}") from None
    return v.normalized if smtputf8 or not v.ascii_email else v.ascii_email


def check_filters(
    providers: Sequence[str],
    gpus: Sequence[str],
    *,
    known_providers: Collection[str],
    known_gpus: Collection[str],
) -> tuple[list[str], list[str]]:
    """Subscription filters checked against the provider registry and the known GPU models
    (a typo would otherwise match nothing, silently, forever). GPU names come back in their
    canonical spelling."""
    for p in providers:
        if p not in known_providers:
            raise AlertsError(
                f"unknown provider {p!r}"
                + (
                    did_you_mean(p, known_providers)
                    or f"; known: {', '.join(sorted(known_providers))}"
                )
            )
    canonical = {g.casefold(): g for g in known_gpus}
    out = []
    for g in gpus:
        if g.strip().casefold() not in canonical:
            raise AlertsError(
                f"unknown GPU model {g!r}"
                + (did_you_mean(g, known_gpus) or " (see `scrape gpus` for the known models)")
            )
        out.append(canonical[g.strip().casefold()])
    return list(providers), out


def check_indexes(indexes: Sequence[str], *, known_indexes: Collection[str]) -> list[str]:
    """Price index ids checked against the methodology's (case-insensitive), in their
    canonical spelling: `h100-sxm` -> `H100-SXM`."""
    canonical = {i.casefold(): i for i in known_indexes}
    out = []
    for i in indexes:
        if i.strip().casefold() not in canonical:
            raise AlertsError(
                f"unknown price index {i!r}"
                + (did_you_mean(i, known_indexes) or f"; known: {', '.join(sorted(known_indexes))}")
            )
        out.append(canonical[i.strip().casefold()])
    return out


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
    indexes: list[str] = field(default_factory=list)

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
            indexes=json.loads(m["indexes_json"] or "[]"),
        )

    def filters_text(self) -> str:
        parts = []
        if self.providers:
            parts.append("provider=" + ",".join(self.providers))
        if self.gpus:
            parts.append("gpu=" + ",".join(self.gpus))
        if self.pricing_models:
            parts.append("pricing=" + ",".join(self.pricing_models))
        if self.indexes:
            parts.append("index=" + ",".join(self.indexes))
        if self.min_change_pct is not None:
            parts.append(f"min-change={self.min_change_pct:g}%")
        return " ".join(parts) or "all events"

    def matches(self, ev: Mapping[str, Any]) -> bool:
        """Filters: provider, GPU model (either side of a GPU change), pricing model, price
        index, and a minimum |change_pct| that applies to events with a percentage only (an
        added or removed offer always passes it). Each filter set must match: an index move
        has no provider (a provider filter excludes it), a price change no index id (an
        index filter excludes it); a GPU filter matches the index's GPU model."""
        if self.providers and ev.get("provider") not in self.providers:
            return False
        if self.indexes and ev.get("index_id") not in self.indexes:
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
    indexes: Sequence[str] = (),
    min_change_pct: float | None = None,
    smtputf8: bool = False,
) -> Subscriber:
    """Add a subscriber, or replace the filters of an existing one (its token is kept)."""
    address = normalize_email(email, smtputf8=smtputf8)
    values = {
        "providers_json": _json_list(providers),
        "gpus_json": _json_list(gpus),
        "pricing_models_json": _json_list(pricing_models),
        "indexes_json": _json_list(indexes),
        "min_change_pct": min_change_pct,
    }
    with engine.begin() as conn:
        row = conn.execute(sa.select(subscribers).where(subscribers.c.email == address)).first()
        if row is None:
            conn.execute(
                subscribers.insert().values(
                    email=address,
                    token=new_token(),
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
    address = normalize_email(email, smtputf8=True)
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
        wanted_by = {sub.id: [p["event_id"] for p in payloads if sub.matches(p)] for sub in subs}
        # Only payloads some subscriber's mail needs are kept: storing every event here
        # (about 1 KB of JSON each, against ~50 bytes in gpu_price_changes.parquet) made
        # this database the largest per-run growth of a deployment without subscribers
        # (benchmarks/README.md, "Growth").
        needed = {eid for ids in wanted_by.values() for eid in ids}
        ids = [p["event_id"] for p in payloads if p["event_id"] in needed]
        known = set(
            conn.execute(
                sa.select(alert_events.c.event_id).where(alert_events.c.event_id.in_(ids))
            ).scalars()
        )
        fresh = [p for p in payloads if p["event_id"] in needed and p["event_id"] not in known]
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
            wanted = wanted_by[sub.id]
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
