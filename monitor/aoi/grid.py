"""The AOI grid: its UTM zone at 10 m, bounds snapped outward to multiples of 20 m.

Snapping to 20 m puts every AOI on the pixel lattice of Sentinel-2's 10 m and 20 m bands
(MGRS tile origins are multiples of 20 m, e.g. 47QMU at 399960 E, 1900020 N), so each scene's
window lands on the same pixels and 20 m pixels split evenly into 2 x 2 10 m pixels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer

from monitor.models import Grid

__all__ = [
    "SNAP_M",
    "RES_M",
    "utm_epsg_for",
    "to_utm",
    "to_wgs84",
    "grid_for_geometry",
    "grid_mask",
]

SNAP_M = 20.0
RES_M = 10.0


def utm_epsg_for(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone holding (lon, lat): 326xx north, 327xx south."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def to_utm(geometry_wgs84: Any, epsg: int) -> Any:
    """Project a shapely geometry from EPSG:4326 (lon, lat) to ``epsg``."""
    transformer = Transformer.from_crs(CRS.from_epsg(4326), CRS.from_epsg(epsg), always_xy=True)
    # shapely.transform hands pyproj whole coordinate arrays at once; shapely.ops.transform
    # is deprecated since shapely 2.1. A z coordinate, if any, is dropped.
    return shapely.transform(geometry_wgs84, transformer.transform, interleaved=False)


def to_wgs84(geometry: Any, epsg: int) -> Any:
    """Project a shapely geometry from ``epsg`` to EPSG:4326 (lon, lat)."""
    transformer = Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(4326), always_xy=True)
    return shapely.transform(geometry, transformer.transform, interleaved=False)


def grid_for_geometry(geometry_wgs84: Any, epsg: int | None = None) -> Grid:
    """The contract's grid for a polygon in EPSG:4326.

    The UTM zone is that of the polygon's centroid unless ``epsg`` is given, so an AOI that
    straddles a zone boundary still gets one grid.
    """
    if epsg is None:
        centroid = geometry_wgs84.centroid
        epsg = utm_epsg_for(centroid.x, centroid.y)
    minx, miny, maxx, maxy = to_utm(geometry_wgs84, epsg).bounds
    left = math.floor(minx / SNAP_M) * SNAP_M
    bottom = math.floor(miny / SNAP_M) * SNAP_M
    right = math.ceil(maxx / SNAP_M) * SNAP_M
    top = math.ceil(maxy / SNAP_M) * SNAP_M
    width = int(round((right - left) / RES_M))
    height = int(round((top - bottom) / RES_M))
    return Grid(epsg=epsg, left=left, top=top, width=width, height=height, res_m=RES_M)


def grid_mask(geometry_wgs84: Any, grid: Grid) -> npt.NDArray[np.bool_]:
    """Pixels of ``grid`` whose centre lies inside the polygon: bool (rows, cols).

    Only the pixels within the polygon's bounds are tested: a detection is a few pixels of
    a large grid, and reports and timelines ask this for hundreds of them.
    """
    utm = to_utm(geometry_wgs84, grid.epsg)
    mask = np.zeros(grid.shape, dtype=bool)
    if utm.is_empty:
        return mask
    minx, miny, maxx, maxy = utm.bounds
    c0 = max(0, math.floor((minx - grid.left) / grid.res_m))
    c1 = min(grid.width, math.ceil((maxx - grid.left) / grid.res_m))
    r0 = max(0, math.floor((grid.top - maxy) / grid.res_m))
    r1 = min(grid.height, math.ceil((grid.top - miny) / grid.res_m))
    if c1 <= c0 or r1 <= r0:
        return mask
    cols = grid.left + (np.arange(c0, c1) + 0.5) * grid.res_m
    rows = grid.top - (np.arange(r0, r1) + 0.5) * grid.res_m
    xx, yy = np.meshgrid(cols, rows)
    shapely.prepare(utm)
    mask[r0:r1, c0:c1] = shapely.contains_xy(utm, xx, yy)
    return mask
