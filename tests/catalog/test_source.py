"""What a source is, and how failures read: unreachable, not STAC, retries, signing."""

from __future__ import annotations

import datetime as dt
import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitor.catalog import catalog_from_settings, find_scenes, open_catalog
from monitor.errors import ConfigError, SourceError
from tests.catalog.builders import make_aoi, make_collection, make_item
from tests.catalog.fake_stac_api import FakeStacApi


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def plain_server() -> Iterator[tuple[str, dict[str, tuple[str, bytes]]]]:
    """Serves fixed bodies by path: {"/page": (content type, body)}."""
    pages: dict[str, tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            content_type, body = pages.get(self.path, ("text/plain", b"not found"))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(SourceError) as info:
        open_catalog(url, retries=1)
    assert str(info.value) == f"{url}: unreachable: connection refused"


def test_silent_server_times_out() -> None:
    with socket.socket() as sock:  # listens, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"unreachable: timed out after 0.3 s"):
            open_catalog(url, retries=0, timeout_s=0.3)
        assert time.monotonic() - started < 5


def test_html_page_is_not_stac(plain_server: Any) -> None:
    url, pages = plain_server
    pages["/"] = ("text/html", b"<!DOCTYPE html><html><body>hello</body></html>")
    with pytest.raises(SourceError) as info:
        open_catalog(url + "/", retries=0)
    assert str(info.value) == (
        f"{url}/: not a STAC API or catalog "
        "(not JSON: starts with '<!DOCTYPE html><html><body>hello</body><')"
    )


def test_json_that_is_not_stac(plain_server: Any) -> None:
    url, pages = plain_server
    pages["/geo.json"] = ("application/json", b'{"type": "FeatureCollection", "features": []}')
    with pytest.raises(
        SourceError,
        match=r"geo.json: not a STAC API or catalog \(JSON of type "
        r"'FeatureCollection', no item search\)",
    ):
        open_catalog(url + "/geo.json", retries=0)
    with pytest.raises(SourceError, match=r"missing: not a STAC API or catalog \(HTTP 404\)"):
        open_catalog(url + "/missing", retries=0)


def test_503_once_is_retried(fake_api: FakeStacApi, c1_template: dict[str, Any]) -> None:
    fake_api.load(
        make_collection("sentinel-2-c1-l2a"), [make_item(c1_template, when="2024-01-05T04:00:31Z")]
    )
    fake_api.fail_with = [503]
    catalog = open_catalog(fake_api.url, retries=2)
    assert catalog.kind == "api"
    assert fake_api.requests[0][1] == fake_api.requests[1][1] == "/"  # failed, then retried
    # A search (a POST) is retried too.
    fake_api.fail_with = [503]
    found = find_scenes(catalog, make_aoi(), dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert [s.id for s in found.scenes] == ["S2B_T47QMU_20240105T040031_L2A"]
    posts = [r for r in fake_api.requests if r[0] == "POST"]
    assert len(posts) == 2


def test_503_without_retries_is_an_error(fake_api: FakeStacApi) -> None:
    fake_api.fail_with = [503, 503, 503]
    with pytest.raises(
        SourceError,
        match=rf"^{fake_api.url}: gave up after retries "
        r"\(HTTP 503\)$",
    ):
        open_catalog(fake_api.url, retries=1)


def test_search_failure_names_the_step(fake_api: FakeStacApi) -> None:
    fake_api.load(make_collection("sentinel-2-c1-l2a"), [])
    catalog = open_catalog(fake_api.url, retries=0)
    fake_api.fail_with = [500]
    with pytest.raises(SourceError, match=r": search of sentinel-2-c1-l2a: HTTP 500"):
        find_scenes(catalog, make_aoi(), dt.date(2024, 1, 1), dt.date(2024, 1, 31))


def test_api_without_query_extension_filters_clouds_here(c1_template: dict[str, Any]) -> None:
    api = FakeStacApi(query_extension=False).start()
    try:
        items = [
            make_item(c1_template, when=f"2024-01-{d:02d}T04:00:31Z", cloud=c)
            for d, c in ((5, 10.0), (10, 70.0))
        ]
        api.load(make_collection("sentinel-2-c1-l2a"), items)
        catalog = open_catalog(api.url, retries=0)
        found = find_scenes(
            catalog, make_aoi(), dt.date(2024, 1, 1), dt.date(2024, 1, 31), max_cloud_cover=50
        )
        assert [s.cloud_cover for s in found.scenes] == [10.0]
        assert "query" not in api.searches()[-1]
    finally:
        api.stop()


@pytest.mark.skipif(
    importlib.util.find_spec("planetary_computer") is not None,
    reason="planetary-computer is installed",
)
def test_planetary_computer_signing_needs_its_extra() -> None:
    with pytest.raises(ConfigError, match=r"pip install border-monitor\[pc\]"):
        open_catalog(
            "https://planetarycomputer.microsoft.com/api/stac/v1", sign="planetary-computer"
        )


def test_retry_after_is_capped_and_settings_are_used(
    fake_api: FakeStacApi, c1_template: dict[str, Any]
) -> None:
    from monitor.catalog.source import make_stac_io
    from monitor.config import Settings

    retry = make_stac_io(1.0, 3).session.get_adapter("http://x").max_retries

    class Response:
        headers = {"Retry-After": "3600"}

        def getheader(self, name: str) -> str | None:
            return self.headers.get(name)

    assert retry.total == 3 and 503 in retry.status_forcelist
    assert retry.get_retry_after(Response()) == 60.0

    fake_api.load(make_collection("sentinel-2-c1-l2a"), [])
    fake_api.load(make_collection("other"), [])
    catalog = catalog_from_settings(
        Settings(stac=fake_api.url, collection="other", http_retries=0, page_size=7)
    )
    assert (catalog.kind, catalog.collection) == ("api", "other")
    find_scenes(catalog, make_aoi(), dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    assert fake_api.searches()[-1]["limit"] == 7
    assert fake_api.searches()[-1]["collections"] == ["other"]
