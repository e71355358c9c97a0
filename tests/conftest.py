"""Shared fixtures. Tests never touch the network: providers are replaced by recorded
responses (parse tests), respx (the thin fetch layer) or a real server on 127.0.0.1."""

from __future__ import annotations

import pytest

from scrapers import ecb
from scrapers.registry import PROVIDERS
from tests.support.server import ProviderServer

# Every setting a provider (or the ECB fetch) declares, from the one declaration in each
# ProviderSpec: a developer's real keys and region choices must never leak into a test
# run's archive or logs, nor change what a test fetches.
DECLARED_SETTINGS = sorted(
    {s.name for spec in PROVIDERS.values() for s in spec.settings} | {s.name for s in ecb.SETTINGS}
)


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_real_env_settings(monkeypatch):
    for key in DECLARED_SETTINGS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def _no_operator_settings(monkeypatch):
    # An operator's GPU_PRICES_* settings (SMTP host, paths, base URLs) must not change
    # what a test sees; tests set the ones they need.
    import os

    from pipelines.config import CONFIG_ENV, ENV_KEYS, ROOT_ENV

    for key in [*ENV_KEYS, CONFIG_ENV, ROOT_ENV]:
        monkeypatch.delenv(key, raising=False)
    for key in list(os.environ):
        if key.startswith("GPU_PRICES_") and key.endswith("_BASE_URL"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def example_datasets(tmp_path_factory):
    """README command 1's dataset: the example archive replayed (site and card included),
    once per session; tests only read it."""
    from pathlib import Path

    from pipelines.config import Config
    from pipelines.ops.run import run_providers
    from scrapers.registry import PROVIDERS

    root = tmp_path_factory.mktemp("example")
    cfg = Config.load(root=root, env={})
    archive = Path(__file__).parents[1] / "examples" / "archive"
    report = run_providers(sorted(PROVIDERS), config=cfg, replay=archive, alerts=False)
    assert report.dataset_version, report.providers
    assert not [n for n in report.notes if "site" in n], report.notes
    return cfg.datasets_dir


@pytest.fixture(scope="session")
def readme_command_1(tmp_path_factory):
    """`scrape run --all --replay examples/archive` as setup.sh runs it (a subprocess, the
    installed `scrape`), into a temp dir, once per session; returns its datasets dir.
    Tests read it; one that writes a file there puts it back as it was."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    base = tmp_path_factory.mktemp("readme-command-1")
    env = {
        **os.environ,
        "GPU_PRICES_DATASETS_DIR": str(base / "datasets"),
        "GPU_PRICES_ARCHIVE_DIR": str(base / "archive"),
    }
    scrape = Path(sys.executable).with_name("scrape")
    proc = subprocess.run(
        [str(scrape), "run", "--all", "--replay", "examples/archive"],
        cwd=Path(__file__).parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "price index failed" not in proc.stdout + proc.stderr
    return base / "datasets"
