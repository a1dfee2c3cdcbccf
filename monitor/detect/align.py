"""Scene against model: undo each scene's shift and its radiometric gain and offset.

Every scene is a little off: geolocated to a fraction of a pixel (now and then a whole one),
its atmospheric correction a percent or two out, its offset sometimes mis-set by 0.1. Each of
these moves every pixel of the scene together, so it is estimated from the whole AOI against
the per-pixel model's prediction for that day and removed before any pixel is judged.
Numpy and scipy only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

__all__ = [
    "fit_gain_offset",
    "bilinear_at",
    "estimate_shift_sampled",
    "fit_gain_offset_fast",
]


def fit_gain_offset(
    observed: npt.NDArray[np.float32],
    predicted: npt.NDArray[np.float32],
    weights: npt.NDArray[np.float32] | None = None,
    *,
    max_gain_change: tuple[float, ...] = (0.15, 0.12, 0.10, 0.05, 0.03, 0.03),
    max_pixels: int = 5000,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per-band gain and offset with ``observed ~ offset + gain * predicted``.

    Weighted least squares (weights, e.g. 1 / sigma**2 of each pixel's model, so pixels the
    model fits well lead and a paddy's sharp season does not tilt the fit) on pixels within
    0.1 of the median difference, refitted without pixels beyond three weighted RMS. Gains
    are kept within ``1 +- max_gain_change`` per band (haze and smoke dim blue by up to
    about 12 %, SWIR by a percent or two; a larger SWIR "gain" is the model's own misfit);
    a fit without enough spread in ``predicted`` is offset only. At most ``max_pixels``
    pixels (a regular subsample) are used.

    Parameters
    ----------
    observed, predicted : float (6, P) of the same pixels, all finite.
    weights : float (6, P) or None.

    Returns
    -------
    gain, offset : float64 (6,).
    """
    n_bands, n_pix = observed.shape
    stride = max(1, n_pix // max_pixels)
    y_all = observed[:, ::stride].astype(np.float64)
    x_all = predicted[:, ::stride].astype(np.float64)
    w_all = np.ones_like(x_all) if weights is None else weights[:, ::stride].astype(np.float64)
    gain = np.ones(n_bands)
    offset = np.median(y_all - x_all, axis=1)
    for band in range(n_bands):
        y, x, w = y_all[band], x_all[band], w_all[band]
        keep = np.abs(y - x - offset[band]) < 0.1
        g, o = 1.0, float(offset[band])
        for _ in range(2):
            if keep.sum() < 10:
                break
            wk = w[keep]
            sw = wk.sum()
            xm = float(wk @ x[keep] / sw)
            ym = float(wk @ y[keep] / sw)
            var = float(wk @ (x[keep] - xm) ** 2 / sw)
            g = 1.0
            if var > 0.02**2:
                g = float(wk @ ((x[keep] - xm) * (y[keep] - ym)) / sw / var)
                limit = max_gain_change[band]
                g = min(max(g, 1.0 - limit), 1.0 + limit)
            o = ym - g * xm
            resid = y - (o + g * x)
            rms = float(np.sqrt(wk @ resid[keep] ** 2 / sw)) + 1e-4
            keep = np.abs(resid) < 3.0 * rms
        gain[band], offset[band] = g, o
    return gain, offset


def bilinear_at(
    image: npt.NDArray[np.float32],
    rows: npt.NDArray[np.floating],
    cols: npt.NDArray[np.floating],
) -> npt.NDArray[np.float32]:
    """Values of ``image`` (bands, R, C) at fractional (rows, cols), edges held: (bands, P)."""
    n_rows, n_cols = image.shape[1:]
    flat = image.reshape(image.shape[0], n_rows * n_cols)
    r = np.clip(rows, 0.0, n_rows - 1.0)
    c = np.clip(cols, 0.0, n_cols - 1.0)
    r0 = np.minimum(np.floor(r).astype(np.intp), n_rows - 1)
    c0 = np.minimum(np.floor(c).astype(np.intp), n_cols - 1)
    fr = (r - r0).astype(np.float32)
    fc = (c - c0).astype(np.float32)
    r1 = np.minimum(r0 + 1, n_rows - 1)
    c1 = np.minimum(c0 + 1, n_cols - 1)
    top = flat[:, r0 * n_cols + c0] * (1 - fc) + flat[:, r0 * n_cols + c1] * fc
    bottom = flat[:, r1 * n_cols + c0] * (1 - fc) + flat[:, r1 * n_cols + c1] * fc
    return np.asarray(top * (1 - fr) + bottom * fr, dtype=np.float32)


def estimate_shift_sampled(
    observed_sum: npt.NDArray[np.float32],
    predicted_sum: npt.NDArray[np.float32],
    usable: npt.NDArray[np.bool_],
    *,
    iterations: int = 2,
    max_shift_px: float = 1.6,
    max_samples: int = 12000,
) -> tuple[float, float]:
    """:func:`estimate_shift` from at most ``max_samples`` pixels, on band sums.

    Same Gauss-Newton (Lucas-Kanade) estimate, but gradients and shifted values are taken
    only at a regular subsample of the usable interior pixels (bilinear at the shifted
    positions), never over the whole image: the cost no longer grows with the AOI beyond
    one erosion of the mask.

    Parameters
    ----------
    observed_sum : float32 (P_obs,) band sum of the observation at the usable pixels'
        flat indices, in the order of ``np.flatnonzero(usable)``; or a full (R, C) image.
    predicted_sum : float32 (R, C) band sum of the prediction (no NaN).
    usable : bool (R, C).
    """
    rows, cols = predicted_sum.shape
    known = ndimage.binary_erosion(usable, iterations=2)
    idx = np.flatnonzero(known)
    if idx.size < 50:
        return (0.0, 0.0)
    stride = max(1, idx.size // max_samples)
    idx = idx[::stride]
    if observed_sum.ndim == 2:
        obs = observed_sum.reshape(-1)[idx].astype(np.float64)
    else:
        where = np.searchsorted(np.flatnonzero(usable), idx)
        obs = observed_sum[where].astype(np.float64)
    r = (idx // cols).astype(np.float64)
    c = (idx % cols).astype(np.float64)
    image = predicted_sum[None]
    flat = predicted_sum.reshape(-1)
    # Gradients of the unshifted prediction at the samples (interior pixels, so the four
    # neighbours exist): Lucas-Kanade with a fixed template gradient.
    gr_all = (0.5 * (flat[idx + cols] - flat[idx - cols])).astype(np.float64)
    gc_all = (0.5 * (flat[idx + 1] - flat[idx - 1])).astype(np.float64)
    total = np.zeros(2)
    for _ in range(iterations):
        dy, dx = total
        # The prediction moved by total: out(x) = pred(x - total).
        current = bilinear_at(image, r - dy, c - dx)[0].astype(np.float64)
        err = obs - current
        err -= np.median(err)  # offsets are not shifts
        keep = np.abs(err) < 0.25
        gr, gc, err = gr_all[keep], gc_all[keep], err[keep]
        # Sums rather than BLAS dot products: no thread start-up for a 2 x 2 system.
        srr, src, scc = float((gr * gr).sum()), float((gr * gc).sum()), float((gc * gc).sum())
        a = np.array([[srr, src], [src, scc]])
        b = np.array([float((gr * err).sum()), float((gc * err).sum())])
        if not np.isfinite(a).all() or np.linalg.cond(a) > 1e6:
            return (0.0, 0.0)
        # observed ~ pred(x - s) ~ pred - s . grad  =>  s = -solve(a, b), per step.
        step = -np.linalg.solve(a, b)
        total += step
        if np.hypot(*total) > max_shift_px:
            return (0.0, 0.0)
        if np.hypot(*step) < 0.03:
            break
    return (float(total[0]), float(total[1]))


def fit_gain_offset_fast(
    observed: npt.NDArray[np.floating],
    predicted: npt.NDArray[np.floating],
    weights: npt.NDArray[np.floating] | None = None,
    *,
    max_gain_change: tuple[float, ...] = (0.15, 0.12, 0.10, 0.05, 0.03, 0.03),
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`fit_gain_offset` with all bands at once (same rule; inputs already subsampled).

    Parameters
    ----------
    observed, predicted : float (6, P), all finite; weights : float (6, P) or None.
    """
    y = observed.astype(np.float64)
    x = predicted.astype(np.float64)
    w = np.ones_like(x) if weights is None else weights.astype(np.float64)
    offset = np.median(y - x, axis=1)
    keep = np.abs(y - x - offset[:, None]) < 0.1
    gain = np.ones(y.shape[0])
    limit = np.asarray(max_gain_change, dtype=np.float64)
    fitted = np.zeros(y.shape[0], dtype=bool)
    for _ in range(2):
        enough = keep.sum(axis=1) >= 10
        if not enough.any():
            break
        wk = np.where(keep, w, 0.0)
        sw = np.maximum(wk.sum(axis=1), 1e-30)
        xm = (wk * x).sum(axis=1) / sw
        ym = (wk * y).sum(axis=1) / sw
        var = (wk * (x - xm[:, None]) ** 2).sum(axis=1) / sw
        cov = (wk * (x - xm[:, None]) * (y - ym[:, None])).sum(axis=1) / sw
        g = np.where(var > 0.02**2, cov / np.maximum(var, 1e-30), 1.0)
        g = np.clip(g, 1.0 - limit, 1.0 + limit)
        o = ym - g * xm
        gain = np.where(enough, g, gain)
        offset = np.where(enough, o, offset)
        fitted |= enough
        resid = y - (offset[:, None] + gain[:, None] * x)
        rms = np.sqrt((wk * resid**2).sum(axis=1) / sw) + 1e-4
        keep = np.where(enough[:, None], np.abs(resid) < 3.0 * rms[:, None], keep)
    gain = np.where(fitted, gain, 1.0)
    return gain, offset
