"""Providers declare the currencies they publish in (`ProviderSpec.currencies`): a live run
fetches the ECB reference rates only when some provider declares a non-USD one, so an
undeclared currency means empty USD columns on every live run (issue 16 finding 3)."""

from __future__ import annotations

import json

import pytest

from scrapers.registry import PROVIDERS
from tests.support.regen_expected import load_cases

CASES = load_cases()


def _published_currencies(provider: str) -> set[str]:
    out: set[str] = set()
    for case in CASES:
        if case.provider == provider:
            text = case.expected_path.read_text(encoding="utf-8")
            out |= {json.loads(line)["currency"] for line in text.splitlines()}
    return out


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_finding_03_every_currency_a_recording_publishes_is_declared(name):
    published = _published_currencies(name)
    assert published <= set(PROVIDERS[name].currencies), (
        f"{name} publishes {sorted(published)} but declares {PROVIDERS[name].currencies}"
    )


def test_finding_03_euro_providers_declare_eur():
    # Scaleway and OVHcloud (FR subsidiary) price in EUR; everything else here in USD.
    assert {n for n, s in PROVIDERS.items() if set(s.currencies) - {"USD"}} >= {
        "scaleway",
        "ovhcloud",
    }
