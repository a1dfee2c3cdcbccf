"""The built-up timeline: an AOI's roofed area per clear month, with its band, its gaps.

The question analysts bring is "how much of this compound is still roofed, and when did that
change?", not "which pixels departed from their model". :func:`built_timeline` answers it
per month from a :class:`~monitor.detect.history.PixelHistory` (roof share per pixel:
:mod:`monitor.detect.roofshare`; sums with their band: :mod:`monitor.detect.roofarea`).
Claims are checked in :mod:`monitor.detect.claims`. Pure numpy on arrays and dates;
thresholds are :class:`~monitor.detect.params.TimelineParams` fields (docs/timeline.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from monitor.detect.history import PixelHistory
from monitor.detect.params import TimelineParams, date_of
from monitor.detect.roofarea import area_on, flow, subset
from monitor.months import months_between

__all__ = ["TimelineMonth", "BuiltTimeline", "built_timeline", "month_key"]


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


def month_key(day: int) -> str:
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
    sub = subset(history, mask)
    area = history.pixel_area_m2
    clear = history.clear_days(params)
    rows: list[TimelineMonth] = []
    days_seen = list(history.scene_days) + (list(span) if span is not None else [])
    if days_seen:
        by_month: dict[str, list[int]] = {}
        for d in clear:
            by_month.setdefault(month_key(d), []).append(d)
        previous: int | None = None
        for key in months_between(date_of(min(days_seen)), date_of(max(days_seen))):
            days = by_month.get(key, [])
            if len(days) < params.min_clear_observations or not days:
                rows.append(
                    TimelineMonth(
                        key, len(days), True, None, None, None, None, None, None, None, None
                    )
                )
                continue
            day = max(days)
            built = area_on(sub, day, params, area)
            flows: tuple[float | None, ...] = (None, None, None, None)
            # Changes are counted from the previous clear month on, and only once the
            # detector could see them: before, "none seen" would read as "none".
            if previous is not None and (first_modelled_day is None or day >= first_modelled_day):
                gone = flow(sub, previous, day, -1, "mid", params, area)
                came = flow(sub, previous, day, 1, "mid", params, area)
                flows = (came.mid, gone.mid, came.high, gone.high)
            rows.append(
                TimelineMonth(
                    month=key,
                    clear_observations=len(days),
                    gap=False,
                    observed_on=date_of(day),
                    built_m2=built.mid,
                    built_low_m2=built.low,
                    built_high_m2=built.high,
                    new_built_m2=flows[0],
                    demolished_m2=flows[1],
                    new_built_high_m2=flows[2],
                    demolished_high_m2=flows[3],
                )
            )
            previous = day
    n = int(sub.start.size)
    unknown = int(sub.unknown.sum())
    modelled = int(
        (
            history.modelled
            if mask is None
            else history.modelled[np.asarray(mask, dtype=bool).reshape(-1)]
        ).sum()
    )
    notes = []
    if n and modelled < n:
        notes.append(
            f"{100.0 * (n - modelled) / n:.1f} % of the pixels are not modelled yet "
            "(too few clear observations): their roofs count as unknown, from none "
            "to all, in the band"
        )
    if n and unknown > n - modelled:
        notes.append(
            f"{100.0 * (unknown - (n - modelled)) / n:.1f} % of the pixels fit no "
            "mixture of the spectral library: unknown, from no roof to all roof"
        )
    first_modelled = date_of(first_modelled_day) if first_modelled_day is not None else None
    if first_modelled is not None:
        notes.append(
            f"changes before {first_modelled} (while the detector was learning each "
            "pixel's seasons) are not seen: the timeline is flat until then"
        )
    return BuiltTimeline(
        months=tuple(rows),
        pixels=n,
        modelled_pixels=modelled,
        unknown_pixels=unknown,
        pixel_area_m2=area,
        first_modelled=first_modelled,
        notes=tuple(notes),
    )


# --- claims --------------------------------------------------------------------------------
