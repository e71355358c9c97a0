"""Accelerator kinds (pipelines/data/accelerator_kinds.csv) and their pass-through into
the observations, with the price scope (pipelines/ingest/normalize.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pandas as pd
import pytest

from pipelines.derive.specs import load_specs
from pipelines.ingest import kinds
from pipelines.ingest.kinds import accelerator_kind
from pipelines.ingest.normalize import conform, offers_to_frame
from pipelines.schema import ACCELERATOR_KINDS, PRICE_SCOPES
from scrapers.base import Offer, ParseResult

# Vendors that make no GPUs in the spec table: their chips must be listed as tpu or asic.
NON_GPU_VENDORS = {"Google": "tpu", "AWS": "asic", "Intel": "asic"}


def test_every_listed_model_has_a_spec_row_and_a_known_kind():
    models = set(load_specs()["gpu_model"])
    for model, kind in kinds.kinds().items():
        assert model in models, model
        assert kind in ACCELERATOR_KINDS


def test_every_spec_row_of_a_non_gpu_vendor_is_listed():
    specs = load_specs()
    for model, vendor in specs[["gpu_model", "gpu_vendor"]].itertuples(index=False):
        expected = NON_GPU_VENDORS.get(vendor, "gpu")
        assert accelerator_kind(model) == expected, (model, vendor)


def test_aws_inferentia_and_trainium_are_not_gpus():
    for model in ("Inferentia", "Inferentia2", "Trainium", "Trainium2", "Gaudi2"):
        assert accelerator_kind(model) == "asic"
    assert accelerator_kind("TPU v5e") == "tpu"
    assert accelerator_kind("H100") == "gpu" and accelerator_kind("A100X") == "gpu"
    assert accelerator_kind(None) is None and accelerator_kind("") is None


def test_bad_kind_table_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "kinds.csv"
    bad.write_text("gpu_model,accelerator_kind,source\nTPU v9,npu,https://example.org\n")
    monkeypatch.setattr(kinds, "KINDS_CSV", bad)
    kinds.kinds.cache_clear()
    try:
        with pytest.raises(kinds.KindTableError, match="TPU v9"):
            kinds.kinds()
    finally:
        kinds.kinds.cache_clear()


def _offer(**kw) -> Offer:
    base = dict(
        instance_type="inf2.xlarge",
        region="us-east-1",
        pricing_model="on_demand",
        currency="USD",
        price_per_hour=0.7582,
        gpu_count=1,
        gpu_name_raw=None,
        source_url="https://example.org/offers.json",
        observed_at=datetime(2024, 5, 28, tzinfo=UTC),
        snapshot_sha256="0" * 64,
    )
    base.update(kw)
    return Offer(**base)


def test_normalize_sets_kind_from_the_resolved_model_and_passes_the_scope():
    inf2 = _offer()
    a100 = _offer(instance_type="nvidia-tesla-a100", gpu_name_raw="nvidia-tesla-a100")
    a100 = dataclasses.replace(a100, price_scope="gpu_only")  # the parser states the scope
    frame = offers_to_frame("aws", ParseResult(offers=[inf2, a100]))
    assert list(frame["gpu_model"]) == ["Inferentia2", "A100"]
    assert list(frame["accelerator_kind"]) == ["asic", "gpu"]
    assert list(frame["price_scope"]) == ["instance", "gpu_only"]
    assert set(frame["price_scope"]) <= set(PRICE_SCOPES)


def test_conform_fills_scope_and_kind_of_old_observation_files():
    old = pd.DataFrame(
        {
            "provider": ["aws"],
            "offer_key": ["aws|trn1.2xlarge|us-east-1||on_demand|"],
            "instance_type": ["trn1.2xlarge"],
            "region": ["us-east-1"],
            "pricing_model": ["on_demand"],
            "gpu_model": ["Trainium"],
            "gpu_count": [1.0],
            "currency": ["USD"],
            "price_per_hour": [1.34],
            "observed_at": ["2024-05-28T00:00:00Z"],
            "snapshot_sha256": ["0" * 64],
        }
    )
    out = conform(old)
    assert (out.loc[0, "price_scope"], out.loc[0, "accelerator_kind"]) == ("instance", "asic")
