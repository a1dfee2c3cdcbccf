"""Fixtures of the catalog tests: item templates, a small AOI, STAC API servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.catalog import fake_stac_api
from tests.catalog.builders import C1_TEMPLATE, L2A_TEMPLATE, load_template


@pytest.fixture(scope="session")
def c1_template(earthsearch_items: Path) -> dict[str, Any]:
    """A real sentinel-2-c1-l2a item (offset in the pixels, declared -0.1)."""
    return load_template(earthsearch_items, C1_TEMPLATE)


@pytest.fixture(scope="session")
def l2a_template(earthsearch_items: Path) -> dict[str, Any]:
    """A real sentinel-2-l2a item (boa_offset_applied true, -0.1 still declared)."""
    return load_template(earthsearch_items, L2A_TEMPLATE)


@pytest.fixture
def fake_api() -> Iterator[fake_stac_api.FakeStacApi]:
    """A fresh in-process STAC API (query extension on)."""
    yield from fake_stac_api.running()


@pytest.fixture(params=["fake", "pgstac"])
def api_server(request: pytest.FixtureRequest) -> Any:
    """Each API test runs against the in-process fake and the real stac-fastapi-pgstac.

    The pgstac server is the session fixture ``stac_api`` from ``tests/servers``; when it
    is not available the pgstac variant is skipped (the fake still runs).
    """
    if request.param == "fake":
        return request.getfixturevalue("fake_api")
    try:
        return request.getfixturevalue("stac_api")
    except pytest.FixtureLookupError:
        pytest.skip(
            "stac_api fixture (stac-fastapi-pgstac, tests/servers/stac_api.py) is not available"
        )
