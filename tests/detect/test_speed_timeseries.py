"""The detector's faster seasonality test answers exactly as the einsum it replaced."""

from __future__ import annotations

import numpy as np

from monitor.detect import DetectorParams, harmonic, new_state
from monitor.detect.fit import seasonal
from monitor.detect.state import LEARNING_NEW_COVER, MONITORING


def _reference_seasonal(state, idx, min_amplitude=0.2, *, old_model=False):
    out = np.zeros(idx.size, dtype=bool)
    mon = state["phase"][idx] == MONITORING
    if old_model:
        mon |= (state["phase"][idx] == LEARNING_NEW_COVER) & (state["c_revertible"][idx] == 1)
    coef = state["coef"][:, :, idx[mon]]
    days = np.linspace(0.0, 365.25, 12, endpoint=False)
    x = harmonic.design(days, state.harmonics).astype(np.float32)
    curve = np.einsum("dk,kcp->dcp", x, coef)
    red, nir = curve[:, 2], curve[:, 3]
    index = (nir - red) / np.maximum(nir + red, np.float32(1e-4))
    out[mon] = (index.max(axis=0) - index.min(axis=0)) >= min_amplitude
    return out, index


def test_seasonal_matches_the_einsum_formula() -> None:
    rng = np.random.default_rng(6)
    state = new_state((60, 50), DetectorParams())
    n = state.n_pixels
    coef = rng.normal(0.0, 0.04, state["coef"].shape).astype(np.float32)
    coef[0] = rng.uniform(0.02, 0.4, (6, n)).astype(np.float32)  # annual means
    state.pixels["coef"] = coef
    state.pixels["phase"] = rng.choice([0, MONITORING, LEARNING_NEW_COVER], n).astype(np.uint8)
    state.pixels["c_revertible"] = rng.integers(0, 2, n).astype(np.uint8)
    for idx in (np.arange(n), np.sort(rng.choice(n, 37, replace=False)), np.array([5])):
        for old_model in (False, True):
            got = seasonal(state, idx, old_model=old_model)
            expected, _ = _reference_seasonal(state, idx, old_model=old_model)
            assert np.array_equal(got, expected)
    # Both answers occur, so the comparison says something.
    every, _ = _reference_seasonal(state, np.arange(n))
    assert 0 < every.sum() < (state["phase"] == MONITORING).sum()
    # And the NDVI curves themselves agree to the bit (the threshold sees the same numbers).
    days = np.linspace(0.0, 365.25, 12, endpoint=False)
    x = harmonic.design(days, state.harmonics).astype(np.float32)
    gathered = state["coef"][:, 2:4][:, :, np.arange(n)]
    curve = x[:, 0, None, None] * gathered[0]
    for k in range(1, x.shape[1]):
        curve += x[:, k, None, None] * gathered[k]
    full = np.einsum("dk,kcp->dcp", x, state["coef"][:, :, np.arange(n)])
    assert curve.tobytes() == np.ascontiguousarray(full[:, 2:4]).tobytes()
