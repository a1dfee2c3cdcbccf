"""Replacing a file whole: a reader sees the old file or the new one, never half of one.

Standard library only, so that any stage may use it (chips, pages, exports).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file in the same folder, flushed
    to disk, then ``os.replace``: a kill at any point leaves the old file or the new one.
    The temporary file is removed on any failure; errors propagate as they are."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
