"""Scene alignment: each scene's shift, radiometric gain, offset against the model, undone.

Every scene is a little off: geolocated to a fraction of a pixel (now and then a whole one),
its atmospheric correction a percent or two out, its offset sometimes mis-set by 0.1. Each of
these moves every pixel of the scene together, so it is estimated from the whole AOI against
the per-pixel model's prediction for that day and removed before any pixel is judged.
Numpy only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

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
    # np.minimum/np.maximum: np.clip's own overhead is most of its cost on 10,000 values.
    r = np.minimum(np.maximum(rows, 0.0), n_rows - 1.0)
    c = np.minimum(np.maximum(cols, 0.0), n_cols - 1.0)
    r0 = np.minimum(np.floor(r).astype(np.intp), n_rows - 1)
    c0 = np.minimum(np.floor(c).astype(np.intp), n_cols - 1)
    fr = (r - r0).astype(np.float32)
    fc = (c - c0).astype(np.float32)
    r1 = np.minimum(r0 + 1, n_rows - 1)
    c1 = np.minimum(c0 + 1, n_cols - 1)
    # np.take gives band-major (bands, P) arrays, where the per-pixel weights broadcast
    # along contiguous rows; flat[:, i] gives pixel-major ones, where each such product
    # costs an inner-loop call per pixel (0.19 ms instead of 0.01 ms at 10,000 pixels).
    top_row, bottom_row = r0 * n_cols, r1 * n_cols
    fc_left = 1 - fc
    top = np.take(flat, top_row + c0, axis=1) * fc_left + np.take(flat, top_row + c1, axis=1) * fc
    bottom = (
        np.take(flat, bottom_row + c0, axis=1) * fc_left
        + np.take(flat, bottom_row + c1, axis=1) * fc
    )
    return np.asarray(top * (1 - fr) + bottom * fr, dtype=np.float32)


def _erode_twice(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """``ndimage.binary_erosion(mask, iterations=2)`` (4-neighbour cross, outside False),
    by slicing: a tenth of scipy's time on a 100 x 100 mask."""
    out = np.asarray(mask, dtype=bool)
    for _ in range(2):
        inner = np.zeros_like(out)
        inner[1:-1, 1:-1] = (
            out[1:-1, 1:-1] & out[:-2, 1:-1] & out[2:, 1:-1] & out[1:-1, :-2] & out[1:-1, 2:]
        )
        out = inner
    return out


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
    known = _erode_twice(usable)
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
        err -= _median_rows(err[None])[0]  # offsets are not shifts (np.median's value)
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


def _median_rows(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``np.median(values, axis=1)`` of a (bands, P) array, bit for bit, in about a third
    of its time: one partition at the upper middle, the lower middle as the maximum below
    it (np.median partitions at both and at the end, to find NaN)."""
    n = values.shape[1]
    if n < 2 or np.isnan(values).any():
        return np.asarray(np.median(values, axis=1), dtype=np.float64)
    half = n // 2
    part = np.partition(values, half, axis=1)
    upper = part[:, half]
    middle = upper[:, None] if n % 2 else np.stack([part[:, :half].max(axis=1), upper], axis=1)
    # np.median averages the middle values with np.mean; so does this.
    return np.asarray(np.mean(middle, axis=1), dtype=np.float64)


def _pixel_sums(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float64]:
    """``(a * b).sum(axis=1)`` (or ``a.sum(axis=1)``) of pixel-major (6, P) float64 arrays,
    bit for bit, in a third of its time.

    numpy sums the rows of a pixel-major array one pixel after the other, one inner-loop
    call per pixel (0.2 ms at 10,000 pixels); einsum forms the same products and adds them
    in the same order with less overhead per pixel (0.07 ms; tests/detect/
    test_speed_align.py checks the bits). Other layouts take numpy's own sum, whose order
    differs (contiguous rows are summed pairwise).
    """
    arrays = (a,) if b is None else (a, b)
    if all(v.flags.f_contiguous and not v.flags.c_contiguous for v in arrays):
        subscripts = "cp->c" if b is None else "cp,cp->c"
        out: npt.NDArray[np.float64] = np.einsum(subscripts, *arrays)
        return out
    return np.asarray(a.sum(axis=1) if b is None else (a * b).sum(axis=1), dtype=np.float64)


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

    Sums over pixels depend on the inputs' memory layout in their last bits (numpy sums a
    contiguous row pairwise, the rows of a pixel-major array one pixel after the other,
    see :func:`_pixel_sums`): the detector passes pixel-major arrays (what ``a[:, idx]``
    gives). The last step's trimming is skipped: nothing returned depends on it.
    """
    y = observed.astype(np.float64)
    x = predicted.astype(np.float64)
    w = np.ones_like(x) if weights is None else weights.astype(np.float64)
    offset = _median_rows(np.ascontiguousarray(y - x))
    keep = np.abs(y - x - offset[:, None]) < 0.1
    gain = np.ones(y.shape[0])
    limit = np.asarray(max_gain_change, dtype=np.float64)
    fitted = np.zeros(y.shape[0], dtype=bool)
    iterations = 2
    for step in range(iterations):
        # Counted on a band-major copy: a pixel-major bool sum costs a call per pixel.
        enough = np.count_nonzero(np.ascontiguousarray(keep), axis=1) >= 10
        if not enough.any():
            break
        wk = np.where(keep, w, 0.0)
        sw = np.maximum(_pixel_sums(wk), 1e-30)
        xm = _pixel_sums(wk, x) / sw
        ym = _pixel_sums(wk, y) / sw
        dx = x - xm[:, None]
        var = _pixel_sums(wk, dx**2) / sw
        cov = _pixel_sums(wk * dx, y - ym[:, None]) / sw
        g = np.where(var > 0.02**2, cov / np.maximum(var, 1e-30), 1.0)
        g = np.clip(g, 1.0 - limit, 1.0 + limit)
        o = ym - g * xm
        gain = np.where(enough, g, gain)
        offset = np.where(enough, o, offset)
        fitted |= enough
        if step == iterations - 1:
            break  # its trimmed set would not be used
        resid = y - (offset[:, None] + gain[:, None] * x)
        rms = np.sqrt(_pixel_sums(wk, resid**2) / sw) + 1e-4
        keep = np.where(enough[:, None], np.abs(resid) < 3.0 * rms[:, None], keep)
    gain = np.where(fitted, gain, 1.0)
    return gain, offset
