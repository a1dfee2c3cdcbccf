"""Shared test setup: loopback-only sockets, the shared data folder, server fixtures.

Servers (STAC API, Range COG server) live in ``tests/servers/`` and are exposed as
fixtures through ``pytest_plugins``; each binds 127.0.0.1 on a free port, waits until it
answers, and is terminated (then killed) at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.servers.stac_api",
    "tests.servers.cog_server",
    "tests.servers.fault_proxy",
    "tests.alerts.receivers",
]

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(autouse=True)
def _loopback_only(request: pytest.FixtureRequest) -> None:
    """No test reaches the internet: only loopback (and unix) sockets, except `network` tests."""
    if request.node.get_closest_marker("network"):
        return
    from pytest_socket import socket_allow_hosts

    socket_allow_hosts(["127.0.0.1", "::1", "localhost"], allow_unix_socket=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (it sits beside the checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def earthsearch_items(shared_data: Path) -> Path:
    """Folder of the 13 recorded Earth Search items."""
    return shared_data / "earthsearch-items"
