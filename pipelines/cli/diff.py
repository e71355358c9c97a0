"""CLI: `scrape diff`: the change events between observation snapshots.

`scrape diff SNAPSHOT SNAPSHOT...` reads observation files (Parquet or CSV in the
normalized schema, pipelines/schema.py; missing derivable columns are derived) or published
dataset versions (their current rows) in the order given, runs the gate
(pipelines/ingest/gate.py) and the change detector (pipelines/derive/changes.py) over them with
in-memory state, and prints the events the pipeline would raise. Every snapshot is
expected to hold every provider seen in an earlier one: a provider missing from a
snapshot is gated as zero rows. A provider that fails the gate in a snapshot is reported
on stderr and skipped (its baseline stays), and the exit code is 1.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli.common import InputError, check_choice
from pipelines.config import ChangesSection, Config

if TYPE_CHECKING:  # pandas loads only when a command needs it (fast --help)
    import pandas as pd

# The noise rules' defaults for the help text, from the settings model (the change detector
# that applies them imports pandas: it loads when `diff` runs, not for `--help`).
_CHANGE_DEFAULTS = ChangesSection()


class SnapshotError(ValueError):
    """A snapshot that cannot be compared (one line, naming the file and the columns)."""


# Columns the gate and the change detector need that a snapshot may lack and we can make:
# the offer key from its parts, the provider's GPU spelling from the canonical model (and
# back), the snapshot hash from the file itself.
DERIVED_COLUMNS = ("offer_key", "gpu_name_raw", "gpu_model", "snapshot_sha256")


def resolve_snapshot(path: Path) -> Path:
    """A published version given as its datasets or version directory -> its Parquet data."""
    from pipelines.tables import PRICES

    if path.is_dir() and (path / PRICES.file).is_dir():
        return path / PRICES.file
    return path


def _history():
    from pipelines.store.history import History

    return History.for_config(Config.load())


def snapshot_label(path: Path) -> str:
    """The dataset version id of a published version (a dataset version id itself, or the
    `datasets/gpu_prices.parquet` view of the current one), else the file name."""
    from pipelines.store.view import dataset_version_of

    if not path.exists():
        return str(path)
    return dataset_version_of(resolve_snapshot(path)) or path.name


def read_snapshot(path: Path) -> pd.DataFrame:
    """An observation file, or a published version, as a frame with the schema's columns.

    A published version (a history: it has `valid_to`) gives its current rows, as last
    seen (`observed_at` = `last_seen_at`). Missing derivable columns (DERIVED_COLUMNS) are
    derived; any other missing required column is a SnapshotError naming them all.
    """
    import pandas as pd
    import pyarrow as pa

    from pipelines.ingest.normalize import conform
    from pipelines.schema import OBSERVATION_FIELDS
    from pipelines.store.atomic import file_sha256

    path = resolve_snapshot(path)
    suffix = "".join(path.suffixes).lower()
    if not path.exists():
        # A dataset version id: that version of the history, from the Delta table.
        try:
            df = _history().read_all(str(path))
        except KeyError:
            raise SnapshotError(
                f"{path}: no such file, and not a dataset version (see `scrape versions`)"
            ) from None
    elif suffix.endswith(".parquet") or path.is_dir():
        df = pd.read_parquet(path)
    elif suffix.endswith((".csv", ".csv.gz")):
        # Text columns stay text: a hash or an instance type made of digits is not a number.
        text = {f.name: str for f in OBSERVATION_FIELDS if pa.types.is_string(f.type)}
        df = pd.read_csv(path, dtype=text, keep_default_na=True)
    else:
        raise SnapshotError("expected a .parquet or .csv observation file or a dataset version")
    if "valid_to" in df.columns:
        df = df[df["valid_to"].isna()].reset_index(drop=True)
        if "last_seen_at" in df.columns:
            df["observed_at"] = df["last_seen_at"]
    # Categorical (dictionary-encoded) columns of published files compare as plain values.
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    missing = [
        f.name
        for f in OBSERVATION_FIELDS
        if not f.nullable and f.name not in df.columns and f.name not in DERIVED_COLUMNS
    ]
    if "gpu_model" not in df.columns and "gpu_name_raw" not in df.columns:
        missing.append("gpu_model (or gpu_name_raw)")
    if missing:
        raise SnapshotError(
            f"missing column(s) {', '.join(missing)} "
            f"(derived when absent: {', '.join(DERIVED_COLUMNS)})"
        )
    return conform(_derive(df, path, file_sha256))


def _derive(df: pd.DataFrame, path: Path, file_sha256) -> pd.DataFrame:

    from pipelines.ingest.gpus import resolve
    from pipelines.schema import offer_key

    df = df.copy()
    if "offer_key" not in df.columns:
        parts = ["provider", "instance_type", "region", "zone", "pricing_model", "term"]
        cells = df.reindex(columns=parts).astype(object).where(lambda x: x.notna(), None)
        df["offer_key"] = [offer_key(*r) for r in cells.itertuples(index=False, name=None)]
    if "gpu_name_raw" not in df.columns:
        df["gpu_name_raw"] = df["gpu_model"]
    if "gpu_model" not in df.columns:
        df["gpu_model"] = [
            resolve(raw, provider=p).gpu_model if isinstance(raw, str) else None
            for raw, p in zip(df["gpu_name_raw"], df["provider"], strict=True)
        ]
    if "snapshot_sha256" not in df.columns:
        df["snapshot_sha256"] = file_sha256(path) if path.is_file() else None
    return df


def _snapshot_time(df: pd.DataFrame, path: Path) -> datetime:

    import pandas as pd

    if len(df) and df["observed_at"].notna().any():
        return pd.Timestamp(df["observed_at"].max()).to_pydatetime()
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


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
    failures = printed = 0
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
                provider, obs, dataset_version=label, detected_at=_snapshot_time(obs, path)
            )
            printed += len(events)
            for ev in events_frame(events).to_dict("records"):
                if fmt == "jsonl":
                    typer.echo(json.dumps(event_to_json(ev), sort_keys=True))
                else:
                    typer.echo(_table_line(ev))
    if not printed:
        # Said on stderr in jsonl mode, so stdout stays one JSON object per line.
        typer.echo("no changes", err=fmt == "jsonl")
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
