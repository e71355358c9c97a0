"""The shipped example archive holds real recordings only, each with its provenance
(issue 12, item 3)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from pipelines.cli.main import app
from pipelines.ingest.archive import Archive
from scrapers.registry import PROVIDERS

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "examples" / "archive"
FIXTURES = ROOT / "tests" / "fixtures"

# How the fixture READMEs mark a response that was not recorded.
MARKERS = (
    "constructed",
    "illustrative",
    "built for the tests",
    "placeholder",
    "documentation example",
)
NAME_MARKERS = ("constructed", "docs-example", "documented")


def _blocks(text: str) -> list[str]:
    """Paragraphs, table rows and list items of a README, each as one lower-case string."""
    out: list[str] = []
    cur: list[str] = []
    for line in text.lower().splitlines():
        s = line.strip()
        if not s or s.startswith(("|", "- ", "#")):
            if cur:
                out.append(" ".join(cur))
            cur = [s] if s else []
            continue
        cur.append(s)
    if cur:
        out.append(" ".join(cur))
    return out


def constructed_fixtures() -> dict[Path, str]:
    """Fixture files whose name or README says they are constructed/illustrative, and why."""
    out: dict[Path, str] = {}
    for d in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        readme = d / "README.md"
        blocks = _blocks(readme.read_text()) if readme.is_file() else []
        # Responses only: not the README, the expected-output cases or their outputs.
        files = [
            f
            for f in sorted(d.iterdir())
            if f.is_file()
            and f.name not in ("README.md", "cases.toml")
            and not f.name.endswith(".expected.jsonl")
        ]
        # A README about a single file, or one saying "every file here", marks them all.
        folder_wide = next(
            (
                b
                for b in blocks
                if ("every file here" in b or len(files) == 1) and any(m in b for m in MARKERS)
            ),
            None,
        )
        for f in files:
            name = f.name.lower()
            why = next((f"name {name}" for m in NAME_MARKERS if m in name), None)
            why = why or folder_wide
            why = why or next(
                (b for b in blocks if name in b and any(m in b for m in MARKERS)), None
            )
            if why:
                out[f] = why
    return out


def _example_lines() -> list[tuple[str, int, dict]]:
    out = []
    for manifest in sorted(EXAMPLE.glob("*/manifest.jsonl")):
        for n, line in enumerate(manifest.read_text().splitlines(), 1):
            out.append((manifest.parent.name, n, json.loads(line)))
    return out


def test_every_example_manifest_line_has_a_provenance():
    lines = _example_lines()
    assert len(lines) >= 10
    missing = [f"{p}:{n}" for p, n, e in lines if not str(e.get("provenance") or "").strip()]
    assert missing == []
    # Each names a public repository + commit or a URL + date, or (Colab free tier) the
    # window of this repository's records file, whose rows name their threads.
    for p, n, e in lines:
        text = e["provenance"]
        where = " @ " in text or (p == "colab_free_tier" and " window " in text)
        assert where and any(c.isdigit() for c in text), f"{p}:{n}: {text}"


def test_no_example_blob_is_a_constructed_fixture():
    marked = constructed_fixtures()
    # The rule finds the fixtures the issue names (so the check below can fail).
    names = {f"{f.parent.name}/{f.name}" for f in marked}
    for expected in (
        "azure/gpu-page1.json",
        "colab/signup_constructed.html",
        "paperspace/pricing_index.html.md",
        "runpod/graphql_gpuTypes_docs-example_A100-80GB-PCIe.json",
        "tensordock/hostnodes_one-node_l40_2024.json",
        "aws/get-products_item_p4d.24xlarge_us-east-1_reserved_constructed.json",
        "datacrunch/instance-availability_is_spot-false_constructed.json",
        "lambdalabs/instance-types_documented-schema_2026-05.json",
    ):
        assert expected in names
    constructed = {f.read_bytes(): f for f in marked}
    bodies = {blob: gzip.decompress(blob.read_bytes()) for blob in EXAMPLE.glob("*/blobs/*/*.gz")}
    # Each distinct body is stored once (imported snapshots repeat theirs).
    assert len(bodies) == len({(p, e["sha256"]) for p, _, e in _example_lines()})
    clashes = {str(b): str(constructed[body]) for b, body in bodies.items() if body in constructed}
    assert clashes == {}


def test_example_archive_verifies_and_covers_only_registered_sources():
    problems, counts = Archive(EXAMPLE).verify()
    distinct = {(p, e["sha256"]) for p, _, e in _example_lines()}
    assert problems == [] and counts["blobs"] == len(distinct)
    covered = set(Archive(EXAMPLE).providers())
    assert covered - {"ecb"} <= set(PROVIDERS)
    # Only providers validated against a real recording are in the example (the live
    # Azure provider, Colab and TensorDock have none yet; Lambda's is its pricing page).
    assert not covered & {"azure", "colab", "tensordock"}
    assert all(PROVIDERS[p].validated_against.startswith("recorded") for p in covered - {"ecb"})


def test_scrape_list_says_which_providers_the_example_covers():
    result = CliRunner().invoke(app, ["list", "--json"])
    assert result.exit_code == 0
    rows = {r["provider"]: r["example_responses"] for r in json.loads(result.output)}
    expected = {p: 0 for p in PROVIDERS}
    for p, _, _ in _example_lines():
        if p in expected:
            expected[p] += 1
    assert rows == expected
    table = CliRunner().invoke(app, ["list"], terminal_width=250)
    assert "in example" in table.output
    covered = sum(1 for v in expected.values() if v)
    assert f"covers {covered} of {len(PROVIDERS)} providers" in table.output
