"""GPU names: every listed spelling, memory implied by a unique spec variant, provider-scoped
short names, and the held-out measurement.

- `pipelines/data/gpu_aliases.csv`: every `name` row is a real spelling (or a rule) with its
  source; each must resolve to the model, memory and form factor the row states.
- `tests/pipelines/ingest/data/gpu_names_heldout.csv`: real spellings from catalogs that were
  NOT used to write aliases (see the README beside it); the share resolved to the right model
  and memory has a floor.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipelines.ingest import gpus
from pipelines.ingest.gpus import MEMORY_SOURCES, normalize, resolve

HELDOUT_CSV = Path(__file__).parent / "data" / "gpu_names_heldout.csv"
# Measured on the held-out file (README beside it): 100% model and 100% memory after this
# change (89.6% / 83.1% before). The floors leave room for one or two new hard spellings.
MODEL_FLOOR = 0.97
MEMORY_FLOOR = 0.95


def _alias_rows() -> list[dict[str, str]]:
    with gpus.ALIASES_CSV.open(newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["match"] == "name"]


def _heldout_rows() -> list[dict[str, str]]:
    with HELDOUT_CSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _num(value: str) -> float | None:
    return float(value) if value.strip() else None


def _row_id(row: dict[str, str]) -> str:
    parts = [row["pattern"], row["provider"], row["when_memory_gb"]]
    return "|".join(p for p in parts if p)


# --- every listed spelling resolves to its model and memory -------------------------------

RESOLVING_ROWS = [r for r in _alias_rows() if r["gpu_model"]]
AMBIGUOUS_ROWS = [r for r in _alias_rows() if not r["gpu_model"]]


@pytest.mark.parametrize("row", RESOLVING_ROWS, ids=_row_id)
def test_listed_spelling_resolves_to_its_model_and_memory(row):
    res = resolve(
        row["pattern"], provider=row["provider"] or None, memory_gb=_num(row["when_memory_gb"])
    )
    assert res.gpu_model == row["gpu_model"], res
    expected_memory = _num(row["gpu_memory_gb"])
    if expected_memory is not None:
        assert res.gpu_memory_gb == expected_memory, res
    else:
        # The row leaves memory open: only the spec table's single variant may fill it.
        assert res.gpu_memory_gb is None or res.memory_source == "unique_variant", res
    if row["gpu_form_factor"]:
        assert res.gpu_form_factor == row["gpu_form_factor"], res
    if res.gpu_memory_gb is not None:
        assert res.memory_source in MEMORY_SOURCES


@pytest.mark.parametrize("row", AMBIGUOUS_ROWS, ids=_row_id)
def test_ambiguous_spelling_is_not_guessed(row):
    res = resolve(row["pattern"], provider=row["provider"] or None)
    assert (res.gpu_model, res.gpu_memory_gb, res.how) == (None, None, "unknown")
    assert len(res.ambiguous_models) >= 2, res  # the candidates are listed for the user


def test_the_table_lists_real_spellings_from_every_source():
    sources = " ".join(r["source"] for r in _alias_rows())
    for where in (
        "examples/archive/",
        "tests/fixtures/",
        "/work/shared/samples/vastai/",
        "scrapers/data/",
        "skypilot-org/skypilot-catalog",
        "dstackai/gpuhunt",
        "docs.runpod.io",
    ):
        assert where in sources, where
    assert len(RESOLVING_ROWS) >= 250


# --- memory implied by a unique spec variant ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("H100 SXM", ("H100", 80.0, "SXM", "unique_variant")),
        ("H100-PCIe", ("H100", 80.0, "PCIe", "unique_variant")),
        ("NVIDIA B200", ("B200", 180.0, "SXM", "unique_variant")),
        ("H100 NVL", ("H100", 94.0, "NVL", "name")),  # the alias row of that spelling says 94
        ("H100-80GB", ("H100", 80.0, None, "name")),
        ("H100", ("H100", None, None, None)),  # 80 GB SXM/PCIe or 94 GB NVL
        ("A100 SXM4", ("A100", None, "SXM", None)),  # 40 or 80 GB
        ("GH200", ("GH200", None, None, None)),  # 96 or 144 GB
    ],
)
def test_memory_from_the_only_spec_variant(raw, expected):
    res = resolve(raw)
    assert (res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor, res.memory_source) == expected


def test_unique_variants_come_from_the_spec_table():
    table = gpus._table()
    with gpus.SPECS_CSV.open(newline="", encoding="utf-8") as f:
        specs = list(csv.DictReader(f))
    for (model, ff), memory in table.unique_spec_memory_gb.items():
        rows = [
            r
            for r in specs
            if r["gpu_model"] == model
            and (ff is None or r["gpu_form_factor"] in (ff, ""))
            and r["gpu_memory_gb"]
        ]
        assert rows and {float(r["gpu_memory_gb"]) for r in rows} == {memory}, (model, ff)
    assert ("H100", None) not in table.unique_spec_memory_gb  # 80 or 94 GB


def test_memory_source_says_where_memory_came_from():
    assert resolve("Tesla V100-SXM2-32GB").memory_source == "name"
    assert resolve("Tesla V100", memory_gb=16).memory_source == "provider"
    assert resolve("NVIDIA", provider="aws", instance_type="p4d.24xlarge").memory_source == (
        "provider"
    )
    assert resolve("RTX6000", provider="lambdalabs").memory_source == "provider"
    assert resolve("A100").memory_source is None


# --- model-formfactor-memory ids: one general rule, not one alias per id ------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("h100-sxm-80gb", ("H100", 80.0, "SXM")),
        ("a100-pcie-40gb", ("A100", 40.0, "PCIe")),
        ("rtx-a6000-48gb", ("RTX A6000", 48.0, "PCIe")),
        ("l40s-48gb.8x", ("L40S", 48.0, "PCIe")),
        ("A100_SXM4_80GB", ("A100", 80.0, "SXM")),
        ("nvidia-h200-141Gi-sxm5", ("H200", 141.0, "SXM")),
        ("H100NVL", ("H100", 94.0, "NVL")),
        ("RTXA4500", ("RTX A4500", 20.0, "PCIe")),
        ("RTXPro6000", ("RTX PRO 6000", 96.0, "PCIe")),
        ("gpu-a100x8-320gb", ("A100", None, None)),  # 320 GB is the total of 8 GPUs
    ],
)
def test_model_formfactor_memory_ids(raw, expected):
    assert raw.lower() not in {r["pattern"].lower() for r in _alias_rows()}  # no alias per id
    res = resolve(raw)
    assert (res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor) == expected


def test_a100x_is_a_model_not_a_count():
    assert resolve("A100X").gpu_model == "A100X"
    assert resolve("A100x8").gpu_model == "A100"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("RTXA6000", "rtx a6000"),
        ("RTXPro6000", "rtx pro 6000"),
        ("RTXPRO6000Blackwell", "rtx pro 6000 blackwell"),
        ("H100NVL", "h100 nvl"),
        ("A100SXM4", "a100 sxm4"),
        ("gpu-h100x8-640gb", "gpu h100 x8 640gb"),
        ("A100X", "a100x"),
    ],
)
def test_glued_catalog_ids_are_split(raw, key):
    assert normalize(raw) == key


# --- ambiguous short names resolve only with provider context --------------------------------


def test_lambda_rtx6000_is_the_quadro_board_only_at_lambda():
    res = resolve("RTX6000", provider="lambdalabs")
    assert (res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor) == (
        "Quadro RTX 6000",
        24.0,
        "PCIe",
    )
    for provider in (None, "vastai", "runpod"):
        res = resolve("RTX6000", provider=provider)
        assert res.gpu_model is None and res.gpu_memory_gb is None
        assert res.ambiguous_models == ("Quadro RTX 6000", "RTX 6000 Ada", "RTX PRO 6000")


def test_paperspace_plans_named_after_quadro_boards():
    for raw, model, memory in (
        ("RTX4000", "Quadro RTX 4000", 8.0),
        ("RTX5000", "Quadro RTX 5000", 16.0),
    ):
        res = resolve(raw, provider="paperspace")
        assert (res.gpu_model, res.gpu_memory_gb) == (model, memory)
        assert resolve(raw).gpu_model is None  # RTX 4000/5000 Ada exist too
    assert resolve("RTX 5000", memory_gb=32).gpu_model == "RTX 5000 Ada"


def test_a_provider_row_beats_a_longer_generic_spelling():
    # GCP's A100 80GB is the A2 Ultra SXM board; the generic spelling leaves the form open
    assert resolve("NVIDIA_A100_80GB", provider="gcp").gpu_form_factor == "SXM"
    assert resolve("NVIDIA A100 80GB").gpu_form_factor is None
    # ... unless the name contradicts the provider row
    assert resolve("Nvidia Tesla A100 80GB", provider="gcp").gpu_memory_gb == 80.0


# --- held-out measurement ---------------------------------------------------------------------


def _judge(row: dict[str, str]) -> tuple[bool, bool]:
    """Right model: the canonical model (None for a name that must stay unresolved). Right
    memory: right model and exactly the per-GPU memory the spelling implies (None when it
    implies none)."""
    res = resolve(row["raw"], provider=row["provider"] or None)
    model_ok = res.gpu_model == (row["expected_model"] or None)
    return model_ok, model_ok and res.gpu_memory_gb == _num(row["expected_memory_gb"])


def test_heldout_spellings_resolve_above_the_floor():
    rows = _heldout_rows()
    judged = [_judge(r) for r in rows]
    misses = [r["raw"] for r, (m, mem) in zip(rows, judged, strict=True) if not (m and mem)]
    model_share = sum(m for m, _ in judged) / len(rows)
    memory_share = sum(mem for _, mem in judged) / len(rows)
    assert model_share >= MODEL_FLOOR, misses
    assert memory_share >= MEMORY_FLOOR, misses


def test_heldout_sources_were_not_used_to_write_aliases():
    rows = _heldout_rows()
    assert len(rows) >= 70
    assert all(r["source"].strip() and r["set"] in ("A", "B") for r in rows)
    heldout_files = {r["source"].split(" @ ")[0] for r in rows}
    alias_sources = " ".join(r["source"] for r in _alias_rows())
    assert [f for f in heldout_files if f in alias_sources] == []
