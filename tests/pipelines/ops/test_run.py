"""`scrape run` end to end against real HTTP servers on 127.0.0.1, plus its fault paths:
the gate keeps the last good data, one provider's failure never blocks the others, replay is
idempotent, secrets never reach the archive, logs or published files."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from pipelines.config import Config
from pipelines.ops.run import run_providers
from pipelines.store.atomic import file_sha256
from pipelines.store.history import History
from scrapers import registry
from tests.support import fakes
from tests.support.server import send, sleep_then, truncated

FIX = Path(__file__).parents[2] / "fixtures" / "azure"
PAGE1 = (FIX / "gpu-page1.json").read_bytes()
PAGE2 = (FIX / "gpu-page2.json").read_bytes()
EMPTY = json.dumps({"Items": [], "NextPageLink": None, "Count": 0}).encode()
REQUIRED = [
    "provider",
    "instance_type",
    "region",
    "zone",
    "pricing_model",
    "gpu_model",
    "gpu_memory_gb",
    "gpu_count",
    "vcpus",
    "memory_gb",
    "currency",
    "price_per_hour",
    "price_usd_per_hour",
    "price_usd_per_gpu_hour",
    "observed_at",
    "source_url",
    "snapshot_sha256",
]


def azure_answer(nc_page1=PAGE1, nc_page2=PAGE2):
    """A handler that answers like the Retail Prices API for the four family walks."""

    def handler(h):
        q = parse_qs(urlsplit(h.path).query)
        flt = (q.get("$filter") or [""])[0]
        if "Standard_NC" in flt:
            body = nc_page2 if "$skip" in q else nc_page1
        else:
            body = EMPTY
        send(h, 200, body, {"Content-Type": "application/json"})

    return handler


def make_config(tmp_path: Path, server, **settings) -> Config:
    cfg = Config.load(root=tmp_path, env={})
    cfg.base_urls["azure"] = server.url
    cfg.base_urls[fakes.NAME] = server.url
    cfg.settings.update(settings)
    cfg.http = {"max_retries": 1, "backoff_base_s": 0.01, "max_backoff_s": 0.05, "timeout_s": 1.0}
    return cfg


@pytest.fixture
def fake_registered(monkeypatch):
    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, fakes.spec())


def test_azure_end_to_end_publishes_loadable_history(tmp_path, provider_server):
    provider_server.route("/api/retail/prices", azure_answer())
    cfg = make_config(tmp_path, provider_server)
    report = run_providers(["azure"], config=cfg)
    res = report.providers["azure"]
    assert res.status == "ok", res.error
    assert res.rows == 13 and res.new_offers == 13 and report.exit_code == 0
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    assert set(REQUIRED) <= set(df.columns)
    assert len(df) == 13 and df["valid_to"].isna().all()
    assert str(df["observed_at"].dt.tz) == "UTC"
    v100 = df[
        (df.instance_type == "Standard_NC6s_v3")
        & (df.region == "eastus")
        & (df.pricing_model == "on_demand")
    ]
    assert v100["price_usd_per_gpu_hour"].item() == 3.06 and v100["gpu_model"].item() == "V100"
    # A second reader: DuckDB sees the same table through the published directory.
    import duckdb

    glob = str(cfg.datasets_dir / "gpu_prices.parquet" / "*.parquet")
    con = duckdb.connect()
    n, cheapest = con.execute(
        f"SELECT count(*), min(price_usd_per_gpu_hour) FROM read_parquet('{glob}') WHERE valid_to IS NULL"
    ).fetchall()[0]
    assert n == 13 and cheapest == df.price_usd_per_gpu_hour.min()
    # The dataset version is in the Parquet metadata and in datapackage.json.
    h = History(cfg.datasets_dir)
    import pyarrow.parquet as pq

    meta = pq.read_schema(h.current_part()).metadata
    assert meta[b"gpu_prices.dataset_version"].decode() == report.dataset_version
    dp = json.loads((cfg.datasets_dir / "datapackage.json").read_text())
    assert dp["version"] == report.dataset_version
    (part,) = [r for r in dp["resources"] if r.get("group") == "gpu_prices"]
    assert part["rows"] == 13 and part["hash"] == f"sha256:{file_sha256(h.current_part())}"
    # Archive: every response stored, each distinct body once, verbatim.
    manifest = [
        json.loads(x)
        for x in (cfg.archive_dir / "azure" / "manifest.jsonl").read_text().splitlines()
    ]
    assert len(manifest) == 5  # NC page 1 + 2, ND, NV, NG
    blobs = list((cfg.archive_dir / "azure" / "blobs").rglob("*.gz"))
    assert len(blobs) == 3  # page 1, page 2, and one empty page shared by ND/NV/NG
    for e in manifest:
        assert {"url", "status", "headers", "fetched_at", "sha256", "size"} <= set(e)
        assert (cfg.archive_dir / "azure" / e["blob"]).is_file()
    bodies = {gzip.decompress(b.read_bytes()) for b in blobs}
    assert PAGE1 in bodies and PAGE2 in bodies


def test_second_run_with_same_prices_adds_no_rows_and_no_blobs(tmp_path, provider_server):
    provider_server.route("/api/retail/prices", azure_answer())
    cfg = make_config(tmp_path, provider_server)
    run_providers(["azure"], config=cfg)
    r2 = run_providers(["azure"], config=cfg)
    assert r2.providers["azure"].unchanged_offers == 13 and r2.providers["azure"].new_offers == 0
    assert len(pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")) == 13
    assert len(list((cfg.archive_dir / "azure" / "blobs").rglob("*.gz"))) == 3


def test_price_change_closes_old_version(tmp_path, provider_server):
    provider_server.route("/api/retail/prices", azure_answer())
    cfg = make_config(tmp_path, provider_server)
    run_providers(["azure"], config=cfg)
    changed = PAGE1.replace(
        b'"retailPrice":3.06,"unitPrice":3.06', b'"retailPrice":2.75,"unitPrice":2.75', 1
    )
    assert changed != PAGE1
    provider_server.route("/api/retail/prices", azure_answer(nc_page1=changed))
    r2 = run_providers(["azure"], config=cfg)
    assert r2.providers["azure"].changed_offers == 1
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    key = "azure|Standard_NC6s_v3|eastus||on_demand|"
    versions = df[df.offer_key == key].sort_values("valid_from")
    assert versions["price_per_hour"].tolist() == [3.06, 2.75]
    assert versions["valid_to"].iloc[0] == versions["valid_from"].iloc[1]
    assert pd.isna(versions["valid_to"].iloc[1])
    # "As of" the first run: one line of pandas.
    t = versions["valid_from"].iloc[0]
    asof = df[(df.valid_from <= t) & (df.valid_to.isna() | (df.valid_to > t))]
    assert asof[asof.offer_key == key]["price_per_hour"].item() == 3.06
    # The earlier version is still readable as it was.
    h = History(cfg.datasets_dir)
    first = h.versions()[0]["version"]
    old = h.read_all(first)
    assert old[old.offer_key == key]["price_per_hour"].tolist() == [3.06]


@pytest.mark.parametrize(
    "fault, expect",
    [
        ("http500", "HTTP 500 after 2 attempts"),
        ("timeout", "ReadTimeout"),
        ("truncated", "RemoteProtocolError"),
        ("invalid_json", "invalid JSON"),
        ("zero_rows", "zero rows"),
    ],
)
def test_faults_fail_azure_alone_and_keep_last_good_data(
    tmp_path, provider_server, fake_registered, fault, expect
):
    provider_server.route("/api/retail/prices", azure_answer())
    provider_server.route("/offers.json", (200, fakes.offers_body(), {}))
    cfg = make_config(tmp_path, provider_server)
    first = run_providers(["azure", fakes.NAME], config=cfg)
    assert first.exit_code == 0
    before = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    answers = {
        "http500": (500, b"oops", {}),
        "timeout": sleep_then(3.0, (200, PAGE1, {})),
        "truncated": truncated(PAGE1),
        "invalid_json": (200, b'{"Items": [', {}),
        "zero_rows": (200, EMPTY, {}),
    }
    provider_server.route("/api/retail/prices", answers[fault])
    provider_server.route("/offers.json", (200, fakes.offers_body(price=2.0), {}))
    report = run_providers(["azure", fakes.NAME], config=cfg)
    az = report.providers["azure"]
    assert az.failed and expect in az.error and az.error.startswith("azure")
    assert report.exit_code == 1
    assert (
        report.providers[fakes.NAME].status == "ok"
        and report.providers[fakes.NAME].changed_offers == 3
    )
    after = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    cur_az = after[(after.provider == "azure") & after.valid_to.isna()]
    # Azure's offers are untouched: not withdrawn, not changed.
    pd.testing.assert_frame_equal(
        cur_az.sort_values("offer_key").reset_index(drop=True)[
            ["offer_key", "price_per_hour", "valid_from"]
        ],
        before[before.provider == "azure"]
        .sort_values("offer_key")
        .reset_index(drop=True)[["offer_key", "price_per_hour", "valid_from"]],
        check_categorical=False,
    )
    assert not after[after.provider == "azure"]["is_withdrawn"].any()


def test_429_with_retry_after_is_retried(tmp_path, provider_server, fake_registered):
    provider_server.route(
        "/offers.json", (429, b"slow down", {"Retry-After": "0"}), (200, fakes.offers_body(), {})
    )
    cfg = make_config(tmp_path, provider_server)
    report = run_providers([fakes.NAME], config=cfg)
    assert report.providers[fakes.NAME].status == "ok"
    assert [r.path.split("?")[0] for r in provider_server.requests] == [
        "/offers.json",
        "/offers.json",
    ]


def test_row_count_collapse_fails_gate(tmp_path, provider_server, fake_registered):
    provider_server.route("/offers.json", (200, fakes.offers_body(n=10), {}))
    cfg = make_config(tmp_path, provider_server)
    run_providers([fakes.NAME], config=cfg)
    provider_server.route("/offers.json", (200, fakes.offers_body(n=2), {}))
    report = run_providers([fakes.NAME], config=cfg)
    r = report.providers[fakes.NAME]
    assert r.status == "gate_failed" and "fell from 10 to 2" in r.error
    assert [f.check for f in r.gate_findings] == ["row_count_collapse"]
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    assert df.valid_to.isna().sum() == 10


def test_absurd_price_fails_gate(tmp_path, provider_server, fake_registered):
    provider_server.route("/offers.json", (200, fakes.offers_body(n=3, price=5000.0), {}))
    cfg = make_config(tmp_path, provider_server)
    report = run_providers([fakes.NAME], config=cfg)
    r = report.providers[fakes.NAME]
    # Every row is implausible: quarantining them all is a broken source, not noise.
    assert r.status == "gate_failed" and "USD/GPU-hour" in r.error
    assert [(f.check, f.severity, f.count) for f in r.gate_findings] == [
        ("price_implausible", "row", 3),
        ("quarantine_share", "run", 3),
    ]
    assert not (cfg.datasets_dir / "gpu_prices.parquet").exists()


def test_secrets_never_reach_archive_logs_or_published_files(
    tmp_path, provider_server, monkeypatch, caplog
):
    secret = "sk-LIVE-0123456789abcdef"
    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, fakes.spec(key_required=True))
    provider_server.route("/offers.json", (500, b"", {}), (200, fakes.offers_body(), {}))
    cfg = make_config(tmp_path, provider_server, FAKECLOUD_API_KEY=secret)
    with caplog.at_level(logging.DEBUG):
        report = run_providers([fakes.NAME], config=cfg)
    assert report.providers[fakes.NAME].status == "ok"
    assert secret in provider_server.requests[-1].path  # the provider did get the key
    assert secret not in caplog.text
    for path in list(cfg.archive_dir.rglob("*")) + list(cfg.datasets_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            assert secret.encode() not in data, path
    df = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    assert df["source_url"].str.contains("key=REDACTED").all()


def test_missing_key_is_a_skip_not_a_failure(tmp_path, provider_server, monkeypatch):
    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, fakes.spec(key_required=True))
    cfg = make_config(tmp_path, provider_server)
    report = run_providers([fakes.NAME], config=cfg)
    r = report.providers[fakes.NAME]
    assert r.status == "skipped" and "FAKECLOUD_API_KEY" in r.error and report.exit_code == 0
    assert provider_server.requests == []


def test_replay_twice_is_idempotent_and_uses_recorded_time(tmp_path, provider_server):
    provider_server.route("/api/retail/prices", azure_answer())
    live = make_config(tmp_path / "live", provider_server)
    run_providers(["azure"], config=live)
    manifest = [
        json.loads(x)
        for x in (live.archive_dir / "azure" / "manifest.jsonl").read_text().splitlines()
    ]
    cfg = Config.load(root=tmp_path / "replay", env={})
    r1 = run_providers(["azure"], config=cfg, replay=live.archive_dir)
    assert r1.providers["azure"].status == "ok" and r1.dataset_version
    df1 = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    recorded = {pd.Timestamp(m["fetched_at"]) for m in manifest}
    assert set(df1["observed_at"]) <= recorded
    r2 = run_providers(["azure"], config=cfg, replay=live.archive_dir)
    assert r2.dataset_version is None and r2.providers["azure"].status == "unchanged"
    df2 = pd.read_parquet(cfg.datasets_dir / "gpu_prices.parquet")
    pd.testing.assert_frame_equal(df1, df2)
    assert len(History(cfg.datasets_dir).versions()) == 1


def test_cli_run_exits_non_zero_and_names_the_failure_in_one_line(
    tmp_path, provider_server, monkeypatch
):
    from typer.testing import CliRunner

    from pipelines.cli.main import app

    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, fakes.spec())
    monkeypatch.setitem(registry.PROVIDERS, "fakebroken", fakes.spec("fakebroken"))
    provider_server.route("/offers.json", (200, fakes.offers_body(), {}))
    monkeypatch.setenv("GPU_PRICES_FAKECLOUD_BASE_URL", provider_server.url)
    monkeypatch.setenv("GPU_PRICES_FAKEBROKEN_BASE_URL", provider_server.url + "/gone")
    monkeypatch.setenv("GPU_PRICES_ROOT", str(tmp_path))
    result = CliRunner().invoke(app, ["run", fakes.NAME, "fakebroken"])
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert (
        len(failed) == 1 and failed[0].startswith("FAILED fakebroken: ") and "HTTP 404" in failed[0]
    )
    df = pd.read_parquet(tmp_path / "datasets" / "gpu_prices.parquet")
    assert set(df["provider"].astype(str)) == {fakes.NAME}


def test_gate_drop_fraction_precedence(tmp_path):
    cfg = Config.load(root=tmp_path, env={})
    assert cfg.drop_fraction("vastai", 0.8) == 0.8  # nothing configured: provider default
    (tmp_path / "gpu-prices.toml").write_text(
        "[gate]\nmax_drop_fraction = 0.3\n[gate.providers.vastai]\nmax_drop_fraction = 0.9\n"
    )
    cfg = Config.load(root=tmp_path, env={})
    assert cfg.drop_fraction("vastai", 0.8) == 0.9
    assert cfg.drop_fraction("azure", 0.5) == 0.3
