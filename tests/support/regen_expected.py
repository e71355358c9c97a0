"""Expected-output fixtures: the cases, and the maintainer command that rewrites them.

Each provider's `tests/fixtures/<provider>/cases.toml` lists the recorded responses that parse
successfully, grouped as they are parsed together (page 1 + page 2, several response kinds):

    [[case]]
    name = "gpu-pages"                      # -> gpu-pages.expected.jsonl beside the files
    files = ["gpu-page1.json", "gpu-page2.json"]
    url = "https://prices.azure.com/api/retail/prices"   # or urls = [...], one per file
    observed_at = "2026-11-01T04:15:00Z"    # the recording's date
    fx = ["../ecb/eurofxref-daily_2024-05-28.xml"]       # optional ECB files (default: none)

A case's expected file is exactly the output of

    scrape parse PROVIDER FILE... --format jsonl --observed-at T --url U... (--fx F... | --no-fx)

(printed by this module for each case). Regenerate them all after an intended parser change,
then review the data diff:

    python -m tests.support.regen_expected            # all providers
    python -m tests.support.regen_expected azure aws  # some
"""

from __future__ import annotations

import shlex
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
MANIFEST = "cases.toml"
SUFFIX = ".expected.jsonl"


@dataclass(frozen=True)
class Case:
    provider: str
    name: str
    files: tuple[Path, ...]
    urls: tuple[str, ...]
    observed_at: str
    fx: tuple[Path, ...] = ()
    folder: Path | None = None  # where the expected file lives (default: the provider's)

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.name}"

    @property
    def expected_path(self) -> Path:
        return (self.folder or FIXTURES / self.provider) / f"{self.name}{SUFFIX}"

    def argv(self, relative: bool = False) -> list[str]:
        """`scrape parse` arguments for this case (paths relative to the repo root if asked)."""

        def p(path: Path) -> str:
            return str(path.relative_to(ROOT)) if relative else str(path)

        args = ["parse", self.provider, *map(p, self.files), "--format", "jsonl"]
        args += ["--observed-at", self.observed_at]
        for u in self.urls:
            args += ["--url", u]
        if self.fx:
            for f in self.fx:
                args += ["--fx", p(f)]
        else:
            args.append("--no-fx")
        return args


def _case(provider: str, folder: Path, raw: dict) -> Case:
    where = f"{folder.relative_to(ROOT)}/{MANIFEST}"
    unknown = set(raw) - {"name", "files", "url", "urls", "observed_at", "fx", "provider"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} in case {raw.get('name')!r}")
    files = tuple((folder / f).resolve() for f in raw["files"])
    urls = tuple(raw["urls"]) if "urls" in raw else (raw["url"],)
    if len(urls) not in (1, len(files)):
        raise ValueError(f"{where}: case {raw['name']!r} needs one url or one per file")
    return Case(
        provider=raw.get("provider", provider),
        folder=folder,
        name=raw["name"],
        files=files,
        urls=urls,
        observed_at=raw["observed_at"],
        fx=tuple((folder / f).resolve() for f in raw.get("fx", ())),
    )


def load_cases(providers: list[str] | None = None) -> list[Case]:
    cases = []
    # Import formats keep their fixtures per format (imports/<format>/), each case naming
    # the provider id it parses for.
    manifests = sorted(FIXTURES.glob(f"*/{MANIFEST}")) + sorted(
        FIXTURES.glob(f"imports/*/{MANIFEST}")
    )
    for manifest in manifests:
        with manifest.open("rb") as fh:
            doc = tomllib.load(fh)
        for raw in doc.get("case", []):
            case = _case(manifest.parent.name, manifest.parent, raw)
            if not providers or case.provider in providers:
                cases.append(case)
    return cases


def run_parse(case: Case) -> tuple[int, str, str]:
    """Run `scrape parse` for the case in process: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from pipelines.cli.main import app

    result = CliRunner().invoke(app, case.argv())
    return result.exit_code, result.stdout, result.stderr


def main(argv: list[str]) -> int:
    cases = load_cases(argv or None)
    if argv and {c.provider for c in cases} != set(argv):
        print(f"no cases for: {', '.join(sorted(set(argv) - {c.provider for c in cases}))}")
        return 2
    for case in cases:
        print(shlex.join(["scrape", *case.argv(relative=True)]))
        code, out, err = run_parse(case)
        if code != 0:
            print(f"  FAILED (exit {code}): {err.strip()}")
            return 1
        case.expected_path.write_text(out, encoding="utf-8")
        print(f"  -> {case.expected_path.relative_to(ROOT)} ({out.count(chr(10))} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
