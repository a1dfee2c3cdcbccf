"""Static catalogs: opening, client-side search, one scene per acquisition."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import shapely.geometry

from monitor.aoi.grid import grid_for_geometry
from monitor.catalog import find_scenes, open_catalog
from monitor.errors import ConfigError, ItemError, SourceError
from monitor.models import Aoi
from tests.catalog.builders import KK_PARK, make_aoi, make_item, write_static_collection


def _rennes_aoi(shared_data: Path) -> Aoi:
    feature = json.loads((shared_data / "oscd/rennes/aoi.geojson").read_text())
    if feature.get("type") == "FeatureCollection":
        feature = feature["features"][0]
    geometry = shapely.geometry.shape(feature.get("geometry", feature))
    return Aoi(
        id="rennes",
        name="Rennes",
        geometry=geometry,
        geometry_hash="r",
        grid=grid_for_geometry(geometry),
    )


def test_rennes_collection(shared_data: Path) -> None:
    folder = shared_data / "oscd/rennes"
    catalog = open_catalog(str(folder))  # a folder holding collection.json
    assert catalog.kind == "static" and catalog.collection is None
    assert catalog.source == str(folder / "collection.json")
    found = find_scenes(
        catalog, _rennes_aoi(shared_data), dt.date(2015, 1, 1), dt.date(2017, 12, 31)
    )
    assert [s.id for s in found.scenes] == ["S2_rennes_20150821_L1C", "S2_rennes_20170621_L1C"]
    for scene in found.scenes:
        assert not scene.has_scl
        assert scene.rule.offset == 0.0 and "top-of-atmosphere" in scene.rule.reason
        assert Path(scene.assets["nir"].href).is_file()
        assert scene.collection == "sentinel-2-l1c"
    assert found.monthly_counts["2015-08"] == {"sentinel-2-l1c": 1}
    assert found.monthly_counts["2016-01"] == {}
    assert len(found.monthly_counts) == 36
    assert found.fallback_months == () and found.duplicates == () and found.rejected == ()
    # Inclusive days: the last day still counts, the day after does not.
    only_first = find_scenes(
        catalog, _rennes_aoi(shared_data), dt.date(2015, 8, 21), dt.date(2017, 6, 20)
    )
    assert [s.id for s in only_first.scenes] == ["S2_rennes_20150821_L1C"]


@pytest.fixture
def kk_archive(
    tmp_path: Path, c1_template: dict[str, Any], l2a_template: dict[str, Any]
) -> tuple[Path, list[dict[str, Any]]]:
    """A static collection over 47QMU: c1 items across months, plus tricky duplicates."""
    items = [
        make_item(c1_template, when="2024-01-05T04:00:31Z", cloud=5),
        make_item(c1_template, when="2024-01-15T04:00:29Z", cloud=80),
        make_item(c1_template, when="2024-02-09T04:00:30Z", cloud=12),
        make_item(c1_template, when="2024-03-10T04:00:33Z", cloud=3),
        # Same datatake, neighbouring tile covering only the AOI's western 25 %.
        make_item(
            c1_template,
            when="2024-03-10T04:00:21Z",
            tile="47QLU",
            footprint=(97.2, 16.19, KK_PARK[0] - 0.002, 17.18),
        ),
        # Elsewhere: never returned by the bbox search.
        make_item(
            c1_template,
            when="2024-02-20T04:00:30Z",
            tile="47QNU",
            footprint=(99.1, 16.19, 100.1, 17.18),
        ),
    ]
    path = write_static_collection(tmp_path / "kk", "sentinel-2-c1-l2a", items)
    return path, items


def test_search_filters_and_one_scene_per_acquisition(kk_archive: Any) -> None:
    path, items = kk_archive
    catalog = open_catalog(str(path))
    assert catalog.kind == "static"
    aoi = make_aoi()
    found = find_scenes(catalog, aoi, dt.date(2024, 1, 1), dt.date(2024, 3, 31), max_cloud_cover=50)
    ids = [s.id for s in found.scenes]
    assert ids == [
        "S2B_T47QMU_20240105T040031_L2A",
        "S2B_T47QMU_20240209T040030_L2A",
        "S2B_T47QMU_20240310T040033_L2A",
    ]  # the 80 % cloudy one is filtered
    assert [s.datetime for s in found.scenes] == sorted(s.datetime for s in found.scenes)
    [(duplicate, why)] = found.duplicates
    assert duplicate.id == "S2B_T47QLU_20240310T040021_L2A"
    assert why == (
        "same acquisition as S2B_T47QMU_20240310T040033_L2A: covers 25% of the AOI vs 100%"
    )
    assert found.rejected == ()
    assert found.monthly_counts == {
        "2024-01": {"sentinel-2-c1-l2a": 1},
        "2024-02": {"sentinel-2-c1-l2a": 1},
        "2024-03": {"sentinel-2-c1-l2a": 1},
    }
    # Relative asset hrefs became absolute paths next to the items.
    assert found.scenes[0].assets["red"].href == str(
        path.parent / "assets/S2B_T47QMU_20240105T040031_L2A/B04.tif"
    )
    assert found.scenes[0].item_href == str(
        path.parent / "items/S2B_T47QMU_20240105T040031_L2A.json"
    )


def test_item_in_the_bbox_but_off_the_polygon_is_rejected(
    tmp_path: Path, c1_template: dict[str, Any]
) -> None:
    lon, lat = KK_PARK
    triangle = shapely.geometry.Polygon(
        [(lon - 0.004, lat - 0.004), (lon + 0.004, lat - 0.004), (lon - 0.004, lat + 0.004)]
    )
    aoi = Aoi(
        id="tri", name="tri", geometry=triangle, geometry_hash="t", grid=grid_for_geometry(triangle)
    )
    corner = make_item(
        c1_template,
        when="2024-02-20T04:00:30Z",
        item_id="corner",
        footprint=(lon + 0.002, lat + 0.002, lon + 0.01, lat + 0.01),
    )
    path = write_static_collection(tmp_path / "t", "sentinel-2-c1-l2a", [corner])
    found = find_scenes(open_catalog(str(path)), aoi, dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert found.scenes == ()
    assert found.rejected == (("corner", "does not cover the AOI"),)


def test_reprocessed_duplicate_loses_to_newer_baseline(
    tmp_path: Path, c1_template: dict[str, Any]
) -> None:
    old = make_item(
        c1_template,
        when="2024-05-01T04:00:30Z",
        baseline="05.10",
        item_id="old-0510",
        updated="2024-05-01T06:00:00Z",
    )
    new = make_item(
        c1_template,
        when="2024-05-01T04:00:30Z",
        baseline="05.11",
        item_id="new-0511",
        updated="2024-04-01T06:00:00Z",
    )
    path = write_static_collection(tmp_path / "r", "sentinel-2-c1-l2a", [old, new])
    found = find_scenes(
        open_catalog(str(path)), make_aoi(), dt.date(2024, 5, 1), dt.date(2024, 5, 1)
    )
    assert [s.id for s in found.scenes] == ["new-0511"]
    assert found.duplicates[0][1] == "superseded by reprocessed new-0511 (baseline 05.11)"


def test_mixed_collections_keep_their_own_rule(
    tmp_path: Path, c1_template: dict[str, Any], l2a_template: dict[str, Any]
) -> None:
    c1 = make_item(c1_template, when="2024-06-01T04:00:30Z")
    l2a = make_item(l2a_template, when="2024-07-01T04:00:30Z")
    path = write_static_collection(tmp_path / "m", "mixed", [c1, l2a], keep_item_collections=True)
    catalog = open_catalog(str(path))
    found = find_scenes(catalog, make_aoi(), dt.date(2024, 6, 1), dt.date(2024, 7, 31))
    rules = {s.collection: s.rule.offset for s in found.scenes}
    assert rules == {"sentinel-2-c1-l2a": pytest.approx(-0.1), "sentinel-2-l2a": 0.0}
    only_l2a = open_catalog(str(path), collection="sentinel-2-l2a")
    assert [
        s.collection
        for s in find_scenes(only_l2a, make_aoi(), dt.date(2024, 6, 1), dt.date(2024, 7, 31)).scenes
    ] == ["sentinel-2-l2a"]
    with pytest.raises(SourceError, match="no item of collection 'nope'.*sentinel-2-c1-l2a"):
        open_catalog(str(path), collection="nope")


def test_only_unusable_items_raise_the_item_error(
    tmp_path: Path, c1_template: dict[str, Any]
) -> None:
    item = make_item(c1_template, when="2024-05-01T04:00:30Z")
    del item["assets"]["nir"]
    path = write_static_collection(tmp_path / "bad", "c", [item])
    catalog = open_catalog(str(path))
    with pytest.raises(
        ItemError,
        match=r"item S2B_T47QMU_20240501T040030_L2A \(.*collection"
        r"\.json\): missing required assets: nir",
    ):
        find_scenes(catalog, make_aoi(), dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    good = make_item(c1_template, when="2024-05-02T04:00:30Z", item_id="good")
    path = write_static_collection(tmp_path / "half", "c", [item, good])
    found = find_scenes(
        open_catalog(str(path)), make_aoi(), dt.date(2024, 5, 1), dt.date(2024, 5, 31)
    )
    assert [s.id for s in found.scenes] == ["good"]
    assert found.rejected[0][0] == "S2B_T47QMU_20240501T040030_L2A"
    assert "missing required assets: nir" in found.rejected[0][1]


def test_bad_sources_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=f"{tmp_path}/missing.json: no such file"):
        open_catalog(str(tmp_path / "missing.json"))
    with pytest.raises(SourceError, match="neither catalog.json nor collection.json"):
        open_catalog(str(tmp_path))
    broken = tmp_path / "catalog.json"
    broken.write_text('{"type": "Catalog", ')
    with pytest.raises(SourceError, match=f"{broken}: not valid JSON"):
        open_catalog(str(broken))
    feature = tmp_path / "feature.json"
    feature.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(SourceError, match=f"{feature}: not a STAC catalog or collection"):
        open_catalog(str(feature))


def test_relative_source_uses_base_dir(shared_data: Path) -> None:
    catalog = open_catalog("oscd/rennes/collection.json", base_dir=shared_data)
    assert catalog.source == str(shared_data / "oscd/rennes/collection.json")


@pytest.fixture
def served_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain http.server serving tmp_path on 127.0.0.1."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_static_collection_behind_a_url(
    served_folder: tuple[str, Path], c1_template: dict[str, Any]
) -> None:
    url, folder = served_folder
    write_static_collection(
        folder / "kk", "sentinel-2-c1-l2a", [make_item(c1_template, when="2024-01-05T04:00:31Z")]
    )
    catalog = open_catalog(f"{url}/kk/collection.json", retries=0)
    assert catalog.kind == "static"
    [scene] = find_scenes(catalog, make_aoi(), dt.date(2024, 1, 1), dt.date(2024, 1, 31)).scenes
    assert scene.rule.offset == pytest.approx(-0.1)
    assert scene.assets["red"].href == f"{url}/kk/assets/S2B_T47QMU_20240105T040031_L2A/B04.tif"


def test_reversed_dates_are_refused(shared_data: Path) -> None:
    catalog = open_catalog(str(shared_data / "oscd/rennes"))
    with pytest.raises(ConfigError, match="end 2017-01-01 is before start 2018-01-01"):
        find_scenes(catalog, _rennes_aoi(shared_data), dt.date(2018, 1, 1), dt.date(2017, 1, 1))
