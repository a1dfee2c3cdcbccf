"""A Range-capable HTTP server for COGs, with a request log and faults on demand.

``python -m http.server`` ignores ``Range``, so a windowed read through it downloads whole
files. This server answers single byte ranges with 206 and ``Content-Range``, answers HEAD,
logs every request (method, path, range, status, bytes sent) so tests can count them, and
injects faults on demand: HTTP 500/503, a connection reset, a truncated body, a stall.

The server runs in a child process (``python -m tests.servers.cog_server ROOT``): GDAL
holds the GIL during ``rasterio.open``, so a server thread in the test process would hang.
The test process talks to it through control paths under ``/__cog__/`` (never logged).
Loaded as a pytest plugin by ``tests/conftest.py``; fixtures:

``cog_server_session``
    One server per test session on 127.0.0.1 (free port), serving a temporary folder;
    terminated, then killed, at the end.
``cog_server``
    The same server with a fresh sub-folder, an empty log and no faults for each test:
    ``.url`` (base URL of that folder), ``.root`` (its path), ``.log`` (list of
    ``RequestRecord``), ``.clear_log()``, ``.fault(kind, path_glob=None, times=1,
    delay_s=...)``, ``.requests(path_glob)``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import socket
import struct
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.servers.faults import FaultBook, ServerProcess

__all__ = [
    "RequestRecord",
    "Fault",
    "CogServer",
    "CogServerProcess",
    "CogServerView",
    "FAULT_KINDS",
]

_CONTROL = "/__cog__/"

#: What ``fault`` can inject. ``stall`` waits ``delay_s`` before answering normally (a
#: client with a shorter timeout gives up first); ``truncate`` declares the full length and
#: sends half of it; ``reset`` closes the socket with RST before any answer.
FAULT_KINDS = ("500", "503", "404", "reset", "truncate", "stall")

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class RequestRecord:
    """One request as the server saw it."""

    method: str
    path: str
    range: str | None
    status: int
    bytes_sent: int
    fault: str | None = None


@dataclass
class Fault:
    """A fault waiting for matching requests; ``times`` None means every matching request."""

    kind: str
    path_glob: str | None
    times: int | None
    delay_s: float

    def matches(self, path: str) -> bool:
        if self.path_glob is None:
            return True
        return fnmatch.fnmatch(path, self.path_glob) or fnmatch.fnmatch(
            path.rsplit("/", 1)[-1], self.path_glob
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        # The request log is the structured one; stderr chatter would hide test output.
        return

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _record(self, status: int, sent: int, fault: str | None = None) -> None:
        self.server.owner.append(
            RequestRecord(
                self.command,
                urllib.parse.unquote(self.path.split("?", 1)[0]),
                self.headers.get("Range"),
                status,
                sent,
                fault,
            )
        )

    def _control(self, command: str) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        try:
            body = json.dumps(self.server.owner.control(command, query)).encode()
            status = 200
        except (KeyError, ValueError) as exc:
            body, status = json.dumps(str(exc)).encode(), 400
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _simple(self, status: int, head: bool, fault: str | None = None) -> None:
        body = f"{status}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self._record(status, 0 if head else len(body), fault)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _answer(self, head: bool) -> None:
        path = urllib.parse.unquote(self.path.split("?", 1)[0])
        if path.startswith(_CONTROL):
            self._control(path[len(_CONTROL) :])
            return
        fault = self.server.owner.take_fault(path)
        if fault is not None and fault.kind == "stall":
            # Logged when the stall starts: the client may give up long before it ends.
            self._record(0, 0, "stall")
            time.sleep(fault.delay_s)
        if fault is not None and fault.kind == "reset":
            # SO_LINGER with a zero timeout makes close() send RST: "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._record(0, 0, "reset")
            self.close_connection = True
            self.connection.close()
            return
        if fault is not None and fault.kind in ("500", "503", "404"):
            self._simple(int(fault.kind), head, fault.kind)
            return

        file_path = self.server.owner.resolve(path)
        if file_path is None or not file_path.is_file():
            self._simple(404, head)
            return
        size = file_path.stat().st_size
        start, end, status = 0, size - 1, 200
        wanted = self.headers.get("Range")
        if wanted:
            match = _RANGE.match(wanted.strip())
            if match is None:
                # Several ranges or another unit: answering the whole file is allowed.
                wanted = None
            else:
                first, last = match.groups()
                if first == "":
                    start, end = max(0, size - int(last or 0)), size - 1
                else:
                    start = int(first)
                    end = min(int(last), size - 1) if last else size - 1
                if start >= size or start > end:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self._record(416, 0)
                    return
                status = 206
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            self._record(status, 0, fault.kind if fault and fault.kind != "stall" else None)
            return
        with file_path.open("rb") as fh:
            fh.seek(start)
            body = fh.read(length)
        if fault is not None and fault.kind == "truncate":
            body = body[: max(1, len(body) // 2)]
            try:
                self.wfile.write(body)
                self.wfile.flush()
            finally:
                self._record(status, len(body), "truncate")
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        # Written in pieces so that a client that hangs up early (GDAL learns a file's size
        # from the headers of a GET and then aborts) is logged with what it really received.
        sent = 0
        try:
            for piece in range(0, len(body), 65536):
                self.wfile.write(body[piece : piece + 65536])
                sent += len(body[piece : piece + 65536])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            self._record(status, sent, "client hung up")
            return
        self._record(status, sent, fault.kind if fault and fault.kind != "stall" else None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: CogServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up mid-answer is normal here (GDAL aborts size probes, tests
        # inject resets); tracebacks on stderr would only bury the test output.
        return


def _arm(query: Mapping[str, str]) -> Fault:
    times = query.get("times", "1")
    return Fault(
        query["kind"],
        query.get("path_glob") or None,
        None if times == "none" else int(times),
        float(query.get("delay_s", "5")),
    )


class CogServer(FaultBook[Fault]):
    """The server itself: serves ``root`` on 127.0.0.1 at a free port (runs in the child)."""

    def __init__(self, root: Path) -> None:
        super().__init__(_arm)
        self.root = Path(root)
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def resolve(self, url_path: str) -> Path | None:
        root = self.root.resolve()
        candidate = (root / url_path.lstrip("/")).resolve()
        if root not in candidate.parents:
            return None
        return candidate


class CogServerProcess(ServerProcess):
    """The test side: starts the server in a child process and talks to its control paths."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        super().__init__("tests.servers.cog_server", [str(self.root)], _CONTROL, "COG server")

    @property
    def log(self) -> list[RequestRecord]:
        """Every request since the last ``clear_log``, oldest first."""
        return [RequestRecord(**r) for r in self._records()]

    def fault(
        self, kind: str, path_glob: str | None = None, times: int | None = 1, delay_s: float = 5.0
    ) -> None:
        """Inject ``kind`` into the next ``times`` requests matching ``path_glob``.

        ``path_glob`` is matched against the URL path and against its last component;
        None matches every request. ``times=None`` keeps the fault for good.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        self._control(
            "fault",
            kind=kind,
            path_glob=path_glob or "",
            times="none" if times is None else times,
            delay_s=delay_s,
        )


class CogServerView:
    """What a test sees: the shared server, scoped to a fresh folder of its own."""

    def __init__(self, server: CogServerProcess, subdir: str) -> None:
        self.server = server
        self.root = server.root / subdir
        self.root.mkdir(parents=True, exist_ok=True)
        self.base_path = "/" + subdir
        self.url = f"{server.url}/{subdir}"

    @property
    def log(self) -> list[RequestRecord]:
        return self.server.log

    def clear_log(self) -> None:
        self.server.clear_log()

    def fault(
        self, kind: str, path_glob: str | None = None, times: int | None = 1, delay_s: float = 5.0
    ) -> None:
        self.server.fault(kind, path_glob, times, delay_s)

    def url_for(self, path: os.PathLike[str] | str) -> str:
        """URL of a file under the served folder."""
        rel = Path(path).resolve().relative_to(self.server.root.resolve())
        return f"{self.server.url}/{rel.as_posix()}"

    def requests(self, path_glob: str = "*", method: str | None = None) -> list[RequestRecord]:
        """Logged requests whose path (or last component) matches ``path_glob``."""
        probe = Fault("", path_glob, None, 0.0)
        return [
            r for r in self.log if probe.matches(r.path) and (method is None or r.method == method)
        ]


@pytest.fixture(scope="session")
def cog_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CogServerProcess]:
    """One COG server per session on 127.0.0.1, serving a temporary folder."""
    server = CogServerProcess(tmp_path_factory.mktemp("cog-server"))
    try:
        yield server
    finally:
        server.stop()


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@pytest.fixture
def cog_server(
    cog_server_session: CogServerProcess, request: pytest.FixtureRequest
) -> Iterator[CogServerView]:
    """The session's COG server with a fresh folder, an empty log and no faults."""
    cog_server_session.clear_faults()
    cog_server_session.clear_log()
    view = CogServerView(cog_server_session, _SAFE.sub("_", request.node.name)[:80])
    try:
        yield view
    finally:
        cog_server_session.clear_faults()


def _main(argv: list[str]) -> None:
    """Child process: serve ``argv[0]``, print the port, run until terminated."""
    server = CogServer(Path(argv[0]))
    print(server.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _main(sys.argv[1:])
