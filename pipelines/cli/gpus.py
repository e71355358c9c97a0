"""`scrape gpus show` and `scrape gpus list`: GPU names and their specs.

scrape gpus show "NVIDIA Tesla V100-SXM2-16GB" nvidia-tesla-t4 [--json]
    one result per name, in order: how it resolves (pipelines/ingest/gpus.py) and its spec row
    (pipelines/data/gpu_specs.csv)
scrape gpus list [--json]
    every GPU model a name can resolve to, with its spec variants

`scrape top` (the cheapest compute) lives in pipelines/cli/top.py.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.cli.common import clean as _clean
from pipelines.cli.common import fmt as _fmt

console = Console()
err = Console(stderr=True)


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
                    t.add_row(
                        "spec variants",
                        f"{variants} (figures they share as is; differing TFLOPS and "
                        "bandwidth: the lowest; other differing columns empty)",
                    )
                t.add_row("spec_match", _fmt(r["spec"].get("spec_match")))
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
