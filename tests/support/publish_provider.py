"""Run by the concurrent-publish tests in a subprocess: publish N successive runs of one
provider (into DATASETS, and into TABLE_URL when given, with storage options from the
environment)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.ingest.normalize import frame_from_rows
from pipelines.schema import offer_key
from pipelines.store import delta
from pipelines.store.history import History


def main(datasets: Path, provider: str, runs: int, table_url: str | None = None) -> None:
    opts = delta.storage_options(table_url, os.environ) if table_url else None
    h = History(datasets, table_url, opts)
    for step in range(runs):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=step)
        rows = [
            {
                "provider": provider,
                "offer_key": offer_key(provider, f"i{i}", "r", None, "on_demand", None),
                "instance_type": f"i{i}",
                "region": "r",
                "pricing_model": "on_demand",
                "gpu_count": 1.0,
                "currency": "USD",
                "price_per_hour": 1.0 + step,
                "observed_at": at,
                "snapshot_sha256": "0" * 64,
            }
            for i in range(2000)
        ]
        h.merge_and_publish({provider: frame_from_rows(rows)})


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
