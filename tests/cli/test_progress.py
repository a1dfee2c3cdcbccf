"""Progress of ``monitor run``: ticks from the job, rich bars on a terminal, plain timestamped
lines when piped (cron mail)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.job import PROGRESS_AOIS, PROGRESS_SCENES, run_job
from tests.cli.conftest import SimArchive

REPO = Path(__file__).resolve().parents[2]
BAR = "━"  # rich's bar glyph


def _settings(archive: SimArchive, where: Path) -> Settings:
    return Settings().replace(
        stac=str(archive.sim),
        collection=None,
        state_dir=where / "state",
        reports_dir=where / "reports",
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_run_ticks_every_aoi_and_scene_up_to_the_totals(
    pair_archive: SimArchive, tmp_path: Path, workers: int
) -> None:
    ticks: list[tuple[str, int, int]] = []
    settings = _settings(pair_archive, tmp_path)
    files = [str(p) for p in pair_archive.aoi_files.values()]
    result = run_job(
        settings,
        files,
        workers=workers,
        progress=lambda what, done, total: ticks.append((what, done, total)),
    )
    assert result.exit_code == 0
    for what in (PROGRESS_AOIS, PROGRESS_SCENES):
        mine = [(done, total) for w, done, total in ticks if w == what]
        assert mine[0][0] == 0, what
        dones = [d for d, _ in mine]
        assert dones == sorted(dones), f"{what} went backwards"
        assert len({t for _, t in mine}) == 1, f"{what} changed its total"
        assert mine[-1][0] == mine[-1][1], f"{what} did not reach its total"
    assert [d for w, d, t in ticks if w == PROGRESS_AOIS][-1] == len(files)
    scenes = [d for w, d, _ in ticks if w == PROGRESS_SCENES]
    assert scenes[-1] > 0
    if workers == 1:
        # Read in this process: one tick per scene.
        assert set(scenes) == set(range(scenes[-1] + 1))

    # Nothing new: totals of zero scenes, both AOIs still counted.
    ticks.clear()
    assert run_job(settings, files, progress=lambda *t: ticks.append(t)).exit_code == 0
    assert (PROGRESS_SCENES, 0, 0) in ticks and ticks[-1] == (PROGRESS_AOIS, 2, 2)


def _monitor_args(archive: SimArchive, where: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "monitor",
        "run",
        "--stac",
        str(archive.sim),
        *[arg for p in archive.aoi_files.values() for arg in ("--aoi", str(p))],
        "--state-dir",
        str(where / "state"),
        "--reports-dir",
        str(where / "reports"),
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100", "TERM": "xterm"}


@pytest.mark.slow
def test_a_terminal_gets_bars_and_a_pipe_gets_timestamped_lines(
    pair_archive: SimArchive, tmp_path: Path
) -> None:
    # On a pseudo-terminal: bars drawn while the run goes.
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        _monitor_args(pair_archive, tmp_path / "tty"),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=_env(),
        cwd=REPO,
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            child.kill()
            pytest.fail("no output from the run on the terminal for 120 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert child.wait(60) == 0
    shown = b"".join(chunks).decode("utf-8", errors="replace")
    assert BAR in shown and PROGRESS_SCENES in shown and PROGRESS_AOIS in shown
    assert "scenes:" in shown  # the summary is still printed

    # Piped (cron): no bars, no terminal codes, every line stamped with UTC time.
    piped = subprocess.run(
        _monitor_args(pair_archive, tmp_path / "pipe"),
        env=_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 0, piped.stderr[-500:]
    assert BAR not in piped.stdout and "\x1b[" not in piped.stdout
    lines = [line for line in piped.stdout.splitlines() if line.strip()]
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in lines), (
        lines[:5]
    )
