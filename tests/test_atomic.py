"""Files replaced whole, and the temporary files a killed writer leaves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from monitor.atomic import (
    DEAD_WRITER_AFTER_S,
    STALE_AFTER_S,
    remove_stale_temporaries,
    temporary_path,
    write_atomically,
)


def _dead_pid() -> int:
    """The id of a process that has exited (reused by another only after a wrap-around)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _left(folder: Path, target: str, pid: int, age_s: float, tag: str = "0a1b2c3d") -> Path:
    """A temporary file as a writer ``pid`` killed ``age_s`` ago left it."""
    path = folder / f".{target}.{pid}.{tag}.tmp"
    path.write_bytes(b"half a page")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_write_atomically_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]
    tmp = temporary_path(target)
    assert tmp.parent == tmp_path and tmp.name.startswith(".page.html.")
    assert remove_stale_temporaries(tmp_path) == []


def test_only_stale_temporaries_of_ours_are_removed(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    old_of_dead = _left(tmp_path, "a.html", dead, DEAD_WRITER_AFTER_S + 5)
    fresh_of_dead = _left(tmp_path, "b.html", dead, 1)  # maybe another host's writer
    old_of_alive = _left(tmp_path, "c.html", alive, STALE_AFTER_S + 5)
    running = _left(tmp_path, "d.html", alive, DEAD_WRITER_AFTER_S + 5)  # a slow writer
    timelapse = tmp_path / f".e-timelapse.webp.{dead}.tmp"  # the timelapse's old naming
    timelapse.write_bytes(b"x")
    os.utime(timelapse, (time.time() - STALE_AFTER_S - 5,) * 2)
    others = [tmp_path / ".hidden.tmp", tmp_path / "page.html", tmp_path / ".x.gpkg.tmp"]
    for path in others:
        path.write_bytes(b"not ours")
        os.utime(path, (time.time() - STALE_AFTER_S - 5,) * 2)
    (tmp_path / "sub").mkdir()
    below = _left(tmp_path / "sub", "f.html", dead, STALE_AFTER_S + 5)

    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([old_of_dead, old_of_alive, timelapse])
    for kept in (fresh_of_dead, running, *others, below):
        assert kept.exists()


def test_targets_limit_what_is_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    page = _left(tmp_path, "kk-park.html", dead, STALE_AFTER_S + 5)
    export = _left(tmp_path, "detections.gpkg", dead, STALE_AFTER_S + 5)
    assert remove_stale_temporaries(tmp_path, re.compile(r".+\.html")) == [page]
    assert export.exists()


def test_a_missing_folder_removes_nothing(tmp_path: Path) -> None:
    assert remove_stale_temporaries(tmp_path / "none") == []


def test_a_killed_write_leaves_a_temporary_that_a_later_cleanup_removes(tmp_path: Path) -> None:
    """A writer killed (SIGKILL) while it writes leaves its temporary file and the old
    target; the cleanup removes the temporary once its writer is gone and it is old."""
    target = tmp_path / "page.html"
    target.write_bytes(b"old")
    code = (
        "import sys, os, signal\n"
        "from pathlib import Path\n"
        "import monitor.atomic as atomic\n"
        "real_fsync = os.fsync\n"
        "def killed(fd):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "atomic.os.fsync = killed\n"
        f"atomic.write_atomically(Path({str(target)!r}), b'new' * 1000)\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code],
        env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        check=False,
    )
    assert child.returncode == -9
    [left] = [p for p in tmp_path.iterdir() if p.name != "page.html"]
    assert target.read_bytes() == b"old" and left.name.startswith(".page.html.")
    assert remove_stale_temporaries(tmp_path) == [], "young: its writer may still be busy"
    later = time.time() + DEAD_WRITER_AFTER_S + 1
    assert remove_stale_temporaries(tmp_path, now=later) == [left]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]
