"""STAC API search: bbox and dates, cloud filter, paging, unknown collection, c1 → l2a fallback.

Every test runs against the in-process fake and against the real stac-fastapi-pgstac
(``stac_api`` session fixture; skipped while it is not available). The real server is shared
by the whole session, so each test puts its items on its own spot of the globe (and its
own dates) and cannot see another test's items.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from monitor.catalog import find_scenes, open_catalog
from monitor.errors import SourceError
from monitor.models import Aoi
from tests.catalog.builders import make_aoi, make_collection, make_item
from tests.catalog.fake_stac_api import FakeStacApi

C1 = "sentinel-2-c1-l2a"
L2A = "sentinel-2-l2a"


def _spot(index: int) -> tuple[tuple[float, float, float, float], Aoi]:
    """A tile-sized footprint and a small AOI inside it, unique to one test."""
    lon, lat = -170.0 + 3.0 * index, -25.0
    footprint = (lon - 0.5, lat - 0.5, lon + 0.5, lat + 0.5)
    return footprint, make_aoi(lon, lat, aoi_id=f"spot-{index}")


def _ids(found: Any) -> list[str]:
    return [scene.id for scene in found.scenes]


def test_search_by_bbox_and_dates(api_server: Any, c1_template: dict[str, Any]) -> None:
    footprint, aoi = _spot(1)
    elsewhere, _ = _spot(2)
    items = [
        make_item(c1_template, when="2021-03-01T04:00:00Z", footprint=footprint, item_id="a1"),
        make_item(c1_template, when="2021-03-31T23:59:00Z", footprint=footprint, item_id="a2"),
        make_item(c1_template, when="2021-04-01T00:00:01Z", footprint=footprint, item_id="a3"),
        make_item(c1_template, when="2021-03-15T04:00:00Z", footprint=elsewhere, item_id="a4"),
    ]
    api_server.load(make_collection(C1), items)
    catalog = open_catalog(api_server.url, retries=0)
    assert (catalog.kind, catalog.collection) == ("api", C1)
    found = find_scenes(catalog, aoi, dt.date(2021, 3, 1), dt.date(2021, 3, 31))
    assert _ids(found) == ["a1", "a2"]
    assert all(scene.rule.offset == pytest.approx(-0.1) for scene in found.scenes)
    assert found.scenes[0].item_href.startswith(api_server.url)
    assert found.monthly_counts == {"2021-03": {C1: 2}}


def test_cloud_filter(api_server: Any, c1_template: dict[str, Any]) -> None:
    footprint, aoi = _spot(3)
    items = [
        make_item(
            c1_template,
            when=f"2021-05-{day:02d}T04:00:00Z",
            footprint=footprint,
            item_id=f"c{cloud}",
            cloud=cloud,
        )
        for day, cloud in ((2, 5), (7, 60), (12, 90))
    ]
    api_server.load(make_collection(C1), items)
    catalog = open_catalog(api_server.url, retries=0)
    found = find_scenes(catalog, aoi, dt.date(2021, 5, 1), dt.date(2021, 5, 31), max_cloud_cover=50)
    assert _ids(found) == ["c5"]
    if isinstance(api_server, FakeStacApi):
        # Sent to the server as the query extension, not only filtered here.
        assert api_server.searches()[-1]["query"] == {"eo:cloud_cover": {"lte": 50}}


def test_pagination(api_server: Any, c1_template: dict[str, Any]) -> None:
    footprint, aoi = _spot(4)
    items = [
        make_item(
            c1_template,
            when=f"2021-06-{day:02d}T04:00:00Z",
            footprint=footprint,
            item_id=f"p{day:02d}",
        )
        for day in range(1, 12, 2)
    ]
    api_server.load(make_collection(C1), items)
    catalog = open_catalog(api_server.url, retries=0, page_size=2)
    found = find_scenes(catalog, aoi, dt.date(2021, 6, 1), dt.date(2021, 6, 30))
    assert _ids(found) == [item["id"] for item in items]
    if isinstance(api_server, FakeStacApi):
        pages = api_server.searches()
        assert len(pages) == 3 and all(page["limit"] == 2 for page in pages)


def test_unknown_collection_lists_the_available_ones(
    api_server: Any, c1_template: dict[str, Any]
) -> None:
    api_server.load(make_collection(C1), [])
    with pytest.raises(SourceError) as info:
        open_catalog(api_server.url, collection="sentinel-2-l3z", retries=0)
    message = str(info.value)
    assert message.startswith(f"{api_server.url}: no collection 'sentinel-2-l3z' (available: ")
    assert C1 in message


def test_c1_gap_month_comes_from_l2a(
    api_server: Any, c1_template: dict[str, Any], l2a_template: dict[str, Any]
) -> None:
    footprint, aoi = _spot(5)
    c1_items = [
        make_item(c1_template, when=when, footprint=footprint, item_id=f"c1-{i}")
        for i, when in enumerate(["2022-01-10T04:00:00Z", "2022-03-11T04:00:00Z"])
    ]
    l2a_items = [
        make_item(l2a_template, when=when, footprint=footprint, item_id=f"l2a-{i}")
        for i, when in enumerate(
            ["2022-01-10T04:00:00Z", "2022-02-09T04:00:00Z", "2022-03-11T04:00:00Z"]
        )
    ]
    api_server.load(make_collection(C1), c1_items)
    api_server.load(make_collection(L2A), l2a_items)

    found = find_scenes(
        open_catalog(api_server.url, retries=0), aoi, dt.date(2022, 1, 1), dt.date(2022, 3, 31)
    )
    assert _ids(found) == ["c1-0", "l2a-1", "c1-1"]
    assert found.fallback_months == ("2022-02",)
    assert found.monthly_counts == {"2022-01": {C1: 1}, "2022-02": {L2A: 1}, "2022-03": {C1: 1}}
    offsets = {scene.collection: scene.rule.offset for scene in found.scenes}
    assert offsets == {C1: pytest.approx(-0.1), L2A: 0.0}

    without = find_scenes(
        open_catalog(api_server.url, retries=0, fallback_collection=None),
        aoi,
        dt.date(2022, 1, 1),
        dt.date(2022, 3, 31),
    )
    assert _ids(without) == ["c1-0", "c1-1"] and without.fallback_months == ()
    assert without.monthly_counts["2022-02"] == {}

    only_l2a = find_scenes(
        open_catalog(api_server.url, retries=0, collection=L2A),
        aoi,
        dt.date(2022, 1, 1),
        dt.date(2022, 3, 31),
    )
    assert _ids(only_l2a) == ["l2a-0", "l2a-1", "l2a-2"]
    assert all(scene.rule.offset == 0.0 for scene in only_l2a.scenes)
