"""Change detection's memory: the noise rules and each provider's baseline.

Per provider the baseline lives in `<state_dir>/changes/<provider>.json` (see
pipelines/derive/changes.py for what it holds and why). `collapse` turns one run's
observations into baseline records, one per offer key, independent of row order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.ingest.gate import deterministic_duplicates
from pipelines.schema import PRICE_DECIMALS
from pipelines.store.atomic import write_json_atomic

STATE_SUBDIR = "changes"

DEFAULT_REMOVAL_CONFIRM_RUNS = 2
DEFAULT_VOLATILE_MIN_CHANGE_PCT = 5.0
# Runs a new fixed price must persist after the run that first saw it before it is an
# event (0 = report at once). Providers whose API is known to flap get 1: Azure's Retail
# Prices API has been seen returning another meter's price (Windows, a wrong SKU) for
# hours and then the right one again (FIELD-NOTES.md section 10). Cost: a real change
# there is reported one run later (6 h at the default cadence), with its first
# observation time in the event's `observed_at`.
DEFAULT_PRICE_CONFIRM_RUNS: Mapping[str, int] = {"azure": 1}


@dataclass(frozen=True)
class NoiseRules:
    """Configurable thresholds of the noise rules (module docstring); built from the
    `[changes]` settings by pipelines/ops/events.py `noise_rules`."""

    removal_confirm_runs: int = DEFAULT_REMOVAL_CONFIRM_RUNS
    removal_confirm_after: timedelta | None = None
    min_change_pct: Mapping[str, float] = field(
        default_factory=lambda: {"spot": DEFAULT_VOLATILE_MIN_CHANGE_PCT}
    )
    marketplace_min_change_pct: float = DEFAULT_VOLATILE_MIN_CHANGE_PCT
    # provider -> price_confirm_runs; providers not listed use `price_confirm_runs_default`.
    price_confirm_runs: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_PRICE_CONFIRM_RUNS)
    )
    price_confirm_runs_default: int = 0

    def confirm_runs(self, provider: str) -> int:
        return int(self.price_confirm_runs.get(provider, self.price_confirm_runs_default))

    def threshold_pct(self, pricing_model: str, is_marketplace: bool) -> float:
        if is_marketplace:
            return self.marketplace_min_change_pct
        return float(self.min_change_pct.get(pricing_model, 0.0))


# Columns of an offer kept in the baseline: what the comparisons and the events need.
_BASE_COLUMNS = (
    "offer_key",
    "instance_type",
    "region",
    "pricing_model",
    "gpu_model",
    "gpu_name_raw",
    "gpu_count",
    "currency",
    "price_per_hour",
    "source_url",
    "is_volatile",
    "price_basis",
)


@dataclass
class ProviderState:
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # offer_key -> {"first_missing_at": iso, "missing_runs": int}
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    # offer_key -> a new price waiting for confirmation: {"price_per_hour", "currency",
    # "first_seen_at": iso, "runs": consecutive runs seen, "source_url"}
    unconfirmed: dict[str, dict[str, Any]] = field(default_factory=dict)
    # json([pricing_model, gpu, region, currency]) -> last reported cheapest per GPU-hour
    group_refs: dict[str, float] = field(default_factory=dict)
    dataset_version: str | None = None
    updated_at: str | None = None
    rows: int = 0  # rows of the last good run (the gate's last_good_rows in `scrape diff`)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_version": self.dataset_version,
            "updated_at": self.updated_at,
            "rows": self.rows,
            "offers": [self.offers[k] for k in sorted(self.offers)],
            "pending": self.pending,
            "unconfirmed": self.unconfirmed,
            "group_refs": self.group_refs,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderState:
        return cls(
            offers={o["offer_key"]: dict(o) for o in data.get("offers", [])},
            pending={k: dict(v) for k, v in (data.get("pending") or {}).items()},
            unconfirmed={k: dict(v) for k, v in (data.get("unconfirmed") or {}).items()},
            group_refs={k: float(v) for k, v in (data.get("group_refs") or {}).items()},
            dataset_version=data.get("dataset_version"),
            updated_at=data.get("updated_at"),
            rows=int(data.get("rows") or 0),
        )


def collapse(obs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One baseline record per offer key, independent of row order.

    Duplicate keys are resolved by sorting on the values (cheapest, then GPU, then URL) so
    the same set of rows always yields the same record.
    """
    if len(obs) == 0:
        return {}
    df = pd.DataFrame(
        {
            "offer_key": obs["offer_key"].astype(str),
            "instance_type": obs["instance_type"],
            "region": obs["region"],
            "pricing_model": obs["pricing_model"],
            "gpu_model": obs["gpu_model"] if "gpu_model" in obs else None,
            "gpu_name_raw": obs["gpu_name_raw"] if "gpu_name_raw" in obs else None,
            "gpu_count": pd.to_numeric(obs["gpu_count"], errors="coerce"),
            "currency": obs["currency"],
            "price_per_hour": pd.to_numeric(obs["price_per_hour"], errors="coerce").round(
                PRICE_DECIMALS
            ),
            "source_url": obs["source_url"] if "source_url" in obs else None,
            "price_basis": obs["price_basis"] if "price_basis" in obs else None,
            "is_volatile": (obs["pricing_model"] == "spot")
            | (obs["market_offer_count"].notna() if "market_offer_count" in obs else False),
        }
    )
    # Defence in depth (the gate quarantines duplicates): the same order as the gate's.
    df = df[~deterministic_duplicates(df)]
    # Through Arrow: nulls (None, NaN, NA) all come out as None, and it is fast.
    table = pa.Table.from_pandas(df[list(_BASE_COLUMNS)], preserve_index=False)
    records: dict[str, dict[str, Any]] = {}
    for rec in table.to_pylist():
        rec["is_volatile"] = bool(rec["is_volatile"])
        for col in ("gpu_count", "price_per_hour"):
            if rec[col] is not None:
                rec[col] = float(rec[col])
        records[rec["offer_key"]] = rec
    return records


def state_path(state_dir: Path, provider: str) -> Path:
    return Path(state_dir) / STATE_SUBDIR / f"{provider}.json"


def load_state(state_dir: Path, provider: str) -> ProviderState | None:
    path = state_path(state_dir, provider)
    if not path.exists():
        return None
    return ProviderState.from_json(json.loads(path.read_text()))


def save_state(state_dir: Path, provider: str, st: ProviderState) -> None:
    write_json_atomic(st.to_json(), state_path(state_dir, provider))
