"""One provider run end to end against the real local test server: the provider's base URL
points at `tests/support/server.py`, the run fetches, archives, parses, gates and publishes,
and the caller reads what a user would (the published Parquet, the archive on disk)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from pipelines.config import Config
from pipelines.ops.run import run_providers


def run_live(tmp_path: Path, server, provider: str, path_prefix: str = "", **settings: str):
    """Run `provider` against `server` (base URL = server URL + `path_prefix`).

    Returns (the provider's result, the published table or None, the config). ECB rates
    point at a missing route, so a non-USD provider never reaches the internet.
    """
    cfg = Config.load(root=tmp_path, env={})
    cfg.base_urls[provider] = server.url + path_prefix
    cfg.base_urls["ecb"] = server.url + "/no-ecb-here"
    cfg.settings.update(settings)
    cfg.http = {"max_retries": 0, "timeout_s": 5.0}
    report = run_providers([provider], config=cfg, post_steps=False, alerts=False)
    table = cfg.datasets_dir / "gpu_prices.parquet"
    df = pd.read_parquet(table) if table.exists() else None
    return report.providers[provider], df, cfg


def archived_bytes(cfg: Config) -> bytes:
    """Everything the run wrote to the archive, for "no secret on disk" checks."""
    files = [p for p in Path(cfg.archive_dir).rglob("*") if p.is_file()]
    return b"".join(
        gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes() for p in files
    )


def run_without_settings(tmp_path: Path, provider: str):
    """Run `provider` with none of its settings set: the result carries the skip line."""
    cfg = Config.load(root=tmp_path, env={})
    report = run_providers([provider], config=cfg, post_steps=False, alerts=False)
    return report.providers[provider]
