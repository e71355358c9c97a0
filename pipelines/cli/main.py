"""The `scrape` command (typer + rich).

    scrape run --all [--replay ARCHIVE_DIR]    fetch/replay, gate, merge, publish
    scrape run azure aws                       some providers only
    scrape list                                providers, sources, pricing models, validation
    scrape parse PROVIDER FILE...              normalized rows from saved responses
    scrape archive add ARCHIVE PROVIDER FILE   archive a recorded file (builds examples/archive)
    scrape archive verify [ARCHIVE]            check every manifest line and blob hash
    scrape versions [--verify]                 published dataset versions (Delta versions)
    scrape migrate                             convert the earlier history layout to Delta
    scrape maintain                            compact, checkpoint, vacuum the Delta table

Topic commands (gpus/top, diff/alerts, schedule/status) live in their own modules and
register themselves through `register(app)` (at the end of this module).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipelines.cli.common import (
    DATASETS_HELP,
    HELP_MARKUP,
    InputError,
    OneLineErrors,
    check_providers,
    check_replay_archive,
    published_datasets,
)
from pipelines.cli.report import print_report
from pipelines.config import Config

app = typer.Typer(
    cls=OneLineErrors,
    rich_markup_mode=HELP_MARKUP,
    add_completion=False,
    no_args_is_help=True,
    help="Cloud GPU prices: scrape, archive, publish a versioned Parquet history.",
)
archive_app = typer.Typer(
    no_args_is_help=True, help="The raw response archive.", rich_markup_mode=HELP_MARKUP
)
app.add_typer(archive_app, name="archive")

console = Console()
# soft_wrap: a failure stays on one line (greppable in logs), whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


def _config(datasets: Path | None, archive: Path | None) -> Config:
    from scrapers.registry import PROVIDERS

    cfg = Config.load().with_datasets(datasets, archive)
    cfg.check_provider_names(PROVIDERS)
    return cfg


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
    cfg = _config(datasets, archive)
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


@app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """Providers with their sources, pricing models, settings and what they were validated against."""
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
        }
        for s in sorted(PROVIDERS.values(), key=lambda s: s.name)
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    t = Table(title="providers", show_lines=True)
    cols = ("provider", "sources", "pricing models", "validated against", "settings", "in example")
    for col in cols:
        t.add_column(col, overflow="fold")
    for r in rows:
        n = r["example_responses"]
        t.add_row(
            r["provider"],
            "\n".join(r["source_urls"]),
            ", ".join(r["pricing_models"]),
            r["validated_against"],
            "\n".join(x.describe() for x in PROVIDERS[r["provider"]].settings) or "-",
            f"yes ({n} response{'s' if n != 1 else ''})" if n else "no",
        )
    console.print(t)
    covered = sum(1 for r in rows if r["example_responses"])
    console.print(
        f"examples/archive covers {covered} of {len(rows)} providers with real recordings "
        "(provenance per response: README, 'The example archive')."
    )


@app.command("parse")
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
        rows = p.normalized_rows(offers_to_frame(spec.name, result, fx))
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
    from pipelines.ops.run import archived_fx

    cfg = Config.load()
    return archived_fx(Archive(cfg.archive_dir))


@app.command("import")
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
    azure-radar-json. Versions already imported are skipped (idempotent, resumable).
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
    cfg = _config(datasets, archive)
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


@archive_app.command("add")
def archive_add(
    archive_dir: Path,
    provider: str,
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False),
    url: str = typer.Option(..., "--url", help="URL the response was fetched from."),
    fetched_at: str = typer.Option(..., "--fetched-at", help="ISO time it was fetched (UTC)."),
    run_id: str = typer.Option(..., "--run-id", help="Run id grouping responses fetched together."),
    provenance: str = typer.Option(
        ...,
        "--provenance",
        help="Where it was recorded: repository + path + commit, or URL + capture date; "
        "say what, if anything, was rebuilt around the recorded values.",
    ),
    kind: str = typer.Option("", "--kind"),
) -> None:
    """Archive recorded response files as if fetched (one manifest line each)."""
    from pipelines.ingest.archive import Archive, ArchiveError, check_source, parse_ts

    try:
        check_source(provider)
    except ArchiveError as exc:
        err.print(f"[red]error[/] {exc}")
        raise typer.Exit(2) from None
    if not provenance.strip():
        err.print("[red]error[/] --provenance must say where the response was recorded")
        raise typer.Exit(2)
    try:
        when = parse_ts(fetched_at)
    except ValueError:
        err.print(f"[red]error[/] --fetched-at {fetched_at!r} is not an ISO 8601 time")
        raise typer.Exit(2) from None
    arch = Archive(archive_dir)
    for f in files:
        try:
            entry = arch.add_file(
                provider,
                f,
                url=url,
                fetched_at=when,
                run_id=run_id,
                kind=kind,
                provenance=" ".join(provenance.split()),
            )
        except (ArchiveError, ValueError) as exc:
            err.print(f"[red]error[/] {provider}: {f}: {exc}")
            raise typer.Exit(2) from None
        console.print(f"{provider}: {f.name} -> {entry['blob']} ({entry['size']} bytes)")


@archive_app.command("verify")
def archive_verify(
    archive_dir: Path | None = typer.Argument(
        None, help="Archive directory (default: the configured archive, ./archive)."
    ),
) -> None:
    """Check every manifest line and every blob's sha256; one line per problem, exit 1 if any."""
    from pipelines.ingest.archive import Archive

    root = archive_dir or _config(None, None).archive_dir
    problems, counts = Archive(root).verify()
    for p in problems:
        err.print(f"[red]problem[/] {p}")
    summary = (
        f"{root}: {counts['providers']} provider(s), {counts['lines']} manifest line(s), "
        f"{counts['blobs']} blob(s) checked"
    )
    if problems:
        err.print(f"{summary}; {len(problems)} problem(s)")
        raise typer.Exit(1)
    console.print(f"{summary}; all good", soft_wrap=True)


@app.command("versions")
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

    cfg = _config(datasets, None)
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


@app.command("migrate")
def migrate_cmd(datasets: Path | None = typer.Option(None, "--datasets")) -> None:
    """Convert a history in the earlier layout (datasets/.history/) into the Delta table."""
    from pipelines.store.history import History
    from pipelines.store.migrate import migrate

    cfg = _config(datasets, None)
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


@app.command("maintain")
def maintain_cmd(
    datasets: Path | None = typer.Option(None, "--datasets"),
    retention_hours: int = typer.Option(
        168, "--retention-hours", help="Keep time travel for this long (default a week)."
    ),
) -> None:
    """Compact the table's small files, checkpoint its log and vacuum files older than the
    retention (run it daily or weekly; safe while runs publish)."""
    from pipelines.store.history import History

    cfg = _config(datasets, None)
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


def _register_groups() -> None:
    from pipelines.cli import alerts, gpus, index, schedule, site, top

    for module in (gpus, top, alerts, schedule, index, site):
        module.register(app)


_register_groups()
