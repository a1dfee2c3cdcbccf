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
from monitor.detect.builtmodel import (
    RED_EDGE_MODEL,
    SIX_BAND_MODEL,
    BuiltChangeModel,
    built_probability,
    pair_features,
    vegetation_or_bare,
)
from monitor.detect.classify import NODATA_CODE, UNKNOWN_CODE, type_changes
from monitor.detect.confidence import DEFAULT_CONFIDENCE, ConfidenceModel, confidence
from monitor.detect.indices import indices
from monitor.detect.objects import (
    ChangeObject,
    ObjectInputs,
    PixelLayers,
    build_objects,
    label_objects,
)
from monitor.detect.params import BANDS, N_BANDS, CompareParams, day_number
from monitor.models import RED_EDGE_BANDS, Grid

__all__ = ["composite", "CompareResult", "compare_windows", "compare_objects", "BUILT_TYPES"]

#: Change codes that concern buildings (land clearing excluded), for urban-change scores.
BUILT_TYPES: tuple[int, ...] = (1, 2, 3, 4)


def composite(
    observations: Sequence[npt.NDArray[np.floating]],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Per-band median of clear observations.

    Parameters
    ----------
    observations : float (bands, rows, cols) each, NaN where not clear.

    Returns
    -------
    median : float32 (bands, rows, cols), NaN where no observation was clear.
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
    bands : band names of the composites' rows.
    candidates : bool (rows, cols) pixels whose change passed the threshold, before the
        built-change model.
    probability : float32 (rows, cols) the model's probability of a change about
        buildings, NaN where not a candidate (or the model is off).
    before_views, after_views : int32 (rows, cols) clear observations in each composite.
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
    bands: tuple[str, ...] = BANDS
    candidates: npt.NDArray[np.bool_] | None = None
    probability: npt.NDArray[np.float32] | None = None
    before_views: npt.NDArray[np.int32] | None = None
    after_views: npt.NDArray[np.int32] | None = None

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
    # The six core bands only: more bands would weigh the NIR-like ones four times.
    fill = np.nan_to_num(blur(np.nansum(before[:N_BANDS], axis=0).astype(np.float32)))
    observed = np.nan_to_num(blur(np.nansum(after[:N_BANDS], axis=0).astype(np.float32)))
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


@dataclass(frozen=True)
class _Normalised:
    """*after* co-registered and normalised onto *before*, and the pixels both know."""

    after: npt.NDArray[np.float32]
    known: npt.NDArray[np.bool_]
    gain: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    shift: tuple[float, float]


#: Largest gain change a red-edge band's normalisation may fit (as NIR's).
_RED_EDGE_MAX_GAIN_CHANGE = 0.05


def _normalise(
    b: npt.NDArray[np.float32],
    a_raw: npt.NDArray[np.float32],
    known: npt.NDArray[np.bool_],
    params: CompareParams,
) -> _Normalised:
    """Co-registration, then the radiometric normalisation: per-band gain and offset fitted
    on all known pixels, then again on the pseudo-invariant share that changed least (the
    six core bands decide which those are; any further band is fitted on them too)."""
    n_bands = b.shape[0]
    shift = (0.0, 0.0)
    if params.register and known.sum() >= 10:
        a_raw, shift = _coregister(a_raw, b, known, params.max_shift_px)
        known = known & np.isfinite(a_raw).all(axis=0)
    gain, offset = np.ones(n_bands), np.zeros(n_bands)
    if known.sum() < 10:
        return _Normalised(a_raw.copy(), known, gain, offset, shift)
    core = slice(0, N_BANDS)
    gain[core], offset[core] = fit_gain_offset(a_raw[core][:, known], b[core][:, known])
    a = ((a_raw - offset[:, None, None]) / gain[:, None, None]).astype(np.float32)
    diff = a[core][:, known] - b[core][:, known]
    raw = np.sqrt(np.mean((diff / _band_spread(diff)[:, None]) ** 2, axis=0))
    # Refit on the pseudo-invariant pixels: the share that changed least.
    calm = raw <= np.quantile(raw, params.invariant_fraction)
    gain[core], offset[core] = fit_gain_offset(
        a_raw[core][:, known][:, calm], b[core][:, known][:, calm]
    )
    if n_bands > N_BANDS:
        extra = slice(N_BANDS, n_bands)
        gain[extra], offset[extra] = fit_gain_offset(
            a_raw[extra][:, known][:, calm],
            b[extra][:, known][:, calm],
            max_gain_change=(_RED_EDGE_MAX_GAIN_CHANGE,) * (n_bands - N_BANDS),
        )
    a = ((a_raw - offset[:, None, None]) / gain[:, None, None]).astype(np.float32)
    return _Normalised(a, known, gain, offset, shift)


def _band_spread(diff: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """Each band's (row's) robust spread of its differences: 1.4826 MAD, at least 1e-4."""
    mad = np.median(np.abs(diff - np.median(diff, axis=1, keepdims=True)), axis=1)
    return np.asarray(np.maximum(1.4826 * mad, 1e-4))


def _magnitudes(
    b: npt.NDArray[np.float32],
    a: npt.NDArray[np.float32],
    known: npt.NDArray[np.bool_],
    params: CompareParams,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], float]:
    """The smoothed standardised change of the six core bands, their smoothed Euclidean
    change in reflectance, and the automatic threshold of the first.

    The no-change statistics (each band's spread, the threshold's median and MAD) come
    from land: open water changes between any two dates (waves, glint, turbidity) and,
    where it is a large share of the AOI (Hong Kong's harbour, 27 % of the OSCD tile), it
    inflates the threshold for the land.
    """
    rows, cols = known.shape
    diff = a[:N_BANDS, known] - b[:N_BANDS, known]
    land = _land(b, a, known) if params.land_statistics else known
    land_diff = diff[:, land[known]]
    z = diff / _band_spread(land_diff)[:, None]
    grid_mag = np.zeros((rows, cols), dtype=np.float32)
    grid_mag[known] = np.sqrt(np.mean(z**2, axis=0))
    magnitude = _smooth(grid_mag, known, params.smooth_sigma_px)
    grid_abs = np.zeros((rows, cols), dtype=np.float32)
    grid_abs[known] = np.sqrt(np.sum(diff**2, axis=0))
    absolute = _smooth(grid_abs, known, params.smooth_sigma_px)
    threshold = max(_threshold(magnitude[land], params), params.min_threshold)
    return magnitude, absolute, threshold


def _built_model_for(bands: Sequence[str], model: BuiltChangeModel | None) -> BuiltChangeModel:
    """The model given, else the fitted one the bands allow (red-edge when present)."""
    if model is not None:
        return model
    return RED_EDGE_MODEL if all(b in bands for b in RED_EDGE_BANDS) else SIX_BAND_MODEL


def _natural(
    image: npt.NDArray[np.float32], bands: Sequence[str], params: CompareParams
) -> npt.NDArray[np.bool_]:
    """Where a composite looks like vegetation or bare ground (:func:`vegetation_or_bare`)."""
    found = indices(np.nan_to_num(image), bands)
    return vegetation_or_bare(found["ndvi"], found["visible_slope"], found["ndbi"], params)


def compare_windows(
    before: Sequence[npt.NDArray[np.floating]],
    after: Sequence[npt.NDArray[np.floating]],
    params: CompareParams,
    *,
    outside: npt.NDArray[np.bool_] | None = None,
    bands: Sequence[str] = BANDS,
    model: BuiltChangeModel | None = None,
) -> CompareResult:
    """Compare two windows of observations of one AOI.

    Parameters
    ----------
    before, after : float (len(bands), rows, cols) reflectance per scene, NaN where not
        clear (top-of-atmosphere works too).
    params : thresholds.
    outside : bool (rows, cols) pixels outside the AOI, or None.
    bands : band names of the rows: :data:`~monitor.detect.params.BANDS` first, then any
        of the red-edge bands (``rededge1`` ... ``nir08``), which only the built-change
        model reads.
    model : the built-change model; None: the fitted one the bands allow.

    Returns
    -------
    CompareResult
    """
    bands = tuple(bands)
    if bands[:N_BANDS] != BANDS:
        raise ValueError(f"the bands must start with {', '.join(BANDS)}; got {', '.join(bands)}")
    b, before_views = composite(before)
    a_raw, after_views = composite(after)
    if b.shape != a_raw.shape or b.shape[0] != len(bands):
        raise ValueError(
            f"before {b.shape} and after {a_raw.shape} must both be ({len(bands)}, rows, cols)"
        )
    known = np.asarray(np.isfinite(b).all(axis=0) & np.isfinite(a_raw).all(axis=0), dtype=bool)
    if outside is not None:
        known &= ~outside
    norm = _normalise(b, a_raw, known, params)
    known, a = norm.known, norm.after
    rows, cols = known.shape
    magnitude = np.full((rows, cols), np.nan, dtype=np.float32)
    threshold = float("inf")
    candidates = np.zeros((rows, cols), dtype=bool)
    if known.sum() >= 10:
        magnitude, absolute, threshold = _magnitudes(b, a, known, params)
        candidates = known & (magnitude > threshold) & (absolute >= params.min_change)
    probability = np.full((rows, cols), np.nan, dtype=np.float32)
    changed = candidates.copy()
    if params.built_model and candidates.any():
        judged = candidates & _natural(b, bands, params) & _natural(a, bands, params)
        if judged.any():
            chosen = _built_model_for(bands, model)
            features = pair_features(
                b, a, bands, magnitude, candidates, red_edge=chosen.uses_red_edge
            )
            probability[candidates] = built_probability(features, chosen)
            probability[~judged] = np.nan
            changed &= ~judged | (probability >= params.min_built_probability)
    codes = _typed(b, a, changed, params)
    codes[~known] = NODATA_CODE
    score = np.where(known, magnitude, 0.0).astype(np.float32)
    return CompareResult(
        codes=codes,
        magnitude=magnitude,
        threshold=threshold,
        before=b,
        after=a,
        gain=tuple(float(g) for g in norm.gain),
        offset=tuple(float(o) for o in norm.offset),
        score=score,
        shift=norm.shift,
        bands=bands,
        candidates=candidates,
        probability=probability,
        before_views=before_views,
        after_views=after_views,
    )


def _typed(
    b: npt.NDArray[np.float32],
    a: npt.NDArray[np.float32],
    changed: npt.NDArray[np.bool_],
    params: CompareParams,
) -> npt.NDArray[np.uint8]:
    """The change codes of the changed pixels (material swap of the six core bands), then
    the minimum mapping unit on the typed change."""
    codes = np.zeros(changed.shape, dtype=np.uint8)
    if changed.any():
        typed = type_changes(
            b[:N_BANDS, changed].T,
            a[:N_BANDS, changed].T,
            max_misfit_ratio=params.max_misfit_ratio,
        )
        codes[changed] = np.where(typed > 0, typed, 0 if params.typed_only else UNKNOWN_CODE)
    labels, count = ndimage.label(codes > 0, structure=np.ones((3, 3), dtype=bool))
    if count:
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        small = sizes < params.min_pixels
        small[0] = False
        codes[small[labels]] = 0
    return codes


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
