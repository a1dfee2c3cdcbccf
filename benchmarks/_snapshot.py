"""A frozen copy of the package for benchmarks that run ``monitor`` many times.

Other engineers edit ``monitor/`` while a benchmark runs; a detector version changing
between a backfill and the next run would replay the whole history and distort every
figure. Imported by the benchmark scripts as a sibling module (``from _snapshot import``).
"""

from __future__ import annotations

import compileall
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def snapshot_package(target: Path) -> str:
    """Copy ``monitor/`` to ``target/monitor`` (byte-compiled); describe the code copied."""
    shutil.copytree(
        REPO_ROOT / "monitor", target / "monitor", ignore=shutil.ignore_patterns("__pycache__")
    )
    compileall.compile_dir(target / "monitor", quiet=1)

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.rstrip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = [line[3:] for line in git("status", "--porcelain", "--", "monitor").splitlines()]
    return f"commit {head}" + (f" + uncommitted edits in {', '.join(dirty)}" if dirty else "")
