"""The versioned price history: one row per price version of an offer.

Storage (why Delta Lake, and the row model: see the README, "History storage"):

    GPU_PRICES_TABLE_URL (default datasets/gpu_prices.delta)   the history of record: a
        Delta Lake table of append-only records (pipelines/store/delta.py), on local disk
        or object storage; one commit per publish
    datasets/gpu_prices.parquet                                 the plain-Parquet view of
        its latest version, for `pd.read_parquet` (pipelines/store/view.py)

A run merges each provider's gated observations with that provider's open versions (read
from the view's current part, not from the history), commits only the records for new,
changed and withdrawn offers, then refreshes the view. Its cost follows the live and
changed offers, not the length of the history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.schema import (
    HISTORY_FIELDS,
    OBSERVATION_FIELDS,
    PRICE_DECIMALS,
    SPEC_FIELDS,
    VERSION_VALUE_COLUMNS,
)
from pipelines.store import delta
from pipelines.store.view import PRICES_NAME, View
from pipelines.tables import PRICES

log = logging.getLogger("pipelines.store.history")

TABLE_NAME = "gpu_prices.delta"
__all__ = ["History", "ProviderMerge", "PublishResult", "PRICES_NAME", "TABLE_NAME"]


@dataclass
class ProviderMerge:
    """What merging one provider's observations did to the history."""

    provider: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped_reason: str | None = None


@dataclass
class PublishResult:
    version: str | None
    previous_version: str | None
    merges: dict[str, ProviderMerge] = field(default_factory=dict)
    current_rows: int = 0
    closed_rows_added: int = 0
    delta_version: int | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def default_table_url(datasets_dir: Path) -> str:
    return str(Path(datasets_dir) / TABLE_NAME)


# Column of a batch's open versions: each row's position in the view's row order, so the
# per-provider frames put back together come out in the order of one frame (_Batch).
_SEQ = "_batch_seq"


@dataclass
class _Batch:
    """The view as a batch of publishes leaves it, held in memory until the batch ends.

    The open versions are kept per provider: a publish merges and updates only the
    providers it touches, so each of hundreds of replayed runs costs what its providers
    hold, not what the whole history holds open. `_SEQ` keeps the order one frame would
    have (rows kept in place, opened rows appended), which fixes the order of the records
    committed for several providers at once."""

    manifest: dict[str, Any] | None
    open_by_provider: dict[str, pd.DataFrame]
    columns: pd.DataFrame  # no rows: the open versions' columns and dtypes
    state: dict[str, Any]
    next_seq: int = 0
    closed: list[pd.DataFrame] = field(default_factory=list)
    delta_version: int | None = None
    dataset_version: str | None = None
    enrich: Any = None
    enrich_key: str | None = None

    @classmethod
    def start(cls, manifest: dict[str, Any] | None, current: pd.DataFrame) -> _Batch:
        current = current.reset_index(drop=True)
        current[_SEQ] = np.arange(len(current), dtype=np.int64)
        b = cls(
            manifest=manifest,
            open_by_provider={},
            columns=current.iloc[0:0],
            state=dict((manifest or {}).get("state") or {}),
            dataset_version=(manifest or {}).get("dataset_version"),
            next_seq=len(current),
        )
        b._split(current, [])
        return b

    def open_rows(self, providers: list[str]) -> pd.DataFrame:
        """The open versions of `providers` (with `_SEQ`), in the order of one frame."""
        frames = [self.open_by_provider[p] for p in providers if p in self.open_by_provider]
        if not frames:
            return self.columns.copy()
        if len(frames) == 1:
            return frames[0]  # copy-on-write: a caller's change never reaches it
        df = pd.concat(frames, ignore_index=True)
        return df.sort_values(_SEQ, kind="stable").reset_index(drop=True)

    def current(self) -> pd.DataFrame:
        """All open versions, as one frame in the view's column order."""
        return self.open_rows(list(self.open_by_provider)).drop(columns=[_SEQ])

    def rows(self) -> int:
        return sum(len(df) for df in self.open_by_provider.values())

    def replace(self, providers: list[str], rows: pd.DataFrame) -> None:
        """`rows` are now the open versions of `providers`: rows without a `_SEQ` (just
        opened) go after every row there is."""
        seq = np.array(rows[_SEQ].to_numpy(dtype=float, na_value=np.nan))  # writable
        new = np.isnan(seq)
        seq[new] = self.next_seq + np.arange(int(new.sum()))
        self.next_seq += int(new.sum())
        rows[_SEQ] = seq.astype(np.int64)
        self._split(rows, providers)

    def _split(self, rows: pd.DataFrame, providers: list[str]) -> None:
        for p in providers:
            self.open_by_provider.pop(p, None)
        if len(providers) == 1 and (rows["provider"] == providers[0]).all():
            self.open_by_provider[providers[0]] = rows
            return
        for p, part in rows.groupby("provider", sort=False, observed=True):
            self.open_by_provider[str(p)] = part.reset_index(drop=True)


class History:
    """The Delta table of record plus its local plain-Parquet view."""

    def __init__(
        self,
        datasets_dir: Path,
        table_url: str | None = None,
        storage_options: dict[str, str] | None = None,
    ):
        self.datasets_dir = Path(datasets_dir)
        self.table = delta.PriceTable(
            table_url or default_table_url(self.datasets_dir), storage_options
        )
        self.view = View(self.datasets_dir)
        self.link = self.view.link
        self._batch: _Batch | None = None

    @classmethod
    def for_config(cls, config) -> History:
        """The history a `Config` names: its datasets directory and table URL, with the
        table's storage options from the config's environment snapshot."""
        url = config.table_url
        return cls(config.datasets_dir, url, delta.storage_options(url, config.settings))

    @contextmanager
    def batch(self) -> Iterator[History]:
        """Many publishes in a row (a replay of hundreds of archived runs).

        Each publish is still one Delta commit and one dataset version, so the table's
        history is the same as with single publishes; what is deferred is the plain-Parquet
        view: the open versions are kept in memory and the view is written once, when the
        batch ends (also when it ends with an error: what was committed is published).
        Readers of this History inside the batch (state, current rows, versions) see the
        batch's state. The view's lock is held throughout.
        """
        if self._batch is not None:
            yield self  # already batching: the outer batch publishes
            return
        with self.view.lock():
            m = self.view.refresh(self.table)
            self._batch = _Batch.start(m, self.view.read_current())
            try:
                yield self
            finally:
                b, self._batch = self._batch, None
                if b.delta_version is not None:
                    self._publish_batch(b)

    def _publish_batch(self, b: _Batch) -> None:
        m = b.manifest
        same_table = m is not None and m.get("table_url") == self.table.url
        if not same_table:  # a first publish, or a view of another table: derive it whole
            self.view.refresh(self.table, enrich=b.enrich, enrich_key=b.enrich_key)
            return
        current = b.current()
        rejoin = b.enrich is not None and b.enrich_key is not None
        if rejoin and m.get("enrich_key") != b.enrich_key:
            current = b.enrich(current)
        closed_files = {k: v for k, v in m["files"].items() if k.startswith("closed-")}
        self.view.publish(
            self.table,
            b.delta_version,
            b.dataset_version,
            current,
            b.closed,
            closed_files,
            b.state,
            b.enrich_key if b.enrich_key is not None else m.get("enrich_key"),
        )

    # --- reading -------------------------------------------------------------------
    def versions(self) -> list[dict[str, Any]]:
        """Published dataset versions, oldest first, each with its Delta version."""
        return [c.as_dict() for c in self.table.commits() if c.dataset_version]

    def current_version(self) -> str | None:
        if self._batch is not None:
            return self._batch.dataset_version
        m = self.view.manifest()
        if m is not None:
            return m.get("dataset_version")
        return None

    def current_part(self, version: str | None = None) -> Path | None:
        if version is not None and version != self.current_version():
            raise ValueError(f"version {version}: only the current view has parts")
        return self.view.current_part()

    def read_current(self) -> pd.DataFrame:
        if self._batch is not None:
            return self._batch.current()
        return self.view.read_current()

    def read_all(
        self, version: str | None = None, *, ending_from: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """The whole history: the view, or (time travel) the table as of a dataset version.

        `ending_from`: only the versions still open or ending at or after that time (what
        a step computing recent days needs; `View.read_ending_from`)."""
        if version is None or version == self.current_version():
            if self._fresh_manifest() is None:
                return PRICES.schema.empty_table().to_pandas()
            if ending_from is None:
                return pd.read_parquet(self.link)
            return self.view.read_ending_from(ending_from)
        dv = self.table.delta_version_of(version)
        if dv is None:
            raise KeyError(f"dataset version {version} not found in {self.table.url}")
        rows = self.table.history_rows(dv)
        if ending_from is not None:
            rows = rows[rows["valid_to"].isna() | (rows["valid_to"] >= ending_from)]
        return rows

    def provider_state(self) -> dict[str, dict[str, Any]]:
        """Per provider: last good run (observed_at, rows, version, regions), from the run
        records of the table (brought into the view's manifest by a refresh)."""
        if self._batch is not None:
            return dict(self._batch.state)
        return dict((self._fresh_manifest() or {}).get("state") or {})

    def _fresh_manifest(self) -> dict[str, Any] | None:
        """The view's manifest, after catching up with the table when it lags (commits by
        writers on other machines, or a crash between a commit and the view's refresh)."""
        m = self.view.manifest()
        if self.table.exists() and (
            m is None
            or m.get("table_url") != self.table.url
            or m["delta_version"] < (self.table.latest_version() or 0)
        ):
            with self.view.lock():
                m = self.view.refresh(self.table)
        return m

    def published_files(self) -> dict[str, Any] | None:
        """The view's files (sha256, rows, bytes) and row count, for datapackage.json."""
        m = self.view.manifest()
        if m is None:
            return None
        return {"version": m["dataset_version"], "rows": m["rows"], "files": m["files"]}

    # --- writing -------------------------------------------------------------------
    def new_version_id(self, now: datetime | None = None, taken: str | None = None) -> str:
        now = now or _now()
        base = now.strftime("%Y%m%dT%H%M%S%fZ")
        vid, n = base, 1
        while vid == taken:  # two publishes in one microsecond (or a clock set back)
            n += 1
            vid = f"{base}-{n}"
        return vid

    def merge_and_publish(
        self,
        observations: dict[str, pd.DataFrame],
        *,
        enrich=None,
        enrich_key: str | None = None,
        now: datetime | None = None,
    ) -> PublishResult:
        """Merge each provider's gated observations into the history and publish a version.

        `observations` holds only providers that passed the gate. `enrich(df) -> df` adds
        the spec columns (GPU specs join) to rows about to be written as new versions.
        Providers whose observations are not newer than what the history already holds
        (a replay of an archive already merged) are skipped: replays are idempotent.

        The view's lock keeps publishers on this machine in line; writers on other
        machines (other providers) commit to the same table concurrently: Delta's
        optimistic concurrency orders their appends, and the refresh after our commit
        brings theirs into the view too.
        """
        if self._batch is not None:
            b = self._batch
            m = {"dataset_version": b.dataset_version, "state": b.state}
            return self._merge_and_publish(
                m, observations, enrich=enrich, enrich_key=enrich_key, now=now
            )
        with self.view.lock():
            m = self.view.refresh(self.table)
            return self._merge_and_publish(
                m, observations, enrich=enrich, enrich_key=enrich_key, now=now
            )

    def _merge_and_publish(
        self,
        manifest: dict[str, Any] | None,
        observations: dict[str, pd.DataFrame],
        *,
        enrich,
        enrich_key: str | None,
        now: datetime | None,
    ) -> PublishResult:
        prev_version = (manifest or {}).get("dataset_version")
        state = dict((manifest or {}).get("state") or {})
        result = PublishResult(version=None, previous_version=prev_version)
        version = self.new_version_id(now, taken=prev_version)
        fresh: dict[str, pd.DataFrame] = {}
        for provider, obs in sorted(observations.items()):
            merge = ProviderMerge(provider)
            result.merges[provider] = merge
            obs_at = obs["observed_at"].max()
            last_at = state.get(provider, {}).get("last_observed_at")
            if last_at is not None and obs_at <= pd.Timestamp(last_at):
                merge.skipped_reason = (
                    f"already in history (observed {obs_at.isoformat()} <= {last_at})"
                )
                continue
            fresh[provider] = obs
            state[provider] = {
                "last_observed_at": obs_at.isoformat(),
                "last_good_rows": int(len(obs)),
                "last_good_version": version,
                "regions": sorted(obs["region"].dropna().unique().tolist()),
            }
        if not fresh:
            return result
        if self._batch is not None:
            touched = self._batch.open_rows(sorted(fresh))
        else:
            current = self.read_current()
            touched = current[current["provider"].isin(list(fresh))]
        obs_all = pd.concat(list(fresh.values()), ignore_index=True)
        # Only the opened rows are written: the unchanged ones stay as they are.
        opened, closed, counts = _merge(touched, obs_all, version, with_unchanged=False)
        for provider, (n_new, n_changed, n_same, n_gone) in counts.items():
            m = result.merges[provider]
            m.new, m.changed, m.unchanged, m.removed = n_new, n_changed, n_same, n_gone
        if enrich is not None and len(opened):
            opened = enrich(opened)
        records = pa.concat_tables(
            [
                delta.version_records(opened),
                delta.close_records(closed, version),
                delta.run_records(state, sorted(fresh), version),
            ]
        )
        result.delta_version = self.table.commit(
            records, dataset_version=version, providers=sorted(fresh)
        )
        if self._batch is not None:
            # The view's own update (as view.apply_records does), on the records just committed.
            # Only the providers of this commit: its records touch no other open version.
            b = self._batch
            # The closed rows matter only to a view updated from this batch; a first
            # publish (or a view of another table) is derived from the table (_publish_batch).
            m = b.manifest
            keep_closed = m is not None and m.get("table_url") == self.table.url
            rows, b.state = _apply_commit(
                records,
                (len(opened), len(closed)),
                touched,
                b.state,
                b.closed if keep_closed else None,
            )
            b.replace(sorted(fresh), rows)
            b.delta_version, b.dataset_version = result.delta_version, version
            b.enrich, b.enrich_key = enrich, enrich_key
            result.version = version
            result.current_rows = b.rows()
            result.closed_rows_added = len(closed)
            return result
        manifest = self.view.refresh(self.table, enrich=enrich, enrich_key=enrich_key)
        result.version = version
        result.current_rows = (manifest or {}).get("current_rows", 0)
        result.closed_rows_added = len(closed)
        return result

    # --- upkeep ----------------------------------------------------------------------
    def verify(self, repair: bool = False) -> list[str]:
        """Problems with the table (torn or missing files) and the view (hashes, lag).

        With `repair`, a torn trailing commit is moved aside and a lagging view is
        refreshed; the problems found are still returned (one line each)."""
        problems, repairs = self.table.verify(repair=repair)
        view_problems = self.view.verify(self.table) if not problems or repairs else []
        if repair and (repairs or view_problems):
            with self.view.lock():
                self.view.refresh(self.table, rebuild=bool(view_problems))
            if view_problems:
                repairs.append(f"{self.link}: refreshed from the table")
        return problems + view_problems + [f"repaired: {r}" for r in repairs]

    def maintain(self, retention_hours: int = delta.DEFAULT_RETENTION_HOURS) -> dict[str, Any]:
        """OPTIMIZE + checkpoint + VACUUM the table; the view follows (its own closed parts
        are merged as they accumulate, see view.COMPACT_SMALL_PARTS)."""
        out = self.table.maintain(retention_hours)
        with self.view.lock():
            self.view.refresh(self.table)
        return out


def _apply_commit(
    records: pa.Table,
    sizes: tuple[int, int],
    current: pd.DataFrame,
    state: dict[str, Any],
    closed_out: list[pd.DataFrame] | None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """What `view.apply_records` does with the records of one commit of this batch, for
    the layout `_merge_and_publish` commits: `sizes` = (version, close) records first, then
    one run record per provider of `current` (every row of `current` is open). The closed
    versions go to `closed_out`, unless it is None.

    A replay commits hundreds of times: selecting each kind of record out of the commit's
    wide frame and confirming the open versions row by row provider map cost more than
    the merge itself. Same rows, same order, same values: open versions kept in place,
    closed ones to `closed_out`, opened ones appended, each open version's `last_seen_at`
    moved up to its provider's run time.
    """
    n_open, n_close = sizes
    # Converted whole, as the view's change feed does: each column gets the dtype it has
    # there (a column null in the run records is float or object, not int or bool).
    if not records.schema.equals(delta.TABLE_SCHEMA, check_metadata=True):  # as built here
        records = delta.as_stored(records)
    if not n_open and not n_close:  # a run that changed nothing: its run records only
        runs = records.select(_RUN_RECORD_COLUMNS).to_pandas()
        return _confirm_runs(current.reset_index(drop=True), runs, state)
    df = records.to_pandas()
    key = ["offer_key", "valid_from"]
    cols = [f.name for f in HISTORY_FIELDS]
    if n_close:
        closes = df.iloc[n_open : n_open + n_close]
        # The close records were made from these very rows: their offer keys (one open
        # version each) say which ones end.
        hit = current["offer_key"].isin(closes["offer_key"]).to_numpy()
        if closed_out is not None:
            ended = current[hit].drop(columns=delta.CLOSE_COLUMNS[2:])
            ended = ended.merge(closes[delta.CLOSE_COLUMNS], on=key, how="left")
            if len(ended) != n_close:
                log.warning(
                    "view: a commit closes %d versions, %d of them open here", n_close, len(ended)
                )
            closed_out.append(ended[cols])
        current = current[~hit]
    if n_open:
        current = pd.concat([current, df.iloc[:n_open][cols]], ignore_index=True)
    else:
        current = current.reset_index(drop=True)
    return _confirm_runs(current, df.iloc[n_open + n_close :], state)


# What delta.run_state and the confirmation read of a run record.
_RUN_RECORD_COLUMNS = ["record", "provider", "observed_at", "dataset_version", "extra_json"]


def _confirm_runs(
    current: pd.DataFrame, runs: pd.DataFrame, state: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """delta.confirm_open on open rows: each provider's latest run time, where it is later;
    the gate state from the run records."""
    last_run: dict[str, pd.Timestamp] = {}
    for p, at in zip(runs["provider"], runs["observed_at"], strict=True):
        last_run[p] = max(at, last_run.get(p, at))
    by_run = current["provider"].map(last_run)
    newer = by_run.notna() & (by_run > current["last_seen_at"])
    if newer.any():
        current.loc[newer, "last_seen_at"] = by_run[newer]
    state.update(delta.run_state(runs))
    return current, state


def _round(s: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(s):
        return s.round(PRICE_DECIMALS)
    return s


def _values_equal(
    a: pd.DataFrame, b: pd.DataFrame, a_at: np.ndarray, b_at: np.ndarray
) -> np.ndarray:
    """Equality of the version value columns of rows `a_at` of `a` and `b_at` of `b`, pair
    by pair (NaN == NaN; floats rounded)."""
    eq = np.ones(len(a_at), dtype=bool)
    for col in VERSION_VALUE_COLUMNS:
        eq &= _column_equal(a[col], b[col], a_at, b_at)
    return eq


def _column_equal(x: pd.Series, y: pd.Series, x_at: np.ndarray, y_at: np.ndarray) -> np.ndarray:
    # On plain arrays, rows picked there: a replay compares hundreds of small frames, where
    # the per-call cost of Series operations, not the rows, is the time. Same rules as the
    # Series path below.
    kinds = {x.dtype.kind, y.dtype.kind}
    if kinds <= {"f", "i", "u"} and isinstance(x.dtype, np.dtype) and isinstance(y.dtype, np.dtype):
        xv, yv = x.to_numpy()[x_at], y.to_numpy()[y_at]
        if x.dtype.kind == "f":
            xv = xv.round(PRICE_DECIMALS)
        if y.dtype.kind == "f":
            yv = yv.round(PRICE_DECIMALS)
        return (xv == yv) | (np.isnan(xv.astype(float)) & np.isnan(yv.astype(float)))
    if all(pd.api.types.is_string_dtype(s.dtype) for s in (x, y)):
        xv, yv = x.to_numpy(dtype=object)[x_at], y.to_numpy(dtype=object)[y_at]
        return (xv == yv) | (pd.isna(xv) & pd.isna(yv))
    x = _round(x.take(x_at)).reset_index(drop=True)
    y = _round(y.take(y_at)).reset_index(drop=True)
    both_na = x.isna() & y.isna()
    same = (x == y).fillna(False).astype(bool) | both_na
    return same.to_numpy()


def _merge(
    prev: pd.DataFrame, obs: pd.DataFrame, version: str, *, with_unchanged: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[int, int, int, int]]]:
    """Merge observations into the current rows of the providers they come from.

    Returns (rows current afterwards, rows closed by this run, per-provider counts of
    new / changed / unchanged / removed offers). All work is on index arrays: the cost
    follows the number of live offers, not the history. Without `with_unchanged`, the
    rows returned first are only the versions this run opens (a publish writes no others;
    taking every unchanged row, the bulk of them, was most of a replayed run's merge).
    """
    obs_cols = [f.name for f in OBSERVATION_FIELDS]
    if list(obs.columns) != obs_cols:
        obs = obs[obs_cols]
    obs = obs.reset_index(drop=True)
    prev = prev.reset_index(drop=True)
    pos = pd.Index(prev["offer_key"]).get_indexer(obs["offer_key"])
    in_prev = pos >= 0
    # Row positions first, whole rows once: a take of every column is the costly step.
    seen_at = np.flatnonzero(in_prev)  # observations of offers already open
    old_at = pos[in_prev]  # their open versions
    if len(old_at):
        same = _values_equal(prev, obs, old_at, seen_at)
    else:
        same = np.zeros(0, dtype=bool)

    if with_unchanged:
        unchanged = prev.take(old_at[same])
        unchanged["last_seen_at"] = obs["observed_at"].to_numpy()[seen_at[same]]
    else:
        unchanged = prev.iloc[0:0]

    closed_changed = prev.take(old_at[~same])
    closed_changed["valid_to"] = obs["observed_at"].to_numpy()[seen_at[~same]]
    closed_changed["is_withdrawn"] = False

    to_open = np.concatenate([seen_at[~same], np.flatnonzero(~in_prev)])
    opened = _open_rows(obs.take(to_open).reset_index(drop=True), version)

    still_there = pd.Index(obs["offer_key"]).get_indexer(prev["offer_key"]) >= 0
    gone = prev[~still_there].copy()
    if len(gone):
        run_at = obs.groupby("provider", observed=True)["observed_at"].min()
        gone["valid_to"] = gone["provider"].map(run_at).astype(prev["valid_to"].dtype)
    else:
        gone["valid_to"] = gone["valid_to"].astype(prev["valid_to"].dtype)
    gone["is_withdrawn"] = True

    kept = pd.concat(
        [x for x in (unchanged, opened) if len(x)] or [prev.iloc[0:0]], ignore_index=True
    )
    closed = pd.concat(
        [x for x in (closed_changed, gone) if len(x)] or [prev.iloc[0:0]], ignore_index=True
    )

    providers = obs["provider"].unique()
    if len(providers) == 1 and (gone["provider"] == providers[0]).all():
        # One provider (nearly every replayed run): the counts are the sizes.
        return (
            kept,
            closed,
            {providers[0]: (int((~in_prev).sum()), int((~same).sum()), int(same.sum()), len(gone))},
        )

    def per_provider(series: pd.Series) -> pd.Series:
        return series.value_counts()

    n_new = per_provider(obs.loc[~in_prev, "provider"])
    n_changed = per_provider(obs["provider"].take(seen_at[~same]))
    n_same = per_provider(obs["provider"].take(seen_at[same]))
    n_gone = per_provider(gone["provider"])
    counts = {
        p: (
            int(n_new.get(p, 0)),
            int(n_changed.get(p, 0)),
            int(n_same.get(p, 0)),
            int(n_gone.get(p, 0)),
        )
        for p in providers
    }
    return kept, closed, counts


def _open_rows(obs: pd.DataFrame, version: str) -> pd.DataFrame:
    """Observations as new open versions: their spec columns empty (filled by `enrich`)."""
    n, at = len(obs), obs["observed_at"]
    # One frame of the new columns, joined once (not a column insert each).
    added = pd.DataFrame(
        {
            **{f.name: np.full(n, None, dtype=object) for f in SPEC_FIELDS},
            "valid_from": at,
            "valid_to": pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]", index=obs.index),
            "last_seen_at": at,
            "is_withdrawn": np.zeros(n, dtype=bool),
            "dataset_version": pd.Series([version] * n, dtype="str", index=obs.index),
        },
        index=obs.index,
    )
    return pd.concat([obs, added], axis=1)
