"""Commands on the published history table (Delta Lake, pipelines/store/).

scrape versions [--verify]                 published dataset versions (Delta versions)
scrape migrate                             convert the earlier history layout to Delta
scrape maintain                            compact, checkpoint, vacuum the Delta table
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipelines.cli.common import DATASETS_HELP, config, published_datasets

console = Console()
# soft_wrap: a failure stays on one line (greppable in logs), whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("versions")(versions_cmd)
    app.command("migrate")(migrate_cmd)
    app.command("maintain")(maintain_cmd)


def versions_cmd(
    datasets: Path | None = typer.Option(None, "--datasets", help=DATASETS_HELP),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Check the table's commit log and files and the view's hashes; repair a torn "
        "last commit or a stale view; exit 1 if anything was found.",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per version."),
) -> None:
    """Published dataset versions and the Delta table version of each (time travel:
    `DeltaTable(url, version=N)`)."""
    from pipelines.store.delta import TableError
    from pipelines.store.history import History

    cfg = config(datasets, None)
    h = History.for_config(cfg)
    if not h.table.exists():  # nothing published here: the one-line error says what to run
        published_datasets(cfg, explicit=datasets is not None)
    if verify:
        problems = h.verify(repair=True)
        for p in problems:
            err.print(f"[red]{escape(p)}[/]")
        if problems:
            err.print(f"{h.table.url}: {len(problems)} problem(s) found")
            raise typer.Exit(1)
    try:
        versions = h.versions()
    except TableError as exc:
        err.print(f"[red]error[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    cur = h.current_version()
    if as_json:
        for v in versions:
            typer.echo(json.dumps(v))
    else:
        t = Table(title=f"dataset versions of {h.table.url}")
        for col in ("version", "delta version", "created_at", "providers", "records added"):
            t.add_column(col)
        for v in versions:
            mark = " (current)" if v["version"] == cur else ""
            t.add_row(
                v["version"] + mark,
                str(v["delta_version"]),
                v["created_at"],
                ",".join(v["providers"]),
                str(v["rows_added"]),
            )
        console.print(t)
    if verify:
        console.print(f"{h.table.url}: {len(versions)} version(s); log, files and view all good")


def migrate_cmd(datasets: Path | None = typer.Option(None, "--datasets")) -> None:
    """Convert a history in the earlier layout (datasets/.history/) into the Delta table."""
    from pipelines.store.history import History
    from pipelines.store.migrate import migrate

    cfg = config(datasets, None)
    h = History.for_config(cfg)
    rep = migrate(h)
    if rep.versions_found == 0:
        err.print(f"{cfg.datasets_dir}: no history in the earlier layout (.history/) to migrate")
        raise typer.Exit(1)
    torn = f"; {rep.torn_lines} torn versions.jsonl line(s) skipped" if rep.torn_lines else ""
    console.print(
        f"{h.table.url}: {rep.versions_committed} version(s) migrated, "
        f"{rep.versions_skipped} already there, {rep.rows} rows{torn}; "
        f"{cfg.datasets_dir / '.history'} left in place (delete it once satisfied)",
        soft_wrap=True,
    )


def maintain_cmd(
    datasets: Path | None = typer.Option(None, "--datasets"),
    retention_hours: int = typer.Option(
        168, "--retention-hours", help="Keep time travel for this long (default a week)."
    ),
) -> None:
    """Compact the table's small files, checkpoint its log and vacuum files older than the
    retention (run it daily or weekly; safe while runs publish)."""
    from pipelines.store.history import History

    cfg = config(datasets, None)
    h = History.for_config(cfg)
    if not h.table.exists():
        err.print(f"{h.table.url}: no table yet (run `scrape run` first)")
        raise typer.Exit(1)
    out = h.maintain(retention_hours)
    console.print(
        f"{h.table.url}: compacted {out['files_removed']} file(s) into {out['files_added']}, "
        f"vacuumed {out['files_vacuumed']} file(s); now at Delta version {out['version']}",
        soft_wrap=True,
    )
