"""Issue 16 finding 12: a wrong directory, path or name is one line on stderr and a non-zero
exit, never an empty success (and never a directory created where the command ran)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli.main import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "archive"
PAGE = str(REPO / "tests" / "fixtures" / "azure" / "gpu-page1.json")


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """The working directory is not the project (no gpu-prices.toml, no examples/)."""
    monkeypatch.chdir(tmp_path)
    for var in ("GPU_PRICES_ROOT", "GPU_PRICES_CONFIG", "GPU_PRICES_DATASETS_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def one_line_error(res, code: int = 2) -> str:
    assert res.exit_code == code, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.output
    return lines[0]


def test_finding_12_replay_from_another_directory_fails_and_creates_nothing(elsewhere):
    res = runner.invoke(app, ["run", "--all", "--replay", "examples/archive"])
    line = one_line_error(res)
    assert "--replay archive examples/archive does not exist" in line
    assert list(elsewhere.iterdir()) == []  # no ./datasets/


def test_finding_12_replay_of_a_missing_path_fails(elsewhere):
    line = one_line_error(runner.invoke(app, ["run", "--all", "--replay", "/nope"]))
    assert "/nope does not exist" in line


def test_finding_12_replay_of_a_directory_without_manifest_fails(elsewhere):
    (elsewhere / "not-an-archive" / "aws").mkdir(parents=True)
    res = runner.invoke(app, ["run", "--all", "--replay", "not-an-archive"])
    assert "not an archive (no <provider>/manifest.jsonl" in one_line_error(res)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["not-an-archive"]


def test_finding_12_replay_matching_no_provider_fails(elsewhere):
    res = runner.invoke(app, ["run", "azure", "--replay", str(EXAMPLES)])
    line = one_line_error(res)
    assert "no archived responses for azure" in line and "it holds: aws" in line
    # Named explicitly, every provider must be in the archive.
    res = runner.invoke(app, ["run", "linode", "azure", "--replay", str(EXAMPLES)])
    assert "no archived responses for azure" in one_line_error(res)


def test_finding_12_unknown_provider_says_did_you_mean(elsewhere):
    for args in (["run", "awz"], ["parse", "awz", PAGE]):
        line = one_line_error(runner.invoke(app, args))
        assert "unknown provider 'awz' (did you mean 'aws'?)" in line, args
    assert "not both" in one_line_error(runner.invoke(app, ["run", "--all", "aws"]))


@pytest.mark.parametrize("name", ["../x", "/etc/x", "linode/../../x"])
def test_finding_11_path_like_provider_names_are_refused_by_every_command(elsewhere, name):
    """`scrape parse ../x FILE` printed a traceback (and `archive add ../x` wrote outside the
    archive: tests/pipelines/ingest/test_archive.py)."""
    for args in (["parse", name, PAGE], ["run", name], ["run", name, "--replay", str(EXAMPLES)]):
        line = one_line_error(runner.invoke(app, args))
        assert f"unknown provider {name!r}" in line, args
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--pricing", "cheap"], "unknown --pricing 'cheap'; one of: on_demand, spot"),
        (["--pricing", "spto"], "unknown --pricing 'spto' (did you mean 'spot'?)"),
        (["--precision", "fp33"], "unknown --precision 'fp33' (did you mean 'fp32'?)"),
        (["--gpu", "H9000"], "unknown GPU model for --gpu: 'H9000' (did you mean"),
        ([], "datasets directory"),
    ],
)
def test_finding_12_top_inputs_are_checked_before_anything_is_read(elsewhere, args, expected):
    """`top --pricing cheap` printed "no offers" and exited 0."""
    line = one_line_error(runner.invoke(app, ["top", *args]))
    assert expected in line
    if not args:
        assert f"project root {elsewhere}" in line and "does not exist" in line


def test_finding_12_read_commands_refuse_a_missing_datasets_directory(elsewhere):
    for args in (["versions"], ["status"], ["versions", "--datasets", "nope"]):
        line = one_line_error(runner.invoke(app, args))
        assert "datasets directory" in line and "does not exist" in line, args
    (elsewhere / "datasets").mkdir()
    assert "nothing published in" in one_line_error(runner.invoke(app, ["versions"]))
    assert runner.invoke(app, ["status"]).exit_code == 1  # stale: never ran
    assert list(elsewhere.iterdir()) == [elsewhere / "datasets"]
    assert list((elsewhere / "datasets").iterdir()) == []  # status created no lock files


def test_finding_12_unknown_gpu_name_in_gpus_show_exits_1(elsewhere):
    res = runner.invoke(app, ["gpus", "show", "H100", "H9000"])
    assert res.exit_code == 1
    assert res.stderr.strip() == "unknown GPU name 'H9000' (did you mean 'H800'?)"
    listed = runner.invoke(app, ["gpus", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and re.search(r"H100 .*SXM 80 GB", listed.stdout)


def _commands_with_format() -> set[str]:
    root = typer.main.get_command(app)

    def walk(cmd, path: str):
        if hasattr(cmd, "commands"):  # a group
            for name, sub in cmd.commands.items():
                yield from walk(sub, f"{path} {name}".strip())
        elif any("--format" in p.opts for p in cmd.params):
            yield path

    return set(walk(root, ""))


FORMAT_CASES = {
    "parse": ["parse", "azure", PAGE, "--no-fx"],
    "diff": ["diff", PAGE, PAGE],
}


def test_finding_12_every_format_option_is_listed_here():
    assert _commands_with_format() == set(FORMAT_CASES)


@pytest.mark.parametrize("command", sorted(FORMAT_CASES))
def test_finding_12_unknown_format_is_an_error(elsewhere, command):
    """`--format xml` printed JSONL and exited 0."""
    res = runner.invoke(app, [*FORMAT_CASES[command], "--format", "xml"])
    line = one_line_error(res)
    assert "unknown --format 'xml'" in line and "table" in line
    assert res.stdout == ""


def test_finding_12_unsubscribe_token_starting_with_a_dash_is_a_token(tmp_path):
    """A token_urlsafe token starts with "-" one time in 64: it is not an option."""
    env = {"GPU_PRICES_STATE_DIR": str(tmp_path)}
    assert runner.invoke(app, ["alerts", "subscribe", "ada@example.org"], env=env).exit_code == 0
    res = runner.invoke(app, ["alerts", "unsubscribe-token", "-Xy_no-such-token"], env=env)
    assert res.exit_code == 1 and res.stderr.strip() == "unknown token"
