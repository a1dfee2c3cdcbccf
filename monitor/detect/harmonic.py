"""Per-pixel seasonal model: harmonics fitted robustly to a pixel's clear observations.

``y(t) = c0 + c1 cos(2 pi t) + c2 sin(2 pi t) [+ c3 cos(4 pi t) + c4 sin(4 pi t)]`` per band,
with ``t`` in years. Fitted once per pixel and cover (after training, or once a changed pixel
has a year of its new cover), by bisquare-reweighted least squares with a ridge on the
harmonic terms, so haze, cloud residue and misregistered edges in the training year barely
pull the curve. Numpy only; every function works on many pixels at once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["n_terms", "design", "fit_robust", "predict"]

_YEAR_DAYS = 365.25


def n_terms(harmonics: int) -> int:
    """Coefficients per band for ``harmonics`` seasonal harmonics."""
    return 1 + 2 * harmonics


def design(
    days: npt.NDArray[np.integer] | npt.NDArray[np.floating], harmonics: int
) -> npt.NDArray[np.float64]:
    """Design matrix rows for day numbers: float64 (*days.shape, n_terms)."""
    phase = 2.0 * np.pi * np.asarray(days, dtype=np.float64) / _YEAR_DAYS
    columns = [np.ones_like(phase)]
    for k in range(1, harmonics + 1):
        columns += [np.cos(k * phase), np.sin(k * phase)]
    return np.stack(columns, axis=-1)


def fit_robust(
    values: npt.NDArray[np.floating],
    days: npt.NDArray[np.integer],
    used: npt.NDArray[np.bool_],
    *,
    harmonics: int,
    ridge: float,
    iterations: int,
    sigma_floor: npt.NDArray[np.floating],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Fit the seasonal model to many pixels' observations at once.

    Parameters
    ----------
    values : float (P, B, 6) reflectance of up to B observations per pixel.
    days : int (P, B) day numbers.
    used : bool (P, B) which of the B slots hold an observation.
    harmonics, ridge, iterations : see :class:`~monitor.detect.params.DetectorParams`.
    sigma_floor : float (6,) lowest residual scale per band.

    Returns
    -------
    coef : float32 (n_terms, 6, P).
    sigma : float32 (6, P) residual scale of the inliers per band (floored).
    inlier : bool (P, B) observations the final fit kept.
    """
    y = np.asarray(values, dtype=np.float64)
    x = design(days, harmonics)  # (P, B, K)
    n_pix, _, k = x.shape
    weight = used.astype(np.float64)
    penalty = np.eye(k) * ridge
    penalty[0, 0] = 1e-6  # leave the level free
    floor = np.asarray(sigma_floor, dtype=np.float64)
    coef = np.zeros((n_pix, k, 6))
    for _ in range(max(iterations, 0) + 1):
        xtwx = np.einsum("pbk,pb,pbl->pkl", x, weight, x) + penalty
        xtwy = np.einsum("pbk,pb,pbc->pkc", x, weight, y)
        coef = np.linalg.solve(xtwx, xtwy)
        resid = y - np.einsum("pbk,pkc->pbc", x, coef)
        # One distance per observation over bands, each scaled by its floor, so a haze day
        # (blue only) and a cloud (all bands) are judged alike.
        dist = np.sqrt(np.mean((resid / floor) ** 2, axis=2))  # (P, B)
        masked = np.where(used, dist, np.nan)
        scale = 1.4826 * np.nanmedian(masked, axis=1, keepdims=True)
        scale = np.maximum(np.nan_to_num(scale, nan=1.0), 1.0)
        u = dist / (4.685 * scale)
        weight = np.where(used & (u < 1.0), (1.0 - u**2) ** 2, 0.0)
    inlier = used & (weight > 0.0)
    resid = y - np.einsum("pbk,pkc->pbc", x, coef)
    n_in = inlier.sum(axis=1)
    dof = np.maximum(n_in - min(k, 3), 1)[:, None]
    rms = np.sqrt(np.einsum("pb,pbc->pc", inlier.astype(np.float64), resid**2) / dof)
    sigma = np.maximum(rms, floor[None, :])
    return (
        np.ascontiguousarray(coef.transpose(1, 2, 0), dtype=np.float32),
        np.ascontiguousarray(sigma.T, dtype=np.float32),
        inlier,
    )


def predict(coef: npt.NDArray[np.float32], day: int, harmonics: int) -> npt.NDArray[np.float32]:
    """Model reflectance on ``day``: coef (n_terms, 6, P) -> float32 (6, P)."""
    row = design(np.array([day]), harmonics)[0].astype(np.float32)  # (K,)
    return np.asarray(np.tensordot(row, coef, axes=(0, 0)), dtype=np.float32)
