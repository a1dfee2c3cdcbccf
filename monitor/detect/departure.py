"""How far each clear view departs from its reference, whether far enough to count."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.detect.params import DetectorParams

__all__ = ["departure_score", "departing"]


def departure_score(
    resid: npt.NDArray[np.float32], sigma: npt.NDArray[np.float32], params: DetectorParams
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Standardised departure (weighted RMS of z over bands) and Euclidean magnitude."""
    weights = np.asarray(params.band_weights, dtype=np.float32)[:, None]
    z2 = (resid / sigma) ** 2
    score = np.sqrt((weights * z2).sum(axis=0) / weights.sum())
    magnitude = np.sqrt((resid**2).sum(axis=0))
    return score.astype(np.float32), magnitude.astype(np.float32)


def departing(
    score: npt.NDArray[np.float32],
    magnitude: npt.NDArray[np.float32],
    cand_n: npt.NDArray[np.integer],
    month: int,
    judged: npt.NDArray[np.intp],
    shape: tuple[int, int],
    params: DetectorParams,
) -> npt.NDArray[np.bool_]:
    """Which judged pixels depart: past both thresholds, or, in ``params.weak_months``, for
    a pixel already holding a pending candidate (``cand_n``, every pixel's count) past
    ``params.weak_fraction`` of them while touching (8 neighbours, through other such
    pixels) one that is past both.

    Hysteresis in space and time: a building's edge and mixed pixels hover around the
    threshold while its core departs clearly; alone, a view just under it broke their run
    of agreeing departures and the building never gathered ``min_pixels`` confirmed pixels.
    A candidate's first departure must be clear on its own: growing fresh departures
    around every clear one (cloud edges SCL missed, a paddy field's flooding) made ten
    times more false alarms on the tuning seeds.
    """
    strong = (score >= params.z_anomaly) & (magnitude >= params.min_change)
    if params.weak_fraction >= 1.0 or month not in params.weak_months or not strong.any():
        return strong
    weak = strong | (
        (cand_n[judged] > 0)
        & (score >= params.weak_fraction * params.z_anomaly)
        & (magnitude >= params.weak_fraction * params.min_change)
    )
    if not (weak & ~strong).any():
        return strong
    image = np.zeros(shape[0] * shape[1], dtype=bool)
    image[judged[weak]] = True
    labels, _ = ndimage.label(image.reshape(shape), structure=np.ones((3, 3), dtype=bool))
    flat: npt.NDArray[np.int32] = labels.ravel()
    anchored = np.zeros(flat.max() + 1, dtype=bool)
    anchored[flat[judged[strong]]] = True
    anchored[0] = False
    return anchored[flat[judged]]
