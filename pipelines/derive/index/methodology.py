"""The index methodology as code: which offers are like for like (`IndexDef`), the
composites, the staleness and trimming parameters, versioned in `METHODOLOGIES`; and the
methodology document generated from it (README section "GPU price index", the site's
index page, `scrape index methodology`), so the text cannot drift from the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class IndexDef:
    """One GPU variant index: which offers are like for like.

    `form_factor` None: the model ships in one form factor only (an L40S is a PCIe card,
    an MI300X an OAM module), so the id does not name one and no offer is guessed into it.
    """

    index_id: str
    gpu_model: str
    form_factor: str | None
    memory_gb: tuple[float, ...]


@dataclass(frozen=True)
class Composite:
    """A stated combination of sub-index values (never a pool of their offers)."""

    index_id: str
    weights: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Methodology:
    version: str
    indexes: tuple[IndexDef, ...]
    composites: tuple[Composite, ...]
    # A price version whose last confirmation is older than this at the end of the day is
    # stale. Git-scraped sources confirm weekly, live runs hourly to daily.
    staleness_limit: timedelta
    # Fraction of providers trimmed from each end before the mean (floor(n * fraction)).
    trim_fraction: float
    # A stale version is listed in the inputs (as `stale`) for this long after its last
    # confirmation, then no longer: a provider that stopped being scraped would otherwise
    # add every one of its offers to every later day.
    list_stale_for: timedelta = timedelta(days=30)
    changes: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Leave out the offers of providers that resell other clouds' machines
    # (scrapers.base.ProviderSpec.resells): one cloud must not count twice.
    exclude_resold: bool = False


_V1_INDEXES = (
    IndexDef("H100-SXM", "H100", "SXM", (80.0,)),
    IndexDef("H100-PCIe", "H100", "PCIe", (80.0,)),
    IndexDef("A100-SXM-80GB", "A100", "SXM", (80.0,)),
    IndexDef("A100-SXM-40GB", "A100", "SXM", (40.0,)),
    IndexDef("A100-PCIe-80GB", "A100", "PCIe", (80.0,)),
    IndexDef("L40S", "L40S", None, (48.0,)),
    # HGX B200 boards expose 180 GB per GPU; some clouds list the 192 GB of the package.
    IndexDef("B200-SXM", "B200", "SXM", (180.0, 192.0)),
    IndexDef("MI300X", "MI300X", None, (192.0,)),
)

METHODOLOGIES: dict[str, Methodology] = {
    "1.0": Methodology(
        version="1.0",
        indexes=_V1_INDEXES,
        composites=(Composite("H100", (("H100-SXM", 0.5), ("H100-PCIe", 0.5))),),
        staleness_limit=timedelta(days=7),
        trim_fraction=0.2,
        changes="the first version.",
    ),
    "1.1": Methodology(
        version="1.1",
        indexes=_V1_INDEXES,
        composites=(Composite("H100", (("H100-SXM", 0.5), ("H100-PCIe", 0.5))),),
        staleness_limit=timedelta(days=7),
        trim_fraction=0.2,
        exclude_resold=True,
        changes="as 1.0, except that a reseller's offers (Shadeform's, each another cloud's "
        "machine) are left out (`resold_offer`): in 1.0 the cloud behind them counted twice.",
    ),
}
CURRENT_VERSION = "1.1"
CURRENT = METHODOLOGIES[CURRENT_VERSION]


def index_ids(methodology: Methodology = CURRENT) -> list[str]:
    return [d.index_id for d in methodology.indexes] + [c.index_id for c in methodology.composites]


# --- the methodology document ----------------------------------------------------------


def _variant(d: IndexDef) -> str:
    mem = " or ".join(f"{g:g} GB" for g in d.memory_gb)
    ff = d.form_factor or "any (one form factor exists)"
    return f"| `{d.index_id}` | {d.gpu_model} | {ff} | {mem} |"


def methodology_markdown(m: Methodology = CURRENT) -> str:
    """The README section 'GPU price index' (generated: it cannot drift from the code)."""
    comps = "; ".join(
        f"`{c.index_id}` = " + " + ".join(f"{w:g} x `{i}`" for i, w in c.weights)
        for c in m.composites
    )
    stale_h = m.staleness_limit.total_seconds() / 3600
    lines = [
        f"Methodology version **{m.version}**: {m.changes} Versions that can be recomputed "
        "(`scrape index recompute --methodology V`): "
        + ", ".join(f"`{v}`" for v in METHODOLOGIES)
        + ".",
        "",
        "| index id | GPU model | form factor | memory per GPU |",
        "|---|---|---|---|",
        *[_variant(d) for d in m.indexes],
        "",
        "Each index is computed for on-demand and for spot prices separately "
        f"(`pricing_model`), never mixed. Composite: {comps}; computed from the sub-index "
        "values only on days when every component has one (never by pooling their offers).",
        "",
        "1. **Date**: the prices in force at the end of each UTC day (a version with "
        "`valid_from` < 24:00 <= `valid_to`), backfilled over the whole history.",
        "2. **Eligibility**, in this order, the first failing rule being the offer's "
        "`exclusion_reason`: pricing model on-demand or spot (`pricing_model_not_indexed`); "
        "accelerator kind `gpu` (`not_gpu`); price scope `instance` (`price_scope_gpu_only`: "
        "a GPU-only rate is not an instance; `price_scope_curated_min`: a third party's "
        "summary never enters); "
        + (
            "a seller of its own machines (`resold_offer`: an aggregator's resold offer "
            "would count its cloud twice); "
            if m.exclude_resold
            else ""
        )
        + "form factor known where the model has several "
        "(`form_factor_unknown`: never guessed into SXM or PCIe); memory per GPU known "
        "(`memory_unknown`) and one of the index's (`variant_not_indexed`); spec match exact "
        "when the history carries it (`spec_not_exact`); a USD price (`no_usd_price`); last "
        f"confirmed no more than {stale_h:g} h before the day's end (`stale`).",
        "3. **Per-GPU price**: `price_usd_per_gpu_hour` (instance price / GPU count). A "
        "marketplace aggregate (`marketplace_min`) enters as one offer at its market median "
        "(its minimum is one host's price) when published, else at its minimum.",
        "4. **Statistic**: each provider counts once, at its cheapest eligible offer (a "
        "marketplace with thousands of listings cannot dominate); the index is the mean of "
        f"the provider prices after trimming floor(n x {m.trim_fraction:g}) providers from "
        "each end (none below "
        f"{math.ceil(1 / m.trim_fraction) if m.trim_fraction else 'any'} providers). "
        "Providers weigh equally. Dispersion: min, p25, median, p75, max of the provider "
        "prices.",
        "5. **Audit**: `input_sha256` is the sha256 of the sorted digests of every eligible "
        "offer version (offer key, `valid_from`, per-GPU price, raw response "
        "`snapshot_sha256`); `gpu_price_index_inputs.parquet` lists every offer of an indexed "
        "model with its reason (a stale one for "
        f"{m.list_stale_for.days} days after its last confirmation), one row per run of "
        "consecutive days an offer version had the same verdict (`date` to `last_date`). "
        "Published days are never "
        "rewritten; `computed_through` says what the history held when a day was computed, "
        "and `scrape index recompute --date D` replays the archive up to it in an empty "
        "directory and must find the same value and hash.",
        "",
        "What it is not: these are **list prices** as published by providers, not "
        "transaction prices (discounts, negotiated and reserved rates are not seen); a day "
        "with one provider is that provider's price (see `provider_count`).",
    ]
    return "\n".join(lines)
