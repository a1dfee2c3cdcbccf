"""Roofed area: sums of a pixel history's steps on a day or between two days, with their band.

Three sources of doubt widen each figure, never the best estimate itself: mixed pixels (a
pixel judged less than ``sure_share`` roofed may hold no roof, one judged at least
``maybe_share`` roofed may be roofed throughout), unconfirmed changes and changes whose date
is only known to lie in a window, and pixels the detector cannot see (anything from no roof
to all roof).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from monitor.detect.history import PixelHistory
from monitor.detect.params import TimelineParams

__all__ = [
    "BandRule",
    "share_by_rule",
    "HistorySubset",
    "subset",
    "step_deltas",
    "AreaBand",
    "area_on",
    "AreaFlow",
    "flow",
]

BandRule = Literal["low", "mid", "high"]


def share_by_rule(
    share: npt.NDArray[np.floating],
    unknown: npt.NDArray[np.bool_],
    rule: BandRule,
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
class HistorySubset(PixelHistory):
    """The history of the pixels of one mask, as one row of pixels, without the step slots
    none of them uses."""

    #: Step deltas per rule, computed once (the timeline asks for them every month).
    cache: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)


def subset(history: PixelHistory, mask: npt.NDArray[np.bool_] | None) -> HistorySubset:
    if mask is None:
        idx = np.arange(history.n_pixels)
    else:
        m = np.asarray(mask, dtype=bool)
        if m.size != history.n_pixels:
            raise ValueError(f"mask of {m.size} pixels for a grid of {history.n_pixels}")
        idx = np.flatnonzero(m.reshape(-1))
    active = history.active[:, idx]
    steps = np.flatnonzero(active.any(axis=1))  # slots no pixel of the mask uses: dropped
    return HistorySubset(
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


def step_deltas(
    sub: HistorySubset, rule: BandRule, params: TimelineParams
) -> npt.NDArray[np.float64]:
    if rule not in sub.cache:
        sub.cache[rule] = np.where(
            sub.active,
            share_by_rule(sub.after, sub.unknown[None, :], rule, params)
            - share_by_rule(sub.before, sub.unknown[None, :], rule, params),
            0.0,
        )
    return sub.cache[rule]


@dataclass(frozen=True)
class AreaBand:
    """Roofed area on a day: best estimate and band, with the band for dated steps only."""

    mid: float
    low: float
    high: float
    dated_low: float
    dated_high: float


def area_on(sub: HistorySubset, day: int, params: TimelineParams, area: float) -> AreaBand:
    """Roofed area (m2) of the pixels of ``sub`` on ``day`` (a day number)."""
    yes = sub.active & sub.certain & (sub.first_seen <= day)
    maybe = sub.active & ~yes & (sub.window_start < day)
    undated = maybe & (sub.first_seen > day)
    out: dict[str, float] = {}
    rules: tuple[BandRule, ...] = ("low", "mid", "high")
    for rule in rules:
        key = rule
        d = step_deltas(sub, rule, params)
        base = share_by_rule(sub.start, sub.unknown, rule, params) + np.where(yes, d, 0.0).sum(
            axis=0
        )
        if rule == "mid":
            out["mid"] = float(np.clip(base, 0, 1).sum()) * area
            continue
        pick = np.minimum(d, 0.0) if rule == "low" else np.maximum(d, 0.0)
        every = np.clip(base + np.where(maybe, pick, 0.0).sum(axis=0), 0, 1).sum()
        dated = np.clip(base + np.where(maybe & ~undated, pick, 0.0).sum(axis=0), 0, 1).sum()
        out[key] = float(every) * area
        out[f"dated_{key}"] = float(dated) * area
    return AreaBand(out["mid"], out["low"], out["high"], out["dated_low"], out["dated_high"])


@dataclass(frozen=True)
class AreaFlow:
    """Roofed area removed (or added) between two days: estimate and band."""

    mid: float
    low: float
    high: float
    dated_high: float


def flow(
    sub: HistorySubset,
    first: int,
    last: int,
    sign: int,
    rule: BandRule,
    params: TimelineParams,
    area: float,
) -> AreaFlow:
    """Roof share going (sign -1) or coming (+1) after day ``first`` and by day ``last``."""
    d = step_deltas(sub, rule, params) * sign
    d = np.maximum(d, 0.0)
    inside = sub.active & sub.certain & (sub.window_start >= first) & (sub.first_seen <= last)
    possibly = sub.active & ~inside & (sub.window_start < last) & (sub.first_seen > first)
    ws, fd = sub.window_start, sub.first_seen
    straddles = ((ws < last) & (fd > last)) | ((ws < first) & (fd > first))
    undated = possibly & straddles
    mid_d = np.maximum(step_deltas(sub, "mid", params) * sign, 0.0)
    mid = sub.active & sub.certain & (sub.first_seen > first) & (sub.first_seen <= last)
    low = float(np.where(inside, d, 0.0).sum()) * area
    high = low + float(np.where(possibly, d, 0.0).sum()) * area
    dated_high = low + float(np.where(possibly & ~undated, d, 0.0).sum()) * area
    return AreaFlow(float(np.where(mid, mid_d, 0.0).sum()) * area, low, high, dated_high)
