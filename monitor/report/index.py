"""The overview page (``index.html``): every AOI's outline on one map, one row each.

folium builds the map (see :mod:`monitor.report.document`); our script draws each AOI's
latest frame under its outline and its popup from one JSON object. Every string that comes
from outside (AOI names, kinds) passes through :mod:`monitor.report.safe` first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from branca.element import Element

from monitor.report.document import HtmlBlock, InitCall, Page, geojson, new_map
from monitor.report.fragments import MEANING, banner, day
from monitor.report.records import AoiSummary
from monitor.report.safe import script_json, text
from monitor.report.styles import STATUS_STYLES, type_label

if TYPE_CHECKING:
    import folium

__all__ = ["render_index_page"]

#: AOI kind -> the colour of its outline on the overview map.
_KIND_COLOURS = {"compound": "#d7301f", "town": "#fc8d59", "control": "#2b8cbe"}

#: A latest frame to draw under an AOI's outline: (data URI, bounds).
Preview = tuple[str, Sequence[Sequence[float]]]


def _bounds(summaries: Sequence[AoiSummary]) -> list[list[float]]:
    """The bounds of every AOI together, (south, west), (north, east); without any AOI, a
    view of Mae Sot."""
    if not summaries:
        return [[16.6, 98.5], [16.75, 98.6]]
    west = min(s.aoi.geometry.bounds[0] for s in summaries)
    south = min(s.aoi.geometry.bounds[1] for s in summaries)
    east = max(s.aoi.geometry.bounds[2] for s in summaries)
    north = max(s.aoi.geometry.bounds[3] for s in summaries)
    return [[south, west], [north, east]]


def _header_html(simulated: bool, generated_at: dt.datetime) -> str:
    """The page's top: the banner, the title, when it was made."""
    return (
        banner(simulated) + '<div class="mr-top"><h1>Areas of interest</h1>'
        f'<p class="mr-sub">Sentinel-2 change monitor · generated '
        f"{text(f'{generated_at:%Y-%m-%d %H:%M}')} UTC</p></div>"
    )


def _feature(i: int, summary: AoiSummary) -> dict[str, Any]:
    """The AOI's outline as a GeoJSON feature, its index and kind as properties."""
    aoi = summary.aoi
    return {
        "type": "Feature",
        "id": f"aoi-{i}",
        "properties": {"index": i, "kind": aoi.kind or ""},
        "geometry": geojson(aoi.geometry),
    }


def _counts_html(summary: AoiSummary) -> str:
    """The AOI's detections: per status the total, then the count of each type."""
    counts = []
    for status in STATUS_STYLES:
        by_type = summary.detections.get(status, {})
        total = sum(by_type.values())
        detail = ", ".join(f"{n} {type_label(t).lower()}" for t, n in sorted(by_type.items()))
        counts.append(
            f"<div>{total} {text(status)}"
            + (f' <span class="mr-muted">({text(detail)})</span>' if detail else "")
            + "</div>"
        )
    return "".join(counts)


def _gaps_html(summary: AoiSummary) -> str:
    """The AOI's periods without a clear view, then its months without one."""
    gaps = (
        "".join(f"<div>{text(g.get('start'))} → {text(g.get('end'))}</div>" for g in summary.gaps)
        or "<div>none over the detector's threshold</div>"
    )
    if summary.months_without_clear_view:
        gaps += (
            f'<div class="mr-muted">months without a clear view: '
            f"{text(', '.join(summary.months_without_clear_view))}</div>"
        )
    return gaps


def _row_html(summary: AoiSummary) -> str:
    """The AOI's row of the table."""
    aoi = summary.aoi
    page = summary.page
    name_html = f'<a href="{text(page)}">{text(aoi.name)}</a>' if page else text(aoi.name)
    sim = ' <b class="mr-sim-text">SIMULATED</b>' if summary.simulated else ""
    return (
        f'<tr data-aoi="{text(aoi.id)}"><td>{name_html}{sim}<div class="mr-muted">'
        f"<code>{text(aoi.id)}</code> {text(aoi.kind or '')}</div></td>"
        f"<td>{text(day(summary.last_clear, 'none yet'))}</td>"
        f'<td class="num">{summary.scenes_used}</td>'
        f"<td>{_counts_html(summary)}</td><td>{_gaps_html(summary)}</td></tr>"
    )


def _script_aoi(summary: AoiSummary, preview: Preview | None) -> dict[str, Any]:
    """What the script needs of the AOI: its popup, label, latest frame with its bounds."""
    aoi = summary.aoi
    page = summary.page
    popup = (
        f"<b>{text(aoi.name)}</b><br>{text(aoi.kind or '')} · last clear view "
        f"{text(day(summary.last_clear, 'none yet'))}<br>"
        + (
            f"Image: the clearest view of {text(day(summary.latest_frame))}'s month<br>"
            if preview
            else ""
        )
        + (f'<a href="{text(page)}">Open the AOI page</a>' if page else "")
    )
    return {
        "popup": popup,
        "label": text(aoi.name),
        "image": preview[0] if preview else None,
        "bounds": [list(b) for b in preview[1]] if preview else None,
        "date": day(summary.latest_frame) if preview else None,
    }


def _add_outlines(fmap: folium.Map, features: list[dict[str, Any]]) -> folium.GeoJson:
    """The AOIs' outlines (coloured by kind) with the layer control; returns the layer."""
    import folium

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
    return outlines


def _body_html(rows: Sequence[str], limits_note: str) -> str:
    """Everything under the map: the table of AOIs, the limits."""
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
    return (
        '<main class="mr-main"><section id="aois"><h2>Areas</h2>' + table + "</section>"
        f'<section id="limits"><h2>Limits</h2><p>{text(limits_note)}</p>'
        f'<p class="mr-muted">{MEANING}</p></section></main>'
    )


def render_index_page(
    summaries: Sequence[AoiSummary],
    *,
    generated_at: dt.datetime,
    limits_note: str,
    previews: Mapping[str, Preview] | None = None,
) -> str:
    """The overview page: every AOI's outline on one map and one row each. ``previews``
    maps AOI ids to (data URI, bounds) of their latest frame, drawn under the outlines."""
    simulated = any(s.simulated for s in summaries)
    figure = Page(
        text("Border monitor · areas of interest" + (" (SIMULATED DATA)" if simulated else ""))
    )
    figure.html.add_child(Element(_header_html(simulated, generated_at)), name="mr_header")
    fmap = new_map(figure, _bounds(summaries), "55vh")
    features = [_feature(i, summary) for i, summary in enumerate(summaries)]
    rows = [_row_html(summary) for summary in summaries]
    data_aois = [_script_aoi(s, (previews or {}).get(s.aoi.id)) for s in summaries]
    outlines = _add_outlines(fmap, features)
    HtmlBlock(_body_html(rows, limits_note)).add_to(fmap)
    InitCall("initIndex", script_json({"aois": data_aois}), outlines.get_name()).add_to(fmap)
    return str(figure.render())
