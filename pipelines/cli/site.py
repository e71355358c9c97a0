"""`scrape site [--out DIR] [--datasets DIR]`: build the static report site.

The same site is rebuilt after every publish into `<datasets>/site/` (pipelines/ops/run.py);
this command builds it on demand, e.g. into a folder you upload to a static host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("site")
    def site(
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Folder to write (default: <datasets>/site)."),
        ] = None,
        datasets: Annotated[
            Path | None,
            typer.Option("--datasets", help="Datasets directory (default ./datasets)."),
        ] = None,
    ) -> None:
        """Build the static report site (offers, GPU pages, price index, changes, downloads)."""
        from pipelines.config import Config
        from pipelines.site.build import build

        datasets_dir = datasets if datasets is not None else Config.load().datasets_dir
        try:
            result = build(datasets_dir, out)
        except FileNotFoundError as exc:
            err.print(str(exc))
            raise typer.Exit(1) from None
        console.print(
            f"site: {result.pages} pages ({result.offers} current offers, "
            f"{result.gpu_pages} GPU pages) in {result.out_dir}; open "
            f"{result.out_dir / 'index.html'}"
        )
