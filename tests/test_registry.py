"""The registry is the one list of providers: every provider module is in it, has fixtures
with a README, declares what it was validated against, and shows in the README."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import scrapers
from pipelines.ops import docs
from scrapers.base import PRICING_MODELS, ProviderSpec
from scrapers.registry import PROVIDERS

ROOT = Path(__file__).resolve().parents[1]


def provider_modules() -> dict[str, ProviderSpec]:
    found = {}
    for info in pkgutil.iter_modules(scrapers.__path__):
        mod = importlib.import_module(f"scrapers.{info.name}")
        spec = getattr(mod, "PROVIDER", None)
        if isinstance(spec, ProviderSpec):
            found[info.name] = spec
    return found


def test_every_provider_module_is_registered_under_its_module_name():
    mods = provider_modules()
    assert mods, "no provider modules found"
    for module_name, spec in mods.items():
        assert spec.name == module_name, f"scrapers/{module_name}.py declares name {spec.name!r}"
        assert PROVIDERS.get(spec.name) is spec, f"{spec.name} missing from scrapers/registry.py"
    imported = {n for n, s in PROVIDERS.items() if s.import_format}
    assert set(PROVIDERS) - imported == {s.name for s in mods.values()}


def test_every_provider_has_fixtures_tests_and_a_validation_statement():
    for name, spec in PROVIDERS.items():
        if spec.import_format:  # fixtures per format: tests/scrapers/imports/test_formats.py
            fx = ROOT / "tests" / "fixtures" / "imports" / spec.import_format
            assert fx.is_dir() and (fx.parent / "README.md").is_file(), f"{name}: no fixtures"
            continue
        fx = ROOT / "tests" / "fixtures" / name
        assert fx.is_dir() and any(p.name != "README.md" for p in fx.iterdir()), (
            f"{name}: no fixtures"
        )
        assert (fx / "README.md").is_file(), f"{name}: fixtures have no README.md (source and date)"
        assert (ROOT / "tests" / "scrapers" / f"test_{name}.py").is_file(), f"{name}: no tests"
        va = spec.validated_against
        assert va == "documented schema only" or va.startswith("recorded response"), (
            f"{name}: {va!r}"
        )
        assert spec.source_urls and spec.pricing_models
        assert set(spec.pricing_models) <= set(PRICING_MODELS)


def test_readme_generated_sections_match_the_code():
    text = docs.README.read_text()
    for name in ("providers", "schema", "coverage"):
        assert f"<!-- {name}:start -->" in text
    assert docs.render(text) == text, "README is stale: run `python -m pipelines.ops.docs`"
