"""Shared fixtures. Tests never touch the network: providers are replaced by recorded
responses (parse tests), respx (the thin fetch layer) or a real server on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.server import ProviderServer


@pytest.fixture
def provider_server():
    with ProviderServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_real_env_secrets(monkeypatch):
    # A developer's real keys must never leak into a test run's archive or logs.
    for key in (
        "GOOGLE_API_KEY",
        "LAMBDA_API_KEY",
        "RUNPOD_API_KEY",
        "DATACRUNCH_CLIENT_ID",
        "DATACRUNCH_CLIENT_SECRET",
        "SCW_SECRET_KEY",
    ):
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
