"""Confidence of a detection: a logistic function of its evidence.

The coefficients are fitted (logistic regression of "matches a planted change" on the
features below, ``benchmarks/detector_accuracy.py --fit-confidence``) on the confirmed
detections of simulator seeds 0, 1, 3 and 4; seed 2 is held out for the reported figures.
``confirmed`` is not fitted (every fitted detection is confirmed): a probable object's
confidence is that of a confirmed one lowered by it, a judgement, not a fit.
Numpy only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

__all__ = ["ConfidenceModel", "DEFAULT_CONFIDENCE", "confidence"]


@dataclass(frozen=True)
class ConfidenceModel:
    """``p = 1 / (1 + exp(-(b0 + b_score ln z + b_pixels ln n_px + b_obs min(n_obs, 12)
    + b_confirmed [confirmed] + b_wet [first seen in a wet month])))``.

    The wet-season term: in the monsoon clear views are few and far between, cloud edges
    and shadows SCL misses are many, and the seasonal model is least constrained, so a
    departure first seen then is less often a real change (on seeds 0-1 most false alarms
    were first seen May-October). Before/after mode does not use it.
    """

    # Fitted on seeds 0, 1, 3 and 4 (c1; 377 confirmed detections, 352 right, 25 false
    # alarms; detector STATE_VERSION 3 with hold_ambiguous; ridge 1 on the
    # slopes). Seeds 3 and 4 were added for this fit (the seeds-0-1 fit learnt from 9 false
    # alarms and was over-confident on held-out seed 2). Fitted on three seeds and scored
    # on the fourth, pooled over the four: bin 0.7-0.8 right 13 of 18, 0.8-0.9 right 56 of
    # 67 (84 %), 0.9-1.0 right 275 of 283 (97 %). n_obs is not fitted: it grows with every
    # later view of the new cover, so it measures age, not evidence.
    intercept: float = -4.662
    per_log_score: float = 1.296
    per_log_pixels: float = 1.848
    per_obs: float = 0.0
    confirmed: float = 1.2
    wet: float = -0.903
    #: Months of the south-west monsoon over the Moei valley (MODIS cloud climatology:
    #: mostly overcast May-October).
    wet_months: tuple[int, ...] = (5, 6, 7, 8, 9, 10)


DEFAULT_CONFIDENCE = ConfidenceModel()


def confidence(
    mean_score: float,
    n_pixels: int,
    n_obs: int,
    confirmed: bool,
    model: ConfidenceModel = DEFAULT_CONFIDENCE,
    first_seen: dt.date | None = None,
) -> float:
    """Probability (0-1, three decimals) that a detection is a real change.

    Parameters
    ----------
    mean_score : mean standardised departure of its departing observations.
    n_pixels : its size in 10 m pixels.
    n_obs : clear observations supporting it.
    confirmed : whether it reached ``confirmed``.
    first_seen : the day it was first seen (time-series mode), for the wet-season term;
        None leaves the term out.
    """
    wet = first_seen is not None and first_seen.month in model.wet_months
    x = (
        model.intercept
        + model.per_log_score * math.log(max(mean_score, 1e-3))
        + model.per_log_pixels * math.log(max(n_pixels, 1))
        + model.per_obs * min(n_obs, 12)
        + (model.confirmed if confirmed else 0.0)
        + (model.wet if wet else 0.0)
    )
    return round(1.0 / (1.0 + math.exp(-x)), 3)
