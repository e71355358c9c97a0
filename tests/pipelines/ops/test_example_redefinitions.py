"""README command 1's example: the Cyclenerd pricing.yml history's own redefinitions (the
commits are listed in scrapers/imports/gcp_pricing_yml.py, "Price basis") raise no change
event, while Google's real price moves in the same history still do."""

from __future__ import annotations

import pandas as pd

ULTRA_1G = "gcp_cyclenerd|a2-ultragpu-1g|us-central1||on_demand|"
# Days on which the source redefined machine types: a2-highgpu-1g RAM corrected, the
# a2-ultragpu GPUs relabelled a100 -> a100-80gb, bundled local SSD priced, A3 local SSD
# sizes corrected. Nothing else in the source changed on these days.
REDEFINITION_DAYS = ("2022-02-16", "2022-10-02", "2024-05-21", "2024-10-24")


def test_source_redefinitions_raise_no_event_and_real_moves_do(readme_command_1):
    ev = pd.read_parquet(readme_command_1 / "gpu_price_changes.parquet")
    gcp = ev[ev["provider"] == "gcp_cyclenerd"]
    day = gcp["detected_at"].dt.strftime("%Y-%m-%d")
    assert not day.isin(REDEFINITION_DAYS).any(), gcp[day.isin(REDEFINITION_DAYS)]
    # Google's G2 (L4) on-demand cut of August 2023, in several regions.
    cut = gcp[(day == "2023-08-10") & (gcp["event_type"] == "price_changed")]
    assert cut["region"].nunique() >= 5 and set(cut["gpu_model"]) == {"L4"}
    assert (cut["new_price"] < cut["old_price"]).all()


def test_the_history_shows_each_redefinition_as_a_version(readme_command_1):
    h = pd.read_parquet(
        readme_command_1 / "gpu_prices.parquet",
        columns=["offer_key", "valid_from", "price_per_hour", "price_basis"],
        filters=[("offer_key", "==", ULTRA_1G)],
    ).sort_values("valid_from")
    steps = h.drop_duplicates("price_basis")
    assert steps["price_basis"].tolist()[:3] == [
        "a100=1;cpu=12;ram=170",
        "a100-80gb=1;cpu=12;ram=170",
        "a100-80gb=1;cpu=12;local-ssd=375;ram=170",
    ]
    assert steps["valid_from"].dt.strftime("%Y-%m-%d").tolist()[1:3] == [
        "2022-10-02",
        "2024-05-21",
    ]
    assert steps["price_per_hour"].round(6).tolist()[:3] == [4.03353, 5.027702, 5.068798]
