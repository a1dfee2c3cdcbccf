"""The built-change model of before/after mode: is a candidate pixel's change about buildings?

A pixel whose spectrum changed a lot between two dates is a candidate; most candidates on
peri-urban and farm land are fields harvested, ploughed, sown or burnt, which look like
new soil or a new roof to a change vector. The model is a logistic function of evidence a
field and a building give differently: the indices of both dates (:mod:`indices`), how
much greenness went or came, how the brightness and its local texture changed, how large
the connected candidate area is and how much of its neighbourhood changed.

The coefficients are fitted (``benchmarks/compare_fit.py``) on candidates of simulator pairs
from randomised worlds only, surface and emulated top-of-atmosphere alike: a pixel of a
planted new building, demolition or rebuilding is 1, everything else 0. Never on OSCD or
other labelled real pairs. Numpy and scipy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.detect.indices import indices

__all__ = [
    "CORE_FEATURES",
    "RED_EDGE_FEATURES",
    "BuiltChangeModel",
    "pair_features",
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


#: Placeholder replaced by the fit of ``benchmarks/compare_fit.py`` (see the module text).
SIX_BAND_MODEL = BuiltChangeModel(
    features=CORE_FEATURES,
    mean=(0.0,) * len(CORE_FEATURES),
    scale=(1.0,) * len(CORE_FEATURES),
    weights=(0.0,) * len(CORE_FEATURES),
    intercept=0.0,
)

#: The model with the red-edge bands; None until one is fitted.
RED_EDGE_MODEL: BuiltChangeModel | None = None
