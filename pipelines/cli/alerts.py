"""CLI: `scrape diff` and `scrape alerts ...` (subscriptions, delivery, unsubscribe endpoint).

`scrape diff SNAPSHOT SNAPSHOT...` reads observation files (Parquet or CSV in the
normalized schema, pipelines/schema.py) in the order given, runs the gate
(pipelines/ingest/gate.py) and the change detector (pipelines/derive/changes.py) over them with
in-memory state, and prints the events the pipeline would raise. Every snapshot is
expected to hold every provider seen in an earlier one: a provider missing from a
snapshot is gated as zero rows. A provider that fails the gate in a snapshot is reported
on stderr and skipped (its baseline stays), and the exit code is 1.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipelines.cli.common import OneLineErrors
from pipelines.config import Config
from pipelines.derive.changes import (
    DEFAULT_REMOVAL_CONFIRM_RUNS,
    DEFAULT_VOLATILE_MIN_CHANGE_PCT,
    ChangeDetector,
    describe,
    event_to_json,
    events_frame,
)
from pipelines.errors import AlertsError, did_you_mean
from scrapers.base import PRICING_MODELS


def read_snapshot(path: Path) -> pd.DataFrame:
    """An observation file as a frame with the schema's columns and dtypes."""
    import pyarrow as pa

    from pipelines.ingest.normalize import conform
    from pipelines.schema import OBSERVATION_FIELDS

    suffix = "".join(path.suffixes).lower()
    if suffix.endswith(".parquet") or path.is_dir():
        df = pd.read_parquet(path)
    elif suffix.endswith((".csv", ".csv.gz")):
        # Text columns stay text: a hash or an instance type made of digits is not a number.
        text = {f.name: str for f in OBSERVATION_FIELDS if pa.types.is_string(f.type)}
        df = pd.read_csv(path, dtype=text, keep_default_na=True)
    else:
        raise ValueError("expected a .parquet or .csv observation file")
    return conform(df)


def _snapshot_time(df: pd.DataFrame, path: Path) -> datetime:
    if len(df) and df["observed_at"].notna().any():
        return pd.Timestamp(df["observed_at"].max()).to_pydatetime()
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _table_line(ev: dict) -> str:
    return f"{pd.Timestamp(ev['detected_at']).isoformat()}  {ev['event_type']:<18}  {describe(ev)}"


def diff(
    snapshots: Annotated[
        list[Path],
        typer.Argument(
            help="Observation files (Parquet or CSV), oldest first.", exists=True, dir_okay=True
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or table.")] = "table",
    confirm_runs: Annotated[
        int | None,
        typer.Option(
            help="Good snapshots an offer must stay gone before it is removed "
            f"[default: GPU_PRICES_REMOVAL_CONFIRM_RUNS or {DEFAULT_REMOVAL_CONFIRM_RUNS}]."
        ),
    ] = None,
    confirm_hours: Annotated[
        float | None, typer.Option(help="...or hours since it was first missing.")
    ] = None,
    spot_min_change_pct: Annotated[
        float | None,
        typer.Option(
            help="Threshold (percent) for spot and marketplace summaries "
            f"[default: GPU_PRICES_SPOT_MIN_CHANGE_PCT or {DEFAULT_VOLATILE_MIN_CHANGE_PCT}]."
        ),
    ] = None,
    max_drop_fraction: Annotated[
        float | None,
        typer.Option(
            help="Gate: largest allowed fall in rows vs the last good snapshot "
            "[default: the configured gate]."
        ),
    ] = None,
) -> None:
    """Print the change events between consecutive observation snapshots."""
    from pipelines.ingest import gate
    from pipelines.ops.events import noise_rules
    from scrapers.registry import PROVIDERS

    if fmt not in ("jsonl", "table"):
        raise typer.BadParameter("--format must be jsonl or table")
    if len(snapshots) < 2:
        raise typer.BadParameter("give at least two snapshots")
    config = Config.load()
    # The same rules as a run: environment/config first, then what the options say.
    rules = noise_rules(config.changes)
    rules = replace(
        rules,
        removal_confirm_runs=confirm_runs or rules.removal_confirm_runs,
        removal_confirm_after=timedelta(hours=confirm_hours)
        if confirm_hours
        else rules.removal_confirm_after,
    )
    if spot_min_change_pct is not None:
        rules = replace(
            rules,
            min_change_pct={**rules.min_change_pct, "spot": spot_min_change_pct},
            marketplace_min_change_pct=spot_min_change_pct,
        )
    detector = ChangeDetector(rules)
    failures = 0
    for path in snapshots:
        try:
            df = read_snapshot(path)
        except (OSError, ValueError, TypeError) as exc:
            # pyarrow's errors derive from these; the snapshot is skipped like a gate failure.
            typer.echo(f"{path}: unreadable: {exc}", err=True)
            failures += 1
            continue
        providers = sorted(set(df["provider"].dropna()) | set(detector.states))
        if not providers:
            typer.echo(f"{path}: gate failed: zero rows", err=True)
            failures += 1
            continue
        for provider in providers:
            obs = df[df["provider"] == provider].reset_index(drop=True)
            st = detector.states.get(provider)
            # The same threshold a run would use for this provider.
            spec = PROVIDERS.get(provider)
            default = spec.max_row_drop_fraction if spec else gate.DEFAULT_MAX_DROP_FRACTION
            drop = (
                max_drop_fraction
                if max_drop_fraction is not None
                else config.drop_fraction(provider, default)
            )
            reasons = gate.check(provider, obs, st.rows if st else None, max_drop_fraction=drop)
            if reasons:
                failures += 1
                for reason in reasons:
                    typer.echo(f"{path}: gate failed: {reason}", err=True)
                continue
            events = detector.observe(
                provider, obs, dataset_version=path.name, detected_at=_snapshot_time(obs, path)
            )
            for ev in events_frame(events).to_dict("records"):
                if fmt == "jsonl":
                    typer.echo(json.dumps(event_to_json(ev), sort_keys=True))
                else:
                    typer.echo(_table_line(ev))
    if failures:
        typer.echo(
            f"{failures} snapshot/provider pair(s) failed the gate and were skipped", err=True
        )
        raise typer.Exit(1)


alerts_app = typer.Typer(
    help="Change-alert e-mail subscriptions and delivery.",
    no_args_is_help=True,
    cls=OneLineErrors,
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
    min_change_pct: Annotated[
        float | None, typer.Option(help="Skip price changes smaller than this (percent).")
    ] = None,
    state_dir: StateDir = None,
    db: DbUrl = None,
) -> None:
    """Subscribe an address (or update its filters)."""
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
    config = Config.load()
    engine = _engine(config, state_dir, db, create=True)
    try:
        sub = alerts.subscribe(
            engine,
            email,
            providers=providers,
            gpus=gpus,
            pricing_models=pricing or [],
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


@alerts_app.command("unsubscribe-token")
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
    app.command("diff")(diff)
    app.add_typer(alerts_app, name="alerts")
