"""Price per PFLOP-hour tables from a small synthetic history."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.derive.tflops import (
    PRECISIONS,
    SUMMARY_FILE,
    SUMMARY_SCHEMA,
    TFLOPS_FILE,
    TFLOPS_SCHEMA,
    UNRANKED_REASONS,
    price_per_tflop,
    publish,
    summarize,
)
from pipelines.schema import HISTORY_FIELDS, offer_key

T0 = pd.Timestamp("2026-11-01T00:00:00Z")


def history(*offers: dict) -> pd.DataFrame:
    """History rows with every published column; unset columns are null."""
    rows = []
    for o in offers:
        r = dict.fromkeys(f.name for f in HISTORY_FIELDS)
        r.update(
            region="us-east-1",
            zone=None,
            term=None,
            currency="USD",
            gpu_count=1.0,
            observed_at=T0,
            valid_from=T0,
            last_seen_at=T0,
            valid_to=None,
            snapshot_sha256="0" * 64,
            dataset_version="v1",
            instance_type="x",
        )
        r.update(o)
        r["offer_key"] = offer_key(
            r["provider"], r["instance_type"], r["region"], r["zone"], r["pricing_model"], r["term"]
        )
        r["price_usd_per_gpu_hour"] = r["price_per_hour"] / r["gpu_count"]
        rows.append(r)
    return pd.DataFrame(rows)


def offer(
    provider, instance, model, price, pricing="on_demand", mem=None, ff=None, count=1.0, **kw
):
    return dict(
        provider=provider,
        instance_type=instance,
        gpu_model=model,
        gpu_memory_gb=mem,
        gpu_form_factor=ff,
        price_per_hour=price,
        gpu_count=count,
        pricing_model=pricing,
        gpu_name_raw=model,
        **kw,
    )


CURRENT = history(
    offer("aws", "p4d.24xlarge", "A100", 32.0, mem=40.0, ff="SXM", count=8.0),  # 4.00 / GPU-h
    offer(
        "aws", "p4d.24xlarge", "A100", 12.0, pricing="spot", mem=40.0, ff="SXM", count=8.0
    ),  # 1.50
    offer("runpod", "A100 SXM", "A100", 1.89, mem=80.0, ff="SXM"),
    offer("vastai", "A100 PCIE", "A100", 1.20, mem=80.0, ff="PCIe", region="US"),
    offer("vastai", "A100 PCIE 2", "A100", 1.40, mem=80.0, ff="PCIe", region="CA"),
    offer("lambdalabs", "gpu_1x_h100_sxm5", "H100", 2.99, mem=80.0, ff="SXM"),
    offer("gcp", "n1+t4", "T4", 0.35, mem=16.0, ff="PCIe"),
    offer("gcp", "n1+t4", "T4", 0.11, pricing="spot", mem=16.0, ff="PCIe"),
    offer("colab", "T4", "T4", 0.0, pricing="free", mem=16.0, ff="PCIe"),  # no price: skipped
    offer("vastai", "weird", None, 0.5),  # unresolved GPU: skipped
    offer("vastai", "A100X", "A100X", 0.9, mem=80.0, ff="PCIe"),  # no spec row: skipped
    offer("aws", "old", "H100", 0.01, mem=80.0, ff="SXM", valid_to=T0),  # closed version: skipped
)


def test_usd_per_pflop_hour_is_price_over_dense_tflops():
    df = price_per_tflop(CURRENT)
    h100 = df[(df.gpu_model == "H100") & (df.precision == "bf16")].iloc[0]
    assert h100.tflops_per_gpu == 989.5
    assert h100.usd_per_pflop_hour == pytest.approx(2.99 * 1000 / 989.5)
    p4d = df[
        (df.provider == "aws") & (df.pricing_model == "on_demand") & (df.precision == "fp32")
    ].iloc[0]
    assert p4d.price_usd_per_gpu_hour == 4.0  # per GPU, not per 8-GPU instance
    assert p4d.usd_per_pflop_hour == pytest.approx(4.0 * 1000 / 19.5)


def test_every_current_offer_is_in_the_table_ranked_or_with_its_reason():
    df = price_per_tflop(CURRENT)
    live = CURRENT[CURRENT.valid_to.isna()]
    # one row per (current offer, precision): nothing leaves the table silently
    assert len(df) == len(live) * len(PRECISIONS)
    assert set(df.offer_key) == set(live.offer_key)
    assert "aws|old|us-east-1||on_demand|" not in set(df.offer_key)  # closed version
    assert set(df.precision) == set(PRECISIONS)  # int8 is TOPS, never here
    reasons = df.groupby("instance_type").unranked_reason.agg(lambda s: set(s.dropna()))
    assert reasons["weird"] == {"gpu_unresolved"}
    assert reasons["A100X"] == {"no_spec_row"}
    assert df[df.pricing_model == "free"].unranked_reason.eq("no_price").all()
    # T4: fp32 and fp16 tensor figures only (Turing has no bf16): the rest precision_unknown
    t4 = df[(df.instance_type == "n1+t4") & (df.pricing_model == "on_demand")]
    assert set(t4[t4.unranked_reason.isna()].precision) == {"fp32", "fp16"}
    assert set(t4[t4.unranked_reason.notna()].unranked_reason) == {"precision_unknown"}
    # unranked rows carry no figure and no rank; ranked rows all of them
    unranked = df[df.unranked_reason.notna()]
    assert unranked[["usd_per_pflop_hour", "rank_overall", "rank_in_model"]].isna().all().all()
    ranked = df[df.unranked_reason.isna()]
    assert ranked[["tflops_per_gpu", "usd_per_pflop_hour", "rank_overall"]].notna().all().all()
    assert set(df.unranked_reason.dropna()) <= set(UNRANKED_REASONS)


def test_unknown_form_factor_is_ranked_at_the_family_lower_bound():
    df = price_per_tflop(
        history(
            offer("azure", "Standard_NC6s_v3", "V100", 3.06, mem=16.0),  # form factor unknown
            offer("oracle", "VM.GPU3.1", "V100", 2.95, mem=16.0, ff="SXM"),
            offer("runpod", "A100 80GB", "A100", 1.64, mem=80.0),  # TFLOPS same on SXM/PCIe
        )
    )
    fp32 = df[df.precision == "fp32"].set_index("provider")
    assert fp32.loc["azure", "tflops_per_gpu"] == 14.0  # PCIe's, the lower of 15.7 / 14
    assert fp32.loc["azure", "spec_match"] == "family_lower_bound"
    assert fp32.loc["azure", "usd_per_pflop_hour"] == pytest.approx(3.06 * 1000 / 14)
    assert (fp32.loc["oracle", "tflops_per_gpu"], fp32.loc["oracle", "spec_match"]) == (
        15.7,
        "exact",
    )
    # A100 80 GB: bandwidth differs between variants, FP32 does not -> this figure is exact
    assert fp32.loc["runpod", "spec_match"] == "exact"
    assert fp32.unranked_reason.isna().all()
    assert set(df.loc[df.unranked_reason.isna(), "spec_match"]) <= {"exact", "family_lower_bound"}
    assert set(df.loc[df.unranked_reason.notna(), "spec_match"]) == {"none"}


def test_ranks_overall_and_within_model_per_pricing_model():
    df = price_per_tflop(CURRENT)
    df = df[df.unranked_reason.isna()]
    bf16 = df[(df.precision == "bf16") & (df.pricing_model == "on_demand")].sort_values(
        "rank_overall"
    )
    # $/PFLOP-h: vast 1.20/312, vast 1.40/312, runpod 1.89/312, lambda 2.99/989.5 (cheaper than all A100s), aws 4/312
    assert list(bf16.instance_type) == [
        "gpu_1x_h100_sxm5",
        "A100 PCIE",
        "A100 PCIE 2",
        "A100 SXM",
        "p4d.24xlarge",
    ]
    assert list(bf16.rank_overall) == [1, 2, 3, 4, 5]
    assert list(bf16.rank_in_model) == [1, 1, 2, 3, 4]
    spot = df[(df.precision == "fp32") & (df.pricing_model == "spot")].sort_values("rank_overall")
    # spot is ranked on its own: the T4 spot offer is #1 though an on-demand T4 exists
    assert list(spot.instance_type) == ["n1+t4", "p4d.24xlarge"] and list(spot.rank_overall) == [
        1,
        2,
    ]
    assert spot.iloc[0].usd_per_pflop_hour == pytest.approx(0.11 * 1000 / 8.1)


def test_scopes_and_kinds_are_ranked_apart():
    df = price_per_tflop(
        history(
            offer("gcp", "nvidia-l4", "L4", 0.56, mem=24.0, ff="PCIe", price_scope="gpu_only"),
            offer("gcp", "g2-standard-4", "L4", 0.71, mem=24.0, ff="PCIe"),
            offer("gcp", "v5litepod-1", "TPU v5e", 1.20, accelerator_kind="tpu"),
            offer("aws", "inf2.xlarge", "Inferentia2", 0.76, accelerator_kind="asic"),
            offer("aws", "dl2q", "Gaudi3", 0.01, accelerator_kind="asic"),
        )
    )
    bf16 = df[df.precision == "bf16"].set_index("instance_type")
    # the GPU-only SKU is cheaper but never outranks the whole VM: each is #1 of its scope
    assert (
        bf16.loc["nvidia-l4", "rank_overall"] == 1
        and bf16.loc["g2-standard-4", "rank_overall"] == 1
    )
    assert bf16.loc["nvidia-l4", "price_scope"] == "gpu_only"
    assert bf16.loc["g2-standard-4", "price_scope"] == "instance"  # null in old rows = instance
    # the TPU and the Gaudi are #1 of their own kind, not ahead of (or behind) the GPUs
    assert bf16.loc["v5litepod-1", "accelerator_kind"] == "tpu"
    assert bf16.loc["v5litepod-1", "rank_overall"] == 1
    assert bf16.loc["dl2q", "accelerator_kind"] == "asic" and bf16.loc["dl2q", "rank_overall"] == 1
    # Inferentia2 has no published figure: listed, unranked, still an asic
    assert bf16.loc["inf2.xlarge", "unranked_reason"] == "precision_unknown"
    assert bf16.loc["inf2.xlarge", "accelerator_kind"] == "asic"


def test_equal_prices_share_a_rank():
    df = price_per_tflop(
        history(
            offer("a", "x", "L4", 0.5, mem=24.0, ff="PCIe"),
            offer("b", "y", "L4", 0.5, mem=24.0, ff="PCIe"),
        )
    )
    assert set(df[df.precision == "fp32"].rank_overall) == {1}


def test_fractional_gpu_is_priced_per_whole_gpu():
    df = price_per_tflop(
        history(offer("azure", "NV6ads_A10_v5", "A10", 0.454, mem=24.0, ff="PCIe", count=1 / 6))
    )
    r = df[df.precision == "fp32"].iloc[0]
    assert r.price_usd_per_gpu_hour == pytest.approx(0.454 * 6)


def test_summary_counts_every_provider_and_ranks_the_cheapest():
    per = price_per_tflop(CURRENT)
    s = summarize(per)
    key = ["gpu_model", "pricing_model", "price_scope", "precision"]
    assert not s.duplicated(key).any() and list(s.columns) == SUMMARY_SCHEMA.names
    a100 = s[
        (s.gpu_model == "A100") & (s.pricing_model == "on_demand") & (s.precision == "bf16")
    ].iloc[0]
    assert a100.cheapest_provider == "vastai" and a100.cheapest_price_usd_per_gpu_hour == 1.20
    assert a100.provider_count == 3 and a100.offer_count == 4
    assert (a100.ranked_provider_count, a100.ranked_offer_count) == (3, 4)
    assert (a100.price_scope, a100.accelerator_kind, a100.cheapest_spec_match) == (
        "instance",
        "gpu",
        "exact",
    )
    # median of each provider's cheapest: vastai 1.20, runpod 1.89, aws 4.00 -> 1.89 (vast's 2nd offer not counted)
    assert a100.median_price_usd_per_gpu_hour == 1.89
    assert a100.median_usd_per_pflop_hour == pytest.approx(1.89 * 1000 / 312)
    # T4 has no bf16 figure: still in the summary with all its providers, nothing ranked
    t4 = s[(s.gpu_model == "T4") & (s.pricing_model == "on_demand") & (s.precision == "bf16")]
    t4 = t4.iloc[0]
    assert (t4.provider_count, t4.ranked_provider_count) == (1, 0)
    assert pd.isna(t4.cheapest_usd_per_pflop_hour) and t4.median_price_usd_per_gpu_hour == 0.35
    # a model without a spec row counts too
    a100x = s[(s.gpu_model == "A100X") & (s.precision == "fp32")].iloc[0]
    assert (a100x.provider_count, a100x.ranked_offer_count) == (1, 0)


def test_empty_history():
    assert price_per_tflop(CURRENT.iloc[0:0]).empty
    assert summarize(price_per_tflop(CURRENT.iloc[0:0])).empty


def test_history_without_the_new_columns_still_ranks():
    # A history published before price_scope/accelerator_kind existed.
    old = CURRENT.drop(columns=["price_scope", "accelerator_kind", "spec_match"])
    df = price_per_tflop(old)
    assert set(df.price_scope) == {"instance"}
    assert df.loc[df.gpu_model == "H100", "accelerator_kind"].eq("gpu").all()


def test_publish_writes_both_tables(tmp_path):
    counts = publish(CURRENT, tmp_path, "v7")
    per = pq.read_table(tmp_path / TFLOPS_FILE)
    summary = pq.read_table(tmp_path / SUMMARY_FILE)
    assert per.schema.names == TFLOPS_SCHEMA.names and summary.schema.names == SUMMARY_SCHEMA.names
    assert counts == {TFLOPS_FILE: per.num_rows, SUMMARY_FILE: summary.num_rows}
    assert per.num_rows > 0 and set(per.column("dataset_version").to_pylist()) == {"v7"}
    # publishing an empty history still writes readable (empty) tables
    publish(CURRENT.iloc[0:0], tmp_path, "v8")
    assert pq.read_table(tmp_path / TFLOPS_FILE).num_rows == 0
