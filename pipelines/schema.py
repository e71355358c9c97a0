"""Columns of the published tables: the `Field` and `Table` types, and the price columns.

Adding a field to `Offer` cannot change a published file: only these lists do. Each column
is declared once with its Arrow type, unit and description. This module holds the columns
of a price observation and of the price history (the ingest layer needs them too);
pipelines/tables.py, the catalogue, declares every published table from them (file name,
columns, primary key) and adds the other tables' columns. Writers, `datapackage.json` and
the README's schema tables are generated from the catalogue.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa

from scrapers.base import PRICE_SCOPES as _OFFER_PRICE_SCOPES

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Field:
    name: str
    type: pa.DataType
    unit: str
    description: str
    nullable: bool = True
    # The only values a string column may take (documented, and an `enum` constraint in
    # datapackage.json); empty = free text.
    values: tuple[str, ...] = ()

    def arrow(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)

    def but(self, **changes: Any) -> Field:
        """The same column as used by another table (other description or nullability)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Table:
    """One published table: its file under `datasets/`, columns and primary key."""

    file: str
    title: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    # On disk, string columns are dictionary-encoded (see storage_schema).
    dictionary_encoded: bool = False
    # A directory of Parquet parts (read as one table) rather than one file.
    is_directory: bool = False

    @property
    def name(self) -> str:
        return self.file.removesuffix(".parquet")

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @cached_property
    def schema(self) -> pa.Schema:
        """The logical Arrow schema (what readers get, modulo dictionary encoding)."""
        return arrow_schema(list(self.fields))

    @cached_property
    def storage_schema(self) -> pa.Schema:
        """The schema the files are written with."""
        return storage_schema(self.schema) if self.dictionary_encoded else self.schema

    def frictionless_schema(self) -> dict[str, Any]:
        """Frictionless Table Schema descriptor of this table."""
        return {
            "fields": frictionless_fields(list(self.fields)),
            "primaryKey": list(self.primary_key),
        }


# What a price covers, as the parsers state it (scrapers.base.Offer.price_scope). Rankings
# compare like with like: `instance` prices by default.
PRICE_SCOPES = _OFFER_PRICE_SCOPES
# What kind of accelerator the row's GPU model is (pipelines/data/accelerator_kinds.csv).
ACCELERATOR_KINDS = ("gpu", "tpu", "asic")
# How the spec columns were matched to the offer's GPU (pipelines/derive/specs.py).
SPEC_MATCHES = ("exact", "family_lower_bound", "none")

# --- normalized observations: one row per offer per successful scrape -----------------
OBSERVATION_FIELDS: list[Field] = [
    Field("provider", pa.string(), "", "Provider id (lowercase), e.g. azure, aws, gcp.", False),
    Field(
        "offer_key",
        pa.string(),
        "",
        "Stable offer id: provider|instance_type|region|zone|pricing_model|term. The GPU is not part of the key, so a GPU change is a change of the same offer.",
        False,
    ),
    Field(
        "instance_type",
        pa.string(),
        "",
        "Provider's name for what is rented (VM size, machine type, plan, accelerator type).",
        False,
    ),
    Field(
        "region",
        pa.string(),
        "",
        "Provider region code (or country for marketplaces; 'global' when not regional).",
        False,
    ),
    Field("zone", pa.string(), "", "Availability zone when the price is per zone, else null."),
    Field(
        "pricing_model",
        pa.string(),
        "",
        "on_demand | spot | reserved_1y | reserved_3y | subscription | free.",
        False,
    ),
    Field(
        "term",
        pa.string(),
        "",
        "Variant of a reserved/commitment price, e.g. 'standard/partial_upfront'; null otherwise.",
    ),
    Field("gpu_name_raw", pa.string(), "", "GPU name exactly as the provider spells it."),
    Field(
        "gpu_model",
        pa.string(),
        "",
        "Canonical GPU family, e.g. 'H100', 'T4', 'RTX 4090', 'TPU v5e'. Null when unresolved (see gpu_resolution).",
    ),
    Field("gpu_memory_gb", pa.float64(), "GB", "Memory per GPU."),
    Field(
        "gpu_form_factor", pa.string(), "", "SXM | PCIe | NVL | null when not known for certain."
    ),
    Field(
        "gpu_resolution",
        pa.string(),
        "",
        "How gpu_model was resolved: alias, rule, context, hint, unknown.",
    ),
    Field(
        "accelerator_kind",
        pa.string(),
        "",
        "gpu | tpu (Google TPU) | asic (Inferentia, Trainium, Gaudi-style chips), from gpu_model and pipelines/data/accelerator_kinds.csv; null when gpu_model is unresolved. Rankings never rank one kind against another.",
        values=ACCELERATOR_KINDS,
    ),
    Field(
        "gpu_count",
        pa.float64(),
        "GPUs",
        "GPUs in the offer; fractional for partitioned GPUs. A K80/M60 counts per die, as the clouds do.",
        False,
    ),
    Field("vcpus", pa.float64(), "vCPUs", "Virtual CPUs of the instance."),
    Field("memory_gb", pa.float64(), "GB", "Instance RAM."),
    Field(
        "currency", pa.string(), "ISO 4217", "Currency the provider published the price in.", False
    ),
    Field(
        "price_per_hour",
        pa.float64(),
        "currency/hour",
        "Whole-instance price per hour in `currency` (converted from per second/minute/month/term where quoted so).",
        False,
    ),
    Field(
        "price_unit_published",
        pa.string(),
        "",
        "Unit the provider quoted: hour, minute, second, month, gpu_hour, term ...",
    ),
    Field(
        "fx_rate_usd_per_unit",
        pa.float64(),
        "USD per currency unit",
        "FX rate used for the USD columns (1.0 for USD).",
    ),
    Field("fx_rate_date", pa.date32(), "", "Date of the ECB reference rate used (null for USD)."),
    Field("price_usd_per_hour", pa.float64(), "USD/hour", "Whole-instance price per hour in USD."),
    Field(
        "price_usd_per_gpu_hour", pa.float64(), "USD/GPU-hour", "price_usd_per_hour / gpu_count."
    ),
    Field(
        "price_scope",
        pa.string(),
        "",
        "What the price covers: instance = the whole machine with its CPU and RAM; gpu_only = the accelerator part only, CPU/RAM/disk billed on top (GCP GPU SKUs, TensorDock's GPU rate); marketplace_min = the cheapest host offer of a marketplace market; curated_min = the minimum of a third party's curated summary. Rankings compare instance prices unless asked otherwise. Always set by the pipeline (instance unless the parser says otherwise).",
        values=PRICE_SCOPES,
    ),
    Field(
        "price_basis",
        pa.string(),
        "",
        "What a third party computed the price from, when the source is a calculation rather than the provider's own price list: for gcp_cyclenerd the source's machine definition, e.g. 'a100-80gb=1;cpu=12;local-ssd=375;ram=170' (accelerator key and count, vCPUs, GB RAM, GB of bundled local SSD). A new basis is the source redefining the price (a corrected GPU, local SSD now included), not the provider repricing: it makes a new version here but no change event. Null for prices the provider publishes itself.",
    ),
    Field(
        "upfront_fee",
        pa.float64(),
        "currency",
        "Reserved terms: upfront fee, already amortized into price_per_hour.",
    ),
    Field(
        "storage_per_month",
        pa.float64(),
        "currency/month",
        "Fixed monthly storage/access fee that comes with the offer (e.g. Paperspace).",
    ),
    Field(
        "market_offer_count",
        pa.int32(),
        "offers",
        "Marketplaces: number of host offers aggregated into this row (price_per_hour is their minimum).",
    ),
    Field(
        "market_price_p25_per_hour",
        pa.float64(),
        "currency/hour",
        "Marketplaces: 25th percentile of the aggregated offers.",
    ),
    Field(
        "market_price_median_per_hour",
        pa.float64(),
        "currency/hour",
        "Marketplaces: median of the aggregated offers.",
    ),
    Field("observed_at", TS, "UTC", "When the response this row came from was fetched.", False),
    Field("source_url", pa.string(), "", "URL of the response (secrets redacted)."),
    Field(
        "snapshot_sha256", pa.string(), "", "sha256 of the raw response body in the archive.", False
    ),
    Field(
        "extra_json",
        pa.string(),
        "",
        "Provider-specific details as a JSON object (reserved term details, plan limits ...).",
    ),
]

# --- GPU spec columns joined into the history (issue: GPU specs) -----------------------
SPEC_FIELDS: list[Field] = [
    Field("gpu_vendor", pa.string(), "", "GPU vendor (NVIDIA, AMD, Intel, Google ...)."),
    Field("gpu_architecture", pa.string(), "", "Architecture, e.g. Hopper, Ampere, CDNA 3."),
    Field("gpu_launch_month", pa.string(), "YYYY-MM", "Launch month."),
    Field("gpu_memory_type", pa.string(), "", "HBM3, GDDR6 ..."),
    Field("gpu_memory_bandwidth_gbps", pa.float64(), "GB/s", "Memory bandwidth per GPU."),
    Field("gpu_fp64_tflops", pa.float64(), "TFLOPS", "FP64 non-tensor, dense."),
    Field("gpu_fp32_tflops", pa.float64(), "TFLOPS", "FP32 non-tensor, dense."),
    Field("gpu_tf32_tflops", pa.float64(), "TFLOPS", "TF32 tensor, dense (no 2:4 sparsity)."),
    Field("gpu_fp16_tflops", pa.float64(), "TFLOPS", "FP16 tensor, dense."),
    Field("gpu_bf16_tflops", pa.float64(), "TFLOPS", "BF16 tensor, dense."),
    Field("gpu_fp8_tflops", pa.float64(), "TFLOPS", "FP8 tensor, dense."),
    Field("gpu_int8_tops", pa.float64(), "TOPS", "INT8 tensor, dense."),
    Field(
        "gpu_tdp_w", pa.float64(), "W", "Board power (TDP/TBP) per GPU as counted by the clouds."
    ),
    Field("gpu_spec_source", pa.string(), "", "Datasheet or vendor page the spec row comes from."),
    Field(
        "spec_match",
        pa.string(),
        "",
        "exact = one spec variant fits, or every fitting variant has the same figures; family_lower_bound = form factor or memory unknown and the fitting variants differ: each differing figure is the lowest of them; none = no spec row for gpu_model (or it is unresolved).",
        values=SPEC_MATCHES,
    ),
]

# --- history: one row per price version of an offer -----------------------------------
HISTORY_EXTRA_FIELDS: list[Field] = [
    Field("valid_from", TS, "UTC", "Observation time from which this version holds.", False),
    Field(
        "valid_to",
        TS,
        "UTC",
        "Observation time from which it no longer holds (replaced or withdrawn); null = current.",
    ),
    Field("last_seen_at", TS, "UTC", "Latest observation that confirmed this version.", False),
    Field(
        "is_withdrawn",
        pa.bool_(),
        "",
        "True when the version ended because the offer disappeared (not because its price changed).",
    ),
    Field(
        "dataset_version",
        pa.string(),
        "",
        "Dataset version that first published this row version.",
        False,
    ),
]

HISTORY_FIELDS: list[Field] = OBSERVATION_FIELDS + SPEC_FIELDS + HISTORY_EXTRA_FIELDS

# Columns whose change makes a new price version. FX-derived USD columns are excluded on
# purpose: an EUR price that did not move is not a new version because the rate did.
VERSION_VALUE_COLUMNS: list[str] = [
    "price_per_hour",
    "price_scope",
    "price_basis",
    "currency",
    "gpu_model",
    "gpu_name_raw",
    "gpu_count",
    "gpu_memory_gb",
    "vcpus",
    "memory_gb",
    "upfront_fee",
    "storage_per_month",
    "market_offer_count",
    "market_price_p25_per_hour",
    "market_price_median_per_hour",
]

# Prices are compared after rounding to this many decimals so that "0.2" and "0.2000" or
# a float round-trip are never a change. 1e-9 is below any published price precision
# (GCP nanos are 1e-9 of a unit).
PRICE_DECIMALS = 9

OFFER_KEY_PARTS = ("provider", "instance_type", "region", "zone", "pricing_model", "term")


def arrow_schema(fields: list[Field], metadata: dict[str, str] | None = None) -> pa.Schema:
    return pa.schema([f.arrow() for f in fields], metadata=metadata)


OBSERVATION_SCHEMA = arrow_schema(OBSERVATION_FIELDS)


# String columns stored plain rather than dictionary-encoded: (nearly) unique per price
# version, or with as many distinct values as offers. As dictionaries they cost more CPU to
# read than they save (each row group's dictionary is rebuilt and all of them merged:
# +2.3 s of user CPU at 10M rows); plain, they load zero-copy as Arrow-backed strings (below).
NOT_DICTIONARY = frozenset({"extra_json", "offer_key", "instance_type"})

# Dictionary-encoded columns whose values come from a small vocabulary (providers, regions,
# GPU names, enums, spec-sheet fields: a few hundred values now) have 16-bit indices. Arrow
# reads indices at their stored width, so a read holds 2 bytes per row and column instead
# of 4 (12% less peak memory and ~25% less CPU measured at 1M rows). Columns that grow with
# time (source URLs, snapshot hashes, dataset versions) keep 32-bit indices.
SMALL_VOCABULARY = frozenset(
    {
        "provider",
        "region",
        "zone",
        "pricing_model",
        "term",
        "gpu_name_raw",
        "gpu_model",
        "gpu_form_factor",
        "gpu_resolution",
        "accelerator_kind",
        "currency",
        "price_unit_published",
        "price_scope",
        "gpu_vendor",
        "gpu_architecture",
        "gpu_launch_month",
        "gpu_memory_type",
        "gpu_spec_source",
        "spec_match",
    }
)


def storage_schema(schema: pa.Schema) -> pa.Schema:
    """The on-disk form of a schema, laid out so that a plain `pd.read_parquet` builds no
    Python object per row, on pandas 2 and 3 alike.

    - String columns are dictionary-encoded (but NOT_DICTIONARY): a history repeats the
      same providers, regions, GPU names and source URLs millions of times; stored as
      Arrow dictionaries they load as pandas categoricals (an integer code per row).
      Values and semantics are unchanged (`df.gpu_model == "H100"` works the same).
    - The pandas metadata declares the other string columns `string[pyarrow]` and date
      columns `date32[day][pyarrow]`: pyarrow's `to_pandas` honours declared extension
      dtypes, and both wrap the Arrow data as it is read. Without them pandas 2 builds a
      Python `str` per row, and both pandas 2 and 3 a `datetime.date` per row.
      Other readers (DuckDB, polars, Spark) ignore the pandas metadata.
    """
    fields = []
    for f in schema:
        if pa.types.is_string(f.type) and f.name not in NOT_DICTIONARY:
            index = pa.int16() if f.name in SMALL_VOCABULARY else pa.int32()
            f = f.with_type(pa.dictionary(index, pa.string()))
        fields.append(f)
    metadata = dict(schema.metadata or {})
    metadata[b"pandas"] = pandas_metadata(pa.schema(fields))
    return pa.schema(fields, metadata=metadata)


def pandas_metadata(schema: pa.Schema) -> bytes:
    """The `pandas` schema metadata of a DataFrame of `schema`'s columns, with plain string
    columns declared `string[pyarrow]` and date columns `date32[day][pyarrow]`."""
    import json

    import pandas as pd

    frame = pd.DataFrame({f.name: pa.array([], f.type).to_pandas() for f in schema})
    meta = json.loads(pa.Schema.from_pandas(frame, preserve_index=False).metadata[b"pandas"])
    declared = {
        f.name: ("unicode", "string[pyarrow]")
        if pa.types.is_string(f.type)
        else ("date", str(pd.ArrowDtype(f.type)))
        for f in schema
        if pa.types.is_string(f.type) or pa.types.is_date(f.type)
    }
    for col in meta["columns"]:
        if col["name"] in declared:
            col["pandas_type"], col["numpy_type"] = declared[col["name"]]
    return json.dumps(meta).encode()


def offer_key(
    provider: str,
    instance_type: str,
    region: str,
    zone: str | None,
    pricing_model: str,
    term: str | None,
) -> str:
    return "|".join([provider, instance_type, region, zone or "", pricing_model, term or ""])


def frictionless_type(t: pa.DataType) -> str:
    """The Frictionless Table Schema type of an Arrow type (dictionaries by their values)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_floating(t):
        return "number"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t):
        return "datetime"
    if pa.types.is_date(t):
        return "date"
    return "any"


def frictionless_fields(fields: list[Field]) -> list[dict]:
    """Field descriptors for datapackage.json (Frictionless Table Schema)."""
    out = []
    for f in fields:
        d: dict[str, Any] = {
            "name": f.name,
            "type": frictionless_type(f.type),
            "description": f.description,
        }
        if f.unit:
            d["unit"] = f.unit
        constraints: dict = {}
        if not f.nullable:
            constraints["required"] = True
        elif d["type"] == "integer":
            # frictionless reads Parquet through pandas, where a null integer becomes the
            # float NaN, rendered "nan": declared missing so the validator sees a null.
            d["missingValues"] = ["", "nan"]
        if f.values:
            constraints["enum"] = list(f.values)
        if constraints:
            d["constraints"] = constraints
        out.append(d)
    return out
