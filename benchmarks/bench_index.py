"""Price index benchmark: backfilling years of daily values over thousands of offers.

Builds a synthetic history of indexed GPU offers (providers × regions × variants × on-demand
and spot, some with an unknown form factor or a GPU-only scope, so every rule runs), each
offer changing price every 2–90 days over `--years` years and some withdrawn and re-listed,
then measures in this process:

- backfill: `pipelines.derive.index.compute(history)`, every day of the history at once
  (what the first publish after importing a long history does);
- baseline: the same function called day by day (`days=[d]`) on `--sample-days` days spread
  over the history, extrapolated to every day: what a per-day loop would cost;
- incremental: `publish` of one more day onto the published backfill (what every run does).

The backfill must equal the per-day results on the sampled days (else exit 1), and be at
least `--target` times faster than the per-day loop (else exit 1).

    .venv/bin/python benchmarks/bench_index.py --years 5 --offers 3000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.derive import index as idx  # noqa: E402

VARIANTS = [  # (gpu_model, form factor, memory): indexed ones, one NVL and unknowns
    ("H100", "SXM", 80.0),
    ("H100", "PCIe", 80.0),
    ("H100", None, 80.0),
    ("H100", "NVL", 94.0),
    ("A100", "SXM", 80.0),
    ("A100", "SXM", 40.0),
    ("A100", "PCIe", 80.0),
    ("L40S", "PCIe", 48.0),
    ("B200", "SXM", 180.0),
    ("MI300X", None, 192.0),
]
T0 = pd.Timestamp("2021-01-01T00:00:00Z")


def history(offers: int, years: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    end = T0 + pd.Timedelta(days=round(365.25 * years))
    span_s = (end - T0).total_seconds()
    cols: dict[str, list] = {k: [] for k in ("key", "o", "vf", "vt", "ls", "price")}
    for o in range(offers):
        t = rng.uniform(0, span_s * 0.3)
        base = rng.uniform(0.5, 12.0)
        while t < span_s:
            length = rng.uniform(2, 90) * 86_400
            stop = min(t + length, span_s)
            withdrawn = rng.random() < 0.05
            cols["key"].append(o)
            cols["o"].append(o)
            cols["vf"].append(t)
            # Confirmed every few hours until replaced; the last version stays open.
            cols["vt"].append(stop if stop < span_s else np.nan)
            cols["ls"].append(stop if stop < span_s else span_s)
            cols["price"].append(base * rng.uniform(0.8, 1.2))
            t = stop + (rng.uniform(5, 60) * 86_400 if withdrawn else 0)
    n = len(cols["o"])
    o = np.array(cols["o"])
    variant = o % len(VARIANTS)
    provider = np.array([f"p{i:02d}" for i in range(20)], dtype=object)[o % 20]
    pricing = np.where((o // 20) % 3 == 0, "spot", "on_demand")
    scope = np.where(o % 17 == 0, "gpu_only", np.where(o % 20 == 3, "marketplace_min", "instance"))
    sec = pd.to_timedelta
    df = pd.DataFrame(
        {
            "provider": provider,
            "offer_key": [f"k{x}" for x in o],
            "pricing_model": pricing,
            "gpu_model": [VARIANTS[v][0] for v in variant],
            "gpu_form_factor": [VARIANTS[v][1] for v in variant],
            "gpu_memory_gb": [VARIANTS[v][2] for v in variant],
            "price_per_hour": cols["price"],
            "price_usd_per_gpu_hour": cols["price"],
            "market_price_median_per_hour": np.array(cols["price"]) * 1.3,
            "price_scope": scope,
            "snapshot_sha256": [f"{x % 5000:064x}" for x in range(n)],
            "valid_from": T0 + sec(cols["vf"], unit="s"),
            "valid_to": T0 + sec(cols["vt"], unit="s"),
            "last_seen_at": T0 + sec(cols["ls"], unit="s"),
        }
    )
    for c in ("provider", "pricing_model", "gpu_model", "gpu_form_factor", "price_scope"):
        df[c] = df[c].astype("category")  # as the published history reads (dictionaries)
    return df


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--offers", type=int, default=3000)
    ap.add_argument("--sample-days", type=int, default=12)
    ap.add_argument("--target", type=float, default=20.0, help="minimum speed-up vs per-day")
    args = ap.parse_args()

    t = time.perf_counter()
    h = history(args.offers, args.years)
    print(
        f"history: {len(h):,} price versions of {args.offers:,} offers, built in "
        f"{time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    index, inputs = idx.compute(h)
    backfill_s = time.perf_counter() - t
    days = sorted(set(index["date"]))
    print(
        f"backfill: {len(days):,} days, {len(index):,} index rows, {len(inputs):,} input "
        f"rows in {backfill_s:.2f} s (peak RSS {_rss_mb():,.0f} MB)"
    )

    sample = [days[i] for i in np.linspace(0, len(days) - 1, args.sample_days).astype(int)]
    t = time.perf_counter()
    per_day = [idx.compute(h, days=[d])[0] for d in sample]
    loop_s = (time.perf_counter() - t) / len(sample) * len(days)
    same = pd.concat(per_day, ignore_index=True)
    expected = index[index["date"].isin(sample)].reset_index(drop=True)
    if not same.equals(expected):
        print("FAIL: backfill differs from the per-day computation on the sampled days")
        return 1
    speedup = loop_s / backfill_s
    print(
        f"per-day loop (baseline, {len(sample)} days timed, extrapolated): {loop_s:.1f} s; "
        f"speed-up {speedup:.1f}x (target >= {args.target:g}x); identical on sampled days"
    )

    with tempfile.TemporaryDirectory() as tmp:
        cut = pd.Timestamp(days[-1], tz="UTC")  # publish all but the last day, then it
        idx.publish(
            h[h["valid_from"] < cut].assign(
                valid_to=h["valid_to"].where(h["valid_to"] < cut),
                last_seen_at=h["last_seen_at"].clip(upper=cut),
            ),
            Path(tmp),
        )
        t = time.perf_counter()
        added = idx.publish(h, Path(tmp))
        inc_s = time.perf_counter() - t
        print(
            f"incremental publish of the next day onto {len(days) - 1:,} published days: "
            f"{inc_s:.2f} s ({added[idx.INDEX_FILE]} index rows added)"
        )
    return 0 if speedup >= args.target else 1


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    raise SystemExit(main())
