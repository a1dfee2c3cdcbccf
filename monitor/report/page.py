"""The AOI page (``<aoi-id>.html``): its map, its detection layers, the data of its script.

folium builds the map (see :mod:`monitor.report.document`); our script
(``static/report.js``, read by :mod:`monitor.report.assets`) adds the imagery panel, the
before/after swipe, the popups and the legend from one JSON object, :func:`page_data`. The
sections under the map are :mod:`monitor.report.sections`; the popups
:mod:`monitor.report.popup`; the overview page :mod:`monitor.report.index`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from branca.element import Element

from monitor.models import Aoi, Detection
from monitor.report.chart import chart_defs
from monitor.report.document import HtmlBlock, InitCall, Page, geojson, new_map
from monitor.report.imaging import MercatorWarp, image_data_uri
from monitor.report.popup import detection_popup
from monitor.report.records import AoiReport, Frame, latest_mostly_clear
from monitor.report.safe import script_json, text
from monitor.report.sections import (
    about_section,
    detections_section,
    header_html,
    limits_section,
    more_section,
    observations_section,
)
from monitor.report.styles import STATUS_STYLES, TYPE_STYLES, type_colour

if TYPE_CHECKING:
    import folium

__all__ = [
    "TYPE_STYLES",
    "STATUS_STYLES",
    "page_data",
    "default_pair",
    "render_aoi_page",
    "detection_popup",
    "aoi_page_name",
    "timelapse_name",
    "latest_name",
]


def aoi_page_name(aoi_id: str) -> str:
    """The AOI page's file name (AOI ids are lowercase letters, digits and hyphens)."""
    return f"{aoi_id}.html"


def timelapse_name(aoi_id: str) -> str:
    """The AOI's timelapse (an animated WebP of its clear months)."""
    return f"{aoi_id}-timelapse.webp"


def latest_name(aoi_id: str) -> str:
    """The latest frame (true colour on Web Mercator pixels), for the overview map."""
    return f"{aoi_id}-latest.webp"


def default_pair(frames: Sequence[Frame], detections: Sequence[Detection]) -> tuple[int, int]:
    """Indices of the frames the comparison opens on: the last clear month up to the start
    of the first confirmed change's window, and the latest clear month (the latest mostly
    clear one, at least half clear, when there is one); the slider opens on the latter."""
    if not frames:
        return (0, 0)
    after = latest_mostly_clear([f.clear_fraction for f in frames])
    confirmed = [d for d in detections if d.status == "confirmed"]
    before = 0
    if confirmed:
        first = min(confirmed, key=lambda d: (d.first_seen, d.id))
        up_to_window = [i for i, f in enumerate(frames) if f.date <= first.window_start]
        before_seen = [i for i, f in enumerate(frames) if f.date < first.first_seen]
        before = (up_to_window or before_seen or [0])[-1]
    if before >= after and after > 0:
        before = after - 1
    return (before, after)


def _legend_html(detections: Sequence[Detection]) -> str:
    """The legend: a swatch per change type with its count, a line per status."""
    present = Counter(d.change_type for d in detections if d.status != "rejected")
    lines = ['<b>Detections</b><span class="mr-muted">confirmed and probable</span><br>']
    for change_type, (label, colour) in TYPE_STYLES.items():
        count = present.get(change_type, 0)
        lines.append(
            f'<span class="mr-swatch" style="border-color:{colour}"></span>'
            f"{text(label)} ({count})<br>"
        )
    lines.append('<span class="mr-line"></span>confirmed<br>')
    lines.append('<span class="mr-line" style="border-top-style:dashed"></span>probable<br>')
    lines.append(
        '<span class="mr-line" style="border-top-style:dotted"></span>rejected '
        "(layer off at first)<br>"
    )
    lines.append(
        '<span class="mr-line" style="border-top:2px dashed #fff;'
        'outline:2px solid #9aa3ab"></span>AOI outline'
    )
    return "".join(lines)


def page_data(report: AoiReport, warp: MercatorWarp | None, map_id: str) -> dict[str, Any]:
    """The JSON object the AOI page's script runs on (tested without a browser).

    ``frames``: one per month, oldest first (date, scene id, clear share, true and false
    colour WebP data URIs on Web Mercator pixels); ``image_bounds``: the overlays' corners;
    ``compare``: the frame indices the comparison opens on; ``detections``: per id its
    status, type and popup HTML; ``legend``: the legend's HTML.
    """
    frames = []
    if warp is not None:
        for frame in report.frames:
            frames.append(
                {
                    "date": frame.date.isoformat(),
                    "month": frame.month,
                    "scene": frame.scene_id,
                    "clear": None
                    if frame.clear_fraction is None
                    else round(frame.clear_fraction, 3),
                    "true": image_data_uri(warp.apply(frame.true_colour)),
                    "false": image_data_uri(warp.apply(frame.false_colour)),
                }
            )
    before, after = default_pair(report.frames, report.detections)
    return {
        "map_id": map_id,
        "aoi": report.aoi.id,
        "simulated": report.simulated,
        "frames": frames,
        "image_bounds": [list(warp.bounds[0]), list(warp.bounds[1])] if warp else None,
        "compare": {"before": before, "after": after},
        "detections": {
            det.id: {
                "status": det.status,
                "type": det.change_type,
                "popup": detection_popup(det, report.evidence.get(det.id), report.scene_links),
            }
            for det in report.detections
        },
        "legend": _legend_html(report.detections),
    }


def _bounds_of(aoi: Aoi) -> list[list[float]]:
    """The AOI's bounds as (south, west), (north, east)."""
    west, south, east, north = aoi.geometry.bounds
    return [[south, west], [north, east]]


def _detection_features(detections: Sequence[Detection]) -> list[dict[str, Any]]:
    """The detections as GeoJSON features, their id, status, type as properties."""
    return [
        {
            "type": "Feature",
            "id": det.id,
            "properties": {"id": det.id, "status": det.status, "change_type": det.change_type},
            "geometry": geojson(det.geometry),
        }
        for det in detections
    ]


def _detection_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """The Leaflet path options of one detection's outline: colour by type, line by status."""
    props = feature["properties"]
    colour = type_colour(props["change_type"])
    _label, options, _shown = STATUS_STYLES.get(props["status"], STATUS_STYLES["probable"])
    # The id as a class: tests and analysts' tools find a detection's outline by it. folium
    # writes styles into the script unescaped: only class-name characters go in.
    safe_id, safe_status = (
        "".join(c for c in str(value) if c.isalnum() or c in "-_")
        for value in (props["id"], props["status"])
    )
    return {
        "color": colour,
        "fillColor": colour,
        **options,
        "className": f"mr-det mr-det-{safe_status} mr-det-id-{safe_id}",
    }


def _add_aoi_outline(fmap: folium.Map, aoi: Aoi) -> None:
    """The AOI's outline on the map: white, dashed, not clickable."""
    import folium

    folium.GeoJson(
        {"type": "Feature", "id": "aoi", "properties": {}, "geometry": geojson(aoi.geometry)},
        name="AOI outline",
        style_function=lambda _f: {
            "color": "#ffffff",
            "weight": 2,
            "dashArray": "6 4",
            "fill": False,
            "opacity": 0.9,
        },
        interactive=False,
    ).add_to(fmap)


def _add_detection_layers(fmap: folium.Map, detections: Sequence[Detection]) -> str:
    """One layer per status that has detections, then the layer control; returns the
    layers as the script's JavaScript object (status -> layer variable)."""
    import folium

    layers = {}
    for status, (label, _options, shown) in STATUS_STYLES.items():
        picked = [d for d in detections if d.status == status]
        if not picked:
            continue
        layer = folium.GeoJson(
            {"type": "FeatureCollection", "features": _detection_features(picked)},
            name=f"{label} detections ({len(picked)})",
            show=shown,
            style_function=_detection_style,
            smooth_factor=0,
        )
        layer.add_to(fmap)
        layers[status] = layer.get_name()
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    return "{" + ",".join(f'"{k}": {v}' for k, v in layers.items()) + "}"


def _sections_html(report: AoiReport) -> str:
    """Everything under the map: the chart's shared definitions, then the sections."""
    sections = [detections_section(report), limits_section(report), observations_section(report)]
    more = more_section(report)
    if more is not None:
        sections.append(more)
    sections.append(about_section(report))
    return chart_defs() + '<main class="mr-main">' + "".join(sections) + "</main>"


def render_aoi_page(
    report: AoiReport, *, timelapse: str | None = None, warp: MercatorWarp | None = None
) -> str:
    """The AOI page as one HTML document (no external resource). ``warp`` is the AOI grid's
    :class:`MercatorWarp` when the caller has it already."""
    aoi = report.aoi
    suffix = " (SIMULATED DATA)" if report.simulated else ""
    figure = Page(text(f"{aoi.name} · change report{suffix}"))
    if report.frames and warp is None:
        warp = MercatorWarp.of(aoi.grid)
    elif not report.frames:
        warp = None
    bounds = [list(warp.bounds[0]), list(warp.bounds[1])] if warp else _bounds_of(aoi)
    figure.html.add_child(Element(header_html(report, timelapse)), name="mr_header")
    fmap = new_map(figure, bounds, "70vh")
    _add_aoi_outline(fmap, aoi)
    layers_js = _add_detection_layers(fmap, report.detections)
    data = page_data(report, warp, fmap.get_name())
    HtmlBlock(_sections_html(report)).add_to(fmap)
    # The page's data (its images, about 10 MB for Mae Sot) is put in after the template is
    # rendered: through jinja's nested templates it was copied over and over (a 160 MB
    # peak for a 10.6 MB page).
    data_json = script_json(data)
    del data
    slot = f"__monitor_page_data_{uuid.uuid4().hex}__"
    InitCall("initAoi", slot, layers_js).add_to(fmap)
    head, tail = str(figure.render()).split(slot)
    return head + data_json + tail
