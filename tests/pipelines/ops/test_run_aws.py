"""AWS through the whole pipeline on a local server: the second run neither downloads nor
parses the unchanged offer file (conditional fetch + parse cache), and still confirms its
offers as seen at the new run's time."""

from __future__ import annotations

import dataclasses

import pandas as pd

from pipelines.config import Config
from pipelines.ops.run import run_providers
from scrapers import aws, registry
from tests.scrapers.test_aws import US_EAST_1_VERSION_PATH, _PriceServer


def test_unchanged_offer_file_is_neither_downloaded_nor_parsed_again(tmp_path, monkeypatch):
    parsed_kinds: list[str] = []

    def counting_parse(responses):
        parsed_kinds.extend(r.kind for r in responses)
        return aws.parse(responses)

    monkeypatch.setitem(
        registry.PROVIDERS, "aws", dataclasses.replace(aws.PROVIDER, parse=counting_parse)
    )
    with _PriceServer() as server:
        cfg = Config.load(root=tmp_path, env={})
        cfg.base_urls["aws"] = server.url
        cfg.base_urls["aws_spot"] = server.url
        cfg.settings["AWS_REGIONS"] = "us-east-1"
        first = run_providers(["aws"], config=cfg)
        assert first.providers["aws"].status == "ok", first.providers["aws"].error
        assert parsed_kinds.count("offer-file") == 1
        df1 = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
        p4d = df1[(df1.instance_type == "p4d.24xlarge") & (df1.pricing_model == "on_demand")]
        assert p4d["price_per_hour"].item() == 32.7726
        assert p4d["price_usd_per_gpu_hour"].item() == 32.7726 / 8

        server.requests.clear()
        second = run_providers(["aws"], config=cfg)
        assert US_EAST_1_VERSION_PATH not in server.paths()  # not downloaded
        assert parsed_kinds.count("offer-file") == 1  # not parsed again
        r = second.providers["aws"]
        # The index files come back in full, so the run merges: every offer is confirmed.
        assert r.status == "ok" and r.changed_offers == 0 and r.removed_offers == 0
        assert r.unchanged_offers == len(df1)
        df2 = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
        cur = df2[df2.valid_to.isna()]
        assert len(cur) == len(df1)
        seen = cur[cur.instance_type == "p4d.24xlarge"]["last_seen_at"].max()
        assert seen > p4d["observed_at"].item()  # cached offers re-timed to this run
