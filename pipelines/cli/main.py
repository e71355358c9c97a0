"""The `scrape` command (typer + rich).

    scrape run --all [--replay ARCHIVE_DIR]    fetch/replay, gate, merge, publish
    scrape run azure aws                       some providers only
    scrape list                                providers, sources, pricing models, validation

The other commands live in one module per group and register themselves through
`register(app)` (at the end of this module): parse/import (files.py), archive
(archive.py), versions/migrate/maintain (history.py), gpus (gpus.py), top (top.py),
diff (diff.py), alerts (alerts.py), schedule/status (schedule.py), index (index.py), site (site.py).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import (
    DATASETS_HELP,
    HELP_MARKUP,
    InputError,
    OneLineErrors,
    check_providers,
    check_replay_archive,
    config,
)
from pipelines.cli.report import print_report

app = typer.Typer(
    cls=OneLineErrors,
    rich_markup_mode=HELP_MARKUP,
    add_completion=False,
    no_args_is_help=True,
    help="Cloud GPU prices: scrape, archive, publish a versioned Parquet history.",
)

console = Console()
# soft_wrap: a failure stays on one line (greppable in logs), whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log HTTP retries and warnings."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command("run")
def run_cmd(
    providers: list[str] = typer.Argument(None, help="Provider ids (see `scrape list`)."),
    all_: bool = typer.Option(False, "--all", help="Run every registered provider."),
    replay: Path | None = typer.Option(
        None,
        "--replay",
        help="Re-run from an archive directory (e.g. examples/archive); no network. "
        "It must hold responses of at least one of the providers named.",
    ),
    datasets: Path | None = typer.Option(None, "--datasets", help=DATASETS_HELP),
    archive: Path | None = typer.Option(
        None,
        "--archive",
        help="Archive directory for live runs (default: archive/ in the project root).",
    ),
    trigger: str = typer.Option("manual", hidden=True),
) -> None:
    """Fetch (or replay), archive, parse, gate, merge and publish.

    Default paths resolve from the project root: GPU_PRICES_ROOT, else the nearest
    directory upwards holding gpu-prices.toml, else the working directory.
    """
    from pipelines.ops.run import run_providers
    from scrapers.registry import PROVIDERS

    if all_ and providers:
        raise InputError("name providers or use --all, not both")
    # Import-only providers (scrapers/imports/) have nothing to fetch: a live --all leaves
    # them out; a replay includes them.
    names = (
        sorted(n for n, s in PROVIDERS.items() if replay or not s.import_format)
        if all_
        else check_providers(providers or [])
    )
    if not names:
        raise InputError("name providers (see `scrape list`) or use --all")
    if replay is not None:
        matched = check_replay_archive(replay, names)
        if not all_:
            # Named explicitly, each must be in the archive; with --all the others are
            # listed as skipped.
            missing = sorted(set(names) - set(matched))
            if missing:
                raise InputError(
                    f"--replay {replay}: no archived responses for {', '.join(missing)}"
                )
    cfg = config(datasets, archive)
    done: list[str] = []
    verb = "replaying" if replay else "fetching"
    with err.status(f"{verb} {len(names)} provider(s)...") as status:

        def progress(name: str, state: str) -> None:
            done.append(name)
            status.update(f"{verb}: {len(done)} provider(s) parsed (last: {name} {state})")

        report = run_providers(
            names,
            config=cfg,
            trigger="replay" if replay else trigger,
            replay=replay,
            progress=progress,
        )
    print_report(report)
    raise typer.Exit(report.exit_code)


_DATE = re.compile(r"\b(?:19|20)\d\d-\d\d(?:-\d\d)?\b")


def _validation_summary(text: str) -> str:
    """'recorded 2025-05-23' (the newest recording) or 'documented schema only': the short form of a
    provider's `validated_against` for an 80-column table (`--long` prints it whole)."""
    if not text.lower().startswith("recorded"):
        return text
    dates = _DATE.findall(text)
    return f"recorded {max(dates)}" if dates else "recorded"


def _setting_names(spec) -> str:
    names = [f"{x.name}{'' if x.required else '?'}{'*' if x.secret else ''}" for x in spec.settings]
    return "\n".join(names) or "-"


@app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
    long: bool = typer.Option(
        False,
        "--long",
        "-l",
        help="Every column in full: source URLs, the recordings each provider was validated "
        "against, each setting's help. Wide: best read at 160+ columns.",
    ),
) -> None:
    """Providers with their pricing models, what they were validated against, their
    settings and whether the example covers them (`--long` for sources and details)."""
    from pipelines.ingest.archive import example_coverage
    from scrapers.registry import PROVIDERS

    example = example_coverage()
    rows = [
        {
            "provider": s.name,
            "title": s.title,
            "source_urls": list(s.source_urls),
            "pricing_models": list(s.pricing_models),
            "validated_against": s.validated_against,
            "requires": list(s.required_settings),
            "settings": [x._asdict() for x in s.settings],
            "cadence": s.default_cadence,
            # Responses of this provider in examples/archive (what README command 1 replays).
            "example_responses": len(example.get(s.name, [])),
            "pricing_page_url": s.pricing_page_url,
            # Every offer is another cloud's machine resold (the price index leaves it out).
            "resells": s.resells,
        }
        for s in sorted(PROVIDERS.values(), key=lambda s: s.name)
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    t = Table(title="providers", show_lines=long)
    cols = ("provider", "pricing models", "validated against", "settings", "in example")
    if long:
        cols = cols[:1] + ("sources",) + cols[1:]
    for col in cols:
        t.add_column(col, overflow="fold", no_wrap=col == "provider" and not long)
    for r in rows:
        spec = PROVIDERS[r["provider"]]
        n = r["example_responses"]
        cells = [
            r["provider"],
            ", ".join(r["pricing_models"]),
            r["validated_against"] if long else _validation_summary(r["validated_against"]),
            "\n".join(x.describe() for x in spec.settings) or "-" if long else _setting_names(spec),
            (f"yes ({n} response{'s' if n != 1 else ''})" if long else f"yes ({n})") if n else "no",
        ]
        if long:
            cells.insert(1, "\n".join(r["source_urls"]))
        t.add_row(*cells)
    console.print(t)
    covered = sum(1 for r in rows if r["example_responses"])
    console.print(
        f"examples/archive covers {covered} of {len(rows)} providers with real recordings "
        "(provenance per response: README, 'The example archive')."
    )
    if not long:
        console.print(
            "settings: ? optional, * secret. `scrape list --long`: sources, recordings, help."
        )


def _register_groups() -> None:
    from pipelines.cli import (
        alerts,
        archive,
        diff,
        files,
        gpus,
        history,
        index,
        schedule,
        site,
        top,
    )

    # Help lists commands, then groups, each in registration order: keep this order.
    for module in (archive, files, history, gpus, top, diff, alerts, schedule, index, site):
        module.register(app)


_register_groups()
