"""`scrape index recompute`: rebuild one day of the price index from the raw archive alone.

Into an empty temporary directory: a view of the archive holding only the runs that were
known when the day was published (every response fetched at or before the row's
`computed_through`; the ECB files all, since a replayed run only uses those fetched before
it) → replay → history → index for that day. Nothing published is read except the index
row being checked. A tampered blob fails its provider's replay from that run on (the
archive checks every body against its sha256), so the recomputed input hash differs.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.config import Config
from pipelines.derive import index as price_index
from pipelines.ingest.archive import MANIFEST, Archive, parse_ts
from pipelines.ops.fxrates import FX_SOURCE
from pipelines.ops.run import run_providers
from pipelines.store.history import History
from scrapers.registry import PROVIDERS


@dataclass
class Recomputed:
    date: date
    through: pd.Timestamp | None
    published: pd.DataFrame
    recomputed: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def comparison(self) -> list[dict]:
        """One row per (index id, pricing model) published or recomputed for the day."""
        keys = ["index_id", "pricing_model"]
        cols = [*keys, "value_usd_per_gpu_hour", "provider_count", "input_sha256"]
        merged = pd.merge(
            self.published[cols],
            self.recomputed[cols],
            on=keys,
            how="outer",
            suffixes=("_published", "_recomputed"),
        ).sort_values(keys, kind="stable")
        rows = []
        for r in merged.to_dict("records"):
            pv, rv = r["value_usd_per_gpu_hour_published"], r["value_usd_per_gpu_hour_recomputed"]
            ph, rh = r["input_sha256_published"], r["input_sha256_recomputed"]
            rows.append(
                {
                    "index_id": r["index_id"],
                    "pricing_model": r["pricing_model"],
                    "published": None if pd.isna(pv) else float(pv),
                    "recomputed": None if pd.isna(rv) else float(rv),
                    "published_input_sha256": None if pd.isna(ph) else ph,
                    "recomputed_input_sha256": None if pd.isna(rh) else rh,
                    "matches": bool(
                        not pd.isna(pv) and not pd.isna(rv) and abs(pv - rv) < 1e-9 and ph == rh
                    ),
                }
            )
        return rows

    @property
    def matches(self) -> bool:
        rows = self.comparison()
        return bool(rows) and all(r["matches"] for r in rows)


def _archive_view(src: Path, dst: Path, through: pd.Timestamp | None) -> list[str]:
    """A copy of `src`'s manifests restricted to runs fetched at or before `through`
    (blobs linked, not copied); returns the providers it holds."""
    src_arch = Archive(src)
    providers = src_arch.providers()
    last_fetch: dict[str, pd.Timestamp] = defaultdict(lambda: pd.Timestamp.min.tz_localize("UTC"))
    entries = {}
    for name in providers:
        entries[name] = src_arch.entries(name)
        for e in entries[name]:
            t = pd.Timestamp(parse_ts(e["fetched_at"]))
            last_fetch[e["run_id"]] = max(last_fetch[e["run_id"]], t)
    for name in providers:
        keep = [
            e
            for e in entries[name]
            if name == FX_SOURCE or through is None or last_fetch[e["run_id"]] <= through
        ]
        pdir = dst / name
        pdir.mkdir(parents=True)
        (pdir / MANIFEST).write_text("".join(json.dumps(e) + "\n" for e in keep))
        for e in keep:
            if e.get("blob"):
                _link(src_arch.provider_dir(name) / e["blob"], pdir / e["blob"])
    return [p for p in providers if p in PROVIDERS]


def _link(src: Path, dst: Path) -> None:
    """Hard-link a blob into the view (the archive refuses paths leading outside it, so
    no symlink); copy when linking is not possible (another file system)."""
    if dst.exists() or not src.exists():
        return  # a missing blob stays missing: the replay reports it
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def published_rows(datasets_dir: Path, day: date, index_id: str | None = None) -> pd.DataFrame:
    path = Path(datasets_dir) / price_index.INDEX_FILE
    if not path.is_file():
        return price_index.PRICE_INDEX.schema.empty_table().to_pandas()
    df = pd.read_parquet(path)
    df = df[df["date"] == day]
    if index_id:
        df = df[df["index_id"] == index_id]
    return df.reset_index(drop=True)


def recompute(
    day: date,
    *,
    config: Config,
    index_id: str | None = None,
    methodology: str | None = None,
) -> Recomputed:
    """Replay the archive into a temporary directory and compute `day` from it."""
    m = price_index.METHODOLOGIES[methodology or price_index.CURRENT_VERSION]
    published = published_rows(config.datasets_dir, day, index_id)
    published = published[published["methodology_version"] == m.version]
    through = pd.Timestamp(published["computed_through"].max()) if not published.empty else None
    notes: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="gpu-prices-index-"))
    try:
        names = _archive_view(config.archive_dir, tmp / "archive", through)
        cfg = copy.copy(config).with_datasets(tmp / "datasets", tmp / "archive")
        # The rebuild reads and writes nothing published: not even a configured table URL.
        cfg.table_url_setting = None
        report = run_providers(
            names, config=cfg, replay=tmp / "archive", post_steps=False, alerts=False
        )
        notes += [r.error for r in report.providers.values() if r.status == "failed" and r.error]
        history = History.for_config(cfg).read_all()
        recomputed, _ = price_index.compute(history, methodology=m, days=[day], through=through)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if index_id:
        recomputed = recomputed[recomputed["index_id"] == index_id]
    return Recomputed(day, through, published, recomputed.reset_index(drop=True), notes)
