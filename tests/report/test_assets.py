"""Our own script and style: package data, inlined into every page exactly as written."""

from __future__ import annotations

from importlib.resources import files

from monitor.report.assets import inline_head, report_css, report_js
from tests.report.synthetic import build


def test_our_script_and_style_are_package_data() -> None:
    static = files("monitor.report") / "static"
    assert report_css() == (static / "report.css").read_bytes().decode("utf-8")
    assert report_js() == (static / "report.js").read_bytes().decode("utf-8")
    assert "window.MonitorReport" in report_js()
    assert ".mr-banner" in report_css()
    # Inline in a <script> or <style>: neither may close its element early.
    assert "</script" not in report_js().lower()
    assert "</style" not in report_css().lower()


def test_every_page_inlines_them_unchanged() -> None:
    from monitor.report import render_aoi_page

    page = render_aoi_page(build().report)
    assert inline_head(report_css(), report_js()) in page
