"""The price index methodology, pinned on small constructed histories (test fixtures only)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pandas as pd
import pytest

from pipelines.derive import index as idx
from pipelines.schema import HISTORY_FIELDS, offer_key
from pipelines.tables import INDEX_EXCLUSION_REASONS, PRICE_INDEX, PRICE_INDEX_INPUTS

D1 = pd.Timestamp("2026-03-02T00:00:00Z")  # a Monday
END = D1 + pd.Timedelta(days=1)  # end of day D1
DAY1 = D1.date()


def row(
    provider: str,
    price: float,
    *,
    model: str = "H100",
    ff: str | None = "SXM",
    mem: float | None = 80.0,
    pricing: str = "on_demand",
    instance: str | None = None,
    region: str = "r1",
    count: float = 1.0,
    valid_from: pd.Timestamp = D1,
    valid_to: pd.Timestamp | None = None,
    last_seen: pd.Timestamp | None = None,
    **extra,
) -> dict:
    r = dict.fromkeys(f.name for f in HISTORY_FIELDS)
    r.update(
        provider=provider,
        instance_type=instance or f"{model}-{ff}-{mem}",
        region=region,
        pricing_model=pricing,
        gpu_model=model,
        gpu_form_factor=ff,
        gpu_memory_gb=mem,
        gpu_count=count,
        currency="USD",
        price_per_hour=price * count,
        price_usd_per_hour=price * count,
        price_usd_per_gpu_hour=price,
        observed_at=valid_from,
        valid_from=valid_from,
        valid_to=valid_to,
        last_seen_at=last_seen if last_seen is not None else max(valid_from, END),
        snapshot_sha256=f"{provider:0<64}"[:64],
        dataset_version="v1",
    )
    r.update(extra)
    r["offer_key"] = offer_key(provider, r["instance_type"], region, None, pricing, None)
    return r


def frame(*rows: dict) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for col in ("valid_from", "valid_to", "last_seen_at", "observed_at"):
        df[col] = pd.to_datetime(df[col], utc=True)
    return df


def value(index: pd.DataFrame, index_id: str, pricing: str = "on_demand", day: date = DAY1):
    sel = index[
        (index["index_id"] == index_id)
        & (index["pricing_model"] == pricing)
        & (index["date"] == day)
    ]
    assert len(sel) <= 1
    return None if sel.empty else sel.iloc[0]


def reasons(inputs: pd.DataFrame, day: date = DAY1) -> dict[str, str | None]:
    # datetime64 in compute's frame; a row holds from date to last_date
    sel = inputs[(inputs["date"] <= pd.Timestamp(day)) & (inputs["last_date"] >= pd.Timestamp(day))]
    return dict(zip(sel["offer_key"].str.split("|").str[0], sel["exclusion_reason"], strict=True))


THROUGH = END + pd.Timedelta(hours=1)


def compute(*rows: dict, through: pd.Timestamp = THROUGH, **kw):
    return idx.compute(frame(*rows), through=through, **kw)


def test_sxm_and_pcie_are_never_mixed_and_the_composite_combines_the_sub_indexes():
    index, _ = compute(row("a", 2.0, ff="SXM"), row("b", 4.0, ff="SXM"), row("c", 1.0, ff="PCIe"))
    assert value(index, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(3.0)
    assert value(index, "H100-PCIe").value_usd_per_gpu_hour == pytest.approx(1.0)
    h100 = value(index, "H100")
    # 0.5 x SXM + 0.5 x PCIe: not the mean of the three pooled offers (7/3).
    assert h100.value_usd_per_gpu_hour == pytest.approx(2.0)
    assert h100.provider_count == 3 and h100.offer_count == 3


def test_composite_needs_every_component():
    index, _ = compute(row("a", 2.0, ff="SXM"))
    assert value(index, "H100-SXM") is not None
    assert value(index, "H100") is None


def test_spot_is_never_mixed_with_on_demand():
    index, _ = compute(row("a", 3.0), row("a", 1.0, pricing="spot"))
    assert value(index, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(3.0)
    assert value(index, "H100-SXM", "spot").value_usd_per_gpu_hour == pytest.approx(1.0)


def test_unknown_form_factor_is_excluded_with_a_reason_never_guessed():
    index, inputs = compute(row("a", 3.0), row("b", 0.5, ff=None), row("c", 7.0, ff="NVL", mem=94))
    assert value(index, "H100-SXM").provider_count == 1
    assert value(index, "H100-PCIe") is None
    r = reasons(inputs)
    assert r == {"a": None, "b": "form_factor_unknown", "c": "variant_not_indexed"}
    assert inputs.loc[inputs["exclusion_reason"] == "form_factor_unknown", "index_id"].isna().all()


def test_single_form_factor_models_accept_offers_without_one():
    index, inputs = compute(
        row("a", 1.0, model="L40S", ff=None, mem=48),
        row("b", 2.0, model="MI300X", ff=None, mem=192),
    )
    assert value(index, "L40S").value_usd_per_gpu_hour == pytest.approx(1.0)
    assert value(index, "MI300X").value_usd_per_gpu_hour == pytest.approx(2.0)


def test_stale_offers_are_excluded_with_a_reason():
    limit = idx.CURRENT.staleness_limit
    fresh = row("a", 2.0, valid_from=END - limit, last_seen=END - limit)
    stale = row(
        "b", 9.0, valid_from=D1 - 20 * idx.DAY, last_seen=END - limit - timedelta(seconds=1)
    )
    index, inputs = compute(fresh, stale)
    assert value(index, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(2.0)
    assert reasons(inputs) == {"a": None, "b": "stale"}


def test_a_provider_with_many_listings_counts_once_at_its_cheapest():
    many = [row("market", 1.0 + i / 10, region=f"r{i}") for i in range(10)]
    index, inputs = compute(*many, row("cloud", 3.0))
    v = value(index, "H100-SXM")
    assert v.value_usd_per_gpu_hour == pytest.approx(2.0)  # mean of 1.0 and 3.0
    assert (v.provider_count, v.offer_count) == (2, 11)
    roles = inputs.groupby("statistic_role").size().to_dict()
    assert roles == {"provider_price": 2, "above_provider_min": 9}


def test_trimmed_mean_drops_the_extreme_providers():
    prices = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 100.0}
    index, inputs = compute(*(row(p, v) for p, v in prices.items()))
    v = value(index, "H100-SXM")
    assert v.value_usd_per_gpu_hour == pytest.approx(3.0)  # floor(5 x 0.2) = 1 off each end
    assert (v.min_usd_per_gpu_hour, v.median_usd_per_gpu_hour, v.max_usd_per_gpu_hour) == (
        1.0,
        3.0,
        100.0,
    )
    trimmed = inputs.loc[inputs["statistic_role"] == "trimmed", "provider"]
    assert sorted(trimmed) == ["a", "e"]


def test_price_scope_rules_and_missing_scope_column():
    rows = [
        row("a", 2.0, price_scope="instance"),
        row("b", 0.5, price_scope="gpu_only"),
        row("c", 0.4, price_scope="curated_min"),
        # A marketplace enters at its median host price (here 3.0 per GPU-hour).
        row("d", 1.0, count=2, price_scope="marketplace_min", market_price_median_per_hour=6.0),
    ]
    index, inputs = compute(*rows)
    assert value(index, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(2.5)
    r = reasons(inputs)
    assert r["b"] == "price_scope_gpu_only" and r["c"] == "price_scope_curated_min"
    assert r["d"] is None
    # Before the scope column existed every row is an instance price.
    no_scope = frame(row("a", 2.0), row("b", 4.0)).drop(columns=["price_scope"], errors="ignore")
    index, _ = idx.compute(no_scope, through=THROUGH)
    assert value(index, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(3.0)


def test_a_resellers_offers_stay_out_so_its_cloud_does_not_count_twice():
    """Shadeform resells Lambda's (and others') machines: in methodology 1.0 its row made
    the same machine a second provider price; from 1.1 it is listed as `resold_offer`."""
    rows = [row("lambdalabs", 2.0), row("shadeform", 2.0), row("b", 4.0)]
    index, inputs = compute(*rows)
    assert value(index, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(3.0)
    assert value(index, "H100-SXM").provider_count == 2
    assert reasons(inputs)["shadeform"] == "resold_offer"
    old, old_inputs = compute(*rows, methodology=idx.METHODOLOGIES["1.0"])
    assert old_inputs["exclusion_reason"].isna().all()
    # 1.0's mean of 2, 2, 4 (no trim below 5 providers): reproducible as published then.
    assert value(old, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(8 / 3)


def test_other_exclusion_reasons():
    rows = [
        row("a", 2.0),
        row("b", 1.0, pricing="reserved_1y"),
        row("c", 1.0, mem=None),
        row("d", 1.0, accelerator_kind="asic"),
        row("e", 1.0, spec_match="family_lower_bound"),
        row("f", float("nan")),
    ]
    _, inputs = compute(*rows)
    assert reasons(inputs) == {
        "a": None,
        "b": "pricing_model_not_indexed",
        "c": "memory_unknown",
        "d": "not_gpu",
        "e": "spec_not_exact",
        "f": "no_usd_price",
    }
    assert set(inputs["exclusion_reason"].dropna()) <= set(INDEX_EXCLUSION_REASONS)


def test_prices_in_force_at_the_end_of_each_utc_day():
    late = D1 + pd.Timedelta(hours=23, minutes=59)
    rows = [
        row("a", 1.0, valid_from=D1 - idx.DAY, valid_to=END),  # replaced at midnight
        row("a", 2.0, instance="H100-SXM-80.0", valid_from=END, last_seen=END + 2 * idx.DAY),
        row("b", 5.0, valid_from=late, last_seen=END + 2 * idx.DAY),
    ]
    rows[1]["offer_key"] = rows[0]["offer_key"]
    index, _ = compute(*rows, through=END + 2 * idx.DAY)
    prev = (D1 - idx.DAY).date()
    assert value(index, "H100-SXM", day=prev).value_usd_per_gpu_hour == pytest.approx(1.0)
    assert value(index, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(3.0)  # 1.0, 5.0
    nxt = value(index, "H100-SXM", day=END.date())
    assert nxt.value_usd_per_gpu_hour == pytest.approx(3.5)  # 2.0, 5.0
    # A day is computed once the history has an observation at or after its end.
    assert index["date"].max() == (END + idx.DAY).date()
    index, _ = compute(*rows, through=END + 2 * idx.DAY - pd.Timedelta(microseconds=1))
    assert index["date"].max() == END.date()


def test_content_hash_is_stable_under_row_order_and_follows_the_raw_bytes():
    rows = [row(p, v) for p, v in {"a": 1.0, "b": 2.0, "c": 3.0}.items()]
    h1 = value(compute(*rows)[0], "H100-SXM").input_sha256
    h2 = value(compute(*reversed(rows))[0], "H100-SXM").input_sha256
    assert h1 == h2 and len(h1) == 64
    rows[1]["snapshot_sha256"] = "f" * 64  # same price, other raw response
    assert value(compute(*rows)[0], "H100-SXM").input_sha256 != h1


def test_output_schemas():
    index, inputs = compute(row("a", 1.0), row("b", 2.0, ff=None))
    assert list(index.columns) == PRICE_INDEX.columns
    assert list(inputs.columns) == PRICE_INDEX_INPUTS.columns
    assert (index["methodology_version"] == idx.CURRENT_VERSION).all()
    assert not index.duplicated(list(PRICE_INDEX.primary_key)).any()
    assert not inputs.duplicated(list(PRICE_INDEX_INPUTS.primary_key)).any()


def _two(last_seen_b: pd.Timestamp) -> pd.DataFrame:
    start = D1 - 10 * idx.DAY
    return frame(
        row("a", 2.0, valid_from=start, last_seen=D1 + 3 * idx.DAY),
        row("b", 4.0, valid_from=start, last_seen=last_seen_b),
    )


def test_published_days_never_change_when_recomputed_later(tmp_path):
    # b was last confirmed 8 days before D1 ended: stale on D1.
    first = _two(last_seen_b=D1 - 7 * idx.DAY)
    idx.publish(first, tmp_path)
    before = pd.read_parquet(tmp_path / idx.INDEX_FILE)
    assert value(before, "H100-SXM").value_usd_per_gpu_hour == pytest.approx(2.0)
    # Later: b is confirmed again with the same price (so the history now says it held on
    # the days it was stale), and a's price changes.
    later = _two(last_seen_b=D1 + 5 * idx.DAY)
    later["valid_to"] = [D1 + 4 * idx.DAY, pd.NaT]
    changed = frame(row("a", 9.0, valid_from=D1 + 4 * idx.DAY, last_seen=D1 + 6 * idx.DAY))
    changed["offer_key"] = later.loc[0, "offer_key"]
    later = pd.concat([later, changed], ignore_index=True)
    recomputed_from_scratch, _ = idx.compute(later, days=[D1.date()])
    assert value(recomputed_from_scratch, "H100-SXM").value_usd_per_gpu_hour == 3.0
    new = idx.publish(later, tmp_path)
    after = pd.read_parquet(tmp_path / idx.INDEX_FILE)
    kept = after[after["date"] <= before["date"].max()].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before)
    assert new[idx.INDEX_FILE] == len(after) - len(before) > 0
    assert value(after, "H100-SXM", day=(D1 + 5 * idx.DAY).date()).value_usd_per_gpu_hour == 6.5
    # Publishing the same history again adds nothing.
    assert idx.publish(later, tmp_path)[idx.INDEX_FILE] == 0
    # The history as it was up to a row's `computed_through` gives the row back.
    day = before[before["date"] == D1.date()].iloc[0]
    again, _ = idx.compute(first, days=[day["date"]], through=day["computed_through"])
    pd.testing.assert_frame_equal(again, before[before["date"] == D1.date()].reset_index(drop=True))


def test_a_new_methodology_version_recomputes_the_series_and_old_ones_stay_reproducible(tmp_path):
    prices = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 100.0}
    seen = D1 + 2 * idx.DAY
    h = frame(*(row(p, v, valid_from=D1 - 3 * idx.DAY, last_seen=seen) for p, v in prices.items()))
    idx.publish(h, tmp_path)
    v1 = pd.read_parquet(tmp_path / idx.INDEX_FILE)
    assert set(v1.loc[v1["index_id"] == "H100-SXM", "value_usd_per_gpu_hour"]) == {3.0}
    bumped = dataclasses.replace(idx.CURRENT, version="test-2", trim_fraction=0.0)
    idx.publish(h, tmp_path, methodology=bumped)
    v2 = pd.read_parquet(tmp_path / idx.INDEX_FILE)
    inputs = pd.read_parquet(tmp_path / idx.INPUTS_FILE)
    assert set(v2["methodology_version"]) == {"test-2"} == set(inputs["methodology_version"])
    assert sorted(v2["date"]) == sorted(v1["date"])
    assert set(v2.loc[v2["index_id"] == "H100-SXM", "value_usd_per_gpu_hour"]) == {22.0}
    old, _ = idx.compute(h, methodology=idx.METHODOLOGIES[idx.CURRENT_VERSION], through=seen)
    pd.testing.assert_frame_equal(old, v1)


def test_a_backfill_in_chunks_of_days_publishes_exactly_what_one_computation_does(
    tmp_path, monkeypatch
):
    import importlib

    publish_mod = importlib.import_module("pipelines.derive.index.publish")
    week = [D1 + i * idx.DAY for i in range(7)]
    rows = [
        row("a", 2.0 + i / 10, valid_from=t, valid_to=t + idx.DAY, last_seen=t + idx.DAY)
        for i, t in enumerate(week)
    ]
    for r in rows[1:]:
        r["offer_key"] = rows[0]["offer_key"]
    rows.append(row("b", 3.0, ff="PCIe", valid_from=D1, last_seen=week[-1] + 2 * idx.DAY))
    history = frame(*rows)
    whole, chunked = tmp_path / "whole", tmp_path / "chunked"
    idx.publish(history, whole)
    monkeypatch.setattr(publish_mod, "CHUNK_DAYS", 2)  # 7 days in 4 chunks
    idx.publish(history, chunked)
    for name in (idx.INDEX_FILE, idx.INPUTS_FILE):
        a, b = pd.read_parquet(whole / name), pd.read_parquet(chunked / name)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b)
    assert pd.read_parquet(whole / idx.INDEX_FILE)["date"].nunique() >= 6


def test_consecutive_days_of_one_verdict_on_one_version_are_one_row():
    # The inputs table holds a row per run of days an offer version had the same verdict
    # (date .. last_date), not one per day: a catalog of a thousand regional offers over
    # years must stay small enough to validate and load.
    three = D1 + 3 * idx.DAY  # days D1, D1+1, D1+2 are computed
    rows = [
        row("a", 2.0, last_seen=three),
        row("b", 3.0, pricing="reserved_1y", last_seen=three),  # pricing model not indexed
        # Provider a's cheaper offer from the second day: a's first offer stops being its
        # provider's price on that day (a new verdict, a new row).
        row("a", 1.5, region="r2", valid_from=D1 + idx.DAY, last_seen=three),
    ]
    _, inputs = compute(*rows, through=three)
    naive = D1.tz_localize(None)
    b = inputs[inputs["offer_key"].str.startswith("b|")]
    assert len(b) == 1 and b["exclusion_reason"].item() == "pricing_model_not_indexed"
    assert (b["date"].item(), b["last_date"].item()) == (naive, naive + 2 * idx.DAY)
    a1 = inputs[inputs["offer_key"].str.contains("|r1|", regex=False)]
    a1 = a1[a1["provider"] == "a"]
    assert a1[["date", "last_date", "statistic_role"]].values.tolist() == [
        [naive, naive, "provider_price"],
        [naive + idx.DAY, naive + 2 * idx.DAY, "above_provider_min"],
    ]
    for k in range(3):
        day = (D1 + k * idx.DAY).date()
        assert reasons(inputs, day)["b"] == "pricing_model_not_indexed"


def test_a_run_of_days_continues_across_publishes(tmp_path):
    # Hourly runs publish a day at a time: an offer included yesterday and today is still
    # one row, its last_date moved on (the table grows with verdict changes, not days).
    four = D1 + 4 * idx.DAY
    history = frame(row("a", 2.0, last_seen=four), row("b", 3.0, ff="PCIe", last_seen=four))
    idx.publish(history, tmp_path / "once")  # all four days at once
    once = pd.read_parquet(tmp_path / "once" / idx.INPUTS_FILE)
    daily = tmp_path / "by_day"
    for k in range(1, 5):
        through = D1 + k * idx.DAY
        h = history.copy()
        h["last_seen_at"] = through
        idx.publish(h, daily)
    by_day = pd.read_parquet(daily / idx.INPUTS_FILE)
    spans = [(r.last_date - r.date).days for r in once.itertuples()]
    assert spans == [3, 3]
    pd.testing.assert_frame_equal(by_day, once)
