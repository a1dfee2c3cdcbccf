"""The one exception tree of the monitor, with its warnings.

Every error a user can cause or meet carries the exit code of ``../shared/CONTRACT.md``;
the CLI prints ``str(error)`` as one line on stderr and exits with ``error.exit_code``.
Subclasses also derive from the fitting builtin so callers may catch either.
Standard library only.
"""

from __future__ import annotations

__all__ = [
    "EXIT_OK",
    "EXIT_ERROR",
    "EXIT_USAGE",
    "EXIT_PARTIAL",
    "EXIT_LOCKED",
    "MonitorError",
    "ConfigError",
    "AoiError",
    "StateError",
    "CatalogError",
    "SourceError",
    "ItemError",
    "ReadError",
    "NotBuiltYet",
    "PartialFailure",
    "LockHeld",
    "MonitorWarning",
    "CatalogWarning",
    "ReflectanceWarning",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_LOCKED = 75


class MonitorError(Exception):
    """Root of every error the monitor raises on purpose.

    The message is one line saying what went wrong and where (file, URL, AOI, scene).
    """

    exit_code: int = EXIT_ERROR

    def __str__(self) -> str:
        # One line, always: a multi-line message would break cron mail and log collectors.
        return " ".join(super().__str__().split())


class ConfigError(MonitorError, ValueError):
    """A malformed ``monitor.toml``, environment variable or flag value."""


class AoiError(MonitorError, ValueError):
    """An AOI file that is not a valid area of interest (not GeoJSON, bad ring, ...)."""


class StateError(MonitorError, OSError):
    """The state directory or database cannot be used (unwritable, newer schema, ...)."""


class CatalogError(MonitorError):
    """A catalog search that cannot be answered."""


class SourceError(CatalogError, OSError):
    """A STAC source that is unreachable, not STAC, or lacks the asked collection."""


class ItemError(CatalogError, ValueError):
    """A STAC item that cannot become a scene (missing required assets, no date, ...)."""


class ReadError(MonitorError, OSError):
    """Pixels that cannot be read: not a GeoTIFF, wrong CRS, window outside, truncated."""


class NotBuiltYet(MonitorError, NotImplementedError):
    """A command of the contract whose capability a later issue builds."""


class PartialFailure(MonitorError):
    """Some AOIs or scenes failed and were recorded for the next run."""

    exit_code = EXIT_PARTIAL


class LockHeld(MonitorError):
    """Another run holds the state lock."""

    exit_code = EXIT_LOCKED


class MonitorWarning(UserWarning):
    """Root of the monitor's warnings; the test suite turns them into errors."""


class CatalogWarning(MonitorWarning):
    """Something odd in a catalog that the monitor worked around (duplicate items, gaps)."""


class ReflectanceWarning(MonitorWarning):
    """Pixels that contradict their item's offset metadata."""
