"""The gate: a provider's new observations are checked before they may touch the history.

Two kinds of check, both per provider, each reported as a typed `Finding`:

1. Row-level checks (severity `row`): required fields present, price > 0 except free tiers
   (and exactly 0 for them), gpu_count > 0, a plausible price per GPU-hour for the row's
   accelerator kind and currency, one row per offer key. A row failing any of them is
   *quarantined*: it is left out of what the provider publishes and handed back with its
   check id, field and message, so the run can record it in
   `datasets/gpu_quarantine.parquet`. The rest of the provider is published: one
   placeholder row in a third-party catalog (a TPU at 700 USD/h among ~4,500 rows) must not
   stop a provider from ever updating again.
2. Run-level checks (severity `run`): missing columns, rows carrying another provider id,
   zero rows, a fall in row count versus the provider's last good run beyond
   `max_drop_fraction` (the check that would have stopped "a transient empty API response
   wiped all Lambda VM data", skypilot-catalog#179-#181), and a quarantined share above
   `max_quarantine_fraction` (default 5%: beyond that the source is broken, not noisy).
   Any run-level finding fails the provider, which keeps its last good data.

Price plausibility never depends on an FX rate being available: the USD bound applies to
`price_usd_per_gpu_hour` when it is known, and a bound in the row's own currency applies
to `price_per_hour / gpu_count` always (Scaleway at 6e10 EUR/h was once published because
the check only looked at the USD column, which is empty without ECB rates).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import pandas as pd

from pipelines.schema import OBSERVATION_FIELDS

DEFAULT_MAX_DROP_FRACTION = 0.5
DEFAULT_MAX_QUARANTINE_FRACTION = 0.05

# A GPU-hour above these is a parse error or a placeholder (a monthly or per-term price
# read as hourly, a cents/dollars mix-up, "700" in a third-party catalog), not a price.
# Per accelerator kind, because the dearest real units differ: 8x B200 machines are around
# 15 USD/GPU-hour on demand in 2026 (200 leaves a wide margin); the dearest TPU chip-hour
# (v5p) is 4.20 USD and Trainium/Inferentia/Gaudi chips are cheaper still, so 50 is wide.
MAX_USD_PER_UNIT_HOUR = {"gpu": 200.0, "tpu": 50.0, "asic": 50.0}
MAX_USD_PER_GPU_HOUR = MAX_USD_PER_UNIT_HOUR["gpu"]

# Ceiling on how many units of a currency one USD has bought in recent years, with margin
# (EUR: at most ~1.0 since 2015; JPY: at most ~162): the bound in a row's own currency is
# MAX_USD_PER_UNIT_HOUR * this. It needs no FX rate, so it holds when ECB rates are missing.
CURRENCY_PER_USD_CEILING = {
    "USD": 1.0,
    "EUR": 1.2,
    "GBP": 1.0,
    "CHF": 1.2,
    "CAD": 1.6,
    "AUD": 1.8,
    "SGD": 1.6,
    "JPY": 200.0,
    "INR": 110.0,
    "CNY": 8.0,
    "KRW": 1600.0,
    "BRL": 7.0,
    "SEK": 12.0,
    "NOK": 12.0,
    "PLN": 5.0,
}

# Which row wins among duplicates of one offer key: sorted on these values, the first is
# kept (cheapest, then GPU, then source), never the input order, so a Linux and a Windows
# row cannot flip-flop from run to run. Change detection uses the same order.
DUPLICATE_ORDER = (
    "price_per_hour",
    "gpu_model",
    "gpu_name_raw",
    "gpu_count",
    "currency",
    "source_url",
)


class CheckId(StrEnum):
    """The fixed list of gate checks (the `check` column of gpu_quarantine.parquet)."""

    # row level: the row is quarantined
    REQUIRED_FIELD = "required_field"
    PRICE_NOT_POSITIVE = "price_not_positive"
    FREE_WITH_PRICE = "free_with_price"
    GPU_COUNT = "gpu_count"
    PRICE_IMPLAUSIBLE = "price_implausible"
    DUPLICATE_KEY = "duplicate_key"
    # run level: the provider fails and keeps its last good data
    MISSING_COLUMNS = "missing_columns"
    WRONG_PROVIDER = "wrong_provider"
    ZERO_ROWS = "zero_rows"
    ROW_COUNT_COLLAPSE = "row_count_collapse"
    QUARANTINE_SHARE = "quarantine_share"


class Severity(StrEnum):
    ROW = "row"
    RUN = "run"


@dataclass(frozen=True)
class Finding:
    check: CheckId
    severity: Severity
    provider: str
    field: str | None
    count: int
    example_offer_key: str | None
    message: str

    def __str__(self) -> str:
        """The one line shown in the run summary and the run log."""
        return f"{self.provider}: {self.message}"

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, StrEnum) else v for k, v in asdict(self).items()}


@dataclass
class GateResult:
    provider: str
    rows: int
    findings: list[Finding] = field(default_factory=list)
    # What may be published (row-level failures removed); empty when the run failed.
    publish: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Quarantined rows: the observation columns plus `check`, `field`, `reason`.
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def passed(self) -> bool:
        return not any(f.severity == Severity.RUN for f in self.findings)

    @property
    def quarantined_rows(self) -> int:
        return len(self.quarantined)

    def lines(self) -> list[str]:
        return [str(f) for f in self.findings]


def accelerator_kind(obs: pd.DataFrame) -> pd.Series:
    """gpu | tpu | asic per row: the `accelerator_kind` column when the normalizer sets
    it, else derived from the GPU model name."""
    if "accelerator_kind" in obs.columns and obs["accelerator_kind"].notna().all():
        return obs["accelerator_kind"].astype("string")  # the normalizer's, nothing to fill
    model = obs["gpu_model"] if "gpu_model" in obs.columns else obs["gpu_name_raw"]
    name = model.fillna(obs["gpu_name_raw"]).fillna("").astype(str)
    derived = pd.Series("gpu", index=obs.index, dtype="string")
    derived[name.str.contains(r"\bTPU\b", case=False, regex=True)] = "tpu"
    derived[name.str.contains(r"inferentia|trainium|gaudi", case=False, regex=True)] = "asic"
    if "accelerator_kind" in obs.columns:
        return obs["accelerator_kind"].astype("string").fillna(derived)
    return derived


def deterministic_duplicates(obs: pd.DataFrame) -> pd.Series:
    """True for every row that is a duplicate of an offer key and not the one kept."""
    dup = obs["offer_key"].duplicated(keep=False)
    if not dup.any():
        return dup
    cols = [c for c in DUPLICATE_ORDER if c in obs.columns]
    rows = obs.loc[dup, ["offer_key", *cols]]
    order = rows.astype(str)
    for num in ("price_per_hour", "gpu_count"):
        if num in rows:
            order[num] = pd.to_numeric(rows[num], errors="coerce")
    ranked = order.sort_values(["offer_key", *cols], kind="mergesort", na_position="last")
    losers = ranked.index[ranked["offer_key"].duplicated(keep="first")]
    out = pd.Series(False, index=obs.index)
    out[losers] = True
    return out


def _row_checks(provider: str, obs: pd.DataFrame) -> list[tuple[CheckId, str, pd.Series, str]]:
    """(check, field, failing rows mask, message template with {n}) for every row check."""
    checks: list[tuple[CheckId, str, pd.Series, str]] = []
    for f in OBSERVATION_FIELDS:
        if not f.nullable:
            checks.append(
                (
                    CheckId.REQUIRED_FIELD,
                    f.name,
                    obs[f.name].isna(),
                    f"{{n}} rows with null {f.name}",
                )
            )
    price = pd.to_numeric(obs["price_per_hour"], errors="coerce")
    is_free = obs["pricing_model"] == "free"
    checks.append(
        (
            CheckId.PRICE_NOT_POSITIVE,
            "price_per_hour",
            ~is_free & ~(price > 0),
            "{n} rows with price_per_hour <= 0",
        )
    )
    checks.append(
        (
            CheckId.FREE_WITH_PRICE,
            "price_per_hour",
            is_free & (price != 0),
            "{n} free-tier rows with a non-zero price",
        )
    )
    gpus = pd.to_numeric(obs["gpu_count"], errors="coerce")
    checks.append((CheckId.GPU_COUNT, "gpu_count", ~(gpus > 0), "{n} rows with gpu_count <= 0"))
    checks.extend(_price_checks(obs, price, gpus))
    checks.append(
        (
            CheckId.DUPLICATE_KEY,
            "offer_key",
            deterministic_duplicates(obs),
            "{n} duplicate rows of an offer key (the cheapest row of each key is kept)",
        )
    )
    return checks


def _price_checks(
    obs: pd.DataFrame, price: pd.Series, gpus: pd.Series
) -> list[tuple[CheckId, str, pd.Series, str]]:
    kind = accelerator_kind(obs)
    usd_bound = kind.map(MAX_USD_PER_UNIT_HOUR).fillna(MAX_USD_PER_GPU_HOUR).astype(float)
    out = []
    if "price_usd_per_gpu_hour" in obs.columns:
        usd = pd.to_numeric(obs["price_usd_per_gpu_hour"], errors="coerce")
        for k, bound in MAX_USD_PER_UNIT_HOUR.items():
            mask = (kind == k).fillna(False) & (usd > usd_bound)
            out.append(
                (
                    CheckId.PRICE_IMPLAUSIBLE,
                    "price_usd_per_gpu_hour",
                    mask,
                    f"{{n}} {k.upper()} rows above {bound:g} USD per {k.upper()}-hour",
                )
            )
    # In the row's own currency, FX or not. Unknown currencies get no bound here (their USD
    # column, when an FX rate exists, is still checked above).
    per_unit = price / gpus.where(gpus > 0)
    ceiling = obs["currency"].map(CURRENCY_PER_USD_CEILING).astype(float)
    local_bound = usd_bound * ceiling
    over = (per_unit > local_bound).fillna(False)
    if "price_usd_per_gpu_hour" in obs.columns:
        # Rows already caught by the USD bound are reported once.
        over &= ~(pd.to_numeric(obs["price_usd_per_gpu_hour"], errors="coerce") > usd_bound)
    out.append(
        (
            CheckId.PRICE_IMPLAUSIBLE,
            "price_per_hour",
            over,
            "{n} rows above the per-currency bound per GPU-hour "
            f"({MAX_USD_PER_GPU_HOUR:g} USD or its most in that currency; no FX rate needed)",
        )
    )
    return out


def check(
    provider: str,
    obs: pd.DataFrame | None,
    last_good_rows: int | None,
    *,
    max_drop_fraction: float = DEFAULT_MAX_DROP_FRACTION,
    max_quarantine_fraction: float = DEFAULT_MAX_QUARANTINE_FRACTION,
) -> GateResult:
    """Check `obs`, split off the rows to quarantine, and say whether the rest may be
    published (`GateResult.passed`)."""
    n = 0 if obs is None else len(obs)
    result = GateResult(provider=provider, rows=n)

    def run_finding(check_id: CheckId, message: str, field_: str | None = None) -> None:
        result.findings.append(Finding(check_id, Severity.RUN, provider, field_, n, None, message))

    if obs is None or n == 0:
        run_finding(CheckId.ZERO_ROWS, f"zero rows (last good run had {last_good_rows or 0})")
        return result
    missing = [f.name for f in OBSERVATION_FIELDS if f.name not in obs.columns]
    if missing:
        run_finding(CheckId.MISSING_COLUMNS, f"missing columns {missing}", ", ".join(missing))
        return result
    obs = obs.reset_index(drop=True)
    wrong_provider = obs["provider"] != provider
    if wrong_provider.any():
        result.findings.append(
            Finding(
                CheckId.WRONG_PROVIDER,
                Severity.RUN,
                provider,
                "provider",
                int(wrong_provider.sum()),
                str(obs.loc[wrong_provider, "offer_key"].iloc[0]),
                f"{int(wrong_provider.sum())} rows carry another provider id",
            )
        )

    bad = pd.Series(False, index=obs.index)
    reasons: list[pd.DataFrame] = []
    for check_id, field_, mask, template in _row_checks(provider, obs):
        # Most checks fail no row: told apart on a plain array (a replay runs every check
        # hundreds of times on small frames, where each Series operation is the cost).
        if not mask.to_numpy(dtype=bool, na_value=False).any():
            continue
        # A row is quarantined once, under the first check it fails.
        mask = mask.fillna(False).astype(bool) & ~bad
        if not mask.any():
            continue
        count = int(mask.sum())
        example = obs.loc[mask].iloc[0]
        message = template.format(n=count) + _example(example, field_)
        result.findings.append(
            Finding(
                check_id,
                Severity.ROW,
                provider,
                field_,
                count,
                None if pd.isna(example["offer_key"]) else str(example["offer_key"]),
                message,
            )
        )
        bad |= mask
        reasons.append(
            obs.loc[mask].assign(check=str(check_id), field=field_, reason=f"{provider}: {message}")
        )

    quarantined = int(bad.sum())
    if quarantined and quarantined > max_quarantine_fraction * n:
        run_finding(
            CheckId.QUARANTINE_SHARE,
            f"{quarantined} of {n} rows quarantined ({quarantined / n:.1%}), "
            f"more than the allowed {max_quarantine_fraction:.1%}",
        )
    kept = n - quarantined
    if last_good_rows:
        floor = last_good_rows * (1.0 - max_drop_fraction)
        if kept < floor:
            run_finding(
                CheckId.ROW_COUNT_COLLAPSE,
                f"row count fell from {last_good_rows} to {kept} "
                f"(more than {max_drop_fraction:.0%})",
            )
    result.quarantined = (
        pd.concat(reasons).sort_index(kind="mergesort") if reasons else obs.iloc[0:0]
    )
    if result.passed:
        result.publish = obs.loc[~bad].reset_index(drop=True)
    return result


def _example(row: pd.Series, field_: str) -> str:
    key = row.get("offer_key")
    value = row.get(field_)
    if field_ in ("price_per_hour", "price_usd_per_gpu_hour") and _is_number(value):
        per_gpu = ""
        if field_ == "price_per_hour" and _is_number(row.get("gpu_count")) and row["gpu_count"]:
            per_gpu = f" for {row['gpu_count']:g} GPUs"
        unit = "USD/GPU-hour" if field_ == "price_usd_per_gpu_hour" else f"{row['currency']}/h"
        return f" (e.g. {key} at {value:.2f} {unit}{per_gpu}; field {field_})"
    if pd.isna(key):
        return f" (field {field_})"
    return f" (e.g. {key}; field {field_})"


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not math.isnan(float(value))
