"""`scrape gpus show` and `scrape top`: GPU names, specs and the cheapest compute.

scrape gpus show "NVIDIA Tesla V100-SXM2-16GB" nvidia-tesla-t4 [--json]
    one result per name, in order: how it resolves (pipelines/ingest/gpus.py) and its spec row
    (pipelines/data/gpu_specs.csv)
scrape top [--gpu H100] [--pricing spot] [--precision bf16] [--by gpu-hour] [--region us-]
          [--scope instance] [--kind gpu] [-n 20] [--json]
    the cheapest offers per PFLOP-hour (or per GPU-hour), from
    datasets/gpu_price_per_tflop.parquet, or computed from the current rows of
    datasets/gpu_prices.parquet when that file is absent; every matching offer is listed,
    ranked or unranked with its reason
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # pandas loads only when a command needs it (fast --help)
    import pandas as pd

from pipelines.cli.common import DATASETS_HELP

console = Console()
err = Console(stderr=True)

DEFAULT_PRECISION = "fp32"  # the figure most spec rows carry (consumer and pre-tensor cards too)
DEFAULT_PRICING = "on_demand"


def _clean(value: object) -> object:
    """JSON-safe scalar: NaN/NA -> None, numpy scalars -> Python."""
    import pandas as pd

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


def _datasets_dir(datasets: Path | None) -> Path:
    if datasets is not None:
        return datasets
    from pipelines.config import Config

    return Config.load().datasets_dir


def load_price_per_tflop(datasets_dir: Path) -> pd.DataFrame:
    """The published per-offer table, or the same computed from the current history rows
    (when the table is absent, or was published before its current columns existed)."""
    import pandas as pd

    from pipelines.derive.tflops import TFLOPS_FILE, TFLOPS_SCHEMA, price_per_tflop
    from pipelines.tables import PRICES

    path = datasets_dir / TFLOPS_FILE
    if path.exists():
        df = pd.read_parquet(path)
        if set(TFLOPS_SCHEMA.names) <= set(df.columns):
            return df
    prices = datasets_dir / PRICES.file
    if not prices.exists():
        raise FileNotFoundError(f"neither {path} nor {prices} exists; run `scrape run` first")
    return price_per_tflop(pd.read_parquet(prices))


# `scrape top --by`: the value offers are ranked on (cheapest first).
RANK_BY = {"pflop-hour": "usd_per_pflop_hour", "gpu-hour": "price_usd_per_gpu_hour"}
DEFAULT_SCOPE = "instance"


@dataclass
class TopSelection:
    """What `scrape top` shows: every selected offer, ranked or unranked with its reason."""

    ranked: pd.DataFrame  # cheapest first, with a `rank` column (1 = cheapest; ties share)
    unranked: pd.DataFrame  # with `unranked_reason`
    other_scopes: dict[str, int]  # offers left out because of their price scope
    other_kinds: dict[str, int]  # offers left out because of their accelerator kind


def _choices(value: str | None, allowed: tuple[str, ...], option: str) -> set[str] | None:
    """A comma-separated option value as a set; None for "all" (or no value)."""
    if value is None or value.strip().casefold() == "all":
        return None
    chosen = {v.strip() for v in value.split(",") if v.strip()}
    bad = chosen - set(allowed)
    if bad or not chosen:
        raise ValueError(
            f"{option}: unknown {sorted(bad)}; one or more of {', '.join(allowed)}, or all"
        )
    return chosen


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.fillna("unknown").value_counts().sort_index().items()}


def select_top(
    df: pd.DataFrame,
    *,
    gpu: str | None,
    pricing: str,
    precision: str,
    region: str | None,
    by: str = "pflop-hour",
    scopes: set[str] | None = frozenset({DEFAULT_SCOPE}),
    kinds: set[str] | None = None,
) -> TopSelection:
    """Every current offer matching the filters, split into ranked and unranked.

    Nothing is dropped silently: an offer without a usable figure is unranked with its
    reason (pipelines/derive/tflops.py UNRANKED_REASONS), and offers of another price
    scope or accelerator kind are counted. Without `--gpu` only GPUs are compared by
    default (`kinds`); offers whose GPU did not resolve stay in, unranked.
    """
    import pandas as pd

    from pipelines.derive.tflops import UNRANKED_REASONS

    if gpu:
        from pipelines.ingest.gpus import resolve

        # Accept any spelling the resolver knows ("h100", "RTX_4090"), else the text as is.
        model = resolve(gpu).gpu_model or gpu
        df = df[df["gpu_model"].astype(object).fillna("").str.casefold() == model.casefold()]
    elif kinds is None:
        kinds = {"gpu"}
    df = df[(df["pricing_model"] == pricing) & (df["precision"] == precision)]
    if region:
        wanted = [r.strip().casefold() for r in region.split(",") if r.strip()]
        regions = df["region"].astype(object).fillna("").str.casefold()
        df = df[regions.map(lambda r: any(r == w or r.startswith(w) for w in wanted))]
    other_kinds: dict[str, int] = {}
    if kinds is not None:
        kind = df["accelerator_kind"].astype(object)
        keep = kind.isin(kinds) | kind.isna()  # unknown kind: listed, unranked
        other_kinds = _counts(kind[~keep])
        df = df[keep]
    other_scopes: dict[str, int] = {}
    if scopes is not None:
        keep = df["price_scope"].isin(scopes)
        other_scopes = _counts(df.loc[~keep, "price_scope"].astype(object))
        df = df[keep]
    df = df.copy()
    if by == "gpu-hour":
        price = pd.to_numeric(df["price_usd_per_gpu_hour"], errors="coerce")
        df["unranked_reason"] = None
        df.loc[~price.gt(0), "unranked_reason"] = "no_price"
    is_ranked = df["unranked_reason"].isna()
    value = RANK_BY[by]
    ranked = df[is_ranked].sort_values([value, "offer_key"], kind="stable")
    ranked["rank"] = ranked[value].rank(method="min").astype("int64")
    order = {r: i for i, r in enumerate(UNRANKED_REASONS)}
    unranked = df[~is_ranked].copy()
    unranked["rank"] = None
    unranked = unranked.sort_values(
        ["unranked_reason", "provider", "offer_key"],
        key=lambda s: s.map(order) if s.name == "unranked_reason" else s.astype(str),
        kind="stable",
    )
    return TopSelection(ranked, unranked, other_scopes, other_kinds)


def _records(df: pd.DataFrame, by: str) -> list[dict]:
    from pipelines.derive.tflops import TFLOPS_SCHEMA

    cols = ["rank", *TFLOPS_SCHEMA.names]
    return [
        {**{k: _clean(r[k]) for k in cols}, "ranked_by": RANK_BY[by]}
        for r in df[cols].to_dict("records")
    ]


def _summary_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


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
                    f"{_fmt(r.gpu_memory_gb)}GB" if _clean(r.gpu_memory_gb) is not None else None,
                )
                if isinstance(x, str)
            )
            term = f" ({r.term})" if isinstance(r.term, str) and r.term else ""
            bound = r.spec_match == "family_lower_bound"
            cells = [
                str(r.rank),
                r.provider,
                f"{r.instance_type}{term}",
                _fmt(r.region),
                variant or "-",
                _fmt(r.accelerator_kind),
                _fmt(r.gpu_count),
                f"{r.price_usd_per_gpu_hour:.4f}",
                ("≥" if bound else "") + _fmt(r.tflops_per_gpu),
                "-"
                if _clean(r.usd_per_pflop_hour) is None
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
        reasons = _counts(sel.unranked["unranked_reason"])
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
            scopes = _choices(scope, PRICE_SCOPES, "--scope")
            kinds = _choices(kind, ACCELERATOR_KINDS, "--kind") if kind else None
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
