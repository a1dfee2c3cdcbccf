"""Each vector format written from detections built in code and read back through GDAL
(pyogrio) or geopandas: every field, typed, EPSG:4326, areas true to UTM, empty files
keeping their schema."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
import shapely.geometry

from monitor.detect.classify import CHANGE_CODES
from monitor.export import EXPORT_FIELDS, SHAPEFILE_FIELDS, ExportData, write_export
from monitor.export.fields import CLASS_CODES
from monitor.export.tabular import SHAPEFILE_PARTS
from tests.export.readback import (
    DATE_FIELDS,
    FILE_FORMATS,
    assert_areas,
    assert_rows_match,
    read_rows,
)

NAMES = {
    "gpkg": "d.gpkg",
    "geojson": "d.geojson",
    "fgb": "d.fgb",
    "parquet": "d.parquet",
    "shp": "d.shp",
    "csv": "d.csv",
}
#: The OGR type each format gives a day: FlatGeobuf has DateTime only.
DAY_TYPE = {
    "gpkg": "OFTDate",
    "geojson": "OFTDate",
    "fgb": "OFTDateTime",
    "shp": "OFTDate",
    "csv": "OFTDate",
}


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_round_trip_keeps_every_field(fmt: str, export_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / NAMES[fmt]
    assert write_export(fmt, export_data, path) == len(export_data.detections)
    rows, geometries, crs = read_rows(fmt, path, layer="detections" if fmt == "gpkg" else None)
    assert_rows_match(rows, list(export_data.detections))
    assert_areas(geometries, list(export_data.detections), export_data.aois[0].grid.epsg)
    if fmt != "csv":  # CSV has no CRS: its WKT is documented as EPSG:4326
        assert crs is not None and crs.to_epsg() == 4326
    # The polygon with a hole and the multipolygon survive as such.
    assert len(shapely.get_parts(geometries[2])) == 2
    assert len(list(shapely.get_parts(geometries[1])[0].interiors)) == 1
    # Only the temporary folder's work remains: nothing else beside the output.
    expected = (
        {path.with_suffix(ext).name for ext in SHAPEFILE_PARTS} if fmt == "shp" else {path.name}
    )
    assert {p.name for p in tmp_path.iterdir()} == expected


@pytest.mark.parametrize("fmt", [f for f in FILE_FORMATS if f != "parquet"])
def test_days_are_typed_as_dates(fmt: str, export_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / NAMES[fmt]
    write_export(fmt, export_data, path)
    options = {"AUTODETECT_TYPE": "YES"} if fmt == "csv" else {}
    info = pyogrio.read_info(path, layer="detections" if fmt == "gpkg" else None, **options)
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    names = SHAPEFILE_FIELDS if fmt == "shp" else {n: n for n in EXPORT_FIELDS}
    for name in DATE_FIELDS:
        assert types[names[name]] == DAY_TYPE[fmt], (name, types[names[name]])
    if fmt in ("gpkg", "fgb", "geojson"):
        assert types["reviewed_at"] == "OFTDateTime"
    if fmt != "csv":
        assert (
            dict(zip(info["fields"], info["ogr_subtypes"], strict=True))[names["simulated"]]
            == "OFSTBoolean"
        )


def test_parquet_is_geoparquet_with_typed_columns(export_data: ExportData, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    write_export("parquet", export_data, path)
    schema = pq.read_schema(path)
    geo = json.loads(schema.metadata[b"geo"])
    assert geo["version"].startswith("1.") and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    for name in DATE_FIELDS:
        assert schema.field(name).type == pa.date32()
    assert schema.field("reviewed_at").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("evidence_before").type == pa.list_(pa.string())
    assert json.loads(schema.metadata[b"monitor"])["status"] == "all"
    # pandas reads it without geopandas too.
    import pandas as pd

    assert list(pd.read_parquet(path).columns) == [*EXPORT_FIELDS, "geometry"]


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_empty_selection_keeps_the_schema(
    fmt: str, export_data: ExportData, tmp_path: Path
) -> None:
    import dataclasses

    empty = dataclasses.replace(export_data, detections=[])
    path = tmp_path / NAMES[fmt]
    assert write_export(fmt, empty, path) == 0
    rows, _, _ = read_rows(fmt, path, layer="detections" if fmt == "gpkg" else None)
    assert rows == []
    if fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_schema(path).names == [*EXPORT_FIELDS, "geometry"]
        return
    if fmt == "geojson":
        assert json.loads(path.read_text())["features"] == []
        return
    info = pyogrio.read_info(
        path, layer="detections" if fmt == "gpkg" else None, force_feature_count=True
    )
    names = [SHAPEFILE_FIELDS[n] for n in EXPORT_FIELDS] if fmt == "shp" else list(EXPORT_FIELDS)
    assert list(info["fields"])[: len(names)] == names and info["features"] == 0


def test_shapefile_names_are_fixed_short_and_unique() -> None:
    assert list(SHAPEFILE_FIELDS) == list(EXPORT_FIELDS)
    names = list(SHAPEFILE_FIELDS.values())
    assert all(len(n) <= 10 for n in names) and len(set(names)) == len(names)
    # The docs give the same table.
    doc = (Path(__file__).resolve().parents[2] / "docs" / "export.md").read_text()
    for name, short in SHAPEFILE_FIELDS.items():
        assert f"| `{name}` | `{short}` |" in doc, name


def test_shapefile_cuts_long_text_at_254_bytes(export_data: ExportData, tmp_path: Path) -> None:
    import dataclasses

    long_note = "é" * 300  # 600 bytes of UTF-8
    det = export_data.detections[0]
    assert det.review is not None
    reviewed = dataclasses.replace(det, review=dataclasses.replace(det.review, note=long_note))
    data = dataclasses.replace(export_data, detections=[reviewed])
    path = tmp_path / "d.shp"
    write_export("shp", data, path)
    note = pyogrio.read_dataframe(path)["rv_note"].iloc[0]
    assert note.endswith("...") and len(note.encode("utf-8")) <= 254 and note.startswith("éé")


def test_csv_carries_wkt_and_plain_text(export_data: ExportData, tmp_path: Path) -> None:
    import csv

    path = tmp_path / "d.csv"
    write_export("csv", export_data, path)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [*EXPORT_FIELDS, "WKT"]
    assert rows[0]["review_note"] == export_data.detections[0].review.note  # type: ignore[union-attr]
    assert rows[0]["simulated"] == "false" and rows[1]["confirmed_on"] == ""
    assert shapely.from_wkt(rows[2]["WKT"]).geom_type == "MultiPolygon"


def test_geojson_is_rfc7946(export_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / "d.geojson"
    write_export("geojson", export_data, path)
    doc = json.loads(path.read_text())
    assert "crs" not in doc and doc["monitor"]["status"] == "all"
    for feature in doc["features"]:
        assert list(feature["properties"]) == list(EXPORT_FIELDS)
        polygons = shapely.get_parts(shapely.geometry.shape(feature["geometry"]))
        for polygon in polygons:
            assert polygon.exterior.is_ccw  # right-hand rule: exterior counter-clockwise
            assert all(not ring.is_ccw for ring in polygon.interiors)


def test_class_codes_are_the_detectors() -> None:
    assert CLASS_CODES == CHANGE_CODES


def test_simulated_is_said(export_data: ExportData, tmp_path: Path) -> None:
    import dataclasses

    sim = dataclasses.replace(
        export_data,
        detections=[dataclasses.replace(d, simulated=True) for d in export_data.detections],
    )
    path = tmp_path / "d.gpkg"
    write_export("gpkg", sim, path)
    rows, _, _ = read_rows("gpkg", path, layer="detections")
    assert all(r["simulated"] is True for r in rows)
    import sqlite3

    with sqlite3.connect(path) as conn:
        [(description,)] = conn.execute(
            "SELECT description FROM gpkg_contents WHERE table_name = 'detections'"
        )
    assert description.startswith("SIMULATED DATA")


def test_the_cli_lists_every_format() -> None:
    from monitor.cli.export import FORMATS
    from monitor.export import EXPORT_FORMATS

    assert FORMATS == (*EXPORT_FORMATS, "timeline")
