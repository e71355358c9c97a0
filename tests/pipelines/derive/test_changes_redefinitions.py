"""Source redefinitions (`price_basis`, pipelines/derive/changes.py): a source that changes
what it computes a price from re-baselines the offer silently; real moves still raise events.

The Cyclenerd pricing.yml excerpts are real versions around the source's own redefinitions
(commits and blob hashes in tests/fixtures/imports/README.md): 2022-10-02, the a2-ultragpu
GPUs relabelled `a100` -> `a100-80gb` (+25% and more), and 2024-05-21, bundled local SSD
included in the VM price (+0.6-0.9%). The August 2023 G2 (L4) cut is a real price move.
Rows marked "constructed" are test values, not quoted figures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.derive.change_state import ProviderState, collapse
from pipelines.derive.changes import ChangeDetector
from pipelines.ingest.normalize import frame_from_rows, offers_to_frame
from scrapers.base import Response
from scrapers.imports import gcp_pricing_yml
from tests.support.observations import observation

FIX = Path(__file__).parents[2] / "fixtures" / "imports" / "gcp-pricing-yml"
PROVIDER = gcp_pricing_yml.NAME


def snapshot(name: str, at: datetime, body: bytes | None = None):
    data = body if body is not None else (FIX / name).read_bytes()
    result = gcp_pricing_yml.parse([Response(url=f"file:{name}", fetched_at=at, body=data)])
    return offers_to_frame(PROVIDER, result)


def observe(det: ChangeDetector, frame, n: int, at: datetime):
    return det.observe(PROVIDER, frame, dataset_version=f"v{n}", detected_at=at)


def key(instance_type: str, region: str, pricing_model: str = "on_demand") -> str:
    return f"{PROVIDER}|{instance_type}|{region}||{pricing_model}|"


OCT1 = datetime(2022, 10, 1, 4, 35, 19, tzinfo=UTC)
OCT2 = datetime(2022, 10, 2, 11, 41, 35, tzinfo=UTC)
MAY17 = datetime(2024, 5, 17, 12, 0, 33, tzinfo=UTC)
MAY21 = datetime(2024, 5, 21, 15, 58, 33, tzinfo=UTC)


def test_gpu_relabelled_by_the_source_on_2022_10_02_raises_nothing():
    det = ChangeDetector()
    assert observe(det, snapshot("pricing_2022-10-01_a2-excerpt.yml", OCT1), 0, OCT1) == []
    relabelled = snapshot("pricing_2022-10-02_a2-ultragpu-relabelled-excerpt.yml", OCT2)
    assert observe(det, relabelled, 1, OCT2) == []
    # The new figures are the baseline: the same version again is no change either.
    base = det.states[PROVIDER].offers[key("a2-ultragpu-1g", "us-central1")]
    assert (base["price_per_hour"], base["price_basis"]) == (5.027702, "a100-80gb=1;cpu=12;ram=170")
    assert observe(det, relabelled, 2, OCT2 + timedelta(days=1)) == []


def test_local_ssd_bundled_by_the_source_on_2024_05_21_raises_nothing():
    det = ChangeDetector()
    assert observe(det, snapshot("pricing_2024-05-17_a2-a3-g2-excerpt.yml", MAY17), 0, MAY17) == []
    bundled = snapshot("pricing_2024-05-21_bundled-local-ssd-excerpt.yml", MAY21)
    assert observe(det, bundled, 1, MAY21) == []
    st = det.states[PROVIDER]
    a3 = st.offers[key("a3-highgpu-8g", "us-central1")]
    assert a3["price_per_hour"] == pytest.approx(88.489999903)
    assert "local-ssd=6000" in a3["price_basis"]


def test_a_real_move_in_the_same_snapshot_still_raises_its_event():
    det = ChangeDetector()
    observe(det, snapshot("pricing_2022-10-01_a2-excerpt.yml", OCT1), 0, OCT1)
    text = (FIX / "pricing_2022-10-02_a2-ultragpu-relabelled-excerpt.yml").read_text()
    # Constructed: a2-highgpu-1g (basis unchanged) repriced in us-central1 in the same version
    # that relabels the a2-ultragpu GPUs.
    assert text.count("hour: 3.673385\n") == 1
    moved = text.replace("hour: 3.673385\n", "hour: 3.3\n").encode()
    events = observe(det, snapshot("moved", OCT2, body=moved), 1, OCT2)
    assert [(e["event_type"], e["offer_key"]) for e in events] == [
        ("price_changed", key("a2-highgpu-1g", "us-central1"))
    ]
    assert (events[0]["old_price"], events[0]["new_price"]) == (3.673385, 3.3)


def test_a_redefined_offer_moving_later_raises_from_its_new_baseline():
    det = ChangeDetector()
    observe(det, snapshot("pricing_2022-10-01_a2-excerpt.yml", OCT1), 0, OCT1)
    text = (FIX / "pricing_2022-10-02_a2-ultragpu-relabelled-excerpt.yml").read_text()
    observe(det, snapshot("oct2", OCT2, body=text.encode()), 1, OCT2)
    # Constructed: a2-ultragpu-1g us-central1 repriced a week later under the same basis.
    later = text.replace("hour: 5.027702\n", "hour: 4.5\n").encode()
    events = observe(det, snapshot("later", OCT2, body=later), 2, OCT2 + timedelta(days=7))
    assert [(e["event_type"], e["old_price"], e["new_price"]) for e in events] == [
        ("price_changed", 5.027702, 4.5)
    ]


def test_the_august_2023_g2_cut_raises_one_event_per_offer():
    det = ChangeDetector()
    jul = datetime(2023, 7, 27, tzinfo=UTC)
    aug = datetime(2023, 8, 10, 13, 53, 52, tzinfo=UTC)
    observe(det, snapshot("pricing_2023-07-27_g2-excerpt.yml", jul), 0, jul)
    events = observe(det, snapshot("pricing_2023-08-10_g2-excerpt.yml", aug), 1, aug)
    cut = [e["offer_key"] for e in events if e["event_type"] == "price_changed"]
    assert sorted(cut) == sorted(
        key(machine, region)
        for machine in ("g2-standard-4", "g2-standard-8")
        for region in ("asia-south1", "europe-west4")
    )


# --- the rule on constructed observations --------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def row(instance_type: str, price: float, basis: str | None, pricing_model: str = "on_demand"):
    return observation(
        instance_type,
        price,
        "A100",
        provider=PROVIDER,
        region="us-central1",
        pricing_model=pricing_model,
        gpu_count=1.0,
        source_url=gcp_pricing_yml.SOURCE,
        price_basis=basis,
    )


def run(det: ChangeDetector, n: int, *rows):
    frame = frame_from_rows(list(rows))
    return det.observe(PROVIDER, frame, dataset_version=f"v{n}", detected_at=T0)


def test_spot_summary_follows_a_redefinition_silently():
    det = ChangeDetector()
    run(det, 0, row("a2-ultragpu-1g", 2.0, "a100=1;cpu=12;ram=170", "spot"))
    # Constructed: +20% with a new basis: the group's reference moves, no spot event.
    assert run(det, 1, row("a2-ultragpu-1g", 2.4, "a100-80gb=1;cpu=12;ram=170", "spot")) == []
    # Another +20% later under an unchanged basis is a real move.
    events = run(det, 2, row("a2-ultragpu-1g", 2.88, "a100-80gb=1;cpu=12;ram=170", "spot"))
    assert [(e["event_type"], e["old_price"], e["new_price"]) for e in events] == [
        ("spot_price_changed", 2.4, 2.88)
    ]


def test_a_baseline_saved_before_price_basis_existed_compares_as_before():
    # Constructed: a state file written by a version without the column.
    saved = ProviderState(offers=collapse(frame_from_rows([row("a2-highgpu-1g", 3.67, None)])))
    data = saved.to_json()
    for offer in data["offers"]:
        del offer["price_basis"]
    det = ChangeDetector(states={PROVIDER: ProviderState.from_json(json.loads(json.dumps(data)))})
    basis = "a100=1;cpu=12;ram=85"
    assert run(det, 1, row("a2-highgpu-1g", 3.67, basis)) == []
    events = run(det, 2, row("a2-highgpu-1g", 3.3, basis))
    assert [(e["event_type"], e["old_price"], e["new_price"]) for e in events] == [
        ("price_changed", 3.67, 3.3)
    ]
