"""The state lock: one run at a time, a named holder, stale files taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor.errors import EXIT_LOCKED, LockHeld, StateError
from monitor.store import lock_path, read_lock_holder, state_lock

REPO = Path(__file__).resolve().parents[2]

_HOLD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from monitor.store import state_lock
    with state_lock(Path(sys.argv[1]), "monitor run (child)"):
        print("locked", flush=True)
        sys.stdin.read()  # hold until the parent closes stdin or kills us
""")


def _start_holder(state_dir: Path) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(state_dir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    line = child.stdout.readline()
    assert line.strip() == "locked", child.stderr.read()
    return child


def _reap(child: subprocess.Popen) -> None:
    """Close the child's pipes (stdin last tells it to release) and wait for it."""
    for pipe in (child.stdin, child.stdout, child.stderr):
        pipe.close()
    child.wait(timeout=30)


def test_lock_writes_holder_and_empties_on_release(tmp_path: Path) -> None:
    with state_lock(tmp_path / "state", "monitor run") as info:
        body = json.loads(lock_path(tmp_path / "state").read_text())
        assert body["pid"] == os.getpid() and body["holder"] == "monitor run"
        assert body["host"] and body["started_at"].endswith("Z")
        assert read_lock_holder(tmp_path / "state") == info
        assert info.replaced is None
    assert lock_path(tmp_path / "state").exists()
    assert read_lock_holder(tmp_path / "state") is None
    with state_lock(tmp_path / "state", "again"):  # free again after release
        pass


def test_second_lock_in_same_process_is_refused(tmp_path: Path) -> None:
    with state_lock(tmp_path, "monitor run"):
        with pytest.raises(LockHeld) as caught:
            with state_lock(tmp_path, "monitor report"):
                pytest.fail("took a held lock")
    assert caught.value.exit_code == EXIT_LOCKED
    assert f"another run holds the lock: monitor run (pid {os.getpid()} on " in str(caught.value)


def test_lock_held_by_another_process_names_it(tmp_path: Path) -> None:
    child = _start_holder(tmp_path)
    try:
        with pytest.raises(LockHeld) as caught:
            with state_lock(tmp_path, "monitor run"):
                pytest.fail("took a lock another process holds")
        message = str(caught.value)
        assert "another run holds the lock: monitor run (child)" in message
        assert f"(pid {child.pid} on " in message and " since 20" in message
        assert "\n" not in message
        assert read_lock_holder(tmp_path).pid == child.pid  # readable without the lock
    finally:
        _reap(child)
    assert child.returncode == 0
    with state_lock(tmp_path, "monitor run"):
        pass


def test_stale_lock_of_killed_holder_is_taken_over(tmp_path: Path) -> None:
    child = _start_holder(tmp_path)
    child.send_signal(signal.SIGKILL)
    _reap(child)
    stale = read_lock_holder(tmp_path)
    assert stale is not None and stale.pid == child.pid  # the body outlived its process
    with state_lock(tmp_path, "monitor run") as info:
        assert info.replaced == stale
        assert read_lock_holder(tmp_path).pid == os.getpid()


def test_lock_in_uncreatable_dir_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateError, match=str(tmp_path / "file")):
        with state_lock(tmp_path / "file" / "state", "monitor run"):
            pass
