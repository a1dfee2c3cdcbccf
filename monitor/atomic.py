"""Replacing a file whole: a reader sees the old file or the new one, never half of one.

Standard library only, so that any stage may use it (chips, pages, exports).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

__all__ = ["write_atomically", "temporary_path", "remove_stale_temporaries", "STALE_AFTER_S"]

#: A temporary file of ours untouched this long is left by a killed writer, whoever wrote
#: it: a write of the largest page (10.6 MB) or timelapse takes seconds. A writer stalled
#: longer (stopped, a hung disk) loses its write with an error; the old file stays.
STALE_AFTER_S = 3600.0
#: A temporary file whose writer is no longer running on this host (its pid in the name) is
#: left by a killed writer once it is this old: the grace covers a writer on another host
#: sharing the folder, whose pid means nothing here.
DEAD_WRITER_AFTER_S = 120.0

# ``.<name>.<pid>.<8 hex>.tmp`` (write_atomically), and ``.<name>.<pid>.tmp`` that the
# timelapse writer used before it wrote through write_atomically.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)(?:\.[0-9a-f]{8})?\.tmp$")


def temporary_path(path: Path) -> Path:
    """The hidden temporary name :func:`write_atomically` writes ``path`` through: beside it,
    with this process's id (which :func:`remove_stale_temporaries` reads) and a random tag."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file in the same folder, flushed
    to disk, then ``os.replace``: a kill at any point leaves the old file or the new one
    (and, after a kill, the temporary file: see :func:`remove_stale_temporaries`).
    The temporary file is removed on any failure; errors propagate as they are."""
    tmp = temporary_path(path)
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (one of another user counts as running)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temporaries(
    folder: Path, targets: re.Pattern[str] | None = None, *, now: float | None = None
) -> list[Path]:
    """Remove the temporary files a killed :func:`write_atomically` left in ``folder`` (not
    its subfolders); return the paths removed.

    Only files of our naming pattern are touched, only those of targets matching
    ``targets`` when given, and only stale ones: untouched for ``STALE_AFTER_S``, or for
    ``DEAD_WRITER_AFTER_S`` when the process named in them is not running here. Writers
    running at the same time (two ``monitor report``, a run and a report: the report
    takes no lock) keep their files. Files that vanish or cannot be removed meanwhile are
    skipped; a folder that cannot be listed removes nothing.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or (targets is not None and not targets.fullmatch(match["name"])):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            stale = age >= STALE_AFTER_S or (
                age >= DEAD_WRITER_AFTER_S and not _running(int(match["pid"]))
            )
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed
