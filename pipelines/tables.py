"""The catalogue of published tables: every Parquet file under `datasets/`, declared once.

Each `Table` names its file, title, description, columns (with Arrow type, unit and
description) and primary key. The writers (pipelines/store/history.py,
pipelines/derive/specs.py, tflops.py, changes.py, pipelines/ops/runlog.py) write with
`<table>.schema` / `.storage_schema`; `datapackage.json` (pipelines/ops/datapackage.py) and
the README's schema tables (pipelines/ops/docs.py) are generated from `CATALOGUE`; a test
checks that every Parquet file a run writes is listed here and matches its schema.

A column that appears in several tables is declared once (in pipelines/schema.py for the
price columns, here otherwise) and reused, with `Field.but(...)` where another table gives
it a different description or nullability.

One module (~600 lines) on purpose: it is the one catalogue issue 11 asks for, a list of
declarations (one per table, mostly column descriptions) with almost no logic. Split by
table family, a reader would lose the single place that lists every published file, and the
shared column declarations would have to live in yet another module.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

from pipelines.schema import (
    HISTORY_EXTRA_FIELDS,
    HISTORY_FIELDS,
    OBSERVATION_FIELDS,
    SPEC_FIELDS,
    TS,
    Field,
    Table,
)

_OBS = {f.name: f for f in OBSERVATION_FIELDS}
_SPEC = {f.name: f for f in SPEC_FIELDS}
_HIST = {f.name: f for f in HISTORY_EXTRA_FIELDS}
_VERSION = _HIST["dataset_version"]

# --- gpu_prices: the price history ------------------------------------------------------
PRICES = Table(
    file="gpu_prices.parquet",
    title="GPU price history",
    description="One row per price version of an offer. Current prices: rows with valid_to "
    "null. As of a time t: valid_from <= t and (valid_to is null or valid_to > t).",
    fields=tuple(HISTORY_FIELDS),
    primary_key=("offer_key", "valid_from"),
    dictionary_encoded=True,
    is_directory=True,
)

# --- gpu_specs: one row per GPU variant -------------------------------------------------
SPECS = Table(
    file="gpu_specs.parquet",
    title="GPU specs",
    description="GPU spec table (dense TFLOPS per precision, memory, bandwidth, TDP, source), "
    "one row per GPU variant (gpu_model, gpu_form_factor, gpu_memory_gb).",
    fields=(
        _OBS["gpu_model"].but(nullable=False),
        _OBS["gpu_form_factor"],
        _OBS["gpu_memory_gb"],
        # spec_match is the join's verdict, not a column of the spec table
        *[f for f in SPEC_FIELDS if f.name not in ("gpu_spec_source", "spec_match")],
        Field(
            "gpu_counting_unit",
            pa.string(),
            "",
            "What one GPU is, as the clouds count it: board | die | GCD | chip ...",
        ),
        Field(
            "gpu_spec_notes",
            pa.string(),
            "",
            "How a figure was derived (e.g. a sparse headline figure halved).",
        ),
        _SPEC["gpu_spec_source"].but(nullable=False),
    ),
    primary_key=("gpu_model", "gpu_form_factor", "gpu_memory_gb"),
)

# --- gpu_price_per_tflop and its summary -------------------------------------------------
# The precisions ranked (INT8 is left out: TOPS, not FLOPS).
PRECISION_VALUES = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8")
_PRECISION = Field(
    "precision",
    pa.string(),
    "",
    " | ".join(PRECISION_VALUES) + " (dense figures from gpu_specs).",
    False,
)
_USD_PER_PFLOP_HOUR = Field(
    "usd_per_pflop_hour",
    pa.float64(),
    "USD/PFLOP-hour",
    "USD per hour of 1 PFLOP/s of dense peak compute = price_usd_per_gpu_hour * 1000 / "
    "tflops_per_gpu.",
    False,
)
_TFLOPS_PER_GPU = Field(
    "tflops_per_gpu", pa.float64(), "TFLOPS", "Dense TFLOPS of one GPU at `precision`.", False
)

# Why an offer has no value to rank on for a precision: the complete list, first match wins.
UNRANKED_REASONS: dict[str, str] = {
    "no_price": "no positive USD price per GPU-hour (a free tier, or no FX rate for the currency)",
    "gpu_unresolved": "the provider's GPU name did not resolve to a known model",
    "no_spec_row": "the GPU model has no row in pipelines/data/gpu_specs.csv",
    "precision_unknown": "no spec variant of the model has a dense figure for this precision",
}
_RANK_GROUP_TEXT = "pricing_model, price_scope, accelerator_kind and precision"

PRICE_PER_TFLOP = Table(
    file="gpu_price_per_tflop.parquet",
    title="Price per TFLOP",
    description="Every current offer for each precision: USD per PFLOP-hour, ranked (1 = "
    f"cheapest) among offers of the same {_RANK_GROUP_TEXT}, or unranked with its reason.",
    fields=(
        *[
            _OBS[n]
            for n in ("provider", "offer_key", "instance_type", "region", "zone", "pricing_model")
        ],
        _OBS["term"],
        _OBS["price_scope"].but(nullable=False),
        _OBS["accelerator_kind"],
        _OBS["gpu_model"],
        _OBS["gpu_memory_gb"],
        _OBS["gpu_form_factor"],
        _OBS["gpu_count"],
        _OBS["price_usd_per_gpu_hour"],
        _PRECISION,
        _TFLOPS_PER_GPU.but(
            nullable=True,
            description="Dense TFLOPS of one GPU at `precision`; "
            "null when no spec variant has the figure.",
        ),
        _SPEC["spec_match"].but(
            nullable=False,
            description="How tflops_per_gpu was matched: exact = the variant's own figure (or "
            "all fitting variants agree); family_lower_bound = form factor or memory unknown, "
            "the lowest of the fitting variants; none = no figure.",
        ),
        _USD_PER_PFLOP_HOUR.but(nullable=True),
        Field(
            "rank_overall",
            pa.int32(),
            "",
            f"1 = cheapest among ranked offers of the same {_RANK_GROUP_TEXT}; null when unranked.",
        ),
        Field(
            "rank_in_model",
            pa.int32(),
            "",
            f"1 = cheapest among ranked offers of the same gpu_model, {_RANK_GROUP_TEXT}; null "
            "when unranked.",
        ),
        Field(
            "unranked_reason",
            pa.string(),
            "",
            "Why the offer is not ranked for this precision (null when ranked): "
            + "; ".join(f"{k} = {v}" for k, v in UNRANKED_REASONS.items())
            + ".",
            values=tuple(UNRANKED_REASONS),
        ),
        _HIST["last_seen_at"].but(nullable=True),
        _VERSION.but(nullable=True, description="Dataset version the table was computed for."),
    ),
    primary_key=("offer_key", "precision"),
)


def _cheapest(name: str, description: str, base: Field) -> Field:
    return base.but(name=f"cheapest_{name}", description=description, nullable=True)


def _count(name: str, description: str, unit: str) -> Field:
    return Field(name, pa.int32(), unit, description, False)


PRICE_PER_TFLOP_SUMMARY = Table(
    file="gpu_price_per_tflop_summary.parquet",
    title="Price per TFLOP, summary per GPU model",
    description="Per GPU model, pricing model, price scope and precision: every provider and "
    "offer (ranked or not), the cheapest ranked offer and medians across providers (of each "
    "provider's cheapest offer).",
    fields=(
        _OBS["gpu_model"].but(nullable=False),
        _OBS["accelerator_kind"],
        _OBS["pricing_model"],
        _OBS["price_scope"].but(nullable=False),
        _PRECISION,
        _count(
            "provider_count",
            "Providers with a current offer in the group, ranked or not.",
            "providers",
        ),
        _count("offer_count", "Current offers in the group, ranked or not.", "offers"),
        _count("ranked_provider_count", "Providers with a ranked offer in the group.", "providers"),
        _count("ranked_offer_count", "Ranked offers in the group.", "offers"),
        _TFLOPS_PER_GPU.but(
            name="tflops_per_gpu_min",
            description="Lowest tflops_per_gpu of the ranked offers.",
            nullable=True,
        ),
        _TFLOPS_PER_GPU.but(
            name="tflops_per_gpu_max",
            description="Highest tflops_per_gpu of the ranked offers.",
            nullable=True,
        ),
        _USD_PER_PFLOP_HOUR.but(
            name="cheapest_usd_per_pflop_hour",
            description="usd_per_pflop_hour of the cheapest ranked offer; null when none is "
            "ranked for this precision.",
            nullable=True,
        ),
        _cheapest(
            "price_usd_per_gpu_hour",
            "price_usd_per_gpu_hour of the cheapest ranked offer.",
            _OBS["price_usd_per_gpu_hour"],
        ),
        _cheapest("provider", "Provider of the cheapest ranked offer.", _OBS["provider"]),
        _cheapest("offer_key", "Offer key of the cheapest ranked offer.", _OBS["offer_key"]),
        _cheapest("region", "Region of the cheapest ranked offer.", _OBS["region"]),
        _cheapest(
            "spec_match", "spec_match of the cheapest ranked offer's figure.", _SPEC["spec_match"]
        ),
        _USD_PER_PFLOP_HOUR.but(
            name="median_usd_per_pflop_hour",
            description="Median over providers of each provider's cheapest ranked offer (a "
            "provider counts once).",
            nullable=True,
        ),
        _OBS["price_usd_per_gpu_hour"].but(
            name="median_price_usd_per_gpu_hour",
            description="Median over providers of each provider's cheapest USD price per "
            "GPU-hour (every offer with a price).",
        ),
        _VERSION.but(nullable=True, description="Dataset version the table was computed for."),
    ),
    primary_key=("gpu_model", "pricing_model", "price_scope", "precision"),
)

# Index fields, shared by the change events and the index tables.
_DATE = Field("date", pa.date32(), "UTC date", "", False)
_INDEX_ID = Field(
    "index_id",
    pa.string(),
    "",
    "Index id: GPU model, form factor and memory where they vary (H100-SXM, A100-SXM-80GB, "
    "L40S ...); H100 is the composite of H100-SXM and H100-PCIe (README, 'GPU price index').",
    False,
)
_METHODOLOGY = Field(
    "methodology_version",
    pa.string(),
    "",
    "Version of the index methodology (pipelines/derive/index.py, README 'GPU price index').",
    False,
)
# --- gpu_price_changes: change events -----------------------------------------------------
EVENT_TYPES = (
    "price_changed",
    "offer_added",
    "offer_removed",
    "gpu_model_added",
    "gpu_model_removed",
    "offer_gpu_changed",
    "spot_price_changed",
    "index_changed",
)
_EVENT_PRICE = Field("old_price", pa.float64(), "currency/price_unit", "")

PRICE_CHANGES = Table(
    file="gpu_price_changes.parquet",
    title="GPU price change events",
    description="Change events between consecutive good runs of each provider, and daily "
    "moves of the GPU price index (see the README, 'Change alerts').",
    fields=(
        Field(
            "event_id",
            pa.string(),
            "",
            "sha256-derived id of the change (same change, same id: re-runs are idempotent).",
            False,
        ),
        Field("event_type", pa.string(), "", " | ".join(EVENT_TYPES) + ".", False),
        _OBS["provider"].but(
            description="Provider of the offer or group; null for index_changed.", nullable=True
        ),
        _OBS["offer_key"].but(
            description="Offer key (see gpu_prices); null for GPU-model and spot summary events.",
            nullable=True,
        ),
        _OBS["pricing_model"],
        _OBS["region"].but(
            description="Region of the offer or summary group; null for GPU-model events.",
            nullable=True,
        ),
        _OBS["instance_type"].but(
            description="Instance type of the offer; null for GPU-model and summary events.",
            nullable=True,
        ),
        _OBS["gpu_model"].but(
            description="Canonical GPU model (the new one for offer_gpu_changed)."
        ),
        _OBS["gpu_model"].but(
            name="old_gpu_model", description="offer_gpu_changed: the GPU model before."
        ),
        Field("old_value", pa.string(), "", "The value before, as text (price, '1x K80', model)."),
        Field("new_value", pa.string(), "", "The value after, as text."),
        _EVENT_PRICE.but(description="Price before (rounded to 9 decimals)."),
        _EVENT_PRICE.but(name="new_price", description="Price after (rounded to 9 decimals)."),
        Field(
            "change_pct",
            pa.float64(),
            "%",
            "(new_price - old_price) / old_price * 100; null when old_price is 0 or the "
            "currency changed.",
        ),
        _OBS["currency"].but(description="Currency of old_price/new_price.", nullable=True),
        Field(
            "price_unit",
            pa.string(),
            "",
            "hour: whole instance per hour; gpu_hour: per GPU-hour (spot summaries).",
        ),
        Field(
            "offer_count",
            pa.int32(),
            "offers",
            "GPU-model and summary events: offers in the group.",
        ),
        Field("detected_at", TS, "UTC", "When the run that raised the event ran.", False),
        Field(
            "observed_at",
            TS,
            "UTC",
            "When the new value was first observed. Earlier than detected_at when the change "
            "waited for confirmation (a provider's price_confirm_runs, e.g. Azure).",
        ),
        _VERSION.but(
            name="from_version",
            description="Dataset version of the provider's baseline compared against.",
            nullable=True,
        ),
        _VERSION.but(
            name="to_version", description="Dataset version of the run that raised the event."
        ),
        _OBS["source_url"].but(
            description="Source of the new (or, for removals, the last) observation."
        ),
        _INDEX_ID.but(
            description="index_changed: the index whose daily value moved (else null).",
            nullable=True,
        ),
        _DATE.but(
            name="index_date",
            description="index_changed: the UTC day of the new value; old_price is the day "
            "before's.",
            nullable=True,
        ),
        Field(
            "provider_count",
            pa.int32(),
            "providers",
            "index_changed: providers in the new value.",
        ),
        _METHODOLOGY.but(
            description="index_changed: methodology version of both values.", nullable=True
        ),
    ),
    primary_key=("event_id",),
    is_directory=True,  # append-only parts (pipelines/store/parts.py)
)

# --- gpu_price_index and its inputs (pipelines/derive/index/) ---------------------------
_INDEX_PRICE = Field("value_usd_per_gpu_hour", pa.float64(), "USD/GPU-hour", "", True)


def _provider_stat(name: str, what: str) -> Field:
    return _INDEX_PRICE.but(
        name=f"{name}_usd_per_gpu_hour",
        description=f"{what} of the providers' prices (each provider's cheapest eligible "
        "offer); null for the composite.",
    )


PRICE_INDEX = Table(
    file="gpu_price_index.parquet",
    title="GPU price index",
    description="Daily GPU rental price index per GPU variant and pricing model, from the list "
    "prices in force at the end of each UTC day (one row per date, index and pricing model "
    "with a value). Past days are never rewritten; `scrape index recompute --date D` rebuilds "
    "a day from the raw archive.",
    fields=(
        _DATE.but(description="UTC day; prices in force at its end (24:00 UTC) count."),
        _INDEX_ID,
        _OBS["pricing_model"].but(description="on_demand | spot (never mixed)."),
        _INDEX_PRICE.but(
            description="Index value: trimmed mean of the providers' prices (composite: the "
            "stated weighted sum of its components).",
            nullable=False,
        ),
        Field("provider_count", pa.int32(), "providers", "Providers that entered.", False),
        Field("offer_count", pa.int32(), "offers", "Eligible offers that entered.", False),
        _provider_stat("min", "Lowest"),
        _provider_stat("p25", "25th percentile"),
        _provider_stat("median", "Median"),
        _provider_stat("p75", "75th percentile"),
        _provider_stat("max", "Highest"),
        _METHODOLOGY,
        Field(
            "input_sha256",
            pa.string(),
            "",
            "sha256 of the input set: every eligible offer version (offer key, valid_from, "
            "per-GPU price, raw response sha256), independent of row order.",
            False,
        ),
        Field(
            "computed_through",
            TS,
            "UTC",
            "Latest observation in the history when the day was computed; `scrape index "
            "recompute` replays the archive up to it.",
            False,
        ),
    ),
    primary_key=("date", "index_id", "pricing_model"),
)

INDEX_EXCLUSION_REASONS = (
    "pricing_model_not_indexed",
    "not_gpu",
    "price_scope_gpu_only",
    "price_scope_curated_min",
    "resold_offer",
    "form_factor_unknown",
    "memory_unknown",
    "variant_not_indexed",
    "spec_not_exact",
    "no_usd_price",
    "stale",
)
INDEX_ROLES = ("provider_price", "trimmed", "above_provider_min")

PRICE_INDEX_INPUTS = Table(
    file="gpu_price_index_inputs.parquet",
    title="GPU price index inputs",
    description="Every offer of an indexed GPU model in force at the end of each computed "
    "day: whether it entered which index, and why not. One row per run of consecutive days "
    "an offer version had the same verdict (date .. last_date); the inputs of day D are the "
    "rows with date <= D <= last_date.",
    fields=(
        _DATE.but(
            description="First UTC day of the run of days the row stands for: consecutive "
            "days on which this offer version had the same verdict (included or the same "
            "exclusion reason, the same statistic role)."
        ),
        Field(
            "last_date",
            pa.date32(),
            "UTC date",
            "Last day the row stands for. The row holds on every day from date to "
            "last_date; a new verdict, a new price version or a gap starts a new row.",
            False,
        ),
        _INDEX_ID.but(
            description="The index the offer belongs to; null when its variant is not known "
            "or not indexed.",
            nullable=True,
        ),
        _OBS["pricing_model"],
        _OBS["gpu_model"].but(nullable=False),
        _OBS["provider"],
        _OBS["offer_key"],
        _HIST["valid_from"].but(description="valid_from of the offer's price version."),
        _OBS["price_usd_per_gpu_hour"].but(
            description="Per-GPU price the offer enters with (marketplaces: the market median "
            "when published)."
        ),
        _HIST["last_seen_at"],
        Field("is_included", pa.bool_(), "", "True when the offer is eligible.", False),
        Field(
            "exclusion_reason",
            pa.string(),
            "",
            " | ".join(INDEX_EXCLUSION_REASONS) + "; null when included.",
            values=INDEX_EXCLUSION_REASONS,
        ),
        Field(
            "statistic_role",
            pa.string(),
            "",
            "Included offers: provider_price (its provider's cheapest, in the mean) | trimmed "
            "(its provider's price was trimmed off) | above_provider_min.",
            values=INDEX_ROLES,
        ),
        _METHODOLOGY,
    ),
    primary_key=("date", "offer_key"),
)

# --- gpu_runs: the run log ---------------------------------------------------------------
_COUNT = Field("rows", pa.int64(), "rows", "")

RUNS = Table(
    file="gpu_runs.parquet",
    title="Run log",
    description="One row per run and provider, whatever started the run (manual, schedule, "
    "replay).",
    fields=(
        Field("run_id", pa.string(), "", "Run id (start time and a random suffix).", False),
        Field("trigger", pa.string(), "", "manual | schedule | replay.", False),
        Field("started_at", TS, "UTC", "When the run started.", False),
        Field("finished_at", TS, "UTC", "When the run finished."),
        _OBS["provider"],
        Field(
            "status",
            pa.string(),
            "",
            "ok | failed | gate_failed | skipped | unchanged (pipelines/ops/report.py).",
            False,
        ),
        _COUNT.but(
            description="Offers merged: always new + changed + unchanged offers; when nothing "
            "was merged (failed, skipped, already in the history), the rows parsed. A replay "
            "adds up the archived runs it replayed."
        ),
        _COUNT.but(
            name="new_offers",
            unit="offers",
            description="Offers new in the history (null when nothing was merged).",
        ),
        _COUNT.but(
            name="changed_offers", unit="offers", description="Offers whose price version changed."
        ),
        _COUNT.but(
            name="unchanged_offers", unit="offers", description="Offers confirmed unchanged."
        ),
        _COUNT.but(name="removed_offers", unit="offers", description="Offers withdrawn."),
        _COUNT.but(
            name="quarantined_rows",
            description="Rows the gate quarantined (gpu_quarantine); the rest published.",
        ),
        _COUNT.but(name="warning_count", unit="warnings", description="Rows skipped or warnings."),
        Field(
            "seconds",
            pa.float64(),
            "s",
            "The provider's wall time: fetch (or archive read), parse, gate and the "
            "merge/publish step its data went through.",
        ),
        Field("error", pa.string(), "", "One-line error of a failed provider (secrets scrubbed)."),
        _VERSION.but(
            description="The dataset version this run published; null when it published nothing.",
            nullable=True,
        ),
        Field(
            "observed_at",
            TS,
            "UTC",
            "Newest observation the run parsed: when its responses were fetched (for a "
            "replay, when they were recorded). `scrape status` counts staleness from it.",
        ),
        Field(
            "gate_findings",
            pa.string(),
            "",
            "One line per gate finding (row- and run-level), newline-separated.",
        ),
    ),
    primary_key=("run_id", "provider"),
    is_directory=True,  # append-only parts (pipelines/store/parts.py)
)

# --- gpu_quarantine: rows the gate kept out of gpu_prices --------------------------------
# The gate's row-level checks (pipelines/ingest/gate.py, CheckId).
QUARANTINE_CHECKS = (
    "required_field",
    "price_not_positive",
    "free_with_price",
    "gpu_count",
    "price_implausible",
    "duplicate_key",
)
_AS_QUARANTINED = (
    "offer_key",
    "instance_type",
    "region",
    "zone",
    "pricing_model",
    "term",
    "gpu_name_raw",
    "gpu_model",
    "gpu_count",
    "currency",
    "price_per_hour",
    "price_usd_per_gpu_hour",
)

QUARANTINE = Table(
    file="gpu_quarantine.parquet",
    title="Quarantined rows",
    description="Rows the gate kept out of gpu_prices, with the check that failed and the "
    "run. A provider still publishes its other rows unless too many are quarantined "
    "(max_quarantine_fraction).",
    fields=(
        RUNS.field("run_id").but(description="Run that quarantined the row (see gpu_runs)."),
        _VERSION.but(
            description="Dataset version the run published; null when it published nothing.",
            nullable=True,
        ),
        _OBS["provider"],
        Field(
            "check",
            pa.string(),
            "",
            "Gate check that failed: " + " | ".join(QUARANTINE_CHECKS) + ".",
            False,
        ),
        Field("field", pa.string(), "", "Column the check looked at.", False),
        Field("reason", pa.string(), "", "The gate's one-line message for this check.", False),
        Field(
            "provider_published",
            pa.bool_(),
            "",
            "False when the provider failed the gate.",
            False,
        ),
        # As observed, possibly missing: that can be why the row is here.
        *[_OBS[n].but(nullable=True) for n in _AS_QUARANTINED],
        _OBS["observed_at"].but(description="When the row was observed."),
        _OBS["source_url"],
        _OBS["snapshot_sha256"].but(
            description="Archived response the row was parsed from.", nullable=True
        ),
    ),
    primary_key=("run_id", "provider", "offer_key", "check", "observed_at", "snapshot_sha256"),
)

# Every published Parquet table, in the order datapackage.json and the README list them.
CATALOGUE: tuple[Table, ...] = (
    PRICES,
    SPECS,
    PRICE_PER_TFLOP,
    PRICE_PER_TFLOP_SUMMARY,
    PRICE_CHANGES,
    PRICE_INDEX,
    PRICE_INDEX_INPUTS,
    RUNS,
    QUARANTINE,
)
BY_FILE: dict[str, Table] = {t.file: t for t in CATALOGUE}


def schema_version() -> str:
    """Fingerprint of the published schema (files, columns, types, keys): it changes exactly
    when a published column, type or key does. Shown beside the dataset version."""
    canon = [
        [t.file, [[f.name, str(f.type), f.nullable] for f in t.fields], list(t.primary_key)]
        for t in CATALOGUE
    ]
    return hashlib.sha256(json.dumps(canon).encode()).hexdigest()[:12]
