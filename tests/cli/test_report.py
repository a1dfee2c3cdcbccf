"""The HTML reports of a real run (the shared east archive) and ``monitor report``.

Browser tests drive Debian's Chromium (see tests/report/browser.py) with every request
outside the file blocked: the page must work offline, draw exactly the stored detections,
open the right popup on a click, change the image with the slider and move the
before/after divider.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import shapely

from monitor.job.common import REPORTS_STEP, reports_step
from monitor.models import Detection
from monitor.store import Store
from tests.cli.conftest import FULL_PERIOD, RunState, SimArchive, link_tree, run_cli
from tests.report.browser import browser, open_page, screenshots  # noqa: F401 (fixtures)

PAGE = "east-test.html"


def _stored(state: Path) -> list[Detection]:
    with Store.open(state, create=False) as store:
        return store.detections(aoi_id="east-test")


def _page_data(page: Path) -> dict[str, Any]:
    match = re.search(
        r"MonitorReport\.initAoi\(map_[0-9a-f]+, (\{.*?\}), \{", page.read_text(), re.S
    )
    assert match
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_the_run_wrote_the_reports(east_reference: RunState) -> None:
    reports = east_reference.reports
    assert (reports / "index.html").is_file()
    page = reports / PAGE
    assert page.is_file() and (reports / "east-test-timelapse.webp").is_file()
    data = _page_data(page)
    stored = _stored(east_reference.state)
    assert any(d.status == "confirmed" for d in stored), "the archive plants demolitions"
    assert set(data["detections"]) == {d.id for d in stored}
    months = [f["month"] for f in data["frames"]]
    assert months and months == sorted(set(months))
    assert "SIMULATED DATA" in page.read_text()
    assert not list(reports.glob(".*.tmp"))


def test_detection_masks_are_their_pixels(east_reference: RunState) -> None:
    import numpy as np

    from monitor.aoi import grid_mask, to_utm

    with Store.open(east_reference.state, create=False) as store:
        [aoi] = store.list_aois()
    grid = aoi.grid
    # Every pixel centre of the grid, tested whole (grid_mask tests the bounds' window only).
    xx, yy = np.meshgrid(
        grid.left + (np.arange(grid.width) + 0.5) * grid.res_m,
        grid.top - (np.arange(grid.height) + 0.5) * grid.res_m,
    )
    detections = _stored(east_reference.state)
    assert detections
    for det in detections:
        mask = grid_mask(det.geometry, grid)
        assert mask.sum() == det.n_pixels
        whole = shapely.contains_xy(to_utm(det.geometry, grid.epsg), xx, yy)
        assert np.array_equal(mask, whole)


def test_the_page_in_a_browser(
    east_reference: RunState,
    browser: Any,  # noqa: F811
    screenshots: Path,
) -> None:  # noqa: F811
    page_path = east_reference.reports / PAGE
    stored = {d.id: d for d in _stored(east_reference.state)}
    started = time.monotonic()
    watched = open_page(browser, page_path)
    page = watched.page
    try:
        page.wait_for_function("window.MonitorReport && MonitorReport.current")
        print(
            f"{PAGE}: {page_path.stat().st_size / 1e6:.2f} MB, loaded in "
            f"{time.monotonic() - started:.2f} s"
        )
        watched.shot(screenshots, "east-page")

        # Every stored detection is drawn once (rejected ones after ticking their layer).
        for box in page.locator(".leaflet-control-layers-overlays label").all():
            if "detections" in box.inner_text() and not box.locator("input").is_checked():
                box.locator("input").check()
        classes = page.eval_on_selector_all(
            "path.mr-det", "nodes => nodes.map(n => n.getAttribute('class'))"
        )
        drawn = [re.search(r"mr-det-id-([0-9a-f]+)", c).group(1) for c in classes]
        assert sorted(drawn) == sorted(stored)

        # A click inside the largest detection opens its popup.
        target = max(stored.values(), key=lambda d: d.area_m2)
        inside = shapely.Point(target.geometry.representative_point())
        page.evaluate(
            "([s, w, n, e]) => MonitorReport.current.map.fitBounds([[s, w], [n, e]], "
            "{maxZoom: 18, animate: false})",
            [
                target.geometry.bounds[1],
                target.geometry.bounds[0],
                target.geometry.bounds[3],
                target.geometry.bounds[2],
            ],
        )
        point = page.evaluate(
            "([lat, lon]) => { const p = MonitorReport.current.map"
            ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
            [inside.y, inside.x],
        )
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + point[0], box["y"] + point[1])
        popup = page.locator(".leaflet-popup .mr-popup")
        popup.wait_for()
        assert popup.get_attribute("data-detection") == target.id
        text = popup.inner_text()
        assert target.window_start.isoformat() in text and f"{target.n_pixels} pixels" in text
        assert popup.locator(".mr-thumbs img").count() == 2
        assert popup.locator("svg.mr-chart").count() == 1
        watched.shot(screenshots, "east-popup")
        page.keyboard.press("Escape")
        page.evaluate("MonitorReport.current.map.closePopup()")

        # The slider changes the image and the date.
        frame_img = "MonitorReport.current.overlays.frame.getElement().src"
        before_src = page.evaluate(frame_img)
        before_date = page.inner_text("#mr-frame-date")
        page.locator("#mr-slider").fill("0")
        assert page.evaluate(frame_img) != before_src
        assert page.inner_text("#mr-frame-date") != before_date
        assert (
            page.inner_text("#mr-frame-date")
            .strip()
            .startswith(_page_data(page_path)["frames"][0]["date"])
        )
        page.check("#mr-colour-false")
        assert page.evaluate(frame_img) == _page_data(page_path)["frames"][0]["false"]
        page.check("#mr-colour-true")

        # The comparison's divider follows the mouse, and the clips follow the divider.
        page.check("#mr-mode-compare")
        handle = page.locator("#mr-divider-handle")
        start = handle.bounding_box()
        clip = "MonitorReport.current.map.getPane('mr-after').style.clip"
        clip_before = page.evaluate(clip)
        page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
        page.mouse.down()
        page.mouse.move(start["x"] - 200, start["y"] + start["height"] / 2, steps=5)
        page.mouse.up()
        moved = handle.bounding_box()
        assert moved["x"] == pytest.approx(start["x"] - 200 - start["width"] / 2, abs=4)
        assert page.evaluate(clip) != clip_before
        assert page.evaluate("MonitorReport.current.state.divider") < 0.5
        watched.shot(screenshots, "east-compare")
        watched.clean()
    finally:
        watched.close()


def test_index_in_a_browser(
    east_reference: RunState,
    browser: Any,  # noqa: F811
    screenshots: Path,
) -> None:  # noqa: F811
    watched = open_page(browser, east_reference.reports / "index.html")
    try:
        link = watched.page.locator("#mr-aois a")
        assert link.get_attribute("href") == PAGE
        assert link.inner_text() == "East <test>"
        watched.shot(screenshots, "east-index")
        watched.clean()
    finally:
        watched.close()


def test_monitor_report_reads_missing_chips_again_without_growing_the_state(
    east_reference: RunState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = link_tree(east_reference.state, tmp_path / "state")
    # Chips gone from the cache (the demo drops all of them): the first months' frames.
    frames = [f["scene"] for f in _page_data(east_reference.reports / PAGE)["frames"]]
    for scene_id in frames[:4]:
        for chip in (state / "chips").rglob(f"{scene_id}.*"):
            chip.unlink()
    cached = sorted((state / "chips").rglob("*"))
    reports = tmp_path / "reports"
    capsys.readouterr()
    assert run_cli(["report", "--state-dir", state, "--reports-dir", reports]) == 0
    captured = capsys.readouterr()
    assert f"{reports / PAGE}" in captured.out and f"{reports / 'index.html'}" in captured.out
    assert "4 chip(s) not in the cache were read again" in captured.out + captured.err
    assert sorted((state / "chips").rglob("*")) == cached, "a report never writes the cache"
    fresh, reference = _page_data(reports / PAGE), _page_data(east_reference.reports / PAGE)
    assert set(fresh["detections"]) == set(reference["detections"])
    assert [f["scene"] for f in fresh["frames"]] == [f["scene"] for f in reference["frames"]]


def test_a_run_rewrites_reports_only_when_owed_or_missing(
    east_archive: SimArchive,
    east_reference: RunState,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = link_tree(east_reference.state, tmp_path / "state")
    reports = tmp_path / "reports"
    shutil.copytree(east_reference.reports, reports)
    page = reports / PAGE
    stamp = page.stat().st_mtime_ns
    argv = [
        "run",
        "--stac",
        east_archive.sim,
        "--aoi",
        east_archive.aoi_files["east-test"],
        "--state-dir",
        state,
        "--reports-dir",
        reports,
        "--since",
        FULL_PERIOD[0],
        "--until",
        FULL_PERIOD[1],
    ]
    capsys.readouterr()
    assert run_cli(argv) == 0
    assert "nothing new" in capsys.readouterr().out
    assert page.stat().st_mtime_ns == stamp, "nothing owed: the page is left as it is"
    (reports / "index.html").unlink()
    assert run_cli(argv) == 0
    assert "HTML reports:" in capsys.readouterr().out
    assert (reports / "index.html").is_file() and page.stat().st_mtime_ns != stamp


def test_monitor_report_without_a_state_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run_cli(["report", "--state-dir", tmp_path / "none", "--reports-dir", tmp_path / "reports"])
        == 1
    )
    err = capsys.readouterr().err
    assert "no state here" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none").exists() and not (tmp_path / "reports").exists()


@pytest.mark.skipif(
    not os.environ.get("MONITOR_REPORT_FIGURES"),
    reason="figures for docs/reports.md: set MONITOR_REPORT_FIGURES=DIR (a demo's reports folder)",
)
def test_figures_of_a_demo_page(browser: Any) -> None:  # noqa: F811
    """Size and load time of a demo page (printed; the goals are < 10 MB and < 3 s)."""
    folder = Path(os.environ["MONITOR_REPORT_FIGURES"])
    for name in ("kk-park.html", "index.html"):
        path = folder / name
        started = time.monotonic()
        watched = open_page(browser, path)
        try:
            watched.page.wait_for_function("window.MonitorReport && MonitorReport.current")
            seconds = time.monotonic() - started
            print(f"{name}: {path.stat().st_size / 1e6:.2f} MB, loaded in {seconds:.2f} s")
            watched.clean()
        finally:
            watched.close()


def test_the_page_shows_the_timeline_claims_and_reviews(
    east_archive: SimArchive, east_reference: RunState, tmp_path: Path
) -> None:
    assert 'id="timeline">Built-up timeline' in (east_reference.reports / PAGE).read_text()
    # A copy, not hard links: the claim and the review write the database.
    state = Path(shutil.copytree(east_reference.state, tmp_path / "state"))
    reports = tmp_path / "reports"
    [reviewed] = [d for d in _stored(state) if d.status == "confirmed"][:1]
    aoi = ["--aoi", east_archive.aoi_files["east-test"]]
    assert (
        run_cli(
            [
                "claim",
                "--state-dir",
                state,
                *aoi,
                "--demolished",
                "631",
                "--total",
                "635",
                "--by",
                "2026-01-28",
            ]
        )
        == 0
    )
    assert (
        run_cli(
            [
                "review",
                "--state-dir",
                state,
                "--id",
                reviewed.id,
                "--verdict",
                "false_alarm",
                "--note",
                "<script>alert(1)</script> shadow",
            ]
        )
        == 0
    )
    with Store.open(state, create=False) as store:  # owed: this AOI's page, not every page
        assert store.pending(reports_step("east-test")) and not store.pending(REPORTS_STEP)
    assert run_cli(["report", "--state-dir", state, "--reports-dir", reports, *aoi]) == 0
    html = (reports / PAGE).read_text()
    assert "631 of 635" in html and "inconsistent" in html
    assert "<script>alert(1)</script>" not in html
    review = _page_data(reports / PAGE)["detections"][reviewed.id]
    assert "false_alarm" in json.dumps(review) or "false alarm" in json.dumps(review)
