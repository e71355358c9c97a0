"""README command 1's main job: `scrape run --all --replay examples/archive` from scratch.

Reports wall time, CPU time (user + sys, steadier than wall time on a shared machine), peak
RSS of the replay process and archived snapshots (runs) per second, against the targets of
issue 13 (under 60 s and 1 GB on a 2-core machine). Baseline, measured in the same run: the
same first N snapshots of one imported source replayed the naive way, one `scrape run
--replay` per snapshot on an archive that grows by one run each time (every snapshot pays
the publish, derived tables, events and data package), against the batched replay of those N.

    .venv/bin/python benchmarks/bench_example_replay.py [--baseline-provider cloud_gpus] [--baseline-n 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "archive"
SCRAPE = ROOT / ".venv" / "bin" / "scrape"
TARGET_S, TARGET_MB = 60.0, 1024.0


def _run(args: list[str], root: Path) -> dict:
    """One `scrape` process: wall, cpu and peak RSS of that child alone."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "GPU_PRICES_ROOT": str(root), "GPU_PRICES_ALERTS_ENABLED": "false"}
    t0 = time.monotonic()
    proc = subprocess.run([str(SCRAPE), *args], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # 1: some provider skipped/failed is still a run
        sys.exit(f"scrape {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        # ru_maxrss of RUSAGE_CHILDREN is the largest child so far (KiB on Linux).
        "peak_rss_mb": after.ru_maxrss / 1024,
    }


def _runs(archive: Path, provider: str | None = None) -> list[list[dict]]:
    out = []
    for manifest in sorted(archive.glob("*/manifest.jsonl")):
        if provider and manifest.parent.name != provider:
            continue
        runs: dict[str, list[dict]] = {}
        for line in manifest.read_text().splitlines():
            if line.strip():
                e = json.loads(line)
                runs.setdefault(e["run_id"], []).append(e)
        out += list(runs.values())
    return out


def _partial_archive(dest: Path, provider: str, runs: list[list[dict]]) -> None:
    src = EXAMPLE / provider
    (dest / provider).mkdir(parents=True, exist_ok=True)
    lines = []
    for run in runs:
        for e in run:
            blob = src / e["blob"]
            target = dest / provider / e["blob"]
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copyfile(blob, target)
            lines.append(json.dumps(e, sort_keys=True))
    (dest / provider / "manifest.jsonl").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline-provider", default="cloud_gpus")
    ap.add_argument("--baseline-n", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    snapshots = len(_runs(EXAMPLE))
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        full = _run(["run", "--all", "--replay", str(EXAMPLE)], Path(tmp) / "full")
        again = _run(["run", "--all", "--replay", str(EXAMPLE)], Path(tmp) / "full")
        runs = _runs(EXAMPLE, a.baseline_provider)[: a.baseline_n]
        arch = Path(tmp) / "subset-archive"
        _partial_archive(arch, a.baseline_provider, runs)
        batched = _run(["run", a.baseline_provider, "--replay", str(arch)], Path(tmp) / "batched")
        naive = {"wall_s": 0.0, "cpu_s": 0.0}
        for n, run in enumerate(runs):
            # One snapshot per call, into the same history: every snapshot pays the
            # publish, derived tables, events, feed, run log and data package.
            one = Path(tmp) / f"one-{n}"
            _partial_archive(one, a.baseline_provider, [run])
            r = _run(["run", a.baseline_provider, "--replay", str(one)], Path(tmp) / "naive")
            naive["wall_s"] += r["wall_s"]
            naive["cpu_s"] += r["cpu_s"]
    result = {
        "snapshots": snapshots,
        "full_replay": {**full, "snapshots_per_s": snapshots / full["wall_s"]},
        "replay_again_publishes_nothing": again,
        "targets": {"wall_s": TARGET_S, "peak_rss_mb": TARGET_MB},
        "baseline": {
            "provider": a.baseline_provider,
            "snapshots": len(runs),
            "batched": batched,
            "one_replay_per_snapshot": naive,
            "speedup_wall": naive["wall_s"] / batched["wall_s"],
            "speedup_cpu": naive["cpu_s"] / batched["cpu_s"],
        },
    }
    if a.json:
        print(json.dumps(result, indent=1))
        return
    f = result["full_replay"]
    print(
        f"full replay: {snapshots} snapshots in {f['wall_s']:.1f} s wall "
        f"({f['cpu_s']:.1f} s CPU), {f['snapshots_per_s']:.1f} snapshots/s, "
        f"peak RSS {f['peak_rss_mb']:.0f} MB (targets {TARGET_S:.0f} s, {TARGET_MB:.0f} MB)"
    )
    print(
        f"replay again (publishes nothing): {again['wall_s']:.1f} s wall, {again['cpu_s']:.1f} s CPU"
    )
    b = result["baseline"]
    print(
        f"{b['provider']}, first {b['snapshots']} snapshots: batched {b['batched']['wall_s']:.1f} s "
        f"wall / {b['batched']['cpu_s']:.1f} s CPU; one replay per snapshot "
        f"{naive['wall_s']:.1f} s / {naive['cpu_s']:.1f} s CPU: x{b['speedup_wall']:.1f} wall, "
        f"x{b['speedup_cpu']:.1f} CPU"
    )


if __name__ == "__main__":
    main()
