"""Vector exports of detections (EPSG:4326)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping

from monitor.errors import MonitorError
from monitor.models import Detection

__all__ = ["DETECTION_FIELDS", "VECTOR_FORMATS", "detection_properties", "write_geojson",
           "write_detections"]

#: The contract's detection fields, in order (the geometry aside).
DETECTION_FIELDS: tuple[str, ...] = (
    "id", "aoi", "change_type", "status", "first_seen", "confirmed_on", "window_start",
    "window_end", "area_m2", "n_pixels", "confidence", "n_obs", "evidence_before",
    "evidence_after", "simulated",
)
#: Formats ``write_detections`` knows today; issue 10 adds gpkg kml kmz fgb parquet shp csv stac.
VECTOR_FORMATS: tuple[str, ...] = ("geojson",)


def detection_properties(det: Detection) -> dict[str, Any]:
    """The contract's fields of ``det`` as JSON-ready values (dates as ISO days)."""
    values: dict[str, Any] = {
        "id": det.id, "aoi": det.aoi, "change_type": det.change_type, "status": det.status,
        "first_seen": det.first_seen.isoformat(),
        "confirmed_on": det.confirmed_on.isoformat() if det.confirmed_on else None,
        "window_start": det.window_start.isoformat(), "window_end": det.window_end.isoformat(),
        "area_m2": round(float(det.area_m2), 1), "n_pixels": int(det.n_pixels),
        "confidence": round(float(det.confidence), 3), "n_obs": int(det.n_obs),
        "evidence_before": list(det.evidence_before),
        "evidence_after": list(det.evidence_after), "simulated": bool(det.simulated),
    }
    return {name: values[name] for name in DETECTION_FIELDS}


def _replace_atomically(path: Path, data: bytes, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise MonitorError(f"{path}: exists; use --overwrite to replace it")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise MonitorError(f"{path}: cannot write here: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_geojson(detections: Sequence[Detection], path: Path, *, overwrite: bool = False,
                  metadata: Mapping[str, Any] | None = None) -> int:
    """Write an RFC 7946 FeatureCollection (EPSG:4326, exterior rings counter-clockwise).

    ``metadata`` is written as the foreign member ``monitor`` (limits, filters, ...).
    Returns the number of features.
    """
    features = []
    for det in detections:
        geometry = shapely.orient_polygons(det.geometry, exterior_cw=False)
        features.append({"type": "Feature", "id": det.id,
                         "geometry": json.loads(json.dumps(mapping(geometry))),
                         "properties": detection_properties(det)})
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if metadata:
        collection["monitor"] = dict(metadata)
    text = json.dumps(collection, indent=1, ensure_ascii=False) + "\n"
    _replace_atomically(path, text.encode("utf-8"), overwrite)
    return len(features)


def write_detections(detections: Sequence[Detection], fmt: str, path: Path, *,
                     overwrite: bool = False, metadata: Mapping[str, Any] | None = None) -> int:
    """Write ``detections`` in ``fmt``; returns the number written."""
    if fmt == "geojson":
        return write_geojson(detections, path, overwrite=overwrite, metadata=metadata)
    raise MonitorError(f"--format {fmt}: not built yet (issue 10: GIS export); "
                       f"available: {', '.join(VECTOR_FORMATS)}")
