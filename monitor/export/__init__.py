"""The export stage: detections as files for GIS users, Google Earth, scripts, STAC tools.

Vectors are written in EPSG:4326 (``vector``: the dispatch; ``geojson``; ``gpkg``;
``kml``; ``tabular``: FlatGeobuf, GeoParquet, Shapefile, CSV; ``stac``); rasters stay on the
AOI's UTM grid (``raster``). ``monitor.job`` hands over records (``ExportData``) and arrays;
nothing here reads the store or imagery. Every output is staged under a temporary name
beside its target and renamed into place when the whole export is written (``_files``), so
a reader never sees half a file and an existing file is only replaced when the caller
allows it.
"""

from __future__ import annotations

from monitor.export._files import Staging, check_target, staged
from monitor.export.data import ExportData
from monitor.export.fields import (
    DETECTION_FIELDS,
    EXPORT_FIELDS,
    REVIEW_FIELDS,
    SHAPEFILE_FIELDS,
    detection_properties,
    export_properties,
)
from monitor.export.geojson import stage_geojson
from monitor.export.raster import (
    VIEWS_NODATA,
    AoiLayers,
    burn_detections,
    detection_image_path,
    detection_window,
    stage_class_raster,
    stage_views_raster,
    true_colour,
    write_aoi_rasters,
    write_class_raster,
    write_true_colour,
)
from monitor.export.vector import (
    FOLDER_FORMATS,
    VECTOR_FORMATS,
    check_format,
    write_detections,
    write_export,
    write_format,
    write_geojson,
)

#: Every format of ``monitor export --format`` this package writes.
EXPORT_FORMATS = VECTOR_FORMATS

__all__ = [
    "DETECTION_FIELDS",
    "EXPORT_FIELDS",
    "REVIEW_FIELDS",
    "SHAPEFILE_FIELDS",
    "VECTOR_FORMATS",
    "EXPORT_FORMATS",
    "FOLDER_FORMATS",
    "ExportData",
    "Staging",
    "staged",
    "check_target",
    "check_format",
    "detection_properties",
    "export_properties",
    "write_detections",
    "write_export",
    "write_format",
    "write_geojson",
    "write_class_raster",
    "stage_class_raster",
    "stage_views_raster",
    "stage_geojson",
    "VIEWS_NODATA",
    "AoiLayers",
    "burn_detections",
    "detection_window",
    "detection_image_path",
    "true_colour",
    "write_aoi_rasters",
    "write_true_colour",
]
