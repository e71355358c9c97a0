"""History benchmark: does a run's cost follow the changed rows or the history's length?

Builds a synthetic history (a realistic mix of providers, regions, GPU models and pricing
models; LIVE current offers plus closed versions up to the target size), then measures,
each in a fresh subprocess:

- publish: one more run that re-observes every live offer with 1% of prices changed
  (merge + spec join + write + atomic switch), wall time and peak RSS;
- load: `pd.read_parquet("datasets/gpu_prices.parquet")`, wall time and peak RSS.

Run at two history sizes in the same invocation; the report gives the figures and the
ratio large/small (target: publish ratio near 1; load at 10M rows under 2 s).

    python benchmarks/bench_history.py --sizes 1000000 10000000 --live 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROVIDERS = [
    "aws",
    "azure",
    "gcp",
    "lambdalabs",
    "runpod",
    "vastai",
    "oracle",
    "datacrunch",
    "scaleway",
    "ovhcloud",
]
REGIONS = [f"region-{i}" for i in range(30)]
GPUS = ["H100", "A100", "L4", "T4", "V100", "A10G", "L40S", "RTX 4090", "H200", "MI300X"]
MODELS = ["on_demand", "spot", "reserved_1y", "reserved_3y"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _offers(live: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    prov = rng.integers(0, len(PROVIDERS), live)
    reg = rng.integers(0, len(REGIONS), live)
    gpu = rng.integers(0, len(GPUS), live)
    pm = rng.integers(0, len(MODELS), live)
    idx = np.arange(live)
    provider = np.array(PROVIDERS, dtype=object)[prov]
    region = np.array(REGIONS, dtype=object)[reg]
    model = np.array(MODELS, dtype=object)[pm]
    itype = np.array([f"type{i}" for i in idx], dtype=object)
    key = np.array(
        [f"{p}|{t}|{r}||{m}|" for p, t, r, m in zip(provider, itype, region, model, strict=True)],
        dtype=object,
    )
    return {
        "provider": provider,
        "offer_key": key,
        "instance_type": itype,
        "region": region,
        "pricing_model": model,
        "gpu_model": np.array(GPUS, dtype=object)[gpu],
        "gpu_count": rng.choice([1.0, 2.0, 4.0, 8.0], live),
        "price": rng.uniform(0.1, 40.0, live).round(4),
    }


def _table(
    cols: dict, price: np.ndarray, valid_from, valid_to, schema: pa.Schema, version: str
) -> pa.Table:
    n = len(price)
    data = {
        "provider": cols["provider"],
        "offer_key": cols["offer_key"],
        "instance_type": cols["instance_type"],
        "region": cols["region"],
        "pricing_model": cols["pricing_model"],
        "gpu_name_raw": cols["gpu_model"],
        "gpu_model": cols["gpu_model"],
        "gpu_resolution": np.full(n, "alias", dtype=object),
        "gpu_count": cols["gpu_count"],
        "currency": np.full(n, "USD", dtype=object),
        "price_per_hour": price,
        "price_unit_published": np.full(n, "hour", dtype=object),
        "fx_rate_usd_per_unit": np.ones(n),
        "price_usd_per_hour": price,
        "price_usd_per_gpu_hour": price / cols["gpu_count"],
        "observed_at": valid_from,
        "source_url": np.full(n, "https://example.invalid/prices", dtype=object),
        "snapshot_sha256": np.full(n, "0" * 64, dtype=object),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "last_seen_at": valid_from if valid_to is None else valid_to,
        "is_withdrawn": np.zeros(n, dtype=bool),
        "dataset_version": np.full(n, version, dtype=object),
    }
    arrays = []
    for f in schema:
        if f.name in data and data[f.name] is not None:
            arrays.append(pa.array(data[f.name], type=f.type))
        else:
            arrays.append(pa.nulls(n, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def build(datasets: Path, total: int, live: int, seed: int = 1) -> None:
    """Write a history of `total` rows (`live` current) as one published version."""
    from pipelines.store.history import History
    from pipelines.tables import PRICES

    rng = np.random.default_rng(seed)
    cols = _offers(live, rng)
    h = History(datasets)
    closed_total = total - live
    runs = max(1, closed_total // live)
    part_rows = 1_000_000
    tables = []
    written = 0
    # Closed versions: `runs` earlier price versions of (a sample of) the live offers.
    while written < closed_total:
        n = min(part_rows, closed_total - written)
        pick = rng.integers(0, live, n)
        sub = {k: v[pick] for k, v in cols.items()}
        run = rng.integers(0, runs, n)
        vf = np.array([T0 + timedelta(hours=int(r)) for r in run], dtype="datetime64[us]")
        vt = vf + np.timedelta64(1, "h")
        t = _table(
            sub,
            sub["price"] * rng.uniform(0.8, 1.2, n),
            pa.array(vf, pa.timestamp("us", tz="UTC")),
            pa.array(vt, pa.timestamp("us", tz="UTC")),
            PRICES.schema,
            "bench",
        )
        tables.append(t)
        written += n
    now = T0 + timedelta(hours=runs + 1)
    cur = _table(
        cols,
        cols["price"],
        pa.array(
            np.full(live, np.datetime64(now.replace(tzinfo=None), "us")),
            pa.timestamp("us", tz="UTC"),
        ),
        None,
        PRICES.schema,
        "bench",
    )
    version = h.new_version_id(now)
    state = {
        p: {
            "last_observed_at": now.isoformat(),
            "last_good_rows": int((cols["provider"] == p).sum()),
            "last_good_version": version,
        }
        for p in PROVIDERS
    }
    closed = pa.concat_tables(tables) if tables else None
    h._publish(version, None, cur.to_pandas(), closed, state)
    np.save(datasets / "bench_cols.npy", np.array([cols], dtype=object), allow_pickle=True)


def one_run(datasets: Path) -> dict:
    """The measured step: re-observe every live offer with 1% of prices changed."""
    import pandas as pd

    from pipelines.ingest.normalize import frame_from_rows  # noqa: F401  (import cost is not measured)
    from pipelines.store.history import History

    try:
        from pipelines.derive.specs import join_specs
    except ImportError:  # pragma: no cover
        join_specs = None
    h = History(datasets)
    cur = h.read_current()
    rng = np.random.default_rng(2)
    obs_at = cur["observed_at"].max() + pd.Timedelta(hours=1)
    from pipelines.schema import OBSERVATION_FIELDS

    obs = cur[[f.name for f in OBSERVATION_FIELDS]].copy()
    obs["observed_at"] = obs_at
    change = rng.random(len(obs)) < 0.01
    obs.loc[change, "price_per_hour"] = obs.loc[change, "price_per_hour"] * 1.1
    obs.loc[change, "price_usd_per_hour"] = obs.loc[change, "price_per_hour"]
    t0 = time.perf_counter()
    res = h.merge_and_publish({p: g for p, g in obs.groupby("provider")}, enrich=join_specs)
    seconds = time.perf_counter() - t0
    changed = sum(m.changed for m in res.merges.values())
    return {"publish_s": seconds, "changed_rows": changed, "live": len(cur)}


def load(datasets: Path) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_parquet(datasets / "gpu_prices.parquet")
    return {"load_s": time.perf_counter() - t0, "rows": len(df), "cols": df.shape[1]}


def _child(step: str, datasets: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, str(datasets)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--live", type=int, default=100_000)
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        step, ds = args.child
        result = {
            "build": lambda: build(Path(ds), *json.loads(os.environ["BENCH_BUILD"])) or {},
            "run": lambda: one_run(Path(ds)),
            "load": lambda: load(Path(ds)),
        }[step]()
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
            ds = Path(tmp) / "datasets"
            os.environ["BENCH_BUILD"] = json.dumps([size, args.live])
            t0 = time.perf_counter()
            _child("build", ds)
            build_s = time.perf_counter() - t0
            run = _child("run", ds)
            ld = _child("load", ds)
            rows.append(
                {
                    "history_rows": size,
                    "build_s": round(build_s, 1),
                    **{f"run_{k}": v for k, v in run.items()},
                    **{f"load_{k}": v for k, v in ld.items()},
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        print(
            f"\nhistory {a['history_rows']:,} -> {b['history_rows']:,} rows "
            f"({b['history_rows'] / a['history_rows']:.0f}x), live offers {args.live:,}, 1% changed"
        )
        print(
            f"publish: {a['run_publish_s']:.2f}s -> {b['run_publish_s']:.2f}s  ratio {b['run_publish_s'] / a['run_publish_s']:.2f}"
        )
        print(f"publish peak RSS: {a['run_peak_rss_mb']:.0f} -> {b['run_peak_rss_mb']:.0f} MB")
        print(
            f"read_parquet: {a['load_load_s']:.2f}s -> {b['load_load_s']:.2f}s "
            f"(peak RSS {b['load_peak_rss_mb']:.0f} MB at {b['history_rows']:,} rows)"
        )


if __name__ == "__main__":
    main()
