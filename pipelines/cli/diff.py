"""CLI: `scrape diff`: the change events between observation snapshots.

`scrape diff SNAPSHOT SNAPSHOT...` reads observation files (Parquet or CSV in the
normalized schema, pipelines/schema.py; missing derivable columns are derived) or published
dataset versions (their current rows) in the order given, runs the gate
(pipelines/ingest/gate.py) and the change detector (pipelines/derive/changes.py) over them with
in-memory state, and prints the events the pipeline would raise. Every snapshot is
expected to hold every provider seen in an earlier one: a provider missing from a
snapshot is gated as zero rows. A provider that fails the gate in a snapshot is reported
on stderr and skipped (its baseline stays), and the exit code is 1.

Reading a snapshot (files, published versions, derived columns) is
pipelines/store/snapshots.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import InputError, check_choice
from pipelines.config import ChangesSection, Config
from pipelines.store.snapshots import SnapshotError, read_snapshot, snapshot_label, snapshot_time

# The noise rules' defaults for the help text, from the settings model (the change detector
# that applies them imports pandas: it loads when `diff` runs, not for `--help`).
_CHANGE_DEFAULTS = ChangesSection()


def _table_line(ev: dict) -> str:
    import pandas as pd

    from pipelines.derive.changes import describe

    return f"{pd.Timestamp(ev['detected_at']).isoformat()}  {ev['event_type']:<18}  {describe(ev)}"


def diff(
    snapshots: Annotated[
        list[Path],
        typer.Argument(
            help="Observation files (Parquet or CSV) or published versions (a dataset "
            "version id from `scrape versions`, or datasets/gpu_prices.parquet), oldest first.",
            dir_okay=True,
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help="table (default) or jsonl.")] = "table",
    confirm_runs: Annotated[
        int | None,
        typer.Option(
            help="Good snapshots an offer must stay gone before it is removed "
            f"[default: GPU_PRICES_REMOVAL_CONFIRM_RUNS or {_CHANGE_DEFAULTS.removal_confirm_runs}]."
        ),
    ] = None,
    confirm_hours: Annotated[
        float | None, typer.Option(help="...or hours since it was first missing.")
    ] = None,
    spot_min_change_pct: Annotated[
        float | None,
        typer.Option(
            help="Threshold (percent) for spot and marketplace summaries "
            f"[default: GPU_PRICES_SPOT_MIN_CHANGE_PCT or {_CHANGE_DEFAULTS.spot_min_change_pct}]."
        ),
    ] = None,
    price_confirm_runs: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Snapshots a new price must persist before it is an event "
            "[default: the configured per-provider windows, e.g. Azure 1]; 0 shows every "
            "price change between the snapshots.",
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
    from pipelines.derive.changes import ChangeDetector, event_to_json, events_frame
    from pipelines.ingest import gate
    from pipelines.ops.events import noise_rules
    from scrapers.registry import PROVIDERS

    check_choice(fmt, ("table", "jsonl"), "--format")
    if len(snapshots) < 2:
        raise InputError("scrape diff: give at least two snapshots (oldest first)")
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
    if price_confirm_runs is not None:
        rules = replace(rules, price_confirm_runs={}, price_confirm_runs_default=price_confirm_runs)
    detector = ChangeDetector(rules)
    failures = printed = compared = 0
    for path in snapshots:
        label = snapshot_label(path)
        try:
            df = read_snapshot(path)
        except SnapshotError as exc:
            typer.echo(f"{path}: {exc}", err=True)
            failures += 1
            continue
        except (OSError, ValueError, TypeError) as exc:
            # pyarrow's errors derive from these; the snapshot is skipped like a gate failure.
            typer.echo(f"{path}: unreadable: {exc}", err=True)
            failures += 1
            continue
        providers = sorted(set(df["provider"].dropna()) | set(detector.states))
        compared += 1
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
            result = gate.check(
                provider,
                obs,
                st.rows if st else None,
                max_drop_fraction=drop,
                max_quarantine_fraction=config.quarantine_fraction(
                    provider, gate.DEFAULT_MAX_QUARANTINE_FRACTION
                ),
            )
            if not result.passed:
                failures += 1
                for line in result.lines():
                    typer.echo(f"{path}: gate failed: {line}", err=True)
                continue
            for line in result.lines():
                typer.echo(f"{path}: quarantined: {line}", err=True)
            obs = result.publish
            events = detector.observe(
                provider, obs, dataset_version=label, detected_at=snapshot_time(obs, path)
            )
            printed += len(events)
            for ev in events_frame(events).to_dict("records"):
                if fmt == "jsonl":
                    typer.echo(json.dumps(event_to_json(ev), sort_keys=True))
                else:
                    typer.echo(_table_line(ev))
    if not printed:
        # Said on stderr in jsonl mode, so stdout stays one JSON object per line. With a
        # snapshot skipped, a bare "no changes" read as a clean comparison (it was not).
        if compared < 2:
            msg = f"nothing compared: {compared} of {len(snapshots)} snapshot(s) could be read"
        elif failures:
            msg = "no changes between the snapshots that could be compared (skipped: see above)"
        else:
            msg = "no changes"
        typer.echo(msg, err=fmt == "jsonl" or compared < 2)
    pending = {p: len(st.unconfirmed) for p, st in detector.states.items() if st.unconfirmed}
    if pending:
        # A change in the last snapshot(s) may still be inside its confirmation window: say
        # so, or "no changes" would hide it.
        typer.echo(
            "waiting for confirmation (not events yet): "
            + ", ".join(f"{p} {n} price change(s)" for p, n in sorted(pending.items()))
            + "; --price-confirm-runs 0 shows them",
            err=True,
        )
    if failures:
        typer.echo(
            f"{failures} snapshot/provider pair(s) failed the gate and were skipped", err=True
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
