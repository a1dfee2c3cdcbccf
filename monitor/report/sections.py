"""The AOI page's sections: its header, the tables, the limits below the map.

Every string that comes from outside (AOI name and description, scene ids and hrefs,
review notes) passes through :mod:`monitor.report.safe` before it reaches the page.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

from monitor.report.assets import leaflet_version
from monitor.report.fragments import MEANING, banner, day, status_badge
from monitor.report.records import AoiReport, months_without_clear_view
from monitor.report.safe import link, text
from monitor.report.styles import STATUS_ORDER, STATUS_STYLES, type_colour, type_label

__all__ = [
    "header_html",
    "detections_section",
    "limits_section",
    "observations_section",
    "more_section",
    "about_section",
]


def header_html(report: AoiReport, timelapse: str | None) -> str:
    """The page's top: the banner, links to the overview, the timelapse, the AOI's name."""
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
        banner(report.simulated)
        + f'<div class="mr-top"><nav>{" · ".join(nav)}</nav><h1>{text(aoi.name)}</h1>'
        f'<p class="mr-sub">{kind}AOI <code>{text(aoi.id)}</code> · {text(span)} · '
        f"generated {text(f'{report.generated_at:%Y-%m-%d %H:%M}')} UTC</p></div>"
    )


def detections_section(report: AoiReport) -> str:
    """The detections: counts by status, type, then one row each (confirmed first)."""
    dets = sorted(
        report.detections, key=lambda d: (STATUS_ORDER.get(d.status, 9), d.first_seen, d.id)
    )
    counts = Counter((d.status, d.change_type) for d in dets)
    summary = []
    for status in STATUS_STYLES:
        by_type = [
            f"{n} {type_label(t).lower()}" for (s, t), n in sorted(counts.items()) if s == status
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
            f'style="border-color:{type_colour(det.change_type)}"></span>'
            f"{text(type_label(det.change_type))}</td><td>{status_badge(det.status)}</td>"
            f"<td>{text(day(det.first_seen))}</td><td>{text(day(det.confirmed_on))}</td>"
            f"<td>{text(day(det.window_start))} → {text(day(det.window_end))}</td>"
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
        f'<p class="mr-muted">{MEANING}</p>{table}</section>'
    )


def limits_section(report: AoiReport) -> str:
    """What the page cannot tell: detectable size, modelled share, gaps, notes."""
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


def observations_section(report: AoiReport) -> str:
    """Scenes by month: found, used, skipped, failed, the one on the map."""
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


def more_section(report: AoiReport) -> str | None:
    """The fragments other stages add to the page (already HTML), or None without any."""
    if not report.extra_sections:
        return None
    return (
        '<section id="more">'
        + "".join(f'<div class="mr-extra">{fragment}</div>' for fragment in report.extra_sections)
        + "</section>"
    )


def about_section(report: AoiReport) -> str:
    """The AOI's description with its sources, how to read the map."""
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
