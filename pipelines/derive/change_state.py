"""Change detection's memory: the noise rules and each provider's baseline.

`collapse` turns one run's observations into baseline records, one per offer key,
independent of row order. See pipelines/derive/changes.py for what a baseline holds and why.

Storage: per provider a directory of Parquet files whose per-run write follows the changes
(the whole baseline, ~10 KB per 1,000 offers, was rewritten as indented JSON every run):

    <state_dir>/changes/<provider>/snapshot-<n>.parquet  the whole state as of save n
    <state_dir>/changes/<provider>/delta-<n>.parquet     what save n changed: upserts and
                                                         deletes of offers, pending removals,
                                                         unconfirmed prices and group refs

Every file has the same columns (`_STATE_SCHEMA`: a row per entry, `kind` + `key`, the
offer's columns typed, other entries' values as JSON exactly as the old file held them)
and a `meta` row with the state's scalars (dataset version, update time, rows). Loading
reads the newest snapshot and replays the deltas numbered after it, in order. A save writes
one delta (its diff against the state on disk); when there are more than
`FOLD_AFTER_DELTAS` deltas or their rows add up to more than half the snapshot's, it writes a new
snapshot numbered like the last delta and deletes what that snapshot covers.

Crash safety: each file is written to a temporary name and renamed (`write_parquet_atomic`),
and a file's number says what it covers, so no manifest has to agree with the files: a
temporary file is never read, a snapshot written just before a crash already holds every
delta below it, and files left over by a crash are deleted by the next save. The state of
an earlier release (`<state_dir>/changes/<provider>.json`) is still read; the first save
writes it as a snapshot and removes it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.gate import deterministic_duplicates
from pipelines.schema import PRICE_DECIMALS
from pipelines.store.atomic import write_parquet_atomic

STATE_SUBDIR = "changes"

DEFAULT_REMOVAL_CONFIRM_RUNS = 2
DEFAULT_VOLATILE_MIN_CHANGE_PCT = 5.0
# Runs a new fixed price must persist after the run that first saw it before it is an
# event (0 = report at once). Providers whose API is known to flap get 1: Azure's Retail
# Prices API has been seen returning another meter's price (Windows, a wrong SKU) for
# hours and then the right one again (FIELD-NOTES.md section 10). Cost: a real change
# there is reported one run later (6 h at the default cadence), with its first
# observation time in the event's `observed_at`.
DEFAULT_PRICE_CONFIRM_RUNS: Mapping[str, int] = {"azure": 1}


@dataclass(frozen=True)
class NoiseRules:
    """Configurable thresholds of the noise rules (module docstring); built from the
    `[changes]` settings by pipelines/ops/events.py `noise_rules`."""

    removal_confirm_runs: int = DEFAULT_REMOVAL_CONFIRM_RUNS
    removal_confirm_after: timedelta | None = None
    min_change_pct: Mapping[str, float] = field(
        default_factory=lambda: {"spot": DEFAULT_VOLATILE_MIN_CHANGE_PCT}
    )
    marketplace_min_change_pct: float = DEFAULT_VOLATILE_MIN_CHANGE_PCT
    # provider -> price_confirm_runs; providers not listed use `price_confirm_runs_default`.
    price_confirm_runs: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_PRICE_CONFIRM_RUNS)
    )
    price_confirm_runs_default: int = 0

    def confirm_runs(self, provider: str) -> int:
        return int(self.price_confirm_runs.get(provider, self.price_confirm_runs_default))

    def threshold_pct(self, pricing_model: str, is_marketplace: bool) -> float:
        if is_marketplace:
            return self.marketplace_min_change_pct
        return float(self.min_change_pct.get(pricing_model, 0.0))


# Columns of an offer kept in the baseline: what the comparisons and the events need.
_BASE_COLUMNS = (
    "offer_key",
    "instance_type",
    "region",
    "pricing_model",
    "gpu_model",
    "gpu_name_raw",
    "gpu_count",
    "currency",
    "price_per_hour",
    "source_url",
    "is_volatile",
    "price_basis",
)


@dataclass
class ProviderState:
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # offer_key -> {"first_missing_at": iso, "missing_runs": int}
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    # offer_key -> a new price waiting for confirmation: {"price_per_hour", "currency",
    # "first_seen_at": iso, "runs": consecutive runs seen, "source_url"}
    unconfirmed: dict[str, dict[str, Any]] = field(default_factory=dict)
    # json([pricing_model, gpu, region, currency]) -> last reported cheapest per GPU-hour
    group_refs: dict[str, float] = field(default_factory=dict)
    dataset_version: str | None = None
    updated_at: str | None = None
    rows: int = 0  # rows of the last good run (the gate's last_good_rows in `scrape diff`)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_version": self.dataset_version,
            "updated_at": self.updated_at,
            "rows": self.rows,
            "offers": [self.offers[k] for k in sorted(self.offers)],
            "pending": self.pending,
            "unconfirmed": self.unconfirmed,
            "group_refs": self.group_refs,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderState:
        return cls(
            offers={o["offer_key"]: dict(o) for o in data.get("offers", [])},
            pending={k: dict(v) for k, v in (data.get("pending") or {}).items()},
            unconfirmed={k: dict(v) for k, v in (data.get("unconfirmed") or {}).items()},
            group_refs={k: float(v) for k, v in (data.get("group_refs") or {}).items()},
            dataset_version=data.get("dataset_version"),
            updated_at=data.get("updated_at"),
            rows=int(data.get("rows") or 0),
        )


def collapse(obs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One baseline record per offer key, independent of row order.

    Duplicate keys are resolved by sorting on the values (cheapest, then GPU, then URL) so
    the same set of rows always yields the same record.
    """
    if len(obs) == 0:
        return {}
    df = pd.DataFrame(
        {
            "offer_key": obs["offer_key"].astype(str),
            "instance_type": obs["instance_type"],
            "region": obs["region"],
            "pricing_model": obs["pricing_model"],
            "gpu_model": obs["gpu_model"] if "gpu_model" in obs else None,
            "gpu_name_raw": obs["gpu_name_raw"] if "gpu_name_raw" in obs else None,
            "gpu_count": pd.to_numeric(obs["gpu_count"], errors="coerce").astype("float64"),
            "currency": obs["currency"],
            "price_per_hour": pd.to_numeric(obs["price_per_hour"], errors="coerce")
            .astype("float64")
            .round(PRICE_DECIMALS),
            "source_url": obs["source_url"] if "source_url" in obs else None,
            "price_basis": obs["price_basis"] if "price_basis" in obs else None,
            "is_volatile": (obs["pricing_model"] == "spot")
            | (obs["market_offer_count"].notna() if "market_offer_count" in obs else False),
        }
    )
    # Defence in depth (the gate quarantines duplicates): the same order as the gate's.
    dups = deterministic_duplicates(df)
    if dups.any():
        df = df[~dups]
    df["is_volatile"] = df["is_volatile"].astype(bool)
    # Through Arrow: nulls (None, NaN, NA) all come out as None, numbers as floats (both
    # numeric columns are float64), and it is fast: no per-row fix-up left.
    table = pa.Table.from_pandas(df[list(_BASE_COLUMNS)], preserve_index=False)
    return dict(zip(df["offer_key"], table.to_pylist(), strict=True))


# A new snapshot replaces the deltas when there are more of them than this, or when they
# add up to more than half the snapshot's rows: loading then replays at most a few
# runs' changes, and the disk holds at most ~1.5 states per provider.
FOLD_AFTER_DELTAS = 20
FOLD_AFTER_FRACTION = 0.5

_OFFER, _PENDING, _UNCONFIRMED, _GROUP_REF = "offer", "pending", "unconfirmed", "group_ref"
_META = "meta"  # one row per file: the state's dataset_version, updated_at and rows
_OFFER_TYPES = {
    "gpu_count": pa.float64(),
    "price_per_hour": pa.float64(),
    "is_volatile": pa.bool_(),
}
_STATE_SCHEMA = pa.schema(
    [
        pa.field("kind", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("is_deleted", pa.bool_(), nullable=False),
        *(pa.field(c, _OFFER_TYPES.get(c, pa.string())) for c in _BASE_COLUMNS[1:]),
        # pending, unconfirmed and group_ref values, as the JSON state held them
        pa.field("value_json", pa.string()),
    ]
)
_META_KEYS = ("dataset_version", "updated_at", "rows")
_SNAPSHOT, _DELTA = "snapshot", "delta"


def state_dir_of(state_dir: Path, provider: str) -> Path:
    """The directory of a provider's baseline files."""
    return Path(state_dir) / STATE_SUBDIR / provider


def state_path(state_dir: Path, provider: str) -> Path:
    """Where an earlier release kept a provider's baseline (read and migrated)."""
    return Path(state_dir) / STATE_SUBDIR / f"{provider}.json"


def _files(pdir: Path) -> dict[str, list[tuple[int, Path]]]:
    """Complete snapshot and delta files by number (temporary files start with a dot)."""
    out: dict[str, list[tuple[int, Path]]] = {_SNAPSHOT: [], _DELTA: []}
    if not pdir.is_dir():
        return out
    for p in pdir.glob("*.parquet"):
        kind, _, n = p.stem.partition("-")
        if kind in out and n.isdigit():
            out[kind].append((int(n), p))
    for v in out.values():
        v.sort()
    return out


def _live(files: dict[str, list[tuple[int, Path]]]) -> list[tuple[int, Path]]:
    """The files a load reads, in order: the newest snapshot, then later deltas."""
    if not files[_SNAPSHOT]:
        return []
    base = files[_SNAPSHOT][-1]
    return [base, *((n, p) for n, p in files[_DELTA] if n > base[0])]


def _signature(pdir: Path) -> tuple:
    out = []
    if pdir.is_dir():
        for e in os.scandir(pdir):
            if e.name.endswith(".parquet") and not e.name.startswith("."):
                st = e.stat()
                out.append((e.name, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(sorted(out))


# The state this process last loaded or saved per directory, with the directory's
# signature then: a save diffs against it without reading the files again, as long as
# nobody else wrote meanwhile.
_CACHE: dict[Path, tuple[tuple, ProviderState]] = {}


def _copy(st: ProviderState) -> ProviderState:
    # Entries are flat dicts of scalars: a copy of each dict is a deep copy. Offers in key
    # order, as the JSON state gave them back: the order of removal events follows it.
    return ProviderState(
        offers={k: dict(st.offers[k]) for k in sorted(st.offers)},
        pending={k: dict(v) for k, v in st.pending.items()},
        unconfirmed={k: dict(v) for k, v in st.unconfirmed.items()},
        group_refs=dict(st.group_refs),
        dataset_version=st.dataset_version,
        updated_at=st.updated_at,
        rows=st.rows,
    )


def _apply(st: ProviderState, path: Path) -> None:
    # Column lists, not Table.to_pylist(): loading is on every run's path.
    t = pq.ParquetFile(path).read()
    names = _BASE_COLUMNS[1:]
    # A column added to the baseline after the file was written reads as nulls.
    cols = [
        t[c].to_pylist() if c in t.column_names else [None] * t.num_rows
        for c in ("kind", "key", "is_deleted", "value_json", *names)
    ]
    for kind, key, is_deleted, value, *offer in zip(*cols, strict=True):
        if kind == _OFFER:
            if is_deleted:
                st.offers.pop(key, None)
            else:
                st.offers[key] = {"offer_key": key, **dict(zip(names, offer, strict=True))}
        elif kind == _META:
            meta = json.loads(value)
            st.dataset_version, st.updated_at = meta["dataset_version"], meta["updated_at"]
            st.rows = int(meta["rows"] or 0)
        elif kind in (_PENDING, _UNCONFIRMED, _GROUP_REF):
            target = {_PENDING: st.pending, _UNCONFIRMED: st.unconfirmed}.get(kind, st.group_refs)
            if is_deleted:
                target.pop(key, None)
            elif kind == _GROUP_REF:
                st.group_refs[key] = float(json.loads(value))
            else:
                target[key] = dict(json.loads(value))


def _read(state_dir: Path, provider: str) -> ProviderState | None:
    live = _live(_files(state_dir_of(state_dir, provider)))
    if live:
        st = ProviderState()
        for _, path in live:
            _apply(st, path)
        st.offers = {k: st.offers[k] for k in sorted(st.offers)}  # as _copy orders them
        return st
    legacy = state_path(state_dir, provider)
    if legacy.exists():
        return ProviderState.from_json(json.loads(legacy.read_text()))
    return None


def _rows(old: ProviderState, new: ProviderState) -> list[dict[str, Any]]:
    """What turns `old` into `new`: one row per entry added, changed or removed."""
    rows: list[dict[str, Any]] = []
    for key, rec in new.offers.items():
        if old.offers.get(key) != rec:
            rows.append(
                {"kind": _OFFER, "key": key, "is_deleted": False}
                | {c: rec.get(c) for c in _BASE_COLUMNS[1:]}
            )
    rows += [
        {"kind": _OFFER, "key": k, "is_deleted": True} for k in old.offers if k not in new.offers
    ]
    for kind, before, after in (
        (_PENDING, old.pending, new.pending),
        (_UNCONFIRMED, old.unconfirmed, new.unconfirmed),
        (_GROUP_REF, old.group_refs, new.group_refs),
    ):
        for key, value in after.items():
            if key not in before or before[key] != value:
                rows.append(
                    {
                        "kind": kind,
                        "key": key,
                        "is_deleted": False,
                        "value_json": json.dumps(value, default=str),
                    }
                )
        rows += [{"kind": kind, "key": k, "is_deleted": True} for k in before if k not in after]
    return rows


def _write(path: Path, rows: list[dict[str, Any]], st: ProviderState) -> None:
    meta = {k: getattr(st, k) for k in _META_KEYS}
    rows = [*rows, {"kind": _META, "key": "", "is_deleted": False, "value_json": json.dumps(meta)}]
    # No column statistics and no stored Arrow schema: the footer was 3.4 KB of a 5.4 KB
    # delta of 15 rows, and nothing filters these files by statistics.
    write_parquet_atomic(
        pa.Table.from_pylist(rows, schema=_STATE_SCHEMA),
        path,
        write_statistics=False,
        store_schema=False,
    )


def load_state(state_dir: Path, provider: str) -> ProviderState | None:
    pdir = state_dir_of(state_dir, provider)
    sig = _signature(pdir)
    cached = _CACHE.get(pdir.resolve())
    if sig and cached is not None and cached[0] == sig:
        return _copy(cached[1])
    st = _read(state_dir, provider)
    if st is not None and sig:
        _CACHE[pdir.resolve()] = (sig, st)
        return _copy(st)
    return st


def save_state(state_dir: Path, provider: str, st: ProviderState) -> None:
    """Record `st` as the provider's baseline: a delta against the state on disk, or a
    snapshot (module docstring)."""
    pdir = state_dir_of(state_dir, provider)
    files = _files(pdir)
    live = _live(files)
    cached = _CACHE.get(pdir.resolve())
    if cached is not None and cached[0] == _signature(pdir) and live:
        old: ProviderState | None = cached[1]
    else:
        old = _read(state_dir, provider) if live else None
    seq = max((n for kind in files.values() for n, _ in kind), default=0) + 1
    if old is None:
        _write(pdir / f"{_SNAPSHOT}-{seq:08d}.parquet", _rows(ProviderState(), st), st)
    else:
        _write(pdir / f"{_DELTA}-{seq:08d}.parquet", _rows(old, st), st)
        deltas = [p for n, p in live[1:]] + [pdir / f"{_DELTA}-{seq:08d}.parquet"]
        delta_rows = sum(pq.read_metadata(p).num_rows for p in deltas)
        if (
            len(deltas) > FOLD_AFTER_DELTAS
            or delta_rows > FOLD_AFTER_FRACTION * pq.read_metadata(live[0][1]).num_rows
        ):
            _write(pdir / f"{_SNAPSHOT}-{seq:08d}.parquet", _rows(ProviderState(), st), st)
    # What the newest snapshot covers is no longer read: older snapshots, its deltas, and
    # the state of an earlier release.
    files = _files(pdir)
    newest = files[_SNAPSHOT][-1][0]
    for kind in files.values():
        for n, p in kind:
            if n < newest or (n == newest and p.stem.startswith(_DELTA)):
                p.unlink(missing_ok=True)
    for p in pdir.glob(".*.tmp"):  # a write a crash interrupted
        p.unlink(missing_ok=True)
    state_path(state_dir, provider).unlink(missing_ok=True)
    _CACHE[pdir.resolve()] = (_signature(pdir), _copy(st))
