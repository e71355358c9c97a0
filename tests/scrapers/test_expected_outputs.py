"""Expected-output fixtures: `scrape parse ... --format jsonl` on every recorded response that
parses successfully gives exactly its `<case>.expected.jsonl` (cases in each provider's
`tests/fixtures/<provider>/cases.toml`). A parser change shows up as a data diff; after an
intended one, regenerate with `python -m tests.support.regen_expected` and review the diff."""

from __future__ import annotations

import json

import pytest

from scrapers.registry import PROVIDERS
from tests.support.regen_expected import FIXTURES, ROOT, SUFFIX, Case, load_cases

CASES = load_cases()
SHOWN_MISMATCHES = 3


def _diff(expected: list[dict], actual: list[dict]) -> str:
    lines = [f"{len(expected)} expected row(s), {len(actual)} parsed"]
    shown = 0
    for i in range(max(len(expected), len(actual))):
        exp = expected[i] if i < len(expected) else None
        act = actual[i] if i < len(actual) else None
        if exp == act:
            continue
        if exp is None or act is None:
            lines.append(f"row {i}: expected {exp}\n        parsed   {act}")
        else:
            fields = {k for k in exp.keys() | act.keys() if exp.get(k) != act.get(k)}
            lines.append(f"row {i} ({exp.get('offer_key')}):")
            lines += [
                f"    {k}: expected {exp.get(k)!r}, parsed {act.get(k)!r}" for k in sorted(fields)
            ]
        shown += 1
        if shown == SHOWN_MISMATCHES:
            lines.append("...")
            break
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parse_gives_the_expected_rows(case: Case):
    from tests.support.regen_expected import run_parse

    assert case.expected_path.is_file(), (
        f"{case.expected_path.relative_to(ROOT)} missing: python -m tests.support.regen_expected "
        f"{case.provider}"
    )
    code, out, err = run_parse(case)
    assert code == 0, err
    expected_text = case.expected_path.read_text(encoding="utf-8")
    if out != expected_text:
        expected = [json.loads(line) for line in expected_text.splitlines()]
        actual = [json.loads(line) for line in out.splitlines()]
        pytest.fail(
            f"{case.id}: parse differs from {case.expected_path.relative_to(ROOT)}\n"
            + _diff(expected, actual)
            + "\n(intended? python -m tests.support.regen_expected "
            + f"{case.provider}, then review the diff)",
            pytrace=False,
        )


def test_every_registered_provider_has_an_expected_case():
    missing = sorted(set(PROVIDERS) - {c.provider for c in CASES})
    assert not missing, f"providers without an expected-output case in cases.toml: {missing}"


def test_every_expected_file_belongs_to_a_case():
    # A renamed or dropped case must not leave a stale file that nothing checks.
    declared = {c.expected_path for c in CASES}
    stray = sorted(
        str(p.relative_to(ROOT))
        for p in [*FIXTURES.glob(f"*/*{SUFFIX}"), *FIXTURES.glob(f"imports/*/*{SUFFIX}")]
        if p not in declared
    )
    assert not stray, f"expected-output files without a case in cases.toml: {stray}"


def test_expected_rows_are_stable_text():
    # Sorted by offer key, columns in schema order, no absolute local paths.
    for case in CASES:
        rows = [json.loads(x) for x in case.expected_path.read_text().splitlines()]
        keys = [(r["offer_key"], r["observed_at"]) for r in rows]
        assert keys == sorted(keys), case.id
        assert all(not (r["source_url"] or "").startswith("file:") for r in rows), case.id


def test_fixture_readmes_cite_sources_without_local_paths():
    # Sources are cited by repository path or URL: a reader's machine has no /work or /home.
    local = ("/work/", "/home/", "/tmp/", "/Users/", "file://", "../shared/")
    for readme in sorted(FIXTURES.glob("**/README.md")):
        text = readme.read_text(encoding="utf-8")
        found = [p for p in local if p in text]
        assert not found, f"{readme.relative_to(ROOT)} cites local paths {found}"
