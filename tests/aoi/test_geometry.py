"""geometry_hash, area, bounding box."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from monitor.aoi import aoi_area_m2, aoi_bbox, geometry_hash, load_aoi
from tests.aoi.helpers import feature, write

SHELL = [(98.55, 16.62), (98.58, 16.62), (98.58, 16.64), (98.55, 16.64)]
HOLE_A = [(98.555, 16.625), (98.560, 16.625), (98.560, 16.630), (98.555, 16.630)]
HOLE_B = [(98.570, 16.625), (98.575, 16.625), (98.575, 16.630), (98.570, 16.630)]
BASE = Polygon(SHELL, [HOLE_A, HOLE_B])


def test_hash_is_sha256_hex() -> None:
    digest = geometry_hash(BASE)
    assert len(digest) == 64 and int(digest, 16) >= 0


@pytest.mark.parametrize(
    "same",
    [
        Polygon(SHELL[2:] + SHELL[:2], [HOLE_A, HOLE_B]),  # another starting vertex
        Polygon(SHELL[::-1], [HOLE_A[::-1], HOLE_B]),  # other orientation
        Polygon(SHELL, [HOLE_B, HOLE_A]),  # holes reordered
        Polygon([(x, y, 12.0) for x, y in SHELL], [HOLE_A, HOLE_B]),  # with elevation
        Polygon([(x + 1e-10, y) for x, y in SHELL], [HOLE_A, HOLE_B]),  # float noise
    ],
)
def test_hash_ignores_order_orientation_and_noise(same: Polygon) -> None:
    assert geometry_hash(same) == geometry_hash(BASE)


def test_hash_of_multipolygon_ignores_part_order() -> None:
    a, b = box(98.50, 16.60, 98.51, 16.61), box(98.52, 16.60, 98.53, 16.61)
    assert geometry_hash(MultiPolygon([a, b])) == geometry_hash(MultiPolygon([b, a]))
    assert geometry_hash(MultiPolygon([a, b])) != geometry_hash(a)


def test_moving_one_vertex_changes_hash() -> None:
    moved = [SHELL[0], (98.58 + 1e-6, 16.62), *SHELL[2:]]
    assert geometry_hash(Polygon(moved, [HOLE_A, HOLE_B])) != geometry_hash(BASE)


def test_hash_does_not_modify_its_input() -> None:
    before = shapely.to_wkb(BASE)
    geometry_hash(BASE)
    assert shapely.to_wkb(BASE) == before


def test_aoi_hash_survives_reformatting(tmp_path: Path) -> None:
    obj = feature()
    a = load_aoi(write(tmp_path, "a.geojson", obj))
    ring = obj["geometry"]["coordinates"][0]
    obj["geometry"]["coordinates"][0] = [*ring[2:-1], *ring[:3]][::-1]  # rotated and reversed
    b = load_aoi(write(tmp_path, "b.geojson", obj))
    assert a.geometry_hash == b.geometry_hash == geometry_hash(a.geometry)


def test_area_and_bbox(tmp_path: Path) -> None:
    aoi = load_aoi(write(tmp_path, "a.geojson", feature()))
    assert aoi_bbox(aoi) == (98.56, 16.625, 98.57, 16.634)
    # 0.01 deg of lon at 16.63 N is about 1066 m, 0.009 deg of lat about 996 m.
    assert aoi_area_m2(aoi) == pytest.approx(1066 * 996, rel=0.01)
