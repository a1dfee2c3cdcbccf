"""The verification stage: a learned weighing of a confirmed detection's evidence.

Four agreeing departing views make a candidate ``confirmed`` per pixel. On randomised
simulator worlds (crop calendars that move by weeks, monsoon onsets that move, roofs and
soils of every tint) most objects that passed that rule and were not real changes share a
look: fields (a large seasonal swing in the old model), first seen in the wet season,
typed land clearing, thin or ragged, greener or darker rather than brighter. A logistic
model of such evidence, fitted only on randomised worlds (``benchmarks/detector_accuracy.py
--fit-verify``, never on the seeds a figure is reported on), gives each object a
probability of being a real change. That probability is its confidence, and an object
whose probability stays under ``DetectorParams.verify_min_probability`` is reported
``probable``, not ``confirmed``: it is shown, never alerted as a finding.

Numpy only; the features are read from the detector's state for the object's pixels.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.detect.buffers import learning_reference
from monitor.detect.classify import CHANGE_CODES
from monitor.detect.fit import seasonal
from monitor.detect.state import LEARNING_NEW_COVER, DetectorState, decode_reflectance

__all__ = ["FEATURES", "VerifyModel", "UNFITTED", "DEFAULT_VERIFY", "features", "probability"]

#: Months of the south-west monsoon over the Moei valley (mostly overcast May-October).
WET_MONTHS = (5, 6, 7, 8, 9, 10)

#: The evidence, in the order of :attr:`VerifyModel.weights` (after the intercept).
FEATURES: tuple[str, ...] = (
    "log_score",  # ln of the mean standardised departure
    "log_pixels",  # ln of the object's size in pixels
    "wet",  # first seen in a wet-season month
    "seasonal",  # share of pixels whose old model swings in NDVI by 0.2 or more
    "compact",  # pixels over the area of their bounding box
    "d_ndvi_fields",  # NDVI now minus NDVI of the first model's annual mean, x seasonal
    "d_ndvi_other",  # the same, x (1 - seasonal): a roof's colour, not a crop
    "d_bright",  # mean reflectance change over the six bands
    "d_ndbi",  # (SWIR1 - NIR) / (SWIR1 + NIR): now minus before
    "gap_years",  # years between the last clear view before and the first seen
    "log_latency",  # ln(1 + days from first seen to confirmation)
    "wet_seasonal",  # wet x seasonal: a field in the monsoon
    "clearing_seasonal",  # land clearing x seasonal: a field's own bare season
    "construction",
    "demolition",
    "rebuilding",
    "roof_change",
    "land_clearing",
)


@dataclass(frozen=True)
class VerifyModel:
    """``p = 1 / (1 + exp(-(intercept + sum(weights * features))))``, features as
    :data:`FEATURES`; ``mean`` and ``scale`` standardise them first."""

    intercept: float
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    fitted_on: str = ""


def _ndvi(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (v[3] - v[2]) / np.maximum(v[3] + v[2], np.float32(1e-4))
    return out


def _ndbi(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (v[4] - v[3]) / np.maximum(v[4] + v[3], np.float32(1e-4))
    return out


def features(
    state: DetectorState,
    pixels: npt.NDArray[np.intp],
    change_type: str,
    mean_score: float,
    first_seen: dt.date,
    window_start: dt.date,
    confirmed_on: dt.date | None,
) -> tuple[float, ...]:
    """The evidence of one object (its flat ``pixels``), in the order of :data:`FEATURES`."""
    before = decode_reflectance(state["start_mean"][:, pixels])  # (6, P)
    learning = state["phase"][pixels] == LEARNING_NEW_COVER
    now = state["coef"][0][:, pixels].astype(np.float32)  # a refitted cover's annual mean
    if learning.any():
        now[:, learning] = learning_reference(state, pixels[learning])
    unknown = state["start_mean"][0, pixels] == 0
    if unknown.all():
        unknown[:] = False  # never happens for a modelled pixel; keeps the means finite
    keep = ~unknown
    b, n = before[:, keep], now[:, keep]
    rows, cols = np.divmod(pixels, state.shape[1])
    box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    code = CHANGE_CODES.get(change_type, 0)
    gap = (first_seen - window_start).days / 365.25 if window_start else 0.0
    latency = (confirmed_on - first_seen).days if confirmed_on is not None else 0
    wet = float(first_seen.month in WET_MONTHS)
    fields = float(seasonal(state, pixels, old_model=True).mean())
    clearing = float(code == CHANGE_CODES["land_clearing"])
    values = (
        math.log(max(mean_score, 1e-3)),
        math.log(max(pixels.size, 1)),
        wet,
        fields,
        float(pixels.size / box),
        float(np.mean(_ndvi(n) - _ndvi(b))) * fields,
        float(np.mean(_ndvi(n) - _ndvi(b))) * (1.0 - fields),
        float(np.mean(n - b)),
        float(np.mean(_ndbi(n) - _ndbi(b))),
        float(max(gap, 0.0)),
        math.log1p(max(latency, 0)),
        wet * fields,
        clearing * fields,
        *(
            float(code == CHANGE_CODES[name])
            for name in (
                "new_construction",
                "demolition",
                "rebuilding",
                "roof_change",
                "land_clearing",
            )
        ),
    )
    return values


def probability(values: tuple[float, ...], model: VerifyModel) -> float:
    """The model's probability (three decimals) that an object with ``values`` is real."""
    x = model.intercept + sum(
        w * (v - m) / s
        for w, v, m, s in zip(model.weights, values, model.mean, model.scale, strict=True)
    )
    return round(1.0 / (1.0 + math.exp(-max(min(x, 30.0), -30.0))), 3)


#: No model: objects keep the confirmation rule's status and the logistic confidence.
UNFITTED = VerifyModel(
    intercept=0.0,
    weights=(0.0,) * len(FEATURES),
    mean=(0.0,) * len(FEATURES),
    scale=(1.0,) * len(FEATURES),
    fitted_on="not fitted",
)

# Fitted by ``benchmarks/detector_accuracy.py --fit-verify`` on ``--no-verify`` dumps of
# randomised-world seeds 0-3 (style c1, the four demo AOIs, STATE_VERSION 4), ridge 1.
# Largest weights: NDVI falling (+), size (+), a field's seasonal swing (-), greening off
# fields (-), land clearing (-), slow confirmation (-), compactness (+). Left out in turn,
# each seed kept 70-84 % of its real objects and 2-20 % of its false ones.
FITTED = VerifyModel(
    intercept=-0.2584,
    weights=(
        0.6454,
        1.1275,
        0.1997,
        -1.1507,
        0.5178,
        -1.9731,
        -0.9898,
        -0.3555,
        -0.0657,
        0.3855,
        -0.6088,
        0.1403,
        -0.3773,
        0.2967,
        0.5418,
        -0.2175,
        0.1022,
        -0.7041,
    ),
    mean=(
        1.8080,
        2.6408,
        0.5583,
        0.2410,
        0.6074,
        -0.0411,
        -0.0589,
        0.0065,
        0.0501,
        0.0496,
        3.6613,
        0.1459,
        0.1115,
        0.3777,
        0.0936,
        0.0985,
        0.2332,
        0.1970,
    ),
    scale=(
        0.3342,
        0.8661,
        0.4966,
        0.3357,
        0.1782,
        0.0799,
        0.1261,
        0.0877,
        0.0905,
        0.0621,
        0.8734,
        0.2887,
        0.2755,
        0.4848,
        0.2913,
        0.2980,
        0.4228,
        0.3978,
    ),
    fitted_on="random-world seeds 0-3, c1, 4 demo AOIs (609 confirmed objects, 267 right)",
)

DEFAULT_VERIFY = FITTED
