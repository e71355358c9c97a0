"""Read benchmark: `pd.read_parquet("datasets/gpu_prices.parquet")` at millions of history rows.

Writes the same synthetic history as a view directory twice, in the current storage layout
(`pipelines.store.view.stored`: string columns dictionary-encoded but the nearly unique
ones, 16-bit indices for small vocabularies, the pandas metadata declaring plain strings
`string[pyarrow]` and dates `date32[day][pyarrow]`) and in the baseline layout of the
earlier view (the same columns and encodings with 32-bit indices and no pandas metadata),
then times a plain `pd.read_parquet(path)` of each in a fresh process, alternating,
`--repeat` times. Prints per layout the fastest wall time, the CPU time of that read
(user + system: on a shared machine wall time mostly measures the other jobs), peak
RSS and the dtypes pandas returned, and the ratio current / baseline measured in this run.

The rows: `--rows` history rows as the view holds them after seeding (closed parts of
`--part-rows` rows, one current part of `--live` rows) plus `--small-parts` closed parts of
`--small-rows` rows each (what hourly runs leave between two merges of small parts:
at most view.COMPACT_SMALL_PARTS; the earlier view kept up to 200). Price versions of
100,000 offers: 10 providers (two quoting EUR, with an FX rate date), 30 regions, 10 GPU
models with their spec columns joined, 4 pricing models, some zones, terms and
`extra_json`. Peak RSS is the reading process's (VmHWM), imports included.

    python benchmarks/bench_read.py --rows 1000000
    python benchmarks/bench_read.py --rows 10000000 --repeat 2
    python benchmarks/bench_read.py --rows 1000000 --small-parts 200   # file count
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASE_ROWS = 250_000
LIVE_OFFERS = 100_000
EUR_PROVIDERS = ("scaleway", "ovhcloud")


def base_rows(n: int, seed: int = 1):
    """`n` history rows through the real normalization and spec join."""
    import pandas as pd

    from benchmarks.bench_growth import T0, _observations, offers
    from pipelines.derive.specs import join_specs
    from pipelines.store.history import _open_rows

    rng = np.random.default_rng(seed)
    # Versions of LIVE_OFFERS offers, as the history holds them.
    df = offers(0, LIVE_OFFERS, rng).iloc[np.sort(rng.integers(0, LIVE_OFFERS, n))]
    df = df.reset_index(drop=True)
    eur = df["provider"].isin(EUR_PROVIDERS)
    df.loc[eur, "currency"] = "EUR"
    df.loc[eur, "fx_rate_usd_per_unit"] = 1.08
    df.loc[eur, "price_usd_per_hour"] = (df.loc[eur, "price_per_hour"] * 1.08).round(4)
    df["price_usd_per_gpu_hour"] = df["price_usd_per_hour"] / df["gpu_count"]
    zoned = rng.random(n) < 0.2
    df["zone"] = None
    df.loc[zoned, "zone"] = df.loc[zoned, "region"] + "-a"
    reserved = df["pricing_model"].str.startswith("reserved")
    df["term"] = None
    df.loc[reserved, "term"] = "standard/no_upfront"
    df["extra_json"] = None
    df.loc[reserved, "extra_json"] = '{"lease_contract_length": "1yr"}'
    hours = pd.to_timedelta(rng.integers(0, 24 * 365, n), unit="h")
    at = pd.Timestamp(T0) + hours
    obs = _observations(df, at)
    obs.loc[eur.to_numpy(), "fx_rate_date"] = (at[eur.to_numpy()] - pd.Timedelta(days=1)).date
    rows = join_specs(_open_rows(obs, "bench-0001"))
    rows["valid_to"] = rows["valid_from"] + pd.Timedelta(hours=1)
    return rows


def layouts():
    import pyarrow as pa

    from pipelines.tables import PRICES

    current = PRICES.storage_schema
    baseline = pa.schema(
        [
            f.with_type(pa.dictionary(pa.int32(), pa.string()))
            if pa.types.is_dictionary(f.type)
            else f
            for f in current.remove_metadata()
        ]
    )
    return {"baseline": baseline, "current": current}


def write_view(out: Path, rows: int, part_rows: int, live: int, small: int, small_rows: int):
    """The same rows under out/<layout>/, as parts like the view's."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from pipelines.store.atomic import PARQUET_COMPRESSION, to_table
    from pipelines.store.view import ROW_GROUP_ROWS
    from pipelines.tables import PRICES

    base = to_table(base_rows(BASE_ROWS), PRICES.schema)
    rng = np.random.default_rng(3)
    schemas = layouts()
    for name in schemas:
        (out / name).mkdir(parents=True, exist_ok=True)
    closed = max(rows - live, 0)
    sizes = [min(part_rows, closed - i) for i in range(0, closed, part_rows)]
    sizes = [(f"closed-{i:04d}", s) for i, s in enumerate(sizes)]
    sizes += [(f"closed-s{i:04d}", small_rows) for i in range(small)]
    sizes.append(("current", live))
    shift = 0
    for label, n in sizes:
        chunks, left = [], n
        while left:
            take = min(left, BASE_ROWS)
            t = base.slice(0, take)
            factor = pa.array(rng.uniform(0.8, 1.2, take))
            for col in ("price_per_hour", "price_usd_per_hour", "price_usd_per_gpu_hour"):
                i = t.schema.get_field_index(col)
                t = t.set_column(i, col, pc.multiply(t.column(col), factor))
            for col in ("valid_from", "valid_to", "last_seen_at", "observed_at"):
                i = t.schema.get_field_index(col)
                moved = pc.add(t.column(col), pa.scalar(shift * 3600 * 10**6, pa.duration("us")))
                t = t.set_column(i, col, moved.cast(t.schema.field(col).type))
            shift += 1
            chunks.append(t)
            left -= take
        part = pa.concat_tables(chunks)
        for name, schema in schemas.items():
            pq.write_table(
                part.cast(schema),
                out / name / f"{label}.parquet",
                compression=PARQUET_COMPRESSION,
                row_group_size=ROW_GROUP_ROWS,
            )


def read(path: Path) -> dict:
    import pandas as pd

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    dtypes: dict[str, int] = {}
    for d in df.dtypes:
        key = "category" if isinstance(d, pd.CategoricalDtype) else str(d)
        dtypes[key] = dtypes.get(key, 0) + 1
    return {
        "rows": len(df),
        "wall_s": round(wall, 3),
        "cpu_s": round(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, 3),
        "user_s": round(r1.ru_utime - r0.ru_utime, 3),
        "peak_rss_mb": _peak_rss_mb(),
        "frame_mb": round(df.memory_usage(deep=False).sum() / 2**20),
        "dtypes": dtypes,
    }


def _peak_rss_mb() -> int:
    """This process's peak RSS since exec (ru_maxrss would count the parent's at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _child(path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"read of {path} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="history rows (closed + live)")
    ap.add_argument("--live", type=int, default=100_000, help="rows of the current part")
    ap.add_argument("--part-rows", type=int, default=1_000_000, help="rows per closed part")
    ap.add_argument("--small-parts", type=int, default=0, help="extra small closed parts")
    ap.add_argument("--small-rows", type=int, default=1_200, help="rows per small part")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the views here and keep them")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(read(args.child)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-read-") as tmp:
        out = args.keep or Path(tmp)
        t0 = time.perf_counter()
        write_view(out, args.rows, args.part_rows, args.live, args.small_parts, args.small_rows)
        result: dict = {"rows": args.rows, "write_seconds": round(time.perf_counter() - t0, 1)}
        runs: dict[str, list[dict]] = {name: [] for name in layouts()}
        for _ in range(args.repeat):
            for name in runs:
                runs[name].append(_child(out / name))
        for name, rs in runs.items():
            best = min(rs, key=lambda r: r["wall_s"])
            files = sorted((out / name).glob("*.parquet"))
            result[name] = {
                **best,
                "cpu_s_min": min(r["cpu_s"] for r in rs),
                "files": len(files),
                "mb_on_disk": round(sum(f.stat().st_size for f in files) / 2**20, 1),
            }
        b, c = result["baseline"], result["current"]
        result["ratio_wall"] = round(c["wall_s"] / b["wall_s"], 2)
        result["ratio_cpu"] = round(c["cpu_s_min"] / b["cpu_s_min"], 2)
        result["ratio_peak_rss"] = round(c["peak_rss_mb"] / b["peak_rss_mb"], 2)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
