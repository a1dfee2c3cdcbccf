"""The faster alignment helpers give the same bits as the plain numpy they replace.

The detector's output must not move when its speed does, so each shortcut is checked
against the straightforward code (the rule as first written) on random inputs, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from monitor.detect.align import (
    _erode_twice,
    _median_rows,
    _pixel_sums,
    bilinear_at,
    estimate_shift_sampled,
    fit_gain_offset_fast,
)


def _pixel_major(rng: np.random.Generator, n_pix: int, scale: float = 0.1) -> np.ndarray:
    """A (6, P) float64 array laid out as the detector's ``a[:, idx]`` gives it."""
    full = rng.normal(0.1, scale, (6, n_pix + 7))
    return full[:, np.sort(rng.choice(n_pix + 7, n_pix, replace=False))]


def _reference_gain_offset(observed, predicted, weights, max_gain_change):
    """The gain/offset rule as first written (np.median, both trimming steps)."""
    y = observed.astype(np.float64)
    x = predicted.astype(np.float64)
    w = weights.astype(np.float64)
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
    return np.where(fitted, gain, 1.0), offset


@pytest.mark.parametrize("n_pix", [1, 2, 3, 10, 11, 4000, 4001])
def test_median_rows_is_numpys_median(n_pix: int) -> None:
    rng = np.random.default_rng(n_pix)
    values = np.round(rng.normal(0, 0.05, (6, n_pix)), 3)  # rounded: ties at the middle
    assert _median_rows(values).tobytes() == np.median(values, axis=1).tobytes()
    values[2, n_pix // 2] = np.nan
    assert np.array_equal(_median_rows(values), np.median(values, axis=1), equal_nan=True)


def test_erode_twice_is_scipys_erosion() -> None:
    rng = np.random.default_rng(0)
    for shape in [(1, 9), (2, 7), (3, 3), (5, 40), (37, 23), (100, 100)]:
        for density in (0.5, 0.8, 0.97):
            mask = rng.random(shape) < density
            expected = ndimage.binary_erosion(mask, iterations=2)
            assert np.array_equal(_erode_twice(mask), expected)


def test_pixel_sums_are_numpys_sums() -> None:
    rng = np.random.default_rng(1)
    for n_pix in (2, 9, 5000, 9926):
        a, b = _pixel_major(rng, n_pix), _pixel_major(rng, n_pix, scale=1e-3)
        assert a.flags.f_contiguous
        assert _pixel_sums(a, b).tobytes() == (a * b).sum(axis=1).tobytes()
        assert _pixel_sums(a).tobytes() == a.sum(axis=1).tobytes()
        # Band-major arrays keep numpy's own (pairwise) sum.
        c, d = np.ascontiguousarray(a), np.ascontiguousarray(b)
        assert _pixel_sums(c, d).tobytes() == (c * d).sum(axis=1).tobytes()


def test_gain_offset_is_the_rule_as_first_written() -> None:
    rng = np.random.default_rng(2)
    limits = (0.15, 0.12, 0.10, 0.05, 0.03, 0.03)
    for n_pix, true_gain, true_offset in [
        (5000, 1.04, 0.01),
        (9926, 0.9, -0.1),
        (600, 1.0, 0.0),
        (15, 1.2, 0.05),
    ]:
        predicted = _pixel_major(rng, n_pix).astype(np.float32)
        observed = (true_offset + true_gain * predicted).astype(np.float32)
        observed += rng.normal(0, 0.004, observed.shape).astype(np.float32)
        outliers = rng.random(n_pix) < 0.05  # clouds and changes
        observed[:, outliers] += 0.3
        weights = (1.0 / rng.uniform(0.01, 0.05, observed.shape) ** 2).astype(np.float32)
        # As the detector passes them: pixel-major float32 columns.
        cols = np.arange(n_pix)
        args = (observed[:, cols], predicted[:, cols], weights[:, cols])
        gain, offset = fit_gain_offset_fast(*args, max_gain_change=limits)
        ref_gain, ref_offset = _reference_gain_offset(*args, max_gain_change=limits)
        assert gain.tobytes() == ref_gain.tobytes()
        assert offset.tobytes() == ref_offset.tobytes()
    # Too few pixels within 0.1 of the median difference: offset only, gain 1.
    few = np.zeros((6, 8), dtype=np.float32)
    gain, offset = fit_gain_offset_fast(few + 0.05, few, np.ones_like(few))
    assert np.array_equal(gain, np.ones(6)) and np.allclose(offset, 0.05)


def _reference_bilinear(image, rows, cols):
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


def test_bilinear_is_the_reference_formula() -> None:
    rng = np.random.default_rng(3)
    image = rng.random((6, 40, 30)).astype(np.float32)
    rows = rng.uniform(-2, 42, 5000)  # edges held beyond the image
    cols = rng.uniform(-2, 32, 5000)
    got = bilinear_at(image, rows, cols)
    assert got.tobytes() == np.ascontiguousarray(_reference_bilinear(image, rows, cols)).tobytes()


def test_shift_same_from_image_or_pixel_list_and_found() -> None:
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:80, 0:80].astype(np.float64)
    pred = (np.sin(yy / 5.0) + np.cos(xx / 7.0) + 0.3 * np.sin((xx + yy) / 3.0)).astype(np.float32)
    dy, dx = 0.4, -0.3
    observed = (
        np.sin((yy - dy) / 5.0) + np.cos((xx - dx) / 7.0) + 0.3 * np.sin((xx - dx + yy - dy) / 3.0)
    ).astype(np.float32)
    usable = rng.random(pred.shape) < 0.9
    from_image = estimate_shift_sampled(observed, pred, usable)
    from_list = estimate_shift_sampled(observed[usable], pred, usable)
    assert from_image == from_list
    assert abs(from_image[0] - dy) < 0.1 and abs(from_image[1] - dx) < 0.1
