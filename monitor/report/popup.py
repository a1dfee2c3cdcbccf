"""The popup of one detection: its facts, review, thumbnails, chart, evidence scenes.

Every string that comes from outside (scene ids and hrefs, review notes) passes through
:mod:`monitor.report.safe` before it reaches the popup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.models import Detection
from monitor.report.chart import chart_key, series_svg
from monitor.report.fragments import day, status_badge
from monitor.report.imaging import mask_outline_path, thumbnail_data_uri
from monitor.report.records import INDEX_NAMES, DetectionEvidence, Thumbnail
from monitor.report.safe import link, text
from monitor.report.styles import type_colour, type_label

__all__ = ["detection_popup"]

_VERDICT_LABELS = {
    "verified": "Verified by an analyst",
    "false_alarm": "False alarm (analyst)",
    "unsure": "Analyst unsure",
}


def _review_html(det: Detection) -> str:
    """The analyst's review of the detection (nothing when there is none)."""
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
    """Scene ids as links to their items (a dash when there are none)."""
    if not scene_ids:
        return "–"
    return ", ".join(link(scene_id, links.get(scene_id)) for scene_id in scene_ids)


def _thumb_html(thumb: Thumbnail | None, label: str, colour: str) -> str:
    """One thumbnail, the detection's outline drawn on its pixels, with its caption."""
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
    colour = type_colour(det.change_type)
    rows = [
        ("Change window", f"{day(det.window_start)} → {day(det.window_end)}"),
        ("First seen", day(det.first_seen)),
        ("Confirmed on", day(det.confirmed_on, "not confirmed")),
        ("Area", f"{det.area_m2:,.0f} m² ({det.n_pixels} pixels of 10 m)"),
        ("Confidence", f"{det.confidence:.2f}"),
        ("Clear views", str(det.n_obs)),
    ]
    facts = "".join(f"<tr><th>{text(k)}</th><td>{text(v)}</td></tr>" for k, v in rows)
    parts = [
        f'<div class="mr-popup" data-detection="{text(det.id)}">',
        f'<h3><span class="mr-swatch" style="border-color:{colour}"></span>'
        f"{text(type_label(det.change_type))} {status_badge(det.status)}</h3>",
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
