"""Vector exports of detections (EPSG:4326): GeoJSON here, and the one entry point that
dispatches every format to its module."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from monitor.errors import MonitorError
from monitor.export._files import Staging, staged
from monitor.export.data import ExportData
from monitor.export.fields import (
    DETECTION_FIELDS,
    detection_properties,
    export_properties,
)
from monitor.models import Detection

__all__ = ["DETECTION_FIELDS", "VECTOR_FORMATS", "FOLDER_FORMATS", "detection_properties",
           "geojson_bytes", "geojson_geometry", "write_geojson", "write_format", "write_export",
           "write_detections", "check_format"]

#: Every format ``monitor export --format`` writes (``timeline`` is issue 11's, elsewhere).
VECTOR_FORMATS: tuple[str, ...] = (
    "gpkg", "geojson", "kml", "kmz", "fgb", "parquet", "shp", "csv", "stac",
)
#: Formats whose ``--out`` is a folder.
FOLDER_FORMATS: frozenset[str] = frozenset({"stac"})


def geojson_bytes(detections: Sequence[Detection], *,
                  metadata: Mapping[str, Any] | None = None, review: bool = False) -> bytes:
    """An RFC 7946 FeatureCollection (EPSG:4326, exterior rings counter-clockwise).

    ``metadata`` becomes the foreign member ``monitor`` (limits, filters, ...); ``review``
    adds the review fields to the contract's.
    """
    lines = []
    for det in detections:
        properties = export_properties(det) if review else detection_properties(det)
        feature = {"type": "Feature", "id": det.id, "geometry": geojson_geometry(det.geometry),
                   "properties": properties}
        lines.append(json.dumps(feature, ensure_ascii=False))
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if metadata:
        head["monitor"] = dict(metadata)
    # One feature per line: readable and diffable, and written by json's fast encoder
    # (an indented dump of thousands of polygons takes seconds).
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    body = ",\n".join(lines)
    return f'{text},\n "features": [\n{body}\n ]\n}}\n'.encode()


def geojson_geometry(geometry: Any) -> dict[str, Any]:
    """A polygon as RFC 7946 wants it: exterior rings counter-clockwise, holes clockwise,
    coordinates to 7 decimals (about 1 cm; RFC 7946 advises against more)."""
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)
    rounded = shapely.transform(oriented, lambda xy: np.round(xy, 7))
    return dict(mapping(rounded))


def _write_bytes(path: Path, payload: bytes) -> None:
    try:
        path.write_bytes(payload)
    except OSError as exc:
        raise MonitorError(f"{path}: cannot write: {exc.strerror}") from None


def write_geojson(detections: Sequence[Detection], path: Path, *, overwrite: bool = False,
                  metadata: Mapping[str, Any] | None = None) -> int:
    """Write the contract's fields as an RFC 7946 FeatureCollection, replacing ``path``
    atomically (alerts and ``monitor compare``). Returns the number of features."""
    with staged(overwrite) as staging:
        _write_bytes(staging.file(path), geojson_bytes(detections, metadata=metadata))
    return len(detections)


def _write_geojson_export(data: ExportData, path: Path, staging: Staging) -> int:
    _write_bytes(staging.file(path),
                 geojson_bytes(data.detections, metadata=data.metadata(), review=True))
    return len(data.detections)


def _writers() -> dict[str, Callable[[ExportData, Path, Staging], int]]:
    # Imported on use: geopandas and pyarrow load only for the formats that need them.
    from monitor.export.gpkg import write_gpkg
    from monitor.export.kml import write_kml, write_kmz
    from monitor.export.stac import write_stac
    from monitor.export.tabular import TABLE_WRITERS

    return {"gpkg": write_gpkg, "geojson": _write_geojson_export, "kml": write_kml,
            "kmz": write_kmz, "stac": write_stac, **TABLE_WRITERS}


def check_format(fmt: str) -> None:
    """Raise a one-line ``MonitorError`` for a format ``monitor export`` does not write."""
    if fmt not in VECTOR_FORMATS:
        raise MonitorError(f"--format {fmt}: unknown format; expected one of "
                           f"{', '.join(VECTOR_FORMATS)} (or timeline)")


def write_format(fmt: str, data: ExportData, path: Path, staging: Staging) -> int:
    """Stage ``data`` in ``fmt`` at ``path`` (committed with the staging); the number of
    detections written."""
    check_format(fmt)
    return _writers()[fmt](data, path, staging)


def write_export(fmt: str, data: ExportData, path: Path, *, overwrite: bool = False) -> int:
    """Write ``data`` in ``fmt`` to ``path``, all or nothing; the number of detections."""
    with staged(overwrite) as staging:
        return write_format(fmt, data, path, staging)


def write_detections(detections: Sequence[Detection], fmt: str, path: Path, *,
                     overwrite: bool = False, metadata: Mapping[str, Any] | None = None) -> int:
    """Write ``detections`` alone (no AOIs, observations or runs) in ``fmt``."""
    meta = dict(metadata or {})
    data = ExportData(detections=list(detections), status=str(meta.get("status", "all")),
                      limits=str(meta.get("limits") or ""))
    return write_export(fmt, data, path, overwrite=overwrite)
