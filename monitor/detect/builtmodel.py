"""The built-change model of before/after mode: is a candidate pixel's change about buildings?

A pixel whose spectrum changed a lot between two dates is a candidate; most candidates on
peri-urban and farm land are fields harvested, ploughed, sown or burnt, which look like
new soil or a new roof to a change vector. Only candidates that look like vegetation or
bare ground on both dates (:func:`vegetation_or_bare`) are judged: a roof that is plainly
a roof on either date is never vetoed. The model is a logistic function of evidence a
field and a building give differently: the indices of both dates (:mod:`indices`), how
much greenness went or came, how the brightness and its local texture changed, how large
the connected candidate area is and how much of its neighbourhood changed.

The coefficients are fitted (``benchmarks/compare_fit.py``) on the judged candidates of
simulator pairs from randomised worlds only, surface and emulated top-of-atmosphere alike:
a pixel of a planted new building, demolition or rebuilding is 1, everything else 0.
Never on OSCD or other labelled real pairs. Numpy and scipy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.detect.indices import indices
from monitor.detect.params import CompareParams

__all__ = [
    "CORE_FEATURES",
    "RED_EDGE_FEATURES",
    "BuiltChangeModel",
    "pair_features",
    "vegetation_or_bare",
    "built_probability",
    "SIX_BAND_MODEL",
    "RED_EDGE_MODEL",
]

#: Evidence of the six core bands, in column order.
CORE_FEATURES: tuple[str, ...] = (
    "log_magnitude",
    "ndvi_before",
    "ndvi_after",
    "ndbi_before",
    "ndbi_after",
    "mndwi_before",
    "mndwi_after",
    "bsi_before",
    "bsi_after",
    "visible_slope_before",
    "visible_slope_after",
    "greenness_lost",
    "greenness_gained",
    "log_brightness_ratio",
    "texture_change",
    "log_area_px",
    "changed_around",
)
#: Evidence the red-edge bands add.
RED_EDGE_FEATURES: tuple[str, ...] = ("ndre_before", "ndre_after")

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BuiltChangeModel:
    """``p = 1 / (1 + exp(-(intercept + sum_i weight_i (x_i - mean_i) / scale_i)))``."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float

    def __post_init__(self) -> None:
        n = len(self.features)
        if not len(self.mean) == len(self.scale) == len(self.weights) == n:
            raise ValueError("a model needs a mean, a scale and a weight per feature")

    @classmethod
    def from_rows(
        cls, intercept: float, rows: Sequence[tuple[str, float, float, float]]
    ) -> BuiltChangeModel:
        """A model from one row per feature: (name, mean, scale, weight)."""
        names, mean, scale, weights = zip(*rows, strict=True)
        return cls(tuple(names), tuple(mean), tuple(scale), tuple(weights), intercept)

    @property
    def uses_red_edge(self) -> bool:
        return any(f in RED_EDGE_FEATURES for f in self.features)


def _brightness(image: Array) -> Array:
    """Mean of the visible bands (the first three rows: blue, green, red)."""
    return np.asarray(np.mean(image[:3], axis=0), dtype=np.float32)


def _local_std(values: Array, size: int = 3) -> Array:
    mean = ndimage.uniform_filter(values, size, mode="nearest")
    square = ndimage.uniform_filter(values * values, size, mode="nearest")
    return np.asarray(np.sqrt(np.maximum(square - mean * mean, 0.0)), dtype=np.float32)


def vegetation_or_bare(
    ndvi: npt.ArrayLike, visible_slope: npt.ArrayLike, ndbi: npt.ArrayLike, params: CompareParams
) -> npt.NDArray[np.bool_]:
    """Where a date looks like vegetation or bare ground by its indices (see
    :class:`~monitor.detect.params.CompareParams`): what the model may judge."""
    ndvi, slope, ndbi = (np.asarray(v, dtype=np.float32) for v in (ndvi, visible_slope, ndbi))
    vegetated = (ndvi >= params.vegetated_min_ndvi) & (slope >= params.vegetated_min_slope)
    bare = (slope >= params.bare_min_slope) & (ndbi >= params.bare_min_ndbi)
    return np.asarray(vegetated | bare, dtype=bool)


def pair_features(
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    bands: Sequence[str],
    magnitude: npt.ArrayLike,
    candidates: npt.ArrayLike,
    *,
    red_edge: bool = False,
) -> npt.NDArray[np.float32]:
    """The evidence of each candidate pixel: float32 (P, F), columns :data:`CORE_FEATURES`
    (then :data:`RED_EDGE_FEATURES` with ``red_edge``), rows in ``candidates``' C order.

    Parameters
    ----------
    before, after : float (len(bands), rows, cols) composites, *after* normalised onto
        *before*; NaN where unknown (the candidates are known pixels).
    bands : band names of the rows; the six core bands first.
    magnitude : float (rows, cols) the smoothed standardised change.
    candidates : bool (rows, cols).
    """
    b = np.nan_to_num(np.asarray(before, dtype=np.float32))
    a = np.nan_to_num(np.asarray(after, dtype=np.float32))
    mask = np.asarray(candidates, dtype=bool)
    ib, ia = indices(b, bands), indices(a, bands)
    bright_b, bright_a = _brightness(b), _brightness(a)
    texture = _local_std(bright_a) - _local_std(bright_b)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel(), minlength=count + 1).astype(np.float32)
    around = ndimage.uniform_filter(mask.astype(np.float32), 7, mode="constant")
    greenness = ia["ndvi"] - ib["ndvi"]
    columns: dict[str, Array] = {
        "log_magnitude": np.log(np.maximum(np.asarray(magnitude, dtype=np.float32), 1e-3)),
        "greenness_lost": np.maximum(-greenness, 0.0),
        "greenness_gained": np.maximum(greenness, 0.0),
        "log_brightness_ratio": np.log(np.maximum(bright_a, 1e-3) / np.maximum(bright_b, 1e-3)),
        "texture_change": texture / np.maximum(0.5 * (bright_a + bright_b), 1e-3),
        "log_area_px": np.log(np.maximum(sizes[labels], 1.0)),
        "changed_around": around,
    }
    for name in ("ndvi", "ndbi", "mndwi", "bsi", "visible_slope", "ndre"):
        if name in ib:
            columns[f"{name}_before"], columns[f"{name}_after"] = ib[name], ia[name]
    names = CORE_FEATURES + (RED_EDGE_FEATURES if red_edge else ())
    missing = [n for n in names if n not in columns]
    if missing:
        raise ValueError(f"features {', '.join(missing)} need bands the pair does not have")
    return np.stack([np.asarray(columns[n], dtype=np.float32)[mask] for n in names], axis=1)


def built_probability(features: npt.ArrayLike, model: BuiltChangeModel) -> npt.NDArray[np.float32]:
    """The model's probability that each row's change is about buildings: float32 (P,)."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(model.features):
        raise ValueError(f"features of shape {x.shape} for a model of {len(model.features)}")
    z = (x - np.asarray(model.mean)) / np.asarray(model.scale)
    logit = model.intercept + z @ np.asarray(model.weights)
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30))), dtype=np.float32)


#: Fitted by benchmarks/compare_fit.py on random worlds 0-3 (c1; see docs/detector.md).
SIX_BAND_MODEL = BuiltChangeModel.from_rows(
    -5.0402,
    (
        # (feature, mean, scale, weight)
        ("log_magnitude", 1.77784, 0.40264, 0.6964),
        ("ndvi_before", 0.36693, 0.17061, -1.6478),
        ("ndvi_after", 0.34657, 0.2041, -3.7839),
        ("ndbi_before", -0.00069, 0.17878, -4.1149),
        ("ndbi_after", -0.00013, 0.16714, -5.8779),
        ("mndwi_before", -0.39104, 0.17361, 0.7107),
        ("mndwi_after", -0.37668, 0.16102, -3.1691),
        ("bsi_before", 0.02848, 0.14974, 7.1606),
        ("bsi_after", 0.02487, 0.14548, 2.0686),
        ("visible_slope_before", 0.11703, 0.12884, -1.363),
        ("visible_slope_after", 0.11538, 0.38938, -4.0967),
        ("greenness_lost", 0.11294, 0.13868, 3.477),
        ("greenness_gained", 0.09258, 0.15068, -0.0596),
        ("log_brightness_ratio", 0.1275, 0.4803, -0.1651),
        ("texture_change", 0.00727, 0.17874, 0.4675),
        ("log_area_px", 5.04849, 2.16338, -0.3653),
        ("changed_around", 0.61272, 0.2581, 0.6774),
    ),
)

#: Fitted the same way, with the red-edge bands, on the same worlds re-simulated with them.
RED_EDGE_MODEL = BuiltChangeModel.from_rows(
    -5.1877,
    (
        # (feature, mean, scale, weight)
        ("log_magnitude", 1.77784, 0.40264, 0.676),
        ("ndvi_before", 0.36693, 0.17061, -1.4733),
        ("ndvi_after", 0.34657, 0.2041, -4.1936),
        ("ndbi_before", -0.00069, 0.17878, -4.1013),
        ("ndbi_after", -0.00013, 0.16714, -5.2748),
        ("mndwi_before", -0.39104, 0.17361, 0.3549),
        ("mndwi_after", -0.37668, 0.16102, -2.9941),
        ("bsi_before", 0.02848, 0.14974, 6.2611),
        ("bsi_after", 0.02487, 0.14548, 2.0066),
        ("visible_slope_before", 0.11703, 0.12884, -1.3307),
        ("visible_slope_after", 0.11538, 0.38938, -3.7788),
        ("greenness_lost", 0.11294, 0.13868, 3.8746),
        ("greenness_gained", 0.09258, 0.15068, -0.4462),
        ("log_brightness_ratio", 0.1275, 0.4803, -0.0212),
        ("texture_change", 0.00727, 0.17874, 0.4993),
        ("log_area_px", 5.04849, 2.16338, -0.3857),
        ("changed_around", 0.61272, 0.2581, 0.7238),
        ("ndre_before", 0.26123, 0.13196, -1.3774),
        ("ndre_after", 0.24631, 0.1499, 1.4161),
    ),
)
