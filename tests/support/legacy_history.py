"""The history writer of the earlier layout (before the Delta table), kept to test
`scrape migrate` against what real installations have on disk:

    datasets/gpu_prices.parquet -> .history/v<version>/ (hard links to closed-*/current-*
    parts), .history/versions.jsonl, v<version>/_state.json and _meta.json.

Trimmed from pipelines/store/history.py before the Delta table (same file names, same
records, same compaction, both forms of the version directory); the merge itself is the
current one (unchanged since).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.store.atomic import write_json_atomic, write_parquet_atomic
from pipelines.store.history import _merge
from pipelines.store.view import stored
from pipelines.tables import PRICES


class LegacyHistory:
    def __init__(self, datasets_dir: Path, compact_after_parts: int = 200, nested: bool = True):
        self.datasets_dir = Path(datasets_dir)
        self.hdir = self.datasets_dir / ".history"
        self.parts = self.hdir / "parts"
        self.link = self.datasets_dir / "gpu_prices.parquet"
        self.compact_after_parts = compact_after_parts
        # nested: parts in v<version>/gpu_prices.parquet/ (the layout's last form), else in
        # v<version>/ itself (its first form).
        self.nested = nested

    def current_version(self) -> str | None:
        if not self.link.is_symlink():
            return None
        target = Path(os.readlink(self.link))
        return (target.parent if self.nested else target).name[1:]

    def versions(self) -> list[dict]:
        path = self.hdir / "versions.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def publish(self, observations: dict[str, pd.DataFrame], enrich_key: str = "k1") -> str:
        prev = self.current_version()
        vdir_prev = self.hdir / f"v{prev}" if prev else None
        data_prev = vdir_prev / PRICES.file if vdir_prev and self.nested else vdir_prev
        current = (
            pq.read_table(next(data_prev.glob("current-*.parquet"))).cast(PRICES.schema).to_pandas()
            if vdir_prev
            else PRICES.schema.empty_table().to_pandas()
        )
        state = json.loads((vdir_prev / "_state.json").read_text()) if vdir_prev else {}
        version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        touched = current["provider"].isin(list(observations))
        obs = pd.concat(list(observations.values()), ignore_index=True)
        kept, closed, _ = _merge(current[touched], obs, version)
        for p, o in observations.items():
            state[p] = {
                "last_observed_at": o["observed_at"].max().isoformat(),
                "last_good_rows": len(o),
                "last_good_version": version,
                "regions": sorted(o["region"].unique().tolist()),
            }
        keep = pd.concat([x for x in (current[~touched], kept) if len(x)], ignore_index=True)
        keep = keep.sort_values(["provider", "offer_key"], kind="stable")
        self.parts.mkdir(parents=True, exist_ok=True)
        files = {}
        if prev:
            entry = next(v for v in self.versions() if v["version"] == prev)
            files = {k: v for k, v in entry["files"].items() if k.startswith("closed-")}
        for name, df in (
            (f"current-{version}.parquet", keep),
            (f"closed-{version}.parquet", closed),
        ):
            if len(df) or name.startswith("current"):
                sha = write_parquet_atomic(stored(df), self.parts / name)
                files[name] = {"sha256": sha, "rows": len(df), "bytes": 0}
        closed_names = sorted(k for k in files if k.startswith("closed-"))
        if len(closed_names) > self.compact_after_parts:
            merged = pa.concat_tables(
                [pq.read_table(self.parts / n).cast(PRICES.schema) for n in closed_names]
            )
            name = f"closed-{version}-compacted.parquet"
            sha = write_parquet_atomic(stored(merged), self.parts / name)
            files = {k: v for k, v in files.items() if not k.startswith("closed-")}
            files[name] = {"sha256": sha, "rows": merged.num_rows, "bytes": 0}
        vdir = self.hdir / f"v{version}"
        data = vdir / PRICES.file if self.nested else vdir
        data.mkdir(parents=True)
        for name in files:
            os.link(self.parts / name, data / name)
        write_json_atomic(state, vdir / "_state.json")
        write_json_atomic({"enrich_key": enrich_key}, vdir / "_meta.json")
        entry = {"version": version, "previous_version": prev, "files": files}
        with open(self.hdir / "versions.jsonl", "a") as fh:
            fh.write(json.dumps(entry) + "\n")
        tmp = self.datasets_dir / ".gpu_prices.parquet.tmp"
        os.symlink(os.path.relpath(data, self.datasets_dir), tmp)
        os.replace(tmp, self.link)
        return version
