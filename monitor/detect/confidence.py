"""Confidence of a detection: a logistic function of its evidence.

The coefficients are fitted (logistic regression of "matches a planted change" on the
features below, ``benchmarks/detector_accuracy.py --fit-confidence``) on the confirmed
detections of the tuning seeds 0 and 1 only; seeds 2 and 11 are held out for the reported
figures. ``confirmed`` is not fitted (every fitted detection is confirmed): a probable
object's confidence is that of a confirmed one lowered by it, a judgement, not a fit.
Numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ConfidenceModel", "DEFAULT_CONFIDENCE", "confidence"]


@dataclass(frozen=True)
class ConfidenceModel:
    """``p = 1 / (1 + exp(-(b0 + b_score ln z + b_pixels ln n_px + b_obs min(n_obs, 12)
    + b_confirmed [confirmed])))``."""

    # Fitted on seeds 0-1 (173 confirmed detections, 164 right; detector of issue 6,
    # session 2): bins 0.8-0.9 right 82 %, 0.9-1.0 right 99 %. n_obs is not fitted: it
    # grows with every later view of the new cover, so it measures age, not evidence.
    intercept: float = -4.102
    per_log_score: float = 1.287
    per_log_pixels: float = 1.438
    per_obs: float = 0.0
    confirmed: float = 1.2


DEFAULT_CONFIDENCE = ConfidenceModel()


def confidence(
    mean_score: float,
    n_pixels: int,
    n_obs: int,
    confirmed: bool,
    model: ConfidenceModel = DEFAULT_CONFIDENCE,
) -> float:
    """Probability (0-1, three decimals) that a detection is a real change.

    Parameters
    ----------
    mean_score : mean standardised departure of its departing observations.
    n_pixels : its size in 10 m pixels.
    n_obs : clear observations supporting it.
    confirmed : whether it reached ``confirmed``.
    """
    x = (
        model.intercept
        + model.per_log_score * math.log(max(mean_score, 1e-3))
        + model.per_log_pixels * math.log(max(n_pixels, 1))
        + model.per_obs * min(n_obs, 12)
        + (model.confirmed if confirmed else 0.0)
    )
    return round(1.0 / (1.0 + math.exp(-x)), 3)
