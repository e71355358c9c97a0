"""Generated parts of the README: the provider table and the schema table.

`python -m pipelines.ops.docs` rewrites the marked sections of README.md from the registry and
the catalogue of published tables (pipelines/tables.py); tests/test_readme.py fails when the README and the code disagree, so
the README's provider table always matches `scrape list`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pipelines.schema import Field
from pipelines.tables import CATALOGUE, PRICES

README = Path(__file__).resolve().parents[2] / "README.md"


def provider_table() -> str:
    from scrapers.registry import PROVIDERS

    lines = ["| provider | pricing models | settings | validated against |", "|---|---|---|---|"]
    for s in sorted(PROVIDERS.values(), key=lambda s: s.name):
        needs = "<br>".join(x.describe(code="`").replace("|", "/") for x in s.settings) or "-"
        va = s.validated_against.replace("|", "/")
        lines.append(f"| `{s.name}` ({s.title}) | {', '.join(s.pricing_models)} | {needs} | {va} |")
    return "\n".join(lines)


def _schema_rows(fields: tuple[Field, ...]) -> list[str]:
    return [
        f"| `{f.name}` | {f.type} | {f.unit or ''} | {f.description.replace('|', '/')} |"
        for f in fields
    ]


def schema_table() -> str:
    """One table of columns per published table of the catalogue (pipelines/tables.py)."""
    out: list[str] = []
    for table in CATALOGUE:
        kind = "directory of Parquet parts" if table.is_directory else "Parquet file"
        key = ", ".join(f"`{k}`" for k in table.primary_key)
        out += [
            f"### `datasets/{table.file}`",
            "",
            f"{table.title} ({kind}). {table.description} Primary key: {key}.",
            "",
            "| column | type | unit | description |",
            "|---|---|---|---|",
            *_schema_rows(table.fields),
            "",
        ]
    return "\n".join(out).rstrip()


def files_table() -> str:
    """What `datasets/` holds: the catalogue's tables, then the feed and the package."""
    from pipelines.notify.feed import FEED_NAME
    from pipelines.ops.datapackage import PACKAGE_FILE, PRICES_SCHEMA_FILE

    lines = ["| file | what |", "|---|---|"]
    lines += [f"| `datasets/{t.file}` | {t.title}: {t.description} |" for t in CATALOGUE]
    lines += [
        f"| `datasets/{FEED_NAME}` | Atom feed of recent change events |",
        f"| `datasets/{PACKAGE_FILE}` | Frictionless Data Package: every Parquet file with its "
        "schema, units, row count and sha256, the dataset version and the schema version; "
        f"`frictionless validate datasets/{PACKAGE_FILE}` checks every row |",
        f"| `datasets/{PRICES_SCHEMA_FILE}` | the Table Schema shared by the parts of "
        f"`{PRICES.file}` in the Data Package (likewise `<table>.schema.json` for the other "
        "directories of parts) |",
    ]
    return "\n".join(lines)


def coverage_table() -> str:
    from pipelines.derive.specs import coverage

    c = coverage()
    labels = {
        "fp64": "FP64",
        "fp32": "FP32",
        "tf32": "TF32 tensor",
        "fp16": "FP16 tensor",
        "bf16": "BF16 tensor",
        "fp8": "FP8 tensor",
        "int8": "INT8 tensor (TOPS)",
        "memory_bandwidth": "memory bandwidth",
        "tdp": "TDP",
    }
    lines = [
        f"{c['rows']} variant rows over {c['models']} GPU models.",
        "",
        "| figure | rows with a value |",
        "|---|---|",
    ]
    lines += [f"| {label} | {c[key]} |" for key, label in labels.items()]
    return "\n".join(lines)


def example_table() -> str:
    """What examples/archive covers, one row per response with its manifest provenance."""
    from pipelines.ingest.archive import EXAMPLE_ARCHIVE, Archive
    from scrapers.registry import PROVIDERS

    arch = Archive(EXAMPLE_ARCHIVE)
    lines = ["| source | kind | recorded where (manifest `provenance`) |", "|---|---|---|"]
    for name in arch.providers():
        if name in PROVIDERS and PROVIDERS[name].import_format:
            continue  # hundreds of snapshots each: summarized in history_table
        for e in arch.entries(name):
            where = e.get("provenance", "").replace("|", "/")
            lines.append(f"| `{name}` | {e.get('kind') or '-'} | {where} |")
    absent = sorted(set(PROVIDERS) - set(arch.providers()))
    lines += ["", f"Not in the example (no real recording): {', '.join(f'`{n}`' for n in absent)}."]
    return "\n".join(lines)


def index_methodology() -> str:
    from pipelines.derive.index import methodology_markdown

    return methodology_markdown()


def history_table() -> str:
    """The imported catalog histories in examples/archive: one row per source."""
    from pipelines.ingest.archive import EXAMPLE_ARCHIVE, Archive
    from scrapers.imports.formats import FORMATS
    from scrapers.registry import PROVIDERS

    arch = Archive(EXAMPLE_ARCHIVE)
    lines = [
        "| source (license) | provider | format | from | to | snapshots | offers in the last |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in arch.providers():
        spec = PROVIDERS.get(name)
        if spec is None or not spec.import_format:
            continue
        runs = arch.runs(name)
        fmt = FORMATS[spec.import_format]
        last = spec.parse(list(arch.iter_responses(runs[-1])))
        lines.append(
            f"| {fmt.source} ({fmt.license}) | `{name}` | `{fmt.name}` "
            f"| {runs[0].fetched_at:%Y-%m-%d} | {runs[-1].fetched_at:%Y-%m-%d} | {len(runs)} "
            f"| {len(last.offers)} |"
        )
    return "\n".join(lines)


SECTIONS = {
    "providers": provider_table,
    "index": index_methodology,
    "files": files_table,
    "schema": schema_table,
    "coverage": coverage_table,
    "example": example_table,
    "history": history_table,
}


def render(text: str) -> str:
    for name, fn in SECTIONS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        text = pattern.sub(lambda m, fn=fn: m.group(1) + fn() + "\n" + m.group(2), text)
    return text


def main() -> int:
    text = README.read_text()
    new = render(text)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    README.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
