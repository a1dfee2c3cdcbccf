"""The evidence collector and the pictures it makes, on arrays built in code."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from monitor.models import CHIP_BANDS
from monitor.report import EvidenceCollector, composite, index_images
from monitor.report.imaging import FALSE_COLOUR, TRUE_COLOUR, mask_outline_path
from tests.report.synthetic import CHANGE_DAY, GRASS, ROOF, SOIL, Synthetic, build, encode


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    return build()


def test_indices_match_their_formulas() -> None:
    cube = np.empty((len(CHIP_BANDS), 2, 2), dtype=np.uint16)
    cube[:] = encode(GRASS)[:, None, None]
    cube[:, 1, 1] = 0  # no data
    images = index_images(cube, CHIP_BANDS)
    blue, green, red, nir, swir16, _ = GRASS
    assert images["ndvi"][0, 0] == pytest.approx((nir - red) / (nir + red), abs=1e-3)
    assert images["ndbi"][0, 0] == pytest.approx((swir16 - nir) / (swir16 + nir), abs=1e-3)
    assert images["brightness"][0, 0] == pytest.approx((blue + green + red) / 3, abs=1e-3)
    assert all(np.isnan(image[1, 1]) for image in images.values())


def test_composite_colours_and_no_data() -> None:
    cube = np.empty((len(CHIP_BANDS), 1, 3), dtype=np.uint16)
    cube[:, 0, 0] = encode(GRASS)
    cube[:, 0, 1] = encode(ROOF)
    cube[:, 0, 2] = 0
    rgb = composite(cube, CHIP_BANDS, TRUE_COLOUR)
    false = composite(cube, CHIP_BANDS, FALSE_COLOUR)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 4)
    assert rgb[0, 0, 1] > rgb[0, 0, 0] and rgb[0, 0, 1] > rgb[0, 0, 2], "grass is green"
    assert rgb[0, 1, :3].min() > rgb[0, 0, :3].min(), "a roof is brighter than grass"
    assert false[0, 0, 1] > false[0, 0, 0], "vegetation is green in SWIR false colour"
    assert false[0, 1, 0] > false[0, 0, 0], "roofs are redder than grass in false colour"
    assert list(rgb[0, :, 3]) == [255, 255, 0], "no data is transparent"
    # Without SWIR2, SWIR1 stands in; without SWIR at all, a clear error.
    assert composite(cube[:5], CHIP_BANDS[:5], FALSE_COLOUR).shape == (1, 3, 4)
    with pytest.raises(ValueError, match="no swir16"):
        composite(cube[:4], CHIP_BANDS[:4], FALSE_COLOUR)


def test_a_chip_without_swir_still_makes_a_frame() -> None:
    shape = (3, 3)
    cube = np.empty((4, *shape), dtype=np.uint16)
    cube[:] = encode(GRASS[:4])[:, None, None]
    collector = EvidenceCollector(shape, [], {}, {"a"})
    collector.add(dt.date(2025, 1, 1), "a", cube, np.ones(shape, bool), CHIP_BANDS[:4])
    [frame] = collector.frames
    assert frame.false_colour.shape == (*shape, 4) and (frame.false_colour[..., 3] == 255).all()


def test_frames_are_the_scenes_asked_for(synthetic: Synthetic) -> None:
    frames = synthetic.report.frames
    assert [f.scene_id for f in frames] == list(synthetic.frame_ids)
    grid = synthetic.aoi.grid
    for frame in frames:
        assert frame.true_colour.shape == (*grid.shape, 4)
        assert (frame.true_colour[:, :2, 3] == 0).all(), "the no-data strip is transparent"
        assert (frame.true_colour[:, 2:, 3] == 255).all()


def test_series_follow_the_detection_pixels(synthetic: Synthetic) -> None:
    evidence = synthetic.report.evidence[synthetic.demolition.id]
    series = evidence.series
    assert list(series.dates) == sorted(series.dates)
    assert len(series.dates) == len(synthetic.used_ids)
    ndvi = dict(zip(series.dates, series.values["ndvi"], strict=True))
    roof = (ROOF[3] - ROOF[2]) / (ROOF[3] + ROOF[2])
    soil = (SOIL[3] - SOIL[2]) / (SOIL[3] + SOIL[2])
    assert ndvi[dt.date(2025, 1, 6)] == pytest.approx(roof, abs=2e-3)
    assert ndvi[dt.date(2025, 8, 21)] == pytest.approx(soil, abs=2e-3)
    # The roofs were under cloud on 21 March: no value, marked not clear.
    cloudy = dict(zip(series.dates, series.clear, strict=True))
    assert cloudy[dt.date(2025, 3, 21)] is False and ndvi[dt.date(2025, 3, 21)] is None
    assert sum(1 for ok in series.clear if not ok) == 1
    assert series.cloudy_dates == (dt.date(2025, 6, 21), dt.date(2025, 7, 21))


def test_thumbnails_bracket_the_change_window(synthetic: Synthetic) -> None:
    det = synthetic.demolition
    evidence = synthetic.report.evidence[det.id]
    assert evidence.before is not None and evidence.after is not None
    assert evidence.before.date == det.window_start < CHANGE_DAY
    assert evidence.after.date == det.window_end > CHANGE_DAY
    assert evidence.before.rgb.shape[:2] == evidence.before.mask.shape
    assert evidence.before.mask.sum() == det.n_pixels
    assert min(evidence.before.mask.shape) >= 28
    # Roof before, soil after: the crops differ inside the outline.
    inside = evidence.before.mask
    assert not np.array_equal(evidence.before.rgb[inside], evidence.after.rgb[inside])


def test_a_detection_without_pixels_is_left_out() -> None:
    shape = (4, 4)
    synthetic = build()
    collector = EvidenceCollector(
        shape, [synthetic.demolition], {synthetic.demolition.id: np.zeros(shape, bool)}, set()
    )
    collector.add(
        dt.date(2025, 1, 1), "a", np.ones((6, *shape), np.uint16), np.ones(shape, bool), CHIP_BANDS
    )
    assert collector.evidence() == {}
    with pytest.raises(ValueError, match="shape"):
        collector.add(
            dt.date(2025, 1, 2),
            "b",
            np.ones((6, 3, 3), np.uint16),
            np.ones((3, 3), bool),
            CHIP_BANDS,
        )


def test_outline_follows_pixel_edges() -> None:
    mask = np.zeros((5, 5), bool)
    mask[1:3, 1:4] = True
    mask[3, 1] = True
    path = mask_outline_path(mask)
    # Total edge length: the perimeter of the shape in pixel edges.
    import re

    length = sum(abs(int(b) - int(a)) for a, b in re.findall(r"M(?:\d+) (\d+)V(\d+)", path)) + sum(
        abs(int(b) - int(a)) for a, b in re.findall(r"M(\d+) \d+H(\d+)", path)
    )
    assert length == 12
    assert mask_outline_path(np.zeros((3, 3), bool)) == ""


def test_masks_made_one_at_a_time_give_the_same_evidence(synthetic: Synthetic) -> None:
    """The job hands the collector a function (one full-grid mask in memory at a time)."""
    lazy = build(masks_as_function=True).report.evidence
    held = synthetic.report.evidence
    assert set(lazy) == set(held) and len(held) == 2
    for det_id, evidence in held.items():
        other = lazy[det_id]
        assert other.series == evidence.series
        for mine, theirs in ((other.before, evidence.before), (other.after, evidence.after)):
            assert mine is not None and theirs is not None
            assert (mine.date, mine.scene_id) == (theirs.date, theirs.scene_id)
            assert np.array_equal(mine.rgb, theirs.rgb) and np.array_equal(mine.mask, theirs.mask)
