"""The state directory: checked, created only when it can be created whole."""

from __future__ import annotations

import os
from pathlib import Path

from monitor.errors import StateError

__all__ = ["DB_NAME", "LOCK_NAME", "ensure_state_dir"]

DB_NAME = "state.db"
LOCK_NAME = "monitor.lock"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # e.g. a parent that may not be searched
        raise StateError(f"{path}: cannot inspect the state directory: {exc.strerror}") from None


def ensure_state_dir(state_dir: Path, *, create: bool = True) -> Path:
    """Return ``state_dir`` as an absolute path to a writable folder, creating it if asked.

    Everything is checked before anything is made: when the folder cannot be created (a
    file stands where it or one of its parents should be, or the nearest existing parent is
    not writable) nothing is created.

    Raises
    ------
    StateError
        Naming the path, when the folder is missing (and ``create`` is false), is a file, or
        cannot be created or written.
    """
    path = Path(os.path.abspath(os.fspath(state_dir)))
    if _exists(path):
        if not path.is_dir():
            raise StateError(f"{path}: the state directory is a file, not a folder")
    else:
        if not create:
            raise StateError(
                f"{path}: no state directory here (nothing has run with this state yet)"
            )
        ancestor = path.parent
        while not _exists(ancestor):
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise StateError(
                f"{path}: cannot create the state directory: {ancestor} is a file, not a folder"
            )
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise StateError(
                f"{path}: cannot create the state directory: {ancestor} is not writable"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"{path}: cannot create the state directory: {exc.strerror or exc}"
            ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise StateError(f"{path}: the state directory is not writable")
    return path
