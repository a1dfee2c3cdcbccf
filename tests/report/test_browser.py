"""The synthetic page in a real browser: outside markup stays text, nothing is fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.report import write_aoi_page, write_index_page
from tests.report.browser import browser, open_page, screenshots  # noqa: F401 (fixtures)
from tests.report.synthetic import EVIL_HREF, EVIL_ID, EVIL_NAME, LIMITS, Synthetic, build


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synthetic, Path, Path]:
    synthetic = build()
    folder = tmp_path_factory.mktemp("synthetic-reports")
    page = write_aoi_page(synthetic.report, folder)
    index = write_index_page(
        [page.summary], folder, generated_at=synthetic.report.generated_at, limits_note=LIMITS.note
    )
    return synthetic, page.page, index


def test_injected_markup_shows_as_text(
    browser,
    screenshots,  # noqa: F811
    written: tuple[Synthetic, Path, Path],
) -> None:
    synthetic, page_path, _ = written
    watched = open_page(browser, page_path)
    page = watched.page
    try:
        assert page.title().startswith(EVIL_NAME)
        assert page.inner_text("h1") == EVIL_NAME
        # The popup whose evidence names the markup item, opened from the table.
        page.click(f"[data-show-detection='{synthetic.construction.id}']")
        popup = page.locator(f".mr-popup[data-detection='{synthetic.construction.id}']")
        popup.wait_for()
        text = popup.inner_text()
        assert EVIL_ID in text and EVIL_HREF in text
        assert page.locator("img[src='x'], img[src='y']").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        # folium's switches, Leaflet, our script and the map's: no injected script element.
        assert page.evaluate("document.querySelectorAll('script').length") == 4
        assert page.evaluate("Array.from(document.scripts).filter(s => s.src).length") == 0
        watched.shot(screenshots, "synthetic-popup")
        watched.clean()
    finally:
        watched.close()


def test_index_links_the_page_and_escapes_names(
    browser,
    screenshots,  # noqa: F811
    written: tuple[Synthetic, Path, Path],
) -> None:
    synthetic, page_path, index = written
    watched = open_page(browser, index)
    page = watched.page
    try:
        link = page.locator("#mr-aois a")
        assert link.inner_text() == EVIL_NAME
        assert link.get_attribute("href") == page_path.name
        assert page.locator(".mr-aoi-label").first.inner_text() == EVIL_NAME
        watched.shot(screenshots, "synthetic-index")
        watched.clean()
        link.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(page_path.name)
    finally:
        watched.close()


def test_a_page_without_imagery_or_detections_works(browser, tmp_path: Path) -> None:  # noqa: F811
    import dataclasses

    report = dataclasses.replace(
        build(simulated=False).report, frames=(), detections=(), evidence={}, observations=()
    )
    page = write_aoi_page(report, tmp_path)
    assert page.timelapse is None
    watched = open_page(browser, page.page)
    try:
        assert watched.page.locator(".mr-legend").count() == 1
        assert watched.page.locator("#mr-panel").count() == 0, "no imagery, no panel"
        assert "No detection so far." in watched.page.inner_text("#detections")
        watched.clean()
    finally:
        watched.close()
