"""Kaggle: the free-tier offers read from two recorded versions of Kaggle's CLI docs
(P100 dropped between Feb and Sep 2026), layout changes, unknown accelerators, and a run
against the local server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import kaggle
from scrapers.base import ParseError, Response
from tests.support.live_run import run_live

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kaggle"
SEP = FIXTURES / "docs_kernels.md_kaggle-cli-13dad8ee_2026-09_push-section.md"
FEB = FIXTURES / "docs_kernels.md_kaggle-cli-35932c26_2026-02_push-section.md"
URL = "https://raw.githubusercontent.com/Kaggle/kaggle-cli/main/docs/kernels.md"
AT = datetime(2026, 9, 1, tzinfo=UTC)


def _resp(body: bytes | str) -> Response:
    return Response(url=URL, fetched_at=AT, body=body.encode() if isinstance(body, str) else body)


def test_sep_2026_free_tier_is_t4_and_t4x2():
    result = kaggle.parse([_resp(SEP.read_bytes())])
    offers = {o.instance_type: o for o in result.offers}
    assert set(offers) == {"NvidiaTeslaT4", "NvidiaTeslaT4Highmem"}  # A100/L4/H100: restricted
    t4x2 = offers["NvidiaTeslaT4Highmem"]
    assert (t4x2.pricing_model, t4x2.price_per_hour, t4x2.gpu_count) == ("free", 0.0, 2.0)
    assert t4x2.region == "global" and t4x2.extra["label"] == "GPU T4 ×2"
    assert offers["NvidiaTeslaT4"].extra["is_default_gpu"] is True
    assert offers["NvidiaTeslaT4"].extra["list_as_of"] == "Sep 2026"
    assert "30 GPU-hours" in offers["NvidiaTeslaT4"].extra["weekly_quota"]
    assert result.unknown == []


def test_feb_2026_had_the_p100_as_default():
    offers = {o.instance_type: o for o in kaggle.parse([_resp(FEB.read_bytes())]).offers}
    assert set(offers) == {"NvidiaTeslaP100", "NvidiaTeslaT4", "NvidiaTeslaT4Highmem"}
    p100 = offers["NvidiaTeslaP100"]
    assert p100.extra["is_default_gpu"] is True and p100.gpu_name_raw == "NVIDIA Tesla P100"


def test_unknown_accelerator_reported_tpus_ignored():
    text = SEP.read_text().replace("* NvidiaH100\n", "* NvidiaB200 (GPU B200)\n* TpuV7\n")
    result = kaggle.parse([_resp(text)])
    assert len(result.offers) == 2
    assert len(result.unknown) == 1 and "'NvidiaB200'" in result.unknown[0]


def test_layout_change_fails_loudly():
    with pytest.raises(ParseError, match="Accelerators available as of"):
        kaggle.parse([_resp("# Kernels Commands\n\nNo list here.\n")])
    heading_only = SEP.read_text().split("* NvidiaTeslaT4 (GPU T4)")[0]
    with pytest.raises(ParseError, match="empty"):
        kaggle.parse([_resp(heading_only + "Some text instead of bullets.\n")])
    no_public = "Accelerators available as of Oct 2026:\n\n* NvidiaH100\n* TpuV6E8\n"
    with pytest.raises(ParseError) as err:
        kaggle.parse([_resp(no_public)])
    assert str(err.value).startswith("kaggle:") and "'accelerators'" in str(err.value)


def test_run_against_the_local_server(tmp_path, provider_server):
    provider_server.route(
        "/Kaggle/kaggle-cli/main/docs/kernels.md",
        (200, SEP.read_bytes(), {"Content-Type": "text/plain; charset=utf-8"}),
    )
    res, df, _ = run_live(
        tmp_path, provider_server, "kaggle", path_prefix="/Kaggle/kaggle-cli/main"
    )
    assert res.status == "ok", res.error
    assert sorted(df["instance_type"]) == ["NvidiaTeslaT4", "NvidiaTeslaT4Highmem"]
    assert set(df["pricing_model"]) == {"free"} and set(df["gpu_model"]) == {"T4"}
    assert set(df["price_usd_per_hour"]) == {0.0}
