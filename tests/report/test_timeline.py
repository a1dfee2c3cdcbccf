"""The built-up timeline's chart: what it draws for gaps, runs of clear months, flows."""

from __future__ import annotations

from lxml import etree

from monitor.detect.timeline import BuiltTimeline, TimelineMonth
from monitor.report.timeline import timeline_svg

SVG = "{http://www.w3.org/2000/svg}"


def _month(month: str, built: float | None, *, gap: bool = False, new: float | None = None):
    if gap:
        return TimelineMonth(month, 0, True, None, None, None, None, None, None, None, None)
    return TimelineMonth(month, 3, False, None, built, built * 0.8, built * 1.2, new, 0.0, 0.0, new)


def _timeline(*months: TimelineMonth) -> BuiltTimeline:
    return BuiltTimeline(tuple(months), 100, 90, 10, 100.0, None)


def test_no_month_no_chart() -> None:
    assert "nothing to chart" in timeline_svg(_timeline())


def test_gaps_runs_flows_and_labels() -> None:
    svg = timeline_svg(
        _timeline(
            _month("2024-11", 5000.0),
            _month("2024-12", 5200.0, new=200.0),
            _month("2025-01", 0.0, gap=True),
            _month("2025-02", 5600.0, new=400.0),
        ),
        width=500,
    )
    root = etree.fromstring(svg.encode())
    assert root.get("width") == "500" and root.get("height") == "310"
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any("2025-01: 0 clear observation(s), a gap" in t for t in titles)
    # One run of two months: a band polygon with a line; the lone month after the gap: a bar.
    assert len(root.findall(f"{SVG}polygon")) == 1
    assert len(root.findall(f"{SVG}polyline")) == 1
    assert len(root.findall(f"{SVG}circle")) == 3
    assert any("200 m² newly roofed (confirmed" in t for t in titles)
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert "2024-11" in labels and "2025-01" in labels and "12" in labels
    assert any(
        "gap (too few clear views)" in "".join(t.itertext()) for t in root.iter(f"{SVG}text")
    )
