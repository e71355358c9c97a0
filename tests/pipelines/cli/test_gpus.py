"""`scrape gpus show` and `scrape top` on a small synthetic history in a temp directory."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli.common import OneLineErrors
from pipelines.cli.gpus import register
from pipelines.derive.tflops import TFLOPS_FILE, publish
from pipelines.schema import HISTORY_FIELDS, offer_key
from pipelines.store.atomic import to_table
from pipelines.tables import PRICES

T0 = pd.Timestamp("2026-11-01T00:00:00Z")
runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(cls=OneLineErrors)  # as in pipelines/cli/main.py: bad input is one line
    register(app)
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
    # ambiguous variant: both candidates listed, only shared columns filled
    assert len(a100["spec_variants"]) == 2 and a100["spec"]["gpu_tdp_w"] is None
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
    # on-demand by default; T4 and RTX 4090 have no dense bf16 figure in the spec table
    assert [r["gpu_model"] for r in rows] == ["H100", "A100"]
    assert [r["rank_overall"] for r in rows] == [1, 2]


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
