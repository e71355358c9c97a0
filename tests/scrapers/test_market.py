"""Marketplace aggregation helper: grouping, exact percentiles, deterministic order."""

from __future__ import annotations

from decimal import Decimal

import numpy as np  # installed with pandas
import pytest

from scrapers.market import aggregate, format_count, percentile

D = Decimal


def test_percentile_type7_linear_interpolation():
    xs = [D("1"), D("2"), D("3"), D("4")]
    assert percentile(xs, D("0")) == D("1")
    assert percentile(xs, D("1")) == D("4")
    assert percentile(xs, D("0.5")) == D("2.5")  # mean of the two middle values
    assert percentile(xs, D("0.25")) == D("1.75")  # h = 0.75 between 1 and 2
    assert percentile([D("0.3")], D("0.25")) == D("0.3")
    # Exact in Decimal: no float noise in published percentiles.
    assert percentile([D("0.1"), D("0.2"), D("0.7")], D("0.25")) == D("0.15")


def test_percentile_matches_numpy_default():
    xs = [D(v) for v in ("0.41", "0.2", "1.05", "0.33", "0.5", "0.77", "0.9")]
    s = sorted(xs)
    for p in ("0.25", "0.5", "0.9"):
        assert float(percentile(s, D(p))) == pytest.approx(
            np.percentile([float(x) for x in xs], float(p) * 100)
        )


def test_percentile_rejects_bad_input():
    with pytest.raises(ValueError):
        percentile([], D("0.5"))
    with pytest.raises(ValueError):
        percentile([D(1)], D("1.5"))


def test_aggregate_groups_and_summarises():
    offers = [
        ("RTX 4090", "US", D("0.40")),
        ("RTX 4090", "US", D("0.35")),
        ("RTX 4090", "CA", D("0.50")),
        ("RTX 4090", "US", D("0.60")),
        ("RTX 4090", "US", D("0.35")),
    ]
    groups = aggregate(offers, key=lambda o: (o[0], o[1]), price=lambda o: o[2])
    assert [g.key for g in groups] == [("RTX 4090", "CA"), ("RTX 4090", "US")]
    us = groups[1]
    assert us.offer_count == 4
    assert us.min_price == D("0.35") == min(o[2] for o in offers if o[1] == "US")
    assert us.prices == (D("0.35"), D("0.35"), D("0.40"), D("0.60"))
    assert us.p25_price == D("0.35")  # h = 0.75 between two equal prices
    assert us.median_price == D("0.375")
    assert us.cheapest is offers[1]  # ties keep input order
    ca = groups[0]
    assert ca.offer_count == 1 and ca.min_price == ca.p25_price == ca.median_price == D("0.50")


def test_aggregate_empty():
    assert aggregate([], key=lambda o: o, price=lambda o: D(0)) == []


def test_format_count():
    assert format_count(8) == "8"
    assert format_count(8.0) == "8"
    assert format_count(D("0.5")) == "0.5"
