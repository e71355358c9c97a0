"""The imported histories shipped in examples/archive (README "What is in the example
data"): what a user sees after replaying them, on the sources that replay in seconds."""

from __future__ import annotations

import json

import pandas as pd

from pipelines.config import Config
from pipelines.ingest.archive import EXAMPLE_ARCHIVE, Archive
from pipelines.ops.run import run_providers
from scrapers.registry import PROVIDERS


def test_every_imported_snapshot_names_its_source_commit_and_original_blob():
    arch = Archive(EXAMPLE_ARCHIVE)
    imported = [n for n in arch.providers() if n in PROVIDERS and PROVIDERS[n].import_format]
    assert set(imported) == {
        "aws_gpu_tracker",
        "azure_radar",
        "cloud_gpus",
        "colab_free_tier",
        "gcp_cyclenerd",
    }
    for name in imported:
        for e in arch.entries(name):
            prov = e["provenance"]
            assert prov.startswith("https://github.com/"), prov
            # A git commit, or a window of the Colab records file (examples/colab_free_tier/).
            assert (" @ " in prov) != (" window " in prov), prov
            assert "original blob sha256 " in prov and "(observed " in prov
            assert "/work/" not in prov and "/tmp/" not in prov
            assert e["kind"] == f"import:{PROVIDERS[name].import_format}"


def test_tracker_history_has_exactly_the_june_2025_cut(tmp_path):
    cfg = Config.load(root=tmp_path, env={})
    report = run_providers(["aws_gpu_tracker"], config=cfg, replay=EXAMPLE_ARCHIVE, alerts=False)
    assert report.providers["aws_gpu_tracker"].status == "ok"
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet").sort_values("valid_from")
    assert df["price_per_hour"].tolist() == [98.32, 55.04]
    assert str(df["valid_from"].min()) == "2025-04-23 18:52:57+00:00"
    ev = pd.read_parquet(cfg.datasets_dir / "gpu_price_changes.parquet")
    # Offer events: exactly the cut. (p5 is H100 SXM by its instance family, so the tracker
    # also feeds the H100 SXM price index, whose own events are index_changed.)
    (cut,) = ev[ev["event_type"] != "index_changed"].itertuples()
    assert (cut.event_type, cut.old_price, cut.new_price) == ("price_changed", 98.32, 55.04)
    assert str(cut.detected_at)[:10] == "2025-06-05"
    feed = (cfg.datasets_dir / "alerts.atom").read_text()
    assert "p5.48xlarge" in feed

    # Replaying the same archive again publishes nothing new.
    version = (cfg.datasets_dir / "gpu_prices.parquet").resolve().name
    run_providers(["aws_gpu_tracker"], config=cfg, replay=EXAMPLE_ARCHIVE, alerts=False)
    assert (cfg.datasets_dir / "gpu_prices.parquet").resolve().name == version
    assert len(pd.read_parquet(cfg.datasets_dir / "gpu_price_changes.parquet")) == len(ev)


def test_colab_free_tier_moves_from_k80_to_t4_once(tmp_path):
    cfg = Config.load(root=tmp_path, env={})
    report = run_providers(["colab_free_tier"], config=cfg, replay=EXAMPLE_ARCHIVE, alerts=False)
    assert report.providers["colab_free_tier"].status == "ok"
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet").sort_values("valid_from")
    assert df["offer_key"].nunique() == 1 and (df["price_per_hour"] == 0).all()
    assert df["gpu_model"].tolist() == ["K80", "T4"]
    assert str(df["valid_from"].min())[:10] == "2018-10-15"
    # Exactly the one move the recordings justify: no event from the P100/T4 draws of 2019
    # or from the years with one or two recordings.
    ev = pd.read_parquet(cfg.datasets_dir / "gpu_price_changes.parquet")
    (move,) = ev.itertuples()
    assert (move.event_type, move.old_gpu_model, move.gpu_model) == (
        "offer_gpu_changed",
        "K80",
        "T4",
    )
    assert (move.instance_type, move.pricing_model) == ("free", "free")
    assert str(move.detected_at)[:10] == "2022-11-19"
    counts = json.loads(df["extra_json"].iloc[0])["gpu_counts"]
    assert counts == {"K80": 4}
    assert "GPU 1x K80 -&gt; 1x T4" in (cfg.datasets_dir / "alerts.atom").read_text()
    pkg = json.loads((cfg.datasets_dir / "datapackage.json").read_text())
    (src,) = [s for s in pkg["sources"] if "(colab_free_tier)" in s["title"]]
    assert src["path"].endswith("examples/colab_free_tier/records.csv")
    assert "facts from public issue threads" in src["title"]


def test_azure_regions_entering_the_radar_raise_no_new_offer_alerts(tmp_path):
    cfg = Config.load(root=tmp_path, env={})
    run_providers(["azure_radar"], config=cfg, replay=EXAMPLE_ARCHIVE, alerts=False)
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    regions_by_day = df.groupby(df["valid_from"].dt.date)["region"].agg(lambda s: sorted(set(s)))
    assert len(regions_by_day) > 1  # the scope grew over the snapshots
    path = cfg.datasets_dir / "gpu_price_changes.parquet"
    ev = pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=["event_type"])
    assert "offer_added" not in set(ev["event_type"]), ev
    assert "gpu_model_added" not in set(ev["event_type"]), ev


def test_history_table_in_readme_is_generated_from_the_archive():
    from pipelines.ops.docs import README, history_table

    table = history_table()
    assert table in README.read_text()
    rows = [r for r in table.splitlines() if r.startswith("| https://")]
    assert len(rows) == 5
    assert all(r.count("|") == 8 for r in rows)


def test_datapackage_credits_imported_sources_and_their_licenses(tmp_path):
    cfg = Config.load(root=tmp_path, env={})
    run_providers(["azure_radar"], config=cfg, replay=EXAMPLE_ARCHIVE, alerts=False)
    pkg = json.loads((cfg.datasets_dir / "datapackage.json").read_text())
    radar = [s for s in pkg["sources"] if "azure-pricing-radar" in s.get("path", "")]
    assert radar and "license: MIT" in radar[0]["title"]
    assert "MIT" in {lic["name"] for lic in pkg["licenses"]}
