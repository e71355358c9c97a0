"""`scrape top`: the cheapest offers per PFLOP-hour (or per GPU-hour).

scrape top [--gpu H100] [--pricing spot] [--precision bf16] [--by gpu-hour] [--region us-]
          [--scope instance] [--kind gpu] [-n 20] [--json]
    the cheapest offers per PFLOP-hour (or per GPU-hour), from
    datasets/gpu_price_per_tflop.parquet, or computed from the current rows of
    datasets/gpu_prices.parquet when that file is absent; every matching offer is listed,
    ranked or unranked with its reason

The selection itself is pipelines/derive/ranking.py (shared with `gpu_prices.cheapest`);
this module checks the options, calls it and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # pandas loads only when a command needs it (fast --help)
    import pandas as pd

from pipelines.cli.common import DATASETS_HELP, clean, fmt
from pipelines.derive.ranking import (
    DEFAULT_PRECISION,
    DEFAULT_PRICING,
    DEFAULT_SCOPE,
    RANK_BY,
    TopSelection,
    choices,
    counts,
    load_price_per_tflop,
    select_top,
)

console = Console()
err = Console(stderr=True)


def _datasets_dir(datasets: Path | None) -> Path:
    if datasets is not None:
        return datasets
    from pipelines.config import Config

    return Config.load().datasets_dir


def _records(df: pd.DataFrame, by: str) -> list[dict]:
    from pipelines.derive.tflops import TFLOPS_SCHEMA

    cols = ["rank", *TFLOPS_SCHEMA.names]
    return [
        {**{k: clean(r[k]) for k in cols}, "ranked_by": RANK_BY[by]}
        for r in df[cols].to_dict("records")
    ]


def _summary_counts(by_name: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in by_name.items())


def _print_top(
    sel: TopSelection, *, title: str, precision: str, n: int, several_scopes: bool
) -> None:
    rows = sel.ranked.head(n)
    if rows.empty and sel.unranked.empty:
        console.print(f"{title}: no offers")
    elif rows.empty:
        console.print(f"{title}: no ranked offers")
    else:
        t = Table(title=title)
        columns = [
            ("#", "right"),
            ("provider", "left"),
            ("instance", "left"),
            ("region", "left"),
            ("gpu", "left"),
            ("kind", "left"),
            ("gpus", "right"),
            ("$/GPU-h", "right"),
            (f"{precision} TFLOPS", "right"),
            ("$/PFLOP-h", "right"),
        ]
        if several_scopes:
            columns.append(("scope", "left"))
        for col, just in columns:
            t.add_column(col, justify=just)
        for r in rows.itertuples(index=False):
            variant = " ".join(
                x
                for x in (
                    r.gpu_model,
                    r.gpu_form_factor,
                    f"{fmt(r.gpu_memory_gb)}GB" if clean(r.gpu_memory_gb) is not None else None,
                )
                if isinstance(x, str)
            )
            term = f" ({r.term})" if isinstance(r.term, str) and r.term else ""
            bound = r.spec_match == "family_lower_bound"
            cells = [
                str(r.rank),
                r.provider,
                f"{r.instance_type}{term}",
                fmt(r.region),
                variant or "-",
                fmt(r.accelerator_kind),
                fmt(r.gpu_count),
                f"{r.price_usd_per_gpu_hour:.4f}",
                ("≥" if bound else "") + fmt(r.tflops_per_gpu),
                "-"
                if clean(r.usd_per_pflop_hour) is None
                else ("≤" if bound else "") + f"{r.usd_per_pflop_hour:.3f}",
            ]
            if several_scopes:
                cells.append(r.price_scope)
            t.add_row(*cells)
        console.print(t)
    notes = []
    if len(sel.ranked) > len(rows):
        notes.append(f"showing {len(rows)} of {len(sel.ranked)} ranked offers (-n to change)")
    if (rows["spec_match"] == "family_lower_bound").any():
        notes.append(
            "≥/≤: form factor or memory unknown, so the TFLOPS figure is the lowest of the "
            "model's variants (spec_match family_lower_bound)"
        )
    if len(sel.unranked):
        reasons = counts(sel.unranked["unranked_reason"])
        notes.append(
            f"unranked: {len(sel.unranked)} offers ({_summary_counts(reasons)}); "
            "--json lists them with their reason"
        )
    if sel.other_scopes:
        notes.append(
            f"not compared: {sum(sel.other_scopes.values())} offers of other price scopes "
            f"({_summary_counts(sel.other_scopes)}); --scope all to include them"
        )
    if sel.other_kinds:
        notes.append(
            f"not compared: {sum(sel.other_kinds.values())} offers of other accelerator kinds "
            f"({_summary_counts(sel.other_kinds)}); --kind all to include them"
        )
    for note in notes:
        console.print(note, highlight=False)


def _check_top_options(
    gpu: str | None, pricing: str, precision: str, datasets: Path | None
) -> None:
    """`scrape top`'s inputs (pipelines/cli/common.py): a typo in a name is an error with a
    "did you mean", not an empty "no offers"; so is a missing datasets directory."""
    from pipelines.cli import common
    from pipelines.config import Config
    from pipelines.derive.tflops import PRECISIONS
    from scrapers.base import PRICING_MODELS

    common.check_choice(pricing, PRICING_MODELS, "--pricing")
    common.check_choice(precision, PRECISIONS, "--precision")
    if gpu:
        common.check_gpu(gpu)
    if datasets is None:
        common.published_datasets(Config.load())
    else:
        common.existing_dir(datasets, "--datasets")


def register(app: typer.Typer) -> None:
    app.command("top")(top)


def top(
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="GPU model, any spelling (H100, rtx_4090).")
    ] = None,
    pricing: Annotated[
        str,
        typer.Option(
            "--pricing", help="on_demand | spot | reserved_1y | reserved_3y | subscription."
        ),
    ] = DEFAULT_PRICING,
    precision: Annotated[
        str,
        typer.Option("--precision", help="fp64 | fp32 | tf32 | fp16 | bf16 | fp8 (dense)."),
    ] = DEFAULT_PRECISION,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="pflop-hour: USD per PFLOP-hour of dense compute; gpu-hour: USD per GPU-hour.",
        ),
    ] = "pflop-hour",
    region: Annotated[
        str | None,
        typer.Option("--region", help="Region code or prefix; comma-separated for several."),
    ] = None,
    scope: Annotated[
        str,
        typer.Option(
            "--scope",
            help="Price scopes to compare, comma-separated: instance, gpu_only, "
            "marketplace_min, curated_min, or all.",
        ),
    ] = DEFAULT_SCOPE,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="Accelerator kinds: gpu, tpu, asic, or all (default: gpu; with --gpu, "
            "that model's kind).",
        ),
    ] = None,
    n: Annotated[int, typer.Option("-n", "--limit", min=1, help="Ranked rows to show.")] = 20,
    datasets: Annotated[
        Path | None,
        typer.Option("--datasets", help=DATASETS_HELP),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print JSON rows: the ranked ones (at most -n), then every unranked one "
            "with its unranked_reason.",
        ),
    ] = False,
) -> None:
    """The cheapest offers per PFLOP-hour of dense compute (or per GPU-hour, --by gpu-hour).

    Every current offer that matches is shown: ranked, or unranked with its reason.
    Like with like: one pricing model, whole-instance prices and GPUs by default.
    """
    _check_top_options(gpu, pricing, precision, datasets)
    from pipelines.schema import ACCELERATOR_KINDS, PRICE_SCOPES

    if by not in RANK_BY:
        err.print(f"unknown --by {by!r}; one of {', '.join(RANK_BY)}")
        raise typer.Exit(2)
    try:
        scopes = choices(scope, PRICE_SCOPES, "--scope")
        kinds = choices(kind, ACCELERATOR_KINDS, "--kind") if kind else None
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    try:
        df = load_price_per_tflop(_datasets_dir(datasets))
    except FileNotFoundError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    if kind is not None and kinds is None:  # --kind all
        kinds = set(ACCELERATOR_KINDS)
    sel = select_top(
        df,
        gpu=gpu,
        pricing=pricing,
        precision=precision,
        region=region,
        by=by,
        scopes=scopes,
        kinds=kinds,
    )
    if as_json:
        records = _records(sel.ranked.head(n), by) + _records(sel.unranked, by)
        typer.echo(json.dumps(records, indent=2, default=str))
        return
    what = f"cheapest {precision} compute" if by == "pflop-hour" else "cheapest GPU-hour"
    title = (
        f"{what}, {pricing}"
        + (f", {gpu}" if gpu else "")
        + (f", region {region}" if region else "")
        + (f", {scope}" if scope != DEFAULT_SCOPE else "")
    )
    _print_top(
        sel,
        title=title,
        precision=precision,
        n=n,
        several_scopes=scopes is None or len(scopes) > 1,
    )
