"""The AOI page's built-up timeline: an inline SVG chart, its table, the claim checks.

Pure rendering of what ``monitor.job`` hands over: a ``BuiltTimeline`` (from
``monitor.detect.timeline``) and the stored ``ClaimRecord``s. No script, no network; every
string that is not ours (AOI names, zone file names, stored claim text) goes through
:func:`monitor.report.safe.text`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Layout:
    """Where the chart's parts go: the area panel (top), the flow bars (bottom), one slot
    per month, both value axes."""

    width: int
    months: int
    y_max: float
    f_max: float
    left: int = 74
    right: int = 12
    top: int = 14
    area_h: int = 170
    gap_h: int = 22
    bars_h: int = 70
    axis_h: int = 34

    @property
    def height(self) -> int:
        return self.top + self.area_h + self.gap_h + self.bars_h + self.axis_h

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def slot(self) -> float:
        return self.plot_w / self.months

    @property
    def bars_top(self) -> int:
        return self.top + self.area_h + self.gap_h

    @property
    def bars_mid(self) -> float:
        return self.bars_top + self.bars_h / 2

    def x_mid(self, i: int) -> float:
        """The middle of month ``i``'s slot."""
        return self.left + self.slot * (i + 0.5)

    def y_area(self, value: float) -> float:
        """The height of a roofed area on the top panel."""
        return self.top + self.area_h * (1 - value / self.y_max)

    def y_flow(self, value: float, sign: int) -> float:
        """The end of a bar on the bottom panel: up for newly roofed, down for demolished."""
        return self.bars_mid - sign * (self.bars_h / 2) * min(value / self.f_max, 1.0)


def _layout(months: Sequence[TimelineMonth], width: int) -> _Layout:
    """The layout of the chart: both axes rounded up from the largest value they show."""
    highs = [m.built_high_m2 for m in months if m.built_high_m2 is not None]
    flows = [
        v
        for m in months
        for v in (m.new_built_high_m2, m.demolished_high_m2, m.new_built_m2, m.demolished_m2)
        if v is not None
    ]
    return _Layout(
        width=width,
        months=len(months),
        y_max=_nice_max(max(highs) if highs else 1.0),
        f_max=_nice_max(max(flows) if flows and max(flows) > 0 else 1.0),
    )


def _svg_open(lay: _Layout) -> list[str]:
    """The ``<svg>`` element's opening tag with its accessible name."""
    return [
        f'<svg class="mr-timeline" xmlns="http://www.w3.org/2000/svg" width="{lay.width}" '
        f'height="{lay.height}" viewBox="0 0 {lay.width} {lay.height}" role="img" '
        'aria-label="Roofed area per month with its uncertainty band, and area newly '
        'roofed and demolished per month; grey months had too few clear views">',
        "<title>Built-up timeline</title>",
    ]


def _gap_shades(months: Sequence[TimelineMonth], lay: _Layout) -> list[str]:
    """Gap months shaded across both panels."""
    return [
        f'<rect x="{lay.left + lay.slot * i:.1f}" y="{lay.top}" width="{lay.slot:.1f}" '
        f'height="{lay.area_h + lay.gap_h + lay.bars_h}" fill="{_GAP}"><title>'
        f"{text(month.month)}: {month.clear_observations} clear "
        "observation(s), a gap</title></rect>"
        for i, month in enumerate(months)
        if month.gap
    ]


def _axes(lay: _Layout) -> list[str]:
    """Both panels' frames, the area panel's grid with its labels, the bars' scale."""
    left, plot_w, bars_top = lay.left, lay.plot_w, lay.bars_top
    parts = [
        f'<rect x="{left}" y="{lay.top}" width="{plot_w}" height="{lay.area_h}" fill="none" '
        'stroke="#bbb" stroke-width="0.6"/>',
        f'<rect x="{left}" y="{bars_top}" width="{plot_w}" height="{lay.bars_h}" '
        'fill="none" stroke="#bbb" stroke-width="0.6"/>',
    ]
    for k in range(5):
        value = lay.y_max * k / 4
        y = lay.y_area(value)
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
        f'fill="{_NEW}">+{text(_tick(lay.f_max))}</text>'
    )
    parts.append(
        f'<text x="{left - 5}" y="{bars_top + lay.bars_h}" text-anchor="end" '
        f'font-size="10" fill="{_GONE}">−{text(_tick(lay.f_max))}</text>'
    )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{lay.bars_mid:.1f}" '
        f'y2="{lay.bars_mid:.1f}" stroke="#999" stroke-width="0.5"/>'
    )
    return parts


def _band_of_run(months: Sequence[TimelineMonth], run: list[int], lay: _Layout) -> list[str]:
    """One run's band with its best estimate's line; a lone month's band is a bar."""
    x_mid, y_area, slot = lay.x_mid, lay.y_area, lay.slot
    if len(run) == 1:
        i = run[0]
        m = months[i]
        assert m.built_low_m2 is not None and m.built_high_m2 is not None
        return [
            f'<rect x="{x_mid(i) - slot * 0.3:.1f}" y="{y_area(m.built_high_m2):.1f}" '
            f'width="{slot * 0.6:.1f}" height="'
            f'{max(y_area(m.built_low_m2) - y_area(m.built_high_m2), 0.5):.1f}" '
            f'fill="{_BAND}" fill-opacity="0.7"/>'
        ]
    upper = [f"{x_mid(i):.1f},{y_area(months[i].built_high_m2 or 0.0):.1f}" for i in run]
    lower = [f"{x_mid(i):.1f},{y_area(months[i].built_low_m2 or 0.0):.1f}" for i in reversed(run)]
    line = " ".join(f"{x_mid(i):.1f},{y_area(months[i].built_m2 or 0.0):.1f}" for i in run)
    return [
        f'<polygon points="{" ".join(upper + lower)}" fill="{_BAND}" fill-opacity="0.7"/>',
        f'<polyline points="{line}" fill="none" stroke="{_LINE}" stroke-width="1.6"/>',
    ]


def _marks_of_run(months: Sequence[TimelineMonth], run: list[int], lay: _Layout) -> list[str]:
    """One dot per clear month of a run, its figures in its tooltip."""
    return [
        f'<circle cx="{lay.x_mid(i):.1f}" cy="{lay.y_area(m.built_m2 or 0.0):.1f}" '
        f'r="2.2" fill="{_LINE}"><title>{text(m.month)}: '
        f"{text(_area(m.built_m2))} m² roofed (between "
        f"{text(_area(m.built_low_m2))} and {text(_area(m.built_high_m2))}), "
        f"{m.clear_observations} clear observation(s)</title></circle>"
        for i, m in ((i, months[i]) for i in run)
    ]


def _roofed_area(months: Sequence[TimelineMonth], lay: _Layout) -> list[str]:
    """The band with the best estimate, one run of clear months at a time."""
    parts: list[str] = []
    for run in _runs(months):
        parts.extend(_band_of_run(months, run, lay))
        parts.extend(_marks_of_run(months, run, lay))
    return parts


def _flow_bars(months: Sequence[TimelineMonth], lay: _Layout) -> list[str]:
    """Newly roofed (up) and demolished (down): confirmed filled, possible outlined."""
    parts = []
    bar_w = max(min(lay.slot * 0.6, 14.0), 1.0)
    bars_mid = lay.bars_mid
    for i, m in enumerate(months):
        for sign, confirmed, possible, colour, what in (
            (1, m.new_built_m2, m.new_built_high_m2, _NEW, "newly roofed"),
            (-1, m.demolished_m2, m.demolished_high_m2, _GONE, "demolished"),
        ):
            if confirmed is None:
                continue
            x = lay.x_mid(i) - bar_w / 2
            if possible is not None and possible > confirmed:
                y0, y1 = sorted((lay.y_flow(possible, sign), bars_mid))
                parts.append(
                    f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(y1 - y0, 0.5):.1f}" fill="none" stroke="{colour}" '
                    'stroke-width="0.8" stroke-dasharray="2 1.5"/>'
                )
            if confirmed > 0:
                y0, y1 = sorted((lay.y_flow(confirmed, sign), bars_mid))
                parts.append(
                    f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(y1 - y0, 0.5):.1f}" fill="{colour}"><title>'
                    f"{text(m.month)}: {text(_area(confirmed))} m² {what} "
                    f"(confirmed; up to {text(_area(possible))} m² with unconfirmed "
                    "changes)</title></rect>"
                )
    return parts


def _month_labels(months: Sequence[TimelineMonth], lay: _Layout) -> list[str]:
    """Month labels: the first month and every January, with the year (every month, without
    it, when there are a year's or fewer)."""
    label_y = lay.bars_top + lay.bars_h + 13
    parts = []
    for i, m in enumerate(months):
        if i == 0 or m.month.endswith("-01") or len(months) <= 12:
            label = m.month if (i == 0 or m.month.endswith("-01")) else m.month[5:]
            parts.append(
                f'<text x="{lay.x_mid(i):.1f}" y="{label_y}" text-anchor="middle" '
                f'font-size="10" fill="#555">{text(label)}</text>'
            )
    return parts


def _legend(lay: _Layout) -> str:
    """The key under the chart: what each colour is."""
    return (
        f'<text x="{lay.left}" y="{lay.height - 4}" font-size="10" fill="#555">'
        f'<tspan fill="{_LINE}">●</tspan> roofed area · <tspan fill="{_BAND}">■'
        f'</tspan> band · <tspan fill="{_NEW}">■</tspan> newly roofed · '
        f'<tspan fill="{_GONE}">■</tspan> demolished (dashed: with unconfirmed) · '
        f'<tspan fill="#bbb">■</tspan> gap (too few clear views)</text>'
    )


def timeline_svg(timeline: BuiltTimeline, *, width: int = 760) -> str:
    """The timeline as an ``<svg>`` element: roofed area with its band (top), newly roofed
    and demolished area per month (bottom), gap months shaded."""
    months = timeline.months
    if not months:
        return '<p class="mr-muted">No scene seen yet: nothing to chart.</p>'
    lay = _layout(months, width)
    parts = [
        *_svg_open(lay),
        *_gap_shades(months, lay),
        *_axes(lay),
        *_roofed_area(months, lay),
        *_flow_bars(months, lay),
        *_month_labels(months, lay),
        _legend(lay),
        "</svg>",
    ]
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
