"""A small in-process STAC API for catalog tests: the same ``.url``/``.load()`` interface
as the pgstac server fixture, with knobs the real server lacks (failing requests,
conformance classes, request log).

It implements what the monitor uses: landing page, ``/conformance``, ``/collections``,
``/collections/{id}``, and ``/search`` (GET and POST) with collections, bbox (intersects the
item geometry), datetime ranges, ``limit`` with ``next`` links, and the ``query``
extension's ``lte``/``gte`` on properties. Items come back newest first, like pgstac.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import shapely.geometry

CORE = "https://api.stacspec.org/v1.0.0/core"
ITEM_SEARCH = "https://api.stacspec.org/v1.0.0/item-search"
QUERY = "https://api.stacspec.org/v1.0.0/item-search#query"
COLLECTIONS = "https://api.stacspec.org/v1.0.0/collections"
FEATURES = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"


def _parse_time(text: str) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeStacApi:
    """A threaded STAC API on 127.0.0.1; see the module docstring."""

    def __init__(self, *, query_extension: bool = True) -> None:
        self.collections: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, dict[str, Any]]] = {}
        self.conforms = [CORE, ITEM_SEARCH, COLLECTIONS, FEATURES]
        if query_extension:
            self.conforms.append(QUERY)
        #: Statuses to answer (in order) before serving normally: [503] fails once.
        self.fail_with: list[int] = []
        #: (method, path, body) of every request, for assertions.
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStacApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def load(self, collection: dict[str, Any], items: list[dict[str, Any]]) -> None:
        """Upsert a collection and its items."""
        self.collections[collection["id"]] = collection
        bucket = self.items.setdefault(collection["id"], {})
        for item in items:
            item = json.loads(json.dumps(item))
            item["collection"] = collection["id"]
            bucket[item["id"]] = item

    def searches(self) -> list[dict[str, Any]]:
        """Bodies/parameters of the /search requests received."""
        return [body or {} for method, path, body in self.requests if path == "/search"]

    # --------------------------------------------------------------------------------
    def _landing(self) -> dict[str, Any]:
        url = self.url
        return {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "fake",
            "description": "fake",
            "conformsTo": self.conforms,
            "links": [
                {"rel": "self", "href": url + "/", "type": "application/json"},
                {"rel": "root", "href": url + "/", "type": "application/json"},
                {"rel": "conformance", "href": url + "/conformance"},
                {"rel": "data", "href": url + "/collections", "type": "application/json"},
                {
                    "rel": "search",
                    "href": url + "/search",
                    "method": "GET",
                    "type": "application/geo+json",
                },
                {
                    "rel": "search",
                    "href": url + "/search",
                    "method": "POST",
                    "type": "application/geo+json",
                },
            ],
        }

    def _collection(self, collection_id: str) -> dict[str, Any]:
        doc = dict(self.collections[collection_id])
        href = f"{self.url}/collections/{collection_id}"
        doc["links"] = [
            {"rel": "self", "href": href, "type": "application/json"},
            {"rel": "root", "href": self.url + "/", "type": "application/json"},
            {"rel": "parent", "href": self.url + "/", "type": "application/json"},
            {"rel": "items", "href": href + "/items", "type": "application/geo+json"},
        ]
        return doc

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        collections = params.get("collections") or list(self.items)
        if isinstance(collections, str):
            collections = collections.split(",")
        bbox = params.get("bbox")
        if isinstance(bbox, str):
            bbox = [float(v) for v in bbox.split(",")]
        area = shapely.geometry.box(*bbox[:4]) if bbox else None
        first = last = None
        if params.get("datetime"):
            parts = str(params["datetime"]).split("/")
            first = _parse_time(parts[0])
            last = _parse_time(parts[-1]) if len(parts) > 1 else first
        query = params.get("query") or {}
        if isinstance(query, str):
            query = json.loads(query)
        matches = []
        for collection_id in collections:
            for item in self.items.get(collection_id, {}).values():
                when = _parse_time(item["properties"]["datetime"])
                if first and when < first or last and when > last:
                    continue
                if area is not None and not shapely.geometry.shape(item["geometry"]).intersects(
                    area
                ):
                    continue
                if not self._query_ok(item, query):
                    continue
                matches.append(item)
        matches.sort(key=lambda i: (i["properties"]["datetime"], i["id"]), reverse=True)
        limit = int(params.get("limit") or 10)
        offset = int(params.get("token") or 0)
        page = matches[offset : offset + limit]
        features = []
        for item in page:
            item = json.loads(json.dumps(item))
            item["links"] = [
                {
                    "rel": "self",
                    "type": "application/geo+json",
                    "href": f"{self.url}/collections/{item['collection']}/items/{item['id']}",
                }
            ]
            features.append(item)
        links = []
        if offset + limit < len(matches):
            links.append(
                {
                    "rel": "next",
                    "href": self.url + "/search",
                    "method": "POST",
                    "body": {"token": str(offset + limit)},
                    "merge": True,
                    "type": "application/geo+json",
                }
            )
        return {
            "type": "FeatureCollection",
            "features": features,
            "links": links,
            "numberMatched": len(matches),
            "numberReturned": len(features),
        }

    @staticmethod
    def _query_ok(item: dict[str, Any], query: dict[str, Any]) -> bool:
        for name, ops in query.items():
            value = item["properties"].get(name)
            for op, bound in ops.items():
                if value is None:
                    return False
                if op == "lte" and not value <= bound or op == "gte" and not value >= bound:
                    return False
                if op == "lt" and not value < bound or op == "gt" and not value > bound:
                    return False
        return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str, body: dict[str, Any] | None) -> None:
                parts = urlsplit(self.path)
                path = parts.path.rstrip("/") or "/"
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                api.requests.append((method, path, body if body is not None else query))
                if api.fail_with:
                    status = api.fail_with.pop(0)
                    self._send(status, {"code": "Unavailable", "description": "try again"})
                    return
                if path == "/":
                    self._send(200, api._landing())
                elif path == "/conformance":
                    self._send(200, {"conformsTo": api.conforms})
                elif path == "/collections":
                    self._send(
                        200,
                        {"collections": [api._collection(c) for c in api.collections], "links": []},
                    )
                elif path.startswith("/collections/") and path.count("/") == 2:
                    collection_id = path.split("/")[2]
                    if collection_id in api.collections:
                        self._send(200, api._collection(collection_id))
                    else:
                        self._send(
                            404,
                            {
                                "code": "NotFoundError",
                                "description": f"Collection {collection_id} does not exist.",
                            },
                        )
                elif path == "/search":
                    self._send(200, api._search(body if body is not None else query))
                else:
                    self._send(404, {"code": "NotFound", "description": path})

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._route("GET", None)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                self._route("POST", json.loads(raw or b"{}"))

        return Handler


def running(**kwargs: Any) -> Iterator[FakeStacApi]:
    """Start a FakeStacApi, yield it, stop it (for fixtures)."""
    api = FakeStacApi(**kwargs).start()
    try:
        yield api
    finally:
        api.stop()
