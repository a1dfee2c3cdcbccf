"""The per-pixel roof history: each pixel's roof share at the start with its dated steps.

Read from the time-series detector's state (:class:`~monitor.detect.state.DetectorState`)
without reading imagery again. Each confirmed change of the pixel (previous and current),
its pending candidate and, for undetected mixed pixels at roof edges, an allowance, is a
step of the roof share at a date known to lie in ``(window_start, first_seen]``. The share
after a confirmed change is measured on the new cover's spectrum (its first observations,
or its refitted model) and constrained by the change's type: a demolition can only lower
it, a construction only raise it, a roof change or a clearing leaves it. docs/timeline.md
explains the thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.detect import harmonic
from monitor.detect.objects import label_objects
from monitor.detect.params import DetectorParams, TimelineParams
from monitor.detect.roofshare import roof_share
from monitor.detect.state import (
    LEARNING_NEW_COVER,
    MONITORING,
    NO_DAY,
    STATUS_CONFIRMED,
    TRAINING,
    DetectorState,
    decode_reflectance,
)
from monitor.models import ChangeCode

__all__ = ["NEVER", "PixelHistory", "pixel_history"]

_NEW, _DEMOLITION, _REBUILDING, _ROOF, _CLEARING = (int(code) for code in ChangeCode)
_CONFIRMED = STATUS_CONFIRMED
#: A day after every observation: the end of a window that never closes.
NEVER = np.iinfo(np.int32).max


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
        on or before ``first_seen``; ``first_seen`` is :data:`NEVER` for a window that
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
        self.fd.append(np.where(active, first_seen, NEVER).astype(np.int32))
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

    now_share, now_misfit = roof_share(_now_spectrum(state))

    c_confirmed = _in_objects(
        state["c_status"] == _CONFIRMED, state["c_first_day"], state.shape, detector
    )
    p_confirmed = _in_objects(
        state["p_status"] == _CONFIRMED, state["p_first_day"], state.shape, detector
    )
    changed = c_confirmed | p_confirmed

    start_share, start_misfit, recorded, learning_first = _start_shares(
        state, now_share, now_misfit, changed, p_confirmed
    )

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
    steps.add(
        moves,
        last_level,
        cand_after,
        state["cand_window_start"],
        state["cand_first_day"],
        certain=False,
    )

    _edge_steps(state, steps, start, unknown, modelled, params)
    # Pixels the detector cannot see may have lost or gained their roofs at any time.
    blind = ~modelled
    steps.add(
        blind, start, np.zeros(n, np.float32), np.full(n, NO_DAY), np.full(n, NEVER), certain=False
    )
    steps.add(
        blind, start, np.ones(n, np.float32), np.full(n, NO_DAY), np.full(n, NEVER), certain=False
    )

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


def _now_spectrum(state: DetectorState) -> npt.NDArray[np.float32]:
    """(n, 6) the current reference of every pixel: its model, the new cover it is
    learning, or (never modelled) what its training observations show."""
    phase = state["phase"]
    now_spectrum = np.full((state.n_pixels, 6), np.nan, dtype=np.float32)
    monitoring = np.flatnonzero(phase == MONITORING)
    now_spectrum[monitoring] = state["coef"][0][:, monitoring].T
    for chosen in (np.flatnonzero(phase == LEARNING_NEW_COVER), np.flatnonzero(phase == TRAINING)):
        if chosen.size:
            now_spectrum[chosen] = _model_part_median(state, chosen)
    return now_spectrum


def _start_shares(
    state: DetectorState,
    now_share: npt.NDArray[np.float32],
    now_misfit: npt.NDArray[np.float32],
    changed: npt.NDArray[np.bool_],
    p_confirmed: npt.NDArray[np.bool_],
) -> tuple[
    npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_]
]:
    """Roof share and misfit at the start, whether the first model was recorded, and which
    pixels learn their first new cover.

    The start is the first model's mean spectrum; states written before it was kept fall
    back on the current model where no confirmed change replaced it.
    """
    n = state.n_pixels
    phase = state["phase"]
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
    return start_share, start_misfit, recorded, learning_first


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
            steps.add(rebuild, zero, after_raw, fd, np.where(two_steps, last, fd), certain=certain)
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
        unverified = quiet & (miss_n >= params.unverified_views) & (start >= params.maybe_share)
        unverified_ws = np.where(unverified, match_day, NEVER).astype(np.int32)
        unverified_fd = np.where(unverified, miss_day, NO_DAY).astype(np.int32)
    else:
        unverified = np.zeros(n, dtype=bool)
        unverified_ws = np.full(n, NEVER, dtype=np.int32)
        unverified_fd = np.full(n, NO_DAY, dtype=np.int32)
    footprint = np.ones((3, 3), dtype=bool)
    for sign in (-1, 1):
        touched = np.zeros(n, dtype=bool)
        near_ws = np.full(n, NEVER, dtype=np.int32)
        near_fd = np.full(n, NO_DAY, dtype=np.int32)
        if steps.active:
            active = np.stack(steps.active)
            delta = np.stack(steps.after) - np.stack(steps.before)
            moving = active & (np.sign(delta) == sign)
            if moving.any():
                earliest = np.where(moving, np.stack(steps.ws), NEVER).min(axis=0)
                latest = np.where(moving, np.stack(steps.fd), NO_DAY).max(axis=0)
                near_ws = ndimage.minimum_filter(
                    earliest.reshape(shape), footprint=footprint, mode="constant", cval=NEVER
                ).reshape(n)
                near_fd = ndimage.maximum_filter(
                    latest.reshape(shape), footprint=footprint, mode="constant", cval=NO_DAY
                ).reshape(n)
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
