"""The command-line contract: every command present, help, version, exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import __version__
from monitor.cli.main import cli, main

CONTRACT_COMMANDS = [
    "aoi",
    "scenes",
    "run",
    "compare",
    "export",
    "report",
    "status",
    "rebuild",
    "cache",
    "claim",
    "review",
    "simulate",
    "demo",
]
STATE_FLAGS = [
    "--state-dir",
    "--reports-dir",
    "--config",
    "--aoi-dir",
    "--aoi",
    "--stac",
    "--collection",
]


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_console_script_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "monitor.cli.main", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    for name in CONTRACT_COMMANDS:
        assert re.search(rf"^\s+{name}\s", out.stdout, re.M), name


@pytest.mark.parametrize("command", CONTRACT_COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    # A docstring, not just the usage line.
    assert len(result.output.splitlines()) > 4


@pytest.mark.parametrize(
    "command",
    [
        "scenes",
        "run",
        "compare",
        "export",
        "report",
        "status",
        "rebuild",
        "cache",
        "claim",
        "review",
        "simulate",
        "demo",
    ],
)
def test_state_commands_take_the_contract_flags(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    for flag in STATE_FLAGS:
        assert flag in result.output, f"{command} lacks {flag}"


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenes", "--since", "yesterday"]) == 2
    assert "not a date" in capsys.readouterr().err
    assert main(["no-such-command"]) == 2


def test_reversed_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["compare", "--before", "2025-02-01/2025-01-01", "--after", "2025-12-01", "--out", "x"]
    )
    assert code == 2
    assert "ends before it starts" in capsys.readouterr().err


def test_malformed_config_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monitor.toml").write_text("state_dir = [\n")
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("monitor: error:") and "monitor.toml" in err
    assert len(err.strip().splitlines()) == 1
