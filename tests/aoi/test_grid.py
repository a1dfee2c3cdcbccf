"""The AOI grid: UTM zone of the centroid, 10 m pixels, edges snapped outward to 20 m."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box

from monitor.aoi import aoi_mask, grid_for_geometry, load_aoi, to_utm, utm_epsg_for
from tests.aoi.helpers import feature, write


def assert_snapped_and_covering(geometry: object, epsg: int) -> None:
    grid = grid_for_geometry(geometry)
    assert grid.epsg == epsg
    assert grid.res_m == 10.0
    for edge in grid.bounds:
        assert edge % 20.0 == 0.0, f"edge {edge} is not on the 20 m lattice"
    minx, miny, maxx, maxy = to_utm(geometry, epsg).bounds
    left, bottom, right, top = grid.bounds
    # Outward snapping: the grid holds the polygon, with less than one 20 m step to spare.
    assert left <= minx < left + 20 and right - 20 < maxx <= right
    assert bottom <= miny < bottom + 20 and top - 20 < maxy <= top
    assert grid.width * 10 == right - left and grid.height * 10 == top - bottom


def test_kk_park_extent_grid_is_376_by_334() -> None:
    grid = grid_for_geometry(box(98.545, 16.615, 98.580, 16.645))
    assert (grid.epsg, grid.width, grid.height) == (32647, 376, 334)
    assert grid.shape == (334, 376)
    # 47QMU's origin (399960 E, 1900020 N) is on the lattice, so S2 pixels line up.
    assert (grid.left - 399960) % 20 == 0 and (1900020 - grid.top) % 20 == 0


def test_snapping_in_zone_47() -> None:
    assert_snapped_and_covering(box(98.5513, 16.6212, 98.5577, 16.6298), 32647)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(-1.65, 48.11, 32630), (114.25, 22.31, 32650), (-48.02, -15.84, 32722)],
)
def test_aoi_in_another_utm_zone(lon: float, lat: float, epsg: int) -> None:
    assert utm_epsg_for(lon, lat) == epsg
    assert_snapped_and_covering(box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01), epsg)


@pytest.mark.parametrize(("west", "epsg"), [(101.97, 32647), (101.99, 32648)])
def test_aoi_across_zone_boundary_gets_one_grid(tmp_path: Path, west: float, epsg: int) -> None:
    # 102 E divides zones 47 and 48; the centroid's side decides.
    ring = [[west, 16.60], [102.02, 16.60], [102.02, 16.61], [west, 16.61], [west, 16.60]]
    aoi = load_aoi(write(tmp_path, "edge.geojson", feature([ring], id="edge")))
    assert aoi.grid.epsg == epsg
    assert_snapped_and_covering(aoi.geometry, epsg)
    mask = aoi_mask(aoi)
    # The whole polygon, on both sides of 102 E, is on the one grid: its pixels reach both
    # sides (within the few pixels the rotation of UTM north so far off-meridian costs).
    columns = np.flatnonzero(mask.any(axis=0))
    assert columns[0] <= 3 and columns[-1] >= aoi.grid.width - 4


def test_mask_shape_and_count(tmp_path: Path) -> None:
    aoi = load_aoi(write(tmp_path, "sq.geojson", feature()))
    mask = aoi_mask(aoi)
    assert mask.shape == aoi.grid.shape and mask.dtype == np.bool_
    area_m2 = to_utm(aoi.geometry, aoi.grid.epsg).area
    # A rectangle-ish polygon: pixel count matches its area to within its edge pixels.
    assert abs(mask.sum() * 100 - area_m2) < 2 * (aoi.grid.width + aoi.grid.height) * 100


def test_oscd_cities_fall_on_their_own_utm_grids(shared_data: Path) -> None:
    import rasterio

    for city in ("rennes", "hongkong", "aguasclaras"):
        aoi = load_aoi(shared_data / "oscd" / city / "aoi.geojson")
        with rasterio.open(shared_data / "oscd" / city / "truth.tif") as truth:
            assert aoi.grid.epsg == truth.crs.to_epsg()
            left, bottom, right, top = truth.bounds
        # The labels' grid lies inside the AOI grid, on the same 10 m lattice.
        assert aoi.grid.left <= left and aoi.grid.top >= top
        assert aoi.grid.right >= right and aoi.grid.bottom <= bottom
        assert (left - aoi.grid.left) % 10 == 0 and (aoi.grid.top - top) % 10 == 0
