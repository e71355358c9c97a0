"""The one explicit list of providers. A provider exists for the CLI, the scheduler, the
README table and the tests only if it is listed here (tests/test_registry.py checks that
every module in scrapers/ with a PROVIDER is listed and has fixtures)."""

from __future__ import annotations

import importlib

from scrapers.base import ProviderSpec
from scrapers.imports.formats import IMPORT_PROVIDERS

# One entry per provider: the module name under scrapers/, which is also the provider id.
PROVIDER_MODULES = (
    "aws",
    "azure",
    "cloudrift",
    "colab",
    "coreweave",
    "crusoe",
    "cudo",
    "datacrunch",
    "digitalocean",
    "fluidstack",
    "gcp",
    "hyperstack",
    "jarvislabs",
    "kaggle",
    "lambdalabs",
    "linode",
    "nebius",
    "oracle",
    "ovhcloud",
    "paperspace",
    "runpod",
    "scaleway",
    "seeweb",
    "shadeform",
    "tensordock",
    "vastai",
    "voltagepark",
    "vultr",
)

PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (importlib.import_module(f"scrapers.{m}").PROVIDER for m in PROVIDER_MODULES)
}
# Providers fed only by `scrape import FORMAT` (third-party catalogs; scrapers/imports/).
PROVIDERS.update(IMPORT_PROVIDERS)


def get(name: str) -> ProviderSpec:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise KeyError(
            f"unknown provider {name!r}; known: {', '.join(sorted(PROVIDERS))}"
        ) from None
