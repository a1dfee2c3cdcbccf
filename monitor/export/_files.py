"""The staging of outputs: temporary names beside each target, renamed into place together.

An export may be one file (GeoPackage), several beside each other (a Shapefile's
``.shp .shx .dbf .prj .cpg``, the ``--raster`` COGs) or a folder (STAC). Each is written into
a private temporary folder beside its target and renamed into place only when every part of
the export was written, so a failure (bad input, full disk, an exception in a writer) leaves
no half-written output and every existing file as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ExportError

__all__ = ["Staging", "staged", "check_target"]

#: Name prefix of the temporary folders (hidden; a killed export leaves one behind at most).
TMP_PREFIX = ".monitor-export-"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_target(path: Path, *, overwrite: bool, folder: bool = False) -> None:
    """Raise a one-line ``MonitorError`` when ``path`` cannot take the export.

    It exists and ``overwrite`` is false, or it is of the wrong kind (a folder where a file
    goes, or the reverse), or its parent is not a folder we can write in.
    """
    if folder:
        if path.exists() and not path.is_dir():
            raise ExportError(f"{path}: exists and is not a folder")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise ExportError(f"{path}: exists; use --overwrite to replace it")
    else:
        if path.is_dir():
            raise ExportError(f"{path}: is a folder; give a file name")
        if (path.exists() or path.is_symlink()) and not overwrite:
            raise ExportError(f"{path}: exists; use --overwrite to replace it")
    parent = _existing_parent(path)
    if not parent.is_dir():
        raise ExportError(f"{path}: cannot write here: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"{path}: cannot write here: {parent} is not writable")


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


#: A temporary folder this old was left by an export that was killed.
STALE_AFTER_S = 3600.0


def _remove_stale(target: Path) -> None:
    """Remove what a killed export of ``target`` left beside it (an hour old or more: an
    export running now is not disturbed)."""
    for leftover in target.parent.glob(f"{TMP_PREFIX}{target.name}.*"):
        try:
            if leftover.is_dir() and time.time() - leftover.stat().st_mtime > STALE_AFTER_S:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            pass


@dataclass
class _Part:
    target: Path
    tmp_dir: Path
    folder: bool

    @property
    def written(self) -> Path:
        return self.tmp_dir / self.target.name


class Staging:
    """Temporary places for an export's outputs; :meth:`commit` renames them into place.

    ``file(target)`` and ``folder(target)`` return where to write (inside a private folder
    beside ``target``, on the same filesystem, so the final rename is atomic). Folders
    created on the way are removed again when the export is abandoned.
    """

    def __init__(self, overwrite: bool) -> None:
        self.overwrite = overwrite
        self._parts: list[_Part] = []
        self._made: list[Path] = []

    def _mkdirs(self, folder: Path) -> None:
        missing = []
        probe = folder.absolute()
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"{folder}: cannot create the folder: {_why(exc)}") from None
        self._made.extend(reversed(missing))

    def _stage(self, target: Path, folder: bool) -> _Part:
        check_target(target, overwrite=self.overwrite, folder=folder)
        self._mkdirs(target.parent)
        _remove_stale(target)
        try:
            tmp_dir = Path(
                tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent)
            )
        except OSError as exc:
            raise ExportError(f"{target}: cannot write here: {_why(exc)}") from None
        part = _Part(target, tmp_dir, folder)
        self._parts.append(part)
        return part

    def file(self, target: Path) -> Path:
        """Where to write the file ``target`` (same name, in a temporary folder)."""
        return self._stage(target, folder=False).written

    def files(self, targets: Sequence[Path]) -> Path:
        """One temporary folder for several files of one folder that belong together
        (a Shapefile's parts): write them there under their own names."""
        if not targets:
            raise ValueError("no files to stage")
        for target in targets:
            check_target(target, overwrite=self.overwrite)
        first = self._stage(targets[0], folder=False)
        for target in targets[1:]:
            self._parts.append(_Part(target, first.tmp_dir, False))
        return first.tmp_dir

    def folder(self, target: Path) -> Path:
        """Where to build the folder ``target`` (replaced whole on commit)."""
        part = self._stage(target, folder=True)
        part.written.mkdir()
        return part.written

    def commit(self) -> None:
        """Rename every staged output into place. Replaced folders are removed after."""
        old_folders: list[Path] = []
        try:
            for part in self._parts:
                if part.folder:
                    if part.target.exists():
                        old = part.tmp_dir / ".replaced"
                        os.replace(part.target, old)
                        old_folders.append(old)
                    os.replace(part.written, part.target)
                    for path in [part.target, *part.target.rglob("*")]:
                        os.chmod(path, 0o755 if path.is_dir() else 0o644)
                elif part.written.exists():
                    os.chmod(part.written, 0o644)
                    os.replace(part.written, part.target)
                else:
                    # A part a writer did not produce (a Shapefile's .cpg, say): an old one
                    # of that name would not belong with the new files.
                    part.target.unlink(missing_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot move the export into place: {_why(exc)}") from None
        self._made.clear()
        self._cleanup()

    def abort(self) -> None:
        """Remove every temporary output and the folders made for them."""
        self._cleanup()
        for folder in reversed(self._made):
            try:
                folder.rmdir()
            except OSError:
                pass
        self._made.clear()

    def _cleanup(self) -> None:
        for tmp_dir in {p.tmp_dir for p in self._parts}:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        self._parts.clear()


@contextmanager
def staged(overwrite: bool) -> Iterator[Staging]:
    """A :class:`Staging` committed when the block ends normally, abandoned otherwise."""
    staging = Staging(overwrite)
    try:
        yield staging
    except BaseException:
        staging.abort()
        raise
    staging.commit()
