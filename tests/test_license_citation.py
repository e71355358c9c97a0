"""LICENSE, DATA-LICENSE.md and CITATION.cff agree with what the package and the Data
Package declare (one license for the code, one for the data, one homepage)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pipelines.ops.datapackage import LICENSE as DATA_LICENSE

ROOT = Path(__file__).resolve().parents[1]


def _cff() -> dict[str, str]:
    """Top-level `key: value` lines of CITATION.cff (no YAML library needed for those)."""
    out = {}
    for line in (ROOT / "CITATION.cff").read_text().splitlines():
        m = re.match(r'^([a-z-]+): "?([^"]*)"?$', line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_code_license_is_the_declared_one():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"]["text"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_data_license_and_citation_match_the_data_package():
    cff = _cff()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "dataset"
    assert cff["license"] == DATA_LICENSE["name"] == "CC-BY-4.0"
    assert cff["version"] == project["version"]
    assert cff["url"] == cff["repository-code"] == project["urls"]["Homepage"]
    statement = (ROOT / "DATA-LICENSE.md").read_text()
    assert DATA_LICENSE["path"] in statement and "CITATION.cff" in statement
