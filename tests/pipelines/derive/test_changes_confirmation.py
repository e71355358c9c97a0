"""Change confirmation: a price that flips and reverts within a provider's confirmation
window raises nothing; a real change that persists raises exactly one event, at
confirmation, carrying the time it was first observed.

Rows: real Azure Retail Prices rows (tests/fixtures/changes/README.md). The flip to the
Windows meter's price is constructed from those rows, as that README says.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.config import Config
from pipelines.derive import changes
from pipelines.derive.changes import ChangeDetector, NoiseRules
from pipelines.ops import events as events_step
from tests.support.observations import observation

FIX = (
    Path(__file__).parents[2]
    / "fixtures"
    / "changes"
    / "azure-pricing-radar_vm-eu-west_2026-07-15_to_08-03_excerpt.json"
)
RTX_LINUX = "DZH318Z0R67V/00VH|d1417129-a0d4-5ce0-8821-25ebdc988065|Consumption|"
A100_LINUX = "DZH318Z09TGJ/0026|9bb4061e-2703-51e4-ba90-455804907f3b|Consumption|"
A100_WINDOWS = "DZH318Z09TH1/001X|6fe7abd8-abd4-5313-92b1-06b2d079b94b|Consumption|"
SOURCE = "https://prices.azure.com/api/retail/prices"


def snapshots() -> list[dict]:
    return json.loads(FIX.read_text())["snapshots"]


def azure_row(rec: dict, price: float, at: datetime, model: str, gpus: float) -> dict:
    return observation(
        rec["skuName"],
        price,
        model,
        provider="azure",
        region=rec["armRegionName"],
        gpu_count=gpus,
        at=at,
        source_url=SOURCE,
    )


def run_rows(snap: dict, at: datetime, *, a100_price: float | None = None) -> pd.DataFrame:
    rows = snap["rows"]
    rtx, a100 = rows[RTX_LINUX], rows[A100_LINUX]
    return pd.DataFrame(
        [
            azure_row(rtx, rtx["retailPrice"], at, "RTX PRO 6000", 4.0),
            azure_row(a100, a100_price or a100["retailPrice"], at, "A100", 1.0),
        ]
    )


def sequence() -> list[tuple[datetime, pd.DataFrame]]:
    """Baseline (07-15), the real RTX change with the A100 flipped to the Windows meter's
    price (08-01 05:42), the next 6-hourly run with the A100 back, and the real 08-03."""
    s0, s1, s2 = snapshots()
    t = [datetime.fromisoformat(s["committed_at"]) for s in (s0, s1, s2)]
    windows_price = s1["rows"][A100_WINDOWS]["retailPrice"]
    return [
        (t[0], run_rows(s0, t[0])),
        (t[1], run_rows(s1, t[1], a100_price=windows_price)),
        (t[1] + timedelta(hours=6), run_rows(s1, t[1] + timedelta(hours=6))),
        (t[2], run_rows(s2, t[2])),
    ]


def observe_all(detector: ChangeDetector) -> list[list[dict]]:
    return [
        detector.observe("azure", df, dataset_version=f"v{i}", detected_at=at)
        for i, (at, df) in enumerate(sequence())
    ]


def test_flip_and_revert_raises_no_event_and_a_persisting_change_exactly_one():
    per_run = observe_all(ChangeDetector(NoiseRules()))  # azure confirms by default
    assert [len(evs) for evs in per_run] == [0, 0, 1, 0]
    (ev,) = per_run[2]
    seq = sequence()
    assert ev["event_type"] == "price_changed" and ev["instance_type"] == "NC144dsxlRTX6kv6"
    assert (ev["old_price"], ev["new_price"]) == (7.87, 9.129)
    # Raised at confirmation, dated by the run that first saw it.
    assert ev["detected_at"] == seq[2][0] and ev["observed_at"] == seq[1][0]
    assert changes.describe(ev).startswith("azure RTX PRO 6000 NC144dsxlRTX6kv6 westeurope")


def test_without_confirmation_the_flip_is_two_events_of_noise():
    rules = NoiseRules(price_confirm_runs={})
    per_run = observe_all(ChangeDetector(rules))
    flips = [
        (e["old_price"], e["new_price"])
        for evs in per_run
        for e in evs
        if e["instance_type"] == "Standard_NC24ads_A100_v4"
    ]
    assert flips == [(4.775, 5.879), (5.879, 4.775)]
    rtx = [e for evs in per_run for e in evs if e["instance_type"] == "NC144dsxlRTX6kv6"]
    assert len(rtx) == 1 and rtx[0]["observed_at"] == rtx[0]["detected_at"]


def test_a_change_that_moves_again_restarts_the_window():
    at = sequence()[0][0]
    detector = ChangeDetector(NoiseRules())
    prices = [4.775, 5.879, 6.0, 6.0]  # flip, then another value that persists
    got = []
    for i, p in enumerate(prices):
        df = pd.DataFrame([observation("a100", p, provider="azure", gpu_count=1.0)])
        got.append(
            detector.observe(
                "azure", df, dataset_version=f"v{i}", detected_at=at + timedelta(hours=6 * i)
            )
        )
    assert [len(g) for g in got] == [0, 0, 0, 1]
    assert (got[3][0]["old_price"], got[3][0]["new_price"]) == (4.775, 6.0)
    assert got[3][0]["observed_at"] == at + timedelta(hours=12)


def test_confirmation_window_is_configurable_per_provider(tmp_path):
    def rules(toml: str = "", **env: str) -> NoiseRules:
        (tmp_path / "gpu-prices.toml").write_text(toml)
        return events_step.noise_rules(Config.load(root=tmp_path, env=env).changes)

    assert (rules().confirm_runs("azure"), rules().confirm_runs("aws")) == (1, 0)
    per_provider = rules("[changes.providers.azure]\nprice_confirm_runs = 2\n")
    assert (per_provider.confirm_runs("azure"), per_provider.confirm_runs("aws")) == (2, 0)
    everyone = rules(GPU_PRICES_PRICE_CONFIRM_RUNS="1")
    assert (everyone.confirm_runs("azure"), everyone.confirm_runs("aws")) == (1, 1)
    none = rules("[changes]\nprice_confirm_runs = 0\n")
    assert none.confirm_runs("azure") == 0


def test_pending_confirmation_survives_between_runs_in_the_state_file(tmp_path):
    """Through the run's event step: state saved and reloaded between runs, events in the
    published table, no alert queued for the flip."""
    datasets, state = tmp_path / "datasets", tmp_path / "state"
    db = f"sqlite:///{tmp_path / 'alerts.db'}"
    for i, (at, df) in enumerate(sequence()):
        events_step.process_run(
            {"azure": df},
            datasets_dir=datasets,
            state_dir=state,
            dataset_version=f"v{i}",
            detected_at=at,
            previous_dataset_version=f"v{i - 1}" if i else None,
            db_url=db,
        )
    published = changes.read_events(datasets / changes.CHANGES_NAME)
    assert published[["instance_type", "old_price", "new_price"]].values.tolist() == [
        ["NC144dsxlRTX6kv6", 7.87, 9.129]
    ]
    assert published["observed_at"].item() == pd.Timestamp(sequence()[1][0])
    assert changes.load_state(state, "azure").unconfirmed == {}
