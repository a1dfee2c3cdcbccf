"""Every way an AOI file can be wrong gives one AoiError line naming the file and the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.aoi import load_aoi
from monitor.errors import EXIT_ERROR, AoiError
from tests.aoi.helpers import SQUARE, feature, write


def error_of(tmp_path: Path, obj: object, name: str = "bad.geojson", **kwargs: float) -> str:
    path = write(tmp_path, name, obj)
    with pytest.raises(AoiError) as info:
        load_aoi(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert name in message, "the message must name the file"
    assert info.value.exit_code == EXIT_ERROR
    return message


def test_valid_feature_loads(tmp_path: Path) -> None:
    aoi = load_aoi(write(tmp_path, "ok.geojson", feature(kind="compound")))
    assert (aoi.id, aoi.name, aoi.kind) == ("test-aoi", "Test AOI", "compound")
    assert aoi.path == str(tmp_path / "ok.geojson")


def test_feature_collection_with_one_feature_loads(tmp_path: Path) -> None:
    obj = {"type": "FeatureCollection", "features": [feature(id="one")]}
    assert load_aoi(write(tmp_path, "fc.geojson", obj)).id == "one"


def test_not_json_gives_line_and_column(tmp_path: Path) -> None:
    text = '{\n  "type": "Feature"\n  "properties": {}\n}\n'
    message = error_of(tmp_path, text)
    assert "not JSON" in message and "line 3:3" in message


def test_nan_is_not_json(tmp_path: Path) -> None:
    text = '{"type": "Feature", "properties": {"id": "a", "name": "a"}, "geometry": NaN}'
    assert "NaN" in error_of(tmp_path, text)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ([1, 2], "top level is a JSON list"),
        ({"type": "Topology"}, "type 'Topology'"),
        ({"type": "FeatureCollection"}, "without a `features` list"),
        ({"type": "FeatureCollection", "features": []}, "holds 0 features"),
    ],
)
def test_not_geojson(tmp_path: Path, obj: object, expected: str) -> None:
    assert expected in error_of(tmp_path, obj)


def test_two_features_refused(tmp_path: Path) -> None:
    obj = {"type": "FeatureCollection", "features": [feature(id="a"), feature(id="b")]}
    assert "holds 2 features" in error_of(tmp_path, obj)


def test_bare_geometry_names_missing_id(tmp_path: Path) -> None:
    message = error_of(tmp_path, {"type": "Polygon", "coordinates": [SQUARE]})
    assert "bare Polygon" in message and "`id`" in message


@pytest.mark.parametrize("gtype", ["Point", "LineString"])
def test_not_a_polygon_names_type_and_feature(tmp_path: Path, gtype: str) -> None:
    coords = [98.56, 16.62] if gtype == "Point" else [[98.56, 16.62], [98.57, 16.63]]
    obj = {"type": "FeatureCollection", "features": [feature(coords, gtype, id="pt")]}
    message = error_of(tmp_path, obj)
    assert f"feature 0 (pt) has a {gtype} geometry" in message


def test_missing_geometry(tmp_path: Path) -> None:
    obj = feature()
    obj["geometry"] = None
    assert "has no geometry" in error_of(tmp_path, obj)


def test_unclosed_ring_names_ring_and_ends(tmp_path: Path) -> None:
    message = error_of(tmp_path, feature([SQUARE[:-1]]))
    assert "exterior ring is not closed" in message
    assert "[98.56, 16.625]" in message and "[98.56, 16.634]" in message


def test_self_intersection_gives_lon_lat(tmp_path: Path) -> None:
    # A bow tie: the edges cross at (98.565, 16.6295).
    bow_tie = [[98.56, 16.625], [98.57, 16.634], [98.57, 16.625], [98.56, 16.634], [98.56, 16.625]]
    message = error_of(tmp_path, feature([bow_tie]))
    assert "exterior ring crosses or touches itself" in message
    assert "lon 98.5650000, lat 16.6295000" in message


def test_self_intersecting_hole_is_named(tmp_path: Path) -> None:
    big = [[98.55, 16.62], [98.58, 16.62], [98.58, 16.64], [98.55, 16.64], [98.55, 16.62]]
    hole = [[98.56, 16.625], [98.57, 16.634], [98.57, 16.625], [98.56, 16.634], [98.56, 16.625]]
    assert "hole 1 crosses or touches itself" in error_of(tmp_path, feature([big, hole]))


def test_multipolygon_part_is_named(tmp_path: Path) -> None:
    other = [[98.50, 16.60], [98.51, 16.60], [98.51, 16.61], [98.50, 16.60 + 0.0001]]
    message = error_of(tmp_path, feature([[SQUARE], [other]], "MultiPolygon"))
    assert "polygon 1 exterior ring is not closed" in message


def test_ring_with_three_positions(tmp_path: Path) -> None:
    ring = [[98.56, 16.625], [98.57, 16.625], [98.56, 16.625]]
    assert "exterior ring has 3 positions" in error_of(tmp_path, feature([ring]))


def test_zero_area_ring(tmp_path: Path) -> None:
    line = [[98.56, 16.62], [98.57, 16.63], [98.58, 16.64], [98.56, 16.62]]
    message = error_of(tmp_path, feature([line]))
    assert "encloses no area" in message and "[98.56, 16.62]" in message


def test_hole_outside_shell_gives_location(tmp_path: Path) -> None:
    hole = [[98.50, 16.60], [98.51, 16.60], [98.51, 16.61], [98.50, 16.60]]
    message = error_of(tmp_path, feature([SQUARE, hole]))
    assert "Hole lies outside shell at lon 98.5" in message


def test_overlapping_multipolygon_parts(tmp_path: Path) -> None:
    shifted = [[x + 0.005, y] for x, y in SQUARE]
    message = error_of(tmp_path, feature([[SQUARE], [shifted]], "MultiPolygon"))
    assert "not a valid polygon" in message and "lat 16.6" in message


def test_bad_position(tmp_path: Path) -> None:
    ring = [[98.56, 16.625], [98.57, "16.625"], [98.57, 16.634], [98.56, 16.625]]
    assert "exterior ring position 1" in error_of(tmp_path, feature([ring]))


def test_projected_metres(tmp_path: Path) -> None:
    ring = [[453000, 1838000], [454000, 1838000], [454000, 1839000], [453000, 1838000]]
    message = error_of(tmp_path, feature([ring]))
    assert "looks like projected metres, expected EPSG:4326 lon/lat" in message
    assert "[453000, 1838000]" in message


def test_swapped_lat_lon(tmp_path: Path) -> None:
    swapped = [[lat, lon] for lon, lat in SQUARE]
    message = error_of(tmp_path, feature([swapped]))
    assert "swapped" in message and "[16.625, 98.56]" in message


def test_crs_member_naming_utm_is_refused(tmp_path: Path) -> None:
    obj = feature()
    obj["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32647"}}
    message = error_of(tmp_path, obj)
    assert "urn:ogc:def:crs:EPSG::32647" in message and "EPSG:4326" in message


@pytest.mark.parametrize(
    "name", ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"]
)
def test_crs_member_naming_lon_lat_is_accepted(tmp_path: Path, name: str) -> None:
    obj = {
        "type": "FeatureCollection",
        "features": [feature()],
        "crs": {"type": "name", "properties": {"name": name}},
    }
    assert load_aoi(write(tmp_path, "ok.geojson", obj)).id == "test-aoi"


def test_area_over_limit(tmp_path: Path) -> None:
    # About 11 km x 11 km: 120 km2.
    ring = [[98.50, 16.60], [98.60, 16.60], [98.60, 16.70], [98.50, 16.70], [98.50, 16.60]]
    message = error_of(tmp_path, feature([ring]))
    assert "over the limit of 100 km2" in message and "lon 98.50000 to 98.60000" in message
    # The limit is a parameter: this square passes a larger one, a small AOI fails a tiny one.
    assert load_aoi(write(tmp_path, "ok.geojson", feature([ring])), max_area_km2=200).id
    assert "over the limit of 0.5 km2" in error_of(
        tmp_path, feature(), "small.geojson", max_area_km2=0.5
    )


@pytest.mark.parametrize("bad_id", ["KK-Park", "kk park", "-kk", "../kk", "kk_park", "a" * 65, 7])
def test_unsafe_id(tmp_path: Path, bad_id: object) -> None:
    assert "is not a safe file name" in error_of(tmp_path, feature(id=bad_id))


def test_id_of_64_characters_is_fine(tmp_path: Path) -> None:
    assert load_aoi(write(tmp_path, "ok.geojson", feature(id="a" * 64))).id == "a" * 64


def test_missing_id(tmp_path: Path) -> None:
    assert "missing property `id`" in error_of(tmp_path, feature(id=None))


@pytest.mark.parametrize("name", [None, "", "   ", 3])
def test_missing_or_empty_name(tmp_path: Path, name: object) -> None:
    obj = feature()
    if name is None:
        del obj["properties"]["name"]
    else:
        obj["properties"]["name"] = name
    assert "property `name`" in error_of(tmp_path, obj)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"kind": "factory"}, "kind 'factory' is not one of compound, town, control"),
        ({"sources": "Reuters"}, "`sources` must be a list"),
        ({"sources": ["Reuters"]}, "sources[0] must be an object"),
        ({"sources": [{"title": "x", "confidence": "sure"}]}, "sources[0].confidence 'sure'"),
        ({"sources": [{"title": "x", "url": "ftp://x"}]}, "sources[0].url 'ftp://x'"),
        ({"description": ["x"]}, "`description` must be a string"),
    ],
)
def test_bad_optional_properties(tmp_path: Path, props: dict[str, object], expected: str) -> None:
    assert expected in error_of(tmp_path, feature(**props))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AoiError, match=r"nothere\.geojson: AOI file not found"):
        load_aoi(tmp_path / "nothere.geojson")
