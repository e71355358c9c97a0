"""`scrape gpus show NAME... --provider P --json` returns the memory a name or a unique spec
variant implies, says where it came from, and lists the candidates of an ambiguous name."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from pipelines.cli.gpus import register

runner = CliRunner()


def _invoke(*args: str):
    app = typer.Typer()
    register(app)
    return runner.invoke(app, ["gpus", "show", *args])


def _show(*args: str) -> list[dict]:
    res = _invoke(*args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_memory_from_name_and_from_the_only_spec_variant():
    names = ["H100 SXM", "B200", "h100-sxm-80gb", "RTXA6000", "H100"]
    out = _show(*names)
    got = [(r["gpu_model"], r["gpu_memory_gb"], r["memory_source"]) for r in out]
    assert got == [
        ("H100", 80.0, "unique_variant"),
        ("B200", 180.0, "unique_variant"),
        ("H100", 80.0, "name"),
        ("RTX A6000", 48.0, "name"),
        ("H100", None, None),  # 80 GB SXM/PCIe or 94 GB NVL: not implied
    ]
    # the memory picks the one spec row, so its figures are shown
    assert out[0]["spec_variants"] == [
        {"gpu_model": "H100", "gpu_form_factor": "SXM", "gpu_memory_gb": 80.0}
    ]
    assert out[0]["spec"]["gpu_memory_type"] == "HBM3"


def test_provider_decides_an_ambiguous_short_name():
    [lambda_] = _show("RTX6000", "--provider", "lambdalabs")
    assert (lambda_["gpu_model"], lambda_["gpu_memory_gb"], lambda_["memory_source"]) == (
        "Quadro RTX 6000",
        24.0,
        "provider",
    )
    assert lambda_["spec"]["gpu_architecture"] == "Turing"
    [bare] = _show("RTX6000")
    assert (bare["gpu_model"], bare["gpu_memory_gb"], bare["how"]) == (None, None, "unknown")
    assert bare["ambiguous_models"] == ["Quadro RTX 6000", "RTX 6000 Ada", "RTX PRO 6000"]


def test_table_output_names_the_memory_source_and_the_candidates():
    res = _invoke("H100 SXM", "RTX 4000")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "80 (from the only spec variant)" in text
    assert "Quadro RTX 4000, RTX 4000 Ada, RTX 4000 SFF Ada" in text
    assert "--provider or --memory-gb" in text
