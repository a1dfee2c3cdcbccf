"""The KML document for Google Earth, plain (``.kml``) or zipped (``.kmz``).

A folder per AOI, a style per change type, a balloon per detection (dates, area,
confidence, evidence, review) and a TimeSpan, so Google Earth's time slider shows each
detection from the day it was first seen.

The document is valid against OGC KML 2.2 (``ogckml22.xsd``; the tests validate it). Every
text that comes from data (AOI names, review notes, scene ids, URLs) is HTML-escaped in the
balloons, and XML-escaped again by the writer.
"""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import shapely

from monitor.errors import ExportError
from monitor.export._files import Staging
from monitor.export.data import ExportData
from monitor.export.fields import CHANGE_LABELS, CHANGE_TYPES, export_properties
from monitor.export.style import CHANGE_COLOURS, FILL_ALPHA, kml_colour
from monitor.models import Detection, Scene

__all__ = ["KML_NS", "kml_document", "write_kml", "write_kmz"]

KML_NS = "http://www.opengis.net/kml/2.2"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _is_http(href: str | None) -> bool:
    return bool(href) and str(href).lower().startswith(("https://", "http://"))


def _link(text: str, href: str | None) -> str:
    """``text`` escaped, as a link when ``href`` is http(s)."""
    if _is_http(href):
        return f'<a href="{html.escape(str(href), quote=True)}">{html.escape(text)}</a>'
    return html.escape(text)


def _scenes_html(ids: Iterable[str], scenes: dict[str, Scene]) -> str:
    parts = [
        _link(scene_id, scenes[scene_id].item_href if scene_id in scenes else None)
        for scene_id in ids
    ]
    return "<br/>".join(parts) or "none recorded"


def _balloon(det: Detection, data: ExportData) -> str:
    """The detection's description, as escaped HTML."""
    props = export_properties(det)
    e = html.escape
    rows: list[tuple[str, str]] = [
        ("Change", e(CHANGE_LABELS.get(det.change_type, det.change_type))),
        (
            "Status",
            e(det.status) + (f" on {e(props['confirmed_on'])}" if props["confirmed_on"] else ""),
        ),
        ("AOI", f"{e(data.aoi_name(det.aoi))} ({e(det.aoi)})"),
        ("First seen", e(props["first_seen"])),
        (
            "Happened between",
            f"{e(props['window_start'])} and {e(props['window_end'])} "
            "(last clear view before, first after)",
        ),
        ("Area", f"{props['area_m2']:,.0f} m² ({det.n_pixels} pixels of 10 m)"),
        ("Confidence", f"{props['confidence']:.2f}"),
        ("Clear observations", str(props["n_obs"])),
        ("Evidence before", _scenes_html(det.evidence_before, dict(data.scenes))),
        ("Evidence after", _scenes_html(det.evidence_after, dict(data.scenes))),
    ]
    review = det.review
    if review is None:
        rows.append(("Review", "not reviewed"))
    else:
        verdict = f"{e(review.verdict)}"
        if props["reviewed_by"]:
            verdict += f" by {e(props['reviewed_by'])}"
        verdict += f" on {e(props['reviewed_at'][:10])}"
        rows.append(("Review", verdict))
        if review.note:
            rows.append(("Review note", e(review.note)))
        if review.source:
            rows.append(("Review source", _link(review.source, review.source)))
    rows.append(("Id", e(det.id)))
    banner = (
        ('<p style="color:#b00000;font-weight:bold">SIMULATED DATA: not real observations</p>')
        if det.simulated
        else ""
    )
    table = "".join(f'<tr><th align="left">{k}</th><td>{v}</td></tr>' for k, v in rows)
    note = f'<p style="font-size:small">{e(data.limits)}</p>' if data.limits else ""
    return f"{banner}<table>{table}</table>{note}"


def _coordinates(ring: Any) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y in ring.coords)


def _polygon(parent: ET.Element, polygon: Any) -> None:
    element = _el(parent, "Polygon")
    outer = _el(_el(element, "outerBoundaryIs"), "LinearRing")
    _el(outer, "coordinates", _coordinates(polygon.exterior))
    for interior in polygon.interiors:
        inner = _el(_el(element, "innerBoundaryIs"), "LinearRing")
        _el(inner, "coordinates", _coordinates(interior))


def _geometry(parent: ET.Element, geometry: Any) -> None:
    # KML wants outer boundaries counter-clockwise.
    geometry = shapely.orient_polygons(geometry, exterior_cw=False)
    if geometry.geom_type == "Polygon":
        _polygon(parent, geometry)
    elif geometry.geom_type == "MultiPolygon":
        multi = _el(parent, "MultiGeometry")
        for part in geometry.geoms:
            _polygon(multi, part)
    else:
        raise ExportError(f"a detection's geometry is a {geometry.geom_type}, not a polygon")


def _styles(document: ET.Element) -> None:
    for name in CHANGE_TYPES:
        style = _el(document, "Style", id=name)
        line = _el(style, "LineStyle")
        _el(line, "color", kml_colour(CHANGE_COLOURS[name]))
        _el(line, "width", "2")
        poly = _el(style, "PolyStyle")
        _el(poly, "color", kml_colour(CHANGE_COLOURS[name], FILL_ALPHA))
        balloon = _el(style, "BalloonStyle")
        _el(balloon, "text", "<h3>$[name]</h3>$[description]")


def _document_description(data: ExportData) -> str:
    e = html.escape
    banner = (
        (
            '<p style="color:#b00000;font-weight:bold">SIMULATED DATA: derived from '
            "simulated scenes, not real observations</p>"
        )
        if data.simulated
        else ""
    )
    legend = "".join(
        f'<tr><td style="background:{CHANGE_COLOURS[name]}">&#160;&#160;&#160;</td>'
        f"<td>{e(CHANGE_LABELS[name])}</td></tr>"
        for name in CHANGE_TYPES
    )
    since = f", first seen on or after {e(data.since.isoformat())}" if data.since else ""
    return (
        f"{banner}<p>{len(data.detections)} {e(data.status)} detection(s){since}; "
        f"written {e(data.generated_at.isoformat())}.</p><table>{legend}</table>"
        f'<p style="font-size:small">{e(data.limits)}</p>'
    )


def kml_document(data: ExportData) -> bytes:
    """The KML document (UTF-8 bytes)."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    document = _el(root, "Document", id="monitor-detections")
    _el(document, "name", data.title())
    _el(document, "open", "1")
    _el(document, "description", _document_description(data))
    _styles(document)
    by_aoi: dict[str, list[Detection]] = {}
    for det in data.detections:
        by_aoi.setdefault(det.aoi, []).append(det)
    for aoi_id, detections in by_aoi.items():
        folder = _el(document, "Folder")
        _el(folder, "name", f"{data.aoi_name(aoi_id)} ({len(detections)})")
        _el(folder, "open", "1")
        for det in detections:
            props = export_properties(det)
            placemark = _el(folder, "Placemark", id=f"detection-{det.id}")
            sim = " SIMULATED" if det.simulated else ""
            _el(
                placemark,
                "name",
                f"{CHANGE_LABELS.get(det.change_type, det.change_type)} ({det.status}{sim})",
            )
            _el(
                placemark,
                "Snippet",
                f"first seen {props['first_seen']}, {props['area_m2']:,.0f} m², "
                f"confidence {props['confidence']:.2f}",
                maxLines="1",
            )
            _el(placemark, "description", _balloon(det, data))
            span = _el(placemark, "TimeSpan")
            # From the day it was first seen on: the change stays once it happened.
            _el(span, "begin", props["first_seen"])
            _el(placemark, "styleUrl", f"#{det.change_type}")
            extended = _el(placemark, "ExtendedData")
            for name, value in props.items():
                item = _el(extended, "Data", name=name)
                if isinstance(value, list):
                    value = ",".join(value)
                elif isinstance(value, bool):
                    value = "true" if value else "false"
                _el(item, "value", "" if value is None else str(value))
            _geometry(placemark, det.geometry)
    ET.indent(root, space=" ")
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8")


def _write_bytes(path: Path, payload: bytes) -> None:
    try:
        path.write_bytes(payload)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror}") from None


def write_kml(data: ExportData, path: Path, staging: Staging) -> int:
    _write_bytes(staging.file(path), kml_document(data))
    return len(data.detections)


def write_kmz(data: ExportData, path: Path, staging: Staging) -> int:
    """A KMZ: the KML as ``doc.kml`` in a zip (what Google Earth opens first)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as kmz:
        kmz.writestr("doc.kml", kml_document(data))
    _write_bytes(staging.file(path), buffer.getvalue())
    return len(data.detections)
