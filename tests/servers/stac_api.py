"""A real STAC API for the tests: stac-fastapi-pgstac on a private PostgreSQL + PostGIS.

The session fixture :func:`stac_api` starts, once per test session and on 127.0.0.1 only:

1. a throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl start`` in a ``tempfile.mkdtemp()``
   folder, run as the ``postgres`` user when the tests run as root, because PostgreSQL
   refuses to run as root), with a database migrated by ``pypgstac migrate``;
2. ``uvicorn stac_fastapi.pgstac.app:create_app --factory`` on a free port, with every
   default search extension enabled (query, filter/CQL2, sort, fields, token pagination).

stac-fastapi-pgstac and pypgstac pin versions that clash with the package's own
dependencies, so they live in a separate virtual environment whose python is found, in
order, at ``$MONITOR_STAC_API_PYTHON``, ``<repo>/.ci/.venv-stacapi/bin/python`` (made by
``.ci/run``) and ``/opt/stacapi-venv/bin/python``. When that python or the PostgreSQL/PostGIS
binaries are missing the tests that use the fixture are skipped with the reason, unless
``MONITOR_REQUIRE_STAC_API=1`` (set by ``.ci/run``), where they fail instead.

The server is shared by the whole session: data loaded by one test module stays visible to
the others. Use collection ids of your own, or scope searches (bbox, datetime, ids) to the
items you loaded.

Examples
--------
>>> def test_search(stac_api):
...     stac_api.load({"id": "demo", "description": "demo"}, items)
...     client = pystac_client.Client.open(stac_api.url)
...     found = list(client.search(collections=["demo"], bbox=bbox).items())
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

__all__ = [
    "LoggedRequest",
    "StacApiServer",
    "StacApiServerError",
    "StacApiUnavailable",
    "complete_collection",
    "complete_item",
    "find_postgres_bindir",
    "find_stac_api_python",
    "stac_api",
]

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Environment variable naming the python of a venv holding stac-fastapi-pgstac and pypgstac.
PYTHON_ENV_VAR = "MONITOR_STAC_API_PYTHON"
#: When "1", a missing prerequisite fails the tests instead of skipping them (CI sets it).
REQUIRE_ENV_VAR = "MONITOR_REQUIRE_STAC_API"
DEFAULT_PYTHONS = (
    REPO_ROOT / ".ci" / ".venv-stacapi" / "bin" / "python",
    Path("/opt/stacapi-venv/bin/python"),
)
POSTGRES_ROOT = Path("/usr/lib/postgresql")
POSTGRES_SHARE = Path("/usr/share/postgresql")
POSTGRES_SUPERUSER = "postgres"
DATABASE_NAME = "stac"

STARTUP_TIMEOUT_S = 60.0
SUBPROCESS_TIMEOUT_S = 120.0
SHUTDOWN_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 4000

# Only these variables of the caller's environment reach the servers: stac-fastapi reads
# its settings (ENABLED_EXTENSIONS, PREFIX_PATH, ...) and libpq its PG* variables from the
# environment, and a developer's shell must not change what the tests run against.
_PASSED_ENV_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")

# uvicorn's access log line: INFO:     127.0.0.1:40410 - "GET /search?limit=2 HTTP/1.1" 200 OK
_ACCESS_LOG_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3})'
)


# Runs in the stac-api venv: what `pypgstac load collections|items FILE --method upsert`
# does, for both tables in one interpreter. Arguments: dsn, collections file, items file.
_LOAD_SCRIPT = """
import os, sys
from pypgstac.db import PgstacDB
from pypgstac.load import Loader, Methods
dsn, collections_file, items_file = sys.argv[1:4]
with PgstacDB(dsn=dsn) as db:
    loader = Loader(db=db)
    loader.load_collections(collections_file, Methods.upsert)
    if os.path.getsize(items_file) > 0:
        loader.load_items(items_file, Methods.upsert)
"""


class StacApiUnavailable(Exception):
    """A prerequisite of the STAC API server (python venv, PostgreSQL, PostGIS) is missing."""


class StacApiServerError(RuntimeError):
    """A server step (startup or a load) failed; the message holds its output and log tails."""


@dataclass(frozen=True)
class LoggedRequest:
    """One HTTP request the API answered, read from uvicorn's access log.

    Attributes
    ----------
    method : str
        ``GET``, ``POST``, ...
    target : str
        Path and query string, e.g. ``/search?limit=2&collections=x``. POST bodies are not logged.
    status : int
        HTTP status code of the response.
    """

    method: str
    target: str
    status: int


def find_stac_api_python() -> Path:
    """Return the python of the venv holding stac-fastapi-pgstac and pypgstac.

    Raises
    ------
    StacApiUnavailable
        When ``$MONITOR_STAC_API_PYTHON`` names a missing file, or no default exists.
    """
    explicit = os.environ.get(PYTHON_ENV_VAR)
    if explicit:
        if not Path(explicit).is_file():
            raise StacApiUnavailable(f"{PYTHON_ENV_VAR}={explicit} does not exist")
        return Path(explicit)
    for candidate in DEFAULT_PYTHONS:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(p) for p in DEFAULT_PYTHONS)
    raise StacApiUnavailable(
        f"no python with stac-fastapi-pgstac found ({PYTHON_ENV_VAR} unset; tried {tried}); "
        "`bash .ci/run` makes one"
    )


def find_postgres_bindir() -> Path:
    """Return the newest ``/usr/lib/postgresql/<v>/bin`` whose version also has PostGIS.

    Raises
    ------
    StacApiUnavailable
        When no PostgreSQL server with a PostGIS extension is installed.
    """

    def version_of(bindir: Path) -> int:
        name = bindir.parent.name
        return int(name) if name.isdigit() else -1

    bindirs = sorted(POSTGRES_ROOT.glob("*/bin"), key=version_of, reverse=True)
    for bindir in bindirs:
        version = bindir.parent.name
        postgis = POSTGRES_SHARE / version / "extension" / "postgis.control"
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file() and postgis.is_file():
            return bindir
    found = ", ".join(str(b) for b in bindirs) or "none"
    raise StacApiUnavailable(
        f"no PostgreSQL server with PostGIS under {POSTGRES_ROOT} (found: {found}); "
        "apt-get install postgresql-15 postgresql-15-postgis-3"
    )


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, n_chars: int = LOG_TAIL_CHARS) -> str:
    """The last ``n_chars`` characters of a log file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not written)"
    return text[-n_chars:]


def _get_status(url: str, timeout_s: float = 2.0) -> int | None:
    """HTTP status of ``GET url`` ignoring any proxy settings; None when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return None


def complete_collection(
    collection: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Return a valid STAC Collection dict from a possibly minimal one.

    Missing ``type``, ``stac_version``, ``description``, ``license``, ``links`` and
    ``extent`` are filled in; a missing extent is computed from ``items`` (or is the whole
    world and an open interval when there are none).

    Parameters
    ----------
    collection : mapping
        At least ``{"id": ...}``.
    items : sequence of mapping
        The items about to be loaded into it.
    """
    if not isinstance(collection.get("id"), str) or not collection["id"]:
        raise ValueError(f"collection has no string 'id': {dict(collection)!r:.200}")
    full: dict[str, Any] = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "description": f"Test collection {collection['id']}",
        "license": "proprietary",
        "links": [],
        **collection,
    }
    computed = _extent_of(items)
    extent = dict(full.get("extent") or {})
    extent.setdefault("spatial", computed["spatial"])
    extent.setdefault("temporal", computed["temporal"])
    full["extent"] = extent
    return full


def _extent_of(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Bounding box and time span of items (whole world and open interval if unknown)."""
    boxes = [
        item["bbox"]
        for item in items
        if isinstance(item.get("bbox"), list) and len(item["bbox"]) == 4
    ]
    if boxes:
        bbox = [
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ]
    else:
        bbox = [-180.0, -90.0, 180.0, 90.0]
    # ISO 8601 strings with the same zone sort in time order; Earth Search and our own
    # items all write UTC with a trailing Z.
    instants = sorted(
        str(value)
        for item in items
        for key in ("datetime", "start_datetime", "end_datetime")
        if (value := item.get("properties", {}).get(key))
    )
    interval = [instants[0], instants[-1]] if instants else [None, None]
    return {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}}


def complete_item(item: Mapping[str, Any], collection_id: str) -> dict[str, Any]:
    """A copy of ``item`` that belongs to ``collection_id`` and has the required keys."""
    if not isinstance(item.get("id"), str) or not item["id"]:
        raise ValueError(f"item has no string 'id': {dict(item)!r:.200}")
    full: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "links": [],
        "assets": {},
        **item,
    }
    full["collection"] = collection_id
    return full


class StacApiServer:
    """stac-fastapi-pgstac on a private PostgreSQL cluster, all on 127.0.0.1.

    Parameters
    ----------
    python : Path
        Python of the venv holding stac-fastapi-pgstac[server] and pypgstac[psycopg].
    postgres_bindir : Path
        Folder with ``initdb``, ``pg_ctl`` and ``createdb``.

    Attributes
    ----------
    url : str
        Root of the API, ``http://127.0.0.1:PORT`` (no trailing slash).
    """

    def __init__(self, python: Path, postgres_bindir: Path) -> None:
        self.python = python
        self.postgres_bindir = postgres_bindir
        self.url = ""
        self.workdir: Path | None = None
        self._pg_port = 0
        self._api_port = 0
        self._pg_started = False
        self._api_process: subprocess.Popen[bytes] | None = None
        self._api_log_offset = 0
        self._n_loads = 0

    # -- paths and environment ---------------------------------------------------------

    @property
    def _data_dir(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "pgdata"

    @property
    def _postgres_log(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "postgres.log"

    @property
    def api_log(self) -> Path:
        """uvicorn's stdout and stderr (access log included)."""
        assert self.workdir is not None
        return self.workdir / "stac-api.log"

    @property
    def dsn(self) -> str:
        """libpq connection string of the pgstac database (trust auth, loopback only)."""
        return f"postgresql://{POSTGRES_SUPERUSER}@127.0.0.1:{self._pg_port}/{DATABASE_NAME}"

    def _environment(self) -> dict[str, str]:
        """The environment every server process and loader gets, read by stac-fastapi-pgstac."""
        env = {name: os.environ[name] for name in _PASSED_ENV_VARS if name in os.environ}
        connection = {
            # stac-fastapi-pgstac >= 4 (PostgresSettings) and libpq read these ...
            "PGUSER": POSTGRES_SUPERUSER,
            "PGPASSWORD": "unused-trust-auth",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self._pg_port),
            "PGDATABASE": DATABASE_NAME,
            # ... and releases before 4 read these; harmless for the newer ones.
            "POSTGRES_USER": POSTGRES_SUPERUSER,
            "POSTGRES_PASS": "unused-trust-auth",
            "POSTGRES_HOST_READER": "127.0.0.1",
            "POSTGRES_HOST_WRITER": "127.0.0.1",
            "POSTGRES_PORT": str(self._pg_port),
            "POSTGRES_DBNAME": DATABASE_NAME,
        }
        env.update(connection)
        env.update(
            {
                "PYTHONUNBUFFERED": "1",  # access log lines reach the file as they happen
                "STAC_FASTAPI_TITLE": "monitor test STAC API",
                "STAC_FASTAPI_DESCRIPTION": "stac-fastapi-pgstac started by the monitor's tests",
                "STAC_FASTAPI_LANDING_ID": "monitor-test-stac-api",
                "STAC_FASTAPI_VERSION": "test",
            }
        )
        # ENABLED_EXTENSIONS is deliberately absent: then the app enables all of its
        # extensions, query, filter, sort, fields and pagination among them.
        return env

    def _as_postgres(self, argv: list[str]) -> list[str]:
        """Prefix a command so it runs as the postgres OS user when we are root."""
        if os.geteuid() == 0:
            return ["runuser", "-u", POSTGRES_SUPERUSER, "--", *argv]
        return argv

    def _run(self, argv: list[str], what: str, log: Path | None = None) -> str:
        """Run a setup or load step; raise StacApiServerError with its output when it fails."""
        try:
            done = subprocess.run(
                argv,
                cwd=self.workdir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=SUBPROCESS_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as error:
            raise StacApiServerError(
                f"{what} timed out after {SUBPROCESS_TIMEOUT_S:.0f} s: {argv}"
            ) from error
        if done.returncode != 0:
            output = (done.stdout + done.stderr)[-LOG_TAIL_CHARS:]
            extra = f"\n--- {log} ---\n{_tail(log)}" if log is not None else ""
            raise StacApiServerError(
                f"{what} failed (exit {done.returncode}): {argv}\n{output}{extra}"
            )
        return done.stdout

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Create the cluster, migrate pgstac, start uvicorn and wait until ``GET /`` is 200.

        Raises
        ------
        StacApiUnavailable
            Root without a ``postgres`` user or ``runuser``.
        StacApiServerError
            A step failed; the message carries the relevant log's tail.
        """
        owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            try:
                record = pwd.getpwnam(POSTGRES_SUPERUSER)
            except KeyError as error:
                raise StacApiUnavailable(
                    "running as root but there is no 'postgres' user to run PostgreSQL"
                ) from error
            if shutil.which("runuser") is None:
                raise StacApiUnavailable("running as root but 'runuser' is not on PATH")
            owner = (record.pw_uid, record.pw_gid)

        # Not pytest's tmp_path: its folders are closed to the postgres user.
        self.workdir = Path(tempfile.mkdtemp(prefix="monitor-stacapi-"))
        socket_dir = self.workdir / "socket"
        socket_dir.mkdir()
        if owner is not None:
            os.chown(self.workdir, *owner)
            os.chown(socket_dir, *owner)
        self._pg_port = _free_port()
        bindir = self.postgres_bindir

        self._run(
            self._as_postgres(
                [
                    str(bindir / "initdb"),
                    f"--pgdata={self._data_dir}",
                    f"--username={POSTGRES_SUPERUSER}",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            "initdb",
        )
        # A throw-away cluster: durability settings off make migrate and loads faster.
        server_options = (
            f"-c listen_addresses=127.0.0.1 -p {self._pg_port} -k {socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_started = True  # from here on stop() must try to stop the cluster
        self._run(
            self._as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    f"--pgdata={self._data_dir}",
                    f"--log={self._postgres_log}",
                    f"--options={server_options}",
                    "--wait",
                    "--timeout=60",
                    "start",
                ]
            ),
            "pg_ctl start",
            log=self._postgres_log,
        )
        self._run(
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self._pg_port),
                "-U",
                POSTGRES_SUPERUSER,
                DATABASE_NAME,
            ],
            "createdb",
            log=self._postgres_log,
        )
        self._run(
            [str(self.python), "-m", "pypgstac.pypgstac", "migrate", "--dsn", self.dsn],
            "pypgstac migrate",
            log=self._postgres_log,
        )
        self._start_api()

    def _start_api(self) -> None:
        """Start uvicorn and wait (bounded) until the landing page answers 200."""
        self._api_port = _free_port()
        self.url = f"http://127.0.0.1:{self._api_port}"
        argv = [
            str(self.python),
            "-m",
            "uvicorn",
            "stac_fastapi.pgstac.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self._api_port),
        ]
        with open(self.api_log, "wb") as log:
            self._api_process = subprocess.Popen(
                argv,
                # stac-fastapi's settings also read ./.env: keep the repo's out of it
                cwd=self.workdir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches pytest, which then stops us in order
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self._api_process.poll() is not None:
                raise StacApiServerError(
                    f"stac-fastapi-pgstac exited with {self._api_process.returncode} "
                    f"before answering {self.url}/"
                    f"\n--- {self.api_log} ---\n{_tail(self.api_log)}"
                )
            if _get_status(self.url + "/") == 200:
                break
            if time.monotonic() > deadline:
                raise StacApiServerError(
                    f"stac-fastapi-pgstac did not answer 200 at {self.url}/ "
                    f"within {STARTUP_TIMEOUT_S:.0f} s"
                    f"\n--- {self.api_log} ---\n{_tail(self.api_log)}"
                )
            time.sleep(0.1)
        self._api_log_offset = self.api_log.stat().st_size

    def stop(self) -> None:
        """Stop uvicorn, then PostgreSQL (``-m immediate``), killing if needed; remove the folder.

        Safe to call more than once and after a failed :meth:`start`.
        """
        process, self._api_process = self._api_process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        if self._pg_started:
            self._pg_started = False
            self._stop_postgres()
        workdir, self.workdir = self.workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def _stop_postgres(self) -> None:
        """``pg_ctl stop -m immediate``; SIGKILL the postmaster if that does not work."""
        argv = self._as_postgres(
            [
                str(self.postgres_bindir / "pg_ctl"),
                f"--pgdata={self._data_dir}",
                "--mode=immediate",
                "--wait",
                "stop",
            ]
        )
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=SHUTDOWN_TIMEOUT_S,
                check=False,
            )
            if done.returncode == 0:
                return
        except subprocess.TimeoutExpired:
            pass
        pid_file = self._data_dir / "postmaster.pid"
        try:
            postmaster_pid = int(pid_file.read_text().splitlines()[0])
            os.kill(postmaster_pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass  # never started, or already gone

    # -- data and introspection --------------------------------------------------------

    def load(self, collection: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> None:
        """Create or update a collection and upsert items into it (pypgstac, method upsert).

        Parameters
        ----------
        collection : mapping
            A STAC Collection, or a minimal one (``id`` and any of ``description``,
            ``extent``, ``license``, ``links``); missing fields are filled in.
        items : sequence of mapping
            STAC Item dicts with any hrefs; their ``collection`` is set to the collection's
            id. Loading the same ids again replaces them.

        Raises
        ------
        ValueError
            A collection or item without an ``id``.
        StacApiServerError
            pypgstac refused the data; the message holds its output.
        """
        if self.workdir is None:
            raise RuntimeError("StacApiServer.load called on a server that is not running")
        full_collection = complete_collection(collection, items)
        full_items = [complete_item(item, full_collection["id"]) for item in items]
        self._n_loads += 1
        collections_file = self.workdir / f"load-{self._n_loads}-collections.ndjson"
        items_file = self.workdir / f"load-{self._n_loads}-items.ndjson"
        collections_file.write_text(json.dumps(full_collection) + "\n")
        items_file.write_text("".join(json.dumps(item) + "\n" for item in full_items))
        try:
            # One process for both tables: importing pypgstac costs ~0.5 s, the load ~0.1 s.
            self._run(
                [
                    str(self.python),
                    "-c",
                    _LOAD_SCRIPT,
                    self.dsn,
                    str(collections_file),
                    str(items_file),
                ],
                f"pypgstac load (upsert) into collection {full_collection['id']!r}",
            )
        finally:
            collections_file.unlink(missing_ok=True)
            items_file.unlink(missing_ok=True)

    def request_log(self) -> list[LoggedRequest]:
        """Requests answered since startup (readiness probes excluded), oldest first.

        The server is shared by the session: to see your own requests, take
        ``len(stac_api.request_log())`` before and slice after. Lines are written as the
        response starts, so a request just answered is already in the list.
        """
        if self.workdir is None:
            return []
        with open(self.api_log, "rb") as log:
            log.seek(self._api_log_offset)
            text = log.read().decode(errors="replace")
        return [
            LoggedRequest(match["method"], match["target"], int(match["status"]))
            for match in _ACCESS_LOG_LINE.finditer(text)
        ]


def _unavailable(reason: str) -> NoReturn:
    """Skip, or fail when the environment demands the server (CI)."""
    if os.environ.get(REQUIRE_ENV_VAR) == "1":
        pytest.fail(
            f"STAC API server required ({REQUIRE_ENV_VAR}=1) but unavailable: {reason}",
            pytrace=False,
        )
    pytest.skip(f"STAC API server unavailable: {reason}")


@pytest.fixture(scope="session")
def stac_api() -> Iterator[StacApiServer]:
    """A running stac-fastapi-pgstac at ``stac_api.url``, shared by the whole session."""
    try:
        server = StacApiServer(find_stac_api_python(), find_postgres_bindir())
    except StacApiUnavailable as error:
        _unavailable(str(error))
    # If pytest dies without running finalizers (e.g. a second Ctrl-C), still clean up.
    atexit.register(server.stop)
    try:
        try:
            server.start()
        except StacApiUnavailable as error:
            _unavailable(str(error))
        yield server
    finally:
        server.stop()  # also after a failed start: it stops whatever did come up
        atexit.unregister(server.stop)
