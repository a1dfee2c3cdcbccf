"""The one exception tree of the monitor.

Every error a user can cause or meet carries the exit code of ``../shared/CONTRACT.md``;
the CLI prints ``str(error)`` as one line on stderr and exits with ``error.exit_code``.
Subclasses also derive from the fitting builtin so callers may catch either. What the
monitor works around (duplicate items, contradictory offset flags) it records as a reason
on the observation, where the analyst reads it, not as a Python warning. Standard library
only.
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
    "LockHeld",
    "InputError",
    "MissingState",
    "NotEnoughData",
    "ExportError",
    "WorkerError",
    "SetupError",
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


class LockHeld(MonitorError):
    """Another run holds the state lock."""

    exit_code = EXIT_LOCKED


# The classes below derive from MonitorError alone: their raise sites sit inside code that
# catches OSError or ValueError for other reasons, and must not catch these.


class InputError(MonitorError):
    """A flag value or combination, or a file named on the command line, that the command
    cannot use."""


class MissingState(MonitorError):
    """The state lacks what the command needs: no state yet, an AOI or detection not in it,
    no scene seen yet."""


class NotEnoughData(MonitorError):
    """Too few clear observations to answer what was asked."""


class ExportError(MonitorError):
    """An export that cannot be written where it was asked for."""


class WorkerError(MonitorError):
    """An AOI's work that failed in a worker process or on a cluster (its message comes
    back as text)."""


class SetupError(MonitorError):
    """The installation lacks a package or file a step needs."""
