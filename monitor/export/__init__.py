"""Detections to files: GeoJSON now (issue 6), the other GIS formats with issue 10.

Vectors are written in EPSG:4326; rasters stay on the AOI's UTM grid. Every write goes to a
temporary file beside the target and is renamed into place, so a reader never sees half a
file and an existing file is only replaced when the caller allows it.
"""

from __future__ import annotations

from monitor.export.raster import write_class_raster
from monitor.export.vector import (
    DETECTION_FIELDS,
    VECTOR_FORMATS,
    detection_properties,
    write_detections,
    write_geojson,
)

__all__ = [
    "DETECTION_FIELDS",
    "VECTOR_FORMATS",
    "detection_properties",
    "write_detections",
    "write_geojson",
    "write_class_raster",
]
