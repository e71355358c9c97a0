"""E-mail alerts: the public interface of `pipelines.notify` for runs and the CLI.

Change events -> subscriptions and an outbox (`subscriptions`) -> one digest mail per
subscriber (`digest`) sent over SMTP at most once (`delivery`) -> unsubscribe links served
by `unsubscribe`. This module only gathers their names, so callers write
`alerts.subscribe(...)`, `alerts.deliver_pending(config)`.
"""

from __future__ import annotations

from pipelines.errors import AlertsError
from pipelines.notify.delivery import (
    DeliveryReport,
    SmtpSettings,
    _claim,
    deliver,
    deliver_pending,
    requeue_stuck,
)
from pipelines.notify.digest import (
    DEFAULT_PUBLIC_URL,
    DIGEST_MAX_ROWS,
    UNSUBSCRIBE_PATH,
    build_digest,
    unsubscribe_url,
)
from pipelines.notify.subscriptions import (
    DB_FILE,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    Subscriber,
    check_filters,
    check_indexes,
    database_url,
    enqueue,
    list_subscribers,
    make_engine,
    normalize_email,
    outbox_counts,
    subscribe,
    unsubscribe,
    unsubscribe_token,
)
from pipelines.notify.unsubscribe import make_unsubscribe_app, make_unsubscribe_server

__all__ = [
    "DB_FILE",
    "DEFAULT_PUBLIC_URL",
    "DIGEST_MAX_ROWS",
    "FAILED",
    "QUEUED",
    "SENDING",
    "SENT",
    "UNSUBSCRIBE_PATH",
    "AlertsError",
    "DeliveryReport",
    "SmtpSettings",
    "Subscriber",
    "_claim",
    "build_digest",
    "check_filters",
    "check_indexes",
    "database_url",
    "deliver",
    "deliver_pending",
    "enqueue",
    "list_subscribers",
    "make_engine",
    "make_unsubscribe_app",
    "make_unsubscribe_server",
    "normalize_email",
    "outbox_counts",
    "requeue_stuck",
    "subscribe",
    "unsubscribe",
    "unsubscribe_token",
    "unsubscribe_url",
]
