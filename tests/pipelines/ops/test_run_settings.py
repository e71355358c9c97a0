"""Provider settings as declared by `ProviderSpec.settings`: what a fetch sees, what is
redacted, what skips a provider (pipelines/ops/run.py `_context` / `_fetch_one`)."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

from pipelines.config import Config
from pipelines.ops.run import run_providers
from scrapers import registry
from scrapers.base import FetchContext, Response
from tests.support import fakes

SECRET = "sk-declared-9f8e7d6c5b4a"
OTHER_PROVIDERS_KEY = "AIza-other-provider-key-123"


def _config(tmp_path: Path, server, **settings) -> Config:
    cfg = Config.load(root=tmp_path, env={})
    cfg.base_urls[fakes.NAME] = server.url
    cfg.settings.update(settings)
    cfg.http = {"max_retries": 0, "timeout_s": 2.0}
    return cfg


def test_provider_sees_only_its_own_declared_settings(tmp_path, provider_server, monkeypatch):
    seen: list[dict[str, str]] = []

    async def spy_fetch(ctx: FetchContext) -> list[Response]:
        seen.append(dict(ctx.settings))
        return await fakes.fetch(ctx)

    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, fakes.spec(fetch=spy_fetch))
    provider_server.route("/offers.json", (200, fakes.offers_body(), {}))
    cfg = _config(
        tmp_path,
        provider_server,
        FAKECLOUD_API_KEY=SECRET,
        GOOGLE_API_KEY=OTHER_PROVIDERS_KEY,  # gcp's secret: not the fake's business
        HOME="/root",
    )
    report = run_providers([fakes.NAME], config=cfg)
    assert report.providers[fakes.NAME].status == "ok"
    assert seen == [{"FAKECLOUD_API_KEY": SECRET}]


def test_declared_secret_is_redacted_wherever_the_fetch_puts_it(
    tmp_path, provider_server, monkeypatch, caplog
):
    # The fetch sends its key under a parameter name no name-based rule knows and does not
    # pass `secrets=`: the declaration (secret=True) alone must keep it out of every record.
    async def careless_fetch(ctx: FetchContext) -> list[Response]:
        key = ctx.settings["FAKECLOUD_API_KEY"]
        return [
            await ctx.client.get(
                ctx.url("/offers.json"), params={"q": key}, provider=fakes.NAME, kind="offers"
            )
        ]

    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, fakes.spec(fetch=careless_fetch))
    provider_server.route("/offers.json", (500, b"", {}), (200, fakes.offers_body(), {}))
    cfg = _config(tmp_path, provider_server, FAKECLOUD_API_KEY=SECRET)
    cfg.http["max_retries"] = 1
    cfg.http["backoff_base_s"] = cfg.http["max_backoff_s"] = 0.01
    with caplog.at_level(logging.DEBUG):
        report = run_providers([fakes.NAME], config=cfg)
    assert report.providers[fakes.NAME].status == "ok"
    assert SECRET in provider_server.requests[-1].path  # the provider did send it
    assert SECRET not in caplog.text
    for path in list(cfg.archive_dir.rglob("*")) + list(cfg.datasets_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            assert SECRET.encode() not in data, path


def test_missing_required_setting_skips_and_names_it(tmp_path, provider_server, monkeypatch):
    monkeypatch.setitem(registry.PROVIDERS, fakes.NAME, fakes.spec(key_required=True))
    cfg = _config(tmp_path, provider_server, GOOGLE_API_KEY=OTHER_PROVIDERS_KEY)
    report = run_providers([fakes.NAME], config=cfg)
    r = report.providers[fakes.NAME]
    assert r.status == "skipped" and "FAKECLOUD_API_KEY" in r.error
    assert provider_server.requests == []


def test_every_secret_and_required_setting_is_declared():
    # what the README table, `scrape list` and the test env cleanup are generated from
    declared = {s.name: s for spec in registry.PROVIDERS.values() for s in spec.settings}
    assert {n for n, s in declared.items() if s.secret} >= {
        "GOOGLE_API_KEY",
        "LAMBDA_API_KEY",
        "RUNPOD_API_KEY",
        "DATACRUNCH_CLIENT_ID",
        "DATACRUNCH_CLIENT_SECRET",
        "VAST_API_KEY",
    }
    assert all(s.help for s in declared.values())
