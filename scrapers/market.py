"""Marketplace aggregation: many host offers in, one summary per market out.

Marketplaces (Vast.ai, TensorDock) list thousands of host offers whose prices move all
the time. Publishing every host would make the history and the alerts follow single hosts
coming and going; instead each provider groups its host offers by a market key (GPU,
GPU count, country or region, pricing model) and publishes one row per group with the
minimum, the 25th percentile, the median and the number of offers.

This module is pure (no I/O) and provider-agnostic: the provider supplies the key and the
price of each host offer.

Percentile method: exact, by linear interpolation between closest ranks (Hyndman & Fan
type 7, the default of NumPy's `percentile` and of R's `quantile`). For the sorted prices
x[0] <= ... <= x[n-1] and a fraction p, h = (n - 1) * p, and the result is
x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]). It is computed in
`Decimal`, so it is exact for the decimal prices the marketplaces publish; p = 0.5 is the
usual median (the mean of the two middle prices when n is even), p = 0 the minimum.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

P25 = Decimal("0.25")
MEDIAN = Decimal("0.5")


def percentile(sorted_values: Sequence[Decimal], fraction: Decimal) -> Decimal:
    """Exact type-7 percentile of already sorted values (see the module docstring)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not Decimal(0) <= fraction <= Decimal(1):
        raise ValueError(f"fraction {fraction} outside [0, 1]")
    h = (len(sorted_values) - 1) * fraction
    lo = int(h)  # floor: h >= 0
    if lo + 1 >= len(sorted_values):
        return sorted_values[lo]
    return sorted_values[lo] + (h - lo) * (sorted_values[lo + 1] - sorted_values[lo])


@dataclass(frozen=True)
class MarketGroup(Generic[K, T]):
    """One market: its key, its host offers (cheapest first) and their price summary."""

    key: K
    members: tuple[T, ...]  # sorted by price, cheapest first; ties keep input order
    prices: tuple[Decimal, ...]  # the members' prices, same order
    min_price: Decimal
    p25_price: Decimal
    median_price: Decimal

    @property
    def offer_count(self) -> int:
        return len(self.members)

    @property
    def cheapest(self) -> T:
        return self.members[0]


def aggregate(
    items: Iterable[T],
    key: Callable[[T], K],
    price: Callable[[T], Decimal],
) -> list[MarketGroup[K, T]]:
    """Group `items` by `key` and summarise each group's `price`.

    Groups come back sorted by the string form of their key, so a snapshot always yields
    its rows in the same order.
    """
    groups: dict[K, list[tuple[Decimal, int, T]]] = {}
    for i, item in enumerate(items):
        groups.setdefault(key(item), []).append((price(item), i, item))
    out: list[MarketGroup[K, T]] = []
    for k in sorted(groups, key=str):
        rows = sorted(groups[k], key=lambda r: (r[0], r[1]))
        prices = tuple(r[0] for r in rows)
        out.append(
            MarketGroup(
                key=k,
                members=tuple(r[2] for r in rows),
                prices=prices,
                min_price=prices[0],
                p25_price=percentile(prices, P25),
                median_price=percentile(prices, MEDIAN),
            )
        )
    return out


def format_count(gpu_count: Decimal | float | int) -> str:
    """'8' for whole counts, '0.5' for fractions: used in instance names like '8x RTX 4090'."""
    d = Decimal(str(gpu_count))
    return str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")
