"""`scrape gpus show` and `scrape top`: GPU names, specs and the cheapest compute.

scrape gpus show "NVIDIA Tesla V100-SXM2-16GB" nvidia-tesla-t4 [--json]
    one result per name, in order: how it resolves (pipelines/ingest/gpus.py) and its spec row
    (pipelines/data/gpu_specs.csv)
scrape top [--gpu H100] [--pricing spot] [--precision bf16] [--region us-] [-n 20]
    the cheapest offers per PFLOP-hour, from datasets/gpu_price_per_tflop.parquet, or
    computed from the current rows of datasets/gpu_prices.parquet when that file is absent
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import DATASETS_HELP

console = Console()
err = Console(stderr=True)

DEFAULT_PRECISION = "fp32"  # the figure most spec rows carry (consumer and pre-tensor cards too)
DEFAULT_PRICING = "on_demand"


def _clean(value: object) -> object:
    """JSON-safe scalar: NaN/NA -> None, numpy scalars -> Python."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def describe(
    name: str,
    *,
    provider: str | None = None,
    instance_type: str | None = None,
    memory_gb: float | None = None,
) -> dict:
    """Resolution and matched spec row(s) for one raw GPU name."""
    from pipelines.derive.specs import KEY_COLUMNS, candidates, spec_values
    from pipelines.ingest.gpus import resolve

    res = resolve(name, memory_gb=memory_gb, provider=provider, instance_type=instance_type)
    out: dict = {
        "raw": name,
        "gpu_model": res.gpu_model,
        "gpu_memory_gb": res.gpu_memory_gb,
        # name | provider | unique_variant (the spec table has one memory for the model)
        "memory_source": res.memory_source,
        "gpu_form_factor": res.gpu_form_factor,
        "how": res.how,
        # An ambiguous short name: the models it may be; --provider or --memory-gb decides.
        "ambiguous_models": list(res.ambiguous_models),
        "spec": None,
        "spec_variants": [],
    }
    if res.gpu_model is None:
        return out
    cand = candidates(res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor)
    out["spec_variants"] = [
        {k: _clean(v) for k, v in zip(KEY_COLUMNS, row, strict=True)}
        for row in cand[KEY_COLUMNS].itertuples(index=False, name=None)
    ]
    values = spec_values(res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor)
    out["spec"] = None if values is None else {k: _clean(v) for k, v in values.items()}
    return out


def _fmt(value: object, digits: int = 2) -> str:
    value = _clean(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if not math.isinf(value) else "inf"
    return str(value)


_MEMORY_SOURCE_TEXT = {
    "name": "the name",
    "provider": "the provider",
    "unique_variant": "the only spec variant",
}


def _print_show(results: list[dict]) -> None:
    from pipelines.derive.specs import PRECISION_COLUMNS

    for r in results:
        t = Table(title=f"{r['raw']!r}", show_header=False, title_justify="left")
        t.add_column("field", style="bold")
        t.add_column("value", overflow="fold")
        t.add_row("gpu_model", _fmt(r["gpu_model"]))
        if r["ambiguous_models"]:
            t.add_row(
                "ambiguous",
                f"{', '.join(r['ambiguous_models'])} [yellow](give --provider or --memory-gb)[/]",
            )
        memory = _fmt(r["gpu_memory_gb"])
        if r["memory_source"]:
            memory += f" (from {_MEMORY_SOURCE_TEXT.get(r['memory_source'], r['memory_source'])})"
        t.add_row("gpu_memory_gb", memory)
        t.add_row("gpu_form_factor", _fmt(r["gpu_form_factor"]))
        t.add_row("resolved by", r["how"])
        if r["gpu_model"] is not None:
            if r["spec"] is None:
                t.add_row("spec", "[yellow]no spec row[/]")
            else:
                if len(r["spec_variants"]) > 1:
                    variants = ", ".join(
                        f"{v['gpu_form_factor'] or '?'} {_fmt(v['gpu_memory_gb'])} GB"
                        for v in r["spec_variants"]
                    )
                    t.add_row("spec variants", f"{variants} (only columns equal in all are shown)")
                s = r["spec"]
                t.add_row(
                    "vendor / arch", f"{_fmt(s['gpu_vendor'])} / {_fmt(s['gpu_architecture'])}"
                )
                t.add_row("launch", _fmt(s["gpu_launch_month"]))
                t.add_row(
                    "memory",
                    f"{_fmt(s['gpu_memory_type'])}, {_fmt(s['gpu_memory_bandwidth_gbps'])} GB/s",
                )
                dense = ", ".join(
                    f"{p} {_fmt(s[c])}"
                    for p, c in PRECISION_COLUMNS.items()
                    if s.get(c) is not None
                )
                t.add_row("dense TFLOPS/TOPS", dense or "-")
                t.add_row("TDP W", _fmt(s["gpu_tdp_w"]))
                t.add_row("source", _fmt(s["gpu_spec_source"]))
        console.print(t)


def _report_unknown(results: list[dict]) -> None:
    """One line per name that resolved to no model, and exit 1: a typo is not an answer."""
    from pipelines.errors import did_you_mean
    from pipelines.ingest.gpus import known_models

    unknown = [r["raw"] for r in results if r["gpu_model"] is None and not r["ambiguous_models"]]
    for name in unknown:
        hint = did_you_mean(name, known_models()) or " (`scrape gpus list` shows the known models)"
        err.print(f"unknown GPU name {name!r}{hint}", markup=False, highlight=False)
    if unknown:
        raise typer.Exit(1)


def _datasets_dir(datasets: Path | None) -> Path:
    if datasets is not None:
        return datasets
    from pipelines.config import Config

    return Config.load().datasets_dir


def load_price_per_tflop(datasets_dir: Path) -> pd.DataFrame:
    """The published per-offer table, or the same computed from the current history rows."""
    from pipelines.derive.tflops import TFLOPS_FILE, price_per_tflop
    from pipelines.tables import PRICES

    path = datasets_dir / TFLOPS_FILE
    if path.exists():
        return pd.read_parquet(path)
    prices = datasets_dir / PRICES.file
    if not prices.exists():
        raise FileNotFoundError(f"neither {path} nor {prices} exists; run `scrape run` first")
    return price_per_tflop(pd.read_parquet(prices))


def select_top(
    df: pd.DataFrame, *, gpu: str | None, pricing: str, precision: str, region: str | None, n: int
) -> pd.DataFrame:
    if gpu:
        from pipelines.ingest.gpus import resolve

        # Accept any spelling the resolver knows ("h100", "RTX_4090"), else the text as is.
        model = resolve(gpu).gpu_model or gpu
        df = df[df["gpu_model"].str.casefold() == model.casefold()]
    df = df[(df["pricing_model"] == pricing) & (df["precision"] == precision)]
    if region:
        wanted = [r.strip().casefold() for r in region.split(",") if r.strip()]
        regions = df["region"].fillna("").str.casefold()
        df = df[regions.map(lambda r: any(r == w or r.startswith(w) for w in wanted))]
    return df.sort_values(["usd_per_pflop_hour", "offer_key"], kind="stable").head(n)


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
    from pipelines.cli.common import HELP_MARKUP

    gpus_app = typer.Typer(
        no_args_is_help=True, help="GPU names and specs.", rich_markup_mode=HELP_MARKUP
    )
    app.add_typer(gpus_app, name="gpus")

    @gpus_app.command("show")
    def gpus_show(
        names: Annotated[list[str], typer.Argument(help="GPU names as any provider spells them.")],
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON (a list, one item per name).")
        ] = False,
        provider: Annotated[
            str | None, typer.Option("--provider", help="Provider context (e.g. linode).")
        ] = None,
        instance_type: Annotated[
            str | None,
            typer.Option("--instance-type", help="Instance type context (e.g. p4d.24xlarge)."),
        ] = None,
        memory_gb: Annotated[
            float | None, typer.Option("--memory-gb", help="Stated memory per GPU.")
        ] = None,
    ) -> None:
        """How each name resolves (gpu_model, memory, form factor, how) and its spec row."""
        results = [
            describe(n, provider=provider, instance_type=instance_type, memory_gb=memory_gb)
            for n in names
        ]
        if as_json:
            typer.echo(json.dumps(results, indent=2))
        else:
            _print_show(results)
        _report_unknown(results)

    @gpus_app.command("list")
    def gpus_list(
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    ) -> None:
        """Every GPU model a provider's name can resolve to, with its spec variants."""
        from pipelines.derive.specs import KEY_COLUMNS, candidates
        from pipelines.ingest.gpus import known_models

        rows = []
        for model in known_models():
            cand = candidates(model)
            rows.append(
                {
                    "gpu_model": model,
                    "spec_variants": [
                        {k: _clean(v) for k, v in zip(KEY_COLUMNS, row, strict=True)}
                        for row in cand[KEY_COLUMNS].itertuples(index=False, name=None)
                    ],
                }
            )
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        t = Table(title=f"{len(rows)} known GPU models")
        t.add_column("gpu_model")
        t.add_column("spec variants (form factor, memory)", overflow="fold")
        for r in rows:
            variants = ", ".join(
                " ".join(x for x in (v["gpu_form_factor"], f"{_fmt(v['gpu_memory_gb'])} GB") if x)
                for v in r["spec_variants"]
            )
            t.add_row(r["gpu_model"], variants or "[yellow]no spec row[/]")
        console.print(t)

    @app.command("top")
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
        region: Annotated[
            str | None,
            typer.Option("--region", help="Region code or prefix; comma-separated for several."),
        ] = None,
        n: Annotated[int, typer.Option("-n", "--limit", min=1, help="Rows to show.")] = 20,
        datasets: Annotated[
            Path | None,
            typer.Option("--datasets", help=DATASETS_HELP),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON rows instead of a table.")
        ] = False,
    ) -> None:
        """The cheapest offers per PFLOP-hour of dense compute."""
        _check_top_options(gpu, pricing, precision, datasets)
        try:
            df = load_price_per_tflop(_datasets_dir(datasets))
        except FileNotFoundError as exc:
            err.print(str(exc))
            raise typer.Exit(1) from None
        rows = select_top(df, gpu=gpu, pricing=pricing, precision=precision, region=region, n=n)
        if as_json:
            records = [{k: _clean(v) for k, v in r.items()} for r in rows.to_dict("records")]
            typer.echo(json.dumps(records, indent=2, default=str))
            return
        title = (
            f"cheapest {precision} compute, {pricing}"
            + (f", {gpu}" if gpu else "")
            + (f", region {region}" if region else "")
        )
        if rows.empty:
            console.print(f"{title}: no offers")
            return
        t = Table(title=title)
        for col, just in (
            ("#", "right"),
            ("provider", "left"),
            ("instance", "left"),
            ("region", "left"),
            ("gpu", "left"),
            ("gpus", "right"),
            ("$/GPU-h", "right"),
            (f"{precision} TFLOPS", "right"),
            ("$/PFLOP-h", "right"),
            ("rank in model", "right"),
        ):
            t.add_column(col, justify=just)
        for i, r in enumerate(rows.itertuples(index=False), start=1):
            variant = " ".join(
                x
                for x in (
                    r.gpu_model,
                    r.gpu_form_factor,
                    f"{_fmt(r.gpu_memory_gb)}GB" if _clean(r.gpu_memory_gb) is not None else None,
                )
                if isinstance(x, str)
            )
            term = f" ({r.term})" if isinstance(r.term, str) and r.term else ""
            t.add_row(
                str(i),
                r.provider,
                f"{r.instance_type}{term}",
                _fmt(r.region),
                variant,
                _fmt(r.gpu_count),
                f"{r.price_usd_per_gpu_hour:.4f}",
                _fmt(r.tflops_per_gpu),
                f"{r.usd_per_pflop_hour:.3f}",
                str(r.rank_in_model),
            )
        console.print(t)
