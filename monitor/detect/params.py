"""Every threshold of the detector, in one frozen, documented record.

Nothing in ``monitor.detect`` reads a setting from anywhere else: callers pass a
:class:`DetectorParams` (time-series mode) or :class:`CompareParams` (before/after mode).
Reflectances are surface reflectance (0-1); days are UTC calendar days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from monitor.detect.limits import STATED_LIMITS

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
    weak_fraction : a pixel holding a pending candidate, past this share of both
        ``z_anomaly`` and ``min_change``, also departs when it touches, in the same scene,
        a pixel past both (hysteresis); 1.0 turns it off.
    weak_months : calendar months (of the scene) in which ``weak_fraction`` applies.
    hold_ambiguous : a clear view of a pixel holding a pending candidate that is no
        reportable departure (under the thresholds, or departing but typed as no
        reportable change) yet does not match the model closely either (its change at
        least 0.75 ``min_change``: haze, a mixed pixel just under the threshold, a
        half-built site) neither extends nor rejects the candidate.
        On simulator seeds 0, 1, 3, 4 (c1, 4 AOIs), off -> on: recall 900-1,999 m2 73 ->
        100 of 143, >= 2,000 m2 142 -> 149 of 164, false alarms 15 -> 25 (one AOI-seed
        above 0.2 per km2 per year: seed 1 KK Park East, 2 in 3 km2), type right 80 % ->
        79 %, median dry-season latency unchanged. Off, a single such view reset a
        building's run of agreeing views (half of seed 4's misses of 2,000 m2 and more).
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
    familiar_exemplars : spectra kept per pixel of its own history (its most different
        states at the model fit, then what its rejected candidates showed); a departure
        near one of them is familiar, no evidence of change (:mod:`monitor.detect.familiar`:
        stubble every November is not a roof). 0 keeps none. Each costs 13 bytes a pixel.
    familiar_lags_days : the pixel's own model this many days off today is familiar too (a
        harvest or a flood a few weeks early or late). Empty: no lags.
    familiar_fraction, familiar_distance : a departure is familiar when its spectrum lies
        within this fraction of its distance from today's prediction of a familiar state,
        and within this Euclidean distance (reflectance) in absolute terms.
    familiar_persist : an observation of the training history is a state worth keeping when
        another one, days apart, lies within this distance (a lone cloud edge is not).
    scl_doubtful_limit, scl_doubtful_excess : a scene whose clear pixels SCL calls dark
        area, water or unclassified (2, 6, 7) for at least this share, and at least this
        much above the AOI's usual share, is no clear view (flag 3; low sun, hill shade,
        haze, thin cloud: :mod:`monitor.detect.sceneclass`). A limit above 1 turns it off.
    verify_min_probability : a confirmed object whose verification probability
        (:mod:`monitor.detect.verify`) is under this stays ``probable``. 0.3, chosen on
        random-world seeds 0-6 (c1): at 0.5 seeds 4-6 kept 51 of the 241 false alarms
        but found 91 of 122 changes of 2,000 m2 or more (103 without verification), at 0.3
        91 false alarms and 97 found; 0 turns the stage off.
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
    weak_fraction: float = 1.0
    hold_ambiguous: bool = True
    weak_months: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
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
    familiar_exemplars: int = 8
    familiar_lags_days: tuple[int, ...] = (-42, -28, -14, 14, 28, 42)
    familiar_fraction: float = 0.4
    familiar_distance: float = 0.06
    familiar_persist: float = 0.03
    scl_doubtful_limit: float = 0.5
    scl_doubtful_excess: float = 0.3
    verify_min_probability: float = 0.3

    def __post_init__(self) -> None:
        if not 1 <= self.n_probable <= self.n_confirm:
            raise ValueError("need 1 <= n_probable <= n_confirm")
        if self.n_confirm > self.buffer_size // 2:
            raise ValueError("n_confirm must be at most half of buffer_size")
        if self.min_train_obs > self.buffer_size:
            raise ValueError("min_train_obs must not exceed buffer_size")
        if not 0.0 < self.weak_fraction <= 1.0:
            raise ValueError("weak_fraction must lie in (0, 1]")
        if not all(1 <= m <= 12 for m in self.weak_months):
            raise ValueError("weak_months must be calendar months, 1 to 12")
        if not 0 <= self.familiar_exemplars <= 32:
            raise ValueError("familiar_exemplars must lie in 0..32")
        if self.harmonics not in (0, 1, 2):
            raise ValueError("harmonics must be 0, 1 or 2")
        for name in ("sigma_floor", "post_sigma", "band_weights"):
            if len(getattr(self, name)) != N_BANDS:
                raise ValueError(f"{name} needs {N_BANDS} values, one per band")


@dataclass(frozen=True)
class CompareParams:
    """Thresholds of the before/after comparison. Defaults chosen on simulator seeds 0 and 1
    (``benchmarks/compare_sim.py``), never on the OSCD labels ``benchmarks/oscd.py`` scores.

    Attributes
    ----------
    smooth_sigma_px : Gaussian smoothing of the change magnitude; single-pixel speckle
        (misregistration, noise) is not a building.
    threshold_method : ``"mad"`` (the median of the smoothed magnitude plus ``mad_k``
        scaled median absolute deviations) or ``"otsu"`` (on its logarithm). ``"mad"``: a
        change between two dates is rare (a few percent of pixels), a tail of the
        magnitude's distribution, not a second mode for Otsu to split; Otsu fell below
        ``min_threshold`` on 23 of the 24 seed-0 pairs and flagged 10-14 times as many
        pixels as were planted. Pixel F1 of the change class, mean of 12 pairs (4 window
        pairs x 3 AOIs), otsu -> mad: seed 0 one scene per window 0.170 -> 0.359,
        composites 0.285 -> 0.562; seed 1 0.202 -> 0.413, 0.354 -> 0.676.
    mad_k : see ``threshold_method``. 6: 8 was better on one scene per window on seed 0
        (0.378) and composites on seed 1 (0.690), worse on the two others (0.534, 0.395).
    min_threshold : the threshold never falls below this standardised magnitude, so two
        identical dates give no change.
    min_change : Euclidean change over the six bands (reflectance, smoothed like the
        magnitude) a pixel must also show: the time-series mode's ``min_change``, so a
        statistically unusual but physically small change (a crop a shade greener) is not
        a building. Removes almost nothing above the ``"mad"`` threshold on the simulator,
        surface or emulated top-of-atmosphere reflectance alike.
    invariant_fraction : share of pixels with the smallest change used to fit the
        radiometric normalisation (pseudo-invariant features).
    typed_only : keep only changes typed as construction, demolition, rebuilding, roof
        change or land clearing (drops crops, floods, regrowth). Off, F1 falls on every
        simulated run (seed 0 0.359 -> 0.313 and 0.562 -> 0.498; seed 1 0.413 -> 0.344
        and 0.676 -> 0.591), and with an emulated top-of-atmosphere pair too.
    min_pixels : minimum mapping unit, in 10 m pixels. 8 (800 m2, a small hall): from 4,
        F1 rose on all four simulated runs (0.359 -> 0.393, 0.562 -> 0.577, 0.413 ->
        0.435, 0.676 -> 0.713); 12 gained a little more but loses small buildings.
    max_misfit_ratio : a changed pixel whose best material swap leaves more than this
        share of its step unexplained is not typed (noise at the edge of a real change).
    register : estimate one shift of *after* against *before* and undo it before anything
        else (bilinear). With one scene per window, F1 0.393 -> 0.411 on seed 0 and
        0.435 -> 0.543 on seed 1 (a pair with a slipped scene: 0.32 -> 0.67).
    max_shift_px : larger estimated shifts are not trusted (none is undone).
    land_statistics : estimate the no-change statistics (each band's spread of the
        difference, the threshold's median and MAD) on land only, leaving out pixels that
        are open water on either date (NDWI > 0); every pixel is still tested.
    built_model : judge with the built-change model (:mod:`~monitor.detect.builtmodel`)
        the candidates that look like vegetation or bare ground on both dates: harvested,
        ploughed, sown and burnt fields are most of a change vector's false alarms there.
        Candidates that look built on either date (a blue or white roof, concrete) are not
        judged: the model, fitted on simulated worlds, must never veto the roofs monitored.
    min_built_probability : the model's probability a judged candidate must reach. 0.2:
        leaving each of random worlds 0-3 out of the fit in turn, the proxy F1 of building
        change (mean of the pairs, before typing and the mapping unit) was 0.384 at 0.2 and
        0.386 at 0.3 (0.267 without the model); the lower cut keeps a forest cleared for a
        site (0.27 on textbook spectra), which an analyst wants to see.
    vegetated_min_ndvi, vegetated_min_slope : a date looks vegetated with NDVI and the
        visible slope (red against blue) at least these (a blue metal roof has an NDVI of
        0.3-0.4, but a visible slope near -0.35).
    bare_min_slope, bare_min_ndbi : a date looks like bare ground (soil, stubble, a
        site) with the visible slope and NDBI at least these: soils are red (iron oxides)
        and brighter in SWIR-1 than in NIR.
    """

    smooth_sigma_px: float = 1.0
    threshold_method: str = "mad"
    mad_k: float = 6.0
    min_threshold: float = 2.0
    min_change: float = 0.07
    invariant_fraction: float = 0.5
    typed_only: bool = True
    min_pixels: int = 8
    max_misfit_ratio: float = 0.6
    register: bool = True
    max_shift_px: float = 1.6
    land_statistics: bool = True
    built_model: bool = True
    min_built_probability: float = 0.2
    vegetated_min_ndvi: float = 0.2
    vegetated_min_slope: float = -0.15
    bare_min_slope: float = 0.05
    bare_min_ndbi: float = -0.05

    def __post_init__(self) -> None:
        if self.threshold_method not in ("otsu", "mad"):
            raise ValueError("threshold_method must be 'otsu' or 'mad'")
        if self.max_shift_px < 0:
            raise ValueError("max_shift_px must not be negative")


def describe_params(params: DetectorParams | CompareParams) -> dict[str, object]:
    """The parameters as a plain dict, for run records and reports."""
    return {f.name: getattr(params, f.name) for f in fields(params)}


@dataclass(frozen=True)
class TimelineParams:
    """Thresholds of the built-up timeline and the claim check (docs/timeline.md).

    Attributes
    ----------
    clear_fraction : share of the AOI a scene must show clear (and the detector must have
        accepted) to count as a clear observation of a month.
    min_clear_observations : clear observations a month needs; fewer make it a gap.
    sure_share : a pixel judged at least this roofed counts in the band's low end.
    maybe_share : a pixel judged at least this roofed counts as wholly roofed in the high end.
    max_misfit : reflectance (Euclidean, six bands) beyond which no library mixture explains
        a pixel; its roof share is unknown (0 to 1).
    hidden_share : largest roof share a pixel can gain or lose without departing from its
        model (0.07 of reflectance over the six bands is the detector's ``min_change``;
        generic roof-to-rubble steps are 0.12-0.45): neighbours of a change may have
        changed that much unseen.
    min_step_share : a pending candidate whose roof share differs by less is no roof change.
    unverified_views : clear views in a row that no longer match a roofed pixel's model
        (beyond 3/4 of the detector's ``min_change``) before its roof counts as possibly
        gone, typed or confirmed by the detector or not.
    size_ratio : a claim in buildings is read as a share of roofed area assuming the
        buildings it names average between 1/size_ratio and size_ratio times the
        footprint of the others.
    resolvable_m2 : differences of roofed area below this are not evidence either way (the
        footprint the detector finds half the time, :data:`STATED_LIMITS`).
    stale_days : with no clear observation after the claim's date, a claim exceeding what
        was measured cannot be judged when the last clear observation is older than this.
    """

    clear_fraction: float = 0.5
    min_clear_observations: int = 1
    sure_share: float = 0.75
    maybe_share: float = 0.25
    max_misfit: float = 0.05
    hidden_share: float = 0.5
    min_step_share: float = 0.1
    unverified_views: int = 2
    size_ratio: float = 2.0
    resolvable_m2: float = STATED_LIMITS.area_m2_p50
    stale_days: int = 30

    def __post_init__(self) -> None:
        if not 0.0 < self.maybe_share <= self.sure_share <= 1.0:
            raise ValueError("need 0 < maybe_share <= sure_share <= 1")
        if self.size_ratio < 1.0:
            raise ValueError("size_ratio must be at least 1")
        if not 0.0 <= self.hidden_share <= 1.0:
            raise ValueError("hidden_share must lie in [0, 1]")
