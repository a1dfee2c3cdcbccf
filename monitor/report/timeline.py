"""The AOI page's built-up timeline: an inline SVG chart, its table, the claim checks.

Pure rendering of what ``monitor.job`` hands over: a ``BuiltTimeline`` (from
``monitor.detect.timeline``) and the stored ``ClaimRecord``s. No script, no network; every
string that is not ours (AOI names, zone file names, stored claim text) goes through
:func:`monitor.report.safe.text`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from monitor.models import ClaimRecord
from monitor.report.safe import text

if TYPE_CHECKING:
    from monitor.detect.timeline import BuiltTimeline, TimelineMonth

__all__ = ["timeline_section_html", "claims_section_html", "timeline_svg"]

_BAND = "#9cc3e6"
_LINE = "#1f5f99"
_GAP = "#e4e6e8"
_NEW = "#2e9d3a"
_GONE = "#c0392b"
_VERDICT_COLOURS = {
    "consistent": "#2e7d32",
    "inconsistent": "#b3121f",
}


def _area(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _tick(value: float) -> str:
    """Axis label of an area: m² below a hectare, else hectares."""
    if value >= 10_000:
        return f"{value / 10_000:,.1f} ha".replace(".0 ha", " ha")
    return f"{value:,.0f} m²"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _runs(months: Sequence[TimelineMonth]) -> list[list[int]]:
    """Indices of consecutive clear months (a band is never drawn across a gap)."""
    runs: list[list[int]] = []
    for i, month in enumerate(months):
        if month.gap or month.built_m2 is None:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def timeline_svg(timeline: BuiltTimeline, *, width: int = 760) -> str:
    """The timeline as an ``<svg>`` element: roofed area with its band (top), newly roofed
    and demolished area per month (bottom), gap months shaded."""
    months = timeline.months
    if not months:
        return '<p class="mr-muted">No scene seen yet: nothing to chart.</p>'
    left, right, top = 74, 12, 14
    area_h, gap_h, bars_h, axis_h = 170, 22, 70, 34
    height = top + area_h + gap_h + bars_h + axis_h
    plot_w = width - left - right
    slot = plot_w / len(months)

    def x_mid(i: int) -> float:
        return left + slot * (i + 0.5)

    highs = [m.built_high_m2 for m in months if m.built_high_m2 is not None]
    y_max = _nice_max(max(highs) if highs else 1.0)

    def y_area(value: float) -> float:
        return top + area_h * (1 - value / y_max)

    flows = [
        v
        for m in months
        for v in (m.new_built_high_m2, m.demolished_high_m2, m.new_built_m2, m.demolished_m2)
        if v is not None
    ]
    f_max = _nice_max(max(flows) if flows and max(flows) > 0 else 1.0)
    bars_top = top + area_h + gap_h
    bars_mid = bars_top + bars_h / 2

    def y_flow(value: float, sign: int) -> float:
        return bars_mid - sign * (bars_h / 2) * min(value / f_max, 1.0)

    parts = [
        f'<svg class="mr-timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Roofed area per month with its uncertainty band, and area newly '
        'roofed and demolished per month; grey months had too few clear views">',
        "<title>Built-up timeline</title>",
    ]
    # Gap months, across both panels.
    for i, month in enumerate(months):
        if month.gap:
            parts.append(
                f'<rect x="{left + slot * i:.1f}" y="{top}" width="{slot:.1f}" '
                f'height="{area_h + gap_h + bars_h}" fill="{_GAP}"><title>'
                f"{text(month.month)}: {month.clear_observations} clear "
                "observation(s), a gap</title></rect>"
            )
    # Frames and axes.
    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{area_h}" fill="none" '
        'stroke="#bbb" stroke-width="0.6"/>'
    )
    parts.append(
        f'<rect x="{left}" y="{bars_top}" width="{plot_w}" height="{bars_h}" '
        'fill="none" stroke="#bbb" stroke-width="0.6"/>'
    )
    for k in range(5):
        value = y_max * k / 4
        y = y_area(value)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="0.5"/>'
        )
        parts.append(
            f'<text x="{left - 5}" y="{y + 3.5:.1f}" text-anchor="end" '
            f'font-size="10" fill="#555">{text(_tick(value))}</text>'
        )
    parts.append(
        f'<text x="{left - 5}" y="{bars_top + 9}" text-anchor="end" font-size="10" '
        f'fill="{_NEW}">+{text(_tick(f_max))}</text>'
    )
    parts.append(
        f'<text x="{left - 5}" y="{bars_top + bars_h}" text-anchor="end" '
        f'font-size="10" fill="{_GONE}">−{text(_tick(f_max))}</text>'
    )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{bars_mid:.1f}" '
        f'y2="{bars_mid:.1f}" stroke="#999" stroke-width="0.5"/>'
    )
    # The band and the best estimate, one run of clear months at a time.
    for run in _runs(months):
        if len(run) == 1:
            i = run[0]
            m = months[i]
            assert m.built_low_m2 is not None and m.built_high_m2 is not None
            parts.append(
                f'<rect x="{x_mid(i) - slot * 0.3:.1f}" y="{y_area(m.built_high_m2):.1f}" '
                f'width="{slot * 0.6:.1f}" height="'
                f'{max(y_area(m.built_low_m2) - y_area(m.built_high_m2), 0.5):.1f}" '
                f'fill="{_BAND}" fill-opacity="0.7"/>'
            )
        else:
            upper = [f"{x_mid(i):.1f},{y_area(months[i].built_high_m2 or 0.0):.1f}" for i in run]
            lower = [
                f"{x_mid(i):.1f},{y_area(months[i].built_low_m2 or 0.0):.1f}" for i in reversed(run)
            ]
            parts.append(
                f'<polygon points="{" ".join(upper + lower)}" fill="{_BAND}" fill-opacity="0.7"/>'
            )
            line = " ".join(f"{x_mid(i):.1f},{y_area(months[i].built_m2 or 0.0):.1f}" for i in run)
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{_LINE}" stroke-width="1.6"/>'
            )
        for i in run:
            m = months[i]
            parts.append(
                f'<circle cx="{x_mid(i):.1f}" cy="{y_area(m.built_m2 or 0.0):.1f}" '
                f'r="2.2" fill="{_LINE}"><title>{text(m.month)}: '
                f"{text(_area(m.built_m2))} m² roofed (between "
                f"{text(_area(m.built_low_m2))} and {text(_area(m.built_high_m2))}), "
                f"{m.clear_observations} clear observation(s)</title></circle>"
            )
    # Newly roofed (up) and demolished (down): confirmed filled, possible outlined.
    bar_w = max(min(slot * 0.6, 14.0), 1.0)
    for i, m in enumerate(months):
        for sign, confirmed, possible, colour, what in (
            (1, m.new_built_m2, m.new_built_high_m2, _NEW, "newly roofed"),
            (-1, m.demolished_m2, m.demolished_high_m2, _GONE, "demolished"),
        ):
            if confirmed is None:
                continue
            x = x_mid(i) - bar_w / 2
            if possible is not None and possible > confirmed:
                y0, y1 = sorted((y_flow(possible, sign), bars_mid))
                parts.append(
                    f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(y1 - y0, 0.5):.1f}" fill="none" stroke="{colour}" '
                    'stroke-width="0.8" stroke-dasharray="2 1.5"/>'
                )
            if confirmed > 0:
                y0, y1 = sorted((y_flow(confirmed, sign), bars_mid))
                parts.append(
                    f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(y1 - y0, 0.5):.1f}" fill="{colour}"><title>'
                    f"{text(m.month)}: {text(_area(confirmed))} m² {what} "
                    f"(confirmed; up to {text(_area(possible))} m² with unconfirmed "
                    "changes)</title></rect>"
                )
    # Month labels: the first month and every January, with the year.
    label_y = bars_top + bars_h + 13
    for i, m in enumerate(months):
        if i == 0 or m.month.endswith("-01") or len(months) <= 12:
            label = m.month if (i == 0 or m.month.endswith("-01")) else m.month[5:]
            parts.append(
                f'<text x="{x_mid(i):.1f}" y="{label_y}" text-anchor="middle" '
                f'font-size="10" fill="#555">{text(label)}</text>'
            )
    parts.append(
        f'<text x="{left}" y="{height - 4}" font-size="10" fill="#555">'
        f'<tspan fill="{_LINE}">●</tspan> roofed area · <tspan fill="{_BAND}">■'
        f'</tspan> band · <tspan fill="{_NEW}">■</tspan> newly roofed · '
        f'<tspan fill="{_GONE}">■</tspan> demolished (dashed: with unconfirmed) · '
        f'<tspan fill="#bbb">■</tspan> gap (too few clear views)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def timeline_section_html(timeline: BuiltTimeline | str | None) -> str:
    """The AOI page's "Built-up timeline" section (escaped HTML).

    ``timeline`` is the AOI's timeline, or a sentence saying why there is none yet.
    """
    head = '<h2 id="timeline">Built-up timeline</h2>'
    if timeline is None or isinstance(timeline, str):
        why = timeline or "No detector state yet."
        return (
            f'<section class="mr-timeline-section">{head}'
            f'<p class="mr-muted">{text(why)}</p></section>'
        )
    intro = (
        '<p class="mr-muted">Roofed area per month at the month\'s last clear observation, '
        "from the detector's per-pixel state (each 10 m pixel's share of roof, from its "
        "spectrum; changes dated by the detector). The band holds mixed pixels at roof "
        "edges, unconfirmed changes, changes whose date is uncertain and pixels the detector "
        "cannot model. Months with too few clear observations are gaps, not zeros. "
        "Buildings are not counted: 10 m pixels measure area.</p>"
    )
    notes = "".join(f"<li>{text(note)}</li>" for note in timeline.notes)
    rows = []
    for m in timeline.months:
        if m.gap:
            rows.append(
                f'<tr class="mr-gap"><td>{text(m.month)}</td>'
                f'<td class="num">{m.clear_observations}</td>'
                '<td colspan="5" class="mr-muted">gap: too few clear observations'
                "</td></tr>"
            )
            continue
        rows.append(
            f'<tr><td>{text(m.month)}</td><td class="num">{m.clear_observations}</td>'
            f'<td class="num">{_area(m.built_m2)}</td>'
            f'<td class="num">{_area(m.built_low_m2)}</td>'
            f'<td class="num">{_area(m.built_high_m2)}</td>'
            f'<td class="num">{_area(m.new_built_m2)}</td>'
            f'<td class="num">{_area(m.demolished_m2)}</td></tr>'
        )
    table = (
        "<details><summary>The figures per month (m²)</summary>"
        '<table class="mr-table"><thead><tr><th>Month</th><th class="num">Clear obs.</th>'
        '<th class="num">Roofed</th><th class="num">Low</th><th class="num">High</th>'
        '<th class="num">Newly roofed</th><th class="num">Demolished</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></details>"
    )
    return (
        '<section class="mr-timeline-section">'
        + head
        + intro
        + (f'<ul class="mr-notes">{notes}</ul>' if notes else "")
        + timeline_svg(timeline)
        + table
        + "</section>"
    )


def _claim_text(claim: Mapping[str, Any]) -> str:
    if claim.get("demolished") is not None and claim.get("total") is not None:
        what = f"{claim['demolished']} of {claim['total']} buildings demolished"
    elif claim.get("built_area_m2") is not None:
        what = f"{float(claim['built_area_m2']):,.0f} m² roofed"
    else:
        what = "a claim"
    return f"{what} by {claim.get('by', '?')}"


def claims_section_html(claims: Sequence[ClaimRecord]) -> str:
    """The AOI page's "Claim checks" section (escaped HTML): every stored check, newest
    first, with its verdict and the figures behind it. Empty string when there is none."""
    if not claims:
        return ""
    items = []
    for record in sorted(claims, key=lambda c: (c.checked_at, c.id), reverse=True):
        result = record.result
        verdict = str(result.get("verdict", "?"))
        colour = _VERDICT_COLOURS.get(verdict, "#8a6d00")
        zone = record.claim.get("zone")
        lines = result.get("lines") or []
        detections = result.get("detections") or []
        parts = [
            f'<li class="mr-claim"><p><b>{text(_claim_text(record.claim))}</b>'
            + (f" · zone <code>{text(zone)}</code>" if zone else "")
            + f' <span class="mr-muted">· checked '
            f"{text(record.checked_at.strftime('%Y-%m-%d %H:%M'))} UTC · #{record.id}</span>"
            + (' <b class="mr-sim-text">SIMULATED</b>' if result.get("simulated") else "")
            + "</p>",
            f'<p><span style="color:{colour};font-weight:bold">{text(verdict)}</span>: '
            f"{text(result.get('reason', ''))}</p>",
        ]
        figures = [line for line in lines if not str(line).startswith("verdict:")]
        if figures:
            parts.append(
                '<ul class="mr-notes">'
                + "".join(f"<li>{text(line)}</li>" for line in figures)
                + "</ul>"
            )
        if detections:
            parts.append(
                '<p class="mr-muted">Detections dating the removal: '
                + ", ".join(
                    f"<code>{text(d.get('id'))}</code> "
                    f"({text(d.get('status'))}, first seen "
                    f"{text(d.get('first_seen'))})"
                    for d in detections
                )
                + "</p>"
            )
        for note in result.get("notes") or []:
            parts.append(f'<p class="mr-muted">{text(note)}</p>')
        items.append("".join(parts) + "</li>")
    why = next((r.result.get("why_area") for r in claims if r.result.get("why_area")), "")
    return (
        '<section class="mr-claims-section"><h2 id="claims">Claim checks</h2>'
        + (f'<p class="mr-muted">{text(why)}</p>' if why else "")
        + f'<ul class="mr-claims">{"".join(items)}</ul></section>'
    )
