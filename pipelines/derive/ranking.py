"""The ranking behind `scrape top` and `gpu_prices.cheapest`: one selection, two front ends.

Input: the per-offer price-per-TFLOP table (datasets/gpu_price_per_tflop.parquet, or the
same computed from the current rows of datasets/gpu_prices.parquet when it is absent).
Output: every offer matching the filters, ranked cheapest first or unranked with its reason
(`TopSelection`). It writes nothing; the CLI (pipelines/cli/top.py) prints it and the public
API (gpu_prices/_api.py) returns it as a DataFrame, so both show the same ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads only when a command needs it (fast `scrape --help`)
    import pandas as pd

DEFAULT_PRECISION = "fp32"  # the figure most spec rows carry (consumer and pre-tensor cards too)
DEFAULT_PRICING = "on_demand"

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


def choices(value: str | None, allowed: tuple[str, ...], option: str) -> set[str] | None:
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


def counts(series: pd.Series) -> dict[str, int]:
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
        other_kinds = counts(kind[~keep])
        df = df[keep]
    other_scopes: dict[str, int] = {}
    if scopes is not None:
        keep = df["price_scope"].isin(scopes)
        other_scopes = counts(df.loc[~keep, "price_scope"].astype(object))
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
