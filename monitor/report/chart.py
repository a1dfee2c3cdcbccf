"""A detection's index series as a small inline SVG chart (no script, no library).

One panel per index of ``INDEX_NAMES``, sharing the time axis: clear views as dots joined
by a line, dates on which the detection's pixels were cloudy (or the whole AOI was skipped
as too cloudy) as grey ticks at the foot, the change window shaded, and the confirmation day
as a dashed line. Every string in it is ours (numbers and dates).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from monitor.models import Detection
from monitor.report.records import INDEX_NAMES, IndexSeries

__all__ = ["series_svg", "chart_defs", "chart_key"]

_COLOURS = {"ndvi": "#2e9d3a", "ndbi": "#b2533e", "brightness": "#3a6fb0"}


def _fmt(value: float) -> str:
    return f"{value:.2f}".replace("-0.00", "0.00")


def chart_defs() -> str:
    """The dots of the charts, defined once per page (every chart refers to them)."""
    markers = "".join(
        f'<marker id="mr-dot-{key}" viewBox="0 0 4 4" refX="2" refY="2" markerWidth="4" '
        f'markerHeight="4" markerUnits="userSpaceOnUse"><circle cx="2" cy="2" r="1.7" '
        f'fill="{colour}"/></marker>'
        for key, colour in _COLOURS.items()
    )
    return (
        '<svg width="0" height="0" style="position:absolute" aria-hidden="true">'
        f"<defs>{markers}</defs></svg>"
    )


def series_svg(
    series: IndexSeries, detection: Detection, *, width: int = 340, panel_height: int = 44
) -> str:
    """The chart of ``series`` for ``detection`` as an ``<svg>`` element (a string).

    Coordinates are whole pixels (a 340 px chart needs no more), and each panel is one
    polyline whose vertices carry the page's dot markers (:func:`chart_defs`): a few kB per
    detection, for pages with hundreds of them.
    """
    if not series.dates:
        return '<p class="mr-muted">No clear view of these pixels to chart.</p>'
    left, right, top, gap, strip, axis = 70, 8, 6, 6, 9, 14
    plot_w = width - left - right
    first = min([*series.dates, *series.cloudy_dates, detection.window_start])
    last = max([*series.dates, *series.cloudy_dates, detection.window_end])
    span = max((last - first).days, 1)

    def x_of(day: dt.date) -> int:
        return round(left + plot_w * (day - first).days / span)

    panels_bottom = top + len(INDEX_NAMES) * (panel_height + gap) - gap
    strip_bottom = panels_bottom + strip
    height = strip_bottom + axis
    parts = [
        f'<svg class="mr-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Indices over the detection\'s pixels">'
    ]
    # The change window and the confirmation day, across every panel.
    x0, x1 = x_of(detection.window_start), x_of(detection.window_end)
    parts.append(
        f'<rect x="{x0}" y="{top}" width="{max(x1 - x0, 2)}" '
        f'height="{strip_bottom - top}" fill="#f2c14e" fill-opacity="0.35"/>'
    )
    if detection.confirmed_on is not None:
        xc = x_of(detection.confirmed_on)
        parts.append(
            f'<path d="M{xc} {top}V{panels_bottom}" stroke="#222" stroke-dasharray="3 2"/>'
        )
    for i, (key, label, _meaning) in enumerate(INDEX_NAMES):
        y_top = top + i * (panel_height + gap)
        values = series.values.get(key, ())
        known = [v for v in values if v is not None and math.isfinite(v)]
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
        if high - low < 0.1:
            middle = (high + low) / 2
            low, high = middle - 0.05, middle + 0.05
        pad = (high - low) * 0.08
        low, high = low - pad, high + pad
        scale = panel_height / (high - low)
        parts.append(
            f'<rect x="{left}" y="{y_top}" width="{plot_w}" height="{panel_height}" '
            'fill="none" stroke="#bbb" stroke-width="0.5"/>'
            f'<text x="{left - 4}" y="{y_top + 11}" text-anchor="end" '
            f'class="mr-chart-label">{label}</text>'
            f'<text x="{left - 4}" y="{y_top + 22}" text-anchor="end" '
            f'class="mr-chart-tick">{_fmt(high)}</text>'
            f'<text x="{left - 4}" y="{y_top + panel_height}" text-anchor="end" '
            f'class="mr-chart-tick">{_fmt(low)}</text>'
        )
        points = " ".join(
            f"{x_of(d)},{round(y_top + (high - v) * scale)}"
            for d, v in zip(series.dates, values, strict=True)
            if v is not None and math.isfinite(v)
        )
        if points:
            parts.append(
                f'<polyline class="mr-clear" points="{points}" fill="none" '
                f'stroke="{_COLOURS.get(key, "#333")}" stroke-opacity="0.6" '
                f'marker-start="url(#mr-dot-{key})" marker-mid="url(#mr-dot-{key})" '
                f'marker-end="url(#mr-dot-{key})"/>'
            )
    # Cloud, once for all panels: the detection's pixels cloudy on a used scene (dark), the
    # whole AOI too cloudy to use the scene (light).
    cloudy_here = [d for d, ok in zip(series.dates, series.clear, strict=True) if not ok]
    if cloudy_here:
        ticks = "".join(f"M{x_of(d)} {strip_bottom - 7}v7" for d in cloudy_here)
        parts.append(f'<path class="mr-cloudy" d="{ticks}" stroke="#666"/>')
    if series.cloudy_dates:
        ticks = "".join(f"M{x_of(d)} {strip_bottom - 4}v4" for d in series.cloudy_dates)
        parts.append(f'<path class="mr-skipped" d="{ticks}" stroke="#bbb"/>')
    for year in range(first.year + 1, last.year + 1):
        xy = x_of(dt.date(year, 1, 1))
        parts.append(
            f'<path d="M{xy} {top}V{strip_bottom + 2}" stroke="#999" '
            f'stroke-width="0.5"/><text x="{xy}" y="{height - 2}" '
            f'text-anchor="middle" class="mr-chart-tick">{year}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def chart_key() -> str:
    """The chart's legend (HTML): what the marks mean."""
    items: Sequence[str] = (
        '<span class="mr-key-dot"></span> clear view of the pixels',
        '<span class="mr-key-tick"></span> pixels cloudy',
        '<span class="mr-key-tick mr-key-light"></span> scene skipped (AOI too cloudy)',
        '<span class="mr-key-window"></span> change window',
        '<span class="mr-key-confirm"></span> confirmed',
    )
    return '<p class="mr-chart-key">' + " · ".join(items) + "</p>"
