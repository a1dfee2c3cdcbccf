"""The pages: one per AOI (``<aoi-id>.html``), the overview (``index.html``).

folium builds the map (panes, the AOI outline, detection layers, the layer control); its
default template would load ten scripts and styles from CDNs, so every page uses
:class:`_Page`, whose head carries Leaflet and our own script inline instead (see
:mod:`monitor.report.assets`). Our script (:mod:`monitor.report._static`) adds the imagery
panel, the before/after swipe, the popups and the legend from one JSON object.

Every string that comes from outside (AOI name and description, scene ids and hrefs,
review notes) passes through :mod:`monitor.report.safe` before it reaches the page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from monitor.models import Aoi, Detection
from monitor.report._static import REPORT_CSS, REPORT_JS
from monitor.report.assets import inline_head, leaflet_version
from monitor.report.chart import chart_defs, chart_key, series_svg
from monitor.report.imaging import (
    MercatorWarp,
    image_data_uri,
    mask_outline_path,
    thumbnail_data_uri,
)
from monitor.report.records import (
    INDEX_NAMES,
    AoiReport,
    AoiSummary,
    DetectionEvidence,
    Frame,
    Thumbnail,
    latest_mostly_clear,
    months_without_clear_view,
)
from monitor.report.safe import link, script_json, text

__all__ = [
    "TYPE_STYLES",
    "STATUS_STYLES",
    "page_data",
    "default_pair",
    "render_aoi_page",
    "render_index_page",
    "detection_popup",
    "aoi_page_name",
    "timelapse_name",
    "latest_name",
]

#: Change type -> (label, colour). The colours of the simulator's quicklook.
TYPE_STYLES: dict[str, tuple[str, str]] = {
    "new_construction": ("New construction", "#ffd400"),
    "demolition": ("Demolition", "#ff2828"),
    "rebuilding": ("Rebuilding", "#ff8c00"),
    "roof_change": ("Roof change", "#00dcff"),
    "land_clearing": ("Land clearing", "#c85aff"),
}
#: Status -> (label, Leaflet path options, shown when the page opens).
STATUS_STYLES: dict[str, tuple[str, dict[str, Any], bool]] = {
    # Light fills: the pixels inside an outline are the evidence and must stay visible.
    "confirmed": ("Confirmed", {"weight": 3, "opacity": 1.0, "fillOpacity": 0.1}, True),
    "probable": (
        "Probable",
        {"weight": 2, "opacity": 0.95, "fillOpacity": 0.04, "dashArray": "6 4"},
        True,
    ),
    "rejected": (
        "Rejected",
        {"weight": 1.5, "opacity": 0.8, "fillOpacity": 0.0, "dashArray": "1 4"},
        False,
    ),
}
_STATUS_ORDER = {status: i for i, status in enumerate(STATUS_STYLES)}
_KIND_COLOURS = {"compound": "#d7301f", "town": "#fc8d59", "control": "#2b8cbe"}
_VERDICT_LABELS = {
    "verified": "Verified by an analyst",
    "false_alarm": "False alarm (analyst)",
    "unsure": "Analyst unsure",
}
_MEANING = (
    "<b>Probable</b>: the pixels departed from their own seasonal history on clear views "
    "and the departures agree. <b>Confirmed</b>: the departure persisted over several more "
    "clear views. <b>Rejected</b>: the pixels went back to their usual behaviour. "
    "Confirmed means a change that persisted in the Sentinel-2 time series, not a fact "
    "verified on the ground: check the imagery before citing it."
)


def aoi_page_name(aoi_id: str) -> str:
    """The AOI page's file name (AOI ids are lowercase letters, digits and hyphens)."""
    return f"{aoi_id}.html"


def timelapse_name(aoi_id: str) -> str:
    return f"{aoi_id}-timelapse.webp"


def latest_name(aoi_id: str) -> str:
    """The latest frame (true colour on Web Mercator pixels), for the overview map."""
    return f"{aoi_id}-latest.webp"


class _Page(Figure):
    """folium's Figure with our own document: a language, a title we escaped, and a head
    that loads nothing (the assets are added inline)."""

    _template = Template(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>{{ this.page_title }}</title>\n"
        "{{ this.header.render(**kwargs) }}\n</head>\n<body>\n"
        "{{ this.html.render(**kwargs) }}\n"
        "<script>\n{{ this.script.render(**kwargs) }}\n</script>\n</body>\n</html>\n"
    )

    def __init__(self, title_html: str) -> None:
        super().__init__()
        self.page_title = title_html
        # Leaflet, our style and script, inline: no CDN, no file beside the page.
        self.header.add_child(Element(inline_head(REPORT_CSS, REPORT_JS)), name="mr_assets")


class _Html(MacroElement):
    """A block of page HTML (already escaped) placed in the body where it is added."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.body }}{% endmacro %}")

    def __init__(self, body: str) -> None:
        super().__init__()
        self._name = "PageHtml"
        self.body = body


class _Init(MacroElement):
    """The call into our script once the map and its layers exist."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "MonitorReport.{{ this.function }}({{ this._parent.get_name() }}, "
        "{{ this.data }}, {{ this.layers }});{% endmacro %}"
    )

    def __init__(self, function: str, data_json: str, layers_js: str) -> None:
        super().__init__()
        self._name = "MonitorInit"
        self.function = function
        self.data = data_json
        self.layers = layers_js


def _new_map(figure: _Page, bounds: Sequence[Sequence[float]], height: str) -> Any:
    import folium

    fmap = folium.Map(
        location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
        zoom_start=14,
        tiles=None,
        control_scale=True,
        height=height,
        max_zoom=19,
        font_size="13px",
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    # No CDN scripts or styles: Leaflet is inline in the head; nothing else is needed.
    fmap.default_js = []
    fmap.default_css = []
    figure.add_child(fmap)
    # An online basemap the analyst may switch on; off by default and never needed.
    folium.TileLayer(
        "OpenStreetMap",
        name="Online basemap (OpenStreetMap, needs a network)",
        overlay=True,
        show=False,
        control=True,
        max_zoom=19,
    ).add_to(fmap)
    fmap.fit_bounds([list(bounds[0]), list(bounds[1])])
    return fmap


def _banner(simulated: bool) -> str:
    if not simulated:
        return ""
    return (
        '<div class="mr-banner" id="mr-simulated">SIMULATED DATA <span>· every image, '
        "observation and detection on this page comes from the monitor's simulator "
        "(<code>monitor demo</code>); none of it is a real observation.</span></div>"
    )


def _day(value: dt.date | None, missing: str = "–") -> str:
    return value.isoformat() if value is not None else missing


def _type_label(change_type: str) -> str:
    return TYPE_STYLES.get(change_type, (change_type.replace("_", " ").capitalize(), ""))[0]


def _type_colour(change_type: str) -> str:
    return TYPE_STYLES.get(change_type, ("", "#888888"))[1] or "#888888"


def _status_badge(status: str) -> str:
    return f'<span class="mr-status mr-status-{text(status)}">{text(status)}</span>'


def _review_html(det: Detection) -> str:
    review = det.review
    if review is None:
        return ""
    parts = [
        f'<p class="mr-review-line"><span class="mr-review mr-review-{text(review.verdict)}">'
        f"{text(_VERDICT_LABELS.get(review.verdict, review.verdict))}</span> "
        f"{text(review.reviewer)}, {text(f'{review.reviewed_at:%Y-%m-%d}')}"
    ]
    if review.source:
        parts.append(" · " + link("source", review.source))
    parts.append("</p>")
    if review.note:
        parts.append(f'<p class="mr-review-note">{text(review.note)}</p>')
    return "".join(parts)


def _scene_list(scene_ids: Sequence[str], links: Mapping[str, str | None]) -> str:
    if not scene_ids:
        return "–"
    return ", ".join(link(scene_id, links.get(scene_id)) for scene_id in scene_ids)


def _thumb_html(thumb: Thumbnail | None, label: str, colour: str) -> str:
    if thumb is None:
        return (
            f'<figure><div class="mr-thumb"></div><figcaption>{text(label)}: no clear '
            "view</figcaption></figure>"
        )
    height, width = thumb.mask.shape
    box = 150
    size = (
        (box, max(1, round(box * height / width)))
        if width >= height
        else (max(1, round(box * width / height)), box)
    )
    return (
        f'<figure><div class="mr-thumb" style="width:{size[0]}px;height:{size[1]}px">'
        f'<img src="{thumbnail_data_uri(thumb.rgb)}" alt="{text(label)}">'
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none">'
        f'<path d="{mask_outline_path(thumb.mask)}" fill="none" stroke="{colour}" '
        'stroke-width="2" vector-effect="non-scaling-stroke"/></svg></div>'
        f"<figcaption>{text(label)}: {text(thumb.date.isoformat())}</figcaption></figure>"
    )


def detection_popup(
    det: Detection, evidence: DetectionEvidence | None, links: Mapping[str, str | None]
) -> str:
    """The popup of one detection (HTML, every outside string escaped)."""
    colour = _type_colour(det.change_type)
    rows = [
        ("Change window", f"{_day(det.window_start)} → {_day(det.window_end)}"),
        ("First seen", _day(det.first_seen)),
        ("Confirmed on", _day(det.confirmed_on, "not confirmed")),
        ("Area", f"{det.area_m2:,.0f} m² ({det.n_pixels} pixels of 10 m)"),
        ("Confidence", f"{det.confidence:.2f}"),
        ("Clear views", str(det.n_obs)),
    ]
    facts = "".join(f"<tr><th>{text(k)}</th><td>{text(v)}</td></tr>" for k, v in rows)
    parts = [
        f'<div class="mr-popup" data-detection="{text(det.id)}">',
        f'<h3><span class="mr-swatch" style="border-color:{colour}"></span>'
        f"{text(_type_label(det.change_type))} {_status_badge(det.status)}</h3>",
        _review_html(det),
        f"<table>{facts}<tr><th>Id</th><td><code>{text(det.id)}</code></td></tr></table>",
    ]
    if det.simulated:
        parts.append('<p><b class="mr-sim-text">SIMULATED</b></p>')
    if evidence is not None:
        if det.status == "rejected":
            # An AOI can hold hundreds of rejected departures (Mae Sot's demo page: 382);
            # their thumbnails doubled the page. The chart and the date slider remain.
            parts.append(
                '<p class="mr-muted">Rejected: no before/after thumbnails (the '
                "date slider shows every clear month).</p>"
            )
        else:
            parts.append(
                '<div class="mr-thumbs">'
                + _thumb_html(evidence.before, "Before", colour)
                + _thumb_html(evidence.after, "After", colour)
                + "</div>"
            )
        parts.append(series_svg(evidence.series, det))
        parts.append(chart_key())
        parts.append(
            '<p class="mr-chart-key">Averages over the detection\'s pixels. '
            + "; ".join(f"{text(label)}: {text(meaning)}" for _k, label, meaning in INDEX_NAMES)
            + ". The detector itself compares all six bands.</p>"
        )
    else:
        parts.append('<p class="mr-muted">No imagery of this detection could be shown.</p>')
    parts.append(
        '<p class="mr-evidence"><b>Evidence scenes</b> before: '
        f"{_scene_list(det.evidence_before, links)}; after: "
        f"{_scene_list(det.evidence_after, links)}</p>"
    )
    # The page is a file with no server behind it: a verdict is recorded from the command
    # line, by the detection's stable id, and shows here after the next report.
    parts.append(
        '<p class="mr-muted mr-verdict-how">Record a verdict: <code>monitor review '
        f"--id {text(det.id)} --verdict verified|false_alarm|unsure "
        '--note "…" --source URL</code></p>'
    )
    parts.append("</div>")
    return "".join(parts)


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
    west, south, east, north = aoi.geometry.bounds
    return [[south, west], [north, east]]


def _geojson(geometry: Any) -> dict[str, Any]:
    """A shapely geometry as GeoJSON, degrees rounded to 7 decimals (about 1 cm): full
    doubles would make up a third of a page with hundreds of pixel outlines."""
    import numpy as np
    import shapely
    from shapely.geometry import mapping

    return dict(mapping(shapely.transform(geometry, lambda xy: np.round(xy, 7))))


def _detection_features(detections: Sequence[Detection]) -> list[dict[str, Any]]:
    return [
        {
            "type": "Feature",
            "id": det.id,
            "properties": {"id": det.id, "status": det.status, "change_type": det.change_type},
            "geometry": _geojson(det.geometry),
        }
        for det in detections
    ]


def _detection_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    props = feature["properties"]
    colour = _type_colour(props["change_type"])
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


def _header_html(report: AoiReport, timelapse: str | None) -> str:
    aoi = report.aoi
    used = [o for o in report.observations if o.status == "used"]
    span = (
        f"{len(used)} clear views, {used[0].datetime:%Y-%m-%d} → {used[-1].datetime:%Y-%m-%d}"
        if used
        else "no clear view yet"
    )
    nav = ['<a href="index.html">All areas</a>']
    if timelapse:
        nav.append(
            f'<a href="{text(timelapse)}" id="mr-timelapse-link">Timelapse of the clear months</a>'
        )
    kind = f"{text(aoi.kind)} · " if aoi.kind else ""
    return (
        _banner(report.simulated)
        + f'<div class="mr-top"><nav>{" · ".join(nav)}</nav><h1>{text(aoi.name)}</h1>'
        f'<p class="mr-sub">{kind}AOI <code>{text(aoi.id)}</code> · {text(span)} · '
        f"generated {text(f'{report.generated_at:%Y-%m-%d %H:%M}')} UTC</p></div>"
    )


def _detections_section(report: AoiReport) -> str:
    dets = sorted(
        report.detections, key=lambda d: (_STATUS_ORDER.get(d.status, 9), d.first_seen, d.id)
    )
    counts = Counter((d.status, d.change_type) for d in dets)
    summary = []
    for status in STATUS_STYLES:
        by_type = [
            f"{n} {_type_label(t).lower()}" for (s, t), n in sorted(counts.items()) if s == status
        ]
        total = sum(n for (s, _t), n in counts.items() if s == status)
        summary.append(f"{total} {status}" + (f" ({', '.join(by_type)})" if by_type else ""))
    rows = []
    for det in dets:
        review = (
            f'<span class="mr-review mr-review-{text(det.review.verdict)}">'
            f"{text(det.review.verdict.replace('_', ' '))}</span>"
            if det.review
            else ""
        )
        rows.append(
            f'<tr data-detection="{text(det.id)}"><td><span class="mr-swatch" '
            f'style="border-color:{_type_colour(det.change_type)}"></span>'
            f"{text(_type_label(det.change_type))}</td><td>{_status_badge(det.status)}</td>"
            f"<td>{text(_day(det.first_seen))}</td><td>{text(_day(det.confirmed_on))}</td>"
            f"<td>{text(_day(det.window_start))} → {text(_day(det.window_end))}</td>"
            f'<td class="num">{det.area_m2:,.0f} ({det.n_pixels} px)</td>'
            f'<td class="num">{det.confidence:.2f}</td><td>{review}</td>'
            f'<td><button type="button" class="mr-link" data-show-detection="{text(det.id)}">'
            "show on map</button></td></tr>"
        )
    table = (
        (
            '<table class="mr-table" id="mr-detections"><thead><tr><th>Type</th>'
            "<th>Status</th><th>First seen</th><th>Confirmed on</th><th>Change window</th>"
            '<th class="num">Area m² (pixels)</th><th class="num">Confidence</th>'
            "<th>Review</th><th></th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
        if rows
        else "<p>No detection so far.</p>"
    )
    return (
        f'<section id="detections"><h2>Detections</h2><p>{text("; ".join(summary))}.</p>'
        f'<p class="mr-muted">{_MEANING}</p>{table}</section>'
    )


def _limits_section(report: AoiReport) -> str:
    limits = report.limits
    coverage = report.coverage
    items = [
        f"<li><b>Detectable size.</b> Structures of about {limits.area_m2_p50:,.0f} m² are "
        f"found half the time and of {limits.area_m2_p90:,.0f} m² nine times in ten "
        f"({text(limits.measured_on)}). Smaller changes are mostly missed; a missing outline "
        "is not evidence that nothing changed.</li>",
        "<li><b>10 m pixels.</b> Rooftop equipment such as Starlink dishes (about 0.5 m) is "
        "far below what Sentinel-2 can see: nothing on this page says anything about it."
        "</li>",
    ]
    fraction = coverage.get("modelled_fraction")
    if fraction is not None:
        items.append(
            f"<li><b>Modelled share.</b> {float(fraction):.1%} of the AOI's pixels "
            "have enough clear history to be judged; the rest are never flagged."
            "</li>"
        )
    gaps = coverage.get("gaps") or []
    if gaps:
        gap_items = "".join(
            f"<li>{text(g.get('start'))} → {text(g.get('end'))} ({text(g.get('days'))} days)</li>"
            for g in gaps
        )
        items.append(
            "<li><b>Periods without a clear observation</b> (changes in them are "
            f"dated late, to the next clear view):<ul>{gap_items}</ul></li>"
        )
    else:
        items.append(
            "<li><b>Periods without a clear observation:</b> none longer than the "
            "detector's gap threshold.</li>"
        )
    cloudy = months_without_clear_view(report.observations)
    if cloudy:
        items.append(
            "<li><b>Months with no clear view</b> (not in the date slider): "
            f"{text(', '.join(cloudy))}.</li>"
        )
    for note in coverage.get("notes", []) or []:
        if not any(note == g.get("reason") for g in gaps):
            items.append(f"<li>{text(note)}</li>")
    for note in report.notes:
        items.append(f"<li>{text(note)}</li>")
    return (
        f'<section id="limits"><h2>What this page cannot tell</h2>'
        f'<ul class="mr-notes">{"".join(items)}</ul></section>'
    )


def _observations_section(report: AoiReport) -> str:
    months: dict[str, Counter[str]] = {}
    for obs in report.observations:
        month = obs.datetime.astimezone(dt.UTC).strftime("%Y-%m")
        months.setdefault(month, Counter())[obs.status] += 1
    shown = {f.month: f for f in report.frames}
    rows = []
    for month, counts in sorted(months.items()):
        frame = shown.get(month)
        scene = (
            f"{text(frame.date.isoformat())} "
            f"{link(frame.scene_id, report.scene_links.get(frame.scene_id))}"
            if frame
            else "–"
        )
        rows.append(
            f'<tr><td>{text(month)}</td><td class="num">{sum(counts.values())}</td>'
            f'<td class="num">{counts.get("used", 0)}</td>'
            f'<td class="num">{counts.get("skipped", 0)}</td>'
            f'<td class="num">{counts.get("failed", 0) + counts.get("pending", 0)}</td>'
            f"<td>{scene}</td></tr>"
        )
    if not rows:
        return '<section id="observations"><h2>Observations</h2><p>None yet.</p></section>'
    return (
        '<section id="observations"><h2>Observations by month</h2>'
        '<p class="mr-muted">Used: clear enough to read. Skipped: too cloudy over the AOI '
        "(or another item of the same acquisition served it). The map shows the clearest "
        "used scene of each month.</p>"
        '<table class="mr-table"><thead><tr><th>Month</th><th class="num">Scenes</th>'
        '<th class="num">Used</th><th class="num">Skipped</th>'
        '<th class="num">Failed / not read</th><th>On the map</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></section>"
    )


def _about_section(report: AoiReport) -> str:
    aoi = report.aoi
    parts = ['<section id="about"><h2>About this area and this page</h2>']
    if aoi.description:
        parts.append(f"<p>{text(aoi.description)}</p>")
    sources = [s for s in aoi.sources if isinstance(s, Mapping)]
    if sources:
        items = []
        for source in sources:
            title = source.get("title") or source.get("url") or "source"
            item = link(title, source.get("url"))
            if source.get("confidence"):
                item += f" ({text(source.get('confidence'))} confidence)"
            if source.get("note"):
                item += f'<br><span class="mr-muted">{text(source.get("note"))}</span>'
            items.append(f"<li>{item}</li>")
        parts.append(f"<p>Sources of the outline:</p><ul>{''.join(items)}</ul>")
    parts.append(
        "<p><b>How to read the map.</b> The image under the outlines is a Sentinel-2 view "
        "(10 m pixels): the date slider shows the clearest view of each month, in true "
        "colour or in false colour (SWIR2, NIR, red: roofs and bare ground purple-brown, "
        "vegetation green). <b>Before / after</b> puts two months side by side: drag the "
        "divider. Click an outline for its dates, its before and after thumbnails and the "
        "indices of its pixels over time. The layer control switches detection statuses "
        "and an online basemap (off; the page needs no network).</p>"
    )
    parts.append(
        f'<p class="mr-muted">Made by <code>monitor</code> with Leaflet '
        f"{text(leaflet_version())} inline. AOI file: "
        f'<span class="path">{text(aoi.path or "–")}</span>.</p></section>'
    )
    return "".join(parts)


def render_aoi_page(
    report: AoiReport, *, timelapse: str | None = None, warp: MercatorWarp | None = None
) -> str:
    """The AOI page as one HTML document (no external resource). ``warp`` is the AOI grid's
    :class:`MercatorWarp` when the caller has it already."""
    import folium

    aoi = report.aoi
    suffix = " (SIMULATED DATA)" if report.simulated else ""
    figure = _Page(text(f"{aoi.name} · change report{suffix}"))
    if report.frames and warp is None:
        warp = MercatorWarp.of(aoi.grid)
    elif not report.frames:
        warp = None
    bounds = [list(warp.bounds[0]), list(warp.bounds[1])] if warp else _bounds_of(aoi)
    figure.html.add_child(Element(_header_html(report, timelapse)), name="mr_header")
    fmap = _new_map(figure, bounds, "70vh")
    folium.GeoJson(
        {"type": "Feature", "id": "aoi", "properties": {}, "geometry": _geojson(aoi.geometry)},
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
    layers = {}
    for status, (label, _options, shown) in STATUS_STYLES.items():
        picked = [d for d in report.detections if d.status == status]
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
    data = page_data(report, warp, fmap.get_name())
    layers_js = "{" + ",".join(f'"{k}": {v}' for k, v in layers.items()) + "}"
    sections = [_detections_section(report), _limits_section(report), _observations_section(report)]
    if report.extra_sections:
        sections.append(
            '<section id="more">'
            + "".join(
                f'<div class="mr-extra">{fragment}</div>' for fragment in report.extra_sections
            )
            + "</section>"
        )
    sections.append(_about_section(report))
    _Html(chart_defs() + '<main class="mr-main">' + "".join(sections) + "</main>").add_to(fmap)
    # The page's data (its images, about 10 MB for Mae Sot) is put in after the template is
    # rendered: through jinja's nested templates it was copied over and over (a 160 MB
    # peak for a 10.6 MB page).
    data_json = script_json(data)
    del data
    slot = f"__monitor_page_data_{uuid.uuid4().hex}__"
    _Init("initAoi", slot, layers_js).add_to(fmap)
    head, tail = str(figure.render()).split(slot)
    return head + data_json + tail


def render_index_page(
    summaries: Sequence[AoiSummary],
    *,
    generated_at: dt.datetime,
    limits_note: str,
    previews: Mapping[str, tuple[str, Sequence[Sequence[float]]]] | None = None,
) -> str:
    """The overview page: every AOI's outline on one map and one row each. ``previews``
    maps AOI ids to (data URI, bounds) of their latest frame, drawn under the outlines."""
    import folium

    simulated = any(s.simulated for s in summaries)
    figure = _Page(
        text("Border monitor · areas of interest" + (" (SIMULATED DATA)" if simulated else ""))
    )
    if summaries:
        west = min(s.aoi.geometry.bounds[0] for s in summaries)
        south = min(s.aoi.geometry.bounds[1] for s in summaries)
        east = max(s.aoi.geometry.bounds[2] for s in summaries)
        north = max(s.aoi.geometry.bounds[3] for s in summaries)
        bounds = [[south, west], [north, east]]
    else:
        bounds = [[16.6, 98.5], [16.75, 98.6]]
    figure.html.add_child(
        Element(
            _banner(simulated) + '<div class="mr-top"><h1>Areas of interest</h1>'
            f'<p class="mr-sub">Sentinel-2 change monitor · generated '
            f"{text(f'{generated_at:%Y-%m-%d %H:%M}')} UTC</p></div>"
        ),
        name="mr_header",
    )
    fmap = _new_map(figure, bounds, "55vh")
    features = []
    rows = []
    data_aois = []
    for i, summary in enumerate(summaries):
        aoi = summary.aoi
        features.append(
            {
                "type": "Feature",
                "id": f"aoi-{i}",
                "properties": {"index": i, "kind": aoi.kind or ""},
                "geometry": _geojson(aoi.geometry),
            }
        )
        page = summary.page
        name_html = f'<a href="{text(page)}">{text(aoi.name)}</a>' if page else text(aoi.name)
        counts = []
        for status in STATUS_STYLES:
            by_type = summary.detections.get(status, {})
            total = sum(by_type.values())
            detail = ", ".join(f"{n} {_type_label(t).lower()}" for t, n in sorted(by_type.items()))
            counts.append(
                f"<div>{total} {text(status)}"
                + (f' <span class="mr-muted">({text(detail)})</span>' if detail else "")
                + "</div>"
            )
        gaps = (
            "".join(
                f"<div>{text(g.get('start'))} → {text(g.get('end'))}</div>" for g in summary.gaps
            )
            or "<div>none over the detector's threshold</div>"
        )
        if summary.months_without_clear_view:
            gaps += (
                f'<div class="mr-muted">months without a clear view: '
                f"{text(', '.join(summary.months_without_clear_view))}</div>"
            )
        sim = ' <b class="mr-sim-text">SIMULATED</b>' if summary.simulated else ""
        rows.append(
            f'<tr data-aoi="{text(aoi.id)}"><td>{name_html}{sim}<div class="mr-muted">'
            f"<code>{text(aoi.id)}</code> {text(aoi.kind or '')}</div></td>"
            f"<td>{text(_day(summary.last_clear, 'none yet'))}</td>"
            f'<td class="num">{summary.scenes_used}</td>'
            f"<td>{''.join(counts)}</td><td>{gaps}</td></tr>"
        )
        preview = (previews or {}).get(aoi.id)
        popup = (
            f"<b>{text(aoi.name)}</b><br>{text(aoi.kind or '')} · last clear view "
            f"{text(_day(summary.last_clear, 'none yet'))}<br>"
            + (
                f"Image: the clearest view of {text(_day(summary.latest_frame))}'s month<br>"
                if preview
                else ""
            )
            + (f'<a href="{text(page)}">Open the AOI page</a>' if page else "")
        )
        data_aois.append(
            {
                "popup": popup,
                "label": text(aoi.name),
                "image": preview[0] if preview else None,
                "bounds": [list(b) for b in preview[1]] if preview else None,
                "date": _day(summary.latest_frame) if preview else None,
            }
        )
    outlines = folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="Areas of interest",
        style_function=lambda f: {
            "color": _KIND_COLOURS.get(f["properties"]["kind"], "#444"),
            "weight": 2.5,
            "fillOpacity": 0.05,
        },
    )
    outlines.add_to(fmap)
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    table = (
        (
            '<table class="mr-table" id="mr-aois"><thead><tr><th>Area</th>'
            '<th>Last clear view</th><th class="num">Clear views</th><th>Detections</th>'
            "<th>Periods without a clear view</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
        )
        if rows
        else "<p>No AOI in the state yet.</p>"
    )
    body = (
        '<main class="mr-main"><section id="aois"><h2>Areas</h2>' + table + "</section>"
        f'<section id="limits"><h2>Limits</h2><p>{text(limits_note)}</p>'
        f'<p class="mr-muted">{_MEANING}</p></section></main>'
    )
    _Html(body).add_to(fmap)
    _Init("initIndex", script_json({"aois": data_aois}), outlines.get_name()).add_to(fmap)
    return str(figure.render())
