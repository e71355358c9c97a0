"""The one explicit list of providers. A provider exists for the CLI, the scheduler, the
README table and the tests only if it is listed here (tests/test_registry.py checks that
every module in scrapers/ with a PROVIDER is listed and has fixtures)."""

from __future__ import annotations

from scrapers import (
    aws,
    azure,
    colab,
    datacrunch,
    gcp,
    lambdalabs,
    linode,
    oracle,
    ovhcloud,
    paperspace,
    runpod,
    scaleway,
    tensordock,
    vastai,
    vultr,
)
from scrapers.base import ProviderSpec

# One line per provider. Keep alphabetical within each block.
_MODULES = [
    aws,
    azure,
    colab,
    datacrunch,
    gcp,
    lambdalabs,
    linode,
    oracle,
    ovhcloud,
    paperspace,
    runpod,
    scaleway,
    tensordock,
    vastai,
    vultr,
]

PROVIDERS: dict[str, ProviderSpec] = {m.PROVIDER.name: m.PROVIDER for m in _MODULES}


def get(name: str) -> ProviderSpec:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise KeyError(
            f"unknown provider {name!r}; known: {', '.join(sorted(PROVIDERS))}"
        ) from None
