"""The pages without a browser: what the script is given, and what the HTML holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pytest
from lxml import html as lxml_html

from monitor.models import Review
from monitor.report import (
    AoiSummary,
    MercatorWarp,
    default_pair,
    page_data,
    render_aoi_page,
    write_aoi_page,
    write_index_page,
)
from monitor.report.records import months_without_clear_view
from tests.report.synthetic import EVIL_HREF, EVIL_ID, EVIL_NAME, LIMITS, Synthetic, build


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    return build()


@pytest.fixture(scope="module")
def page_html(synthetic: Synthetic) -> str:
    return render_aoi_page(synthetic.report, timelapse="synth-aoi-timelapse.webp")


def _words(node: object) -> str:
    """The text of an element, its pieces joined by single spaces."""
    return " ".join(" ".join(node.itertext()).split())  # type: ignore[attr-defined]


def _script_data(html: str) -> dict:
    """The JSON object the page hands ``MonitorReport.initAoi``."""
    match = re.search(r"MonitorReport\.initAoi\(map_[0-9a-f]+, (\{.*?\}), \{", html, re.S)
    assert match, "no initAoi call"
    return json.loads(match.group(1))


def test_page_data_has_one_frame_per_clear_month_oldest_first(synthetic: Synthetic) -> None:
    report = synthetic.report
    warp = MercatorWarp.of(synthetic.aoi.grid)
    data = page_data(report, warp, "map_x")
    months = [f["month"] for f in data["frames"]]
    assert months == sorted(set(months)), "one frame per month, in order"
    assert [f["scene"] for f in data["frames"]] == list(synthetic.frame_ids)
    for frame in data["frames"]:
        assert frame["true"].startswith("data:image/webp;base64,")
        assert frame["false"].startswith("data:image/webp;base64,")
        assert frame["true"] != frame["false"]
    (south, west), (north, east) = data["image_bounds"]
    minx, miny, maxx, maxy = synthetic.aoi.geometry.bounds
    assert south <= miny and west <= minx and north >= maxy and east >= maxx
    assert set(data["detections"]) == {d.id for d in report.detections}
    assert data["simulated"] is True


def test_comparison_opens_before_the_first_confirmed_change_and_on_the_latest(
    synthetic: Synthetic,
) -> None:
    frames = synthetic.report.frames
    before, after = default_pair(frames, synthetic.report.detections)
    assert after == len(frames) - 1
    assert frames[before].date <= synthetic.demolition.window_start
    assert all(f.date > synthetic.demolition.window_start for f in frames[before + 1 :])
    # Without a confirmed detection: the first and the latest month.
    probable_only = [d for d in synthetic.report.detections if d.status != "confirmed"]
    assert default_pair(frames, probable_only) == (0, len(frames) - 1)
    assert default_pair(frames[:1], synthetic.report.detections) == (0, 0)
    assert default_pair((), ()) == (0, 0)
    # A latest month that is mostly cloud: the latest mostly clear one opens instead.
    cloudy_end = (*frames[:-1], dataclasses.replace(frames[-1], clear_fraction=0.2))
    assert default_pair(cloudy_end, probable_only) == (0, len(frames) - 2)
    all_cloudy = tuple(dataclasses.replace(f, clear_fraction=0.2) for f in frames)
    assert default_pair(all_cloudy, probable_only) == (0, len(frames) - 1)


def test_the_page_loads_nothing_from_outside(page_html: str) -> None:
    doc = lxml_html.fromstring(page_html)
    assert not doc.xpath("//script[@src]"), "no external script"
    assert not doc.xpath("//link"), "no stylesheet link"
    for node in doc.xpath("//*[@src]"):
        assert node.get("src").startswith("data:"), node.get("src")[:60]
    # The only remote URL in the page's code is the optional basemap's tile template.
    assert "cdn." not in page_html and "cdnjs" not in page_html
    assert "{s}.tile.openstreetmap.org" in page_html or "tile.openstreetmap.org" in page_html


def test_markup_from_outside_is_text(page_html: str, synthetic: Synthetic) -> None:
    doc = lxml_html.fromstring(page_html)
    # No element that an outside string could have made.
    assert not doc.xpath("//img[@src='x' or @src='y']")
    assert not doc.xpath("//script[contains(., \"alert('name')\")]")
    assert doc.xpath("string(//title)").startswith(EVIL_NAME)
    assert doc.xpath("string(//h1)") == EVIL_NAME
    assert "<img src=y onerror=alert('desc')> a test outline" in doc.text_content()
    assert not doc.xpath(
        "//a[starts-with(translate(@href, 'JAVSCRIPT', 'javscript'), 'javascript')]"
    )
    # Popups are HTML strings in the script's data: escaped there too.
    data = _script_data(page_html)
    popup = data["detections"][synthetic.construction.id]["popup"]
    fragment = lxml_html.fragment_fromstring(popup, create_parent="div")
    assert EVIL_ID in fragment.text_content()
    assert not fragment.xpath(".//img[@src='x']")
    assert not fragment.xpath(".//a[contains(@href, 'javascript')]")
    assert EVIL_HREF in fragment.text_content(), "a non-http href is shown as text"
    # A local item: its id and path as text, not a link; so this popup links nothing.
    assert "/data/archive/items/local item.json" in fragment.text_content()
    assert not fragment.xpath(".//a")
    demolition = lxml_html.fragment_fromstring(
        data["detections"][synthetic.demolition.id]["popup"], create_parent="div"
    )
    hrefs = [a.get("href") for a in demolition.xpath(".//a")]
    assert hrefs == [f"https://example.org/items/{synthetic.demolition.evidence_before[0]}"]


def test_popup_says_what_the_issue_asks(synthetic: Synthetic, page_html: str) -> None:
    det = synthetic.demolition
    popup = _script_data(page_html)["detections"][det.id]["popup"]
    fragment = lxml_html.fragment_fromstring(popup, create_parent="div")
    words = _words(fragment)
    for expected in (
        "Demolition",
        "confirmed",
        f"{det.window_start} → {det.window_end}",
        f"First seen {det.first_seen}",
        f"Confirmed on {det.confirmed_on}",
        "4,200 m² (42 pixels of 10 m)",
        "Confidence 0.93",
        f"Before: {det.window_start}",
        f"After: {det.window_end}",
        "Evidence scenes",
        "SIMULATED",
    ):
        assert expected in words, expected
    thumbs = fragment.xpath(".//div[@class='mr-thumbs']//img")
    assert len(thumbs) == 2 and all(t.get("src").startswith("data:image/webp") for t in thumbs)
    svg = fragment.xpath(".//*[local-name()='svg' and @class='mr-chart']")
    assert len(svg) == 1
    assert svg[0].xpath(".//*[@class='mr-clear']"), "clear views are marked"
    assert svg[0].xpath(".//*[@class='mr-cloudy']"), "a cloudy view of the pixels is marked"
    assert svg[0].xpath(".//*[@class='mr-skipped']"), "skipped cloudy scenes are marked"
    assert "mr-review" not in popup, "no review badge without a review"
    assert f"monitor review --id {det.id} --verdict" in words, "how to record a verdict"


def test_review_badge_and_note_are_shown_escaped() -> None:
    review = Review(
        detection_id="aaaa000000000001",
        verdict="false_alarm",
        reviewer="ana <x>",
        reviewed_at=dt.datetime(2025, 9, 2, tzinfo=dt.UTC),
        note="<b>cloud shadow</b>, see Planet",
        source="javascript:alert(2)",
    )
    synthetic = build(review=review)
    html = render_aoi_page(synthetic.report)
    popup = _script_data(html)["detections"]["aaaa000000000001"]["popup"]
    fragment = lxml_html.fragment_fromstring(popup, create_parent="div")
    assert fragment.xpath(".//span[contains(@class, 'mr-review-false_alarm')]")
    text = fragment.text_content()
    assert "<b>cloud shadow</b>, see Planet" in text and "ana <x>" in text
    assert not fragment.xpath(".//b[.='cloud shadow']")
    assert not fragment.xpath(".//a[contains(@href, 'javascript')]")
    table = lxml_html.fromstring(html).xpath("//tr[@data-detection='aaaa000000000001']")[0]
    assert "false alarm" in table.text_content()


def test_limits_and_gaps_are_on_the_page(page_html: str, synthetic: Synthetic) -> None:
    doc = lxml_html.fromstring(page_html)
    limits = _words(doc.xpath("//section[@id='limits']")[0])
    assert "1,400 m²" in limits and "3,600 m²" in limits
    assert "Starlink" in limits
    assert "2025-06-06 → 2025-07-06 (30 days)" in limits
    assert "97.0%" in limits
    assert "not enough clear observations to model 3.0 % of the AOI" in limits


def test_simulated_banner_only_for_simulated_data() -> None:
    simulated = lxml_html.fromstring(render_aoi_page(build(simulated=True).report))
    assert "SIMULATED DATA" in simulated.xpath("string(//div[@id='mr-simulated'])")
    real = render_aoi_page(build(simulated=False).report)
    assert 'id="mr-simulated"' not in real and "SIMULATED" not in real


def test_extra_sections_are_placed_as_given() -> None:
    fragment = '<h2>Built-up timeline</h2><svg class="built-up"></svg>'
    doc = lxml_html.fromstring(render_aoi_page(build(extra_sections=(fragment,)).report))
    section = doc.xpath("//section[@id='more']")
    assert len(section) == 1
    assert section[0].xpath(".//*[local-name()='svg' and @class='built-up']")
    assert not lxml_html.fromstring(render_aoi_page(build().report)).xpath("//section[@id='more']")


def test_months_without_a_clear_view(synthetic: Synthetic) -> None:
    observations = list(synthetic.report.observations)
    assert months_without_clear_view(observations) == []
    june = [
        dataclasses.replace(o, status="skipped") if o.datetime.month == 6 else o
        for o in observations
    ]
    assert months_without_clear_view(june) == ["2025-06"]


def test_written_files_and_index(tmp_path: Path, synthetic: Synthetic) -> None:
    page = write_aoi_page(synthetic.report, tmp_path)
    assert page.page == tmp_path / "synth-aoi.html"
    assert page.timelapse == tmp_path / "synth-aoi-timelapse.webp"
    assert page.page.stat().st_size == page.page_bytes
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left"
    # The page's data goes in after the template is rendered: whole, once, in its place.
    html = page.page.read_text()
    assert "__monitor_page_data_" not in html
    expected = page_data(synthetic.report, MercatorWarp.of(synthetic.aoi.grid), "map")
    assert {k: v for k, v in _script_data(html).items() if k != "map_id"} == {
        k: v for k, v in json.loads(json.dumps(expected)).items() if k != "map_id"
    }
    from PIL import Image

    with Image.open(page.timelapse) as anim:
        assert anim.n_frames == len(synthetic.report.frames)
    other = AoiSummary.from_records(
        dataclasses.replace(synthetic.aoi, id="other", name="Other <i>place</i>"),
        [],
        [],
        {},
        page=None,
        simulated=False,
    )
    index = write_index_page(
        [page.summary, other],
        tmp_path,
        generated_at=dt.datetime(2025, 9, 1, tzinfo=dt.UTC),
        limits_note=LIMITS.note,
    )
    doc = lxml_html.fromstring(index.read_text())
    rows = doc.xpath("//table[@id='mr-aois']//tr[@data-aoi]")
    assert [r.get("data-aoi") for r in rows] == ["synth-aoi", "other"]
    first = _words(rows[0])
    assert "2025-08-21" in first and "1 confirmed" in first and "1 probable" in first
    assert "2025-06-06 → 2025-07-06" in first
    assert rows[0].xpath(".//a/@href") == ["synth-aoi.html"]
    assert not rows[1].xpath(".//a"), "an AOI without a page is not linked"
    assert "Other <i>place</i>" in rows[1].text_content()
    assert "SIMULATED DATA" in doc.xpath("string(//div[@id='mr-simulated'])")
    assert "Starlink" in doc.text_content()
    # The latest frame, left beside the page, is on the overview map (inline).
    assert page.summary.latest_frame == synthetic.report.frames[-1].date
    latest = (tmp_path / "synth-aoi-latest.webp").read_bytes()
    data = json.loads(
        re.search(
            r"MonitorReport\.initIndex\(map_[0-9a-f]+, (\{.*?\}), ", index.read_text(), re.S
        ).group(1)
    )
    import base64

    assert base64.b64decode(data["aois"][0]["image"].split(",", 1)[1]) == latest
    assert data["aois"][1]["image"] is None


def test_overlay_warp_keeps_pixels_in_place(synthetic: Synthetic) -> None:
    grid = synthetic.aoi.grid
    warp = MercatorWarp.of(grid)
    image = np.zeros((*grid.shape, 4), dtype=np.uint8)
    image[..., 3] = 255
    image[0, 0, 0] = 255  # the north-west pixel
    out = warp.apply(image)
    assert out.shape[:2] == warp.shape
    # About the grid's pixel count, and the marked pixel near the north-west corner.
    assert abs(warp.shape[0] - grid.height) <= 2 and abs(warp.shape[1] - grid.width) <= 2
    rows, cols = np.nonzero(out[..., 0] == 255)
    assert rows.size and rows.max() <= 2 and cols.max() <= 2
    assert (out[..., 3] == 0).any() or (out[..., 3] == 255).all()


def test_rejected_popups_keep_the_chart_not_the_thumbnails(synthetic: Synthetic) -> None:
    import dataclasses

    from monitor.report.popup import detection_popup

    det = synthetic.demolition
    evidence = synthetic.report.evidence[det.id]
    kept = detection_popup(det, evidence, synthetic.report.scene_links)
    rejected = detection_popup(
        dataclasses.replace(det, status="rejected"), evidence, synthetic.report.scene_links
    )
    assert "mr-thumbs" in kept and "mr-thumbs" not in rejected
    assert '<svg class="mr-chart"' in rejected and "date slider" in rejected
    assert len(rejected) < len(kept)


def test_writing_a_page_removes_what_a_killed_report_left(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    """Stale temporaries of report files go; an export's, and a running writer's, stay."""
    import os
    import time

    from monitor.atomic import STALE_AFTER_S

    old = time.time() - STALE_AFTER_S - 60
    left = {
        name: tmp_path / name
        for name in (
            ".synth-aoi.html.4242.0a1b2c3d.tmp",
            ".synth-aoi-timelapse.webp.4242.tmp",
            ".detections.gpkg.4242.0a1b2c3d.tmp",
        )
    }
    for path in left.values():
        path.write_bytes(b"half")
        os.utime(path, (old, old))
    busy = tmp_path / f".index.html.{os.getpid()}.0a1b2c3d.tmp"
    busy.write_bytes(b"being written")
    write_aoi_page(synthetic.report, tmp_path)
    remaining = {p.name for p in tmp_path.glob(".*.tmp")}
    assert remaining == {".detections.gpkg.4242.0a1b2c3d.tmp", busy.name}
