"""Typing from spectra, chains, ids, stated limits, confidence."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from monitor.detect import confidence, detection_id, stated_limits_note, type_changes
from monitor.detect.classify import chain_types
from monitor.detect.limits import size_at_probability

FOREST = (0.025, 0.05, 0.03, 0.31, 0.16, 0.07)
SOIL = (0.085, 0.115, 0.165, 0.245, 0.33, 0.275)
BLUE_ROOF = (0.17, 0.14, 0.08, 0.16, 0.12, 0.09)
WHITE_ROOF = (0.45, 0.47, 0.48, 0.50, 0.42, 0.35)
RUBBLE = (0.15, 0.16, 0.18, 0.21, 0.27, 0.24)
WATER = (0.05, 0.07, 0.07, 0.04, 0.015, 0.01)


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        (FOREST, BLUE_ROOF, 1),  # coated steel: NDBI falls, still construction
        (FOREST, WHITE_ROOF, 1),
        (SOIL, BLUE_ROOF, 1),
        (BLUE_ROOF, RUBBLE, 2),
        (BLUE_ROOF, WHITE_ROOF, 4),
        (FOREST, SOIL, 5),
        (SOIL, FOREST, 0),  # regrowth is not reported
        (SOIL, WATER, 0),  # a swollen river is not a change we report
        (WATER, SOIL, 0),
    ],
)
def test_type_changes(before: tuple[float, ...], after: tuple[float, ...], code: int) -> None:
    assert int(type_changes(np.array([before]), np.array([after]))[0]) == code


def test_half_a_pixel_of_new_roof_in_a_garden_is_still_construction() -> None:
    mixed = 0.5 * np.array(FOREST) + 0.5 * np.array(BLUE_ROOF)
    assert int(type_changes(np.array([FOREST]), mixed[None])[0]) == 1


def test_seasonal_history_means_vegetation_went() -> None:
    dry_scrub = (0.065, 0.09, 0.12, 0.21, 0.31, 0.23)
    assert int(type_changes(np.array([dry_scrub]), np.array([RUBBLE]), np.array([True]))[0]) == 5


def test_chains() -> None:
    first = np.array([5, 2, 1, 4], dtype=np.uint8)
    second = np.array([1, 1, 2, 4], dtype=np.uint8)
    assert chain_types(first, second).tolist() == [1, 3, 0, 4]


def test_ids_are_stable_and_depend_on_content() -> None:
    a = detection_id("kk-park", dt.date(2025, 3, 4), 412345.0, 1855675.0)
    assert a == detection_id("kk-park", dt.date(2025, 3, 4), 412345.2, 1855674.9)
    assert a != detection_id("kk-park", dt.date(2025, 3, 5), 412345.0, 1855675.0)
    assert a != detection_id("kk-park", dt.date(2025, 3, 4), 412345.0, 1855675.0, kind="cmp")
    assert len(a) == 16


def test_size_at_probability_and_note() -> None:
    areas = np.repeat([100.0, 300.0, 600.0, 1200.0, 2500.0], 20)
    rng = np.random.default_rng(0)
    truth_p = {100.0: 0.05, 300.0: 0.2, 600.0: 0.5, 1200.0: 0.85, 2500.0: 0.98}
    found = np.array([rng.random() < truth_p[a] for a in areas])
    p50 = size_at_probability(areas, found, 0.5)
    assert 400 < p50 < 900 and size_at_probability(areas, found, 0.9) > p50
    assert "Starlink" in stated_limits_note()


def test_confidence_grows_with_evidence() -> None:
    weak = confidence(5.5, 4, 3, False)
    strong = confidence(12.0, 40, 10, True)
    assert 0.0 < weak < strong < 1.0


def test_a_change_first_seen_in_the_monsoon_is_less_certain() -> None:
    from monitor.detect.confidence import DEFAULT_CONFIDENCE

    assert DEFAULT_CONFIDENCE.wet < 0  # fitted: monsoon detections are more often false
    dry = confidence(5.0, 10, 6, True, first_seen=dt.date(2025, 1, 15))
    wet = confidence(5.0, 10, 6, True, first_seen=dt.date(2025, 7, 15))
    assert wet < dry
    # Without a date (before/after mode) the term is left out.
    assert confidence(5.0, 10, 6, True) == dry


GARDEN = np.array((0.035, 0.070, 0.050, 0.285, 0.200, 0.100))
GREY_ROOF = (0.175, 0.185, 0.195, 0.225, 0.235, 0.205)
DAMP_SOIL = (0.068, 0.092, 0.130, 0.200, 0.265, 0.215)


@pytest.mark.parametrize("roof", [BLUE_ROOF, WHITE_ROOF, GREY_ROOF])
@pytest.mark.parametrize("share", [1.0, 0.6])
def test_a_roof_torn_down_in_a_garden_is_demolition(roof: tuple[float, ...], share: float) -> None:
    # Only the roof's share of the pixel changes: rubble, or soil darkened by rain, where
    # the roof was. The pair that swapped types it, not the pixel's whole spectrum.
    for ground in (RUBBLE, DAMP_SOIL, SOIL):
        before = share * np.array(roof) + (1 - share) * GARDEN
        after = share * np.array(ground) + (1 - share) * GARDEN
        assert int(type_changes(before[None], after[None])[0]) == 2, ground


def test_one_roof_replaced_by_another_in_a_garden_is_roof_change() -> None:
    before = 0.6 * np.array(BLUE_ROOF) + 0.4 * GARDEN
    after = 0.6 * np.array(WHITE_ROOF) + 0.4 * GARDEN
    assert int(type_changes(before[None], after[None])[0]) == 4


def test_swap_reports_the_share_that_changed() -> None:
    from monitor.detect.classify import Material, swap

    before = 0.5 * np.array(FOREST) + 0.5 * GARDEN
    after = 0.5 * np.array(FOREST) + 0.5 * np.array(WHITE_ROOF)
    appeared, went, share = swap(before[None], after[None])
    assert appeared[0] == Material.BRIGHT_METAL
    assert went[0] == Material.GREEN_VEGETATION
    assert share[0] == pytest.approx(0.5, abs=0.1)
