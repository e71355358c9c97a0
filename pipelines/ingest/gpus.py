"""Canonical GPU names: resolve a provider's own GPU spelling to `gpu_model`.

Source: `scrapers/data/gpu_aliases.csv` (one row per spelling or instance-family rule, each
with a source). Output: a `Resolution` (gpu_model, gpu_memory_gb, gpu_form_factor, how).

The resolver is pure and data driven. Steps, in order:

1. **alias** - the whole normalized raw name is a row of the alias table (or a canonical
   model name itself).
2. **rule** - the longest alias found as a run of whole tokens inside the raw name
   ("Nvidia Tesla A100 80GB GPU running in Americas" -> "a100"), plus a memory token after
   it ("80gb") and form-factor tokens (SXM4 -> SXM, PCIe, NVL).
3. **context** - what the name leaves open (memory, form factor, or the model itself for
   names like "RTX 6000") is taken from the provider's context: the stated memory per GPU,
   provider-specific rows, and instance-family rows matched on `instance_type`.
4. **hint** - the canonical name the provider's own table gave, when the raw name alone
   does not resolve.

Anything still ambiguous stays null: an "A100" with no size has no memory and no form
factor, a "RTX 6000" with no memory and no provider rule is unknown. Nothing is guessed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ALIASES_CSV = Path(__file__).resolve().parents[1] / "data" / "gpu_aliases.csv"

FORM_FACTORS = ("SXM", "PCIe", "NVL")

# A stated memory within this fraction of a known size of the model is that size: marketplaces
# report usable memory (Vast: a 16 GB T4 shows 15 GB, a 48 GB A40 shows 45 GB).
MEMORY_SNAP_FRACTION = 0.08

# How much each step adds to the inference; the reported `how` is the strongest step used.
_HOW_ORDER = {"alias": 0, "rule": 1, "context": 2, "hint": 3}

_MEMORY_TOKEN = re.compile(r"^(\d+(?:\.\d+)?)(?:gb|gib|g)$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_FORM_FACTOR_TOKENS = {
    "sxm": "SXM",
    "sxm2": "SXM",
    "sxm3": "SXM",
    "sxm4": "SXM",
    "sxm5": "SXM",
    "sxm6": "SXM",
    "pcie": "PCIe",
    "nvl": "NVL",
}


@dataclass(frozen=True)
class Resolution:
    gpu_model: str | None
    gpu_memory_gb: float | None
    gpu_form_factor: str | None
    how: str  # "alias" | "rule" | "context" | "hint" | "unknown"
    raw: str | None


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
    max_name_tokens: int
    known_memory_gb: dict[str, tuple[float, ...]]
    fixed_memory_gb: dict[str, float]
    fixed_form_factor: dict[str, str]


def normalize(raw: str) -> str:
    """Lowercase, punctuation to single spaces, and a few glued spellings split apart.

    "RTX_4090" / "RTX4090" / "rtx-4090" -> "rtx 4090"; "RTX 4000Ada" -> "rtx 4000 ada";
    "RTX 2080Ti" -> "rtx 2080 ti"; Vast's "RTX 4070S" / "GTX 1660 S" -> "... super".
    """
    s = raw.lower().replace("™", " ").replace("®", " ")
    s = re.sub(r"[\s_\-/,.()+:;\[\]|\"']+", " ", s)
    s = re.sub(r"\b(rtx|gtx)(?=\d)", r"\1 ", s)
    s = re.sub(r"\b(\d{3,4})(ada|ti|super)\b", r"\1 \2", s)
    s = re.sub(r"\b(\d{4})s\b", r"\1 super", s)
    s = re.sub(r"\b(\d{4}) s\b", r"\1 super", s)
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
    return _Table(
        names={k: tuple(v) for k, v in names.items()},
        instances=tuple(instances),
        max_name_tokens=max(len(k.split()) for k in names),
        known_memory_gb={m: tuple(sorted(v)) for m, v in memory.items()},
        fixed_memory_gb=fixed_memory,
        fixed_form_factor=fixed_ff,
    )


def _memory_matches(stated: float, wanted: float) -> bool:
    return abs(stated - wanted) <= MEMORY_SNAP_FRACTION * wanted


def _pick(
    rows: tuple[_Row, ...],
    provider: str | None,
    memory_gb: float | None,
    name_memory_gb: float | None = None,
) -> _Row | None:
    """Best row for this provider and memory: provider-specific before generic, a row whose
    memory condition holds before an unconditional one; conditional rows need a memory.
    A row whose fixed memory contradicts the memory written in the name does not apply
    (GCP's 'Nvidia Tesla A100' row is the 40 GB GPU, not 'Nvidia Tesla A100 80GB')."""
    best: tuple[int, _Row] | None = None
    for row in rows:
        if row.provider is not None and row.provider != provider:
            continue
        if (
            name_memory_gb is not None
            and row.gpu_memory_gb is not None
            and not _memory_matches(name_memory_gb, row.gpu_memory_gb)
        ):
            continue
        if row.when_memory_gb is not None and (
            memory_gb is None or not _memory_matches(memory_gb, row.when_memory_gb)
        ):
            continue
        score = (2 if row.provider else 0) + (1 if row.when_memory_gb is not None else 0)
        if best is None or score > best[0]:
            best = (score, row)
    return best[1] if best else None


@dataclass
class _Partial:
    model: str | None = None
    memory_gb: float | None = None
    form_factor: str | None = None
    how: str = "alias"
    ambiguous: bool = False

    def use(self, how: str) -> None:
        if _HOW_ORDER[how] > _HOW_ORDER[self.how]:
            self.how = how


def _find_names(key: str, provider: str | None, table: _Table) -> Iterator[_Hit]:
    """Aliases found in the name, best first: the exact key, then runs of whole tokens from
    the longest down. Aliases of the same length naming different models make the name
    ambiguous ("A100 or H100"): the search stops there."""
    if key in table.names and _usable(table.names[key], provider):
        yield _Hit(table.names[key], "alias", ())
    tokens = key.split()
    for n in range(min(table.max_name_tokens, len(tokens)), 0, -1):
        found: list[_Hit] = []
        for i in range(len(tokens) - n + 1):
            cand = " ".join(tokens[i : i + n])
            rows = table.names.get(cand)
            if rows and _usable(rows, provider) and cand != key:
                found.append(_Hit(rows, "rule", tuple(tokens[i + n :])))
        models = {
            frozenset(r.gpu_model for r in hit.rows if r.provider in (None, provider))
            for hit in found
        }
        if len(models) > 1:
            return
        yield from found


@dataclass(frozen=True)
class _Hit:
    rows: tuple[_Row, ...]
    how: str
    after: tuple[str, ...]  # tokens after the alias (where a memory size is written)


def _name_memory(after: tuple[str, ...]) -> float | None:
    """First memory size written after the alias: "80gb", "24g", or "40 GB"."""
    for i, tok in enumerate(after):
        m = _MEMORY_TOKEN.match(tok)
        if m:
            return float(m.group(1))
        if _NUMBER.match(tok) and i + 1 < len(after) and after[i + 1] in ("gb", "gib", "g"):
            return float(tok)
    return None


def _usable(rows: tuple[_Row, ...], provider: str | None) -> bool:
    return any(r.provider is None or r.provider == provider for r in rows)


def _snap_memory(model: str, stated: float, table: _Table) -> float:
    for size in table.known_memory_gb.get(model, ()):
        if _memory_matches(stated, size):
            return size
    return stated


def _instance_row(instance_type: str | None, provider: str | None, table: _Table) -> _Row | None:
    if not instance_type:
        return None
    key = re.sub(r"[\s\-]+", "_", instance_type.strip().lower())
    key = key.removeprefix("standard_")
    for pattern, row in table.instances:
        if row.provider is not None and row.provider != provider:
            continue
        if pattern.search(key):
            return row
    return None


def _from_name(
    raw: str, memory_gb: float | None, provider: str | None, table: _Table
) -> _Partial | None:
    key = normalize(raw)
    if not key:
        return None
    name_ff = next((_FORM_FACTOR_TOKENS[t] for t in key.split() if t in _FORM_FACTOR_TOKENS), None)
    for hit in _find_names(key, provider, table):
        # Memory and form factor written in the name itself ("A100-SXM4-80GB").
        name_memory = _name_memory(hit.after)
        lookup_memory = name_memory if name_memory is not None else memory_gb
        row = _pick(hit.rows, provider, lookup_memory, name_memory)
        if row is None:
            continue  # e.g. a provider row contradicted by the name: try a shorter alias
        part = _Partial(how=hit.how)
        if row.gpu_model is None:
            part.ambiguous = True
            return part
        if row.provider is not None:
            part.use("context")
        if row.when_memory_gb is not None and name_memory is None:
            part.use("context")
        part.model = row.gpu_model
        part.memory_gb = row.gpu_memory_gb
        if part.memory_gb is None:
            part.memory_gb = table.fixed_memory_gb.get(row.gpu_model)
        if part.memory_gb is None and name_memory is not None:
            part.memory_gb = _snap_memory(row.gpu_model, name_memory, table)
        part.form_factor = (
            row.gpu_form_factor or table.fixed_form_factor.get(row.gpu_model) or name_ff
        )
        return part
    return None


def resolve(
    raw: str | None,
    *,
    memory_gb: float | None = None,
    provider: str | None = None,
    instance_type: str | None = None,
    hint: str | None = None,
) -> Resolution:
    """Resolve a provider's GPU spelling to (gpu_model, gpu_memory_gb, gpu_form_factor)."""
    table = _table()
    if memory_gb is not None and not memory_gb > 0:
        memory_gb = None
    part = _from_name(raw, memory_gb, provider, table) if raw else None
    inst = _instance_row(instance_type, provider, table)
    if inst is None and raw:
        # A raw name that is itself an instance name (Azure meter "NC6s v3").
        inst = _instance_row(raw, provider, table)

    if part is None or part.model is None:
        if inst is not None and inst.gpu_model:
            part = _Partial(inst.gpu_model, inst.gpu_memory_gb, inst.gpu_form_factor, "context")
        elif hint:
            hinted = _from_name(hint, memory_gb, provider, table)
            if hinted is None or hinted.model is None:
                return Resolution(None, None, None, "unknown", raw)
            part = hinted
            part.how = "hint"
        else:
            return Resolution(None, None, None, "unknown", raw)
    else:
        if inst is not None and inst.gpu_model == part.model:
            if part.memory_gb is None and inst.gpu_memory_gb is not None:
                part.memory_gb = inst.gpu_memory_gb
                part.use("context")
            if part.form_factor is None and inst.gpu_form_factor is not None:
                part.form_factor = inst.gpu_form_factor
                part.use("context")
        if hint and (part.memory_gb is None or part.form_factor is None):
            hinted = _from_name(hint, memory_gb, provider, table)
            if hinted is not None and hinted.model == part.model:
                if part.memory_gb is None and hinted.memory_gb is not None:
                    part.memory_gb = hinted.memory_gb
                    part.use("hint")
                if part.form_factor is None and hinted.form_factor is not None:
                    part.form_factor = hinted.form_factor
                    part.use("hint")

    if part.memory_gb is None and memory_gb is not None and part.model is not None:
        part.memory_gb = _snap_memory(part.model, memory_gb, table)
        part.use("context")
    if part.form_factor is None and part.model is not None and part.memory_gb is not None:
        # Some sizes exist in one form factor only (H100 94 GB = NVL): a memory-conditioned
        # name row of the model says so.
        cond = _pick(table.names.get(normalize(part.model), ()), provider, part.memory_gb)
        if cond is not None and cond.gpu_model == part.model and cond.gpu_form_factor:
            part.form_factor = cond.gpu_form_factor
            part.use("context" if memory_gb is not None else part.how)
    return Resolution(part.model, part.memory_gb, part.form_factor, part.how, raw)


def known_models() -> list[str]:
    """Every canonical gpu_model the alias table can produce."""
    t = _table()
    models = {r.gpu_model for rows in t.names.values() for r in rows if r.gpu_model}
    models |= {r.gpu_model for _, r in t.instances if r.gpu_model}
    return sorted(models)
