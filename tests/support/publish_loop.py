"""Run by test_publish_atomic in a subprocess: publish versions of a 50k-offer provider in
a loop (prices alternate between two levels), printing each published version, until
killed."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.ingest.normalize import frame_from_rows
from pipelines.schema import offer_key
from pipelines.store.history import History

N = 50_000


def frame(step: int) -> pd.DataFrame:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=step)
    price = 1.0 if step % 2 == 0 else 2.0
    rows = [
        {
            "provider": "loop",
            "offer_key": offer_key("loop", f"i{i}", "r", None, "on_demand", None),
            "instance_type": f"i{i}",
            "region": "r",
            "pricing_model": "on_demand",
            "gpu_count": 1.0,
            "currency": "USD",
            "price_per_hour": price,
            "price_usd_per_hour": price,
            "price_usd_per_gpu_hour": price,
            "observed_at": at,
            "snapshot_sha256": "0" * 64,
        }
        for i in range(N)
    ]
    return frame_from_rows(rows)


def main(datasets: Path) -> None:
    h = History(datasets)
    step = len(h.versions())
    while True:
        res = h.merge_and_publish({"loop": frame(step)})
        print(res.version, flush=True)
        step += 1


if __name__ == "__main__":
    main(Path(sys.argv[1]))
