"""The catalog interface: ``Catalog``, the client-side item filter, the HTTP policy.

Both kinds of catalog (:mod:`monitor.catalog.api`, :mod:`monitor.catalog.static`) build on
what is here; :mod:`monitor.catalog.source` decides which kind a ``--stac`` value is.

HTTP goes through one ``requests`` session per catalog with a timeout per request and
urllib3 retries with exponential backoff on connection errors, read timeouts and HTTP
429/500/502/503/504 (searches are POSTed but idempotent, so POST is retried too).
pystac-client, requests and urllib3 are imported lazily: importing :mod:`monitor.catalog`
stays cheap.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from monitor.catalog.scenes import item_datetime, item_footprint
from monitor.errors import SourceError

if TYPE_CHECKING:
    from pystac_client.stac_api_io import StacApiIO

__all__ = [
    "RETRY_STATUS",
    "BBox",
    "Catalog",
    "day_bounds",
    "describe_http_error",
    "is_url",
    "item_matches",
    "make_stac_io",
]

#: HTTP statuses worth another try: rate limiting and transient server trouble.
RETRY_STATUS: tuple[int, ...] = (429, 500, 502, 503, 504)
#: Backoff between retries: 0 s, 2 s, 4 s, 8 s, ... (urllib3 doubles it, capped at 60 s).
_BACKOFF_FACTOR_S = 1.0
_BACKOFF_MAX_S = 60.0

BBox = Sequence[float]


class Catalog:
    """A place to search for Sentinel-2 items; see :func:`open_catalog`.

    Attributes
    ----------
    source : str
        The URL or absolute path the catalog was opened from.
    kind : {"api", "static"}
    collection : str or None
        The collection searched; None on a static catalog means every item.
    fallback_collection : str or None
        Searched for months the main collection lacks (APIs only; see ``find_scenes``).
    """

    kind: Literal["api", "static"]

    def __init__(
        self, source: str, *, collection: str | None, fallback_collection: str | None = None
    ) -> None:
        self.source = source
        self.collection = collection
        self.fallback_collection = fallback_collection

    def items(
        self,
        bbox: BBox,
        start: dt.date,
        end: dt.date,
        *,
        collections: Sequence[str] | None = None,
        max_cloud_cover: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Items intersecting ``bbox`` (lon/lat) sensed on UTC days ``start`` to ``end``.

        Parameters
        ----------
        bbox : (west, south, east, north)
            In degrees, EPSG:4326.
        start, end : date
            Inclusive UTC days.
        collections : list of str, optional
            Collections to search; default ``[self.collection]`` (every item of a static
            catalog when that is None).
        max_cloud_cover : float, optional
            Keep items whose ``eo:cloud_cover`` is at most this percentage (items that do
            not state one are kept: the AOI's own clear fraction decides later).

        Yields
        ------
        dict
            STAC item JSON, with a ``self`` link whose href is absolute where known.

        Raises
        ------
        SourceError
            The source failed while searching.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {self.source} collection={self.collection}>"


# ----------------------------------------------------------------------------------------
# Client-side filtering, shared by static catalogs and as a safety net for APIs
# ----------------------------------------------------------------------------------------


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Inclusive UTC days → (first instant of ``start``, last microsecond of ``end``)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    first = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    last = dt.datetime.combine(end, dt.time.max, tzinfo=dt.UTC)
    return first, last


def item_matches(
    item: Mapping[str, Any],
    bbox: BBox | None,
    start: dt.date,
    end: dt.date,
    max_cloud_cover: float | None = None,
) -> bool:
    """Whether an item passes the search filters, decided here rather than by a server.

    An item without a datetime or footprint does not match (it could not be placed).
    """
    first, last = day_bounds(start, end)
    when = item_datetime(item)
    if when is None or not first <= when <= last:
        return False
    if max_cloud_cover is not None:
        cloud = (item.get("properties") or {}).get("eo:cloud_cover")
        if (
            isinstance(cloud, (int, float))
            and not isinstance(cloud, bool)
            and cloud > max_cloud_cover
        ):
            return False
    if bbox is not None:
        import shapely.geometry

        footprint = item_footprint(item)
        if footprint is None:
            return False
        if not footprint.intersects(shapely.geometry.box(*bbox[:4])):
            return False
    return True


# ----------------------------------------------------------------------------------------
# HTTP: one session with timeouts and retries, and its errors in words
# ----------------------------------------------------------------------------------------


def is_url(source: str) -> bool:
    """An http(s) URL (anything else is a local path)."""
    return urlsplit(source).scheme.lower() in ("http", "https")


def make_stac_io(
    timeout_s: float, retries: int, headers: Mapping[str, str] | None = None
) -> StacApiIO:
    """pystac-client's HTTP layer with the monitor's timeout and retry policy."""
    from pystac_client.stac_api_io import StacApiIO
    from urllib3 import Retry

    class _CappedRetry(Retry):
        """Honours Retry-After, but never sleeps longer than the backoff cap: a server
        asking for an hour would otherwise stall a cron job silently."""

        def get_retry_after(self, response: Any) -> float | None:
            seconds = super().get_retry_after(response)
            return None if seconds is None else min(seconds, _BACKOFF_MAX_S)

    retry: Retry | None = None
    if retries > 0:
        retry = _CappedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            status_forcelist=RETRY_STATUS,
            # Item search is a POST, and it is safe to repeat.
            allowed_methods=None,
            backoff_factor=_BACKOFF_FACTOR_S,
            backoff_max=_BACKOFF_MAX_S,
            respect_retry_after_header=True,
            raise_on_status=True,
        )
    return StacApiIO(headers=dict(headers or {}), timeout=timeout_s, max_retries=retry)


def describe_http_error(
    url: str, error: BaseException, timeout_s: float | None = None, what: str = ""
) -> SourceError:
    """A pystac-client/requests failure as one line: unreachable, HTTP status, or other.

    ``what`` names the step (``"search"``, ``"collection sentinel-2-l2a"``) when it is not
    the landing page.
    """
    import requests

    # pystac-client wraps requests' exceptions in APIError(str(err)); the original is its
    # context. Walk the chain to find what actually happened.
    chain: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    prefix = f"{url}: {what}: " if what else f"{url}: "
    for exc in chain:
        if isinstance(exc, requests.exceptions.RetryError):
            status = _status_in(str(exc))
            return SourceError(
                f"{prefix}gave up after retries"
                + (f" (HTTP {status})" if status else f" ({_short(exc)})")
            )
        if isinstance(exc, requests.exceptions.Timeout):
            limit = f" after {timeout_s:g} s" if timeout_s else ""
            return SourceError(f"{prefix}unreachable: timed out{limit}")
        if isinstance(exc, requests.exceptions.ConnectionError):
            return SourceError(f"{prefix}unreachable: {_connection_reason(exc)}")
    status_code = getattr(error, "status_code", None)
    if status_code:
        return SourceError(f"{prefix}HTTP {status_code}: {_short(error)}")
    return SourceError(f"{prefix}{_short(error)}")


def _status_in(text: str) -> int | None:
    match = re.search(r"too many (\d{3}) error", text)
    return int(match.group(1)) if match else None


def _connection_reason(exc: BaseException) -> str:
    text = str(exc)
    lowered = text.lower()
    if "connection refused" in lowered or "errno 111" in lowered:
        return "connection refused"
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or "temporary failure in name resolution" in lowered
        or "getaddrinfo" in lowered
        or "failed to resolve" in lowered
    ):
        return "host name not found (DNS)"
    if "timed out" in lowered:
        return "connection timed out"
    if "reset by peer" in lowered:
        return "connection reset"
    return _short(exc)


def _short(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
