"""CLI: `scrape alerts ...`: change-alert subscriptions, delivery, the unsubscribe endpoint.

    scrape alerts subscribe EMAIL [--provider P] [--gpu G] ...   add or update a subscription
    scrape alerts unsubscribe EMAIL | unsubscribe-token TOKEN   stop one
    scrape alerts list | send | serve                           list, deliver, serve links

The mail logic is pipelines/notify/alerts.py; `scrape diff` is pipelines/cli/diff.py.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import HELP_MARKUP, OneLineErrors
from pipelines.config import Config
from pipelines.errors import AlertsError, did_you_mean
from scrapers.base import PRICING_MODELS

alerts_app = typer.Typer(
    help="Change-alert e-mail subscriptions and delivery.",
    no_args_is_help=True,
    cls=OneLineErrors,
    rich_markup_mode=HELP_MARKUP,
)

StateDir = Annotated[
    Path | None, typer.Option("--state-dir", help="Default: the configured state dir.")
]
DbUrl = Annotated[
    str | None,
    typer.Option(
        "--db", help="SQLAlchemy URL (default: GPU_PRICES_ALERTS_DB or sqlite in the state dir)."
    ),
]


def _engine(config: Config, state_dir: Path | None, db: str | None, *, create: bool = False):
    """The alerts database. Only `subscribe` creates one: run from the wrong directory, the
    other commands would otherwise report an empty new database as if it were the real one."""
    import sqlalchemy as sa

    from pipelines.notify import alerts

    url = alerts.database_url(state_dir or config.state_dir, db or config.alerts.db_url)
    parsed = sa.engine.make_url(url)
    if not create and parsed.get_backend_name() == "sqlite" and parsed.database:
        if parsed.database != ":memory:" and not Path(parsed.database).exists():
            raise AlertsError(
                f"no alerts database at {parsed.database} (project root {config.root}): "
                "nobody has subscribed here; run from the project or set GPU_PRICES_ROOT"
            )
    return alerts.make_engine(url)


@alerts_app.command("subscribe")
def subscribe_cmd(
    email: str,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only these providers (repeatable).")
    ] = None,
    gpu: Annotated[
        list[str] | None,
        typer.Option("--gpu", help="Only these GPU models, e.g. H100 (repeatable)."),
    ] = None,
    pricing: Annotated[
        list[str] | None, typer.Option("--pricing", help="Only these pricing models (repeatable).")
    ] = None,
    index: Annotated[
        list[str] | None,
        typer.Option(
            "--index",
            help="Only the daily moves of these price indexes, e.g. H100-SXM (repeatable; "
            "`scrape index` lists them).",
        ),
    ] = None,
    min_change_pct: Annotated[
        float | None,
        typer.Option(help="Skip price changes and index moves smaller than this (percent)."),
    ] = None,
    state_dir: StateDir = None,
    db: DbUrl = None,
) -> None:
    """Subscribe an address (or update its filters)."""
    from pipelines.derive.index import index_ids
    from pipelines.ingest.gpus import known_models
    from pipelines.notify import alerts
    from scrapers.registry import PROVIDERS

    for p in pricing or []:
        if p not in PRICING_MODELS:
            raise AlertsError(
                f"unknown pricing model {p!r}"
                + (did_you_mean(p, PRICING_MODELS) or f"; one of {', '.join(PRICING_MODELS)}")
            )
    providers, gpus = alerts.check_filters(
        provider or [], gpu or [], known_providers=PROVIDERS, known_gpus=known_models()
    )
    indexes = alerts.check_indexes(index or [], known_indexes=index_ids())
    config = Config.load()
    engine = _engine(config, state_dir, db, create=True)
    try:
        sub = alerts.subscribe(
            engine,
            email,
            providers=providers,
            gpus=gpus,
            pricing_models=pricing or [],
            indexes=indexes,
            min_change_pct=min_change_pct,
            smtputf8=config.smtp.smtputf8,
        )
    finally:
        engine.dispose()
    typer.echo(f"subscribed {sub.email} ({sub.filters_text()})")


@alerts_app.command("unsubscribe")
def unsubscribe_cmd(email: str, state_dir: StateDir = None, db: DbUrl = None) -> None:
    """Remove an address and its queued mail."""
    from pipelines.notify import alerts

    engine = _engine(Config.load(), state_dir, db)
    try:
        removed = alerts.unsubscribe(engine, email)
    finally:
        engine.dispose()
    if not removed:
        typer.echo(f"{email} was not subscribed", err=True)
        raise typer.Exit(1)
    typer.echo(f"unsubscribed {email}")


# A token may start with "-" (token_urlsafe): it must not be read as an option.
@alerts_app.command("unsubscribe-token", context_settings={"ignore_unknown_options": True})
def unsubscribe_token_cmd(token: str, state_dir: StateDir = None, db: DbUrl = None) -> None:
    """Unsubscribe the address holding TOKEN (the token in a mail's unsubscribe link)."""
    from pipelines.notify import alerts

    engine = _engine(Config.load(), state_dir, db)
    try:
        email = alerts.unsubscribe_token(engine, token)
    finally:
        engine.dispose()
    if email is None:
        typer.echo("unknown token", err=True)
        raise typer.Exit(1)
    typer.echo(f"unsubscribed {email}")


@alerts_app.command("list")
def list_cmd(state_dir: StateDir = None, db: DbUrl = None) -> None:
    """List subscribers (without tokens) and the outbox by status."""
    from pipelines.notify import alerts

    config = Config.load()
    engine = _engine(config, state_dir, db)
    try:
        subs = alerts.list_subscribers(engine)
        counts = alerts.outbox_counts(engine)
        where = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    # Which database: run from another directory, an empty list is otherwise ambiguous.
    typer.echo(f"alerts database: {where} (project root {config.root})", err=True)
    for sub in subs:
        typer.echo(f"{sub.email}\t{sub.filters_text()}")
    typer.echo(
        f"{len(subs)} subscriber(s); outbox: "
        + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "empty")
    )


@alerts_app.command("send")
def send_cmd(
    state_dir: StateDir = None,
    db: DbUrl = None,
    requeue_stuck_minutes: Annotated[
        float | None,
        typer.Option(
            help="First requeue mail claimed but unconfirmed for this long (may send it twice)."
        ),
    ] = None,
) -> None:
    """Send every queued digest now over SMTP (the [smtp] settings); no run needed.

    Exits 1 when mail is left behind (SMTP unreachable, or a connection lost mid-send)."""
    from pipelines.notify import alerts

    config = Config.load()
    engine = _engine(config, state_dir, db)
    try:
        if requeue_stuck_minutes is not None:
            n = alerts.requeue_stuck(engine, timedelta(minutes=requeue_stuck_minutes))
            typer.echo(f"requeued {n} unconfirmed (subscriber, event) pair(s)")
        report = alerts.deliver(
            engine, alerts.SmtpSettings.from_config(config.smtp), public_url=config.public_url
        )
    finally:
        engine.dispose()
    typer.echo(
        f"sent {report.messages_sent} digest(s) with {report.events_sent} event(s); "
        f"{report.still_queued} still queued; {report.failed} refused; "
        f"{report.unconfirmed} unconfirmed"
    )
    if report.unconfirmed:
        typer.echo(
            f"{report.unconfirmed} (subscriber, event) pair(s) were claimed but not confirmed "
            "sent; they are not resent unless you pass --requeue-stuck-minutes",
            err=True,
        )
    if report.error:
        typer.echo(report.error, err=True)
        raise typer.Exit(1)


@alerts_app.command("serve")
def serve_cmd(
    host: str = "127.0.0.1",
    port: int = 8025,
    state_dir: StateDir = None,
    db: DbUrl = None,
) -> None:
    """Serve the unsubscribe endpoint (/alerts/unsubscribe) for the links in the mails."""
    from pipelines.notify import alerts

    engine = _engine(Config.load(), state_dir, db)
    with alerts.make_unsubscribe_server(engine, host, port) as server:
        print(f"serving {alerts.UNSUBSCRIBE_PATH} on http://{host}:{port}", file=sys.stderr)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
