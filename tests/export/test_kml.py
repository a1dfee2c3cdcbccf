"""KML and KMZ: valid against OGC KML 2.2 offline, a style per change type, a TimeSpan and
an escaped balloon per detection."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import lxml.html
import pytest

from monitor.export import ExportData, write_export
from monitor.export.fields import CHANGE_TYPES
from tests.export.conftest import HOSTILE
from tests.export.readback import kml_root, kml_schema

NS = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.mark.parametrize("fmt", ["kml", "kmz"])
def test_valid_against_the_ogc_schema(fmt: str, export_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / f"d.{fmt}"
    write_export(fmt, export_data, path)
    root = kml_root(fmt, path)
    schema = kml_schema()
    assert schema.validate(root), schema.error_log
    empty = tmp_path / f"e.{fmt}"
    write_export(fmt, dataclasses.replace(export_data, detections=[]), empty)
    assert schema.validate(kml_root(fmt, empty)), schema.error_log
    # A broken document is caught: the check can fail.
    root.find("k:Document", NS).insert(0, root.makeelement(f"{{{NS['k']}}}Bogus"))
    assert not schema.validate(root)


def test_styles_timespans_and_balloons(export_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / "d.kml"
    write_export("kml", export_data, path)
    root = kml_root("kml", path)
    styles = [s.get("id") for s in root.iterfind(".//k:Style", NS)]
    assert styles == list(CHANGE_TYPES)
    placemarks = root.findall(".//k:Placemark", NS)
    assert len(placemarks) == len(export_data.detections)
    for placemark, det in zip(placemarks, export_data.detections, strict=True):
        assert placemark.findtext("k:styleUrl", namespaces=NS) == f"#{det.change_type}"
        assert placemark.findtext("k:TimeSpan/k:begin", namespaces=NS) == det.first_seen.isoformat()
        data = {
            d.get("name"): d.findtext("k:value", namespaces=NS)
            for d in placemark.iterfind("k:ExtendedData/k:Data", NS)
        }
        assert data["id"] == det.id and data["n_pixels"] == str(det.n_pixels)
        balloon = lxml.html.fragment_fromstring(
            placemark.findtext("k:description", namespaces=NS), create_parent="div"
        )
        text = balloon.text_content()
        assert det.first_seen.isoformat() in text and det.window_start.isoformat() in text
        assert f"{det.area_m2:,.0f} m²" in text
        assert balloon.xpath("//script") == [] and balloon.xpath("//b") == []
    first = lxml.html.fragment_fromstring(
        placemarks[0].findtext("k:description", namespaces=NS), create_parent="div"
    )
    # The hostile review note and AOI name arrive as text, not markup.
    assert HOSTILE in first.text_content()
    links = [a.get("href") for a in first.iter("a")]
    assert "https://example.org/photo?id=1&x=<y>" in links  # the review's source
    assert "https://example.org/items/S2B_before_1.json" in links  # an evidence item
    assert all(h.startswith("https://") for h in links)  # local hrefs are not links
    multi = placemarks[2].find(".//k:MultiGeometry", NS)
    assert multi is not None and len(multi.findall("k:Polygon", NS)) == 2
    holed = placemarks[1].find(".//k:Polygon", NS)
    assert len(holed.findall("k:innerBoundaryIs", NS)) == 1


def test_simulated_detections_say_so(export_data: ExportData, tmp_path: Path) -> None:
    sim = dataclasses.replace(
        export_data,
        detections=[dataclasses.replace(d, simulated=True) for d in export_data.detections],
    )
    path = tmp_path / "d.kml"
    write_export("kml", sim, path)
    root = kml_root("kml", path)
    assert root.findtext("k:Document/k:name", namespaces=NS).startswith("SIMULATED DATA")
    for placemark in root.iterfind(".//k:Placemark", NS):
        assert "SIMULATED" in placemark.findtext("k:name", namespaces=NS)
        assert "SIMULATED DATA" in placemark.findtext("k:description", namespaces=NS)
