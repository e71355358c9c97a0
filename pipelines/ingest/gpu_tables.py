"""The GPU name tables the resolver (pipelines/ingest/gpus.py) reads, loaded once.

Sources: `pipelines/data/gpu_aliases.csv` (name and instance-family rows, each with a source)
and the memory/form-factor variants of `pipelines/data/gpu_specs.csv`, read straight from the
CSV (the spec join lives downstream in pipelines/derive and the resolver must not import it).
Output: one immutable `_Table` with the lookups the resolver needs (names by normalized key,
instance rules per provider, fixed and unique memory sizes, ambiguous short names), and
`normalize`, the one spelling normalization both the tables and the resolver key on.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ALIASES_CSV = Path(__file__).resolve().parents[1] / "data" / "gpu_aliases.csv"
SPECS_CSV = Path(__file__).resolve().parents[1] / "data" / "gpu_specs.csv"

FORM_FACTORS = ("SXM", "PCIe", "NVL")


@dataclass(frozen=True)
class _Row:
    match: str  # "name" | "instance"
    pattern: str
    provider: str | None
    when_memory_gb: float | None
    gpu_model: str | None  # None marks an ambiguous name that needs context
    gpu_memory_gb: float | None
    gpu_form_factor: str | None


@dataclass(frozen=True)
class _Table:
    names: dict[str, tuple[_Row, ...]]
    instances: tuple[tuple[re.Pattern[str], _Row], ...]
    # provider -> its instance rules, in table order (every instance rule is provider-scoped)
    instances_by_provider: dict[str | None, tuple[tuple[re.Pattern[str], _Row], ...]]
    max_name_tokens: int
    known_memory_gb: dict[str, tuple[float, ...]]
    fixed_memory_gb: dict[str, float]
    fixed_form_factor: dict[str, str]
    # (model, form factor or None) -> the one memory size the spec table knows for it
    unique_spec_memory_gb: dict[tuple[str, str | None], float]
    # model -> largest per-GPU memory the alias and spec tables know
    largest_memory_gb: dict[str, float]
    provider_name_keys: dict[str, tuple[str, ...]]  # provider -> keys of its own name rows
    # ambiguous key -> the models it may be: its memory-conditioned rows plus every model
    # named "<key> ..." ("rtx 4000" -> Quadro RTX 4000, RTX 4000 Ada, RTX 4000 SFF Ada)
    ambiguous_models: dict[str, tuple[str, ...]]


# normalize() runs on every name: its patterns are compiled once, applied in this order.
_NORMALIZE_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"[\s_\-/,.()+:;\[\]|\"']+", " "),
        # Catalog ids glue the family to the number: "RTXA6000", "RTXPro6000", "H100NVL",
        # "A100SXM4" ...
        (r"\brtxa(?=\d)", "rtx a"),
        (r"\brtx ?pro(?=\d)", "rtx pro "),
        (r"\b([a-z]{1,3}\d{2,4})(nvl|sxm\d?|pcie)\b", r"\1 \2"),
        # ... or the GPU count: "gpu-h100x8-640gb" (but "A100X" alone is a model of its own)
        (r"\b([a-z]{1,3}\d{2,4})x(\d{1,2})\b", r"\1 x\2"),
        (r"\b(rtx|gtx)(?=\d)", r"\1 "),
        (r"\b(\d{3,4})(ada|ti|super|blackwell)\b", r"\1 \2"),
        (r"\b(\d{4})s\b", r"\1 super"),
        (r"\b(\d{4}) s\b", r"\1 super"),
    )
)


def normalize(raw: str) -> str:
    """Lowercase, punctuation to single spaces, and a few glued spellings split apart.

    "RTX_4090" / "RTX4090" / "rtx-4090" -> "rtx 4090"; "RTX 4000Ada" -> "rtx 4000 ada";
    "RTX 2080Ti" -> "rtx 2080 ti"; Vast's "RTX 4070S" / "GTX 1660 S" -> "... super";
    "RTXA6000" -> "rtx a6000"; "RTXPro6000" -> "rtx pro 6000"; "H100NVL" -> "h100 nvl".
    """
    s = raw.lower().replace("™", " ").replace("®", " ")
    for pattern, repl in _NORMALIZE_STEPS:
        s = pattern.sub(repl, s)
    return " ".join(s.split())


def _float_or_none(value: str) -> float | None:
    value = value.strip()
    return float(value) if value else None


@lru_cache(maxsize=1)
def _table() -> _Table:
    names: dict[str, list[_Row]] = {}
    instances: list[tuple[re.Pattern[str], _Row]] = []
    memory: dict[str, set[float]] = {}
    model_memory_rows: dict[str, set[float | None]] = {}
    model_ff_rows: dict[str, set[str | None]] = {}
    with ALIASES_CSV.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            row = _Row(
                match=rec["match"].strip(),
                pattern=rec["pattern"].strip(),
                provider=rec["provider"].strip() or None,
                when_memory_gb=_float_or_none(rec["when_memory_gb"]),
                gpu_model=rec["gpu_model"].strip() or None,
                gpu_memory_gb=_float_or_none(rec["gpu_memory_gb"]),
                gpu_form_factor=rec["gpu_form_factor"].strip() or None,
            )
            if row.gpu_form_factor is not None and row.gpu_form_factor not in FORM_FACTORS:
                raise ValueError(f"{ALIASES_CSV}: bad form factor {row.gpu_form_factor!r}")
            if row.match == "name":
                names.setdefault(normalize(row.pattern), []).append(row)
            elif row.match == "instance":
                instances.append((re.compile(row.pattern, re.IGNORECASE), row))
            else:
                raise ValueError(f"{ALIASES_CSV}: bad match kind {row.match!r}")
            if row.gpu_model:
                if row.gpu_memory_gb is not None:
                    memory.setdefault(row.gpu_model, set()).add(row.gpu_memory_gb)
                if row.match == "name" and row.provider is None and row.when_memory_gb is None:
                    model_memory_rows.setdefault(row.gpu_model, set()).add(row.gpu_memory_gb)
                    model_ff_rows.setdefault(row.gpu_model, set()).add(row.gpu_form_factor)
    # Every canonical model name is an alias of itself, so hints and `gpus show H100` work.
    for model in {r.gpu_model for rows in names.values() for r in rows if r.gpu_model}:
        key = normalize(model)
        if not any(r.gpu_model == model and r.provider is None for r in names.get(key, [])):
            names.setdefault(key, []).append(_Row("name", model, None, None, model, None, None))
    # A model has a fixed memory / form factor when all of its generic name rows agree and
    # the table knows a single size (T4: 16 GB PCIe); otherwise it is left to the name/context.
    fixed_memory = {
        m: next(iter(v))
        for m, v in model_memory_rows.items()
        if len(v) == 1 and None not in v and len(memory.get(m, ())) == 1
    }
    fixed_ff = {m: next(iter(v)) for m, v in model_ff_rows.items() if len(v) == 1 and None not in v}
    spec = _spec_variants()
    unique_spec = _unique_spec_memory(spec)
    for model, rows in spec.items():
        memory.setdefault(model, set()).update(m for _, m in rows)
    return _Table(
        names={k: tuple(v) for k, v in names.items()},
        instances=tuple(instances),
        instances_by_provider={
            p: tuple(i for i in instances if i[1].provider in (None, p))
            for p in {row.provider for _, row in instances}
        },
        max_name_tokens=max(len(k.split()) for k in names),
        known_memory_gb={m: tuple(sorted(v)) for m, v in memory.items()},
        fixed_memory_gb=fixed_memory,
        fixed_form_factor=fixed_ff,
        unique_spec_memory_gb=unique_spec,
        largest_memory_gb={m: max(v) for m, v in memory.items()},
        provider_name_keys={
            p: tuple(k for k, rows in names.items() if any(r.provider == p for r in rows))
            for p in {r.provider for rows in names.values() for r in rows if r.provider}
        },
        ambiguous_models=_ambiguous_models(names),
    )


def _ambiguous_models(names: dict[str, list[_Row]]) -> dict[str, tuple[str, ...]]:
    models = {r.gpu_model for rows in names.values() for r in rows if r.gpu_model}
    out: dict[str, tuple[str, ...]] = {}
    for key, rows in names.items():
        if not any(r.gpu_model is None and r.provider is None for r in rows):
            continue
        found = {r.gpu_model for r in rows if r.gpu_model and r.provider is None}
        found |= {
            m
            for m in models
            if normalize(m).startswith(key + " ") or normalize(m).endswith(" " + key)
        }
        out[key] = tuple(sorted(found))
    return out


def _spec_variants() -> dict[str, set[tuple[str | None, float]]]:
    """model -> {(form factor or None, memory GB)} from the spec table.

    Read straight from the CSV: the spec join lives downstream (pipelines.derive), and the
    resolver must not import it.
    """
    variants: dict[str, set[tuple[str | None, float]]] = {}
    with SPECS_CSV.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            mem = _float_or_none(rec.get("gpu_memory_gb") or "")
            if mem is None:
                continue
            ff = (rec.get("gpu_form_factor") or "").strip() or None
            variants.setdefault(rec["gpu_model"].strip(), set()).add((ff, mem))
    return variants


def _unique_spec_memory(
    variants: dict[str, set[tuple[str | None, float]]],
) -> dict[tuple[str, str | None], float]:
    """(model, form factor) and (model, None) keys whose spec rows carry exactly one memory.

    A spec row without a form factor (GH200, A10G) counts for every form factor of its model.
    """
    out: dict[tuple[str, str | None], float] = {}
    for model, rows in variants.items():
        for ff in (None, *FORM_FACTORS):
            mems = {m for f, m in rows if ff is None or f is None or f == ff}
            if ff is not None and not any(f == ff for f, _ in rows):
                continue  # no spec row of that form factor: nothing to say
            if len(mems) == 1:
                out[(model, ff)] = next(iter(mems))
    return out
