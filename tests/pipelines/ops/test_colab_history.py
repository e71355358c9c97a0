"""Colab's free tier moving from K80 to T4: one offer whose GPU changed, in the history and
in the change events, not two unrelated offers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.config import Config
from pipelines.ingest.archive import Archive
from pipelines.ops.run import run_providers

FIX = Path(__file__).parents[2] / "fixtures" / "colab"
SIGNUP = "https://colab.research.google.com/signup"
PROBE = "https://example.org/colab-free-tier-probe.csv"


def test_free_tier_gpu_change_is_one_offer_with_a_new_gpu(tmp_path):
    arch = Archive(tmp_path / "archive")
    for run_id, when, probe in (
        ("r1", datetime(2019, 6, 1, tzinfo=UTC), "free-tier_nvidia-smi_k80.csv"),
        ("r2", datetime(2019, 9, 1, tzinfo=UTC), "free-tier_nvidia-smi_t4.csv"),
    ):
        arch.add_file(
            "colab",
            FIX / "signup_constructed.html",
            url=SIGNUP,
            fetched_at=when,
            run_id=run_id,
            kind="signup",
        )
        arch.add_file(
            "colab", FIX / probe, url=PROBE, fetched_at=when, run_id=run_id, kind="free-tier-probe"
        )
    cfg = Config.load(root=tmp_path, env={})
    report = run_providers(["colab"], config=cfg, replay=arch.root)
    assert report.providers["colab"].status == "ok", report.providers["colab"].error

    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    free = df[df.pricing_model == "free"].sort_values("valid_from")
    assert free["offer_key"].nunique() == 1
    assert free["gpu_model"].astype(str).tolist() == ["K80", "T4"]
    assert free["price_per_hour"].tolist() == [0.0, 0.0]
    assert free["is_withdrawn"].tolist() == [False, False]
    assert free["valid_to"].iloc[0] == free["valid_from"].iloc[1] and pd.isna(
        free["valid_to"].iloc[1]
    )

    events = pd.read_parquet(cfg.datasets_dir / "gpu_price_changes.parquet")
    gpu_changes = events[events.event_type == "offer_gpu_changed"]
    assert len(gpu_changes) == 1
    assert gpu_changes["offer_key"].item() == free["offer_key"].iloc[0]
    assert not (
        events.event_type.isin(["offer_added", "offer_removed"])
        & (events.offer_key == free["offer_key"].iloc[0])
    ).any()
