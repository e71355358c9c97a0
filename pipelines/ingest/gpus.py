"""Canonical GPU names: resolve a provider's own GPU spelling to `gpu_model`.

Sources: `pipelines/data/gpu_aliases.csv` (one row per spelling or instance-family rule, each
with a source; rows may be scoped to one provider) and the memory/form-factor variants of
`pipelines/data/gpu_specs.csv`. Output: a `Resolution` (gpu_model, gpu_memory_gb,
gpu_form_factor, how, memory_source, ambiguous_models).

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
5. **unique variant** - a memory still open is filled when the spec table knows exactly one
   memory size for the model (and form factor, when known): "H100 SXM" -> 80 GB, "B200" ->
   180 GB; "H100" alone (80 GB SXM/PCIe or 94 GB NVL) stays open.

`memory_source` says where `gpu_memory_gb` came from: `name` (written in the spelling, or the
alias row of that spelling fixes it), `provider` (the provider's stated memory, its own table
or a provider-scoped row), `unique_variant` (step 5, or a model whose every alias row agrees).

Anything still ambiguous stays null: an "A100" with no size has no memory and no form
factor, a "RTX 6000" with no memory and no provider rule is unknown (its candidate models
are listed in `ambiguous_models`). Nothing is guessed.

The alias and spec tables it reads, and `normalize`, are pipelines/ingest/gpu_tables.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from pipelines.ingest.gpu_tables import ALIASES_CSV as ALIASES_CSV
from pipelines.ingest.gpu_tables import FORM_FACTORS as FORM_FACTORS
from pipelines.ingest.gpu_tables import SPECS_CSV as SPECS_CSV
from pipelines.ingest.gpu_tables import _Row, _Table, _table
from pipelines.ingest.gpu_tables import normalize as normalize

# A stated memory within this fraction of a known size of the model is that size: marketplaces
# report usable memory (Vast: a 16 GB T4 shows 15 GB, a 48 GB A40 shows 45 GB).
MEMORY_SNAP_FRACTION = 0.08

# How much each step adds to the inference; the reported `how` is the strongest step used.
_HOW_ORDER = {"alias": 0, "rule": 1, "context": 2, "hint": 3}

_INSTANCE_SEPARATORS = re.compile(r"[\s\-]+")
# "80gb", "24g", "80gi" (Kubernetes-style quantities in marketplace ids: nvidia-h100-80Gi-sxm5)
_MEMORY_TOKEN = re.compile(r"^(\d+(?:\.\d+)?)(?:gb|gib|gi|g)$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_FORM_FACTOR_TOKENS = {
    "sxm": "SXM",
    "sxm2": "SXM",
    "sxm3": "SXM",
    "sxm4": "SXM",
    "sxm5": "SXM",
    "sxm6": "SXM",
    "pcie": "PCIe",
    "pci": "PCIe",  # Cudo machine types: intel-ice-lake-a100-pci
    "nvl": "NVL",
}


MEMORY_SOURCES = ("name", "provider", "unique_variant")


@dataclass(frozen=True)
class Resolution:
    gpu_model: str | None
    gpu_memory_gb: float | None
    gpu_form_factor: str | None
    how: str  # "alias" | "rule" | "context" | "hint" | "unknown"
    raw: str | None
    memory_source: str | None = None  # one of MEMORY_SOURCES when gpu_memory_gb is set
    # An ambiguous short name ("RTX 6000" without memory or provider rule): the models it
    # may be, for the message that asks for context. Empty otherwise.
    ambiguous_models: tuple[str, ...] = ()


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
    best: tuple[tuple[int, float], _Row] | None = None
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
        # Provider rows first, then conditional ones; of two conditions that both hold within
        # the snap tolerance (B200 180 / 192 GB), the closer one.
        score = (
            (2 if row.provider else 0) + (1 if row.when_memory_gb is not None else 0),
            -abs(memory_gb - row.when_memory_gb)
            if memory_gb is not None and row.when_memory_gb is not None
            else 0.0,
        )
        if best is None or score > best[0]:
            best = (score, row)
    return best[1] if best else None


@dataclass
class _Partial:
    model: str | None = None
    memory_gb: float | None = None
    form_factor: str | None = None
    how: str = "alias"
    ambiguous: tuple[str, ...] = ()
    memory_source: str | None = None

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


def _hits(key: str, provider: str | None, table: _Table) -> Iterable[_Hit]:
    """`_find_names`, except that a row of the provider's own found in the name comes before
    generic ones, even longer ones: GCP's "a100 80gb" row (the A2 Ultra SXM board) decides
    "NVIDIA_A100_80GB" there, not the generic "nvidia a100 80gb" spelling. A provider row the
    name contradicts is skipped later (`_pick`), so the generic rows still follow."""
    hits = _find_names(key, provider, table)
    own = table.provider_name_keys.get(provider) if provider is not None else None
    if not own or not any(k in key for k in own):  # cheap test before the full scan
        return hits
    ordered = list(hits)
    ordered.sort(key=lambda hit: not any(r.provider == provider for r in hit.rows))
    return ordered


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
    rules = table.instances_by_provider.get(provider)
    if not rules:
        return None
    key = _INSTANCE_SEPARATORS.sub("_", instance_type.strip().lower())
    key = key.removeprefix("standard_")
    for pattern, row in rules:
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
    for hit in _hits(key, provider, table):
        # Memory and form factor written in the name itself ("A100-SXM4-80GB").
        name_memory = _name_memory(hit.after)
        lookup_memory = name_memory if name_memory is not None else memory_gb
        row = _pick(hit.rows, provider, lookup_memory, name_memory)
        if row is None:
            continue  # e.g. a provider row contradicted by the name: try a shorter alias
        part = _Partial(how=hit.how)
        if row.gpu_model is None:
            part.ambiguous = table.ambiguous_models.get(normalize(row.pattern), ())
            return part
        from_context = row.provider is not None or (
            row.when_memory_gb is not None and name_memory is None
        )
        if from_context:
            part.use("context")
        part.model = row.gpu_model
        part.memory_gb = row.gpu_memory_gb
        if part.memory_gb is not None:
            part.memory_source = "provider" if from_context else "name"
        else:
            part.memory_gb = table.fixed_memory_gb.get(row.gpu_model)
            if part.memory_gb is not None:
                part.memory_source = "unique_variant"
        if part.memory_gb is None and name_memory is not None:
            # A size above every known variant of the model is a total for several GPUs
            # ("gpu-h100x8-640gb"), not the memory per GPU.
            largest = table.largest_memory_gb.get(row.gpu_model)
            if largest is None or name_memory <= largest * (1 + MEMORY_SNAP_FRACTION):
                part.memory_gb = _snap_memory(row.gpu_model, name_memory, table)
                part.memory_source = "name"
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
    return _resolve_cached(raw, memory_gb, provider, instance_type, hint)


def _resolve(
    raw: str | None,
    memory_gb: float | None,
    provider: str | None,
    instance_type: str | None,
    hint: str | None,
) -> Resolution:
    table = _table()
    if memory_gb is not None and not memory_gb > 0:
        memory_gb = None
    part = _from_name(raw, memory_gb, provider, table) if raw else None
    inst = _instance_row(instance_type, provider, table)
    if inst is None and raw:
        # A raw name that is itself an instance name (Azure meter "NC6s v3").
        inst = _instance_row(raw, provider, table)

    if part is None or part.model is None:
        ambiguous = part.ambiguous if part is not None else ()
        if inst is not None and inst.gpu_model:
            part = _Partial(inst.gpu_model, inst.gpu_memory_gb, inst.gpu_form_factor, "context")
            part.memory_source = "provider" if inst.gpu_memory_gb is not None else None
        elif hint:
            hinted = _from_name(hint, memory_gb, provider, table)
            if hinted is None or hinted.model is None:
                return Resolution(None, None, None, "unknown", raw, None, ambiguous)
            part = hinted
            part.how = "hint"
            if part.memory_source == "name":
                part.memory_source = "provider"  # the provider's own table named it
        else:
            return Resolution(None, None, None, "unknown", raw, None, ambiguous)
    else:
        if inst is not None and inst.gpu_model == part.model:
            if part.memory_gb is None and inst.gpu_memory_gb is not None:
                part.memory_gb = inst.gpu_memory_gb
                part.memory_source = "provider"
                part.use("context")
            if part.form_factor is None and inst.gpu_form_factor is not None:
                part.form_factor = inst.gpu_form_factor
                part.use("context")
        if hint and (part.memory_gb is None or part.form_factor is None):
            hinted = _from_name(hint, memory_gb, provider, table)
            if hinted is not None and hinted.model == part.model:
                if part.memory_gb is None and hinted.memory_gb is not None:
                    part.memory_gb = hinted.memory_gb
                    part.memory_source = "provider"
                    part.use("hint")
                if part.form_factor is None and hinted.form_factor is not None:
                    part.form_factor = hinted.form_factor
                    part.use("hint")

    if part.memory_gb is None and memory_gb is not None and part.model is not None:
        part.memory_gb = _snap_memory(part.model, memory_gb, table)
        part.memory_source = "provider"
        part.use("context")
    if part.memory_gb is None and part.model is not None:
        unique = table.unique_spec_memory_gb.get((part.model, part.form_factor))
        if unique is not None:
            part.memory_gb = unique
            part.memory_source = "unique_variant"
    if part.form_factor is None and part.model is not None and part.memory_gb is not None:
        # Some sizes exist in one form factor only (H100 94 GB = NVL): a memory-conditioned
        # name row of the model says so.
        cond = _pick(table.names.get(normalize(part.model), ()), provider, part.memory_gb)
        if cond is not None and cond.gpu_model == part.model and cond.gpu_form_factor:
            part.form_factor = cond.gpu_form_factor
            part.use("context" if memory_gb is not None else part.how)
    return Resolution(
        part.model,
        part.memory_gb,
        part.form_factor,
        part.how,
        raw,
        part.memory_source if part.memory_gb is not None else None,
    )


# Resolution is pure and runs on every normalized row, while a run repeats few distinct
# (name, memory, provider, instance, hint) tuples (a marketplace snapshot: thousands of rows,
# ~100 GPU names): memoize it.
_resolve_cached = lru_cache(maxsize=1 << 16)(_resolve)


def known_models() -> list[str]:
    """Every canonical gpu_model the alias table can produce."""
    t = _table()
    models = {r.gpu_model for rows in t.names.values() for r in rows if r.gpu_model}
    models |= {r.gpu_model for _, r in t.instances if r.gpu_model}
    return sorted(models)
