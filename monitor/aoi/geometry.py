"""Facts about a validated AOI's outline: its hash, area, bounding box, pixel mask."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from monitor.aoi.grid import grid_mask, to_utm
from monitor.models import Aoi, Grid

__all__ = ["HASH_DECIMALS", "geometry_hash", "aoi_area_m2", "aoi_bbox", "aoi_mask"]

#: Coordinates are rounded to 1e-7 degree (about 1 cm) before hashing, so a file rewritten
#: by another tool (float formatting) keeps its hash while any real vertex move changes it.
HASH_DECIMALS = 7


def geometry_hash(geometry: Any) -> str:
    """sha256 hex digest of a lon/lat geometry in a canonical form.

    The coordinates are rounded to ``HASH_DECIMALS`` decimals and the geometry normalised
    (``shapely.normalize``: fixed ring orientation, each ring starting at its lowest vertex,
    holes and parts sorted), then written as 2-D little-endian WKB. Reordering holes, parts or
    a ring's starting vertex or direction keeps the hash; moving a vertex changes it.

    Parameters
    ----------
    geometry : shapely geometry in EPSG:4326.

    Returns
    -------
    str
        64 hex characters.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> geometry_hash(box(0, 0, 1, 1)) == geometry_hash(box(0, 0, 1, 1, ccw=False))
    True
    """
    flat = shapely.force_2d(geometry)
    # "+ 0.0" turns -0.0 into 0.0: both are the same place but differ in WKB bytes.
    rounded = shapely.transform(flat, lambda xy: np.round(xy, HASH_DECIMALS) + 0.0)
    canonical = shapely.normalize(rounded)
    wkb = shapely.to_wkb(canonical, output_dimension=2, byte_order=1, include_srid=False)
    return hashlib.sha256(wkb).hexdigest()


def aoi_area_m2(aoi: Aoi) -> float:
    """Area of the AOI's polygon in square metres, measured in its grid's UTM CRS."""
    return float(to_utm(aoi.geometry, aoi.grid.epsg).area)


def aoi_bbox(aoi: Aoi) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the AOI's polygon in degrees (EPSG:4326)."""
    west, south, east, north = aoi.geometry.bounds
    return (float(west), float(south), float(east), float(north))


def aoi_mask(aoi: Aoi) -> npt.NDArray[np.bool_]:
    """Pixels of the AOI's grid whose centre lies inside its polygon: bool (rows, cols).

    Read-only and computed once per outline and grid: every chip of a run asks for it.
    """
    return _mask_of(aoi.geometry_hash, aoi.grid, aoi.geometry)


@functools.lru_cache(maxsize=64)
def _mask_of(geometry_hash: str, grid: Grid, geometry: Any) -> npt.NDArray[np.bool_]:
    mask = grid_mask(geometry, grid)
    mask.flags.writeable = False
    return mask
