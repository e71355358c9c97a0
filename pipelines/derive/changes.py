"""Change detection: the events a provider's consecutive good runs imply, as data.

Input: the normalized observations (pipelines/schema.py OBSERVATION_FIELDS) of providers
whose scrape passed the gate (pipelines/ingest/gate.py) this run. Output: rows of
`datasets/gpu_price_changes.parquet` (PRICE_CHANGES in pipelines/tables.py), which also feed the Atom feed
(pipelines/notify/feed.py) and the e-mail digests (pipelines/notify/alerts.py). `scrape diff`
(pipelines/cli/diff.py) runs the same detector over observation files.

Per provider we keep a baseline under `<state_dir>/changes/<provider>.json`: every live
offer with its last reported values, the offers currently missing (since when, for how
many good runs) and the reference prices of the spot summaries. Each good run is compared
with that baseline, never with the raw previous scrape.

Event types
- `price_changed`: an offer's whole-instance price per hour (`price_per_hour`, published
  currency) moved. old_price/new_price/change_pct.
- `offer_added` / `offer_removed`: an offer key appeared / is confirmed gone.
- `gpu_model_added` / `gpu_model_removed`: a canonical GPU model appeared in / left a
  provider's lineup for one pricing model (offer_key null, offer_count = its offers).
- `offer_gpu_changed`: the same offer key now comes with another GPU model or GPU count
  (Colab's free tier K80 -> T4). old_gpu_model/gpu_model, old_value/new_value "1x K80".
- `spot_price_changed`: summary of volatile prices, see below.

Noise rules (why each exists: FIELD-NOTES.md, skypilot-catalog#179-#181, skypilot#2780)
- A failed, partial or empty scrape never reaches us: the gate refuses it, and a provider
  absent from a run leaves its baseline untouched.
- Fetch scope: a region that appears (no live offer had it) or disappears (no current offer
  has it) wholesale is a change of what we fetch, not of what the provider sells. Its offers
  join or leave the baseline silently, and it counts for neither the per-offer nor the
  GPU-model comparison. Trade-off: a provider really closing a whole region is not alerted.
- Duplicate rows under one key (the gate refuses them; this is defence in depth): the row
  kept is chosen by sorting on values (cheapest first), never by input order, so a Linux
  and a Windows row cannot flip-flop.
- Removal: a missing offer is only `offer_removed` after it stayed missing for
  `removal_confirm_runs` consecutive good runs, or for `removal_confirm_after` since it was
  first missed, whichever comes first. An offer back in time raises nothing. A GPU model
  is removed only when its last offer's removal is confirmed.
- Confirmation (`price_confirm_runs`, per provider; default 1 for Azure, 0 elsewhere): a
  new fixed price of an offer is held back (state `unconfirmed`, baseline unchanged) until
  it has been seen in that many runs after the first; a price that reverts meanwhile raises
  nothing, one that moves again restarts the wait. The event is raised at confirmation with
  `observed_at` = the first sighting. Why: Azure's Retail Prices API has been seen returning
  another meter's price (Windows, a wrong SKU) for hours and then the right one again, and
  each flip raised two events that were noise. Cost: a real change on such a provider is
  reported one run later (6 h at Azure's default cadence). Spot and marketplace summaries
  already have their own threshold and are not held back.
- Float noise: prices are compared rounded to PRICE_DECIMALS (9) decimals.
- Thresholds: `min_change_pct` per pricing model (default: 0 for fixed prices, 5% for
  spot and for marketplace rows). A change below the threshold is not reported and does
  not move the reference price, so a slow creep is reported once it adds up.
- Volatile prices (pricing_model spot, or marketplace rows: market_offer_count set) never
  raise per-offer `price_changed`, `offer_added` or `offer_removed`. Instead, per
  (provider, pricing_model, gpu_model, region, currency) we track the cheapest price per
  GPU-hour; when it moves at least the threshold away from the last reported value one
  `spot_price_changed` event is raised (old_price/new_price are per GPU-hour,
  price_unit "gpu_hour", offer_count = offers in the group). GPU model added/removed and
  GPU changes are still reported for volatile offers.
- Our own GPU name resolution improving (same provider spelling, new canonical model) is
  not a GPU change and adds or removes no model; only a new provider spelling that
  resolves to another model, or a new GPU count, is `offer_gpu_changed`.
- A GPU change also explains the model arriving and leaving: `gpu_model_added` (for the new
  model) and `gpu_model_removed` (for the old one) are not raised when this run's
  `offer_gpu_changed` events of the same provider and pricing model already name them.
- The first good run of a provider only establishes its baseline.
- Source redefinitions (`price_basis`): a source that computes prices rather than
  publishing them (the Cyclenerd pricing.yml import builds whole-VM prices from its own
  machine definitions) stamps each offer with the basis it computed the price from. When
  an offer's basis differs from its baseline's, the source changed its definition (it
  corrected a GPU label, started including bundled local SSD: see
  scrapers/imports/gcp_pricing_yml.py), not the provider its price. The offer is
  re-baselined at its new figures with no event of any kind, and the spot/marketplace
  group it belongs to (and a GPU model it brings or takes) moves its reference silently.
  The history still gets the new version, with the new `price_basis`, so the step is
  visible there. Why no event: the events table is what feeds, mails and the site alert
  on, and none of its readers would want these; a distinct non-alerting type would make
  each of them filter it. Offers of the same run whose basis did not change still raise
  their events. A baseline without a basis (saved before the column existed, or a source
  that states none) compares with any basis. Cost: a real repricing published in the same
  snapshot as a redefinition of that very offer is not reported.

Modules (imports go downward): `change_events` (event types, the published table, text of
an event) <- `change_state` (noise rules, per-provider baselines) <- `change_groups` (spot
summaries, GPU-model lineup) <- this module (the per-offer detector, `detect_run`), which
also re-exports the names callers use.

Idempotency: event_id hashes the event type, the offer (or group), the old and new values
and `from_version` (the provider's baseline version), not the run's own version or time.
A run repeated after a crash (before the state was saved) recomputes the same ids, and
events are appended to the Parquet file deduplicated by event_id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.derive.change_events import (
    CHANGES_NAME,
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    EVENT_TYPES,
    OFFER_ADDED,
    OFFER_GPU_CHANGED,
    OFFER_REMOVED,
    PRICE_CHANGED,
    RunContext,
    append_events,
    describe,
    event_to_json,
    events_frame,
    fmt_price,
    gpu_id,
    read_events,
    round_price,
)
from pipelines.derive.change_groups import (
    accept_groups,
    group_key,
    model_events,
    pct_change,
    spot_events,
)
from pipelines.derive.change_state import (
    DEFAULT_REMOVAL_CONFIRM_RUNS,
    DEFAULT_VOLATILE_MIN_CHANGE_PCT,
    STATE_SUBDIR,
    NoiseRules,
    ProviderState,
    collapse,
    load_state,
    save_state,
    state_path,
)

# Re-exported: callers import the event table and the state from here.
__all__ = [
    "CHANGES_NAME",
    "DEFAULT_REMOVAL_CONFIRM_RUNS",
    "DEFAULT_VOLATILE_MIN_CHANGE_PCT",
    "EVENT_COLUMNS",
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "STATE_SUBDIR",
    "ChangeDetector",
    "NoiseRules",
    "ProviderState",
    "append_events",
    "collapse",
    "describe",
    "detect_run",
    "event_to_json",
    "events_frame",
    "fmt_price",
    "load_state",
    "read_events",
    "save_state",
    "state_path",
]

log = logging.getLogger("pipelines.derive.changes")


def _fmt_gpu(count: float | None, model: str | None) -> str:
    n = "?" if count is None else f"{float(count):g}"
    return f"{n}x {model or '?'}"


def _redefined(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Did the source change what it computed the offer's price from? Unknown (no basis on
    either side) compares with anything."""
    a, b = old.get("price_basis"), new.get("price_basis")
    return a is not None and b is not None and a != b


def _gpu_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Did the provider change the offer's GPU (not just our resolution of its name)?

    A new canonical model under the same provider spelling is a resolver change, and a new
    spelling that resolves to the same model is a cosmetic one: neither is an event.
    """
    if old.get("gpu_count") != new.get("gpu_count"):
        return True
    return (old.get("gpu_name_raw") or None) != (new.get("gpu_name_raw") or None) and gpu_id(
        old
    ) != gpu_id(new)


class ChangeDetector:
    """Compares each good run of a provider with its baseline and yields events.

    Holds the per-provider states in memory; `process_run` loads and saves them, `scrape
    diff` keeps them in memory only.
    """

    def __init__(
        self, rules: NoiseRules | None = None, states: dict[str, ProviderState] | None = None
    ) -> None:
        self.rules = rules or NoiseRules()
        self.states: dict[str, ProviderState] = states if states is not None else {}

    def observe(
        self,
        provider: str,
        obs: pd.DataFrame,
        *,
        dataset_version: str,
        detected_at: datetime,
        previous_dataset_version: str | None = None,
    ) -> list[dict[str, Any]]:
        """Events for one provider's good run; updates that provider's state."""
        cur = collapse(obs)
        st = self.states.get(provider)
        if st is None:
            st = ProviderState()
            accept_groups(st, cur)
            st.offers = cur
            st.dataset_version = dataset_version
            st.updated_at = detected_at.isoformat()
            st.rows = len(obs)
            self.states[provider] = st
            log.info("%s: baseline established with %d offers", provider, len(cur))
            return []
        ctx = RunContext(
            provider=provider,
            detected_at=detected_at,
            from_version=st.dataset_version or previous_dataset_version,
            to_version=dataset_version,
        )
        rules = self.rules
        base = st.offers
        base_regions = {r["region"] for r in base.values()}
        cur_regions = {r["region"] for r in cur.values()}
        new_regions = cur_regions - base_regions
        gone_regions = base_regions - cur_regions
        if new_regions or gone_regions:
            log.info(
                "%s: fetch scope changed: regions added %s, dropped %s (no offer events)",
                provider,
                sorted(new_regions),
                sorted(gone_regions),
            )

        events: list[dict[str, Any]] = []
        offers_after: dict[str, dict[str, Any]] = {}
        pending_after: dict[str, dict[str, Any]] = {}
        unconfirmed_after: dict[str, dict[str, Any]] = {}
        # (old, new) records of the offers the source redefined this run.
        redefined: list[tuple[dict[str, Any], dict[str, Any]]] = []

        for key, row in cur.items():
            old = base.get(key)
            if old is not None and _redefined(old, row):
                # New figures under a new basis: the baseline from now on, no event (a
                # price waiting for confirmation is dropped with the old basis).
                offers_after[key] = row
                redefined.append((old, row))
                continue
            if old is None:
                offers_after[key] = row
                if row["region"] not in new_regions and not row["is_volatile"]:
                    events.append(
                        ctx.event(
                            OFFER_ADDED,
                            row,
                            new_value=fmt_price(row["price_per_hour"]),
                            new_price=row["price_per_hour"],
                            price_unit="hour",
                        )
                    )
                continue
            kept = dict(row)
            old_gpu, new_gpu = gpu_id(old), gpu_id(row)
            if _gpu_changed(old, row):
                events.append(
                    ctx.event(
                        OFFER_GPU_CHANGED,
                        row,
                        old_gpu_model=old_gpu,
                        old_value=_fmt_gpu(old.get("gpu_count"), old_gpu),
                        new_value=_fmt_gpu(row.get("gpu_count"), new_gpu),
                    )
                )
            if not row["is_volatile"]:
                ev = self._price_event(ctx, old, row)
                if ev is not None:
                    ev = self._confirmed(ctx, st, unconfirmed_after, key, row, ev)
                if ev is not None:
                    events.append(ev)
                elif key in unconfirmed_after:
                    # Waiting for confirmation: the baseline keeps the old price, so a
                    # revert is no change at all.
                    kept["price_per_hour"], kept["currency"] = (
                        old["price_per_hour"],
                        old["currency"],
                    )
                elif old["currency"] == row["currency"]:
                    # Below the threshold: the reference price stays, so creep adds up.
                    kept["price_per_hour"] = old["price_per_hour"]
            offers_after[key] = kept

        for key, old in base.items():
            if key in cur:
                continue
            if old["region"] in gone_regions:
                continue  # out of fetch scope: leaves silently
            p = dict(
                st.pending.get(key)
                or {"first_missing_at": detected_at.isoformat(), "missing_runs": 0}
            )
            p["missing_runs"] = int(p["missing_runs"]) + 1
            missing_for = detected_at - datetime.fromisoformat(p["first_missing_at"])
            confirmed = p["missing_runs"] >= rules.removal_confirm_runs or (
                rules.removal_confirm_after is not None
                and missing_for >= rules.removal_confirm_after
            )
            if confirmed:
                if not old["is_volatile"]:
                    events.append(
                        ctx.event(
                            OFFER_REMOVED,
                            old,
                            old_value=fmt_price(old["price_per_hour"]),
                            old_price=old["price_per_hour"],
                            price_unit="hour",
                        )
                    )
            else:
                offers_after[key] = old
                pending_after[key] = p

        if redefined:
            log.info(
                "%s: %d offers re-baselined without events: the source redefined their "
                "price basis (e.g. %s: %s -> %s)",
                provider,
                len(redefined),
                redefined[0][1]["offer_key"],
                redefined[0][0]["price_basis"],
                redefined[0][1]["price_basis"],
            )
        rebased_groups = {group_key(r) for pair in redefined for r in pair if r["is_volatile"]}
        explained = {
            (r["pricing_model"], gpu_id(r))
            for was, now in redefined
            if gpu_id(was) != gpu_id(now)
            for r in (was, now)
        }
        events.extend(spot_events(self.rules, ctx, st, cur, new_regions, rebased_groups))
        events.extend(
            model_events(
                ctx, base, offers_after, gone_regions, new_regions, events, explained=explained
            )
        )

        st.offers = offers_after
        st.pending = pending_after
        st.unconfirmed = unconfirmed_after
        st.dataset_version = dataset_version
        st.updated_at = detected_at.isoformat()
        st.rows = len(obs)
        return events

    def _confirmed(
        self,
        ctx: RunContext,
        st: ProviderState,
        unconfirmed_after: dict[str, dict[str, Any]],
        key: str,
        row: Mapping[str, Any],
        ev: dict[str, Any],
    ) -> dict[str, Any] | None:
        """`ev` once the new price has persisted for the provider's `price_confirm_runs`
        runs after the one that first saw it; until then None, and the new price waits in
        `unconfirmed_after`. The event then carries the first observation time."""
        need = self.rules.confirm_runs(ctx.provider)
        if need <= 0:
            return ev
        seen = st.unconfirmed.get(key)
        same = (
            seen is not None
            and seen["currency"] == row["currency"]
            and round_price(seen["price_per_hour"]) == round_price(row["price_per_hour"])
        )
        runs = int(seen["runs"]) + 1 if same else 1
        first_seen_at = seen["first_seen_at"] if same else ctx.detected_at.isoformat()
        if runs > need:
            ev["observed_at"] = datetime.fromisoformat(first_seen_at)
            return ev
        unconfirmed_after[key] = {
            "price_per_hour": row["price_per_hour"],
            "currency": row["currency"],
            "first_seen_at": first_seen_at,
            "runs": runs,
        }
        return None

    def _price_event(
        self, ctx: RunContext, old: Mapping[str, Any], row: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        old_p, new_p = round_price(old["price_per_hour"]), round_price(row["price_per_hour"])
        if old["currency"] != row["currency"]:
            return ctx.event(
                PRICE_CHANGED,
                row,
                old_price=old_p,
                new_price=new_p,
                old_value=f"{fmt_price(old_p)} {old['currency']}",
                new_value=f"{fmt_price(new_p)} {row['currency']}",
                price_unit="hour",
            )
        if old_p == new_p:
            return None
        pct = pct_change(old_p, new_p)
        threshold = self.rules.threshold_pct(row["pricing_model"], False)
        if pct is not None and abs(pct) < threshold:
            return None
        return ctx.event(
            PRICE_CHANGED,
            row,
            old_price=old_p,
            new_price=new_p,
            change_pct=pct,
            old_value=fmt_price(old_p),
            new_value=fmt_price(new_p),
            price_unit="hour",
        )


def detect_run(
    observations: Mapping[str, pd.DataFrame],
    *,
    state_dir: Path,
    dataset_version: str,
    detected_at: datetime,
    previous_dataset_version: str | None,
    rules: NoiseRules,
    states: Mapping[str, ProviderState] | None = None,
) -> tuple[pd.DataFrame, dict[str, ProviderState]]:
    """The events of one run and the providers' new baselines; writes nothing.

    `observations` holds only the providers whose scrape passed the gate this run. The
    caller records the events, then saves the returned states (`save_state`), in that
    order, so a run killed in between recomputes the same events (see Idempotency).
    `states`: baselines the caller holds in memory (a replay of many runs saves them once
    at the end); providers not in it are loaded from `state_dir`.
    """
    detected_at = (
        detected_at.astimezone(UTC) if detected_at.tzinfo else detected_at.replace(tzinfo=UTC)
    )
    held = dict(states or {})
    baselines: dict[str, ProviderState] = {}
    for provider in observations:
        st = held[provider] if provider in held else load_state(state_dir, provider)
        if st is not None:
            baselines[provider] = st
    detector = ChangeDetector(rules, baselines)
    raised: list[dict[str, Any]] = []
    for provider in sorted(observations):
        raised.extend(
            detector.observe(
                provider,
                observations[provider],
                dataset_version=dataset_version,
                detected_at=detected_at,
                previous_dataset_version=previous_dataset_version,
            )
        )
    return events_frame(raised), {p: detector.states[p] for p in observations}
