"""Every command that needs a state refuses a folder without one in the same words."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_cli

MESSAGE = "no state here (run `monitor run` first)"

#: Each state-needing command with the flags it needs to get as far as the state.
COMMANDS = {
    "report": ["report", "--reports-dir", "{tmp}/reports"],
    "review": ["review", "--id", "x", "--verdict", "unsure"],
    "rebuild": ["rebuild"],
    "export": ["export", "--format", "geojson", "--out", "{tmp}/out.geojson"],
    "export-timeline": ["export", "--format", "timeline", "--out", "{tmp}/out.csv"],
    "claim": [
        "claim",
        "--aoi",
        "kk-park",
        "--by",
        "2024-06-01",
        "--demolished",
        "1",
        "--total",
        "2",
    ],
}


@pytest.mark.parametrize("made", [False, True], ids=["absent", "empty"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_without_a_state_gives_the_one_message(
    command: str, made: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    if made:
        state.mkdir()
    argv = [a.format(tmp=tmp_path) for a in COMMANDS[command]]
    assert run_cli([*argv, "--state-dir", state]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{state}: {MESSAGE}" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["state"] if made else [])
    if made:
        assert list(state.iterdir()) == []
