"""Built-up timeline and claim checks, read from the time-series detector's per-pixel state.

The question analysts bring is "how much of this compound is still roofed, and when did that
change?", not "which pixels departed from their model". This module answers it from what
the detector already keeps (:class:`~monitor.detect.state.DetectorState`), without
reading imagery again:

1. **Roof share per pixel.** A 10 m pixel is usually a mixture. Its spectrum is explained
   by the best *two-material mixture* of the generic library of
   :mod:`monitor.detect.classify` (``a * m1 + (1 - a) * m2``); the share of roof materials
   in it (concrete, bright metal, grey metal, coated steel, tile or red paint) is the
   pixel's roof share. Asphalt, soil, rubble, vegetation, water and dark surfaces are not
   roofs. The spectrum at the start is the pixel's first fitted model (its annual mean,
   ``start_mean`` in the state; the current model for states written before it was kept).
2. **Steps.** Each confirmed change of the pixel (previous and current), its pending
   candidate and, for undetected mixed pixels at roof edges, an allowance, is a step of
   the roof share at a date known to lie in ``(window_start, first_seen]``. The share after
   a confirmed change is measured on the new cover's spectrum (its first observations, or
   its refitted model) and constrained by the change's type: a demolition can only lower
   it, a construction only raise it, a roof change or a clearing leaves it.
3. **Band.** Three sources of doubt widen each figure, never the best estimate itself:
   mixed pixels (a pixel judged less than 3/4 roofed may hold no roof, one judged at least
   1/4 roofed may be roofed throughout), unconfirmed changes and changes whose date is
   only known to lie in a window, and pixels the detector cannot see (never modelled, or no
   library mixture fits them: anything from no roof to all roof).

Pure numpy/scipy on arrays and dates: :func:`pixel_history` (state in), then
:func:`built_timeline` (per month) and :func:`check_claim` (one claim), frozen dataclasses
out. Thresholds are :class:`TimelineParams` fields; docs/timeline.md explains them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.detect import harmonic
from monitor.detect.classify import MATERIAL_SPECTRA, Material
from monitor.detect.limits import STATED_LIMITS
from monitor.detect.objects import label_objects
from monitor.detect.params import DetectorParams, date_of, day_number
from monitor.detect.state import (
    LEARNING_NEW_COVER,
    MONITORING,
    NO_DAY,
    TRAINING,
    DetectorState,
    decode_reflectance,
)
from monitor.months import months_between

__all__ = [
    "ROOF_MATERIALS",
    "CONSISTENT",
    "INCONSISTENT",
    "CANNOT_TELL",
    "BELOW_RESOLUTION",
    "VERDICTS",
    "TimelineParams",
    "roof_share",
    "PixelHistory",
    "pixel_history",
    "TimelineMonth",
    "BuiltTimeline",
    "built_timeline",
    "Claim",
    "ClaimCheck",
    "check_claim",
    "why_area_note",
]

#: Library materials that are roofs (a flat concrete roof and a concrete yard look alike at
#: 10 m; concrete counts as roofed, asphalt as road).
ROOF_MATERIALS: tuple[Material, ...] = (
    Material.CONCRETE,
    Material.BRIGHT_METAL,
    Material.GREY_METAL,
    Material.COATED_STEEL,
    Material.TILE_OR_RED_PAINT,
)

CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"
CANNOT_TELL = "cannot tell: not enough clear observations"
BELOW_RESOLUTION = "below what 10 m pixels can resolve"
#: Every verdict, in the words printed.
VERDICTS: tuple[str, ...] = (CONSISTENT, INCONSISTENT, CANNOT_TELL, BELOW_RESOLUTION)

# Change codes of the state (the contract's raster codes).
_NEW, _DEMOLITION, _REBUILDING, _ROOF, _CLEARING = 1, 2, 3, 4, 5
_CONFIRMED = 2
#: A day after every observation: the end of a window that never closes.
_NEVER = np.iinfo(np.int32).max
#: Pixels unmixed at once: roof_share's temporaries are about 50 MB per 4,096 (its peak
#: was 196 MB at 16,384, the largest part of a report's peak); the results do not depend
#: on it and the time hardly does (267,000 pixels: about 5 s either way).
_CHUNK = 4096


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


# --- roof share of a spectrum ---------------------------------------------------------------

_ROOF_WEIGHT = np.zeros(MATERIAL_SPECTRA.shape[0], dtype=np.float64)
_ROOF_WEIGHT[list(ROOF_MATERIALS)] = 1.0
#: The library's dark surface stands for shade: a roof in a building's shadow, or dimmer
#: than the library's, is a roof with some shade, not part roof, part something else.
_SHADE = int(Material.DARK_OR_BURNT)
#: Below this share of non-shade, a pixel is judged from too little light to call it roofed.
_MIN_LIT = 0.25
_SPECTRA = MATERIAL_SPECTRA.astype(np.float64)
_PAIR_A, _PAIR_B = np.triu_indices(MATERIAL_SPECTRA.shape[0])  # pairs and singles (a == b)
_STEP = _SPECTRA[_PAIR_A] - _SPECTRA[_PAIR_B]  # (Q, 6)
_STEP2 = (_STEP**2).sum(axis=1)
# Triples: two lit materials and shade.
_LIT = np.array([m for m in range(MATERIAL_SPECTRA.shape[0]) if m != _SHADE])
_TRI_A, _TRI_B = (_LIT[i] for i in np.triu_indices(_LIT.size, k=1))
_TRI_U = _SPECTRA[_TRI_A] - _SPECTRA[_SHADE]  # (T, 6)
_TRI_V = _SPECTRA[_TRI_B] - _SPECTRA[_SHADE]
_UU, _UV, _VV = ((_TRI_U**2).sum(1), (_TRI_U * _TRI_V).sum(1), (_TRI_V**2).sum(1))
_DET = _UU * _VV - _UV**2


def _shade_normalised(roof: npt.NDArray[np.float64],
                      shade: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.clip(roof / np.maximum(1.0 - shade, _MIN_LIT), 0.0, 1.0)


def roof_share(
    spectra: npt.NDArray[np.floating],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Roof share of each spectrum and how well its best library mixture fits.

    The mixture is one or two library materials, plus shade (the library's dark surface):
    ``a * m1 + b * m2 + (1 - a - b) * shade`` with non-negative shares. The roof share is
    the roof materials' part of the lit part (shade-normalised, as spectral mixture
    analysis does), so a roof dimmed by shadow or tone still counts whole.

    Parameters
    ----------
    spectra : float (P, 6) reflectance, bands B02 B03 B04 B08 B11 B12; NaN rows allowed.

    Returns
    -------
    share : float32 (P,) in [0, 1], NaN where the spectrum is NaN.
    misfit : float32 (P,) distance (reflectance) between the spectrum and the mixture.

    Examples
    --------
    >>> roof = MATERIAL_SPECTRA[Material.GREY_METAL]
    >>> grass = MATERIAL_SPECTRA[Material.GREEN_VEGETATION]
    >>> dark = MATERIAL_SPECTRA[Material.DARK_OR_BURNT]
    >>> share, _ = roof_share(np.stack([roof, 0.5 * roof + 0.5 * grass, grass,
    ...                                 0.6 * roof + 0.4 * dark]))
    >>> [round(float(s), 2) for s in share]
    [1.0, 0.5, 0.0, 1.0]
    """
    s = np.asarray(spectra, dtype=np.float64).reshape(-1, MATERIAL_SPECTRA.shape[1])
    share = np.full(s.shape[0], np.nan, dtype=np.float32)
    misfit = np.full(s.shape[0], np.nan, dtype=np.float32)
    rows = np.flatnonzero(np.isfinite(s).all(axis=1))
    # Squared misfits expanded into a few matrix products per chunk, so no (pixels,
    # models, bands) array is made: |x - B - a D|^2 = |x - B|^2 - 2 a (x - B).D + a^2 |D|^2.
    base = _SPECTRA[_PAIR_B]  # (Q, 6)
    base_dot_step = (base * _STEP).sum(axis=1)
    base2 = (base**2).sum(axis=1)
    single = _STEP2 <= 0
    shade_in_a = (_PAIR_A == _SHADE).astype(np.float64)
    shade_in_b = (_PAIR_B == _SHADE).astype(np.float64)
    shade_spectrum = _SPECTRA[_SHADE]
    for start in range(0, rows.size, _CHUNK):
        part = rows[start : start + _CHUNK]
        x = s[part]  # (P, 6)
        x2 = (x**2).sum(axis=1)[:, None]
        # One or two materials (shade among them), shares clipped to [0, 1].
        along = x @ _STEP.T - base_dot_step  # (x - B).D, (P, Q)
        a = np.clip(along / np.where(single, 1.0, _STEP2), 0.0, 1.0)
        a[:, single] = 1.0
        err2 = x2 - 2.0 * (x @ base.T) + base2 - 2.0 * a * along + a**2 * _STEP2
        roof = _shade_normalised(a * _ROOF_WEIGHT[_PAIR_A] + (1 - a) * _ROOF_WEIGHT[_PAIR_B],
                                 a * shade_in_a + (1 - a) * shade_in_b)
        # Two lit materials and shade, where all three shares come out non-negative (the
        # other cases are the pairs above).
        y = x - shade_spectrum
        yu, yv = y @ _TRI_U.T, y @ _TRI_V.T  # (P, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = (_VV * yu - _UV * yv) / _DET
            q = (_UU * yv - _UV * yu) / _DET
        inside = (p >= 0) & (q >= 0) & (p + q <= 1) & np.isfinite(p) & np.isfinite(q)
        tri_err2 = ((y**2).sum(axis=1)[:, None] - 2 * (p * yu + q * yv)
                    + p**2 * _UU + 2 * p * q * _UV + q**2 * _VV)
        tri_err2 = np.where(inside, tri_err2, np.inf)
        tri_roof = _shade_normalised(p * _ROOF_WEIGHT[_TRI_A] + q * _ROOF_WEIGHT[_TRI_B],
                                     1.0 - p - q)
        all_err2 = np.concatenate([err2, tri_err2], axis=1)
        all_roof = np.concatenate([roof, np.where(inside, tri_roof, 0.0)], axis=1)
        best = np.argmin(all_err2, axis=1)
        pick = np.arange(part.size)
        share[part] = all_roof[pick, best]
        misfit[part] = np.sqrt(np.maximum(all_err2[pick, best], 0.0))
    return share, misfit


# --- per-pixel history --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PixelHistory:
    """Each pixel's roof share at the start and its steps since, over the whole AOI grid.

    Arrays are flat over the grid's pixels (N = rows * cols); steps are on axis 0 (S).

    Attributes
    ----------
    shape : (rows, cols) of the AOI grid.
    pixel_area_m2 : area of one pixel.
    start : float32 (N,) roof share at the start (best estimate).
    unknown : bool (N,) pixels whose roof share cannot be told (never modelled, or no
        library mixture fits): the band takes them as anything from no roof to all roof.
    modelled : bool (N,) pixels the detector can flag.
    before, after : float32 (S, N) roof share on either side of each step.
    window_start, first_seen : int32 (S, N) day numbers: the step happened after
        ``window_start`` (the last clear observation that still showed the old cover) and
        on or before ``first_seen``; ``first_seen`` is :data:`_NEVER` for a window that
        never closes.
    certain : bool (S, N) confirmed by the detector (others are possible only).
    active : bool (S, N) the step exists.
    scene_days, scene_clear, scene_flags : the state's scene list (day numbers, AOI clear
        fraction, detector flag: 0 used, 1 no clear pixel, 2 judged wrong as a whole).
    """

    shape: tuple[int, int]
    pixel_area_m2: float
    start: npt.NDArray[np.float32]
    unknown: npt.NDArray[np.bool_]
    modelled: npt.NDArray[np.bool_]
    before: npt.NDArray[np.float32]
    after: npt.NDArray[np.float32]
    window_start: npt.NDArray[np.int32]
    first_seen: npt.NDArray[np.int32]
    certain: npt.NDArray[np.bool_]
    active: npt.NDArray[np.bool_]
    scene_days: tuple[int, ...]
    scene_clear: tuple[float, ...]
    scene_flags: tuple[int, ...]

    @property
    def n_pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    def clear_days(self, params: TimelineParams) -> list[int]:
        """Day numbers of the clear observations of the AOI, in order."""
        return [
            d
            for d, c, f in zip(self.scene_days, self.scene_clear, self.scene_flags, strict=True)
            if f == 0 and c >= params.clear_fraction
        ]


def _model_part_median(state: DetectorState, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Median spectrum (P, 6) of the buffer slots outside the candidate part; NaN if none."""
    refl = decode_reflectance(state["buf_refl"][:, :, idx].astype(np.uint16))  # (B, 6, P)
    n_model = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    unused = np.arange(state.buffer_size)[:, None] >= n_model[None, :]
    refl[np.broadcast_to(unused[:, None, :], refl.shape)] = np.inf
    med = harmonic.median_of_used(refl.transpose(2, 0, 1), n_model).astype(np.float32)
    med[n_model <= 0] = np.nan
    return np.asarray(med, dtype=np.float32)


def _candidate_mean(state: DetectorState, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Mean spectrum (P, 6) of each pixel's pending candidate observations."""
    refl = decode_reflectance(state["buf_refl"][:, :, idx].astype(np.uint16))  # (B, 6, P)
    n = state["buf_n"][idx].astype(np.intp)
    c = state["cand_n"][idx].astype(np.intp)
    slots = np.arange(state.buffer_size)[:, None]
    inside = ((slots >= (n - c)[None, :]) & (slots < n[None, :])).astype(np.float32)
    total = np.einsum("bcp,bp->pc", refl, inside)
    return np.asarray(total / np.maximum(c, 1)[:, None], dtype=np.float32)


def _direction(code: npt.NDArray[Any]) -> npt.NDArray[np.int8]:
    """+1 roofs appear, -1 roofs go, 0 roofs stay (roof change, clearing), 2 unknown."""
    out = np.full(code.shape, 2, dtype=np.int8)
    out[code == _NEW] = 1
    out[code == _DEMOLITION] = -1
    out[(code == _ROOF) | (code == _CLEARING)] = 0
    return out


def _constrain(
    before: npt.NDArray[np.float32], after: npt.NDArray[np.float32], direction: npt.NDArray[np.int8]
) -> npt.NDArray[np.float32]:
    """The share after a step, kept on the side its type allows."""
    out = after.copy()
    out = np.where(direction == 1, np.maximum(out, before), out)
    out = np.where(direction == -1, np.minimum(out, before), out)
    out = np.where(direction == 0, before, out)
    return np.asarray(out, dtype=np.float32)


class _Steps:
    """Step arrays under construction (S slots of N pixels)."""

    def __init__(self, n: int) -> None:
        self.before: list[npt.NDArray[np.float32]] = []
        self.after: list[npt.NDArray[np.float32]] = []
        self.ws: list[npt.NDArray[np.int32]] = []
        self.fd: list[npt.NDArray[np.int32]] = []
        self.certain: list[npt.NDArray[np.bool_]] = []
        self.active: list[npt.NDArray[np.bool_]] = []
        self.n = n

    def add(
        self,
        active: npt.NDArray[np.bool_],
        before: npt.NDArray[np.floating],
        after: npt.NDArray[np.floating],
        window_start: npt.NDArray[np.integer],
        first_seen: npt.NDArray[np.integer],
        certain: bool | npt.NDArray[np.bool_],
    ) -> None:
        self.active.append(np.asarray(active, dtype=bool))
        self.before.append(np.where(active, before, 0.0).astype(np.float32))
        self.after.append(np.where(active, after, 0.0).astype(np.float32))
        self.ws.append(np.where(active, window_start, NO_DAY).astype(np.int32))
        self.fd.append(np.where(active, first_seen, _NEVER).astype(np.int32))
        self.certain.append(np.asarray(active, dtype=bool) & certain)


def pixel_history(
    state: DetectorState,
    params: TimelineParams | None = None,
    *,
    pixel_area_m2: float = 100.0,
    detector: DetectorParams | None = None,
    held_back: Mapping[str, npt.NDArray[np.bool_]] | None = None,
) -> PixelHistory:
    """Each pixel's roof share at the start and its dated steps, from a detector state.

    Parameters
    ----------
    state : the AOI's detector state (after every scene it has seen).
    params : timeline thresholds.
    pixel_area_m2 : area of one grid pixel (10 m pixels: 100).
    detector : the parameters the state was built with: a confirmed pixel dates a change
        only inside an object the detector reports (``min_pixels``, ``merge_days``).
    held_back : confirmed pixels of the current (``"c"``) and previous (``"p"``) change
        whose object the verification reports as probable (``readout.held_back``): their
        steps are possible, not certain.
    """
    params = params or TimelineParams()
    detector = detector or DetectorParams()
    n = state.n_pixels
    phase = state["phase"]
    modelled = phase != TRAINING

    # The current reference of every pixel: its model, the new cover it is learning, or
    # (never modelled) what its training observations show.
    now_spectrum = np.full((n, 6), np.nan, dtype=np.float32)
    monitoring = np.flatnonzero(phase == MONITORING)
    now_spectrum[monitoring] = state["coef"][0][:, monitoring].T
    for chosen in (np.flatnonzero(phase == LEARNING_NEW_COVER), np.flatnonzero(~modelled)):
        if chosen.size:
            now_spectrum[chosen] = _model_part_median(state, chosen)
    now_share, now_misfit = roof_share(now_spectrum)

    c_confirmed = _in_objects(state["c_status"] == _CONFIRMED, state["c_first_day"],
                              state.shape, detector)
    p_confirmed = _in_objects(state["p_status"] == _CONFIRMED, state["p_first_day"],
                              state.shape, detector)
    changed = c_confirmed | p_confirmed

    # The first model's mean spectrum; states written before it was kept fall back on the
    # current model where no confirmed change replaced it.
    start_coded = state.pixels.get("start_mean")
    if start_coded is not None and start_coded.shape == (6, n):
        recorded = start_coded[0] != 0
        start_spectrum = np.where(recorded[:, None], decode_reflectance(start_coded).T, np.nan)
        start_share, start_misfit = roof_share(start_spectrum)
    else:
        recorded = np.zeros(n, dtype=bool)
        start_share = np.full(n, np.nan, dtype=np.float32)
        start_misfit = np.full(n, np.nan, dtype=np.float32)
    fallback = ~recorded & (~changed | ((phase == LEARNING_NEW_COVER) & ~p_confirmed))
    # A pixel learning its first new cover still holds its first model in ``coef``.
    learning_first = fallback & (phase == LEARNING_NEW_COVER)
    if learning_first.any():
        idx = np.flatnonzero(learning_first)
        s, m = roof_share(state["coef"][0][:, idx].T)
        start_share[idx], start_misfit[idx] = s, m
    plain = fallback & ~learning_first
    start_share[plain], start_misfit[plain] = now_share[plain], now_misfit[plain]

    unknown = (
        ~modelled
        | ~np.isfinite(start_share)
        | (start_misfit > params.max_misfit)
        | (changed & ~recorded & ~learning_first & (phase == MONITORING))
    )
    fill = float(np.nanmean(start_share[~unknown])) if (~unknown).any() else 0.0
    start = np.where(np.isfinite(start_share), start_share, fill).astype(np.float32)
    now = np.where(np.isfinite(now_share), now_share, start).astype(np.float32)

    steps = _Steps(n)
    _confirmed_steps(state, steps, start, now, c_confirmed, p_confirmed, held_back or {})

    # Pending candidates: possible steps, by the spectrum of their departing observations.
    last_level = _last_after(steps, start)
    pending = (state["cand_n"] > 0) & modelled
    cand_after = last_level.copy()
    if pending.any():
        idx = np.flatnonzero(pending)
        share, misfit = roof_share(_candidate_mean(state, idx))
        good = np.isfinite(share) & (misfit <= params.max_misfit)
        cand_after[idx[good]] = share[good]
    moves = pending & (np.abs(cand_after - last_level) >= params.min_step_share)
    steps.add(moves, last_level, cand_after, state["cand_window_start"], state["cand_first_day"],
              certain=False)

    _edge_steps(state, steps, start, unknown, modelled, params)
    # Pixels the detector cannot see may have lost or gained their roofs at any time.
    blind = ~modelled
    steps.add(blind, start, np.zeros(n, np.float32), np.full(n, NO_DAY), np.full(n, _NEVER),
              certain=False)
    steps.add(blind, start, np.ones(n, np.float32), np.full(n, NO_DAY), np.full(n, _NEVER),
              certain=False)

    return PixelHistory(
        shape=state.shape,
        pixel_area_m2=float(pixel_area_m2),
        start=start,
        unknown=unknown,
        modelled=modelled,
        before=np.stack(steps.before),
        after=np.stack(steps.after),
        window_start=np.stack(steps.ws),
        first_seen=np.stack(steps.fd),
        certain=np.stack(steps.certain),
        active=np.stack(steps.active),
        scene_days=tuple(int(d) for d in state.scene_days),
        scene_clear=tuple(float(c) for c in state.scene_clear),
        scene_flags=tuple(int(f) for f in state.scene_flags),
    )


def _last_after(steps: _Steps, start: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The share after each pixel's last active step so far (``start`` where none)."""
    out = start.copy()
    for active, after in zip(steps.active, steps.after, strict=True):
        out = np.where(active, after, out).astype(np.float32)
    return out


def _in_objects(
    confirmed: npt.NDArray[np.bool_],
    first_day: npt.NDArray[np.integer],
    shape: tuple[int, int],
    detector: DetectorParams,
) -> npt.NDArray[np.bool_]:
    """Confirmed pixels of objects of at least ``detector.min_pixels``, made as the
    detector makes them: a lone confirmed pixel, or a few first seen weeks before the
    demolition they touch, are no reported detection and must not date a change (they put
    the east test archive's first removals in September, before its demolitions)."""
    days = np.where(confirmed, first_day, -1).reshape(shape)
    labels, count = label_objects(confirmed.reshape(shape), days, detector.merge_days)
    if count == 0:
        return confirmed
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    big = sizes >= detector.min_pixels
    big[0] = False
    kept: npt.NDArray[np.bool_] = big[labels.ravel()]
    return kept


def _confirmed_steps(
    state: DetectorState,
    steps: _Steps,
    start: npt.NDArray[np.float32],
    now: npt.NDArray[np.float32],
    c_confirmed: npt.NDArray[np.bool_],
    p_confirmed: npt.NDArray[np.bool_],
    held_back: Mapping[str, npt.NDArray[np.bool_]],
) -> None:
    """Steps of the previous and current confirmed changes (a rebuilding is two steps);
    those of pixels ``held_back`` by the verification are possible steps only."""
    n = state.n_pixels
    zero = np.zeros(n, dtype=np.float32)
    p_dir = _direction(state["p_type"])
    c_dir = _direction(state["c_type"])
    # The previous change's share after it: only the current model is known, so the type
    # decides (a roof gone is gone; a roof that appeared is at least what it is now).
    p_last = p_confirmed & ~c_confirmed
    p_after = np.where(
        p_last,
        now,
        np.where(
            (p_dir == 0) | (p_dir == 2),
            start,
            np.where(c_dir == 0, now, np.where(p_dir < 0, zero, np.maximum(start, now))),
        ),
    ).astype(np.float32)
    level = start
    for slot, confirmed, after_raw in (
        ("p", p_confirmed, p_after),
        ("c", c_confirmed, now),
    ):
        code = state[f"{slot}_type"]
        direction = _direction(code)
        ws = state[f"{slot}_window_start"]
        fd = state[f"{slot}_first_day"]
        last = state[f"{slot}_last_step_day"]
        two_steps = confirmed & (state[f"{slot}_steps"] >= 2)
        rebuild = confirmed & (code == _REBUILDING)
        late_roof = two_steps & (code == _NEW)
        # A rebuilding: the old roof goes when first seen, the new one is on by the last
        # step (its confirmation). A construction chained from a clearing: the roof came
        # after the clearing was first seen and by the last step.
        plain = confirmed & ~rebuild
        certain = ~np.asarray(held_back.get(slot, np.zeros(n, dtype=bool)), dtype=bool)
        after = _constrain(level, after_raw, direction)
        steps.add(
            plain,
            level,
            after,
            np.where(late_roof, fd, ws),
            np.where(late_roof, last, fd),
            certain=certain,
        )
        if rebuild.any():
            steps.add(rebuild, level, zero, ws, fd, certain=certain)
            steps.add(rebuild, zero, after_raw, fd, np.where(two_steps, last, fd),
                      certain=certain)
        level = np.where(confirmed, np.where(rebuild, after_raw, after), level).astype(np.float32)


def _edge_steps(
    state: DetectorState,
    steps: _Steps,
    start: npt.NDArray[np.float32],
    unknown: npt.NDArray[np.bool_],
    modelled: npt.NDArray[np.bool_],
    params: TimelineParams,
) -> None:
    """Possible steps of pixels the detector reported nothing about.

    Mixed pixels at roof edges: a roof's edge pixel holds part of the roof, and losing or
    gaining it may stay below the detector's threshold. Each modelled pixel without a step
    of its own, touching (8 neighbours) a pixel whose roof share went down (up), may have
    lost (gained) up to ``hidden_share`` of its own, within the union of its neighbours'
    windows.

    Unverified pixels: a roofed pixel (at least ``maybe_share``) whose latest clear
    observations no longer match its model, though the detector typed or confirmed no
    change (rubble that looks like soil to the typing, a candidate that never gathered
    agreeing views), may have lost its roof since it last matched.
    """
    shape = state.shape
    n = start.size
    quiet = modelled & ~unknown
    match_day = state.pixels.get("match_day")
    miss_day = state.pixels.get("miss_day")
    miss_n = state.pixels.get("miss_n")
    if steps.active:
        quiet &= ~np.stack(steps.active).any(axis=0)
    if match_day is not None and miss_day is not None and miss_n is not None:
        unverified = (quiet & (miss_n >= params.unverified_views)
                      & (start >= params.maybe_share))
        unverified_ws = np.where(unverified, match_day, _NEVER).astype(np.int32)
        unverified_fd = np.where(unverified, miss_day, NO_DAY).astype(np.int32)
    else:
        unverified = np.zeros(n, dtype=bool)
        unverified_ws = np.full(n, _NEVER, dtype=np.int32)
        unverified_fd = np.full(n, NO_DAY, dtype=np.int32)
    footprint = np.ones((3, 3), dtype=bool)
    for sign in (-1, 1):
        touched = np.zeros(n, dtype=bool)
        near_ws = np.full(n, _NEVER, dtype=np.int32)
        near_fd = np.full(n, NO_DAY, dtype=np.int32)
        if steps.active:
            active = np.stack(steps.active)
            delta = np.stack(steps.after) - np.stack(steps.before)
            moving = active & (np.sign(delta) == sign)
            if moving.any():
                earliest = np.where(moving, np.stack(steps.ws), _NEVER).min(axis=0)
                latest = np.where(moving, np.stack(steps.fd), NO_DAY).max(axis=0)
                near_ws = ndimage.minimum_filter(earliest.reshape(shape), footprint=footprint,
                                                 mode="constant", cval=_NEVER).reshape(n)
                near_fd = ndimage.maximum_filter(latest.reshape(shape), footprint=footprint,
                                                 mode="constant", cval=NO_DAY).reshape(n)
                touched = quiet & (near_fd > NO_DAY)
        room = start if sign < 0 else 1.0 - start
        hidden = np.minimum(room, params.hidden_share)
        if sign < 0:
            hidden = np.where(unverified, start, hidden)
            near_ws = np.minimum(near_ws, unverified_ws)
            near_fd = np.maximum(near_fd, unverified_fd)
            touched = touched | unverified
        target = (start + sign * hidden).astype(np.float32)
        steps.add(touched & (hidden > 0), start, target, near_ws, near_fd, certain=False)


# --- evaluation -------------------------------------------------------------------------------

_Rule = Literal["low", "mid", "high"]


def _rule(
    share: npt.NDArray[np.floating], unknown: npt.NDArray[np.bool_], rule: _Rule,
    params: TimelineParams,
) -> npt.NDArray[np.float64]:
    """Roof share as each end of the band counts it (mixed pixels and unknown pixels)."""
    s = np.asarray(share, dtype=np.float64)
    if rule == "low":
        return np.where(unknown, 0.0, np.where(s >= params.sure_share, s, 0.0))
    if rule == "high":
        return np.where(unknown, 1.0, np.where(s >= params.maybe_share, 1.0, s))
    return s


@dataclass(frozen=True, eq=False)
class _Sub(PixelHistory):
    """The history of the pixels of one mask, as one row of pixels, without the step slots
    none of them uses."""

    #: Step deltas per rule, computed once (the timeline asks for them every month).
    cache: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)


def _subset(history: PixelHistory, mask: npt.NDArray[np.bool_] | None) -> _Sub:
    if mask is None:
        idx = np.arange(history.n_pixels)
    else:
        m = np.asarray(mask, dtype=bool)
        if m.size != history.n_pixels:
            raise ValueError(f"mask of {m.size} pixels for a grid of {history.n_pixels}")
        idx = np.flatnonzero(m.reshape(-1))
    active = history.active[:, idx]
    steps = np.flatnonzero(active.any(axis=1))  # slots no pixel of the mask uses: dropped
    return _Sub(
        shape=(1, idx.size),
        pixel_area_m2=history.pixel_area_m2,
        start=history.start[idx],
        unknown=history.unknown[idx],
        modelled=history.modelled[idx],
        before=history.before[np.ix_(steps, idx)],
        after=history.after[np.ix_(steps, idx)],
        window_start=history.window_start[np.ix_(steps, idx)],
        first_seen=history.first_seen[np.ix_(steps, idx)],
        certain=history.certain[np.ix_(steps, idx)],
        active=active[steps],
        scene_days=history.scene_days,
        scene_clear=history.scene_clear,
        scene_flags=history.scene_flags,
    )


def _deltas(sub: _Sub, rule: _Rule, params: TimelineParams) -> npt.NDArray[np.float64]:
    if rule not in sub.cache:
        sub.cache[rule] = np.where(
            sub.active,
            _rule(sub.after, sub.unknown[None, :], rule, params)
            - _rule(sub.before, sub.unknown[None, :], rule, params),
            0.0,
        )
    return sub.cache[rule]


@dataclass(frozen=True)
class _Area:
    """Roofed area on a day: best estimate and band, with the band for dated steps only."""

    mid: float
    low: float
    high: float
    dated_low: float
    dated_high: float


def _area_on(sub: _Sub, day: int, params: TimelineParams, area: float) -> _Area:
    """Roofed area (m2) of the pixels of ``sub`` on ``day`` (a day number)."""
    yes = sub.active & sub.certain & (sub.first_seen <= day)
    maybe = sub.active & ~yes & (sub.window_start < day)
    undated = maybe & (sub.first_seen > day)
    out: dict[str, float] = {}
    rules: tuple[_Rule, ...] = ("low", "mid", "high")
    for rule in rules:
        key = rule
        d = _deltas(sub, rule, params)
        base = _rule(sub.start, sub.unknown, rule, params) + np.where(yes, d, 0.0).sum(axis=0)
        if rule == "mid":
            out["mid"] = float(np.clip(base, 0, 1).sum()) * area
            continue
        pick = np.minimum(d, 0.0) if rule == "low" else np.maximum(d, 0.0)
        every = np.clip(base + np.where(maybe, pick, 0.0).sum(axis=0), 0, 1).sum()
        dated = np.clip(base + np.where(maybe & ~undated, pick, 0.0).sum(axis=0), 0, 1).sum()
        out[key] = float(every) * area
        out[f"dated_{key}"] = float(dated) * area
    return _Area(out["mid"], out["low"], out["high"], out["dated_low"], out["dated_high"])


@dataclass(frozen=True)
class _Flow:
    """Roofed area removed (or added) between two days: estimate and band."""

    mid: float
    low: float
    high: float
    dated_high: float


def _flow(sub: _Sub, first: int, last: int, sign: int, rule: _Rule, params: TimelineParams,
          area: float) -> _Flow:
    """Roof share going (sign -1) or coming (+1) after day ``first`` and by day ``last``."""
    d = _deltas(sub, rule, params) * sign
    d = np.maximum(d, 0.0)
    inside = sub.active & sub.certain & (sub.window_start >= first) & (sub.first_seen <= last)
    possibly = sub.active & ~inside & (sub.window_start < last) & (sub.first_seen > first)
    ws, fd = sub.window_start, sub.first_seen
    straddles = ((ws < last) & (fd > last)) | ((ws < first) & (fd > first))
    undated = possibly & straddles
    mid_d = np.maximum(_deltas(sub, "mid", params) * sign, 0.0)
    mid = sub.active & sub.certain & (sub.first_seen > first) & (sub.first_seen <= last)
    low = float(np.where(inside, d, 0.0).sum()) * area
    high = low + float(np.where(possibly, d, 0.0).sum()) * area
    dated_high = low + float(np.where(possibly & ~undated, d, 0.0).sum()) * area
    return _Flow(float(np.where(mid, mid_d, 0.0).sum()) * area, low, high, dated_high)


# --- the monthly timeline ---------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineMonth:
    """One month of a built-up timeline. Figures are None in a gap month (never zero).

    ``built_*`` is the roofed area at ``observed_on`` (the month's last clear observation);
    ``new_built_m2`` and ``demolished_m2`` are the confirmed roofed area that appeared and
    went since the previous clear month's observation (so a gap's changes show in the
    first clear month after it), ``*_high_m2`` with every possible change; None in the
    first clear month and while the detector could not see changes yet.
    """

    month: str
    clear_observations: int
    gap: bool
    observed_on: dt.date | None
    built_m2: float | None
    built_low_m2: float | None
    built_high_m2: float | None
    new_built_m2: float | None
    demolished_m2: float | None
    demolished_high_m2: float | None
    new_built_high_m2: float | None


@dataclass(frozen=True)
class BuiltTimeline:
    """Roofed area per month of an AOI (or a zone of it), with its band and gaps."""

    months: tuple[TimelineMonth, ...]
    pixels: int
    modelled_pixels: int
    unknown_pixels: int
    pixel_area_m2: float
    first_modelled: dt.date | None
    notes: tuple[str, ...] = field(default=())

    @property
    def clear_months(self) -> tuple[TimelineMonth, ...]:
        return tuple(m for m in self.months if not m.gap)


def _month_key(day: int) -> str:
    return date_of(day).strftime("%Y-%m")


def built_timeline(
    history: PixelHistory,
    mask: npt.NDArray[np.bool_] | None = None,
    params: TimelineParams | None = None,
    *,
    first_modelled_day: int | None = None,
    span: tuple[int, int] | None = None,
) -> BuiltTimeline:
    """Roofed area per month, from the first scene's month to the last's.

    Parameters
    ----------
    history : from :func:`pixel_history`.
    mask : bool (rows, cols) or flat: the pixels to count (the AOI polygon, a zone).
    params : thresholds.
    first_modelled_day : when the detector could first flag changes (for the notes).
    span : first and last day (day numbers) of every scene found, used or not, so months
        whose scenes were all too cloudy to feed the detector are listed as gaps too.
    """
    params = params or TimelineParams()
    sub = _subset(history, mask)
    area = history.pixel_area_m2
    clear = history.clear_days(params)
    rows: list[TimelineMonth] = []
    days_seen = list(history.scene_days) + (list(span) if span is not None else [])
    if days_seen:
        by_month: dict[str, list[int]] = {}
        for d in clear:
            by_month.setdefault(_month_key(d), []).append(d)
        previous: int | None = None
        for key in months_between(date_of(min(days_seen)), date_of(max(days_seen))):
            days = by_month.get(key, [])
            if len(days) < params.min_clear_observations or not days:
                rows.append(TimelineMonth(key, len(days), True, None, None, None, None, None,
                                          None, None, None))
                continue
            day = max(days)
            built = _area_on(sub, day, params, area)
            flows: tuple[float | None, ...] = (None, None, None, None)
            # Changes are counted from the previous clear month on, and only once the
            # detector could see them: before, "none seen" would read as "none".
            if previous is not None and (first_modelled_day is None
                                         or day >= first_modelled_day):
                gone = _flow(sub, previous, day, -1, "mid", params, area)
                came = _flow(sub, previous, day, 1, "mid", params, area)
                flows = (came.mid, gone.mid, came.high, gone.high)
            rows.append(TimelineMonth(
                month=key, clear_observations=len(days), gap=False, observed_on=date_of(day),
                built_m2=built.mid, built_low_m2=built.low, built_high_m2=built.high,
                new_built_m2=flows[0], demolished_m2=flows[1], new_built_high_m2=flows[2],
                demolished_high_m2=flows[3]))
            previous = day
    n = int(sub.start.size)
    unknown = int(sub.unknown.sum())
    modelled = int((history.modelled if mask is None
                    else history.modelled[np.asarray(mask, dtype=bool).reshape(-1)]).sum())
    notes = []
    if n and modelled < n:
        notes.append(f"{100.0 * (n - modelled) / n:.1f} % of the pixels are not modelled yet "
                     "(too few clear observations): their roofs count as unknown, from none "
                     "to all, in the band")
    if n and unknown > n - modelled:
        notes.append(f"{100.0 * (unknown - (n - modelled)) / n:.1f} % of the pixels fit no "
                     "mixture of the spectral library: unknown, from no roof to all roof")
    first_modelled = date_of(first_modelled_day) if first_modelled_day is not None else None
    if first_modelled is not None:
        notes.append(f"changes before {first_modelled} (while the detector was learning each "
                     "pixel's seasons) are not seen: the timeline is flat until then")
    return BuiltTimeline(months=tuple(rows), pixels=n, modelled_pixels=modelled,
                         unknown_pixels=unknown, pixel_area_m2=area,
                         first_modelled=first_modelled, notes=tuple(notes))


# --- claims --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A claim to test: ``demolished`` of ``total`` buildings by ``by``, or a roofed area.

    Exactly one of (``demolished`` and ``total``) or ``built_area_m2`` is given.
    ``since`` sets the baseline (default: the first clear observation).
    """

    by: dt.date
    demolished: int | None = None
    total: int | None = None
    built_area_m2: float | None = None
    since: dt.date | None = None

    def __post_init__(self) -> None:
        counts = self.demolished is not None or self.total is not None
        if counts == (self.built_area_m2 is not None):
            raise ValueError("a claim is either demolished N of total M, or a built area")
        if counts:
            if self.demolished is None or self.total is None:
                raise ValueError("a claim of demolished buildings needs both N and M")
            if self.total <= 0 or self.demolished < 0:
                raise ValueError("N must be at least 0 and M at least 1")
            if self.demolished > self.total:
                raise ValueError(f"N ({self.demolished}) exceeds M ({self.total})")
        elif self.built_area_m2 is not None and not self.built_area_m2 >= 0:
            raise ValueError("a built area must be 0 m2 or more")
        if self.since is not None and self.since >= self.by:
            raise ValueError(f"the baseline {self.since} is not before {self.by}")

    @property
    def share(self) -> float | None:
        if self.demolished is None or self.total is None:
            return None
        return self.demolished / self.total

    def describe(self) -> str:
        if self.share is not None:
            return (f"{self.demolished} of {self.total} buildings demolished by {self.by} "
                    f"({100 * self.share:.0f} %)")
        return f"{self.built_area_m2:,.0f} m² roofed on {self.by}"


def _area_share(count_share: float, ratio: float) -> float:
    """Share of roofed area of buildings making ``count_share`` of the count, when they
    average ``ratio`` times the footprint of the others."""
    if count_share <= 0.0:
        return 0.0
    return ratio * count_share / (ratio * count_share + (1.0 - count_share))


def why_area_note(params: TimelineParams | None = None) -> str:
    """Why a claim in buildings is answered in roofed area, and what that assumes."""
    params = params or TimelineParams()
    k = params.size_ratio
    return (
        "Sentinel-2 does not count buildings: a 10 m pixel often holds parts of several "
        "roofs, yards and roads, so it measures roofed area. A claim in buildings is compared "
        "as a share: N of M buildings is read as the same share of the roofed area, assuming "
        f"the buildings it names average between {1 / k:g} and {k:g} times the footprint of "
        "the others."
    )


@dataclass(frozen=True)
class ClaimCheck:
    """What Sentinel-2 supports about one claim: figures, verdict and plain sentences.

    Areas in m2; shares in 0-1. ``start`` is the baseline (``baseline_on``), ``at_claim``
    the roofed area on the claim's date (as of ``observed_on``, the last clear observation
    on or before it). ``removed`` is the roofed area that went between them.
    """

    claim: Claim
    verdict: str
    reason: str
    baseline_on: dt.date
    observed_on: dt.date
    next_observed_on: dt.date | None
    start_m2: float
    start_low_m2: float
    start_high_m2: float
    at_claim_m2: float
    at_claim_low_m2: float
    at_claim_high_m2: float
    removed_m2: float
    removed_low_m2: float
    removed_high_m2: float
    added_m2: float
    share_removed: float
    share_removed_low: float
    share_removed_high: float
    claimed_share_low: float | None
    claimed_share_high: float | None
    removal_months: tuple[tuple[str, float], ...]
    pixels: int
    unknown_pixels: int
    modelled_from: dt.date

    def lines(self) -> list[str]:
        """The check in plain sentences (what ``monitor claim`` prints after its header)."""
        pct = _pct
        start = ("the start of the detector's model" if self.baseline_on >= self.modelled_from
                 else "the baseline")
        out = [
            f"roofed area at {start} ({self.baseline_on}): {self.start_m2:,.0f} m² "
            f"(between {self.start_low_m2:,.0f} and {self.start_high_m2:,.0f})",
            f"roofed area by {self.claim.by} (last clear observation {self.observed_on}): "
            f"{self.at_claim_m2:,.0f} m² (between {self.at_claim_low_m2:,.0f} and "
            f"{self.at_claim_high_m2:,.0f})",
            f"removed since the start: {self.removed_m2:,.0f} m² confirmed (between "
            f"{self.removed_low_m2:,.0f} and {self.removed_high_m2:,.0f}), "
            f"{pct(self.share_removed)} of the roofed area at the start (between "
            f"{pct(self.share_removed_low)} and {pct(self.share_removed_high)})",
        ]
        if self.added_m2 > 0:
            out.append(f"newly roofed in the same period: {self.added_m2:,.0f} m² (confirmed)")
        if self.removal_months:
            out.append("removal seen in: " + ", ".join(
                f"{month} ({m2:,.0f} m²)" for month, m2 in self.removal_months))
        else:
            out.append("removal seen in: no month (no confirmed removal of roofed area)")
        if self.claimed_share_low is not None and self.claimed_share_high is not None:
            out.append(f"the claim as a share of roofed area: {pct(self.claimed_share_low)} to "
                       f"{pct(self.claimed_share_high)}")
        out.append(f"verdict: {self.verdict}: {self.reason}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (dates as ISO strings)."""
        data: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, Claim):
                value = {k: (v.isoformat() if isinstance(v, dt.date) else v)
                         for k, v in value.__dict__.items()}
            elif name == "removal_months":
                value = [[month, m2] for month, m2 in value]
            data[name] = value
        return data


def _pct(share: float) -> str:
    value = 100.0 * share
    return f"{value:.1f} %" if 0 < value < 10 else f"{value:.0f} %"


def check_claim(
    history: PixelHistory,
    claim: Claim,
    mask: npt.NDArray[np.bool_] | None = None,
    params: TimelineParams | None = None,
    *,
    first_modelled_day: int | None = None,
) -> ClaimCheck:
    """Test a claim against the roofed area Sentinel-2 measured (docs/timeline.md).

    The baseline is the first clear observation once the detector modelled the AOI
    (``first_modelled_day``, the day most of its pixels were modelled) unless the claim
    gives ``since``; a baseline or a claim's date before the model leaves a period in which
    changes were not seen.

    Raises
    ------
    ValueError
        When no clear observation precedes the claim's date, or none lies between the
        baseline and it.
    """
    params = params or TimelineParams()
    clear = history.clear_days(params)
    by = day_number(claim.by)
    if not clear or clear[0] > by:
        first = date_of(clear[0]) if clear else None
        raise ValueError(
            f"{claim.by} is before the first clear observation"
            + (f" ({first})" if first else " (there is none yet)"))
    modelled = first_modelled_day if first_modelled_day is not None else clear[0]
    if claim.since is not None:
        since = day_number(claim.since)
        earlier = [d for d in clear if d <= since]
        t0 = earlier[-1] if earlier else clear[0]
    else:
        from_model = [d for d in clear if modelled <= d <= by]
        t0 = from_model[0] if len(from_model) > 1 else clear[0]
    t1 = max(d for d in clear if d <= by)
    if t1 <= t0:
        raise ValueError(f"no clear observation between the baseline ({date_of(t0)}) and "
                         f"{claim.by}")
    blind = t0 < modelled
    later = [d for d in clear if d > by]
    t2 = later[0] if later else None
    sub = _subset(history, mask)
    area = history.pixel_area_m2
    start = _area_on(sub, t0, params, area)
    at_claim = _area_on(sub, by, params, area)
    rules: tuple[_Rule, ...] = ("low", "mid", "high")
    removed = {rule: _flow(sub, t0, by, -1, rule, params, area) for rule in rules}
    added = _flow(sub, t0, by, 1, "mid", params, area)
    # The share removed: numerator and denominator counted with the same rule for mixed
    # pixels, so a roof edge counted (or not) counts on both sides.
    start_by_rule = {"low": start.low, "mid": start.mid, "high": start.high}

    def ratio(num: float, den: float) -> float:
        return float(min(max(num / den, 0.0), 1.0)) if den > 0 else 0.0

    share_mid = ratio(removed["mid"].mid, start.mid)
    share_low = min(ratio(removed[r].low, start_by_rule[r]) for r in removed)
    share_high = max(ratio(removed[r].high, start_by_rule[r]) for r in removed)
    dated_high = max(ratio(removed[r].dated_high, start_by_rule[r]) for r in removed)
    share_low, share_high = min(share_low, share_mid), max(share_high, share_mid)

    unseen = t2 is None and (by - t1) > params.stale_days
    resolvable = params.resolvable_m2
    claimed_low: float | None = None
    claimed_high: float | None = None
    if claim.share is not None:
        claimed_low = _area_share(claim.share, 1.0 / params.size_ratio)
        claimed_high = _area_share(claim.share, params.size_ratio)
        verdict, reason = _judge(
            claimed=(claimed_low, claimed_high), measured=(share_low, share_high),
            dated=(share_low, max(dated_high, share_low)), scale=start.mid,
            claimed_change=claimed_high * start.mid, unseen=unseen, blind=blind,
            modelled=date_of(modelled), best=share_mid,
            resolvable=resolvable, what="of the roofed area removed", as_share=True,
            by=claim.by, t1=date_of(t1), t2=date_of(t2) if t2 is not None else None)
    else:
        target = float(claim.built_area_m2 or 0.0)
        verdict, reason = _judge(
            claimed=(target, target), measured=(at_claim.low, at_claim.high),
            dated=(at_claim.dated_low, at_claim.dated_high), scale=1.0,
            claimed_change=abs(target - at_claim.mid), unseen=unseen, blind=False,
            modelled=date_of(modelled), best=at_claim.mid,
            resolvable=resolvable, what="roofed", as_share=False,
            by=claim.by, t1=date_of(t1), t2=date_of(t2) if t2 is not None else None,
            decreasing=True)
    if by < modelled:
        verdict = CANNOT_TELL
        reason = (f"the detector modelled this area from about {date_of(modelled)} on (it "
                  "needs a year of clear observations of each pixel); changes before that "
                  "are not seen")
    elif start.high < resolvable:
        verdict = BELOW_RESOLUTION
        reason = (f"the zone holds at most {start.high:,.0f} m² of roofs, less than the "
                  f"{resolvable:,.0f} m² the detector finds half the time")
    months = _removal_months(sub, t0, by, clear, params, area)
    return ClaimCheck(
        claim=claim, verdict=verdict, reason=reason, baseline_on=date_of(t0),
        observed_on=date_of(t1), next_observed_on=date_of(t2) if t2 is not None else None,
        start_m2=start.mid, start_low_m2=start.low, start_high_m2=start.high,
        at_claim_m2=at_claim.mid, at_claim_low_m2=at_claim.low,
        at_claim_high_m2=at_claim.high, removed_m2=removed["mid"].mid,
        removed_low_m2=min(removed["mid"].low, removed["mid"].mid),
        removed_high_m2=max(removed["mid"].high, removed["mid"].mid), added_m2=added.mid,
        share_removed=share_mid, share_removed_low=share_low, share_removed_high=share_high,
        claimed_share_low=claimed_low, claimed_share_high=claimed_high,
        removal_months=months, pixels=int(sub.start.size),
        unknown_pixels=int(sub.unknown.sum()), modelled_from=date_of(modelled))


def _removal_months(sub: _Sub, first: int, last: int, clear: Sequence[int],
                    params: TimelineParams, area: float) -> tuple[tuple[str, float], ...]:
    """Confirmed roofed area removed per month (of first seen) in ``(first, last]``."""
    d = np.maximum(-_deltas(sub, "mid", params), 0.0)
    take = sub.active & sub.certain & (sub.first_seen > first) & (sub.first_seen <= last) & (d > 0)
    totals: dict[str, float] = {}
    for day in np.unique(sub.first_seen[take]):
        key = _month_key(int(day))
        totals[key] = totals.get(key, 0.0) + float(d[take & (sub.first_seen == day)].sum()) * area
    del clear, params
    return tuple((k, v) for k, v in sorted(totals.items()) if v >= 0.5 * area)


def _judge(*, claimed: tuple[float, float], measured: tuple[float, float],
           dated: tuple[float, float], scale: float, claimed_change: float, unseen: bool,
           blind: bool, modelled: dt.date, best: float, resolvable: float, what: str,
           as_share: bool, by: dt.date, t1: dt.date, t2: dt.date | None,
           decreasing: bool = False) -> tuple[str, str]:
    """The verdict and its reason from the claimed and measured intervals.

    ``scale`` turns the intervals' units into m2 (the start area for shares, 1 for areas).
    ``dated`` is the measured interval without the changes whose date may fall either side
    of the claim's date. ``unseen``: no clear view came after the claim's date for a
    while; ``blind``: the baseline precedes the detector's model. Both hide changes on one
    side: removals, which raise a share removed and lower a built area (``decreasing``).
    """
    def fmt(v: float) -> str:
        return _pct(v) if as_share else f"{v:,.0f} m²"

    c_lo, c_hi = claimed
    m_lo, m_hi = measured
    d_lo, d_hi = dated
    above = c_lo - m_hi  # the claim exceeds what was measured
    below = m_lo - c_hi  # the claim falls short of it
    gap_m2 = max(above, below, 0.0) * scale
    claim_text = fmt(c_lo) if c_lo == c_hi else f"{fmt(c_lo)} to {fmt(c_hi)}"
    measured_text = f"{fmt(best)} ({fmt(m_lo)} to {fmt(m_hi)})"
    seen = (f"last clear observation on or before {by}: {t1}; "
            + (f"next: {t2}" if t2 else "none after it yet"))
    if as_share:
        low_basis = "from confirmed changes alone"
        high_basis = ("counting every unconfirmed change, every change whose date is "
                      "uncertain and every roofed pixel that stopped matching its model")
    else:
        low_basis = "counting every possible removal and mixed pixels as unroofed"
        high_basis = "counting mixed pixels as roofed and no unconfirmed removal"
    if gap_m2 == 0.0:
        if as_share and claimed_change < resolvable:
            return BELOW_RESOLUTION, (
                f"the claim amounts to at most {claimed_change:,.0f} m² of roofs, less than "
                f"the {resolvable:,.0f} m² the detector finds half the time")
        if not (c_lo > d_hi or c_hi < d_lo):
            return CONSISTENT, (
                f"Sentinel-2 measures {measured_text} {what} by {by}; the claim's "
                f"{claim_text} lies within that")
        return CANNOT_TELL, (
            f"the claim's {claim_text} fits only if changes first seen after {by}, after a "
            f"period without clear views, happened before it ({seen})")
    if gap_m2 < resolvable:
        return BELOW_RESOLUTION, (
            f"the claim's {claim_text} and the measured {measured_text} {what} differ by "
            f"about {gap_m2:,.0f} m², less than the {resolvable:,.0f} m² the detector finds "
            "half the time")
    # Removals no view has shown (after the last clear view, or before the model) could
    # close a gap on the side where they add up.
    hidden_side = (below > 0) if decreasing else (above > 0)
    if unseen and hidden_side:
        return CANNOT_TELL, (
            f"{seen}: changes since then are not seen yet; measured {measured_text} {what}, "
            f"claimed {claim_text}")
    if blind and hidden_side:
        return CANNOT_TELL, (
            f"the baseline precedes the detector's model of this area (from about "
            f"{modelled}): removals before then are not seen; measured {measured_text} "
            f"{what} since, claimed {claim_text}")
    if above > 0:
        return INCONSISTENT, (
            f"the claim's {claim_text} is more than Sentinel-2 can support: at most "
            f"{fmt(m_hi)} {what} by {by}, {high_basis} ({seen})")
    return INCONSISTENT, (
        f"the claim's {claim_text} is less than Sentinel-2 measured: at least {fmt(m_lo)} "
        f"{what} by {by}, {low_basis} ({seen})")
