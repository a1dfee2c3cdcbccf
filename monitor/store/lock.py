"""One run at a time: an exclusive ``flock`` on ``<state_dir>/monitor.lock``.

The lock is the kernel's ``flock(LOCK_EX | LOCK_NB)`` on the file, not the file's existence; the
file's body is JSON naming the holder ``{"pid", "host", "holder", "started_at"}`` so that a
refused run can say who is in the way. Reading the holder needs no lock.

Because the kernel drops a ``flock`` when its process exits, however it exits, a lock file left by
a killed run (``kill -9``, power loss) holds no lock: the next run simply takes it over and
rewrites the body. The file is never deleted, only emptied on release: deleting it would let
a process that opened the old file and one that creates a new file both "hold" the lock.

``flock`` is per open file, so a second ``state_lock`` on the same folder in the same process is
refused too. It is not reliable on some network file systems; keep the state dir local.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import LockHeld, StateError
from monitor.store.paths import LOCK_NAME, ensure_state_dir
from monitor.store.rows import from_iso, to_iso, utc_now

__all__ = ["LockInfo", "state_lock", "read_lock_holder", "lock_path"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockInfo:
    """Who holds (or last held) the state lock."""

    pid: int
    host: str
    holder: str
    started_at: dt.datetime
    #: For the info ``state_lock`` yields: the holder a killed run left in the file, if any.
    replaced: LockInfo | None = None

    def describe(self) -> str:
        """``<holder> (pid N on HOST since TIME)``."""
        return f"{self.holder} (pid {self.pid} on {self.host} since {to_iso(self.started_at)})"

    def to_json(self) -> str:
        return json.dumps(
            {
                "pid": self.pid,
                "host": self.host,
                "holder": self.holder,
                "started_at": to_iso(self.started_at),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> LockInfo | None:
        """The body of a lock file, or None when it is empty or unreadable (being written)."""
        try:
            data: Any = json.loads(text)
            return cls(
                pid=int(data["pid"]),
                host=str(data["host"]),
                holder=str(data["holder"]),
                started_at=from_iso(str(data["started_at"])),
            )
        except (ValueError, KeyError, TypeError):
            return None


def lock_path(state_dir: Path) -> Path:
    """``<state_dir>/monitor.lock``."""
    return Path(state_dir) / LOCK_NAME


def read_lock_holder(state_dir: Path) -> LockInfo | None:
    """The holder written in the lock file, without taking the lock.

    None when there is no lock file or it is empty (released). A body left by a killed run is
    returned too: only ``state_lock`` can tell whether the lock is really held.
    """
    try:
        text = lock_path(state_dir).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise StateError(
            f"{lock_path(state_dir)}: cannot read the lock file: {exc.strerror}"
        ) from None
    return LockInfo.from_json(text) if text.strip() else None


@contextmanager
def state_lock(state_dir: Path, holder: str) -> Iterator[LockInfo]:
    """Hold the state lock for the ``with`` block; yield this process's ``LockInfo``.

    Parameters
    ----------
    state_dir
        The state folder; created when missing (as ``Store.open`` would).
    holder
        What is running, for the message another run gets (``"monitor run"``).

    Raises
    ------
    LockHeld
        Another run holds the lock: ``another run holds the lock: <holder> (pid N on HOST
        since TIME)``. Exit code 75.
    StateError
        The folder or lock file cannot be created or opened.
    """
    folder = ensure_state_dir(Path(state_dir), create=True)
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StateError(f"{path}: cannot open the lock file: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StateError(f"{path}: cannot lock: {exc.strerror}") from None
            current = read_lock_holder(folder)
            who = current.describe() if current else "unknown holder (it is starting up)"
            raise LockHeld(f"another run holds the lock: {who}; lock file {path}") from None

        previous = read_lock_holder(folder)
        if previous is not None:
            # The body survived a run that died holding the lock; the kernel already freed it.
            _log.info("taking over the stale lock %s of %s", path, previous.describe())
        info = LockInfo(
            pid=os.getpid(),
            host=socket.gethostname(),
            holder=holder,
            started_at=utc_now(),
            replaced=previous,
        )
        # Rewritten in place, not via os.replace: the lock lives on this inode.
        body = info.to_json().encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, body, 0)
        os.fsync(fd)
        try:
            yield info
        finally:
            # Empty the body before unlocking, so nobody reads us as holder once we are gone.
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
