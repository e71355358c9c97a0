"""What a new user reads first: every command's --help works and says what it means."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from pipelines.cli.main import app

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    def walk(cmd, path: list[str]):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


def test_every_help_page_renders():
    paths = _command_paths()
    assert ["run"] in paths and ["gpus", "list"] in paths and ["alerts", "send"] in paths
    for path in paths:
        res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert res.exit_code == 0, (path, res.output)
        assert "Usage: " in res.stdout


def test_bracketed_help_text_is_not_eaten_as_markup():
    """In typer's "rich" help mode, "[default: ...]" and "[smtp]" in a help text vanished."""
    diff = runner.invoke(app, ["diff", "--help"], env={"COLUMNS": "200"}).stdout
    assert "[default: GPU_PRICES_REMOVAL_CONFIRM_RUNS or 2]" in diff
    alerts = runner.invoke(app, ["alerts", "--help"], env={"COLUMNS": "200"}).stdout
    assert "(the [smtp] settings)" in alerts


def test_default_paths_are_documented_as_project_root_relative():
    for cmd in (["run"], ["top"], ["status"], ["versions"], ["schedule"]):
        text = " ".join(runner.invoke(app, [*cmd, "--help"], env={"COLUMNS": "200"}).stdout.split())
        assert "(default: datasets/ in the project root)" in text, cmd
