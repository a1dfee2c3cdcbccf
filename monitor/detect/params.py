"""Every threshold of the detector, in one frozen, documented record.

Nothing in ``monitor.detect`` reads a setting from anywhere else: callers pass a
:class:`DetectorParams` (time-series mode) or :class:`CompareParams` (before/after mode).
Reflectances are surface reflectance (0-1); days are UTC calendar days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

__all__ = [
    "EPOCH",
    "day_number",
    "date_of",
    "BANDS",
    "N_BANDS",
    "DetectorParams",
    "CompareParams",
    "describe_params",
]

#: Day 0 of every day number the detector stores (Sentinel-2A launched 2015-06-23).
EPOCH = dt.date(2015, 1, 1)
#: Band order of every reflectance array the detector takes: B02 B03 B04 B08 B11 B12.
BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")
N_BANDS = len(BANDS)


def day_number(date: dt.date | dt.datetime) -> int:
    """Days since :data:`EPOCH` of a UTC day (aware datetimes are converted to UTC)."""
    if isinstance(date, dt.datetime):
        date = date.astimezone(dt.UTC).date() if date.tzinfo else date.date()
    return (date - EPOCH).days


def date_of(day: int) -> dt.date:
    """The UTC day of a day number."""
    return EPOCH + dt.timedelta(days=int(day))


@dataclass(frozen=True)
class DetectorParams:
    """Thresholds of the time-series detector. Defaults are tuned on simulator seeds 0 and 1.

    Attributes
    ----------
    buffer_size : observations kept per pixel while learning a cover (training, or the new
        cover after a change) and while a candidate change waits for confirmation.
    min_train_obs : clear observations needed before a pixel is modelled (and so flaggable).
    min_history_days : days the training observations must span; less than a year of
        history cannot tell a dry-season scrub from a cleared plot.
    harmonics : seasonal harmonics of the per-pixel model (1 annual, 2 annual + semi-annual).
    ridge : ridge penalty on harmonic terms, in observation-equivalents; keeps the seasonal
        curve tame across the monsoon, when clear observations are scarce.
    robust_iterations : bisquare reweighting passes of the training fit.
    sigma_floor : lowest residual scale per band (reflectance); noise plus wobble.
    post_sigma : residual scale per band for a freshly changed pixel, modelled by the median
        of its few post-change observations until it has a full year again.
    z_anomaly : standardised residual (root mean square over bands) above which a clear
        observation departs from the model. 3.5: at 5.0 a roof torn down to rubble in a
        mixed pixel (z about 3.5-4.5 on each view) never departed, and two thirds of the
        misses of 900 m2 and more were candidates that never gathered ``n_confirm``
        departures; persistence (``n_confirm``) and ``min_pixels``, not the single-view
        threshold, keep false alarms down.
    min_change : Euclidean change over the six bands (reflectance) a departure must also
        exceed, so well-fitted pixels do not alarm on tiny departures.
    band_weights : weight of each band in the standardised residual; blue counts half
        because haze and smoke load it most.
    n_probable : consecutive agreeing departing observations before a pixel is
        ``probable``. 2: with 1, single departures (a haze patch, the last view before
        the monsoon) left over 1,500 one-observation probable polygons on the demo.
    n_confirm : consecutive agreeing departing observations before it is ``confirmed``.
    agree_fraction : a departure agrees with the candidate's first one when their spectra
        lie closer than this fraction of the larger departure.
    revert_window_obs : after confirmation, while fewer than this many post-change
        observations exist, ``n_confirm`` observations matching the old model again turn
        the change into ``rejected``.
    retype_obs : a confirmed ``roof_change`` becomes a ``demolition`` when, with any view
        of its new cover until it has this many, the median of those views against the old
        model says bare ground replaced the roof: rubble, seen first, passes for a grey or
        concrete roof; the soil or site it leaves does not. 0 keeps the type given at
        confirmation. 10: on seeds 0-1, demolitions typed right 40/52 -> 49/52, nothing
        else changed.
    chain_days : a second change confirmed within this many days of the first (clearing
        then roof, demolition then roof) extends the first detection's type.
    max_scene_anomaly_fraction : when more than this share of a scene's modelled clear
        pixels depart, the scene is wrong as a whole (offset, haze, misregistration beyond
        repair) and gives no evidence either way.
    normalise : fit a per-band gain and offset between each scene and the model.
    register : estimate and undo each scene's shift against the model.
    max_shift_px : larger estimated shifts are not trusted.
    min_reference_pixels : modelled clear pixels needed to normalise or register a scene.
    min_pixels : minimum mapping unit of a detection, in 10 m pixels. 6: on seeds 0-1,
        11 of 15 false alarms were objects of 4-5 pixels; at 6 every AOI stays at or
        below 0.2 false alarms per km2 per year (Mae Sot and KK Park East included).
    merge_days : changed pixels that touch are one object when their first-seen dates
        lie within this many days.
    gap_days : a period longer than this without a clear observation is reported.
    clear_scene_fraction : share of an AOI's pixels that must be clear for a scene to count
        as a clear observation of the AOI in gap reports.
    """

    buffer_size: int = 16
    min_train_obs: int = 12
    min_history_days: int = 300
    harmonics: int = 2
    ridge: float = 2.0
    robust_iterations: int = 3
    sigma_floor: tuple[float, ...] = (0.010, 0.008, 0.008, 0.012, 0.010, 0.010)
    post_sigma: tuple[float, ...] = (0.020, 0.018, 0.018, 0.022, 0.020, 0.020)
    z_anomaly: float = 3.5
    min_change: float = 0.07
    band_weights: tuple[float, ...] = (0.5, 1.0, 1.0, 1.0, 1.0, 1.0)
    n_probable: int = 2
    n_confirm: int = 4
    agree_fraction: float = 0.6
    revert_window_obs: int = 6
    retype_obs: int = 10
    chain_days: int = 240
    max_scene_anomaly_fraction: float = 0.25
    normalise: bool = True
    register: bool = True
    max_shift_px: float = 1.6
    min_reference_pixels: int = 200
    min_pixels: int = 6
    merge_days: int = 45
    gap_days: int = 60
    clear_scene_fraction: float = 0.05

    def __post_init__(self) -> None:
        if not 1 <= self.n_probable <= self.n_confirm:
            raise ValueError("need 1 <= n_probable <= n_confirm")
        if self.n_confirm > self.buffer_size // 2:
            raise ValueError("n_confirm must be at most half of buffer_size")
        if self.min_train_obs > self.buffer_size:
            raise ValueError("min_train_obs must not exceed buffer_size")
        if self.harmonics not in (0, 1, 2):
            raise ValueError("harmonics must be 0, 1 or 2")
        for name in ("sigma_floor", "post_sigma", "band_weights"):
            if len(getattr(self, name)) != N_BANDS:
                raise ValueError(f"{name} needs {N_BANDS} values, one per band")


@dataclass(frozen=True)
class CompareParams:
    """Thresholds of the before/after comparison.

    Attributes
    ----------
    smooth_sigma_px : Gaussian smoothing of the change magnitude; single-pixel speckle
        (misregistration, noise) is not a building.
    threshold_method : ``"otsu"`` on the smoothed magnitude, or ``"mad"`` (median plus
        ``mad_k`` scaled median absolute deviations).
    mad_k : see ``threshold_method``.
    min_threshold : the threshold never falls below this standardised magnitude, so two
        identical dates give no change.
    min_change : Euclidean change over the six bands (reflectance, smoothed like the
        magnitude) a pixel must also show: the time-series mode's ``min_change``, so a
        statistically unusual but physically small change (a crop a shade greener) is not
        a building.
    invariant_fraction : share of pixels with the smallest change used to fit the
        radiometric normalisation (pseudo-invariant features).
    typed_only : keep only changes typed as construction, demolition, rebuilding, roof
        change or land clearing (drops crops, floods, regrowth).
    min_pixels : minimum mapping unit, in 10 m pixels.
    max_misfit_ratio : a changed pixel whose best material swap leaves more than this
        share of its step unexplained is not typed (noise at the edge of a real change).
    """

    smooth_sigma_px: float = 1.0
    threshold_method: str = "otsu"
    mad_k: float = 6.0
    min_threshold: float = 2.0
    min_change: float = 0.07
    invariant_fraction: float = 0.5
    typed_only: bool = True
    min_pixels: int = 4
    max_misfit_ratio: float = 0.6

    def __post_init__(self) -> None:
        if self.threshold_method not in ("otsu", "mad"):
            raise ValueError("threshold_method must be 'otsu' or 'mad'")


def describe_params(params: DetectorParams | CompareParams) -> dict[str, object]:
    """The parameters as a plain dict, for run records and reports."""
    return {f.name: getattr(params, f.name) for f in fields(params)}
