"""The functions behind `gpu_prices.load`, `.cheapest` and `.changes`.

They read what `scrape run` published (pd.read_parquet of the files in the datasets
directory) and reuse the pipeline's own selection code, so `cheapest` returns exactly what
`scrape top --json` prints: there is one ranking, in pipelines/derive/ranking.py `select_top`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

PRICES_FILE = "gpu_prices.parquet"
CHANGES_FILE = "gpu_price_changes.parquet"
# Python names for `scrape top --by` values.
_BY = {"gpu_hour": "gpu-hour", "pflop_hour": "pflop-hour"}


def datasets_dir(datasets: str | Path | None = None) -> Path:
    """The datasets directory: `datasets`, else GPU_PRICES_DATASETS_DIR, else ./datasets."""
    if datasets is not None:
        return Path(datasets)
    from pipelines.config import Config

    return Config.load().datasets_dir


def _utc(t: str | date | datetime | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _model(gpu: str) -> str:
    """Any spelling the resolver knows ("h100", "RTX_4090") as the canonical model."""
    from pipelines.ingest.gpus import resolve

    return resolve(gpu).gpu_model or gpu


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def load(
    as_of: str | date | datetime | None = None,
    current: bool = False,
    provider: str | Iterable[str] | None = None,
    gpu: str | Iterable[str] | None = None,
    *,
    datasets: str | Path | None = None,
) -> pd.DataFrame:
    """The price history: one row per price version of an offer (README, "Using the data").

    `current=True`: only the prices that hold now (`valid_to` empty, not withdrawn).
    `as_of="2026-06-01"`: the prices that held at that time (UTC when no zone is given).
    `provider`, `gpu`: one value or several; GPU names in any spelling a provider uses.
    String columns come back as plain strings (not categoricals).
    """
    if current and as_of is not None:
        raise ValueError("give either current=True or as_of=..., not both")
    path = datasets_dir(datasets) / PRICES_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run `scrape run --all` first")
    df = pd.read_parquet(path)
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    providers = _as_list(provider)
    if providers is not None:
        df = df[df["provider"].isin(providers)]
    gpus = _as_list(gpu)
    if gpus is not None:
        wanted = {_model(g).casefold() for g in gpus}
        df = df[df["gpu_model"].fillna("").str.casefold().isin(wanted)]
    if current:
        df = df[df["valid_to"].isna() & ~df["is_withdrawn"].fillna(False).astype(bool)]
    elif as_of is not None:
        t = _utc(as_of)
        df = df[(df["valid_from"] <= t) & (df["valid_to"].isna() | (df["valid_to"] > t))]
    return df.sort_values(["provider", "offer_key", "valid_from"], kind="stable").reset_index(
        drop=True
    )


def cheapest(
    gpu: str | None = None,
    pricing: str = "on_demand",
    by: str = "gpu_hour",
    precision: str | None = None,
    *,
    region: str | None = None,
    scope: str | None = "instance",
    kind: str | None = None,
    n: int = 20,
    datasets: str | Path | None = None,
) -> pd.DataFrame:
    """The cheapest current offers, cheapest first: what `scrape top --json` prints.

    `by="gpu_hour"` ranks on USD per GPU-hour, `by="pflop_hour"` on USD per PFLOP-hour of
    dense compute at `precision` (default fp32, the figure most GPUs have). `scope` and
    `kind` are comma-separated price scopes / accelerator kinds, or "all" (as `--scope` and
    `--kind`). Returns the `n` ranked offers (column `rank`, 1 = cheapest; ties share) and
    then every matching offer that could not be ranked, with its `unranked_reason`.
    """
    from pipelines.derive import ranking as top
    from pipelines.derive.tflops import PRECISIONS, TFLOPS_SCHEMA
    from pipelines.schema import ACCELERATOR_KINDS, PRICE_SCOPES

    if by not in _BY:
        raise ValueError(f"by={by!r}: one of {', '.join(_BY)}")
    precision = precision or top.DEFAULT_PRECISION
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}: one of {', '.join(PRECISIONS)}")
    scopes = top.choices(scope, PRICE_SCOPES, "scope")
    kinds = top.choices(kind, ACCELERATOR_KINDS, "kind") if kind else None
    if kind is not None and kinds is None:  # kind="all"
        kinds = set(ACCELERATOR_KINDS)
    df = top.load_price_per_tflop(datasets_dir(datasets))
    sel = top.select_top(
        df,
        gpu=gpu,
        pricing=pricing,
        precision=precision,
        region=region,
        by=_BY[by],
        scopes=scopes,
        kinds=kinds,
    )
    out = pd.concat([sel.ranked.head(n), sel.unranked], ignore_index=True)
    cols = ["rank", *TFLOPS_SCHEMA.names]
    out = out[cols].copy()
    out["ranked_by"] = top.RANK_BY[_BY[by]]
    return out


def changes(
    since: str | date | datetime | timedelta | None = None,
    *,
    provider: str | Iterable[str] | None = None,
    gpu: str | Iterable[str] | None = None,
    datasets: str | Path | None = None,
) -> pd.DataFrame:
    """Change events (price changed, offer added/removed, GPU changed ...), oldest first.

    `since`: a date/time (events detected at or after it) or a timedelta back from now.
    """
    path = datasets_dir(datasets) / CHANGES_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run `scrape run --all` first")
    df = pd.read_parquet(path)
    if since is not None:
        t = pd.Timestamp.now(tz="UTC") - since if isinstance(since, timedelta) else _utc(since)
        df = df[df["detected_at"] >= t]
    providers = _as_list(provider)
    if providers is not None:
        df = df[df["provider"].isin(providers)]
    gpus = _as_list(gpu)
    if gpus is not None:
        wanted = {_model(g).casefold() for g in gpus}
        df = df[df["gpu_model"].fillna("").str.casefold().isin(wanted)]
    return df.sort_values(["detected_at", "event_id"], kind="stable").reset_index(drop=True)
