"""Change detection: events between good runs and the noise rules (pipelines/derive/changes.py).

Observations are built in the normalized schema. The AWS p4d.24xlarge price 32.7726 USD/h
is from tests' shared sample /work/shared/samples/aws/offer-file_AmazonEC2_us-east-1_
2024-05-28_p4d-excerpt.json ("$32.7726 per On Demand Linux p4d.24xlarge Instance Hour");
the prices it moves to are illustrative test values, not quoted figures.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from pipelines.derive import changes
from pipelines.derive.changes import ChangeDetector, NoiseRules
from pipelines.ingest.normalize import frame_from_rows
from pipelines.ops.events import process_run
from tests.support.observations import observation

T0 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
P4D = 32.7726


def row(
    provider="aws",
    instance_type="p4d.24xlarge",
    region="us-east-1",
    pricing_model="on_demand",
    price=P4D,
    gpu_model="A100",
    gpu_count=8.0,
    currency="USD",
    at=T0,
    **extra,
):
    return observation(
        instance_type,
        price,
        gpu_model,
        provider=provider,
        region=region,
        pricing_model=pricing_model,
        gpu_count=gpu_count,
        currency=currency,
        at=at,
        source_url=f"https://pricing.example.test/{provider}/{region}.json",
        **extra,
    )


def obs(*rows):
    return frame_from_rows(list(rows))


def run(det, provider, *rows, n=0, **kw):
    return det.observe(
        provider, obs(*rows), dataset_version=f"v{n}", detected_at=T0 + timedelta(hours=n), **kw
    )


def types(events):
    return [e["event_type"] for e in events]


def test_first_run_is_baseline_then_price_change_is_one_event():
    det = ChangeDetector()
    assert run(det, "aws", row(), n=0) == []
    events = run(det, "aws", row(price=21.96), n=1)
    assert types(events) == ["price_changed"]
    ev = events[0]
    assert ev["old_price"] == P4D and ev["new_price"] == 21.96
    assert ev["change_pct"] == pytest.approx((21.96 - P4D) / P4D * 100, abs=1e-4)
    assert (ev["from_version"], ev["to_version"]) == ("v0", "v1")
    assert ev["offer_key"] == "aws|p4d.24xlarge|us-east-1||on_demand|"
    # Same prices again: nothing.
    assert run(det, "aws", row(price=21.96), n=2) == []


def test_event_ids_are_deterministic():
    a, b = ChangeDetector(), ChangeDetector()
    for det in (a, b):
        run(det, "aws", row(), n=0)
    ea = run(a, "aws", row(price=30.0), n=1)
    eb = run(b, "aws", row(price=30.0), n=7)  # another run time and version: same change
    assert ea[0]["event_id"] == eb[0]["event_id"]


def test_float_noise_is_no_change():
    det = ChangeDetector()
    run(det, "aws", row(price=0.2), n=0)
    assert run(det, "aws", row(price=0.2000000000001), n=1) == []
    assert run(det, "aws", row(price=float("0.2000")), n=2) == []


def test_offer_gone_one_run_and_back_raises_nothing():
    det = ChangeDetector()
    other = row(instance_type="p5.48xlarge", gpu_model="H100")
    run(det, "aws", row(), other, n=0)
    assert run(det, "aws", other, n=1) == []
    assert run(det, "aws", row(), other, n=2) == []


def test_removal_confirmed_after_n_runs_once():
    det = ChangeDetector(NoiseRules(removal_confirm_runs=2))
    other = row(instance_type="p5.48xlarge", gpu_model="H100")
    run(det, "aws", row(), other, n=0)
    assert run(det, "aws", other, n=1) == []
    events = run(det, "aws", other, n=2)
    # The only A100 offer is gone: the offer and the model, once.
    assert sorted(types(events)) == ["gpu_model_removed", "offer_removed"]
    removed = next(e for e in events if e["event_type"] == "offer_removed")
    assert removed["old_price"] == P4D and removed["offer_key"].startswith("aws|p4d.24xlarge")
    assert run(det, "aws", other, n=3) == []


def test_removal_confirmed_by_time():
    det = ChangeDetector(
        NoiseRules(removal_confirm_runs=10, removal_confirm_after=timedelta(hours=12))
    )
    other = row(instance_type="p5.48xlarge", gpu_model="H100")
    run(det, "aws", row(), other, n=0)
    assert run(det, "aws", other, n=1) == []
    assert run(det, "aws", other, n=6) == []  # 5 h after first missed
    assert "offer_removed" in types(run(det, "aws", other, n=13))  # 12 h after


def test_fetch_scope_change_adds_and_removes_nothing():
    det = ChangeDetector()
    east = [
        row(region="us-east-1"),
        row(region="us-east-1", instance_type="p5.48xlarge", gpu_model="H100"),
    ]
    west = [
        row(region="us-west-2"),
        row(region="us-west-2", instance_type="p5.48xlarge", gpu_model="H100"),
    ]
    run(det, "aws", *east, n=0)
    # A region appears wholesale (we started fetching it), even with a new GPU model.
    eu = row(region="eu-west-1", instance_type="p5e.48xlarge", gpu_model="H200")
    assert run(det, "aws", *east, *west, eu, n=1) == []
    # A region disappears wholesale for two runs: no removals.
    assert run(det, "aws", *east, eu, n=2) == []
    assert run(det, "aws", *east, eu, n=3) == []
    # A real price change in a region that came back later is compared with nothing stale.
    assert run(det, "aws", *east, *west, eu, n=4) == []


def test_conflicting_duplicates_do_not_flip_flop():
    det = ChangeDetector()
    linux = row(price=P4D)
    windows = row(price=P4D + 3.68)
    run(det, "aws", linux, windows, n=0)
    assert run(det, "aws", windows, linux, n=1) == []
    assert run(det, "aws", linux, windows, n=2) == []
    assert det.states["aws"].offers[linux["offer_key"]]["price_per_hour"] == P4D


def test_colab_free_k80_to_t4_is_one_gpu_change():
    det = ChangeDetector()
    k80 = row(
        provider="colab",
        instance_type="colab-free",
        region="global",
        pricing_model="free",
        price=0.0,
        gpu_model="K80",
        gpu_count=1.0,
    )
    t4 = dict(k80, gpu_model="T4", gpu_name_raw="Tesla T4")
    run(det, "colab", k80, n=0)
    events = run(det, "colab", t4, n=1)
    assert types(events) == ["offer_gpu_changed"]
    ev = events[0]
    assert (ev["old_gpu_model"], ev["gpu_model"]) == ("K80", "T4")
    assert (ev["old_value"], ev["new_value"]) == ("1x K80", "1x T4")
    assert run(det, "colab", t4, n=2) == []


def test_resolver_improvement_is_not_a_gpu_change():
    det = ChangeDetector()
    unresolved = row(
        instance_type="g6e.xlarge", gpu_model=None, gpu_name_raw="NVIDIA L40S", gpu_count=1.0
    )
    run(det, "aws", row(), unresolved, n=0)
    # The resolver learns the name: the offer and the lineup did not change at the provider.
    assert run(det, "aws", row(), dict(unresolved, gpu_model="L40S"), n=1) == []
    # A cosmetic respelling that resolves to the same model is no change either.
    assert (
        run(det, "aws", row(), dict(unresolved, gpu_model="L40S", gpu_name_raw="L40S"), n=2) == []
    )


def test_new_gpu_model_in_known_region():
    det = ChangeDetector()
    run(det, "aws", row(), n=0)
    h200 = row(instance_type="p5e.48xlarge", gpu_model="H200", price=84.8)
    events = run(det, "aws", row(), h200, n=1)
    assert sorted(types(events)) == ["gpu_model_added", "offer_added"]
    model_ev = next(e for e in events if e["event_type"] == "gpu_model_added")
    assert model_ev["gpu_model"] == "H200" and model_ev["offer_key"] is None
    assert model_ev["offer_count"] == 1


def test_on_demand_threshold_keeps_reference_so_creep_adds_up():
    det = ChangeDetector(NoiseRules(min_change_pct={"on_demand": 5.0}))
    run(det, "aws", row(price=10.0), n=0)
    assert run(det, "aws", row(price=10.3), n=1) == []
    assert run(det, "aws", row(price=10.45), n=2) == []
    events = run(det, "aws", row(price=10.6), n=3)
    assert types(events) == ["price_changed"]
    assert (events[0]["old_price"], events[0]["new_price"]) == (10.0, 10.6)


def spot(instance_type, price, n, region="us-east-1", gpu_count=1.0):
    return row(
        instance_type=instance_type,
        region=region,
        pricing_model="spot",
        price=price,
        gpu_model="A10G",
        gpu_count=gpu_count,
    )


def test_spot_ticks_are_summarized_per_group():
    det = ChangeDetector()  # spot threshold 5%
    run(
        det,
        "aws",
        spot("g5.xlarge", 0.40, 0),
        spot("g5.2xlarge", 0.48, 0),
        spot("g5.12xlarge", 2.40, 0, gpu_count=4.0),
        n=0,
    )
    # Every offer moves a little: no event, not per offer either.
    assert (
        run(
            det,
            "aws",
            spot("g5.xlarge", 0.41, 1),
            spot("g5.2xlarge", 0.47, 1),
            spot("g5.12xlarge", 2.44, 1, gpu_count=4.0),
            n=1,
        )
        == []
    )
    # The cheapest per GPU-hour falls 12.5% (0.40 -> 0.35): one summary event.
    events = run(
        det,
        "aws",
        spot("g5.xlarge", 0.37, 2),
        spot("g5.2xlarge", 0.45, 2),
        spot("g5.12xlarge", 1.40, 2, gpu_count=4.0),
        n=2,
    )
    assert types(events) == ["spot_price_changed"]
    ev = events[0]
    assert (ev["old_price"], ev["new_price"], ev["price_unit"]) == (0.40, 0.35, "gpu_hour")
    assert ev["offer_count"] == 3 and ev["offer_key"] is None and ev["gpu_model"] == "A10G"
    # Spot offers disappearing and appearing are not per-offer news.
    assert (
        run(
            det,
            "aws",
            spot("g5.12xlarge", 1.40, 3, gpu_count=4.0),
            spot("g5.4xlarge", 0.60, 3),
            n=3,
        )
        == []
    )


def test_marketplace_rows_are_volatile():
    det = ChangeDetector()
    v = row(
        provider="vastai",
        instance_type="1x RTX 4090",
        region="US",
        price=0.30,
        gpu_model="RTX 4090",
        gpu_count=1.0,
        market_offer_count=40,
    )
    run(det, "vastai", v, n=0)
    assert run(det, "vastai", dict(v, price_per_hour=0.31), n=1) == []
    events = run(det, "vastai", dict(v, price_per_hour=0.25), n=2)
    assert types(events) == ["spot_price_changed"] and events[0]["pricing_model"] == "on_demand"


def _process(tmp_path, observations, n):
    return process_run(
        observations,
        datasets_dir=tmp_path / "datasets",
        state_dir=tmp_path / "state",
        dataset_version=f"v{n}",
        detected_at=T0 + timedelta(hours=n),
        previous_dataset_version=f"v{n - 1}" if n else None,
    )


def test_process_run_writes_events_state_and_feed(tmp_path):
    assert len(_process(tmp_path, {"aws": obs(row())}, 0)) == 0
    new = _process(tmp_path, {"aws": obs(row(price=21.96))}, 1)
    assert list(new["event_type"]) == ["price_changed"]
    path = tmp_path / "datasets" / changes.CHANGES_NAME
    table = pq.read_table(path)
    assert table.schema.equals(changes.EVENT_SCHEMA, check_metadata=False)
    assert table.num_rows == 1
    assert changes.load_state(tmp_path / "state", "aws").dataset_version == "v1"
    assert (tmp_path / "datasets" / "alerts.atom").exists()
    # A provider absent from a run (it failed the gate) keeps its baseline untouched.
    assert len(_process(tmp_path, {}, 2)) == 0
    assert len(_process(tmp_path, {"aws": obs(row(price=21.96))}, 3)) == 0
    assert pq.read_table(path).num_rows == 1


def test_process_run_repeated_after_crash_is_idempotent(tmp_path):
    _process(tmp_path, {"aws": obs(row())}, 0)
    saved = tmp_path / "state-before"
    shutil.copytree(tmp_path / "state", saved)
    first = _process(tmp_path, {"aws": obs(row(price=21.96))}, 1)
    # Simulate a crash before the state was saved: the baseline is the old one again,
    # and the run is repeated (even under a new version).
    shutil.rmtree(tmp_path / "state" / "changes")
    shutil.copytree(saved / "changes", tmp_path / "state" / "changes")
    again = _process(tmp_path, {"aws": obs(row(price=21.96))}, 2)
    assert list(again["event_id"]) == list(first["event_id"])
    events = changes.read_events(tmp_path / "datasets" / changes.CHANGES_NAME)
    assert len(events) == 1 and events["to_version"].iloc[0] == "v1"
