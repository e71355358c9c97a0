"""Benchmark: GPU name resolution (pipelines.ingest.gpus.resolve) on 100k rows.

The workload is real spellings: every `name` row of pipelines/data/gpu_aliases.csv and every
spelling of tests/pipelines/ingest/data/gpu_names_heldout.csv, each with its provider, drawn
at random (seeded) into --rows rows; a share of the rows also carries a stated memory, as
marketplace rows do. Both methods run in this process on the same rows:

- `uncached`: the resolver proper (`_resolve`), every row resolved from scratch — the cost of
  a run whose rows are all distinct names;
- `resolve`: the production entry point, which memoizes (name, memory, provider, instance,
  hint) — a run repeats few distinct names over many rows.

Both must return identical results. Reports rows/s and the ratio.

    .venv/bin/python benchmarks/bench_gpu_names.py --rows 100000
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.ingest import gpus  # noqa: E402

HELDOUT = REPO / "tests" / "pipelines" / "ingest" / "data" / "gpu_names_heldout.csv"


def workload(rows: int, seed: int) -> list[tuple[str, float | None, str | None]]:
    pool: list[tuple[str, str | None]] = []
    with gpus.ALIASES_CSV.open(newline="", encoding="utf-8") as f:
        pool += [
            (r["pattern"], r["provider"] or None) for r in csv.DictReader(f) if r["match"] == "name"
        ]
    with HELDOUT.open(newline="", encoding="utf-8") as f:
        pool += [(r["raw"], r["provider"] or None) for r in csv.DictReader(f)]
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        raw, provider = rng.choice(pool)
        memory = rng.choice((None, None, None, 16.0, 24.0, 45.0, 79.6))
        out.append((raw, memory, provider))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rows = workload(args.rows, args.seed)
    gpus._table()  # load the tables outside the timing

    t0 = time.perf_counter()
    uncached = [gpus._resolve(raw, mem, prov, None, None) for raw, mem, prov in rows]
    t_uncached = time.perf_counter() - t0

    gpus._resolve_cached.cache_clear()
    t0 = time.perf_counter()
    cached = [gpus.resolve(raw, memory_gb=mem, provider=prov) for raw, mem, prov in rows]
    t_cached = time.perf_counter() - t0

    if uncached != cached:
        print("results differ between the two methods", file=sys.stderr)
        return 1
    distinct = len(set(rows))
    print(f"{len(rows):,} rows, {distinct:,} distinct (name, memory, provider)")
    print(f"uncached _resolve: {len(rows) / t_uncached:12,.0f} rows/s ({t_uncached:.2f} s)")
    print(f"resolve (cached):  {len(rows) / t_cached:12,.0f} rows/s ({t_cached:.2f} s)")
    print(f"ratio: {t_uncached / t_cached:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
