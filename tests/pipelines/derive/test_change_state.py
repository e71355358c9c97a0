"""The change detector's baselines on disk: a snapshot plus append-only deltas per provider
(pipelines/derive/change_state.py). Same results as the whole-file JSON state they
replace, a per-save write that follows the changes, bounded file counts, crash safety and
the migration of the old `<provider>.json`."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.derive import change_state
from pipelines.derive.change_state import ProviderState, load_state, save_state
from pipelines.derive.changes import NoiseRules, detect_run
from pipelines.ingest.normalize import frame_from_rows
from pipelines.store.atomic import write_json_atomic
from tests.support.observations import T0, observation

PROVIDER = "azure"  # price confirmation on by default: exercises `unconfirmed`


def _offers(n: int) -> dict[str, dict]:
    out = {}
    for i in range(n):
        model = "spot" if i % 5 == 0 else "on_demand"
        region = f"region-{i % 7}"
        gpu = ["A100", "H100", "L4"][i % 3]
        out[f"{i}"] = dict(
            instance_type=f"type-{i}",
            region=region,
            pricing_model=model,
            gpu_model=gpu,
            gpu_count=float(1 + i % 4),
            price=round(1.0 + i * 0.37, 4),
        )
    return out


def _frame(live: dict[str, dict], at) -> pd.DataFrame:
    rows = []
    for o in live.values():
        o = dict(o)
        rows.append(
            observation(o.pop("instance_type"), o.pop("price"), provider=PROVIDER, at=at, **o)
        )
    return frame_from_rows(rows)


def _sequence(runs: int, seed: int = 7):
    """Observations of `runs` runs: prices change, offers go and come (some come back)."""
    rng = random.Random(seed)
    live = _offers(300)
    gone: dict[str, dict] = {}
    for n in range(runs):
        yield n, _frame(live, T0 + timedelta(hours=n))
        for key in rng.sample(sorted(live), 12):
            live[key] = dict(live[key], price=round(live[key]["price"] * rng.choice([0.9, 1.1]), 4))
        for key in rng.sample(sorted(live), 3):
            gone[key] = live.pop(key)
        for key in rng.sample(sorted(gone), min(2, len(gone))):
            live[key] = gone.pop(key)
        live[f"new-{n}"] = dict(_offers(1)["0"], instance_type=f"new-{n}", price=2.5 + n)


def _detect(frame, n, *, state_dir, states=None):
    return detect_run(
        {PROVIDER: frame},
        state_dir=state_dir,
        dataset_version=f"v{n}",
        detected_at=T0 + timedelta(hours=n),
        previous_dataset_version=f"v{n - 1}" if n else None,
        rules=NoiseRules(),
        states=states,
    )


def _old_roundtrip(st: ProviderState) -> ProviderState:
    """What the whole-file JSON state of the earlier release gave back."""
    return ProviderState.from_json(json.loads(json.dumps(st.to_json(), default=str)))


def test_many_runs_give_the_events_and_state_of_the_whole_file_json(tmp_path):
    state_dir = tmp_path / "state"
    old_state: ProviderState | None = None
    seen_kinds = set()
    for n, frame in _sequence(45):
        held = {PROVIDER: old_state} if old_state is not None else {}
        expected, old_states = _detect(frame, n, state_dir=tmp_path / "unused", states=held)
        old_state = _old_roundtrip(old_states[PROVIDER])
        if n % 4 == 0:
            change_state._CACHE.clear()  # read the files, not this process's memory
        got, states = _detect(frame, n, state_dir=state_dir)
        save_state(state_dir, PROVIDER, states[PROVIDER])
        pd.testing.assert_frame_equal(got, expected)
        seen_kinds |= {k for k in ("pending", "unconfirmed") if getattr(old_state, k)}
        change_state._CACHE.clear()
        assert load_state(state_dir, PROVIDER).to_json() == old_state.to_json()
    assert seen_kinds == {"pending", "unconfirmed"} and old_state.group_refs


def test_a_save_writes_the_changes_and_files_stay_bounded(tmp_path):
    state_dir = tmp_path / "state"
    pdir = change_state.state_dir_of(state_dir, PROVIDER)
    counts = []
    for n, frame in _sequence(60):
        _, states = _detect(frame, n, state_dir=state_dir)
        save_state(state_dir, PROVIDER, states[PROVIDER])
        files = sorted(p.name for p in pdir.iterdir())
        counts.append(len(files))
    assert max(counts) <= change_state.FOLD_AFTER_DELTAS + 1
    assert 1 in counts[2:]  # folded into a new snapshot at least once
    assert not [p for p in pdir.iterdir() if p.name.startswith(".")]


def test_a_save_writes_what_changed_not_the_whole_state(tmp_path):
    state_dir = tmp_path / "state"
    pdir = change_state.state_dir_of(state_dir, PROVIDER)
    live = _offers(3000)
    _, states = _detect(_frame(live, T0), 0, state_dir=state_dir)
    save_state(state_dir, PROVIDER, states[PROVIDER])
    live["17"]["price"] *= 2
    _, states = _detect(_frame(live, T0 + timedelta(hours=1)), 1, state_dir=state_dir)
    save_state(state_dir, PROVIDER, states[PROVIDER])
    (snap,) = pdir.glob("snapshot-*.parquet")
    (delta,) = pdir.glob("delta-*.parquet")
    # The price change (and the snapshot's meta row): a Parquet footer's worth of bytes.
    assert pq.read_table(delta).num_rows == 2
    assert delta.stat().st_size < snap.stat().st_size / 10
    change_state._CACHE.clear()
    assert load_state(state_dir, PROVIDER).offers == states[PROVIDER].offers


def test_a_crash_between_writes_leaves_the_previous_state_readable(tmp_path, monkeypatch):
    state_dir = tmp_path / "state"
    seq = list(_sequence(3))
    for n, frame in seq[:2]:
        _, states = _detect(frame, n, state_dir=state_dir)
        save_state(state_dir, PROVIDER, states[PROVIDER])
    before = load_state(state_dir, PROVIDER).to_json()
    n, frame = seq[2]
    _, states = _detect(frame, n, state_dir=state_dir)
    assert states[PROVIDER].to_json() != before

    real = change_state.write_parquet_atomic

    def killed_mid_write(table, path, **kw):
        # The bytes reach a temporary file; the process dies before the rename.
        real(table.slice(0, 1), path.with_name(f".{path.name}.tmp"), **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(change_state, "write_parquet_atomic", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        save_state(state_dir, PROVIDER, states[PROVIDER])
    change_state._CACHE.clear()
    assert load_state(state_dir, PROVIDER).to_json() == before

    # Killed after a fold wrote its snapshot but before the deltas it covers were deleted.
    monkeypatch.setattr(change_state, "write_parquet_atomic", real)
    monkeypatch.setattr(change_state, "FOLD_AFTER_DELTAS", 0)
    monkeypatch.setattr(change_state.Path, "unlink", lambda self, missing_ok=False: None)
    save_state(state_dir, PROVIDER, states[PROVIDER])
    pdir = change_state.state_dir_of(state_dir, PROVIDER)
    assert len(list(pdir.glob("snapshot-*.parquet"))) == 2
    monkeypatch.undo()
    change_state._CACHE.clear()
    assert load_state(state_dir, PROVIDER).to_json() == states[PROVIDER].to_json()
    save_state(state_dir, PROVIDER, states[PROVIDER])  # the next save tidies up
    assert sorted(p.name.split("-")[0] for p in pdir.iterdir()) == ["delta", "snapshot"]


def test_the_json_state_of_an_earlier_release_is_read_and_migrated(tmp_path):
    state_dir = tmp_path / "state"
    (n, frame), *_ = _sequence(1)
    _, states = _detect(frame, n, state_dir=state_dir)
    st = states[PROVIDER]
    st.pending["k"] = {"first_missing_at": T0.isoformat(), "missing_runs": 1}
    legacy = change_state.state_path(state_dir, PROVIDER)
    write_json_atomic(st.to_json(), legacy)
    assert load_state(state_dir, PROVIDER).to_json() == st.to_json()
    save_state(state_dir, PROVIDER, load_state(state_dir, PROVIDER))
    assert not legacy.exists()
    change_state._CACHE.clear()
    assert load_state(state_dir, PROVIDER).to_json() == st.to_json()
    assert load_state(state_dir, "gcp") is None
