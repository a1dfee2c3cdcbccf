"""A small reverse proxy that injects faults in front of a real HTTP server (the STAC API).

The proxy forwards every request (method, path, query, body, headers; ``Host`` kept, so a
STAC API builds its links to the proxy and paging stays behind it) to one upstream base
URL, and injects faults on demand into requests whose path matches a glob and, optionally,
whose body or query holds a given text (a search of one AOI's bbox):

``500`` / ``503``
    answered at once, nothing forwarded;
``reset``
    the connection is closed with RST before any answer;
``stall``
    ``delay_s`` of silence, then the request is forwarded (a client with a shorter timeout
    gives up first).

Like ``cog_server``, it runs in a child process (``python -m tests.servers.fault_proxy
UPSTREAM``), so GDAL holding the GIL in the test process cannot stall it, and the test
talks to it through control paths under ``/__proxy__/`` (never forwarded, never logged).

Fixture ``fault_proxy`` (load this module as a pytest plugin): a factory,
``fault_proxy(upstream_url) -> FaultProxyProcess`` with ``.url``, ``.fault(kind,
path_glob, times=1, delay_s=5.0, contains=None)``, ``.clear_faults()``, ``.log`` (list of
``ProxyRecord``), ``.clear_log()``; every proxy is stopped at the end of the test.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import socket
import struct
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.servers.faults import FaultBook, ServerProcess

__all__ = [
    "ProxyRecord",
    "ProxyFault",
    "FaultProxy",
    "FaultProxyProcess",
    "PROXY_FAULTS",
    "fault_proxy",
]

_CONTROL = "/__proxy__/"
#: What ``fault`` can inject.
PROXY_FAULTS = ("500", "503", "reset", "stall")
#: Headers that belong to one connection, not to the request (RFC 9110, 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
_UPSTREAM_TIMEOUT_S = 60.0


@dataclass
class ProxyRecord:
    """One request as the proxy saw it: ``status`` 0 when no answer was sent."""

    method: str
    path: str
    status: int
    fault: str | None = None


@dataclass
class ProxyFault:
    """A fault waiting for matching requests; ``times`` None means every matching one."""

    kind: str
    path_glob: str
    times: int | None
    delay_s: float
    contains: str | None

    def matches(self, path: str, query_and_body: str) -> bool:
        return fnmatch.fnmatch(path, self.path_glob) and (
            self.contains is None or self.contains in query_and_body
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # the structured log is the one tests read

    def do_GET(self) -> None:
        self._proxy()

    def do_POST(self) -> None:
        self._proxy()

    def do_HEAD(self) -> None:
        self._proxy()

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in headers or [("Content-Type", content_type)]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _proxy(self) -> None:
        owner = self.server.owner
        split = urllib.parse.urlsplit(self.path)
        if split.path.startswith(_CONTROL):
            query = dict(urllib.parse.parse_qsl(split.query))
            try:
                answer, status = owner.control(split.path[len(_CONTROL) :], query), 200
            except (KeyError, ValueError) as exc:
                answer, status = str(exc), 400
            self._send(status, json.dumps(answer).encode())
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = owner.take_fault(
            split.path, urllib.parse.unquote(split.query) + body.decode(errors="replace")
        )
        if fault is not None and fault.kind == "stall":
            owner.append(ProxyRecord(self.command, split.path, 0, "stall"))
            time.sleep(fault.delay_s)
        elif fault is not None and fault.kind == "reset":
            # SO_LINGER with a zero timeout makes close() send RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            owner.append(ProxyRecord(self.command, split.path, 0, "reset"))
            self.close_connection = True
            self.connection.close()
            return
        elif fault is not None:
            owner.append(ProxyRecord(self.command, split.path, int(fault.kind), fault.kind))
            self._send(
                int(fault.kind),
                json.dumps({"code": "InjectedFault", "description": fault.kind}).encode(),
            )
            return
        self._forward(split, body)

    def _forward(self, split: urllib.parse.SplitResult, body: bytes) -> None:
        owner = self.server.owner
        upstream = urllib.parse.urlsplit(owner.upstream)
        target = upstream.path.rstrip("/") + split.path + (f"?{split.query}" if split.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        connection = http.client.HTTPConnection(
            upstream.hostname or "127.0.0.1", upstream.port or 80, timeout=_UPSTREAM_TIMEOUT_S
        )
        try:
            connection.request(self.command, target, body=body or None, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            passed = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
            status = answer.status
        except OSError as exc:
            data, status = json.dumps({"code": "BadGateway", "description": str(exc)}).encode(), 502
            passed = [("Content-Type", "application/json")]
        finally:
            connection.close()
        owner.append(ProxyRecord(self.command, split.path, status))
        try:
            self._send(status, data, headers=passed)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a stall outlived its timeout)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FaultProxy

    def handle_error(self, request: object, client_address: object) -> None:
        return  # clients hanging up on stalls and resets are expected here


def _arm(query: Mapping[str, str]) -> ProxyFault:
    if query["kind"] not in PROXY_FAULTS:
        raise ValueError(f"unknown fault {query['kind']!r}")
    times = query.get("times", "1")
    return ProxyFault(
        query["kind"],
        query.get("path_glob") or "*",
        None if times == "none" else int(times),
        float(query.get("delay_s", "5")),
        query.get("contains") or None,
    )


class FaultProxy(FaultBook[ProxyFault]):
    """The proxy itself (runs in the child): 127.0.0.1, a free port, one upstream."""

    def __init__(self, upstream: str) -> None:
        super().__init__(_arm)
        self.upstream = upstream
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = int(self._httpd.server_address[1])

    def serve_forever(self) -> None:
        self._httpd.serve_forever()


class FaultProxyProcess(ServerProcess):
    """The test side: the proxy in a child process, driven through its control paths."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        super().__init__("tests.servers.fault_proxy", [upstream], _CONTROL, "fault proxy")

    def fault(
        self,
        kind: str,
        path_glob: str = "*",
        times: int | None = 1,
        delay_s: float = 5.0,
        contains: str | None = None,
    ) -> None:
        """Inject ``kind`` into the next ``times`` requests whose path matches ``path_glob``
        (and whose query or body holds ``contains``); ``times=None`` keeps it for good."""
        if kind not in PROXY_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(PROXY_FAULTS)}")
        self._control(
            "fault",
            kind=kind,
            path_glob=path_glob,
            delay_s=delay_s,
            times="none" if times is None else times,
            contains=contains,
        )

    @property
    def log(self) -> list[ProxyRecord]:
        """Every proxied request since the last ``clear_log``, oldest first."""
        return [ProxyRecord(**r) for r in self._records()]


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[str], FaultProxyProcess]]:
    """A factory of fault-injecting proxies in front of an upstream URL; stopped after the
    test."""
    started: list[FaultProxyProcess] = []

    def start(upstream: str) -> FaultProxyProcess:
        proxy = FaultProxyProcess(upstream)
        started.append(proxy)
        return proxy

    try:
        yield start
    finally:
        for proxy in started:
            proxy.stop()


def _main(argv: list[str]) -> None:
    """Child process: proxy to ``argv[0]``, print the port, run until terminated."""
    proxy = FaultProxy(argv[0])
    print(proxy.port, flush=True)
    proxy.serve_forever()


if __name__ == "__main__":
    _main(sys.argv[1:])
