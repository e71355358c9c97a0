"""GPU spec table (pipelines/data/gpu_specs.csv) and its join into offer rows."""

from __future__ import annotations

import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.derive import specs
from pipelines.derive.specs import (
    SPEC_COLUMNS,
    SPECS_SCHEMA,
    coverage,
    join_specs,
    load_specs,
    publish_specs,
    spec_values,
    unmatched,
)
from pipelines.ingest.gpus import resolve
from pipelines.schema import SPEC_FIELDS


def row(model: str, form_factor: str | None, memory_gb: float) -> pd.Series:
    df = load_specs()
    ff = (
        df["gpu_form_factor"].isna()
        if form_factor is None
        else df["gpu_form_factor"] == form_factor
    )
    hit = df[(df["gpu_model"] == model) & ff & (df["gpu_memory_gb"] == memory_gb)]
    assert len(hit) == 1, (model, form_factor, memory_gb)
    return hit.iloc[0]


# --- dense, not sparse ----------------------------------------------------------------


def test_a100_tensor_figures_are_dense():
    # datasheet: TF32 156 | 312*, BF16/FP16 312 | 624*, INT8 624 | 1248* (* = 2:4 sparsity)
    for ff, mem in (("SXM", 40), ("SXM", 80), ("PCIe", 40), ("PCIe", 80)):
        r = row("A100", ff, mem)
        assert (r.gpu_tf32_tflops, r.gpu_bf16_tflops, r.gpu_fp16_tflops, r.gpu_int8_tops) == (
            156,
            312,
            312,
            624,
        )
        assert r.gpu_fp32_tflops == 19.5 and r.gpu_fp64_tflops == 9.7


def test_h100_sxm_tensor_figures_are_dense():
    # datasheet (sparse): TF32 989, BF16 1979, FP8 3958, INT8 3958 -> halved
    r = row("H100", "SXM", 80)
    assert (r.gpu_tf32_tflops, r.gpu_bf16_tflops, r.gpu_fp8_tflops, r.gpu_int8_tops) == (
        494.5,
        989.5,
        1979,
        1979,
    )
    assert (r.gpu_fp32_tflops, r.gpu_fp64_tflops, r.gpu_tdp_w) == (67, 34, 700)
    pcie = row("H100", "PCIe", 80)
    assert pcie.gpu_bf16_tflops == 756.5 and pcie.gpu_memory_type == "HBM2e"


def test_tensor_figures_of_sparsity_era_nvidia_rows_say_they_were_halved():
    df = load_specs()
    sparse_era = df[
        (df["gpu_vendor"] == "NVIDIA")
        & df["gpu_architecture"].isin(["Ampere", "Ada Lovelace", "Hopper", "Blackwell"])
        & df[["gpu_tf32_tflops", "gpu_bf16_tflops", "gpu_fp8_tflops"]].notna().any(axis=1)
    ]
    assert len(sparse_era) >= 15
    for _, r in sparse_era.iterrows():
        assert "halved" in r.gpu_spec_notes, r.gpu_model
        # dense BF16 is twice dense TF32 on every NVIDIA tensor core generation listed
        if not math.isnan(r.gpu_tf32_tflops) and not math.isnan(r.gpu_bf16_tflops):
            assert r.gpu_bf16_tflops == pytest.approx(2 * r.gpu_tf32_tflops, rel=0.03), r.gpu_model


def test_pre_tensor_gpus_have_no_tensor_figures():
    for model, ff, mem in (("P100", "PCIe", 16), ("K80", "PCIe", 12), ("Quadro P4000", "PCIe", 8)):
        r = row(model, ff, mem)
        assert all(
            pd.isna(r[c])
            for c in ("gpu_tf32_tflops", "gpu_fp16_tflops", "gpu_bf16_tflops", "gpu_fp8_tflops")
        )


# --- die versus board -----------------------------------------------------------------


def test_k80_counts_one_die():
    # board: 2 x GK210, 24 GB, 480 GB/s, FP32 8.73 / FP64 2.91 TFLOPS (boost), 300 W
    r = row("K80", "PCIe", 12)
    assert r.gpu_counting_unit == "die"
    assert r.gpu_fp32_tflops == pytest.approx(8.73 / 2)
    assert r.gpu_fp64_tflops == pytest.approx(2.91 / 2)
    assert (r.gpu_memory_bandwidth_gbps, r.gpu_tdp_w) == (240, 150)


def test_m60_counts_one_die():
    r = row("M60", "PCIe", 8)
    assert r.gpu_counting_unit == "die" and r.gpu_tdp_w == 150


def test_mi250x_counts_one_gcd():
    # module: 128 GB, 3276.8 GB/s, FP64 vector 47.9, FP16 383 TFLOPS, 560 W
    r = row("MI250X", None, 64)
    assert r.gpu_counting_unit.startswith("GCD")
    assert (r.gpu_fp64_tflops, r.gpu_fp16_tflops, r.gpu_memory_bandwidth_gbps, r.gpu_tdp_w) == (
        pytest.approx(47.9 / 2),
        pytest.approx(383 / 2),
        pytest.approx(3276.8 / 2),
        280,
    )


def test_cloud_memory_per_gpu_matches_the_spec_row():
    # what the resolver says a cloud "GPU" has is what the spec row describes
    for raw, ctx in (
        ("Tesla K80", {"provider": "azure", "instance_type": "Standard_NC6"}),
        ("Tesla M60", {"provider": "azure", "instance_type": "Standard_NV6"}),
        ("MI250X", {}),
    ):
        res = resolve(raw, **ctx)
        assert spec_values(res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor) is not None
        assert not specs.candidates(res.gpu_model, res.gpu_memory_gb, res.gpu_form_factor).empty


# --- the table itself -----------------------------------------------------------------


def test_every_row_has_a_url_source_and_unique_variant():
    df = load_specs()
    assert df["gpu_spec_source"].str.startswith("https://").all()
    assert not df.duplicated(["gpu_model", "gpu_form_factor", "gpu_memory_gb"]).any()
    assert list(df.columns) == SPECS_SCHEMA.names


def test_coverage_of_the_gpus_providers_offer():
    models = set(load_specs()["gpu_model"])
    for m in (
        "K80",
        "M60",
        "P4",
        "P40",
        "P100",
        "V100",
        "T4",
        "A10",
        "A10G",
        "A100",
        "H100",
        "H200",
        "B200",
        "L4",
        "L40",
        "L40S",
        "A40",
        "A16",
        "RTX 3090",
        "RTX 4090",
        "RTX 5090",
        "RTX A4000",
        "RTX A5000",
        "RTX A6000",
        "RTX 6000 Ada",
        "Quadro RTX 6000",
        "GTX 1070",
        "GTX 1080",
        "GTX 1080 Ti",
        "RTX 2070",
        "RTX 2080 Ti",
        "Quadro P4000",
        "Quadro P5000",
        "Quadro P6000",
        "MI25",
        "MI100",
        "MI210",
        "MI250X",
        "MI300X",
        "MI325X",
        "Radeon Pro V520",
        "Gaudi",
        "Gaudi2",
        "Gaudi3",
        "Inferentia",
        "Inferentia2",
        "Trainium",
        "Trainium2",
        "TPU v2",
        "TPU v3",
        "TPU v4",
        "TPU v5e",
        "TPU v5p",
        "TPU v6e",
    ):
        assert m in models, m
    cov = coverage()
    assert cov["rows"] == len(load_specs()) and cov["bf16"] > 20 and cov["fp32"] > 40


def test_every_spec_model_is_a_name_the_resolver_produces():
    for model in load_specs()["gpu_model"].unique():
        assert resolve(model).gpu_model == model, model


# --- join -----------------------------------------------------------------------------


def offers(**cols) -> pd.DataFrame:
    return pd.DataFrame(cols)


def test_join_adds_exactly_the_spec_fields():
    df = offers(
        gpu_model=["T4"],
        gpu_memory_gb=[16.0],
        gpu_form_factor=["PCIe"],
        gpu_name_raw=["Tesla T4"],
        price_per_hour=[0.35],
    )
    out = join_specs(df)
    assert list(out.columns) == list(df.columns) + SPEC_COLUMNS + ["accelerator_kind"]
    assert (out.loc[0, "spec_match"], out.loc[0, "accelerator_kind"]) == ("exact", "gpu")
    assert out.loc[0, "gpu_fp16_tflops"] == 65 and out.loc[0, "gpu_vendor"] == "NVIDIA"
    assert df.columns.tolist() == [
        "gpu_model",
        "gpu_memory_gb",
        "gpu_form_factor",
        "gpu_name_raw",
        "price_per_hour",
    ]
    for f in SPEC_FIELDS:
        if f.type.equals(pa.float64()):
            assert out[f.name].dtype == "float64"


def test_join_overwrites_stale_spec_columns():
    df = offers(
        gpu_model=["L4"],
        gpu_memory_gb=[24.0],
        gpu_form_factor=["PCIe"],
        gpu_fp32_tflops=[1.0],
        gpu_vendor=["stale"],
    )
    out = join_specs(df)
    assert out.loc[0, "gpu_fp32_tflops"] == 30.3 and out.loc[0, "gpu_vendor"] == "NVIDIA"
    assert list(out.columns).count("gpu_fp32_tflops") == 1


def test_join_exact_variant():
    out = join_specs(offers(gpu_model=["A100"], gpu_memory_gb=[80.0], gpu_form_factor=["PCIe"]))
    assert (out.loc[0, "gpu_tdp_w"], out.loc[0, "gpu_memory_bandwidth_gbps"]) == (300, 1935)


def test_join_ambiguous_variant_agreeing_figures_as_is_differing_ones_lowest():
    # A100 80 GB of unknown form factor: SXM (400 W, 2039 GB/s) or PCIe (300 W, 1935 GB/s)
    out = join_specs(offers(gpu_model=["A100"], gpu_memory_gb=[80.0], gpu_form_factor=[None]))
    r = out.iloc[0]
    assert (r.gpu_bf16_tflops, r.gpu_fp32_tflops, r.gpu_memory_type) == (312, 19.5, "HBM2e")
    # bandwidth is a figure: the lowest variant's; TDP is descriptive: only when all agree
    assert r.gpu_memory_bandwidth_gbps == 1935 and pd.isna(r.gpu_tdp_w)
    assert r.spec_match == "family_lower_bound"
    # an A100 of unknown size: launch month and memory type differ too
    r = join_specs(offers(gpu_model=["A100"], gpu_memory_gb=[None], gpu_form_factor=[None])).iloc[0]
    assert r.gpu_bf16_tflops == 312 and r.gpu_memory_type is None and r.gpu_launch_month is None
    assert r.gpu_spec_source.startswith("https://")


def test_join_memory_that_matches_no_variant_narrows_nothing():
    # a fractional slice (Vultr: 4 GB of an A100) must not lose the model's common figures
    r = join_specs(offers(gpu_model=["A100"], gpu_memory_gb=[4.0], gpu_form_factor=["PCIe"])).iloc[
        0
    ]
    assert r.gpu_bf16_tflops == 312 and pd.isna(r.gpu_tdp_w)  # PCIe 40 (250 W) vs 80 (300 W)


def test_join_unknown_model_and_no_gpu_leave_nulls():
    out = join_specs(
        offers(
            gpu_model=["A100X", None], gpu_memory_gb=[80.0, None], gpu_form_factor=["PCIe", None]
        )
    )
    assert out[[c for c in SPEC_COLUMNS if c != "spec_match"]].isna().all().all()
    assert list(out["spec_match"]) == ["none", "none"]
    assert out.loc[0, "accelerator_kind"] == "gpu" and out.loc[1, "accelerator_kind"] is None


def test_join_empty_frame():
    out = join_specs(pd.DataFrame(columns=["gpu_model", "gpu_memory_gb", "gpu_form_factor"]))
    assert out.empty and set(SPEC_COLUMNS) <= set(out.columns)


# --- spec_match: never drop an offer whose model has a spec row -------------------------


def test_v100_of_unknown_form_factor_gets_the_lowest_figures_and_is_marked():
    # Azure NC6s_v3, Colab, DataCrunch, Paperspace and Vast.ai say "V100 16GB" but not the
    # form factor: SXM2 15.7 / PCIe 14 FP32 TFLOPS (NVIDIA V100 datasheet) -> 14, marked.
    r = join_specs(offers(gpu_model=["V100"], gpu_memory_gb=[16.0], gpu_form_factor=[None])).iloc[0]
    assert (r.gpu_fp32_tflops, r.gpu_fp16_tflops, r.gpu_fp64_tflops) == (14, 112, 7)
    assert r.spec_match == "family_lower_bound"
    assert r.gpu_memory_bandwidth_gbps == 900  # same on both: as is
    found = specs.spec_lookup("V100", 16.0, None)
    assert found.lower_bound_columns == {"gpu_fp64_tflops", "gpu_fp32_tflops", "gpu_fp16_tflops"}


def test_known_form_factor_is_exact_and_agreeing_variants_are_exact():
    r = join_specs(offers(gpu_model=["V100"], gpu_memory_gb=[16.0], gpu_form_factor=["SXM"])).iloc[
        0
    ]
    assert (r.gpu_fp32_tflops, r.spec_match) == (15.7, "exact")
    # H200: SXM and NVL differ, so unknown form factor is a lower bound; one-variant T4 is exact
    assert specs.spec_lookup("H200", 141.0, None).values["gpu_bf16_tflops"] == 835.5
    assert specs.spec_lookup("H200", 141.0, None).spec_match == "family_lower_bound"
    assert specs.spec_lookup("T4").spec_match == "exact"
    # A figure no variant has stays empty (no precision to rank on): TPU v5e has no FP32
    tpu = specs.spec_lookup("TPU v5e")
    assert tpu.values["gpu_fp32_tflops"] is None and tpu.spec_match == "exact"


def test_lower_bound_never_exceeds_any_variant():
    df = load_specs()
    for model, grp in df.groupby("gpu_model"):
        found = specs.spec_lookup(model)
        for col in specs.LOWER_BOUND_COLUMNS:
            known = grp[col].dropna()
            if len(known):
                assert found.values[col] == known.min(), (model, col)
            else:
                assert found.values[col] is None, (model, col)


def test_reference_key_covers_specs_and_kinds(tmp_path, monkeypatch):
    from pipelines.ingest import kinds

    before = specs.reference_key()
    copy = tmp_path / "accelerator_kinds.csv"
    copy.write_text(kinds.KINDS_CSV.read_text() + "Maia 100,asic,https://example.org\n")
    monkeypatch.setattr(specs, "KINDS_CSV", copy)
    assert specs.reference_key() != before


def test_unmatched_lists_models_without_a_row_and_unresolved_names():
    df = offers(
        gpu_model=["A100", "A100X", None, None, "Quadro K2200"],
        gpu_name_raw=["A100 SXM4", "A100X", "Example GPU", None, "Quadro K2200"],
    )
    assert unmatched(df) == ["A100X", "Example GPU (unresolved)", "Quadro K2200"]
    assert unmatched(pd.DataFrame()) == []


def test_publish_specs(tmp_path):
    publish_specs(tmp_path, "20260101T000000Z")
    table = pq.read_table(tmp_path / "gpu_specs.parquet")
    assert table.schema.names == SPECS_SCHEMA.names
    assert table.num_rows == len(load_specs())
    assert table.schema.metadata[b"gpu_prices.dataset_version"] == b"20260101T000000Z"
