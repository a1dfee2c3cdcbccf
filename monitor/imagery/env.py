"""The GDAL settings of every read: the one place they live.

Each option below was measured against a Range-logging server (``tests/servers/cog_server.py``)
with the GDAL 3.10.3 in rasterio 1.4.4's wheel, reading an 80 x 60 px window that crosses two
rows of 1024 x 1024 tiles in a 3000 x 3000 COG:

* GDAL's defaults: 14 requests (a HEAD, the header, a directory listing of the parent,
  10 HEADs for ``.aux.xml``/``.aux``/``.xml``/``.msk`` sidecars, then the two tile rows).
* ``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR`` and ``CPL_VSIL_CURL_ALLOWED_EXTENSIONS``
  remove the listing and the sidecar probes; ``GDAL_HTTP_MERGE_CONSECUTIVE_RANGES`` turns
  the tiles of one row (side by side in a COG) into one range: 4 requests, a HEAD, the
  16 KiB header and one range per tile row, and 0 bytes beyond the tiles and the header.
* ``CPL_VSIL_CURL_USE_HEAD=NO`` is *not* used: GDAL then learns the size with a GET without
  Range and aborts it after the headers, but by then the server has pushed part of the body
  (65 KiB to the whole 3.6 MB file on loopback). A HEAD costs one request and no body.
* ``GDAL_INGESTED_BYTES_AT_OPEN``: the default 16 KiB already holds a COG's header (IFDs
  and tile offsets come first), so the header is one request; raising it only adds bytes.
* ``VSI_CACHE``: no request saved (``/vsicurl/`` caches regions itself), and it raises the
  header read to 32 KiB; left off.
* Retries: GDAL 3.10 retries by itself, with ``GDAL_HTTP_RETRY_DELAY`` doubling each time,
  on HTTP 429/500/502/503/504, timeouts, connection resets and short bodies (all measured:
  one fault each, then success). ``monitor.imagery.asset`` adds an outer retry around the
  whole asset read for failures GDAL surfaces after its own retries.

``GdalSettings`` is plain frozen data (picklable), so threads and Dask workers get the same
settings; ``gdal_env`` turns it into a ``rasterio.Env`` around every ``rasterio.open``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import __version__

if TYPE_CHECKING:
    from monitor.config import Settings

__all__ = ["GdalSettings", "gdal_env", "GDAL_DEFAULTS", "forget_cached"]

#: Options that never change with the user's settings (see the module docstring for why).
GDAL_DEFAULTS: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "CPL_VSIL_CURL_USE_HEAD": "YES",
    "GDAL_INGESTED_BYTES_AT_OPEN": "16384",
    "VSI_CACHE": "FALSE",
    # Sentinel-2 COGs carry no .msk or .ovr sidecars; never probe for them.
    "GDAL_PAM_ENABLED": "NO",
}

#: Option names whose values are never shown (signed-URL tokens, keys).
_SECRET_MARKERS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "AUTH", "HEADERS", "USERPWD")


@dataclass(frozen=True)
class GdalSettings:
    """Everything GDAL needs for a read, as plain data.

    Parameters
    ----------
    http_timeout_s
        Timeout of one HTTP request; GDAL takes whole seconds (rounded up, at least 1).
    http_retries
        GDAL's own retries of one request (``GDAL_HTTP_MAX_RETRY``).
    retry_delay_s
        GDAL's first retry delay; GDAL doubles it each retry.
    outer_retries
        Retries of a whole asset read when GDAL surfaces an error after its own retries.
    outer_backoff_s
        Wait before the first outer retry; doubled each time.
    extra
        Further GDAL options as (name, value) pairs; they win over the defaults.
    band_threads
        Assets of one scene read at the same time (1 reads them one after the other).

    Examples
    --------
    >>> from monitor.imagery import GdalSettings, gdal_env
    >>> with gdal_env(GdalSettings(http_timeout_s=10)):
    ...     pass  # rasterio.open(...) here
    """

    http_timeout_s: float = 30.0
    http_retries: int = 4
    retry_delay_s: float = 0.5
    outer_retries: int = 2
    outer_backoff_s: float = 1.0
    extra: tuple[tuple[str, str], ...] = ()
    band_threads: int = 6

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> GdalSettings:
        """Take the timeout and retries from ``monitor.config.Settings``."""
        values: dict[str, Any] = {
            "http_timeout_s": settings.http_timeout_s,
            "http_retries": settings.http_retries,
        }
        values.update(changes)
        return cls(**values)

    def options(self) -> dict[str, str]:
        """The GDAL configuration options, as ``rasterio.Env`` takes them."""
        timeout = max(1, math.ceil(self.http_timeout_s))
        opts = dict(GDAL_DEFAULTS)
        opts.update(
            {
                "GDAL_HTTP_TIMEOUT": str(timeout),
                "GDAL_HTTP_CONNECTTIMEOUT": str(min(timeout, 10)),
                "GDAL_HTTP_MAX_RETRY": str(self.http_retries),
                "GDAL_HTTP_RETRY_DELAY": f"{self.retry_delay_s:g}",
                "GDAL_HTTP_USERAGENT": _user_agent(),
            }
        )
        opts.update({str(k): str(v) for k, v in self.extra})
        return opts

    def redacted(self) -> dict[str, str]:
        """``options()`` with secret values replaced, for logs and provenance."""
        return {
            k: ("***" if any(m in k.upper() for m in _SECRET_MARKERS) else v)
            for k, v in self.options().items()
        }


def _user_agent() -> str:
    return f"border-monitor/{__version__}"


@contextmanager
def gdal_env(settings: GdalSettings | None = None) -> Iterator[None]:
    """Enter a ``rasterio.Env`` with ``settings`` (defaults when None).

    Every ``rasterio.open`` of the monitor happens inside this context manager.
    """
    import rasterio

    with rasterio.Env(**(settings or GdalSettings()).options()):
        yield


@functools.lru_cache(maxsize=1)
def _gdal_library() -> ctypes.CDLL | None:
    """The GDAL library rasterio loaded (the wheel's own copy, else the system one)."""
    import rasterio

    libs = Path(rasterio.__file__).resolve().parent.parent / "rasterio.libs"
    candidates = sorted(libs.glob("libgdal*.so*")) if libs.is_dir() else []
    names = [str(p) for p in candidates] + [n for n in [ctypes.util.find_library("gdal")] if n]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
            lib.VSICurlPartialClearCache.argtypes = [ctypes.c_char_p]
            lib.VSICurlPartialClearCache.restype = None
            return lib
        except (OSError, AttributeError):
            continue
    return None


def forget_cached(href: str) -> bool:
    """Drop what GDAL's ``/vsicurl/`` cache holds about ``href`` (size, existence, blocks).

    GDAL remembers a failed HEAD or GET for the life of the process, so without this a
    retry, or the next run in the same worker, fails at once without asking the server.
    rasterio has no binding for ``VSICurlPartialClearCache``, so it is called through
    ctypes on the GDAL rasterio loaded. Returns False when that library cannot be found.
    """
    if not href.startswith(("http://", "https://")):
        return False
    lib = _gdal_library()
    if lib is None:
        return False
    lib.VSICurlPartialClearCache(("/vsicurl/" + href).encode())
    return True
