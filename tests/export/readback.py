"""Reading exports back through GDAL (pyogrio), geopandas, lxml and pystac, and what each
record should read back as, taken from the ``Detection`` itself (not from the exporter's own
conversion functions)."""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import shapely

from monitor.aoi import to_utm
from monitor.export import EXPORT_FIELDS, SHAPEFILE_FIELDS
from monitor.models import Detection

__all__ = [
    "expected_row",
    "read_rows",
    "assert_rows_match",
    "assert_areas",
    "kml_schema",
    "kml_root",
    "DATE_FIELDS",
    "FILE_FORMATS",
]

DATE_FIELDS = ("first_seen", "confirmed_on", "window_start", "window_end")
#: The single-file formats GDAL or geopandas read back as a table (kml, kmz and stac apart).
FILE_FORMATS = ("gpkg", "geojson", "fgb", "parquet", "shp", "csv")


def expected_row(det: Detection) -> dict[str, Any]:
    """What every format must say of ``det``, as plain Python values."""
    review = det.review
    return {
        "id": det.id,
        "aoi": det.aoi,
        "change_type": det.change_type,
        "status": det.status,
        "first_seen": det.first_seen,
        "confirmed_on": det.confirmed_on,
        "window_start": det.window_start,
        "window_end": det.window_end,
        "area_m2": det.area_m2,
        "n_pixels": det.n_pixels,
        "confidence": det.confidence,
        "n_obs": det.n_obs,
        "evidence_before": list(det.evidence_before),
        "evidence_after": list(det.evidence_after),
        "simulated": det.simulated,
        "review_verdict": review.verdict if review else None,
        "review_note": (review.note or None) if review else None,
        "review_source": (review.source or None) if review else None,
        "reviewed_by": (review.reviewer or None) if review else None,
        "reviewed_at": review.reviewed_at.astimezone(dt.UTC).replace(microsecond=0)
        if review
        else None,
    }


def _plain(name: str, value: Any) -> Any:
    """A read-back value as a plain Python value comparable with ``expected_row``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str) and value == "" and name not in ("evidence_before", "evidence_after"):
        return None  # CSV cannot tell null from empty; the exporters write neither
    if name in ("evidence_before", "evidence_after"):
        if isinstance(value, str):
            return value.split(",") if value else []
        return [str(v) for v in value]
    if name in DATE_FIELDS:
        if isinstance(value, str):
            return dt.date.fromisoformat(value[:10])
        if isinstance(value, pd.Timestamp | dt.datetime):
            assert (value.hour, value.minute, value.second) == (0, 0, 0), value
            return value.date()
        return value
    if name == "reviewed_at":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if name == "simulated":
        return bool(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def read_rows(
    fmt: str, path: Path, layer: str | None = None
) -> tuple[list[dict[str, Any]], list[Any], Any]:
    """(rows by contract name, geometries, CRS) of an export read back."""
    import geopandas as gpd

    if fmt == "parquet":
        frame = gpd.read_parquet(path)
    elif fmt == "csv":
        frame = pyogrio.read_dataframe(path, AUTODETECT_TYPE="YES")
    else:
        frame = pyogrio.read_dataframe(path, layer=layer)
    if fmt == "shp":
        frame = frame.rename(columns={v: k for k, v in SHAPEFILE_FIELDS.items()})
    records = sorted(frame.to_dict("records"), key=lambda r: str(r["id"]))
    rows = [{name: _plain(name, record[name]) for name in EXPORT_FIELDS} for record in records]
    # By id: FlatGeobuf's spatial index orders features along its Hilbert curve.
    return rows, [record["geometry"] for record in records], frame.crs


def assert_rows_match(rows: list[dict[str, Any]], detections: list[Detection]) -> None:
    """Rows (sorted by id, as ``read_rows`` gives them) equal to ``detections``."""
    detections = sorted(detections, key=lambda d: d.id)
    assert [r["id"] for r in rows] == [d.id for d in detections]
    for row, det in zip(rows, detections, strict=True):
        want = expected_row(det)
        for name in EXPORT_FIELDS:
            got = row[name]
            if name in ("area_m2", "confidence"):
                assert got == pytest_approx(want[name]), (det.id, name, got, want[name])
            else:
                assert got == want[name], (det.id, name, got, want[name])


def pytest_approx(value: float) -> Any:
    import pytest

    return pytest.approx(value, abs=0.051)


def assert_areas(geometries: list[Any], detections: list[Detection], epsg: int) -> None:
    """Valid polygons (sorted by id, as ``read_rows`` gives them) whose UTM area is within
    1 % of the detection's ``area_m2``."""
    for geometry, det in zip(geometries, sorted(detections, key=lambda d: d.id), strict=True):
        assert geometry.geom_type in ("Polygon", "MultiPolygon"), geometry.geom_type
        assert shapely.is_valid(geometry), shapely.is_valid_reason(geometry)
        lon0, lat0, lon1, lat1 = geometry.bounds
        assert -180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90
        area = to_utm(geometry, epsg).area
        assert abs(area - det.area_m2) <= 0.01 * det.area_m2, (det.id, area, det.area_m2)


def kml_schema() -> Any:
    """OGC KML 2.2's schema as pykml ships it (its imports are local files: offline)."""
    import pykml
    from lxml import etree

    xsd = Path(pykml.__file__).parent / "schemas" / "ogckml22.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


def kml_root(fmt: str, path: Path) -> Any:
    """The parsed KML document of a .kml, or a .kmz's doc.kml."""
    from lxml import etree

    if fmt == "kmz":
        with zipfile.ZipFile(path) as kmz:
            assert kmz.namelist() == ["doc.kml"]
            return etree.fromstring(kmz.read("doc.kml"))
    return etree.parse(str(path)).getroot()
