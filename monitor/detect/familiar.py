"""Familiar states: spectra a pixel has shown before, whatever the date.

A seasonal model of two harmonics follows a smooth year. Real ground takes steps: rice is
cut to stubble within days, a paddy floods overnight, a field burns, a river bar dries, and
each of these moves by weeks from one year to the next and from field to field. Such a view
departs from the smooth curve, several in a row agree with each other, and the detector
confirmed a "change": harvests read as new construction on ground it was never tuned on.

But a spectrum the pixel showed in an earlier year, at any date, is not new: stubble every
November is not a roof. Two tests say a departure is *familiar*, and a familiar departure
is no evidence of change:

- **exemplars**: a few spectra per pixel from its own history, its most different states
  (the one the model fits worst first, then each farthest from those kept) among states
  the pixel held for more than one view (a lone cloud edge is no state), plus what every
  rejected candidate showed (the pixel went there and came back);
- **lags**: the pixel's own model a few weeks earlier or later (a harvest three weeks early).

A departure is familiar when its spectrum lies closer to one of these than
``familiar_fraction`` of its distance from today's prediction, and within
``familiar_distance`` in absolute terms. A new roof, a demolition's rubble or a cleared
forest is far from everything the pixel was; a field's own stubble is not.

Numpy only; every function works on many pixels at once. Exemplars are stored in the
chips' uint16 encoding, ``(E, 6, N)``, with a count per pixel.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.detect import harmonic
from monitor.detect.params import DetectorParams
from monitor.detect.state import (
    MONITORING,
    DetectorState,
    decode_reflectance,
    encode_reflectance,
)

__all__ = [
    "familiar_departures",
    "choose_exemplars",
    "nearest_exemplar",
    "nearest_lagged",
    "add_exemplars",
    "is_familiar",
]


def choose_exemplars(
    values: npt.NDArray[np.float32],
    days: npt.NDArray[np.integer],
    used: npt.NDArray[np.bool_],
    coef: npt.NDArray[np.float32],
    harmonics: int,
    n_keep: int,
    *,
    persist_distance: float,
    min_gap_days: int = 4,
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint8]]:
    """Exemplars from a pixel's training observations: its most different states.

    The first is the state the model fits worst; each next one the state farthest from
    those already kept (farthest-point sampling), so green rice, a flooded paddy, stubble
    and a burnt field each get a slot before two views of one of them do.

    Parameters
    ----------
    values : float (P, B, 6) the observations the model was fitted to.
    days : int (P, B) their day numbers.
    used : bool (P, B) which slots hold one.
    coef : float (K, 6, P) the fitted model.
    n_keep : exemplars to keep per pixel (E).
    persist_distance : an observation is a *state* of the pixel when another observation at
        least ``min_gap_days`` away lies within this Euclidean distance of it; only states
        are kept, so a cloud edge SCL missed on one day never becomes familiar.

    Returns
    -------
    exemplars : uint16 (E, 6, P) in the chips' encoding (0 where unused); count : uint8 (P,).
    """
    p, b, c = values.shape
    out = np.zeros((n_keep, c, p), dtype=np.uint16)
    count = np.zeros(p, dtype=np.uint8)
    if p == 0 or n_keep == 0:
        return out, count
    # One partner slot at a time: all pairs at once would hold (P, B, B, 6) floats.
    state = np.zeros((p, b), dtype=bool)
    for j in range(b):
        near = ((values - values[:, j : j + 1]) ** 2).sum(axis=2) <= persist_distance**2
        apart = np.abs(days - days[:, j : j + 1]) >= min_gap_days
        state |= near & apart & used[:, j : j + 1]
    state &= used
    x = harmonic.design(days.astype(np.float64), harmonics).astype(np.float32)  # (P, B, K)
    fitted = np.einsum("pbk,kcp->pbc", x, coef)
    # The worst-fitted state starts; then each slot's distance to the nearest state kept.
    rank = np.where(state, np.sqrt(((values - fitted) ** 2).sum(axis=2)), -np.inf)
    reach = np.where(state, np.inf, -np.inf)
    rows = np.arange(p)
    for k in range(n_keep):
        pick = (rank if k == 0 else reach).argmax(axis=1)
        ok = state[rows, pick] & (reach[rows, pick] > persist_distance)
        chosen = values[rows, pick]  # (P, 6)
        out[k] = np.where(ok[:, None], encode_reflectance(chosen), 0).T
        count += ok.astype(np.uint8)
        gap = np.sqrt(((values - chosen[:, None, :]) ** 2).sum(axis=2))
        reach = np.where(ok[:, None], np.minimum(reach, gap), -np.inf)
    return out, count


def nearest_exemplar(
    exemplars: npt.NDArray[np.uint16],
    count: npt.NDArray[np.integer],
    spectra: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Distance (P,) from each spectrum (6, P) to its pixel's nearest exemplar (E, 6, P).

    ``inf`` where the pixel has none.
    """
    e = exemplars.shape[0]
    if e == 0 or spectra.shape[1] == 0:
        return np.full(spectra.shape[1], np.inf, dtype=np.float32)
    gap = np.sqrt(((decode_reflectance(exemplars) - spectra[None]) ** 2).sum(axis=1))  # (E, P)
    gap[np.arange(e)[:, None] >= np.asarray(count)[None, :]] = np.inf
    out: npt.NDArray[np.float32] = gap.min(axis=0).astype(np.float32)
    return out


def nearest_lagged(
    coef: npt.NDArray[np.float32],
    day: int,
    harmonics: int,
    spectra: npt.NDArray[np.float32],
    lags_days: tuple[int, ...],
) -> npt.NDArray[np.float32]:
    """Distance (P,) from each spectrum (6, P) to its model on ``day`` shifted by any lag."""
    best = np.full(spectra.shape[1], np.inf, dtype=np.float32)
    for lag in lags_days:
        shifted = harmonic.predict(coef, day + int(lag), harmonics)
        best = np.minimum(best, np.sqrt(((shifted - spectra) ** 2).sum(axis=0)))
    return best


def add_exemplars(
    exemplars: npt.NDArray[np.uint16],
    count: npt.NDArray[np.uint8],
    idx: npt.NDArray[np.intp],
    spectra: npt.NDArray[np.float32],
) -> None:
    """Add one spectrum (6, P) to the exemplars of pixels ``idx`` (in place).

    Where a pixel's slots are full, the spectrum takes the place of its nearest exemplar:
    the set stays as varied as it was and never repeats one state twice.
    """
    if idx.size == 0 or exemplars.shape[0] == 0:
        return
    e = exemplars.shape[0]
    n = count[idx].astype(np.intp)
    gap = np.sqrt(((decode_reflectance(exemplars[:, :, idx]) - spectra[None]) ** 2).sum(axis=1))
    gap[np.arange(e)[:, None] >= n[None, :]] = np.inf
    slot = np.where(n < e, n, gap.argmin(axis=0))
    exemplars[slot, :, idx] = encode_reflectance(spectra).T
    count[idx] = np.minimum(n + 1, e).astype(np.uint8)


def is_familiar(
    distance: npt.NDArray[np.float32],
    departure: npt.NDArray[np.float32],
    *,
    fraction: float,
    limit: float,
) -> npt.NDArray[np.bool_]:
    """Departures (magnitudes ``departure``) lying within ``distance`` of a familiar state."""
    out: npt.NDArray[np.bool_] = (distance <= fraction * departure) & (distance <= limit)
    return out


def familiar_departures(
    state: DetectorState,
    idx: npt.NDArray[np.intp],
    obs: npt.NDArray[np.float32],
    magnitude: npt.NDArray[np.float32],
    day: int,
    params: DetectorParams,
) -> npt.NDArray[np.bool_]:
    """Which departures of pixels ``idx`` (views ``obs`` (6, P), sizes ``magnitude``) are
    familiar: near an exemplar of the pixel or its own model some weeks off.

    Only monitored pixels: one learning a new cover has no model of it yet, and its
    exemplars describe the cover that went.
    """
    out = np.zeros(idx.size, dtype=bool)
    mon = state["phase"][idx] == MONITORING
    if not mon.any() or not (state.exemplars or params.familiar_lags_days):
        return out
    midx = idx[mon]
    seen = obs[:, mon]
    distance = nearest_exemplar(state["ex_refl"][:, :, midx], state["ex_n"][midx], seen)
    if params.familiar_lags_days:
        lagged = nearest_lagged(
            state["coef"][:, :, midx], day, state.harmonics, seen, params.familiar_lags_days
        )
        distance = np.minimum(distance, lagged)
    out[mon] = is_familiar(
        distance, magnitude[mon], fraction=params.familiar_fraction, limit=params.familiar_distance
    )
    return out
