"""Each pixel's harmonic model: fitted once it has a year of history, read for its seasons."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.detect import familiar, harmonic
from monitor.detect.buffers import model_part
from monitor.detect.params import DetectorParams
from monitor.detect.state import (
    LEARNING_NEW_COVER,
    MONITORING,
    NO_DAY,
    TRAINING,
    DetectorState,
    encode_reflectance,
)

__all__ = ["fit_ready", "seasonal"]

_FIT_CHUNK = 32768


def fit_ready(
    state: DetectorState, idx: npt.NDArray[np.intp], params: DetectorParams, day: int
) -> npt.NDArray[np.intp]:
    """Fit the harmonic model where the model part has enough observations over a year."""
    if idx.size == 0:
        return idx
    # Slots stay in date order (appends at the end, thinning keeps order), so the span is
    # the first slot to the last model slot: no need to decode every buffer.
    n_model = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    last = state["buf_day"][np.maximum(n_model - 1, 0), idx]
    ready = (n_model >= params.min_train_obs) & (
        (last - state["buf_day"][0, idx]) >= params.min_history_days
    )
    if not ready.any():
        return idx[:0]
    idx = idx[ready]
    done = idx
    last_inlier = np.empty(idx.size, dtype=np.int64)
    # In chunks: a whole AOI turning trainable on one scene would otherwise hold float64
    # copies of every buffer at once (about 2 GB for a million pixels).
    for start in range(0, idx.size, _FIT_CHUNK):
        part = idx[start : start + _FIT_CHUNK]
        values, days, used = model_part(state, part)
        coef, sigma, inlier = harmonic.fit_robust(
            values,
            days,
            used,
            harmonics=state.harmonics,
            ridge=params.ridge,
            iterations=params.robust_iterations,
            sigma_floor=np.asarray(params.sigma_floor),
        )
        state["coef"][:, :, part] = coef
        state["sigma"][:, part] = sigma
        if state.exemplars:
            exemplars, count = familiar.choose_exemplars(
                values,
                days,
                used,
                coef,
                state.harmonics,
                state.exemplars,
                persist_distance=params.familiar_persist,
            )
            state["ex_refl"][:, :, part] = exemplars
            state["ex_n"][part] = count
        last_inlier[start : start + part.size] = np.where(inlier, days, NO_DAY).max(axis=1)
    state["fit_day"][done] = day
    first = done[state["phase"][done] == TRAINING]
    state["start_mean"][:, first] = encode_reflectance(state["coef"][0][:, first])
    state["phase"][done] = MONITORING
    state["buf_n"][done] = 0
    state["buf_day"][:, done] = NO_DAY
    state["cand_n"][done] = 0
    state["revert_n"][done] = 0
    # The last clear observation the model accepted bounds the next change's window.
    state["last_normal_day"][done] = last_inlier
    scene_index = {d: i for i, d in enumerate(state.scene_days)}
    state["last_normal_scene"][done] = [scene_index.get(int(d), -1) for d in last_inlier]
    return done


def seasonal(
    state: DetectorState,
    idx: npt.NDArray[np.intp],
    min_amplitude: float = 0.2,
    *,
    old_model: bool = False,
) -> npt.NDArray[np.bool_]:
    """Whether the harmonic model of ``idx`` swings in NDVI by ``min_amplitude`` over a year.

    Only monitored pixels have such a model; others are False. With ``old_model``, pixels
    learning a new cover after a change are judged by the model of the cover that went.
    """
    out = np.zeros(idx.size, dtype=bool)
    mon = state["phase"][idx] == MONITORING
    if old_model:
        mon |= (state["phase"][idx] == LEARNING_NEW_COVER) & (state["c_revertible"][idx] == 1)
    if not mon.any() or state.harmonics == 0:
        return out
    coef = state["coef"][:, 2:4][:, :, idx[mon]]  # red and NIR terms (K, 2, P)
    days = np.linspace(0.0, 365.25, 12, endpoint=False)
    x = harmonic.design(days, state.harmonics).astype(np.float32)  # (12, K)
    # The sums of einsum("dk,kcp->dcp") term by term in order of k, float32, as einsum
    # forms them (tests/detect/test_speed_timeseries.py), at a quarter of its time: it
    # walked the gathered coefficients pixel by pixel, for six bands.
    curve = x[:, 0, None, None] * coef[0]  # (12, 2, P)
    for k in range(1, x.shape[1]):
        curve += x[:, k, None, None] * coef[k]
    red, nir = curve[:, 0], curve[:, 1]
    index = (nir - red) / np.maximum(nir + red, np.float32(1e-4))
    out[mon] = (index.max(axis=0) - index.min(axis=0)) >= min_amplitude
    return out
