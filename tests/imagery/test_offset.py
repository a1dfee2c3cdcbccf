"""The offset check on plain arrays."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.imagery.offset import (
    OffsetHistory,
    check_offset,
    dark_level,
    encode_reflectance,
)
from monitor.models import ReflectanceRule

REMOVED = ReflectanceRule(0.0001, 0.0, "metadata", "boa_offset_applied")
KEPT = ReflectanceRule(0.0001, -0.1, "metadata", "baseline 05.11")


def _scene(dark_refl: float, plus: int, water_px: int = 200, shape=(60, 80)):  # type: ignore[no-untyped-def]
    """DN of nir/swir16/swir22 over land at 0.2 with ``water_px`` water pixels at
    ``dark_refl``; ``plus`` is added to every DN (1000 when the offset is in the pixels)."""
    rng = np.random.default_rng(1)
    land = rng.normal(0.2, 0.03, size=shape).clip(0.12, 0.4)
    scl = np.full(shape, 4, np.uint8)
    flat = scl.reshape(-1)
    flat[:water_px] = 6
    refl = np.where(scl == 6, dark_refl, land)
    dn = {
        b: (np.round(refl * 10_000) + plus).astype(np.uint16) for b in ("nir", "swir16", "swir22")
    }
    return dn, scl


@pytest.mark.parametrize(
    "meta, plus, offset, by",
    [
        (REMOVED, 0, 0.0, "metadata"),  # l2a, right
        (KEPT, 1000, -0.1, "metadata"),  # c1, right
        (REMOVED, 1000, -0.1, "pixels"),  # l2a flagged removed, +1000 still in the pixels
        (KEPT, 0, 0.0, "pixels"),  # c1 rule on pixels without offset: subtracted twice
    ],
)
def test_water_dark_level_decides(meta, plus, offset, by):
    dn, scl = _scene(0.01, plus)
    dark = dark_level(dn, np.ones(scl.shape, bool), meta, scl)
    assert dark is not None and dark.source == "water" and dark.n_pixels == 200
    check = check_offset(dark, meta, None)
    assert check.rule.offset == offset and check.rule.decided_by == by
    assert check.dark_level_as_read == pytest.approx(0.01, abs=1e-6)
    if by == "pixels":
        assert meta.label in check.rule.reason and check.rule.label in check.rule.reason


def test_without_water_the_lowest_percentile_is_used():
    dn, scl = _scene(0.01, 1000, water_px=10)  # too little water; land's p1 is ~0.12
    dark = dark_level(dn, np.ones(scl.shape, bool), REMOVED, scl)
    assert dark.source == "percentile" and dark.level > 0.2
    assert check_offset(dark, REMOVED).verdict == "offset_in_pixels"


def test_a_jump_against_earlier_scenes_decides_when_known():
    # A bright AOI: its dark level is 0.05 in every earlier scene. Now 0.05 + 0.1 = 0.15.
    history = OffsetHistory(levels=(0.05, 0.051, 0.049, 0.05))
    dn, scl = _scene(0.05, 1000)
    dark = dark_level(dn, np.ones(scl.shape, bool), REMOVED, scl)
    check = check_offset(dark, REMOVED, history)
    assert check.verdict == "offset_in_pixels" and "earlier scenes" in check.rule.reason
    # The same AOI at its usual level: agrees, though 0.065 alone would be borderline.
    dn, scl = _scene(0.065, 0)
    dark = dark_level(dn, np.ones(scl.shape, bool), REMOVED, scl)
    assert check_offset(dark, REMOVED, history).verdict == "agrees"


def test_too_few_clear_pixels_keep_the_metadata_rule():
    dn, scl = _scene(0.01, 1000)
    usable = np.zeros(scl.shape, bool)
    usable[0, :20] = True
    dark = dark_level(dn, usable, REMOVED, scl)
    assert dark is None
    check = check_offset(dark, REMOVED)
    assert check.verdict == "unchecked" and check.rule.offset == 0.0
    assert "too few clear pixels" in check.rule.reason


def test_encode_reflectance_keeps_nodata_and_clips():
    dn = np.array([0, 1, 500, 1500, 65535], np.uint16)
    np.testing.assert_array_equal(encode_reflectance(dn, KEPT), dn)
    np.testing.assert_array_equal(encode_reflectance(dn, REMOVED), [0, 1001, 1500, 2500, 65535])
    odd = ReflectanceRule(0.0002, 0.0)
    np.testing.assert_array_equal(encode_reflectance(np.array([0, 100], np.uint16), odd), [0, 1200])


def test_a_baseline_before_04_00_never_gets_the_offset_from_bright_pixels():
    # A real Flanders AOI in autumn: stubble fields, no water, p1 of SWIR about 0.09.
    dn, scl = _scene(0.09, 0, water_px=10)
    dark = dark_level(dn, np.ones(scl.shape, bool), REMOVED, scl)
    assert dark.level >= 0.07
    assert check_offset(dark, REMOVED).verdict == "offset_in_pixels"  # without the baseline
    check = check_offset(dark, REMOVED, baseline="02.12")
    assert check.verdict == "agrees" and check.rule.offset == 0.0
    assert check.rule.decided_by == "metadata" and "predates the +1000" in check.rule.reason
    # From 04.00 on, the pixels still decide; the other way round is never blocked.
    assert check_offset(dark, REMOVED, baseline="04.00").verdict == "offset_in_pixels"
    dn, scl = _scene(0.01, 0)
    dark = dark_level(dn, np.ones(scl.shape, bool), KEPT, scl)
    assert check_offset(dark, KEPT, baseline="05.11").verdict == "offset_removed"


@pytest.mark.parametrize(
    "baseline, before",
    [
        ("02.12", True),
        ("03.01", True),
        ("04.00", False),
        ("05.11", False),
        ("", False),
        (None, False),
        ("N/A", False),
    ],
)
def test_baseline_without_offset(baseline, before):
    from monitor.imagery.offset import baseline_without_offset

    assert baseline_without_offset(baseline) is before


def test_a_scene_scl_calls_mostly_water_does_not_overrule_the_metadata():
    # Thin cloud that SCL took for water: its "water" is bright, 0.15 in SWIR, against 0.05
    # in the AOI's earlier scenes; the +1000 is not what raised it.
    history = OffsetHistory(levels=(0.05, 0.05, 0.05, 0.05))
    dn, scl = _scene(0.15, 0)
    dark = dark_level(dn, np.ones(scl.shape, bool), REMOVED, scl)
    assert check_offset(dark, REMOVED, history).verdict == "offset_in_pixels"
    check = check_offset(dark, REMOVED, history, doubtful=0.8)
    assert check.verdict == "agrees" and check.rule.offset == 0.0
    assert "cannot show the offset" in check.rule.reason
    # A river (a tenth of the pixels) is no reason to doubt.
    assert check_offset(dark, REMOVED, history, doubtful=0.1).verdict == "offset_in_pixels"


def test_scl_doubtful_share():
    from monitor.models import scl_doubtful_share

    scl = np.array([[2, 6, 7, 4], [4, 5, 9, 8]], dtype=np.uint8)
    clear = ~np.isin(scl, (8, 9))
    assert scl_doubtful_share(scl, clear) == 3 / 6
    assert scl_doubtful_share(None, clear) == 0.0
