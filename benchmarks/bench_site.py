"""How fast does the report site's index load with thousands of offers?

Builds a synthetic published dataset per size (N current offers over 10 providers, 40 GPU
models, 4 pricing models, written through the real History publish path and the real
derived tables), builds the site, and opens `index.html` from file:// in headless Chromium
(the system browser, as the tests use it) several times. Reported per size, median of the
runs: the navigation's `loadEventEnd` (HTML parsed, script run, table drawn: the script is
synchronous at the end of the body, so the table exists before `load`), the time until the
last row is in the table, the index file size, and the ratio against the smallest size measured
in the same invocation (the baseline). The table draws its first 150 rows before `load` and
appends the rest in later tasks (the page shows and responds meanwhile); "all rows" is
when the last one is in the table.

    .venv/bin/python benchmarks/bench_site.py                  # sizes 200, 2000, 5000, 10000
    .venv/bin/python benchmarks/bench_site.py --sizes 200,3000 --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.site.build import build  # noqa: E402
from tests.support.browser import chromium  # noqa: E402
from tests.support.site_history import many_offers  # noqa: E402


def measure(browser, index: Path, repeats: int) -> tuple[float, float]:
    loads, done = [], []
    for _ in range(repeats):
        page = browser.new_page()
        t0 = time.perf_counter()
        page.goto(index.as_uri())
        loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
        page.wait_for_selector("#offers[data-state=done]", timeout=120_000)
        done.append((time.perf_counter() - t0) * 1000)
        page.close()
    return statistics.median(loads), statistics.median(done)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="200,2000,5000,10000")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        results = []
        for n in sizes:
            datasets = many_offers(Path(tmp) / f"datasets-{n}", n)
            out = build(datasets).out_dir
            index = out / "index.html"
            measure(browser, index, 1)  # warm the browser's caches and JIT once
            load, shown = measure(browser, index, args.repeats)
            results.append((n, load, shown, index.stat().st_size))
        base = results[0]
        print(
            "| offers | load event (ms) | all rows in the table (ms) | index.html | load vs baseline |"
        )
        print("|---|---|---|---|---|")
        for n, load, shown, size in results:
            print(
                f"| {n:,} | {load:.0f} | {shown:.0f} | {size / 1e3:,.0f} kB | "
                f"{load / base[1]:.1f}x |"
            )


if __name__ == "__main__":
    main()
