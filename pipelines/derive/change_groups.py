"""Change detection over groups of offers: the spot/marketplace price summaries and the
GPU-model lineup of a provider (see pipelines/derive/changes.py for the rules and why).

Functions of the detector's state and one run's records; they write nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipelines.derive.change_events import (
    GPU_MODEL_ADDED,
    GPU_MODEL_REMOVED,
    OFFER_GPU_CHANGED,
    SPOT_PRICE_CHANGED,
    RunContext,
    fmt_price,
    gpu_id,
)
from pipelines.derive.change_state import NoiseRules, ProviderState
from pipelines.schema import PRICE_DECIMALS


def pct_change(old: float, new: float) -> float | None:
    if old == 0:
        return None
    return round((new - old) / old * 100.0, 6)


def _reclassified(recs: list[dict[str, Any]], other: Mapping[str, dict[str, Any]]) -> bool:
    """True when every offer in `recs` is in `other` under the same provider GPU spelling:
    the model set changed because our resolution did."""
    return all(
        r["offer_key"] in other
        and (other[r["offer_key"]].get("gpu_name_raw") or None) == (r.get("gpu_name_raw") or None)
        for r in recs
    )


def group_key(rec: Mapping[str, Any]) -> str:
    return json.dumps([rec["pricing_model"], gpu_id(rec), rec["region"], rec["currency"]])


def cheapest_per_gpu_hour(
    cur: Mapping[str, dict[str, Any]],
) -> dict[str, tuple[float, int, dict[str, Any]]]:
    groups: dict[str, tuple[float, int, dict[str, Any]]] = {}
    for row in cur.values():
        if not row["is_volatile"] or not row["gpu_count"]:
            continue
        per_gpu = round(row["price_per_hour"] / row["gpu_count"], PRICE_DECIMALS)
        gk = group_key(row)
        best = groups.get(gk)
        if best is None:
            groups[gk] = (per_gpu, 1, row)
        else:
            cheaper = per_gpu < best[0] or (
                per_gpu == best[0] and row["offer_key"] < best[2]["offer_key"]
            )
            groups[gk] = (per_gpu, best[1] + 1, row) if cheaper else (best[0], best[1] + 1, best[2])
    return groups


def accept_groups(st: ProviderState, cur: Mapping[str, dict[str, Any]]) -> None:
    """Set the reference of every spot/marketplace group not seen before."""
    for gk, (per_gpu, _, _) in cheapest_per_gpu_hour(cur).items():
        st.group_refs.setdefault(gk, per_gpu)


def spot_events(
    rules: NoiseRules,
    ctx: RunContext,
    st: ProviderState,
    cur: Mapping[str, dict[str, Any]],
    new_regions: set[str],
    rebased: set[str] = frozenset(),
) -> list[dict[str, Any]]:
    """`rebased`: groups with an offer the source redefined this run (changes.py, Source
    redefinitions): their reference moves to the new cheapest price without an event."""
    events = []
    for gk, (per_gpu, count, row) in sorted(cheapest_per_gpu_hour(cur).items()):
        ref = st.group_refs.get(gk)
        if ref is None or row["region"] in new_regions or gk in rebased:
            st.group_refs[gk] = per_gpu
            continue
        if per_gpu == ref:
            continue
        pct = pct_change(ref, per_gpu)
        threshold = rules.threshold_pct(row["pricing_model"], row["pricing_model"] != "spot")
        if pct is not None and abs(pct) < threshold:
            continue
        st.group_refs[gk] = per_gpu
        events.append(
            ctx.event(
                SPOT_PRICE_CHANGED,
                row,
                offer_key=None,
                instance_type=None,
                old_price=ref,
                new_price=per_gpu,
                change_pct=pct,
                price_unit="gpu_hour",
                old_value=fmt_price(ref),
                new_value=fmt_price(per_gpu),
                offer_count=count,
                id_key=gk,
            )
        )
    return events


def model_events(
    ctx: RunContext,
    before: Mapping[str, dict[str, Any]],
    after: Mapping[str, dict[str, Any]],
    gone_regions: set[str],
    new_regions: set[str],
    events: list[dict[str, Any]],
    *,
    explained: set[tuple[str, str | None]] = frozenset(),
) -> list[dict[str, Any]]:
    """GPU models added to / removed from the lineup. `explained`: (pricing_model, model)
    pairs that this run's source redefinitions account for, which raise nothing."""

    def lineup(
        offers: Mapping[str, dict[str, Any]], skip_regions: set[str]
    ) -> dict[tuple[str, str], list[dict[str, Any]]]:
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for rec in offers.values():
            if rec["region"] in skip_regions or not rec.get("gpu_model"):
                continue
            out.setdefault((rec["pricing_model"], rec["gpu_model"]), []).append(rec)
        return out

    old_lineup = lineup(before, gone_regions)
    new_lineup = lineup(after, new_regions)
    explained_new = {
        (e["pricing_model"], e["gpu_model"]) for e in events if e["event_type"] == OFFER_GPU_CHANGED
    } | set(explained)
    explained_old = {
        (e["pricing_model"], e["old_gpu_model"])
        for e in events
        if e["event_type"] == OFFER_GPU_CHANGED
    } | set(explained)
    out = []
    for pm_model in sorted(set(new_lineup) - set(old_lineup)):
        recs = new_lineup[pm_model]
        if pm_model in explained_new or _reclassified(recs, before):
            continue
        out.append(
            ctx.event(
                GPU_MODEL_ADDED,
                _model_row(recs),
                new_value=pm_model[1],
                offer_count=len(recs),
                id_key=json.dumps(pm_model),
            )
        )
    for pm_model in sorted(set(old_lineup) - set(new_lineup)):
        recs = old_lineup[pm_model]
        if pm_model in explained_old or _reclassified(recs, after):
            continue
        out.append(
            ctx.event(
                GPU_MODEL_REMOVED,
                _model_row(recs),
                old_value=pm_model[1],
                offer_count=len(recs),
                id_key=json.dumps(pm_model),
            )
        )
    return out


def _model_row(recs: list[dict[str, Any]]) -> dict[str, Any]:
    first = min(recs, key=lambda r: r["offer_key"])
    return {**first, "offer_key": None, "instance_type": None, "region": None}
