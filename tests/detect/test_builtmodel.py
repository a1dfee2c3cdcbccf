"""The built-change model of before/after mode: what it may judge, its features, its formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.detect import CompareParams
from monitor.detect.builtmodel import (
    CORE_FEATURES,
    RED_EDGE_FEATURES,
    SIX_BAND_MODEL,
    BuiltChangeModel,
    built_probability,
    pair_features,
    vegetation_or_bare,
)
from monitor.detect.indices import indices
from monitor.detect.params import BANDS

# B02 B03 B04 B08 B11 B12 (rounded textbook spectra, as in classify.py's library).
SPECTRA = {
    "forest": (0.028, 0.052, 0.038, 0.27, 0.18, 0.09),
    "green_rice": (0.03, 0.065, 0.04, 0.40, 0.21, 0.10),
    "stubble": (0.07, 0.09, 0.12, 0.20, 0.28, 0.22),
    "soil": (0.085, 0.115, 0.165, 0.245, 0.33, 0.275),
    "blue_metal_roof": (0.17, 0.14, 0.08, 0.16, 0.12, 0.09),
    "white_roof": (0.45, 0.47, 0.48, 0.50, 0.42, 0.35),
    "water": (0.045, 0.06, 0.05, 0.025, 0.012, 0.008),
}


def _judged(name: str) -> bool:
    found = indices(np.array(SPECTRA[name], dtype=np.float32)[:, None], BANDS)
    return bool(
        vegetation_or_bare(found["ndvi"], found["visible_slope"], found["ndbi"], CompareParams())[0]
    )


@pytest.mark.parametrize("name", ["forest", "green_rice", "stubble", "soil"])
def test_vegetation_and_bare_ground_may_be_judged(name: str) -> None:
    assert _judged(name)


@pytest.mark.parametrize("name", ["blue_metal_roof", "white_roof", "water"])
def test_roofs_and_water_are_never_judged(name: str) -> None:
    """A blue metal roof has the NDVI of sparse vegetation (0.33): its visible slope keeps it
    out of the model's hands."""
    assert not _judged(name)


def test_the_probability_is_the_logistic_of_the_standardised_features() -> None:
    model = BuiltChangeModel.from_rows(-1.0, (("a", 1.0, 2.0, 0.5), ("b", 0.0, 1.0, -2.0)))
    assert model.features == ("a", "b") and not model.uses_red_edge
    got = built_probability(np.array([[3.0, 0.25], [1.0, 0.0]]), model)
    want = [1 / (1 + math.exp(-(-1.0 + 0.5 * 1.0 - 2.0 * 0.25))), 1 / (1 + math.exp(1.0))]
    assert got == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError, match="features of shape"):
        built_probability(np.zeros((2, 3)), model)
    with pytest.raises(ValueError, match="a weight per feature"):
        BuiltChangeModel(("a",), (0.0,), (1.0,), (1.0, 2.0), 0.0)


def test_features_describe_each_candidate_in_order() -> None:
    before = np.broadcast_to(
        np.array(SPECTRA["green_rice"], dtype=np.float32)[:, None, None], (6, 20, 20)
    ).copy()
    after = before.copy()
    after[:, 2:6, 2:6] = np.array(SPECTRA["stubble"], dtype=np.float32)[:, None, None]
    candidates = np.zeros((20, 20), dtype=bool)
    candidates[2:6, 2:6] = True
    candidates[15, 15] = True  # a lone pixel, unchanged
    magnitude = np.where(candidates, 5.0, 0.5).astype(np.float32)
    x = pair_features(before, after, BANDS, magnitude, candidates)
    assert x.shape == (17, len(CORE_FEATURES))
    col = {n: i for i, n in enumerate(CORE_FEATURES)}
    assert x[0, col["log_magnitude"]] == pytest.approx(math.log(5.0))
    assert x[0, col["greenness_lost"]] > 0.5 and x[0, col["greenness_gained"]] == 0.0
    assert x[:16, col["log_area_px"]] == pytest.approx(math.log(16))
    assert x[16, col["log_area_px"]] == pytest.approx(0.0)
    assert x[16, col["greenness_lost"]] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="red-edge|need bands"):
        pair_features(before, after, BANDS, magnitude, candidates, red_edge=True)
    assert RED_EDGE_FEATURES == ("ndre_before", "ndre_after")


def test_the_fitted_model_finds_a_harvest_unlikely_and_a_built_site_likelier() -> None:
    """On textbook spectra the fitted six-band model ranks forest cleared for a site above
    green rice harvested to stubble."""

    def p(before: str, after: tuple[float, ...]) -> float:
        b = np.broadcast_to(
            np.array(SPECTRA[before], dtype=np.float32)[:, None, None], (6, 20, 20)
        ).copy()
        a = b.copy()
        a[:, 8:12, 8:12] = np.array(after, dtype=np.float32)[:, None, None]
        c = np.zeros((20, 20), dtype=bool)
        c[8:12, 8:12] = True
        x = pair_features(b, a, BANDS, np.where(c, 6.0, 0.5).astype(np.float32), c)
        return float(built_probability(x, SIX_BAND_MODEL).mean())

    harvest = p("green_rice", SPECTRA["stubble"])
    site = p("forest", (0.12, 0.14, 0.17, 0.22, 0.30, 0.27))
    assert harvest < CompareParams().min_built_probability < site
