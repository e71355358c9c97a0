"""`scrape archive`: the raw response archive.

scrape archive add ARCHIVE PROVIDER FILE   archive a recorded file (builds examples/archive)
scrape archive verify [ARCHIVE]            check every manifest line and blob hash
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from pipelines.cli.common import HELP_MARKUP, config

console = Console()
# soft_wrap: a failure stays on one line (greppable in logs), whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    archive_app = typer.Typer(
        no_args_is_help=True, help="The raw response archive.", rich_markup_mode=HELP_MARKUP
    )
    app.add_typer(archive_app, name="archive")
    archive_app.command("add")(archive_add)
    archive_app.command("verify")(archive_verify)


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


def archive_verify(
    archive_dir: Path | None = typer.Argument(
        None, help="Archive directory (default: the configured archive, ./archive)."
    ),
) -> None:
    """Check every manifest line and every blob's sha256; one line per problem, exit 1 if any."""
    from pipelines.ingest.archive import Archive

    root = archive_dir or config(None, None).archive_dir
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
