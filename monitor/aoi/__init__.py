"""The AOI stage: areas of interest, validated, each on its UTM pixel grid.

An AOI file is GeoJSON in EPSG:4326 (see ``../shared/CONTRACT.md``, "AOI files");
:func:`load_aoi` turns one into a frozen :class:`~monitor.models.Aoi` whose ``grid`` is its UTM
zone at 10 m with edges snapped outward to 20 m. Invalid files raise
:class:`~monitor.errors.AoiError` with one line naming the file and the place in it.

Examples
--------
>>> from monitor.aoi import load_aoi, aoi_mask
>>> aoi = load_aoi("aoi/kk-park.geojson")  # doctest: +SKIP
>>> aoi.grid.epsg, aoi_mask(aoi).shape  # doctest: +SKIP
(32647, (334, 376))
"""

from __future__ import annotations

from monitor.aoi.geometry import aoi_area_m2, aoi_bbox, aoi_mask, geometry_hash
from monitor.aoi.grid import (
    RES_M,
    SNAP_M,
    grid_for_geometry,
    grid_mask,
    to_utm,
    to_wgs84,
    utm_epsg_for,
)
from monitor.aoi.load import (
    add_aoi,
    aoi_from_geojson,
    check_report,
    load_aoi,
    load_aoi_dir,
    resolve_aois,
    to_feature,
)

__all__ = [
    "load_aoi",
    "aoi_from_geojson",
    "load_aoi_dir",
    "resolve_aois",
    "add_aoi",
    "aoi_area_m2",
    "aoi_mask",
    "aoi_bbox",
    "to_feature",
    "geometry_hash",
    "check_report",
    "grid_for_geometry",
    "grid_mask",
    "to_utm",
    "to_wgs84",
    "utm_epsg_for",
    "RES_M",
    "SNAP_M",
]
