"""Price per PFLOP-hour tables from a small synthetic history."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.derive.tflops import (
    SUMMARY_FILE,
    SUMMARY_SCHEMA,
    TFLOPS_FILE,
    TFLOPS_SCHEMA,
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


def test_skips_free_unresolved_unspecified_and_closed_rows():
    df = price_per_tflop(CURRENT)
    assert set(df.provider + "|" + df.instance_type) == {
        "aws|p4d.24xlarge",
        "runpod|A100 SXM",
        "vastai|A100 PCIE",
        "vastai|A100 PCIE 2",
        "lambdalabs|gpu_1x_h100_sxm5",
        "gcp|n1+t4",
    }
    assert "free" not in set(df.pricing_model)
    assert set(df.precision) <= {"fp64", "fp32", "tf32", "fp16", "bf16", "fp8"}  # int8 is TOPS
    # T4: fp32 and fp16 tensor figures only (Turing has no bf16)
    t4 = df[df.gpu_model == "T4"]
    assert set(t4.precision) == {"fp32", "fp16"}


def test_ranks_overall_and_within_model_per_pricing_model():
    df = price_per_tflop(CURRENT)
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


def test_summary_cheapest_median_across_providers_and_counts():
    per = price_per_tflop(CURRENT)
    s = summarize(per)
    a100 = s[
        (s.gpu_model == "A100") & (s.pricing_model == "on_demand") & (s.precision == "bf16")
    ].iloc[0]
    assert a100.cheapest_provider == "vastai" and a100.cheapest_price_usd_per_gpu_hour == 1.20
    assert a100.provider_count == 3 and a100.offer_count == 4
    # median of each provider's cheapest: vastai 1.20, runpod 1.89, aws 4.00 -> 1.89 (vast's 2nd offer not counted)
    assert a100.median_price_usd_per_gpu_hour == 1.89
    assert a100.median_usd_per_pflop_hour == pytest.approx(1.89 * 1000 / 312)
    assert list(s.columns) == SUMMARY_SCHEMA.names


def test_empty_history():
    assert price_per_tflop(CURRENT.iloc[0:0]).empty
    assert summarize(price_per_tflop(CURRENT.iloc[0:0])).empty


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
