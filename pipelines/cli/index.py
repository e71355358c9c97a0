"""`scrape index`: the GPU price index (pipelines/derive/index.py).

scrape index [--id H100-SXM] [--pricing on_demand] [--since 2025-01-01] [--json]
scrape index inputs --date D [--id ID]         what entered a day's value, and why not
scrape index recompute --date D [--id ID]      rebuild a day from the raw archive alone
scrape index methodology                       the methodology, as the README shows it
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # pandas loads only when a command needs it (fast --help)
    import pandas as pd

console = Console()
err = Console(stderr=True, soft_wrap=True)

_DATASETS = typer.Option("--datasets", help="Datasets directory (default ./datasets).")


def _config(datasets: Path | None, archive: Path | None = None):
    from pipelines.config import Config

    return Config.load().with_datasets(datasets, archive)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"{option} {value!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None


def _check_id(index_id: str | None) -> None:
    from pipelines.derive.index import index_ids
    from pipelines.errors import did_you_mean

    if index_id and index_id not in index_ids():
        hint = did_you_mean(index_id, index_ids()) or f"; known: {', '.join(index_ids())}"
        err.print(f"unknown index {index_id!r}{hint}")
        raise typer.Exit(2)


def _read(datasets_dir: Path, name: str) -> pd.DataFrame:
    path = datasets_dir / name
    if not path.is_file():
        err.print(f"{path} does not exist; run `scrape run` first")
        raise typer.Exit(1)
    import pandas as pd

    return pd.read_parquet(path)


def _num(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def _json_rows(df: pd.DataFrame) -> str:
    out = df.astype(object).where(df.notna(), None).to_dict("records")
    return json.dumps(out, indent=2, default=str)


def register(app: typer.Typer) -> None:
    index_app = typer.Typer(help="The GPU price index: series, inputs, recompute from raw bytes.")
    app.add_typer(index_app, name="index")

    @index_app.callback(invoke_without_command=True)
    def index_series(
        ctx: typer.Context,
        index_id: Annotated[
            str | None, typer.Option("--id", help="Index id, e.g. H100-SXM.")
        ] = None,
        pricing: Annotated[
            str | None, typer.Option("--pricing", help="on_demand or spot (default both).")
        ] = None,
        since: Annotated[
            str | None, typer.Option("--since", help="First date (YYYY-MM-DD).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
        datasets: Annotated[Path | None, _DATASETS] = None,
    ) -> None:
        """Print the index series (all indexes' latest values without --id)."""
        if ctx.invoked_subcommand is not None:
            return
        from pipelines.derive.index import INDEX_FILE

        _check_id(index_id)
        df = _read(_config(datasets).datasets_dir, INDEX_FILE)
        if index_id:
            df = df[df["index_id"] == index_id]
        if pricing:
            df = df[df["pricing_model"] == pricing]
        if since:
            df = df[df["date"] >= _day(since, "--since")]
        if not index_id and not since:
            # Without an id: the latest value of each index (the whole series is long).
            df = df.sort_values("date").groupby(["index_id", "pricing_model"]).tail(1)
        df = df.sort_values(["index_id", "pricing_model", "date"], kind="stable")
        if as_json:
            typer.echo(_json_rows(df))
            return
        title = f"GPU price index {index_id or '(latest value of each index)'}"
        t = Table(title=title)
        for col in ("date", "index", "pricing", "USD/GPU-h", "providers", "offers", "min", "max"):
            left = col in ("date", "index", "pricing")
            t.add_column(col, justify="left" if left else "right", no_wrap=left)
        for r in df.itertuples(index=False):
            t.add_row(
                str(r.date),
                r.index_id,
                r.pricing_model,
                _num(r.value_usd_per_gpu_hour),
                str(r.provider_count),
                str(r.offer_count),
                _num(r.min_usd_per_gpu_hour),
                _num(r.max_usd_per_gpu_hour),
            )
        console.print(t)
        versions = sorted(set(df["methodology_version"]))
        console.print(
            f"{len(df)} row(s); methodology {', '.join(versions) or '-'} "
            "(list prices, not transaction prices: README, 'GPU price index')"
        )

    @index_app.command("inputs")
    def index_inputs(
        day: Annotated[str, typer.Option("--date", help="UTC date (YYYY-MM-DD).")],
        index_id: Annotated[str | None, typer.Option("--id", help="Index id.")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        datasets: Annotated[Path | None, _DATASETS] = None,
    ) -> None:
        """Every offer considered on a day: included (and its role) or the exclusion reason."""
        from pipelines.derive.index import INPUTS_FILE

        _check_id(index_id)
        d = _day(day, "--date")
        df = _read(_config(datasets).datasets_dir, INPUTS_FILE)
        df = df[(df["date"] <= d) & (df["last_date"] >= d)]  # rows hold from date to last_date
        if index_id:
            df = df[df["index_id"] == index_id]
        if as_json:
            typer.echo(_json_rows(df))
            return
        t = Table(title=f"index inputs {d}")
        t.add_column("index", no_wrap=True)
        t.add_column("pricing", no_wrap=True)
        t.add_column("offer (--json: offer_key)", overflow="fold")
        t.add_column("USD/GPU-h", justify="right")
        t.add_column("included")
        t.add_column("reason / role", no_wrap=True)
        for r in df.itertuples(index=False):
            t.add_row(
                # Offers of a model variant no index covers have no index id (NaN here).
                r.index_id if isinstance(r.index_id, str) else f"({r.gpu_model})",
                r.pricing_model,
                r.offer_key.split("|", 2)[0] + " " + r.offer_key.split("|", 2)[1],
                _num(r.price_usd_per_gpu_hour),
                "yes" if r.is_included else "no",
                _label(r.statistic_role if r.is_included else r.exclusion_reason),
            )
        console.print(t)

    @index_app.command("recompute")
    def index_recompute(
        day: Annotated[str, typer.Option("--date", help="UTC date (YYYY-MM-DD).")],
        index_id: Annotated[str | None, typer.Option("--id", "--index", help="Index id.")] = None,
        methodology: Annotated[
            str | None, typer.Option("--methodology", help="Methodology version (default current).")
        ] = None,
        archive: Annotated[
            Path | None, typer.Option("--archive", help="Archive directory (default ./archive).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        datasets: Annotated[Path | None, _DATASETS] = None,
    ) -> None:
        """Rebuild a day's values from the archive alone (in a temporary directory) and
        print them beside the published ones; exit 1 unless every value and hash matches."""
        from pipelines.derive.index import METHODOLOGIES
        from pipelines.ops.index import recompute

        _check_id(index_id)
        if methodology and methodology not in METHODOLOGIES:
            err.print(f"unknown methodology {methodology!r}; known: {', '.join(METHODOLOGIES)}")
            raise typer.Exit(2)
        d = _day(day, "--date")
        cfg = _config(datasets, archive)
        with err.status(f"replaying {cfg.archive_dir} into a temporary directory..."):
            result = recompute(d, config=cfg, index_id=index_id, methodology=methodology)
        rows = result.comparison()
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "date": str(d),
                        "computed_through": None if result.through is None else str(result.through),
                        "matches": result.matches,
                        "notes": result.notes,
                        "rows": rows,
                    },
                    indent=2,
                )
            )
        else:
            t = Table(title=f"index {d}: published vs recomputed from {cfg.archive_dir}")
            t.box, t.pad_edge, t.padding = box.SIMPLE_HEAD, False, (0, 0, 0, 1)  # 80 columns
            t.show_edge = False
            cols = ("index", "pricing", "published", "recomputed", "hash pub", "hash rec")
            # The longest id and pricing model, the headers: nothing is cut at 80 columns.
            widths = {"index": 14, "pricing": 9, "published": 9, "recomputed": 10, "match": 5}
            for col in (*cols, "match"):
                t.add_column(col, no_wrap=True, min_width=widths.get(col))
            for r in rows:
                t.add_row(
                    r["index_id"],
                    r["pricing_model"],
                    _num(r["published"]),
                    _num(r["recomputed"]),
                    (r["published_input_sha256"] or "-")[:8],
                    (r["recomputed_input_sha256"] or "-")[:8],
                    "yes" if r["matches"] else "NO",
                )
            console.print(t)
            for note in result.notes:
                err.print(f"replay: {note}", markup=False, highlight=False)
            if not rows:
                console.print(f"no index value published or recomputed for {d}")
            through = "-" if result.through is None else str(result.through)
            console.print(f"archive replayed up to {through}; matches: {result.matches}")
        raise typer.Exit(0 if result.matches else 1)

    @index_app.command("methodology")
    def index_methodology() -> None:
        """Print the methodology (the README section is generated from the same code)."""
        from pipelines.derive.index import methodology_markdown

        typer.echo(methodology_markdown())


def _label(value) -> str:
    """A text cell; "-" for a missing value (None or NaN as pandas gives it)."""
    return value if isinstance(value, str) and value else "-"
