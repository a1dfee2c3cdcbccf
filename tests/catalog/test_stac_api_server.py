"""The test STAC API (tests/servers/stac_api.py) serves the recorded Earth Search items.

Talks to the server with pystac-client directly, not through the monitor package, so a
failure here points at the server fixture, not at ``monitor.catalog``.

The server is shared by the session and other modules may load more items into the same
collections (tile 47QMU, around 98 deg E). Every search here is therefore scoped to where
and when the recorded items lie (the Americas and Antarctic Peninsula, 2023-10 .. 2025-07),
which no other test data touches.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pystac_client
import pytest

from tests.servers.stac_api import (
    StacApiServer,
    StacApiUnavailable,
    complete_collection,
    find_stac_api_python,
)

L2A = "sentinel-2-l2a"
C1 = "sentinel-2-c1-l2a"
RECORDED_BBOX = [-110.0, -61.0, -37.0, 41.0]
RECORDED_DATETIME = "2023-10-01T00:00:00Z/2025-08-01T00:00:00Z"
TILE_24M_BBOX = [-40.5, -5.3, -37.5, -3.5]  # tiles 24MUA, 24MUV, 24MVV, 24MWV, 24MXV


def _read_recorded(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Recorded items grouped by collection, from files named ``<collection>__<id>.json``."""
    grouped: dict[str, list[dict[str, Any]]] = {L2A: [], C1: []}
    for path in sorted(folder.glob("*__*.json")):
        collection_id = path.name.split("__", 1)[0]
        grouped[collection_id].append(json.loads(path.read_text()))
    return grouped


@pytest.fixture(scope="module")
def recorded(stac_api: StacApiServer, earthsearch_items: Path) -> dict[str, list[dict[str, Any]]]:
    """The 13 recorded items, loaded into their two collections."""
    grouped = _read_recorded(earthsearch_items)
    assert sum(len(items) for items in grouped.values()) == 13
    # One collection in the brief's minimal form, the other with nothing but an id, so the
    # fixture's completion of missing fields is exercised both ways.
    stac_api.load(
        {
            "id": L2A,
            "description": "Sentinel-2 L2A (recorded Earth Search items)",
            "extent": {
                "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
                "temporal": {"interval": [["2015-06-27T00:00:00Z", None]]},
            },
            "license": "proprietary",
            "links": [],
        },
        grouped[L2A],
    )
    stac_api.load({"id": C1}, grouped[C1])
    return grouped


@pytest.fixture()
def client(
    stac_api: StacApiServer, recorded: dict[str, list[dict[str, Any]]]
) -> pystac_client.Client:
    return pystac_client.Client.open(stac_api.url)


def _ids(search: pystac_client.ItemSearch) -> set[str]:
    # Raw dicts: pystac would migrate extension fields on the way (proj:epsg -> proj:code).
    return {feature["id"] for feature in search.items_as_dicts()}


def _recorded_ids(
    recorded: dict[str, list[dict[str, Any]]], collection_id: str, keep: Any = None
) -> set[str]:
    return {item["id"] for item in recorded[collection_id] if keep is None or keep(item)}


@pytest.mark.parametrize("collection_id", [L2A, C1])
def test_search_by_collection_returns_exactly_its_items(
    client: pystac_client.Client, recorded: dict[str, list[dict[str, Any]]], collection_id: str
) -> None:
    search = client.search(
        collections=[collection_id], bbox=RECORDED_BBOX, datetime=RECORDED_DATETIME
    )
    assert _ids(search) == _recorded_ids(recorded, collection_id)


def test_search_by_bbox_finds_only_intersecting_tiles(
    client: pystac_client.Client, recorded: dict[str, list[dict[str, Any]]]
) -> None:
    search = client.search(collections=[L2A, C1], bbox=TILE_24M_BBOX)
    found = {(feature["collection"], feature["id"]) for feature in search.items_as_dicts()}
    expected = {
        (collection_id, item["id"])
        for collection_id in (L2A, C1)
        for item in recorded[collection_id]
        if "24M" in item["id"]
    }
    assert len(expected) == 10
    assert found == expected


def test_search_by_datetime_range(client: pystac_client.Client) -> None:
    search = client.search(
        collections=[L2A, C1], bbox=RECORDED_BBOX, datetime="2023-10-01/2023-10-31"
    )
    assert _ids(search) == {"S2A_13TDE_20231008_0_L2A"}


def test_cloud_cover_query_and_cql2_filter_agree(
    client: pystac_client.Client, recorded: dict[str, list[dict[str, Any]]]
) -> None:
    expected = _recorded_ids(
        recorded, L2A, keep=lambda item: item["properties"]["eo:cloud_cover"] <= 30
    )
    assert 0 < len(expected) < len(recorded[L2A])  # the threshold really splits the items
    scope = {"collections": [L2A], "bbox": RECORDED_BBOX, "datetime": RECORDED_DATETIME}
    by_query = client.search(**scope, query={"eo:cloud_cover": {"lte": 30}})
    by_filter = client.search(
        **scope,
        filter={"op": "<=", "args": [{"property": "eo:cloud_cover"}, 30]},
        filter_lang="cql2-json",
    )
    assert _ids(by_query) == expected
    assert _ids(by_filter) == expected


def test_pagination_with_limit_two_returns_every_item_once(
    client: pystac_client.Client, recorded: dict[str, list[dict[str, Any]]]
) -> None:
    search = client.search(
        collections=[L2A, C1], bbox=RECORDED_BBOX, datetime=RECORDED_DATETIME, limit=2
    )
    pages = list(search.pages_as_dicts())
    assert all(len(page["features"]) <= 2 for page in pages)
    assert all(any(link["rel"] == "next" for link in page["links"]) for page in pages[:-1])
    keys = [
        (feature["collection"], feature["id"]) for page in pages for feature in page["features"]
    ]
    assert len(keys) == len(set(keys)) == 13
    assert len(pages) >= math.ceil(13 / 2)
    assert set(keys) == {(c, item["id"]) for c in (L2A, C1) for item in recorded[c]}


def test_item_properties_and_asset_fields_are_preserved(
    client: pystac_client.Client, recorded: dict[str, list[dict[str, Any]]]
) -> None:
    (l2a,) = client.search(collections=[L2A], ids=["S2B_24MVV_20250731_0_L2A"]).items_as_dicts()
    (c1,) = client.search(collections=[C1], ids=["S2B_T24MVV_20250731T130245_L2A"]).items_as_dicts()
    assert l2a["properties"]["earthsearch:boa_offset_applied"] is True
    assert "earthsearch:boa_offset_applied" not in c1["properties"]
    for served in (l2a, c1):
        (band,) = served["assets"]["red"]["raster:bands"]
        assert band["offset"] == pytest.approx(-0.1)
        assert band["scale"] == pytest.approx(0.0001)
        original = next(
            item for item in recorded[served["collection"]] if item["id"] == served["id"]
        )
        assert served["properties"] == original["properties"]
        assert served["assets"] == original["assets"]  # hrefs and all, as recorded


def test_minimal_collection_is_completed_with_the_items_extent(
    client: pystac_client.Client, recorded: dict[str, list[dict[str, Any]]]
) -> None:
    collection = client.get_collection(C1)
    (bbox,) = collection.extent.spatial.bboxes
    assert bbox == pytest.approx([-59.831578, -60.501986, -37.632824, -3.617809])
    assert collection.license == "proprietary"


def test_load_again_upserts_without_duplicates(
    stac_api: StacApiServer, client: pystac_client.Client, recorded: dict[str, list[dict[str, Any]]]
) -> None:
    changed = [json.loads(json.dumps(item)) for item in recorded[C1]]
    changed[0]["properties"]["eo:cloud_cover"] = 99.5
    stac_api.load({"id": C1}, changed)
    try:
        search = client.search(collections=[C1], bbox=RECORDED_BBOX, datetime=RECORDED_DATETIME)
        found = list(search.items_as_dicts())
        assert sorted(feature["id"] for feature in found) == sorted(
            item["id"] for item in recorded[C1]
        )
        updated = next(feature for feature in found if feature["id"] == changed[0]["id"])
        assert updated["properties"]["eo:cloud_cover"] == 99.5
    finally:
        stac_api.load({"id": C1}, recorded[C1])  # later tests see the recorded values


def test_request_log_records_searches(
    stac_api: StacApiServer, client: pystac_client.Client
) -> None:
    n_before = len(stac_api.request_log())
    list(client.search(collections=[L2A], bbox=TILE_24M_BBOX, limit=2).items_as_dicts())
    new = stac_api.request_log()[n_before:]
    searches = [request for request in new if request.target.startswith("/search")]
    assert len(searches) >= 3  # five items at two per page
    assert all(request.status == 200 for request in searches)


def test_complete_collection_fills_missing_fields() -> None:
    items = [
        {"id": "a", "bbox": [0, 0, 1, 1], "properties": {"datetime": "2024-01-02T00:00:00Z"}},
        {"id": "b", "bbox": [-1, 0.5, 0.5, 2], "properties": {"datetime": "2024-03-04T00:00:00Z"}},
    ]
    full = complete_collection({"id": "x", "license": "CC-BY-4.0"}, items)
    assert full["type"] == "Collection" and full["license"] == "CC-BY-4.0" and full["links"] == []
    assert full["extent"]["spatial"]["bbox"] == [[-1, 0, 1, 2]]
    assert full["extent"]["temporal"]["interval"] == [
        ["2024-01-02T00:00:00Z", "2024-03-04T00:00:00Z"]
    ]
    with pytest.raises(ValueError, match="id"):
        complete_collection({"description": "no id"}, items)


def test_missing_explicit_python_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-python"
    monkeypatch.setenv("MONITOR_STAC_API_PYTHON", str(missing))
    with pytest.raises(StacApiUnavailable, match=str(missing)):
        find_stac_api_python()
