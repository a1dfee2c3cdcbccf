"""Spectral indices by band name."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detect.indices import INDEX_NAMES, indices, normalised_difference
from monitor.detect.params import BANDS
from monitor.models import RED_EDGE_BANDS

# B02 B03 B04 B08 B11 B12, then B05 B06 B07 B8A.
GREEN_CROP = (0.03, 0.065, 0.04, 0.40, 0.21, 0.10, 0.09, 0.26, 0.36, 0.41)
STUBBLE = (0.07, 0.09, 0.12, 0.20, 0.28, 0.22, 0.14, 0.16, 0.18, 0.205)
BLUE_ROOF = (0.17, 0.14, 0.08, 0.16, 0.12, 0.09, 0.10, 0.12, 0.14, 0.16)
WATER = (0.045, 0.06, 0.05, 0.025, 0.012, 0.008, 0.04, 0.03, 0.027, 0.024)


def _stack(*spectra: tuple[float, ...]) -> np.ndarray:
    return np.array(spectra, dtype=np.float32).T  # (bands, pixels)


def test_each_index_tells_its_surface() -> None:
    got = indices(_stack(GREEN_CROP, STUBBLE, BLUE_ROOF, WATER), BANDS + RED_EDGE_BANDS)
    assert set(got) == set(INDEX_NAMES) | {"ndre"}
    crop, stubble, roof, water = range(4)
    assert got["ndvi"][crop] > 0.7 and got["ndvi"][stubble] < 0.3
    # A blue metal roof is green-bright and SWIR-dark: MNDWI alone calls it wet.
    assert got["mndwi"][water] > 0.5 and (got["mndwi"][[crop, stubble]] < 0).all()
    assert got["mndwi"][roof] < got["mndwi"][water]
    # Soil and stubble are red, a painted metal roof blue.
    assert got["visible_slope"][stubble] > 0.2 and got["visible_slope"][roof] < -0.2
    assert got["bsi"][stubble] > got["bsi"][crop]
    assert got["ndre"][crop] > 0.5 and got["ndre"][stubble] < 0.25


def test_without_red_edge_there_is_no_ndre_and_a_missing_band_is_named() -> None:
    six = _stack(GREEN_CROP)[: len(BANDS)]
    assert "ndre" not in indices(six, BANDS)
    with pytest.raises(ValueError, match="swir16"):
        indices(six[:4], BANDS[:4])
    with pytest.raises(ValueError, match="rows"):
        indices(six, BANDS[:5])


def test_a_normalised_difference_ignores_a_common_gain_and_has_no_division_by_zero() -> None:
    a, b = np.array([0.3, 0.0]), np.array([0.1, 0.0])
    assert normalised_difference(a, b)[0] == pytest.approx(normalised_difference(2 * a, 2 * b)[0])
    assert normalised_difference(a, b)[1] == 0.0
