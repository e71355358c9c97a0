"""`scrape gpus show` and `scrape top` on a small synthetic history in a temp directory."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli import gpus, top
from pipelines.cli.common import OneLineErrors
from pipelines.derive.tflops import TFLOPS_FILE, publish
from pipelines.schema import HISTORY_FIELDS, offer_key
from pipelines.store.atomic import to_table
from pipelines.tables import PRICES

T0 = pd.Timestamp("2026-11-01T00:00:00Z")
runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(cls=OneLineErrors)  # as in pipelines/cli/main.py: bad input is one line
    gpus.register(app)
    top.register(app)
    return app


def _row(
    provider,
    instance,
    raw,
    model,
    mem,
    ff,
    price,
    pricing="on_demand",
    region="us-east-1",
    count=1.0,
    scope="instance",
):
    r = dict.fromkeys(f.name for f in HISTORY_FIELDS)
    r.update(
        provider=provider,
        instance_type=instance,
        region=region,
        pricing_model=pricing,
        gpu_name_raw=raw,
        gpu_model=model,
        gpu_memory_gb=mem,
        gpu_form_factor=ff,
        gpu_count=count,
        currency="USD",
        price_per_hour=price,
        price_usd_per_hour=price,
        price_usd_per_gpu_hour=price / count,
        price_scope=scope,
        observed_at=T0,
        valid_from=T0,
        last_seen_at=T0,
        snapshot_sha256="0" * 64,
        dataset_version="v1",
    )
    r["offer_key"] = offer_key(provider, instance, region, None, pricing, None)
    return r


@pytest.fixture
def datasets(tmp_path):
    rows = [
        _row(
            "gcp",
            "n1-standard-4+t4",
            "Nvidia Tesla T4",
            "T4",
            16.0,
            "PCIe",
            0.35,
            region="us-central1",
        ),
        _row(
            "gcp",
            "n1-standard-4+t4",
            "Nvidia Tesla T4",
            "T4",
            16.0,
            "PCIe",
            0.12,
            "spot",
            region="us-central1",
        ),
        _row(
            "azure",
            "Standard_NC4as_T4_v3",
            "NVIDIA Tesla T4",
            "T4",
            16.0,
            "PCIe",
            0.20,
            "spot",
            region="eastus",
        ),
        _row(
            "aws",
            "g4dn.xlarge",
            "NVIDIA T4 Tensor Core",
            "T4",
            16.0,
            "PCIe",
            0.16,
            "spot",
            region="eu-west-1",
        ),
        _row("lambdalabs", "gpu_1x_h100_sxm5", "H100 (80 GB SXM5)", "H100", 80.0, "SXM", 2.99),
        _row(
            "runpod",
            "A100 SXM",
            "NVIDIA A100-SXM4-80GB",
            "A100",
            80.0,
            "SXM",
            1.89,
            region="global",
        ),
        _row("vastai", "RTX 4090", "RTX 4090", "RTX 4090", 24.0, "PCIe", 0.35, region="US"),
    ]
    prices = tmp_path / "gpu_prices.parquet"  # a directory of parquet files, like the real one
    prices.mkdir()
    pq.write_table(to_table(pd.DataFrame(rows), PRICES.schema), prices / "current-v1.parquet")
    return tmp_path


def test_gpus_show_json_one_result_per_name_in_order(app):
    names = ["nvidia-tesla-t4", "RTX 6000", "NVIDIA H100 80GB HBM3", "Foo 9000", "A100-80GB"]
    res = runner.invoke(app, ["gpus", "show", *names, "--json"])
    # Every name is answered; "Foo 9000" resolves to nothing: exit 1 and one line on stderr.
    assert res.exit_code == 1, res.output
    assert res.stderr.strip().startswith("unknown GPU name 'Foo 9000'")
    out = json.loads(res.stdout)
    assert [r["raw"] for r in out] == names
    t4, rtx6000, h100, foo, a100 = out
    assert (t4["gpu_model"], t4["gpu_memory_gb"], t4["gpu_form_factor"], t4["how"]) == (
        "T4",
        16.0,
        "PCIe",
        "alias",  # a listed spelling (GCP accelerator type) in pipelines/data/gpu_aliases.csv
    )
    assert rtx6000["ambiguous_models"] == ["Quadro RTX 6000", "RTX 6000 Ada", "RTX PRO 6000"]
    assert t4["spec"]["gpu_fp16_tflops"] == 65 and t4["spec"]["gpu_spec_source"].startswith(
        "https://"
    )
    assert rtx6000["gpu_model"] is None and rtx6000["how"] == "unknown" and rtx6000["spec"] is None
    assert h100["gpu_form_factor"] == "SXM" and h100["spec"]["gpu_bf16_tflops"] == 989.5
    assert foo == {
        "raw": "Foo 9000",
        "gpu_model": None,
        "gpu_memory_gb": None,
        "memory_source": None,
        "gpu_form_factor": None,
        "how": "unknown",
        "ambiguous_models": [],
        "spec": None,
        "spec_variants": [],
    }
    # ambiguous variant: both candidates listed; TDP differs and is descriptive: empty
    assert len(a100["spec_variants"]) == 2 and a100["spec"]["gpu_tdp_w"] is None
    # TFLOPS shared by both; bandwidth differs (SXM 2039, PCIe 1935 GB/s): the lower, marked
    assert a100["spec"]["gpu_memory_bandwidth_gbps"] == 1935
    assert a100["spec"]["spec_match"] == "family_lower_bound"
    assert a100["spec"]["gpu_bf16_tflops"] == 312


def test_gpus_show_context_options(app):
    res = runner.invoke(app, ["gpus", "show", "RTX6000", "--provider", "linode", "--json"])
    assert json.loads(res.output)[0]["gpu_model"] == "Quadro RTX 6000"
    res = runner.invoke(
        app,
        [
            "gpus",
            "show",
            "NVIDIA",
            "--provider",
            "aws",
            "--instance-type",
            "p4de.24xlarge",
            "--json",
        ],
    )
    r = json.loads(res.output)[0]
    assert (r["gpu_model"], r["gpu_memory_gb"], r["gpu_form_factor"], r["how"]) == (
        "A100",
        80.0,
        "SXM",
        "context",
    )


def test_gpus_show_table(app):
    res = runner.invoke(app, ["gpus", "show", "Tesla K80", "zzz"])
    assert res.exit_code == 1 and "unknown GPU name 'zzz'" in res.stderr
    assert "K80" in res.output
    assert "unknown" in res.output and "2014-11" in res.output


def test_top_from_history_when_no_published_table(app, datasets):
    res = runner.invoke(
        app, ["top", "--gpu", "t4", "--pricing", "spot", "--datasets", str(datasets), "--json"]
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["provider"] for r in rows] == ["gcp", "aws", "azure"]  # cheapest first
    assert {r["precision"] for r in rows} == {"fp32"} and {r["pricing_model"] for r in rows} == {
        "spot"
    }
    assert rows[0]["usd_per_pflop_hour"] == pytest.approx(0.12 * 1000 / 8.1)


def test_top_reads_the_published_table(app, datasets):
    current = pd.read_parquet(datasets / "gpu_prices.parquet")
    publish(current, datasets, "v1")
    assert (datasets / TFLOPS_FILE).exists()
    res = runner.invoke(app, ["top", "--precision", "bf16", "--datasets", str(datasets), "--json"])
    rows = json.loads(res.output)
    # on-demand by default; T4 and RTX 4090 have no dense bf16 figure in the spec table:
    # listed after the ranked rows, with their reason
    assert [(r["gpu_model"], r["rank"]) for r in rows] == [
        ("H100", 1),
        ("A100", 2),
        ("T4", None),
        ("RTX 4090", None),
    ]
    assert [r["rank_overall"] for r in rows[:2]] == [1, 2]
    assert [r["unranked_reason"] for r in rows] == [None, None] + ["precision_unknown"] * 2


def test_top_filters_region_prefix_and_limit(app, datasets):
    res = runner.invoke(
        app,
        [
            "top",
            "--pricing",
            "spot",
            "--region",
            "us-,eu-",
            "-n",
            "1",
            "--datasets",
            str(datasets),
            "--json",
        ],
    )
    rows = json.loads(res.output)
    assert [(r["provider"], r["region"]) for r in rows] == [("gcp", "us-central1")]


def test_top_prints_a_table(app, datasets):
    res = runner.invoke(
        app,
        ["top", "--gpu", "T4", "--pricing", "spot", "--datasets", str(datasets)],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0
    assert "cheapest fp32 compute, spot, T4" in res.output
    assert "g4dn.xlarge" in res.output and "$/PFLOP-h" in res.output


def test_top_no_offers_and_bad_input(app, datasets, tmp_path):
    res = runner.invoke(app, ["top", "--gpu", "MI300X", "--datasets", str(datasets)])
    assert res.exit_code == 0 and "no offers" in res.output
    res = runner.invoke(app, ["top", "--precision", "int4", "--datasets", str(datasets)])
    assert res.exit_code == 2
    res = runner.invoke(app, ["top", "--datasets", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "does not exist" in res.stderr


# --- like with like, nothing dropped silently -------------------------------------------


@pytest.fixture
def mixed(tmp_path):
    """Offers of several scopes and kinds, with and without usable figures."""
    rows = [
        # GCP's GPU-only SKU is cheaper than any VM because the VM is billed on top
        _row("gcp", "nvidia-l4", "nvidia-l4", "L4", 24.0, "PCIe", 0.56, scope="gpu_only"),
        _row("gcp", "g2-standard-4", "nvidia-l4", "L4", 24.0, "PCIe", 0.71),
        _row("azure", "Standard_NC6s_v3", "V100", "V100", 16.0, None, 3.06, region="eastus"),
        _row("oracle", "VM.GPU3.1", "V100", "V100", 16.0, "SXM", 2.95),
        _row("vastai", "1x A100X 80GB", "A100X", "A100X", 80.0, None, 0.90, region="US"),
        _row("vastai", "1x Mystery", "Mystery GPU", None, None, None, 0.10, region="US"),
        _row("aws", "inf2.xlarge", "Inferentia2", "Inferentia2", 32.0, None, 0.7582),
        _row("aws", "trn1.2xlarge", "Trainium", "Trainium", 32.0, None, 1.3438),
        _row("gcp", "v5litepod-1", "v5litepod", "TPU v5e", 16.0, None, 1.20, scope="gpu_only"),
    ]
    prices = tmp_path / "gpu_prices.parquet"
    prices.mkdir()
    pq.write_table(to_table(pd.DataFrame(rows), PRICES.schema), prices / "current-v1.parquet")
    publish(pd.read_parquet(prices), tmp_path, "v1")
    return tmp_path


def _top(app, datasets, *args) -> list[dict]:
    res = runner.invoke(app, ["top", *args, "--datasets", str(datasets), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_top_lists_unknown_form_factor_ranked_as_a_lower_bound(app, mixed):
    rows = _top(app, mixed, "--gpu", "V100")
    assert [(r["provider"], r["rank"], r["spec_match"]) for r in rows] == [
        ("oracle", 1, "exact"),  # 2.95 / 15.7 (SXM)
        ("azure", 2, "family_lower_bound"),  # 3.06 / 14 (PCIe's, the lower of the two)
    ]
    assert rows[1]["tflops_per_gpu"] == 14.0


def test_top_lists_every_offer_with_unranked_reasons(app, mixed):
    rows = _top(app, mixed)
    ranked = [r["instance_type"] for r in rows if r["rank"] is not None]
    unranked = {r["instance_type"]: r["unranked_reason"] for r in rows if r["rank"] is None}
    # instance scope and GPUs by default: no GPU-only SKU, no TPU, no Inferentia/Trainium
    assert ranked == ["g2-standard-4", "VM.GPU3.1", "Standard_NC6s_v3"]
    assert unranked == {"1x A100X 80GB": "no_spec_row", "1x Mystery": "gpu_unresolved"}
    assert all(r["accelerator_kind"] in ("gpu", None) for r in rows)


def test_top_table_footer_counts_what_is_unranked_or_not_compared(app, mixed):
    res = runner.invoke(app, ["top", "--datasets", str(mixed)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    out = res.output
    assert "unranked: 2 offers (gpu_unresolved 1, no_spec_row 1)" in out
    assert "not compared: 1 offers of other price scopes (gpu_only 1)" in out
    assert "not compared: 3 offers of other accelerator kinds (asic 2, tpu 1)" in out
    assert "≥14" in out and "family_lower_bound" in out


def test_top_scope_all_and_kind_flags(app, mixed):
    rows = _top(app, mixed, "--scope", "all", "--gpu", "L4")
    assert [(r["instance_type"], r["price_scope"], r["rank"]) for r in rows] == [
        ("nvidia-l4", "gpu_only", 1),
        ("g2-standard-4", "instance", 2),
    ]
    # --gpu picks that model's kind: Inferentia2 is listed as an asic, never as a GPU
    rows = _top(app, mixed, "--gpu", "inferentia2")
    assert [(r["accelerator_kind"], r["unranked_reason"]) for r in rows] == [
        ("asic", "precision_unknown")
    ]
    rows = _top(app, mixed, "--kind", "tpu", "--scope", "gpu_only", "--precision", "bf16")
    assert [(r["gpu_model"], r["rank"]) for r in rows] == [("TPU v5e", 1)]
    rows = _top(app, mixed, "--kind", "all", "--scope", "all")
    assert len(rows) == 9  # every offer of the fixture
    res = runner.invoke(app, ["top", "--scope", "vm", "--datasets", str(mixed)])
    assert res.exit_code == 2 and "--scope" in res.output
    res = runner.invoke(app, ["top", "--kind", "npu", "--datasets", str(mixed)])
    assert res.exit_code == 2
    res = runner.invoke(app, ["top", "--by", "tflop", "--datasets", str(mixed)])
    assert res.exit_code == 2


def test_top_by_gpu_hour_ranks_every_priced_offer(app, mixed):
    rows = _top(app, mixed, "--by", "gpu-hour")
    # plain $/GPU-hour: models without a spec row or a resolved name rank too
    assert [(r["instance_type"], r["rank"]) for r in rows] == [
        ("1x Mystery", 1),
        ("g2-standard-4", 2),
        ("1x A100X 80GB", 3),
        ("VM.GPU3.1", 4),
        ("Standard_NC6s_v3", 5),
    ]
    assert {r["ranked_by"] for r in rows} == {"price_usd_per_gpu_hour"}
    res = runner.invoke(
        app, ["top", "--by", "gpu-hour", "--datasets", str(mixed)], env={"COLUMNS": "250"}
    )
    assert "cheapest GPU-hour, on_demand" in res.output


def test_top_recomputes_a_table_published_before_the_new_columns(app, mixed):
    old = pd.read_parquet(mixed / TFLOPS_FILE).drop(columns=["price_scope", "unranked_reason"])
    old.to_parquet(mixed / TFLOPS_FILE)
    rows = _top(app, mixed, "--gpu", "V100")
    assert [r["provider"] for r in rows] == ["oracle", "azure"]
