"""A STAC API searched with pystac-client (Earth Search, Planetary Computer, stac-fastapi).

The bbox, the datetime range (inclusive UTC days), the collection and the page size go to
the server. The cloud-cover prefilter goes as the ``query`` extension
(``{"eo:cloud_cover": {"lte": X}}``) when the API conforms to it, else as a CQL2-JSON
``filter`` when it conforms to that, else it is applied here. Every item is checked here
once more, so a server that ignores a parameter cannot smuggle in wrong items.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from monitor.catalog.base import BBox, Catalog, day_bounds, describe_http_error, item_matches
from monitor.errors import SourceError

if TYPE_CHECKING:
    from pystac_client import Client
    from pystac_client.stac_api_io import StacApiIO

__all__ = ["ApiCatalog"]


class ApiCatalog(Catalog):
    """A STAC API with item search; built by :func:`~monitor.catalog.open_catalog`.

    Parameters
    ----------
    url : str
        Landing page URL.
    landing : dict
        The landing page as already fetched (its ``conformsTo`` and links).
    stac_io : StacApiIO
        HTTP layer with the timeout and retries (see ``source.make_stac_io``).
    collection : str
        Collection searched by default; checked to exist here.
    fallback_collection : str, optional
        See ``find_scenes``; skipped quietly when the API lacks it.
    modifier : callable, optional
        Applied in place to every item dict (asset signing).
    page_size : int
        ``limit`` of each search page.
    """

    kind: Literal["api", "static"] = "api"

    def __init__(
        self,
        url: str,
        *,
        landing: Mapping[str, Any],
        stac_io: StacApiIO,
        collection: str,
        fallback_collection: str | None = None,
        modifier: Callable[[Any], None] | None = None,
        page_size: int = 100,
        timeout_s: float | None = None,
    ) -> None:
        super().__init__(url, collection=collection, fallback_collection=fallback_collection)
        self.page_size = page_size
        self._timeout_s = timeout_s
        self._client = self._open_client(url, landing, stac_io, modifier)
        self._known: dict[str, bool] = {}
        if not self.has_collection(collection):
            available = ", ".join(self.collection_ids()) or "none"
            raise SourceError(f"{url}: no collection {collection!r} (available: {available})")

    def _open_client(
        self,
        url: str,
        landing: Mapping[str, Any],
        stac_io: StacApiIO,
        modifier: Callable[[Any], None] | None,
    ) -> Client:
        from pystac_client import Client
        from pystac_client.warnings import PystacClientWarning

        try:
            with warnings.catch_warnings():
                # Conformance gaps are handled below and by the client-side filter.
                warnings.simplefilter("ignore", PystacClientWarning)
                client = Client.open(
                    url, stac_io=stac_io, modifier=modifier, timeout=self._timeout_s
                )
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - APIError, STACTypeError, JSON errors
            raise describe_http_error(url, exc, self._timeout_s) from None
        if not client.conforms_to("ITEM_SEARCH"):
            # The landing page links rel=search but does not list its conformance classes.
            client.add_conforms_to("ITEM_SEARCH")
        return client

    # ------------------------------------------------------------------------------------
    def conforms_to(self, name: str) -> bool:
        """Whether the API declares a conformance class, by pystac-client's name
        (``"QUERY"``, ``"FILTER"``, ``"SORT"``, ...)."""
        return bool(self._client.conforms_to(name))

    def collection_ids(self) -> tuple[str, ...]:
        """Ids of every collection the API serves, sorted."""
        from pystac_client.warnings import PystacClientWarning

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PystacClientWarning)
                return tuple(sorted(c.id for c in self._client.get_collections()))
        except Exception as exc:  # noqa: BLE001
            raise describe_http_error(
                self.source, exc, self._timeout_s, what="listing collections"
            ) from None

    def has_collection(self, collection_id: str) -> bool:
        """Whether the API serves ``collection_id`` (asked once, then remembered)."""
        if collection_id not in self._known:
            from pystac_client.warnings import PystacClientWarning

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", PystacClientWarning)
                    found = self._client.get_collection(collection_id)
            except Exception as exc:  # noqa: BLE001
                status = getattr(exc, "status_code", None)
                if status == 404:
                    found = None
                else:
                    raise describe_http_error(
                        self.source, exc, self._timeout_s, what=f"collection {collection_id}"
                    ) from None
            self._known[collection_id] = found is not None
        return self._known[collection_id]

    # ------------------------------------------------------------------------------------
    def search_parameters(
        self,
        bbox: BBox,
        start: dt.date,
        end: dt.date,
        *,
        collections: Sequence[str] | None = None,
        max_cloud_cover: float | None = None,
    ) -> dict[str, Any]:
        """The keyword arguments given to ``Client.search`` (exposed for tests and logs)."""
        first, last = day_bounds(start, end)
        params: dict[str, Any] = {
            "collections": list(collections) if collections else [self.collection],
            "bbox": [float(v) for v in bbox[:4]],
            "datetime": [first, last],
        }
        if self.page_size > 0:  # 0 leaves the page size to the server
            params["limit"] = self.page_size
        if max_cloud_cover is not None:
            if self.conforms_to("QUERY"):
                params["query"] = {"eo:cloud_cover": {"lte": max_cloud_cover}}
            elif self.conforms_to("FILTER"):
                params["filter"] = {
                    "op": "<=",
                    "args": [{"property": "eo:cloud_cover"}, max_cloud_cover],
                }
                params["filter_lang"] = "cql2-json"
        return params

    def items(
        self,
        bbox: BBox,
        start: dt.date,
        end: dt.date,
        *,
        collections: Sequence[str] | None = None,
        max_cloud_cover: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        params = self.search_parameters(
            bbox, start, end, collections=collections, max_cloud_cover=max_cloud_cover
        )
        from pystac_client.warnings import PystacClientWarning

        names = ",".join(params["collections"])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PystacClientWarning)
                pages = self._client.search(**params).pages_as_dicts()
            while True:
                # Warnings are silenced around each request only: a generator must not
                # hold the global warning filters while its consumer runs.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", PystacClientWarning)
                    page = next(pages, None)
                if page is None:
                    return
                for item in page.get("features") or ():
                    if isinstance(item, dict) and item_matches(
                        item, bbox, start, end, max_cloud_cover
                    ):
                        yield item
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - APIError and requests' errors
            raise describe_http_error(
                self.source, exc, self._timeout_s, what=f"search of {names}"
            ) from None
