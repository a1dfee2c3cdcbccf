"""What the test servers with faults on demand share (``cog_server``, ``fault_proxy``).

Server side, :class:`FaultBook`: the request log and the faults a test armed, behind one lock
for the server's threads, and the control commands that read and change them (``log``,
``clear_log``, ``clear_faults``, ``fault``). Test side, :class:`ServerProcess`: the server
in a child process (``python -m MODULE ARGS``, which prints its port when it listens),
driven through its control paths.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["FaultBook", "ServerProcess"]

_REPO = Path(__file__).resolve().parents[2]


class _Fault(Protocol):
    times: int | None

    # Each server's faults match requests by what it knows of them (path; path and body).
    @property
    def matches(self) -> Callable[..., bool]: ...


FaultT = TypeVar("FaultT", bound=_Fault)


class FaultBook(Generic[FaultT]):
    """The requests a server saw and the faults waiting for the next ones.

    ``arm`` makes a fault from the query of a ``fault`` control request (raising
    ``ValueError`` or ``KeyError`` for a bad one).
    """

    def __init__(self, arm: Callable[[Mapping[str, str]], FaultT]) -> None:
        self.log: list[Any] = []
        self._faults: list[FaultT] = []
        self._lock = threading.Lock()
        self._arm = arm

    def append(self, record: Any) -> None:
        with self._lock:
            self.log.append(record)

    def take_fault(self, *request: str) -> FaultT | None:
        """The first armed fault matching ``request``, counted down (and dropped when used
        up); None when none matches."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(*request):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def control(self, command: str, query: Mapping[str, str]) -> object:
        """Answer a control request from the test process (never logged)."""
        with self._lock:
            if command == "log":
                return [dataclasses.asdict(r) for r in self.log]
            if command == "clear_log":
                self.log.clear()
            elif command == "clear_faults":
                self._faults.clear()
            elif command == "fault":
                self._faults.append(self._arm(query))
            else:
                raise KeyError(command)
        return "ok"


class ServerProcess:
    """A test server in a child process: started, waited for, controlled, stopped.

    A child process, not a thread: GDAL holds the GIL during ``rasterio.open``, so a server
    thread in the test process could not answer and every read would hang until timeout.
    """

    def __init__(self, module: str, args: list[str], control_prefix: str, what: str) -> None:
        self._control_prefix = control_prefix
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(_REPO), os.environ.get("PYTHONPATH")) if p
            ),
        }
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=_REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"{what} did not start: {line!r}")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while True:  # wait until it answers
            try:
                self.clear_log()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    def _control(self, command: str, **query: object) -> object:
        params = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        url = f"{self.url}{self._control_prefix}{command}" + (f"?{params}" if params else "")
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())

    def _records(self) -> list[dict[str, Any]]:
        records = self._control("log")
        assert isinstance(records, list)
        return records

    def clear_log(self) -> None:
        self._control("clear_log")

    def clear_faults(self) -> None:
        self._control("clear_faults")

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
