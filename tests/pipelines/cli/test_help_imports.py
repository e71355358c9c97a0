"""`scrape --help` (and every command's --help) answers without importing pandas, pyarrow or
deltalake: a user asking for help does not wait for the data stack to load (issue 14)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from typer.testing import CliRunner
from pipelines.cli.main import app
result = CliRunner().invoke(app, {args!r})
assert result.exit_code == 0, result.output
heavy = sorted(m for m in ("pandas", "pyarrow", "deltalake", "polars") if m in sys.modules)
print(",".join(heavy))
"""


@pytest.mark.parametrize("args", [["--help"], ["diff", "--help"], ["top", "--help"]])
def test_help_does_not_import_the_data_stack(args):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == ""
