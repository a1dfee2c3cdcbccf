"""The GeoPackage: four layers with typed days, and the default style QGIS reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from xml.etree import ElementTree as ET

import pyogrio
import pytest

from monitor.export import ExportData, write_export
from monitor.export.fields import CHANGE_TYPES
from monitor.export.style import CHANGE_COLOURS


@pytest.fixture
def gpkg(export_data: ExportData, tmp_path: Path) -> Path:
    path = tmp_path / "d.gpkg"
    write_export("gpkg", export_data, path)
    return path


def _types(path: Path, layer: str) -> dict[str, str]:
    info = pyogrio.read_info(path, layer=layer)
    return dict(zip(info["fields"], info["ogr_types"], strict=True))


def test_four_layers_and_the_style_table(gpkg: Path, export_data: ExportData) -> None:
    layers = {name: kind for name, kind in pyogrio.list_layers(gpkg)}
    assert layers == {
        "detections": "MultiPolygon",
        "aois": "MultiPolygon",
        "observations": None,
        "runs": None,
        "layer_styles": None,
    }
    for name in ("detections", "aois"):
        info = pyogrio.read_info(gpkg, layer=name)
        assert info["crs"] == "EPSG:4326"
    assert pyogrio.read_info(gpkg, layer="observations")["features"] == 3
    assert pyogrio.read_info(gpkg, layer="runs")["features"] == 2


def test_observations_and_runs_are_typed(gpkg: Path, export_data: ExportData) -> None:
    observations = _types(gpkg, "observations")
    assert observations["date"] == "OFTDate" and observations["datetime"] == "OFTDateTime"
    assert observations["clear_fraction"] == "OFTReal"
    runs = _types(gpkg, "runs")
    assert runs["started_at"] == runs["finished_at"] == "OFTDateTime"
    frame = pyogrio.read_dataframe(gpkg, layer="observations")
    assert list(frame["status"]) == ["used", "skipped", "failed"]
    assert frame["reason"].iloc[1] == "AOI 4% clear (< 10%)"
    assert frame["clear_fraction"].iloc[0] == pytest.approx(0.8125)
    runs_frame = pyogrio.read_dataframe(gpkg, layer="runs")
    assert list(runs_frame["run_id"]) == [2, 1]
    assert runs_frame["finished_at"].isna().iloc[0]  # killed or running: no end
    assert runs_frame["scenes_failed"].iloc[1] == 1
    aois = pyogrio.read_dataframe(gpkg, layer="aois")
    assert aois["name"].iloc[0] == export_data.aois[0].name  # stored as given, not escaped
    assert aois["n_detections"].iloc[0] == 4


def test_default_style_colours_by_change_type(gpkg: Path) -> None:
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    [row] = styles.to_dict("records")
    assert row["f_table_name"] == "detections" and row["f_geometry_column"] == "geom"
    assert row["f_table_schema"] == "" and row["useAsDefault"]
    geom = pyogrio.read_info(gpkg, layer="detections")["geometry_name"]
    assert geom == row["f_geometry_column"]
    qml = ET.fromstring(row["styleQML"].split("\n", 1)[1])
    renderer = qml.find("renderer-v2")
    assert renderer is not None and renderer.get("attr") == "change_type"
    values = [c.get("value") for c in renderer.iter("category")]
    assert values == list(CHANGE_TYPES)
    colours = {o.get("value") for o in renderer.iter("Option") if o.get("name") == "outline_color"}
    for name in CHANGE_TYPES:
        r, g, b = (int(CHANGE_COLOURS[name][i : i + 2], 16) for i in (1, 3, 5))
        assert f"{r},{g},{b},255" in colours
    temporal = qml.find("temporal")
    assert temporal is not None and temporal.get("startField") == "first_seen"
    assert temporal.get("enabled") == "1" and temporal.get("accumulate") == "1"
    sld = ET.fromstring(row["styleSLD"].encode())
    literals = [e.text for e in sld.iter("{http://www.opengis.net/ogc}Literal")]
    assert literals == list(CHANGE_TYPES)


def test_empty_geopackage_keeps_every_layer(export_data: ExportData, tmp_path: Path) -> None:
    empty = dataclasses.replace(export_data, detections=[], observations=[], runs=[])
    path = tmp_path / "e.gpkg"
    assert write_export("gpkg", empty, path) == 0
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"detections", "aois", "observations", "runs", "layer_styles"}
    assert _types(path, "detections")["first_seen"] == "OFTDate"
    assert _types(path, "observations")["date"] == "OFTDate"
    assert pyogrio.read_info(path, layer="detections")["features"] == 0
