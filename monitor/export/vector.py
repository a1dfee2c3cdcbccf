"""The export dispatcher: every ``monitor export`` format, each sent to its writer.

Vectors are in EPSG:4326; GeoJSON itself is :mod:`monitor.export.geojson`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from monitor.errors import InputError
from monitor.export._files import Staging, staged
from monitor.export.data import ExportData
from monitor.export.fields import DETECTION_FIELDS, detection_properties
from monitor.export.geojson import write_geojson, write_geojson_export
from monitor.export.gpkg import write_gpkg
from monitor.export.kml import write_kml, write_kmz
from monitor.export.stac import write_stac
from monitor.export.tabular import TABLE_WRITERS
from monitor.models import Detection

__all__ = [
    "DETECTION_FIELDS",
    "VECTOR_FORMATS",
    "FOLDER_FORMATS",
    "detection_properties",
    "write_geojson",
    "write_format",
    "write_export",
    "write_detections",
    "check_format",
]

#: Every format ``monitor export --format`` writes (the timeline CSV is written elsewhere).
VECTOR_FORMATS: tuple[str, ...] = (
    "gpkg",
    "geojson",
    "kml",
    "kmz",
    "fgb",
    "parquet",
    "shp",
    "csv",
    "stac",
)
#: Formats whose ``--out`` is a folder.
FOLDER_FORMATS: frozenset[str] = frozenset({"stac"})


def _writers() -> dict[str, Callable[[ExportData, Path, Staging], int]]:
    return {
        "gpkg": write_gpkg,
        "geojson": write_geojson_export,
        "kml": write_kml,
        "kmz": write_kmz,
        "stac": write_stac,
        **TABLE_WRITERS,
    }


def check_format(fmt: str) -> None:
    """Raise a one-line ``MonitorError`` for a format ``monitor export`` does not write."""
    if fmt not in VECTOR_FORMATS:
        raise InputError(
            f"--format {fmt}: unknown format; expected one of "
            f"{', '.join(VECTOR_FORMATS)} (or timeline)"
        )


def write_format(fmt: str, data: ExportData, path: Path, staging: Staging) -> int:
    """Stage ``data`` in ``fmt`` at ``path`` (committed with the staging); the number of
    detections written."""
    check_format(fmt)
    return _writers()[fmt](data, path, staging)


def write_export(fmt: str, data: ExportData, path: Path, *, overwrite: bool = False) -> int:
    """Write ``data`` in ``fmt`` to ``path``, all or nothing; the number of detections."""
    with staged(overwrite) as staging:
        return write_format(fmt, data, path, staging)


def write_detections(
    detections: Sequence[Detection],
    fmt: str,
    path: Path,
    *,
    overwrite: bool = False,
    metadata: Mapping[str, Any] | None = None,
) -> int:
    """Write ``detections`` alone (no AOIs, observations or runs) in ``fmt``."""
    meta = dict(metadata or {})
    data = ExportData(
        detections=list(detections),
        status=str(meta.get("status", "all")),
        limits=str(meta.get("limits") or ""),
    )
    return write_export(fmt, data, path, overwrite=overwrite)
