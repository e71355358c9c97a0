"""Growth benchmark: do a run's bytes and seconds follow the changes, not the history?

Seeds a synthetic history of `--history-rows` rows (10 providers, 30 regions, 10 GPU models,
4 pricing models; `--live` open versions, the rest closed versions of the same offers)
through the real store (Delta commits + view refreshes, a million rows at a time), then
simulates `--runs` scheduled runs through the same entry point as `scrape run` after the
gate (`pipelines.ops.publish.merge_and_post` + the run log and datapackage.json): merge,
Delta commit, view refresh, spec join, price-per-TFLOP tables, change events and feed,
run log. Each run re-observes every live offer with `--changed-fraction` of prices changed,
and a tenth of that withdrawn and as many new offers added.

Prints JSON (`--json`) with, per run and summarized:
- `bytes_added_per_run`: growth of everything on disk (table, view, derived tables, state);
- `changed_rows_per_run` and `changed_rows_parquet_bytes`: the run's new versions written
  alone as one zstd Parquet file (the yardstick of the bytes target, ≤ 3×);
- `seconds_first_run`, `seconds_last_run` (target: last ≤ 1.3× first), and the same in CPU
  seconds of the process (`cpu_seconds_*`: all its threads; steadier on a shared machine);
- `read_seconds`, `read_peak_rss_mb`: `pd.read_parquet("datasets/gpu_prices.parquet")` in a
  fresh process after the runs;
- `maintain_seconds`, `maintain_peak_rss_mb`: `scrape maintain` in a fresh process.

    python benchmarks/bench_growth.py --live 100000 --runs 50 --json
    python benchmarks/bench_growth.py --live 100000 --runs 3 --history-rows 1000000 --json
    python benchmarks/bench_growth.py --live 100000 --runs 3 --history-rows 10000000 --json

(the last two: a run at 10M history rows against a run at 1M, target ≤ 1.3×).
"""

from __future__ import annotations

import argparse
import io
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
SEED_CHUNK_ROWS = 1_000_000


def offers(start: int, n: int, rng: np.random.Generator):
    """`n` synthetic live offers (observation columns), ids from `start`."""
    import pandas as pd

    idx = np.arange(start, start + n)
    provider = np.array(PROVIDERS, dtype=object)[rng.integers(0, len(PROVIDERS), n)]
    region = np.array(REGIONS, dtype=object)[rng.integers(0, len(REGIONS), n)]
    model = np.array(MODELS, dtype=object)[rng.integers(0, len(MODELS), n)]
    gpu = np.array(GPUS, dtype=object)[rng.integers(0, len(GPUS), n)]
    itype = np.array([f"type{i}" for i in idx], dtype=object)
    count = rng.choice([1.0, 2.0, 4.0, 8.0], n)
    price = rng.uniform(0.1, 40.0, n).round(4)
    return pd.DataFrame(
        {
            "provider": provider,
            "offer_key": [
                f"{p}|{t}|{r}||{m}|"
                for p, t, r, m in zip(provider, itype, region, model, strict=True)
            ],
            "instance_type": itype,
            "region": region,
            "pricing_model": model,
            "gpu_name_raw": gpu,
            "gpu_model": gpu,
            "gpu_resolution": "alias",
            "gpu_count": count,
            "currency": "USD",
            "price_per_hour": price,
            "price_unit_published": "hour",
            "fx_rate_usd_per_unit": 1.0,
            "price_usd_per_hour": price,
            "price_usd_per_gpu_hour": price / count,
            "source_url": "https://example.invalid/prices",
            "snapshot_sha256": "0" * 64,
        }
    )


def _observations(df, at):
    from pipelines.ingest.normalize import conform

    obs = df.copy()
    obs["observed_at"] = at
    return conform(obs)


def seed(datasets: Path, history_rows: int, live: int) -> dict:
    """The history before the measured runs, written through the real store."""
    import pandas as pd

    from pipelines.derive.specs import join_specs
    from pipelines.store import delta
    from pipelines.store.history import History, _open_rows

    rng = np.random.default_rng(1)
    h = History(datasets)
    cur = offers(0, live, rng)
    closed_total = max(0, history_rows - live)
    hours = max(1, closed_total // max(live, 1))
    written = 0
    # Closed versions: earlier price versions of the live offers, a million at a time, as
    # two commits each (opened, then closed), so the view refresh runs its real path.
    while written < closed_total:
        n = min(SEED_CHUNK_ROWS, closed_total - written)
        pick = rng.integers(0, live, n)
        old = cur.iloc[pick].reset_index(drop=True)
        old["price_per_hour"] = (old["price_per_hour"] * rng.uniform(0.8, 1.2, n)).round(4)
        hour = rng.integers(0, hours, n)
        vf = pd.to_datetime([T0 + timedelta(hours=int(x)) for x in hour], utc=True).as_unit("us")
        # Distinct valid_from per (offer, version): seconds after the hour by row number.
        vf = vf + pd.to_timedelta((np.arange(n) + written) % 3600, unit="s")
        obs = _observations(old, vf)
        version = f"seed-{written // SEED_CHUNK_ROWS:04d}"
        rows = join_specs(_open_rows(obs, version))
        h.table.commit(delta.version_records(rows), dataset_version=f"{version}-a", providers=[])
        rows["valid_to"] = rows["valid_from"] + pd.Timedelta(hours=1)
        rows["is_withdrawn"] = False
        h.table.commit(
            delta.close_records(rows, version), dataset_version=f"{version}-b", providers=[]
        )
        with h.view.lock():
            h.view.refresh(h.table)
        written += n
    now = T0 + timedelta(hours=hours + 1)
    datasets.mkdir(parents=True, exist_ok=True)
    cur.to_parquet(datasets.parent / "bench_live.parquet")
    # The seed's last publish is a whole run (price index, site, card...), as a deployment's
    # last run leaves its datasets: the measured runs then start from its derived state.
    # Not measured as a run: it is the first run after an upgrade, which computes the
    # index's days and the site's history summary from the whole history once.
    spent = _timed_steps()
    t0, c0 = time.perf_counter(), time.process_time()
    publish_run(datasets, _observations(cur, now), "seed-last")
    return {
        "last_seed_run_seconds": round(time.perf_counter() - t0, 1),
        "last_seed_run_cpu_seconds": round(time.process_time() - c0, 1),
        "last_seed_run_step_cpu_seconds": {k: round(c, 1) for k, (_, c) in spent.items()},
    }


def publish_run(datasets: Path, obs, run_id: str, h=None):
    """One run after the gate, through the entry point `scrape run` uses: merge, commit,
    derived tables, events, run log, datapackage.json, card and site. `h`: the History to
    publish through (one handle for all the runs of a process, as a replay keeps)."""
    from pipelines.config import Config
    from pipelines.ops import publish
    from pipelines.ops.report import OK, ProviderResult, RunReport
    from pipelines.store.history import History

    cfg = Config.load(root=datasets.parent, env={"GPU_PRICES_DATASETS_DIR": str(datasets)})
    passed = {p: g for p, g in obs.groupby("provider")}
    report = RunReport(run_id=run_id, trigger="bench", started_at=datetime.now(UTC))
    for p, g in passed.items():
        report.providers[p] = ProviderResult(p, OK, responses=1, rows=len(g))
    h = h or History.for_config(cfg)
    publish.merge_and_post(passed, {}, report, cfg, h, post_steps=True, alerts=False)
    publish.log_run(report, cfg)
    return report, h


def disk_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = Path(root) / f
            if not p.is_symlink():
                st = p.stat()
                # Hard links (the view's version directories) count once.
                total += st.st_size if st.st_nlink == 1 else st.st_size / st.st_nlink
    return int(total)


def parquet_bytes(df) -> int:
    import pyarrow.parquet as pq

    from pipelines.store.view import stored

    buf = io.BytesIO()
    pq.write_table(stored(df), buf, compression="zstd")
    return buf.tell()


def _timed_steps() -> dict[str, list[float]]:
    """Wrap the steps of a run (as `scrape run` calls them) to add up their wall and CPU
    seconds: which step's cost follows the history."""
    from pipelines.derive import specs, tflops
    from pipelines.ops import datapackage, events, runlog
    from pipelines.site import build as site_build
    from pipelines.store.history import History

    spent: dict[str, list[float]] = {}

    def wrap(owner, attr: str, label: str) -> None:
        fn = getattr(owner, attr)

        def timed(*args, **kwargs):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                acc = spent.setdefault(label, [0.0, 0.0])
                acc[0] += time.perf_counter() - t0
                acc[1] += time.process_time() - c0

        setattr(owner, attr, timed)

    wrap(History, "merge_and_publish", "merge + commit + view")
    wrap(specs, "publish_specs", "specs")
    wrap(tflops, "publish", "price per TFLOP")
    wrap(events, "publish_index", "price index")
    wrap(events, "process_run", "change events")
    wrap(runlog, "append", "run log")
    wrap(datapackage, "write", "datapackage.json")
    wrap(site_build, "publish", "site + card")
    return spent


def runs(datasets: Path, n_runs: int, changed_fraction: float) -> list[dict]:
    import pandas as pd

    from pipelines.config import Config
    from pipelines.store.history import History

    cfg = Config.load(root=datasets.parent, env={"GPU_PRICES_DATASETS_DIR": str(datasets)})
    rng = np.random.default_rng(2)
    live = pd.read_parquet(datasets.parent / "bench_live.parquet")
    next_id = 10_000_000
    h = History.for_config(cfg)
    at = pd.Timestamp(h.provider_state()["aws"]["last_observed_at"])
    spent = _timed_steps()
    out = []
    for i in range(n_runs):
        at = at + pd.Timedelta(hours=1)
        n = len(live)
        change = rng.random(n) < changed_fraction
        live.loc[change, "price_per_hour"] = (live.loc[change, "price_per_hour"] * 1.1).round(4)
        live.loc[change, "price_usd_per_hour"] = live.loc[change, "price_per_hour"]
        gone = rng.random(n) < changed_fraction / 10
        live = live[~gone]
        added = offers(next_id, int(gone.sum()), rng)
        next_id += len(added)
        live = pd.concat([live, added], ignore_index=True)
        obs = _observations(live, at)
        before = disk_bytes(datasets)
        parts_before = {
            p.name: disk_bytes(p) if p.is_dir() else p.stat().st_size
            for p in datasets.iterdir()
            if not p.is_symlink()
        }
        spent.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        report, _ = publish_run(datasets, obs, f"bench-{i}", h)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        added_bytes = disk_bytes(datasets) - before
        parts_after = {
            p.name: disk_bytes(p) if p.is_dir() else p.stat().st_size
            for p in datasets.iterdir()
            if not p.is_symlink()
        }
        by_part = {
            k: v - parts_before.get(k, 0)
            for k, v in parts_after.items()
            if v != parts_before.get(k, 0)
        }
        view = h.read_current()
        opened = view[view["dataset_version"] == report.dataset_version]
        out.append(
            {
                "run": i + 1,
                "seconds": round(seconds, 3),
                # All threads of the process (Delta and Parquet writers run in Rust/C++
                # threads): steadier than wall time on a shared machine.
                "cpu_seconds": round(cpu, 3),
                "bytes_added": added_bytes,
                "changed_rows": int(
                    sum(
                        r.changed_offers + r.new_offers + r.removed_offers
                        for r in report.providers.values()
                    )
                ),
                "changed_rows_parquet_bytes": parquet_bytes(opened),
                "notes": report.notes,
                # Per step: [wall, CPU] seconds.
                "step_seconds": {k: [round(w, 3), round(c, 3)] for k, (w, c) in spent.items()},
                "bytes_added_by_path": by_part,
            }
        )
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    return out


def read(datasets: Path) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_parquet(datasets / "gpu_prices.parquet")
    return {"read_seconds": round(time.perf_counter() - t0, 3), "rows": len(df)}


def maintain(datasets: Path) -> dict:
    from pipelines.store.history import History

    t0 = time.perf_counter()
    out = History(datasets).maintain(retention_hours=0)
    return {
        "maintain_seconds": round(time.perf_counter() - t0, 3),
        "maintain_cpu_seconds": round(time.process_time(), 3),
        **out,
    }


def _child(step: str, datasets: Path, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", step, str(datasets), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{step} failed")
    sys.stderr.write(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--live", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument(
        "--history-rows", type=int, default=0, help="rows before the runs (0: live only)"
    )
    ap.add_argument("--changed-fraction", type=float, default=0.01)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--keep", type=Path, help="work here and keep the datasets")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        step, ds, *rest = args.child
        ds = Path(ds)
        result = {
            "seed": lambda: seed(ds, int(rest[0]), int(rest[1])),
            "runs": lambda: {"runs": runs(ds, int(rest[0]), float(rest[1]))},
            "read": lambda: read(ds),
            "maintain": lambda: maintain(ds),
        }[step]()
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp:
        work = args.keep or Path(tmp)
        ds = work / "datasets"
        t0 = time.perf_counter()
        seeded = _child("seed", ds, str(args.history_rows), str(args.live))
        seed_s = time.perf_counter() - t0
        r = _child("runs", ds, str(args.runs), str(args.changed_fraction))
        rd = _child("read", ds)
        mt = _child("maintain", ds)
        rows = r["runs"]
        ratio = [x["bytes_added"] / max(1, x["changed_rows_parquet_bytes"]) for x in rows]
        result = {
            "live": args.live,
            "runs": args.runs,
            "history_rows_before": max(args.history_rows, args.live),
            "seed_seconds": round(seed_s, 1),
            "seed_peak_rss_mb": seeded["peak_rss_mb"],
            "last_seed_run_seconds": seeded["last_seed_run_seconds"],
            "last_seed_run_cpu_seconds": seeded["last_seed_run_cpu_seconds"],
            "last_seed_run_step_cpu_seconds": seeded["last_seed_run_step_cpu_seconds"],
            "changed_rows_per_run": round(float(np.mean([x["changed_rows"] for x in rows]))),
            "changed_rows_parquet_bytes": round(
                float(np.mean([x["changed_rows_parquet_bytes"] for x in rows]))
            ),
            "bytes_added_per_run": round(float(np.mean([x["bytes_added"] for x in rows]))),
            "bytes_ratio_mean": round(float(np.mean(ratio)), 2),
            "bytes_ratio_max": round(float(np.max(ratio)), 2),
            "seconds_first_run": rows[0]["seconds"],
            "seconds_last_run": rows[-1]["seconds"],
            "seconds_median_run": round(float(np.median([x["seconds"] for x in rows])), 3),
            "last_over_first": round(rows[-1]["seconds"] / rows[0]["seconds"], 2),
            "cpu_seconds_first_run": rows[0]["cpu_seconds"],
            "cpu_seconds_last_run": rows[-1]["cpu_seconds"],
            "cpu_seconds_median_run": round(float(np.median([x["cpu_seconds"] for x in rows])), 3),
            "cpu_last_over_first": round(rows[-1]["cpu_seconds"] / rows[0]["cpu_seconds"], 2),
            "step_cpu_seconds_median": {
                k: round(float(np.median([x["step_seconds"].get(k, [0, 0])[1] for x in rows])), 3)
                for k in rows[-1]["step_seconds"]
            },
            "runs_peak_rss_mb": r["peak_rss_mb"],
            "read_seconds": rd["read_seconds"],
            "read_rows": rd["rows"],
            "read_peak_rss_mb": rd["peak_rss_mb"],
            "maintain_seconds": mt["maintain_seconds"],
            "maintain_cpu_seconds": mt["maintain_cpu_seconds"],
            "maintain_peak_rss_mb": mt["peak_rss_mb"],
            "maintain_files_removed": mt["files_removed"],
            "notes": sorted({n for x in rows for n in x["notes"]}),
        }
        print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
