"""GeoJSON of detections: RFC 7946 FeatureCollections in EPSG:4326."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from monitor.errors import ExportError
from monitor.export._files import Staging, staged
from monitor.export.data import ExportData
from monitor.export.fields import detection_properties, export_properties
from monitor.models import Detection

__all__ = [
    "geojson_bytes",
    "geojson_geometry",
    "write_bytes",
    "stage_geojson",
    "write_geojson",
    "write_geojson_export",
]


def geojson_bytes(
    detections: Sequence[Detection],
    *,
    metadata: Mapping[str, Any] | None = None,
    review: bool = False,
    extra_properties: Sequence[Mapping[str, Any]] | None = None,
) -> bytes:
    """An RFC 7946 FeatureCollection (EPSG:4326, exterior rings counter-clockwise).

    ``metadata`` becomes the foreign member ``monitor`` (limits, filters, ...); ``review``
    adds the review fields to the contract's; ``extra_properties``, one mapping per
    detection, follow them (``monitor compare``'s evidence).
    """
    if extra_properties is not None and len(extra_properties) != len(detections):
        raise ValueError(
            f"{len(extra_properties)} sets of extra properties for {len(detections)} detections"
        )
    lines = []
    for i, det in enumerate(detections):
        properties = export_properties(det) if review else detection_properties(det)
        if extra_properties is not None:
            clashing = set(properties) & set(extra_properties[i])
            if clashing:
                raise ValueError(f"extra properties may not replace {', '.join(sorted(clashing))}")
            properties = {**properties, **extra_properties[i]}
        feature = {
            "type": "Feature",
            "id": det.id,
            "geometry": geojson_geometry(det.geometry),
            "properties": properties,
        }
        lines.append(json.dumps(feature, ensure_ascii=False))
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if metadata:
        head["monitor"] = dict(metadata)
    # One feature per line: readable and diffable, and written by json's fast encoder
    # (an indented dump of thousands of polygons takes seconds).
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    body = ",\n".join(lines)
    return f'{text},\n "features": [\n{body}\n ]\n}}\n'.encode()


def geojson_geometry(geometry: shapely.Geometry) -> dict[str, Any]:
    """A polygon as RFC 7946 wants it: exterior rings counter-clockwise, holes clockwise,
    coordinates to 7 decimals (about 1 cm; RFC 7946 advises against more)."""
    oriented = shapely.orient_polygons(geometry, exterior_cw=False)
    rounded = shapely.transform(oriented, lambda xy: np.round(xy, 7))
    return dict(mapping(rounded))


def write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path``; an OS failure as a one-line ``MonitorError``."""
    try:
        path.write_bytes(payload)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror}") from None


def write_geojson(
    detections: Sequence[Detection],
    path: Path,
    *,
    overwrite: bool = False,
    metadata: Mapping[str, Any] | None = None,
) -> int:
    """Write the contract's fields as an RFC 7946 FeatureCollection, replacing ``path``
    atomically (alerts). Returns the number of features."""
    with staged(overwrite) as staging:
        stage_geojson(staging, detections, path, metadata=metadata)
    return len(detections)


def stage_geojson(
    staging: Staging,
    detections: Sequence[Detection],
    path: Path,
    *,
    metadata: Mapping[str, Any] | None = None,
    extra_properties: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Stage the contract's fields (then ``extra_properties``, one mapping per detection)
    as an RFC 7946 FeatureCollection at ``path``. Returns the number of features."""
    payload = geojson_bytes(detections, metadata=metadata, extra_properties=extra_properties)
    write_bytes(staging.file(path), payload)
    return len(detections)


def write_geojson_export(data: ExportData, path: Path, staging: Staging) -> int:
    """Stage the export's detections, review fields included, as GeoJSON at ``path``."""
    write_bytes(
        staging.file(path), geojson_bytes(data.detections, metadata=data.metadata(), review=True)
    )
    return len(data.detections)
