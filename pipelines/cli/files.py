"""Commands that read files you give: `scrape parse` and `scrape import`.

    scrape parse PROVIDER FILE...              normalized rows from saved responses
    scrape import FORMAT FILE... | --git REPO  third-party catalog versions into the history

`scrape parse`'s helpers (formats, deterministic JSONL) are pipelines/cli/parse.py; the
import itself is pipelines/ops/imports.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipelines.cli.common import config
from pipelines.cli.report import print_report
from pipelines.config import Config

console = Console()
# soft_wrap: a failure stays on one line (greppable in logs), whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("parse")(parse_cmd)
    app.command("import")(import_cmd)


def parse_cmd(
    provider: str = typer.Argument(..., help="Provider id (see `scrape list`)."),
    files: list[Path] = typer.Argument(..., help="Saved response files, parsed together."),
    fmt: str = typer.Option(
        "table",
        "--format",
        help="table (default), jsonl, json or csv (jsonl/json/csv: all columns).",
    ),
    observed_at: str | None = typer.Option(
        None, "--observed-at", help="ISO time of the observation (default: each file's mtime)."
    ),
    url: list[str] = typer.Option(
        [],
        "--url",
        help="Source URL to record: once for all files or once per file, in order "
        "(default file://...).",
    ),
    fx_files: list[Path] = typer.Option(
        [],
        "--fx",
        help="ECB rate file(s) for the USD columns "
        "(default: the ECB files in archive/ in the project root).",
    ),
    no_fx: bool = typer.Option(
        False, "--no-fx", help="No FX rates: USD columns of non-USD rows stay empty."
    ),
) -> None:
    """Print the normalized rows parsed from saved response files (no network).

    `--format jsonl` is deterministic (it writes the tests' expected-output fixtures).
    """
    from pipelines.cli import parse as p
    from pipelines.ingest.normalize import offers_to_frame

    try:
        spec = p.provider_spec(provider)
        p.check_format(fmt)
        p.check_files(files)
        responses = p.file_responses(files, observed_at, url)
    except p.InputError as exc:
        err.print(f"scrape parse: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    try:
        fx = None if no_fx else p.fx_from_files(fx_files) if fx_files else _file_fx()
        result = spec.parse(responses)
        rows = p.normalized_rows(offers_to_frame(spec.name, result, fx, spec.gpu_rules_of))
    except p.InputError as exc:
        err.print(f"scrape parse: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except Exception as exc:
        err.print(f"[red]error[/] {escape(_one_line(exc))}", highlight=False)
        raise typer.Exit(1) from None
    for w in result.warnings:
        err.print(f"[dim]skipped: {escape(w)}[/]")
    for u in result.unknown:
        err.print(f"[yellow]unknown: {escape(u)}[/]")
    if fmt == "jsonl":
        sys.stdout.write(p.to_jsonl(rows))
    elif fmt == "json":
        sys.stdout.write(p.to_json(rows))
    elif fmt == "csv":
        sys.stdout.write(p.to_csv(rows))
    else:
        t = Table(title=f"{spec.name}: {len(rows)} row(s)")
        for col in p.TABLE_COLUMNS:
            t.add_column(col, justify="right" if col.startswith(("price", "gpu_count")) else "left")
        for r in rows:
            t.add_row(*(p.table_cell(r[c]) for c in p.TABLE_COLUMNS))
        console.print(t)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _file_fx():
    """FX for `scrape parse`: the ECB rates archived under ./archive, if any."""
    from pipelines.ingest.archive import Archive
    from pipelines.ops.fxrates import archived_fx

    cfg = Config.load()
    return archived_fx(Archive(cfg.archive_dir))


def import_cmd(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="Catalog layout (see --help)."),
    files: list[Path] = typer.Argument(None, help="File mode: the catalog file(s)."),
    provider: str | None = typer.Option(
        None, "--provider", help="Provider id the catalog feeds (default: the format's)."
    ),
    observed_at: str | None = typer.Option(
        None, "--observed-at", help="File mode: when the file was current (ISO 8601)."
    ),
    git: Path | None = typer.Option(
        None, "--git", help="Git mode: a repository (work tree or bare) to walk."
    ),
    path: list[str] = typer.Option(
        None, "--path", help="Git mode: file path in the repository (globs allowed; repeatable)."
    ),
    since: str | None = typer.Option(None, "--since", help="Git mode: only commits since DATE."),
    repo_url: str | None = typer.Option(
        None,
        "--repo-url",
        help="Git mode: the repository's public URL for provenance (default: its origin "
        "remote, else the format's home repository).",
    ),
    excerpt: bool = typer.Option(
        False, "--excerpt", help="Archive the format's excerpt (GPU rows) instead of the blob."
    ),
    datasets: Path | None = typer.Option(None, "--datasets", help="Datasets directory."),
    archive: Path | None = typer.Option(None, "--archive", help="Archive directory."),
) -> None:
    """Import third-party catalog versions: archive -> parse -> gate -> history -> events.

    Formats: skypilot-vms-csv, gcp-pricing-yml, aws-gpu-tracker-csv, cloud-gpus-json,
    azure-radar-json, colab-free-tier-records (a records file: one snapshot per window, no
    --observed-at). Versions already imported are skipped (idempotent, resumable).
    """
    from pipelines.ingest.archive import parse_ts
    from pipelines.ops import imports
    from scrapers.imports.formats import FORMATS

    spec = FORMATS.get(fmt)
    if spec is None:
        err.print(f"[red]error[/] unknown format {fmt!r}; known: {', '.join(sorted(FORMATS))}")
        raise typer.Exit(2)
    provider = provider or spec.providers[0]
    if bool(git) == bool(files):
        err.print("[red]error[/] give FILE... (with --observed-at) or --git REPO --path PATH")
        raise typer.Exit(2)
    if git:
        if not path:
            err.print("[red]error[/] --git needs --path")
            raise typer.Exit(2)
        snapshots = imports.git_snapshots(
            git,
            path,
            since=since,
            on_missing=lambda line: err.print(f"skipped: {line}"),
            source_url=repo_url,
            default_source=spec.source,
        )
    elif spec.split is not None:
        # A file of dated records (colab-free-tier-records): its windows date themselves.
        if observed_at:
            err.print(f"[red]error[/] {fmt} dates each snapshot by its records: no --observed-at")
            raise typer.Exit(2)
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            err.print(f"[red]error[/] no such file: {', '.join(missing)}")
            raise typer.Exit(2)
        snapshots = imports.split_snapshots(
            fmt, files, on_skip=lambda line: err.print(f"skipped: {line}")
        )
    else:
        if not observed_at:
            err.print("[red]error[/] file mode needs --observed-at")
            raise typer.Exit(2)
        try:
            when = parse_ts(observed_at)
        except ValueError:
            err.print(f"[red]error[/] --observed-at {observed_at!r} is not an ISO 8601 time")
            raise typer.Exit(2) from None
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            err.print(f"[red]error[/] no such file: {', '.join(missing)}")
            raise typer.Exit(2)
        snapshots = [imports.file_snapshot(files, when)]
    cfg = config(datasets, archive)
    try:
        result = imports.run_import(
            fmt,
            provider,
            snapshots,
            config=cfg,
            archive_dir=archive,
            excerpt=excerpt,
            on_skip=lambda line: err.print(f"skipped: {line}"),
        )
    except imports.ImportError_ as exc:
        err.print(f"[red]error[/] {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"{provider}: {result.imported} version(s) imported, "
        f"{result.skipped_known} already imported"
    )
    if result.report is not None:
        print_report(result.report)
        raise typer.Exit(result.report.exit_code)
