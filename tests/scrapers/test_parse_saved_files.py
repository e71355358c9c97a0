"""`scrape parse PROVIDER FILE...` works on the recorded files as saved: without `--url`
every response's kind is recognised from its content (issue 17 item 3), so the rows equal
the expected-output rows parsed with the URLs of `cases.toml`, except `source_url`, which is
then the file's own `file://` URL."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipelines.cli.main import app
from tests.support.regen_expected import Case, load_cases

CASES = load_cases()
URL_COLUMNS = {"source_url"}  # the only column the URL may change


def _without_urls(case: Case) -> list[str]:
    argv, out, skip = case.argv(), [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--url":
            skip = True
        else:
            out.append(arg)
    return out


def _rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_saved_files_parse_without_urls_to_the_same_rows(case: Case):
    result = CliRunner().invoke(app, _without_urls(case))
    assert result.exit_code == 0, result.stderr
    saved = _rows(result.stdout)
    expected = _rows(case.expected_path.read_text(encoding="utf-8"))
    assert all(r["source_url"].startswith("file://") for r in saved)
    drop = URL_COLUMNS
    assert [{k: v for k, v in r.items() if k not in drop} for r in saved] == [
        {k: v for k, v in r.items() if k not in drop} for r in expected
    ]
