"""Options shared by the commands, with the parsing of dates or date ranges.

The contract's state options come after a command's own name (``monitor scenes --aoi
kk-park``) and resolve, with ``monitor.toml`` and ``MONITOR_*``, into one ``Settings``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor.config import Settings, load_settings

__all__ = ["state_options", "settings_from", "DateParam", "DateRangeParam", "DATE", "DATE_RANGE"]

F = TypeVar("F", bound=Callable[..., Any])

# (flag, settings name, help). Defaults are None: a flag given wins over file and environment.
_STATE_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--state-dir", "state_dir", "Database, detector state, chip cache, demo archive [imagery/]."),
    ("--reports-dir", "reports_dir", "HTML reports and the job's own exports [reports/]."),
    ("--aoi-dir", "aoi_dir", "Where AOI files are found [./aoi]."),
    (
        "--stac",
        "stac",
        "STAC API URL, or a static catalog/collection file, URL or folder [Earth Search v1].",
    ),
    (
        "--collection",
        "collection",
        "Collection to search [sentinel-2-c1-l2a on a STAC API; every item of a static catalog].",
    ),
)


def state_options(func: F) -> F:
    """Add the contract's state options to a command (``--config`` and ``--aoi`` included)."""
    for flag, dest, help_text in reversed(_STATE_OPTIONS):
        metavar = "DIR" if "dir" in flag else "TEXT"
        func = click.option(flag, dest, default=None, metavar=metavar, help=help_text)(func)
    func = click.option(
        "--aoi",
        "aoi",
        multiple=True,
        metavar="FILE|ID",
        help="A GeoJSON path or a known id; repeatable [all AOIs in --aoi-dir].",
    )(func)
    func = click.option(
        "--config",
        "config",
        default=None,
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Settings file [./monitor.toml if present].",
    )(func)
    func = click.option(
        "--sign",
        "sign",
        default=None,
        type=click.Choice(["planetary-computer"]),
        help="Sign asset links before reading (Planetary Computer).",
    )(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {dest: kwargs.pop(dest) for _, dest, _ in _STATE_OPTIONS}
        flags["sign"] = kwargs.pop("sign")
        config = kwargs.pop("config")
        kwargs["settings"] = load_settings(flags=flags, config_file=config)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def settings_from(**flags: Any) -> Settings:
    return load_settings(flags=flags)


class DateParam(click.ParamType):
    """A UTC calendar day, ``YYYY-MM-DD``."""

    name = "D"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date (expected YYYY-MM-DD)", param, ctx)


class DateRangeParam(click.ParamType):
    """``D`` or ``D/D``: an inclusive range of UTC days, returned as (first, last)."""

    name = "D[/D]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[dt.date, dt.date]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        first_text, _, last_text = text.partition("/")
        try:
            first = dt.date.fromisoformat(first_text)
            last = dt.date.fromisoformat(last_text) if last_text else first
        except ValueError:
            self.fail(
                f"{value!r} is not a date or date range (expected D or D/D, D = YYYY-MM-DD)",
                param,
                ctx,
            )
        if last < first:
            self.fail(f"{value!r}: the range ends before it starts", param, ctx)
        return (first, last)


DATE = DateParam()
DATE_RANGE = DateRangeParam()
