"""GPU spec table: load, join into offers, publish.

Source: `pipelines/data/gpu_specs.csv`, one row per GPU variant (gpu_model, gpu_form_factor,
gpu_memory_gb) with a datasheet URL per row. Every TFLOPS figure is dense: NVIDIA's tensor
headline figures from Ampere on assume 2:4 sparsity and are halved in the CSV (the row's
notes say so). Figures are per GPU as the clouds count it: a K80 or M60 is one die of a
dual-GPU board, an MI250/MI250X is one GCD of the module.

Outputs: the SPEC_FIELDS columns of pipelines/schema.py joined into offer rows
(`join_specs`, with `spec_match` saying whether the figures are the variant's own or a
family lower bound, see `spec_lookup`), the list of GPUs without a spec row (`unmatched`), and
`datasets/gpu_specs.parquet` (`publish_specs`).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.errors import GpuPricesError
from pipelines.ingest.kinds import KINDS_CSV, accelerator_kind
from pipelines.schema import SPEC_FIELDS
from pipelines.tables import SPECS

SPECS_CSV = Path(__file__).resolve().parents[1] / "data" / "gpu_specs.csv"
SPECS_FILE = SPECS.file

SPEC_COLUMNS = [f.name for f in SPEC_FIELDS]
KEY_COLUMNS = list(SPECS.primary_key)
# The published table's columns (pipelines/tables.py), also the CSV's columns.
SPECS_SCHEMA = SPECS.schema
# Published precision columns (TFLOPS, dense) in the order tables show them.
PRECISION_COLUMNS = {
    "fp64": "gpu_fp64_tflops",
    "fp32": "gpu_fp32_tflops",
    "tf32": "gpu_tf32_tflops",
    "fp16": "gpu_fp16_tflops",
    "bf16": "gpu_bf16_tflops",
    "fp8": "gpu_fp8_tflops",
    "int8": "gpu_int8_tops",
}
_FORM_FACTORS = {"SXM", "PCIe", "NVL"}
# Figures where the lowest of several variants is a safe stand-in (a lower bound on what the
# offer delivers, so its price per unit of compute is never understated).
LOWER_BOUND_COLUMNS = frozenset([*PRECISION_COLUMNS.values(), "gpu_memory_bandwidth_gbps"])


class SpecTableError(GpuPricesError, ValueError):
    """The spec CSV is malformed (duplicate variant, bad number, missing source)."""


@lru_cache(maxsize=1)
def load_specs() -> pd.DataFrame:
    """The spec table, validated, with the published column names and dtypes."""
    with SPECS_CSV.open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    expected = set(SPECS_SCHEMA.names)
    if not records or set(records[0]) != expected:
        raise SpecTableError(f"{SPECS_CSV}: columns must be {sorted(expected)}")
    df = pd.DataFrame.from_records(records).replace({"": None})
    for field in SPECS_SCHEMA:
        if pa.types.is_floating(field.type):
            try:
                df[field.name] = pd.to_numeric(df[field.name], errors="raise").astype("float64")
            except (ValueError, TypeError) as exc:
                raise SpecTableError(f"{SPECS_CSV}: column {field.name}: {exc}") from None
    bad_ff = set(df["gpu_form_factor"].dropna()) - _FORM_FACTORS
    if bad_ff:
        raise SpecTableError(f"{SPECS_CSV}: bad gpu_form_factor {sorted(bad_ff)}")
    if df["gpu_spec_source"].isna().any():
        rows = df.loc[df["gpu_spec_source"].isna(), "gpu_model"].tolist()
        raise SpecTableError(f"{SPECS_CSV}: rows without a source: {rows}")
    dup = df.duplicated(KEY_COLUMNS, keep=False)
    if dup.any():
        raise SpecTableError(
            f"{SPECS_CSV}: duplicate variants: {df.loc[dup, KEY_COLUMNS].values.tolist()}"
        )
    return df[SPECS_SCHEMA.names].reset_index(drop=True)


def spec_models() -> set[str]:
    return set(load_specs()["gpu_model"])


def candidates(
    gpu_model: str | None, gpu_memory_gb: float | None = None, gpu_form_factor: str | None = None
) -> pd.DataFrame:
    """Spec rows that fit what is known of the offer's GPU.

    A memory or form factor that matches no variant (a fractional GPU's slice of memory)
    narrows nothing: the variant stays open rather than the offer losing its specs.
    """
    specs = load_specs()
    if not isinstance(gpu_model, str):
        return specs.iloc[0:0]
    cand = specs[specs["gpu_model"] == gpu_model]
    if gpu_memory_gb is not None and not pd.isna(gpu_memory_gb):
        narrowed = cand[np.isclose(cand["gpu_memory_gb"].astype(float), float(gpu_memory_gb))]
        if len(narrowed):
            cand = narrowed
    if isinstance(gpu_form_factor, str):
        narrowed = cand[
            (cand["gpu_form_factor"] == gpu_form_factor) | cand["gpu_form_factor"].isna()
        ]
        if len(narrowed):
            cand = narrowed
    return cand


@dataclass(frozen=True)
class SpecLookup:
    """What the spec table says about one GPU: the SPEC_FIELDS values and how they matched."""

    values: dict[str, object]
    spec_match: str  # exact | family_lower_bound (see pipelines/schema.py SPEC_MATCHES)
    lower_bound_columns: frozenset[str]  # the figures that are the lowest of several variants


def spec_lookup(
    gpu_model: str | None, gpu_memory_gb: float | None = None, gpu_form_factor: str | None = None
) -> SpecLookup | None:
    """The spec figures for one GPU; None when the model has no spec row.

    When several variants remain (a "V100" of unknown form factor and memory), a figure all
    of them agree on is used as is. A compute or bandwidth figure they differ on becomes
    the lowest of them, and the row is `family_lower_bound`: a V100 of unknown form factor
    is ranked at PCIe's 14 FP32 TFLOPS rather than dropped, so its $/PFLOP-hour is an upper
    bound, never flattering. Descriptive columns (architecture, memory type, TDP ...) are
    filled only when every variant agrees: the lowest TDP would be a guess, not a bound.
    The source column lists the candidates' distinct sources.
    """
    cand = candidates(gpu_model, gpu_memory_gb, gpu_form_factor)
    if cand.empty:
        return None
    values: dict[str, object] = {}
    lower: set[str] = set()
    for col in SPEC_COLUMNS:
        if col == "spec_match":
            continue
        column = cand[col]
        if col == "gpu_spec_source":
            values[col] = " ; ".join(dict.fromkeys(column.dropna()))
            continue
        distinct = set(column.dropna())
        if not column.isna().any() and len(distinct) == 1:
            values[col] = distinct.pop()
        elif col in LOWER_BOUND_COLUMNS and distinct:
            values[col] = min(distinct)
            lower.add(col)
        else:
            values[col] = None
    match = "family_lower_bound" if lower else "exact"
    values["spec_match"] = match
    return SpecLookup(values, match, frozenset(lower))


def spec_values(
    gpu_model: str | None, gpu_memory_gb: float | None = None, gpu_form_factor: str | None = None
) -> dict[str, object] | None:
    """The SPEC_FIELDS values for one GPU (see `spec_lookup`); None without a spec row."""
    found = spec_lookup(gpu_model, gpu_memory_gb, gpu_form_factor)
    return None if found is None else found.values


def join_specs(df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` with exactly the SPEC_FIELDS columns (re)filled from the spec table.

    `accelerator_kind` is refreshed from the model too, so a row re-joined after the
    reference tables changed gets both (see `reference_key`).
    """
    out = df.copy()
    for col in SPEC_COLUMNS:
        if col not in out.columns or out.empty:
            out[col] = None
    if "gpu_model" in out:
        kind = out["gpu_model"].astype(object).map(accelerator_kind).astype(object)
        out["accelerator_kind"] = kind.where(kind.notna(), None)
    if out.empty:
        return _spec_dtypes(out)
    keys = out[KEY_COLUMNS].astype(object).where(out[KEY_COLUMNS].notna(), None)
    # One spec row per distinct GPU variant (typed once), then spread over the offers: a
    # replay joins hundreds of batches of the same few dozen variants (_variant_values).
    positions: dict[tuple, int] = {}
    at = [positions.setdefault(k, len(positions)) for k in keys.itertuples(index=False, name=None)]
    typed, rows = _typed_variants(list(positions))
    filled = typed.take(np.asarray(rows, dtype=np.intp)[at])
    filled.index = out.index
    out[SPEC_COLUMNS] = filled
    return out


# (spec table, {(model, form factor, memory): SPEC_FIELDS values or None},
#  [the variants typed so far: their keys, {key: row}, their typed spec rows]), for join_specs.
_VARIANT_CACHE: tuple[pd.DataFrame | None, dict[tuple, dict[str, object] | None], list] = (
    None,
    {},
    [[], {}, None],
)


def _variant_caches() -> tuple[dict, list]:
    """The caches below, emptied when the loaded spec table is another one."""
    global _VARIANT_CACHE
    specs, cache, typed = _VARIANT_CACHE
    if specs is not load_specs():
        _VARIANT_CACHE = specs, cache, typed = load_specs(), {}, [[], {}, None]
    return cache, typed


def _typed_variants(keys: list[tuple]) -> tuple[pd.DataFrame, list[int]]:
    """Typed spec rows of every variant seen so far, and the row of each of `keys` there.

    A replay joins hundreds of batches of the same few dozen variants, and typing the ~20
    spec columns costs more than the rows: the table of all variants is typed again only
    when a new one turns up. Typing is row by row (`_spec_dtypes`: each column's dtype is
    fixed), so a variant's row is the same in any table. Callers take rows, never mutate it."""
    _, typed = _variant_caches()
    seen, row_of, _frame = typed
    new = [k for k in dict.fromkeys(keys) if k not in row_of]
    if new or typed[2] is None:
        for k in new:
            row_of[k] = len(seen)
            seen.append(k)
        empty = {**dict.fromkeys(SPEC_COLUMNS), "spec_match": "none"}
        variants = pd.DataFrame.from_records(
            [_variant_values(*k) or empty for k in seen], columns=SPEC_COLUMNS
        )
        typed[2] = _spec_dtypes(variants)
    return typed[2], [row_of[k] for k in keys]


def _variant_values(model, ff, mem) -> dict[str, object] | None:
    """`spec_values` of one variant, remembered while the loaded spec table is the same
    (a lookup filters the spec table: milliseconds, times every batch of a replay)."""
    cache, _ = _variant_caches()
    key = (model, ff, mem)
    if key not in cache:
        cache[key] = spec_values(model, mem, ff)
    return cache[key]


def reference_key() -> str:
    """Hash of the reference tables `join_specs` reads: when it changes, a publish
    re-joins every current row (pipelines/store/history.py `enrich_key`)."""
    h = hashlib.sha256()
    for path in (SPECS_CSV, KINDS_CSV):
        h.update(path.read_bytes())
    return h.hexdigest()


def _spec_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    for f in SPEC_FIELDS:
        if pa.types.is_floating(f.type):
            df[f.name] = pd.to_numeric(df[f.name], errors="coerce").astype("float64")
        else:
            df[f.name] = df[f.name].astype(object).where(df[f.name].notna(), None)
    return df


def unmatched(df: pd.DataFrame) -> list[str]:
    """GPUs in `df` without a spec row: canonical models missing from the table, and raw
    names that did not resolve ("<raw> (unresolved)"). Offers without a GPU are ignored."""
    if df is None or df.empty:
        return []
    known = spec_models()
    out: set[str] = set()
    models = df["gpu_model"] if "gpu_model" in df else pd.Series([None] * len(df))
    raws = df["gpu_name_raw"] if "gpu_name_raw" in df else pd.Series([None] * len(df))
    for model, raw in zip(models, raws, strict=True):
        if isinstance(model, str):
            if model not in known:
                out.add(model)
        elif isinstance(raw, str) and raw.strip():
            out.add(f"{raw} (unresolved)")
    return sorted(out)


def coverage() -> dict[str, int]:
    """Rows of the spec table and how many carry each figure (for the README)."""
    specs = load_specs()
    counts = {"rows": len(specs), "models": specs["gpu_model"].nunique()}
    for name, col in PRECISION_COLUMNS.items():
        counts[name] = int(specs[col].notna().sum())
    counts["memory_bandwidth"] = int(specs["gpu_memory_bandwidth_gbps"].notna().sum())
    counts["tdp"] = int(specs["gpu_tdp_w"].notna().sum())
    return counts


def publish_specs(datasets_dir: Path, version: str) -> str:
    """Write datasets/gpu_specs.parquet; return its sha256."""
    from pipelines.store.atomic import write_parquet_atomic

    return write_parquet_atomic(
        load_specs(),
        Path(datasets_dir) / SPECS_FILE,
        schema=SPECS_SCHEMA,
        metadata={"gpu_prices.dataset_version": version, "gpu_specs.source": SPECS_CSV.name},
    )
