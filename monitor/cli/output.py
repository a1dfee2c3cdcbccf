"""Terminal output: rich tables on a terminal, plain wide text when piped (cron mail)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

__all__ = ["console", "print_table", "print_json", "Log", "current_log", "progress_bars"]


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output must not be cut at 80 columns: scene ids are long.
    return Console(
        file=stream,
        width=None if stream.isatty() else 200,
        highlight=False,
        soft_wrap=not stream.isatty(),
    )


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        box=None,
        header_style="bold",
    )
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console().print(table)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@dataclass(frozen=True)
class Log:
    """How a command reports as it goes (root options ``-q``, ``-v``, ``--log-json``).

    ``info`` lines are shown unless ``quiet``; ``detail`` lines (one per scene) only with
    ``verbose``; ``warn`` lines (failures) always. Piped output (cron mail) gets a UTC
    timestamp on every line; ``log_json`` prints one JSON object per line instead, for log
    collectors. The final summary of a command is printed with ``click.echo`` as usual.
    """

    quiet: bool = False
    verbose: bool = False
    log_json: bool = False

    def _emit(self, level: str, line: str) -> None:

        now = dt.datetime.now(dt.UTC)
        if self.log_json:
            click.echo(
                json.dumps(
                    {"time": now.isoformat(timespec="seconds"), "level": level, "message": line},
                    ensure_ascii=False,
                )
            )
        elif sys.stdout.isatty():
            click.echo(line)
        else:
            click.echo(f"{now:%Y-%m-%dT%H:%M:%SZ} {line}")

    def info(self, line: str) -> None:
        if not self.quiet:
            self._emit("info", line)

    def detail(self, line: str) -> None:
        if self.verbose and not self.quiet:
            self._emit("detail", line)

    def warn(self, line: str) -> None:
        self._emit("warning", line)


def current_log() -> Log:
    """The ``Log`` of the running command (defaults outside a click context)."""

    context = click.get_current_context(silent=True)
    root = context.find_root() if context is not None else None
    found = getattr(root, "obj", None) if root is not None else None
    return found if isinstance(found, Log) else Log()


@contextmanager
def progress_bars(log: Log) -> Iterator[Callable[[str, int, int], None] | None]:
    """Progress bars (rich) for ``tick(what, done, total)`` calls, on a terminal only.

    Yields None when stdout is not a terminal (cron mail gets the timestamped lines alone),
    with ``-q`` or with ``--log-json``. The bars are drawn on stdout and vanish at the end;
    lines printed meanwhile appear above them.
    """
    if log.quiet or log.log_json or not sys.stdout.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bars = Progress(
        TextColumn("{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def tick(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bars.add_task(what, total=total)
        bars.update(tasks[what], completed=done, total=total)

    with bars:
        yield tick
