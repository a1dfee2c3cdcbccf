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

__all__ = [
    "n_terms",
    "design",
    "fit_robust",
    "predict",
    "median_of_used",
    "solve_spd",
    "fit_robust_last",
]

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


def median_of_used(
    values: npt.NDArray[np.floating], count: npt.NDArray[np.integer], axis: int = 1
) -> npt.NDArray[np.floating]:
    """Median over ``axis`` of the first ``count`` entries (per row), without NaN machinery.

    ``values`` must already hold ``+inf`` (or anything larger than every used entry) in
    unused slots; rows with ``count == 0`` give ``inf``. Sorting a 16-slot axis is much
    faster than ``np.nanmedian``'s masked-array path.
    """
    ordered = np.sort(values, axis=axis)
    n = np.asarray(count, dtype=np.intp)
    lo = np.maximum((n - 1) // 2, 0)
    hi = np.maximum(n // 2, 0)
    shape = [1] * ordered.ndim
    shape[0] = n.size
    lo_i = lo.reshape(shape)
    hi_i = np.minimum(hi, ordered.shape[axis] - 1).reshape(shape)
    a = np.take_along_axis(ordered, lo_i, axis=axis)
    b = np.take_along_axis(ordered, hi_i, axis=axis)
    out: npt.NDArray[np.floating] = np.squeeze((a + b) * 0.5, axis=axis)
    return out


def solve_spd(
    a: list[list[npt.NDArray[np.float64]]], b: list[list[npt.NDArray[np.float64]]]
) -> list[list[npt.NDArray[np.float64]]]:
    """Solve many small symmetric positive definite systems ``a x = b`` at once.

    ``a[i][j]`` (i >= j used) and ``b[i][c]`` are arrays over pixels (P,); returns
    ``x[i][c]``. Cholesky with the pixel axis innermost: a few dozen whole-array operations
    for K <= 5 terms, instead of one LAPACK call per pixel.
    """
    k = len(a)
    low: list[list[npt.NDArray[np.float64]]] = [[] for _ in range(k)]
    for j in range(k):
        diag = a[j][j].copy()
        for m in range(j):
            diag -= low[j][m] * low[j][m]
        ljj = np.sqrt(np.maximum(diag, 1e-12))
        for i in range(j, k):
            if i == j:
                low[j].append(ljj)
                continue
            off = a[i][j].copy()
            for m in range(j):
                off -= low[i][m] * low[j][m]
            low[i].append(off / ljj)
    n_rhs = len(b[0])
    z: list[list[npt.NDArray[np.float64]]] = []
    for i in range(k):
        row = []
        for c in range(n_rhs):
            v = b[i][c].copy()
            for m in range(i):
                v -= low[i][m] * z[m][c]
            row.append(v / low[i][i])
        z.append(row)
    x: list[list[npt.NDArray[np.float64]]] = [[] for _ in range(k)]
    for i in range(k - 1, -1, -1):
        for c in range(n_rhs):
            v = z[i][c].copy()
            for m in range(i + 1, k):
                v -= low[m][i] * x[m][c]
            x[i].append(v / low[i][i])
    return x


def fit_robust_last(
    values: npt.NDArray[np.floating],
    days: npt.NDArray[np.integer],
    used: npt.NDArray[np.bool_],
    *,
    harmonics: int,
    ridge: float,
    iterations: int,
    sigma_floor: npt.NDArray[np.floating],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """:func:`fit_robust` on pixel-last arrays, as the detector state keeps them.

    Parameters
    ----------
    values : float (B, 6, P); days : int (B, P); used : bool (B, P).

    Returns
    -------
    coef (n_terms, 6, P), sigma (6, P), both float32 rounded to float16 precision (so a
    stored state gives back exactly the same model); inlier bool (B, P).

    Every operation runs over whole (B, P) planes with the pixel axis innermost, so the
    loops over terms and bands are short Python loops of long vector operations.
    """
    y = np.asarray(values, dtype=np.float32)
    n_slots, n_bands, n_pix = y.shape
    phase = (2.0 * np.pi / _YEAR_DAYS) * np.asarray(days, dtype=np.float64)
    x: list[npt.NDArray[np.float32]] = [np.ones((n_slots, n_pix), dtype=np.float32)]
    for h in range(1, harmonics + 1):
        x += [np.cos(h * phase).astype(np.float32), np.sin(h * phase).astype(np.float32)]
    k = len(x)
    usedf = used.astype(np.float32)
    weight = usedf
    floor = np.asarray(sigma_floor, dtype=np.float32)
    inv_floor2 = (1.0 / floor**2).astype(np.float32)
    n_used = used.sum(axis=0)
    bands = [y[:, c, :] for c in range(n_bands)]
    coef: list[list[npt.NDArray[np.float64]]] = []
    resid: list[npt.NDArray[np.float32]] = []
    for it in range(max(iterations, 0) + 1):
        xw = [xi * weight for xi in x]
        a = [[np.zeros(0)] * k for _ in range(k)]
        for i in range(k):
            for j in range(i + 1):
                a[i][j] = np.einsum("bp,bp->p", xw[i], x[j], dtype=np.float64)
            a[i][i] = a[i][i] + (ridge if i > 0 else 1e-6)  # leave the level free
        b = [
            [np.einsum("bp,bp->p", xw[i], bands[c], dtype=np.float64) for c in range(n_bands)]
            for i in range(k)
        ]
        coef = solve_spd(a, b)
        resid = []
        for c in range(n_bands):
            fitted = x[0] * coef[0][c].astype(np.float32)
            for i in range(1, k):
                fitted += x[i] * coef[i][c].astype(np.float32)
            resid.append(bands[c] - fitted)
        if it == max(iterations, 0):
            break
        # One distance per observation over bands, each scaled by its floor, so a haze day
        # (blue only) and a cloud (all bands) are judged alike.
        d2 = resid[0] ** 2 * inv_floor2[0]
        for c in range(1, n_bands):
            d2 += resid[c] ** 2 * inv_floor2[c]
        dist = np.sqrt(d2 / n_bands)
        med = median_of_used(np.where(used, dist, np.inf).T, n_used)
        scale = np.maximum(1.4826 * np.where(np.isfinite(med), med, 1.0), 1.0).astype(np.float32)
        u = dist / (4.685 * scale)
        weight = np.where(used & (u < 1.0), (1.0 - u**2) ** 2, 0.0).astype(np.float32)
    inlier = used & (weight > 0.0)
    n_in = inlier.sum(axis=0)
    dof = np.maximum(n_in - min(k, 3), 1).astype(np.float32)
    inl = inlier.astype(np.float32)
    sigma = np.empty((n_bands, n_pix), dtype=np.float32)
    for c in range(n_bands):
        rms = np.sqrt(np.einsum("bp,bp->p", inl, resid[c] ** 2) / dof)
        sigma[c] = np.maximum(rms, floor[c])
    coef_out = np.empty((k, n_bands, n_pix), dtype=np.float32)
    for i in range(k):
        for c in range(n_bands):
            coef_out[i, c] = coef[i][c]
    return (
        coef_out.astype(np.float16).astype(np.float32),
        sigma.astype(np.float16).astype(np.float32),
        inlier,
    )


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
    coef : float32 (n_terms, 6, P), rounded to float16 precision.
    sigma : float32 (6, P) residual scale of the inliers per band (floored), rounded alike.
    inlier : bool (P, B) observations the final fit kept.
    """
    coef, sigma, inlier = fit_robust_last(
        np.ascontiguousarray(np.asarray(values).transpose(1, 2, 0)),
        np.ascontiguousarray(np.asarray(days).T),
        np.ascontiguousarray(np.asarray(used).T),
        harmonics=harmonics,
        ridge=ridge,
        iterations=iterations,
        sigma_floor=sigma_floor,
    )
    return coef, sigma, np.ascontiguousarray(inlier.T)


def predict(coef: npt.NDArray[np.float32], day: int, harmonics: int) -> npt.NDArray[np.float32]:
    """Model reflectance on ``day``: coef (n_terms, 6, P) -> float32 (6, P)."""
    row = design(np.array([day]), harmonics)[0].astype(np.float32)  # (K,)
    # Plain multiply-adds: BLAS's threaded gemv costs more than it saves for K <= 5.
    out: npt.NDArray[np.float32] = np.multiply(coef[0], row[0], dtype=np.float32)
    for k in range(1, row.size):
        out += coef[k] * row[k]
    return out
