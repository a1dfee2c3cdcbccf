"""Before/after mode: two windows of scenes, their composites, what changed between them.

1. A composite per window: the per-band median of its clear observations.
2. Co-registration of *after* onto *before*: one whole-image shift (Level-1C pairs from
   before the Global Reference Image are often a fraction of a pixel apart, and every edge
   then reads as change).
3. Radiometric normalisation of *after* onto *before*: per-band gain and offset, fitted
   first on all pixels, then again on the pseudo-invariant half (smallest change).
4. Change vector: per-band differences standardised by their robust spread, its root mean
   square smoothed a little (one pixel of speckle is not a building), then an automatic
   threshold (median + k MAD of the magnitude by default, or Otsu), never below
   ``min_threshold``. The spreads, median and MAD are those of land pixels (open water on
   either date left out), while every pixel is tested.
5. The same typing as time-series mode (what appeared, what went) and the same objects.

It needs no SCL, so it works on Level-1C pairs such as OSCD. Numpy, scipy, scikit-image
and shapely only.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from skimage.filters import threshold_otsu

from monitor.detect.align import estimate_shift_sampled, fit_gain_offset
from monitor.detect.classify import NODATA_CODE, UNKNOWN_CODE, type_changes
from monitor.detect.confidence import DEFAULT_CONFIDENCE, ConfidenceModel, confidence
from monitor.detect.objects import (
    ChangeObject,
    ObjectInputs,
    PixelLayers,
    build_objects,
    label_objects,
)
from monitor.detect.params import N_BANDS, CompareParams, day_number
from monitor.models import Grid

__all__ = ["composite", "CompareResult", "compare_windows", "compare_objects", "BUILT_TYPES"]

#: Change codes that concern buildings (land clearing excluded), for urban-change scores.
BUILT_TYPES: tuple[int, ...] = (1, 2, 3, 4)


def composite(
    observations: Sequence[npt.NDArray[np.floating]],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Per-band median of clear observations.

    Parameters
    ----------
    observations : float (6, rows, cols) each, NaN where not clear.

    Returns
    -------
    median : float32 (6, rows, cols), NaN where no observation was clear.
    count : int32 (rows, cols) clear observations per pixel.
    """
    if not observations:
        raise ValueError("a composite needs at least one observation")
    stack = np.stack([np.asarray(o, dtype=np.float32) for o in observations])
    clear = np.asarray(np.isfinite(stack).all(axis=1), dtype=bool)  # (n, rows, cols)
    stack = np.where(clear[:, None], stack, np.nan)
    count = clear.sum(axis=0).astype(np.int32)
    if stack.shape[0] == 1:
        return stack[0], count
    with np.errstate(all="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
            median = np.nanmedian(stack, axis=0).astype(np.float32)
    return median, count


@dataclass(frozen=True, eq=False)
class CompareResult:
    """A before/after comparison on the AOI grid.

    codes : uint8 (rows, cols) the contract's classes (0 none, 1-5 types, 6 unknown type,
        255 outside or no data).
    magnitude : float32 (rows, cols) smoothed standardised change, NaN without data.
    threshold : the automatic threshold applied to ``magnitude``.
    before, after : float32 (6, rows, cols) composites, ``after`` co-registered and
        normalised onto ``before``.
    gain, offset : per band, ``after_raw ~ offset + gain * before``.
    score : float32 (rows, cols) ``magnitude`` with 0 where unknown (objects' mean score).
    shift : (rows, cols) pixels by which *after* was moved back onto *before*.
    """

    codes: npt.NDArray[np.uint8]
    magnitude: npt.NDArray[np.float32]
    threshold: float
    before: npt.NDArray[np.float32]
    after: npt.NDArray[np.float32]
    gain: tuple[float, ...]
    offset: tuple[float, ...]
    score: npt.NDArray[np.float32]
    shift: tuple[float, float] = (0.0, 0.0)

    @property
    def changed(self) -> npt.NDArray[np.bool_]:
        return np.asarray((self.codes > 0) & (self.codes != NODATA_CODE), dtype=bool)


def _smooth(
    values: npt.NDArray[np.float32], known: npt.NDArray[np.bool_], sigma: float
) -> npt.NDArray[np.float32]:
    """Gaussian smoothing that ignores unknown pixels (normalised convolution)."""
    if sigma <= 0:
        return values
    filled = np.where(known, values, 0.0)
    num = ndimage.gaussian_filter(filled, sigma, mode="nearest")
    den = ndimage.gaussian_filter(known.astype(np.float32), sigma, mode="nearest")
    out = np.where(known, num / np.maximum(den, 1e-6), np.nan)
    return out.astype(np.float32)


def _coregister(
    after: npt.NDArray[np.float32],
    before: npt.NDArray[np.float32],
    known: npt.NDArray[np.bool_],
    max_shift_px: float,
) -> tuple[npt.NDArray[np.float32], tuple[float, float]]:
    """``after`` resampled onto ``before`` where a whole-image shift between them shows.

    The shift is estimated on band sums over the pixels both composites see (Lucas-Kanade,
    :func:`~monitor.detect.align.estimate_shift_sampled`, offsets ignored; none beyond
    ``max_shift_px`` is trusted) and undone by bilinear resampling; pixels whose source
    lies outside ``after``'s known pixels become NaN. Shifts under 0.1 px are left alone
    (resampling blurs more than they misplace).

    Returns
    -------
    after : float32 (bands, rows, cols) on ``before``'s grid.
    shift : (rows, cols) in pixels that was undone, (0, 0) when none.
    """
    # Band sums, blurred a little: Lucas-Kanade linearises the image, and a sharp roof edge
    # is linear over a fraction of a pixel only.
    blur = partial(_smooth, known=known, sigma=1.0)
    fill = np.nan_to_num(blur(np.nansum(before, axis=0).astype(np.float32)))
    observed = np.nan_to_num(blur(np.nansum(after, axis=0).astype(np.float32)))
    dy, dx = estimate_shift_sampled(observed, fill, known, iterations=6, max_shift_px=max_shift_px)
    if np.hypot(dy, dx) < 0.1:
        return after, (0.0, 0.0)
    # observed(x) ~ before(x - s): after(x + s) is on before's grid.
    filled = np.where(np.isfinite(after), after, 0.0).astype(np.float32)
    moved = ndimage.shift(filled, (0.0, -dy, -dx), order=1, mode="nearest")
    valid = ndimage.shift(
        np.isfinite(after).all(axis=0).astype(np.float32),
        (-dy, -dx),
        order=1,
        mode="constant",
        cval=0.0,
    )
    return np.where(valid[None] > 0.999, moved, np.nan).astype(np.float32), (dy, dx)


def _land(
    before: npt.NDArray[np.float32], after: npt.NDArray[np.float32], known: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Known pixels that are not open water on either date (NDWI, green against NIR, <= 0).

    Only the no-change statistics use it, so a dark roof taken for water (top-of-atmosphere
    green is lifted by haze more than NIR) merely leaves the statistics. Falls back to every
    known pixel when less than a tenth of them is land.
    """
    with np.errstate(all="ignore"):
        wet = np.zeros(known.shape, dtype=bool)
        for image in (before, after):
            green, nir = image[1], image[3]
            wet |= (green - nir) > 0
    land = known & ~wet
    return land if land.sum() >= max(10, 0.1 * known.sum()) else known


def _threshold(values: npt.NDArray[np.float32], params: CompareParams) -> float:
    """The automatic threshold of the smoothed magnitude (``params.threshold_method``)."""
    if params.threshold_method == "otsu":
        return float(np.expm1(threshold_otsu(np.log1p(values))))  # type: ignore[no-untyped-call]
    med = float(np.median(values))
    return med + params.mad_k * 1.4826 * float(np.median(np.abs(values - med)))


def compare_windows(
    before: Sequence[npt.NDArray[np.floating]],
    after: Sequence[npt.NDArray[np.floating]],
    params: CompareParams,
    *,
    outside: npt.NDArray[np.bool_] | None = None,
) -> CompareResult:
    """Compare two windows of observations of one AOI.

    Parameters
    ----------
    before, after : float (6, rows, cols) reflectance per scene, NaN where not clear, in
        :data:`~monitor.detect.params.BANDS` order (top-of-atmosphere works too).
    params : thresholds.
    outside : bool (rows, cols) pixels outside the AOI, or None.

    Returns
    -------
    CompareResult
    """
    b, _ = composite(before)
    a_raw, _ = composite(after)
    if b.shape != a_raw.shape or b.shape[0] != N_BANDS:
        raise ValueError(f"before {b.shape} and after {a_raw.shape} must both be (6, rows, cols)")
    known = np.asarray(np.isfinite(b).all(axis=0) & np.isfinite(a_raw).all(axis=0), dtype=bool)
    if outside is not None:
        known &= ~outside
    shift = (0.0, 0.0)
    if params.register and known.sum() >= 10:
        a_raw, shift = _coregister(a_raw, b, known, params.max_shift_px)
        known &= np.isfinite(a_raw).all(axis=0)
    rows, cols = known.shape
    gain = np.ones(N_BANDS)
    offset = np.zeros(N_BANDS)
    a = a_raw.copy()
    magnitude = np.full((rows, cols), np.nan, dtype=np.float32)
    threshold = float("inf")
    if known.sum() >= 10:
        gain, offset = fit_gain_offset(a_raw[:, known], b[:, known])
        a = ((a_raw - offset[:, None, None]) / gain[:, None, None]).astype(np.float32)
        diff = a[:, known] - b[:, known]
        spread = 1.4826 * np.median(np.abs(diff - np.median(diff, axis=1, keepdims=True)), axis=1)
        raw = np.sqrt(np.mean((diff / np.maximum(spread, 1e-4)[:, None]) ** 2, axis=0))
        # Refit on the pseudo-invariant pixels: the half that changed least.
        calm = raw <= np.quantile(raw, params.invariant_fraction)
        gain, offset = fit_gain_offset(a_raw[:, known][:, calm], b[:, known][:, calm])
        a = ((a_raw - offset[:, None, None]) / gain[:, None, None]).astype(np.float32)
        diff = a[:, known] - b[:, known]
        # The no-change statistics (each band's spread, the threshold's median and MAD)
        # come from land: open water changes between any two dates (waves, glint,
        # turbidity) and, where it is a large share of the AOI (Hong Kong's harbour, 27 %
        # of the OSCD tile), it inflates the threshold for the land.
        land = _land(b, a, known) if params.land_statistics else known
        on_land = land[known]
        land_diff = diff[:, on_land]
        spread = 1.4826 * np.median(
            np.abs(land_diff - np.median(land_diff, axis=1, keepdims=True)), axis=1
        )
        z = diff / np.maximum(spread, 1e-4)[:, None]
        grid_mag = np.zeros((rows, cols), dtype=np.float32)
        grid_mag[known] = np.sqrt(np.mean(z**2, axis=0))
        magnitude = _smooth(grid_mag, known, params.smooth_sigma_px)
        grid_abs = np.zeros((rows, cols), dtype=np.float32)
        grid_abs[known] = np.sqrt(np.sum(diff**2, axis=0))
        absolute = _smooth(grid_abs, known, params.smooth_sigma_px)
        threshold = max(_threshold(magnitude[land], params), params.min_threshold)
    changed = known & (magnitude > threshold)
    if known.sum() >= 10:
        changed &= absolute >= params.min_change
    codes = np.zeros((rows, cols), dtype=np.uint8)
    if changed.any():
        typed = type_changes(
            b[:, changed].T, a[:, changed].T, max_misfit_ratio=params.max_misfit_ratio
        )
        codes[changed] = np.where(typed > 0, typed, 0 if params.typed_only else UNKNOWN_CODE)
    # Minimum mapping unit on the typed change.
    labels, count = ndimage.label(codes > 0, structure=np.ones((3, 3), dtype=bool))
    if count:
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        small = sizes < params.min_pixels
        small[0] = False
        codes[small[labels]] = 0
    codes[~known] = NODATA_CODE
    score = np.where(known, magnitude, 0.0).astype(np.float32)
    return CompareResult(
        codes=codes,
        magnitude=magnitude,
        threshold=threshold,
        before=b,
        after=a,
        gain=tuple(float(g) for g in gain),
        offset=tuple(float(o) for o in offset),
        score=score,
        shift=shift,
    )


def compare_objects(
    result: CompareResult,
    *,
    aoi_id: str,
    grid: Grid,
    before_last: dt.date,
    after_first: dt.date,
    before_ids: Sequence[str],
    after_ids: Sequence[str],
    simulated: bool,
    params: CompareParams,
    confidence_model: ConfidenceModel = DEFAULT_CONFIDENCE,
) -> list[ChangeObject]:
    """Objects of a comparison, with the contract's fields.

    ``first_seen`` and ``window_end`` are ``after_first`` (the first day of the after
    window); ``window_start`` is ``before_last``; status is ``confirmed`` (two composites
    agree with themselves by construction; there is no later observation to wait for).
    """
    mask = result.changed
    shape = mask.shape
    first = np.full(shape, day_number(after_first), dtype=np.int32)
    labels, count = label_objects(mask, first, merge_days=0)
    n_before, n_after = len(before_ids), len(after_ids)
    scene_ids = list(before_ids) + list(after_ids)
    layers = PixelLayers(
        status_of=np.full(shape, 2, dtype=np.uint8),
        code=result.codes,
        first_day=first,
        window_start=np.full(shape, day_number(before_last), dtype=np.int32),
        confirm_day=first,
        n_obs=np.full(shape, n_before + n_after, dtype=np.int32),
        score=result.score,
        scene_before=np.full(shape, n_before - 1, dtype=np.int32),
        scene_first=np.full(shape, n_before, dtype=np.int32),
    )
    inputs = ObjectInputs(
        grid=grid,
        aoi_id=aoi_id,
        layers=layers,
        scene_ids=scene_ids,
        min_pixels=params.min_pixels,
        simulated=simulated,
        kind="cmp",
        confidence_of=partial(confidence, model=confidence_model),
    )
    return build_objects(labels, count, inputs)
