"""Claim checks: whether a claim of buildings or area removed fits what Sentinel-2 saw.

A claim ("631 of 635 buildings demolished by 2026-01-15", or an area) is judged against an
AOI's :class:`~monitor.detect.history.PixelHistory` with its band
(:mod:`monitor.detect.roofarea`): consistent, inconsistent, cannot tell (not enough clear
observations) or below what 10 m pixels can resolve. docs/timeline.md explains the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, assert_never

import numpy as np
import numpy.typing as npt

from monitor.detect.history import PixelHistory
from monitor.detect.params import TimelineParams, date_of, day_number
from monitor.detect.roofarea import (
    AreaBand,
    AreaFlow,
    BandRule,
    HistorySubset,
    area_on,
    flow,
    step_deltas,
    subset,
)
from monitor.detect.timeline import month_key

__all__ = [
    "CONSISTENT",
    "INCONSISTENT",
    "CANNOT_TELL",
    "BELOW_RESOLUTION",
    "VERDICTS",
    "Claim",
    "ClaimCheck",
    "ClaimRule",
    "broken_rule",
    "check_claim",
    "why_area_note",
]

CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"
CANNOT_TELL = "cannot tell: not enough clear observations"
BELOW_RESOLUTION = "below what 10 m pixels can resolve"
#: Every verdict, in the words printed.
VERDICTS: tuple[str, ...] = (CONSISTENT, INCONSISTENT, CANNOT_TELL, BELOW_RESOLUTION)


#: The rules a claim's figures keep, by name, in the order :func:`broken_rule` checks
#: them: not both counts and an area, not neither, both N and M, M at least 1, N at least
#: 0, N not above M, an area of 0 m2 or more, a baseline before the claim's date.
ClaimRule = Literal["both", "neither", "pair", "total", "demolished", "exceeds", "area", "since"]


def broken_rule(
    *,
    by: dt.date,
    demolished: int | None,
    total: int | None,
    built_area_m2: float | None,
    since: dt.date | None,
) -> ClaimRule | None:
    """The first rule (``ClaimRule``) a claim's figures break, or None when they keep all.

    :class:`Claim` and ``monitor claim`` both check a claim with it, each naming the broken
    rule in its own words.
    """
    # In this order: the first rule broken names the problem, and a later rule may assume
    # the earlier ones kept (N and M both given once "pair" holds).
    counts = demolished is not None or total is not None
    if counts and built_area_m2 is not None:
        return "both"
    if not counts and built_area_m2 is None:
        return "neither"
    if counts and (demolished is None or total is None):
        return "pair"
    if total is not None and total < 1:
        return "total"
    if demolished is not None and demolished < 0:
        return "demolished"
    if demolished is not None and total is not None and demolished > total:
        return "exceeds"
    # Written so that NaN breaks it too.
    if built_area_m2 is not None and not built_area_m2 >= 0:
        return "area"
    if since is not None and since >= by:
        return "since"
    return None


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
        rule = broken_rule(
            by=self.by,
            demolished=self.demolished,
            total=self.total,
            built_area_m2=self.built_area_m2,
            since=self.since,
        )
        if rule is not None:
            raise ValueError(self._problem(rule))

    def _problem(self, rule: ClaimRule) -> str:
        """What is wrong with the claim, for the rule it breaks."""
        match rule:
            case "both" | "neither":
                return "a claim is either demolished N of total M, or a built area"
            case "pair":
                return "a claim of demolished buildings needs both N and M"
            case "total" | "demolished":
                return "N must be at least 0 and M at least 1"
            case "exceeds":
                return f"N ({self.demolished}) exceeds M ({self.total})"
            case "area":
                return "a built area must be 0 m2 or more"
            case "since":
                return f"the baseline {self.since} is not before {self.by}"
            case _:
                assert_never(rule)

    @property
    def share(self) -> float | None:
        if self.demolished is None or self.total is None:
            return None
        return self.demolished / self.total

    def describe(self) -> str:
        if self.share is not None:
            return (
                f"{self.demolished} of {self.total} buildings demolished by {self.by} "
                f"({100 * self.share:.0f} %)"
            )
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
        start = (
            "the start of the detector's model"
            if self.baseline_on >= self.modelled_from
            else "the baseline"
        )
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
            out.append(
                "removal seen in: "
                + ", ".join(f"{month} ({m2:,.0f} m²)" for month, m2 in self.removal_months)
            )
        else:
            out.append("removal seen in: no month (no confirmed removal of roofed area)")
        if self.claimed_share_low is not None and self.claimed_share_high is not None:
            out.append(
                f"the claim as a share of roofed area: {pct(self.claimed_share_low)} to "
                f"{pct(self.claimed_share_high)}"
            )
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
                value = {
                    k: (v.isoformat() if isinstance(v, dt.date) else v)
                    for k, v in value.__dict__.items()
                }
            elif name == "removal_months":
                value = [[month, m2] for month, m2 in value]
            data[name] = value
        return data


def _pct(share: float) -> str:
    value = 100.0 * share
    return f"{value:.1f} %" if 0 < value < 10 else f"{value:.0f} %"


@dataclass(frozen=True)
class _ClaimDays:
    """The day numbers a check reads.

    ``baseline`` (t0) is the clear observation the check starts from, ``observed`` (t1) the
    last clear observation on or before the claim's day ``by``, ``next_observed`` (t2) the
    first after it (None when none came yet); ``modelled`` is the day the detector modelled
    the AOI from.
    """

    clear: list[int]
    by: int
    baseline: int
    observed: int
    next_observed: int | None
    modelled: int


def _baseline_day(clear: Sequence[int], claim: Claim, modelled: int, by: int) -> int:
    """The clear observation the check starts from: the last on or before the claim's
    ``since``; without one, the first once the model began (when another follows it by
    ``by``), else the first clear observation."""
    if claim.since is not None:
        since = day_number(claim.since)
        earlier = [d for d in clear if d <= since]
        return earlier[-1] if earlier else clear[0]
    from_model = [d for d in clear if modelled <= d <= by]
    return from_model[0] if len(from_model) > 1 else clear[0]


def _claim_days(
    history: PixelHistory,
    claim: Claim,
    params: TimelineParams,
    first_modelled_day: int | None,
) -> _ClaimDays:
    """The days the check of ``claim`` reads; ValueError when no clear observation precedes
    the claim's date, or none lies between the baseline and it."""
    clear = history.clear_days(params)
    by = day_number(claim.by)
    if not clear or clear[0] > by:
        first = date_of(clear[0]) if clear else None
        raise ValueError(
            f"{claim.by} is before the first clear observation"
            + (f" ({first})" if first else " (there is none yet)")
        )
    modelled = first_modelled_day if first_modelled_day is not None else clear[0]
    t0 = _baseline_day(clear, claim, modelled, by)
    t1 = max(d for d in clear if d <= by)
    if t1 <= t0:
        raise ValueError(
            f"no clear observation between the baseline ({date_of(t0)}) and {claim.by}"
        )
    later = [d for d in clear if d > by]
    t2 = later[0] if later else None
    return _ClaimDays(clear, by, t0, t1, t2, modelled)


@dataclass(frozen=True)
class _Removal:
    """The roofed area removed between the baseline and the claim's day, and its share of
    the roofed area at the baseline (0-1): the best estimate (``share_mid``), its band, and
    the band's top without the changes whose date may fall after the claim's day."""

    removed: dict[BandRule, AreaFlow]
    share_mid: float
    share_low: float
    share_high: float
    dated_high: float


def _ratio(num: float, den: float) -> float:
    """``num / den`` clipped to 0-1; 0 when ``den`` is not above 0."""
    return float(min(max(num / den, 0.0), 1.0)) if den > 0 else 0.0


def _removal(
    sub: HistorySubset, days: _ClaimDays, start: AreaBand, params: TimelineParams, area: float
) -> _Removal:
    """The roofed area removed by the claim's day under each rule for mixed pixels, with
    its share of the start."""
    rules: tuple[BandRule, ...] = ("low", "mid", "high")
    removed = {rule: flow(sub, days.baseline, days.by, -1, rule, params, area) for rule in rules}
    # The share removed: numerator and denominator counted with the same rule for mixed
    # pixels, so a roof edge counted (or not) counts on both sides.
    start_by_rule = {"low": start.low, "mid": start.mid, "high": start.high}
    share_mid = _ratio(removed["mid"].mid, start.mid)
    share_low = min(_ratio(removed[r].low, start_by_rule[r]) for r in removed)
    share_high = max(_ratio(removed[r].high, start_by_rule[r]) for r in removed)
    dated_high = max(_ratio(removed[r].dated_high, start_by_rule[r]) for r in removed)
    share_low, share_high = min(share_low, share_mid), max(share_high, share_mid)
    return _Removal(removed, share_mid, share_low, share_high, dated_high)


def _is_unseen(days: _ClaimDays, params: TimelineParams) -> bool:
    """Whether no clear view came after the claim's day for longer than ``stale_days``."""
    return days.next_observed is None and (days.by - days.observed) > params.stale_days


def _share_verdict(
    claim: Claim,
    share: float,
    days: _ClaimDays,
    removal: _Removal,
    start: AreaBand,
    params: TimelineParams,
) -> tuple[str, str, float, float]:
    """The verdict and reason on a claim in buildings (its ``share`` of them), and the
    claimed share of roofed area it stands for (low, high)."""
    claimed_low = _area_share(share, 1.0 / params.size_ratio)
    claimed_high = _area_share(share, params.size_ratio)
    share_low = removal.share_low
    verdict, reason = _judge(
        claimed=(claimed_low, claimed_high),
        measured=(share_low, removal.share_high),
        dated=(share_low, max(removal.dated_high, share_low)),
        scale=start.mid,
        claimed_change=claimed_high * start.mid,
        unseen=_is_unseen(days, params),
        blind=days.baseline < days.modelled,
        modelled=date_of(days.modelled),
        best=removal.share_mid,
        resolvable=params.resolvable_m2,
        what="of the roofed area removed",
        as_share=True,
        by=claim.by,
        t1=date_of(days.observed),
        t2=date_of(days.next_observed) if days.next_observed is not None else None,
    )
    return verdict, reason, claimed_low, claimed_high


def _area_verdict(
    claim: Claim, days: _ClaimDays, at_claim: AreaBand, params: TimelineParams
) -> tuple[str, str]:
    """The verdict and reason on a claim of a roofed area on the claim's day."""
    target = float(claim.built_area_m2 or 0.0)
    return _judge(
        claimed=(target, target),
        measured=(at_claim.low, at_claim.high),
        dated=(at_claim.dated_low, at_claim.dated_high),
        scale=1.0,
        claimed_change=abs(target - at_claim.mid),
        unseen=_is_unseen(days, params),
        blind=False,
        modelled=date_of(days.modelled),
        best=at_claim.mid,
        resolvable=params.resolvable_m2,
        what="roofed",
        as_share=False,
        by=claim.by,
        t1=date_of(days.observed),
        t2=date_of(days.next_observed) if days.next_observed is not None else None,
        decreasing=True,
    )


def _overruled(
    verdict: str, reason: str, days: _ClaimDays, start: AreaBand, resolvable: float
) -> tuple[str, str]:
    """The verdict and reason, unless the claim's day precedes the model (cannot tell) or
    the zone holds fewer roofs than the detector resolves (below resolution)."""
    if days.by < days.modelled:
        return CANNOT_TELL, (
            f"the detector modelled this area from about {date_of(days.modelled)} on (it "
            "needs a year of clear observations of each pixel); changes before that "
            "are not seen"
        )
    if start.high < resolvable:
        return BELOW_RESOLUTION, (
            f"the zone holds at most {start.high:,.0f} m² of roofs, less than the "
            f"{resolvable:,.0f} m² the detector finds half the time"
        )
    return verdict, reason


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
    days = _claim_days(history, claim, params, first_modelled_day)
    sub = subset(history, mask)
    area = history.pixel_area_m2
    start = area_on(sub, days.baseline, params, area)
    at_claim = area_on(sub, days.by, params, area)
    removal = _removal(sub, days, start, params, area)
    added = flow(sub, days.baseline, days.by, 1, "mid", params, area)
    claimed_low: float | None = None
    claimed_high: float | None = None
    if claim.share is not None:
        verdict, reason, claimed_low, claimed_high = _share_verdict(
            claim, claim.share, days, removal, start, params
        )
    else:
        verdict, reason = _area_verdict(claim, days, at_claim, params)
    verdict, reason = _overruled(verdict, reason, days, start, params.resolvable_m2)
    months = _removal_months(sub, days.baseline, days.by, days.clear, params, area)
    removed = removal.removed["mid"]
    return ClaimCheck(
        claim=claim,
        verdict=verdict,
        reason=reason,
        baseline_on=date_of(days.baseline),
        observed_on=date_of(days.observed),
        next_observed_on=date_of(days.next_observed) if days.next_observed is not None else None,
        start_m2=start.mid,
        start_low_m2=start.low,
        start_high_m2=start.high,
        at_claim_m2=at_claim.mid,
        at_claim_low_m2=at_claim.low,
        at_claim_high_m2=at_claim.high,
        removed_m2=removed.mid,
        removed_low_m2=min(removed.low, removed.mid),
        removed_high_m2=max(removed.high, removed.mid),
        added_m2=added.mid,
        share_removed=removal.share_mid,
        share_removed_low=removal.share_low,
        share_removed_high=removal.share_high,
        claimed_share_low=claimed_low,
        claimed_share_high=claimed_high,
        removal_months=months,
        pixels=int(sub.start.size),
        unknown_pixels=int(sub.unknown.sum()),
        modelled_from=date_of(days.modelled),
    )


def _removal_months(
    sub: HistorySubset,
    first: int,
    last: int,
    clear: Sequence[int],
    params: TimelineParams,
    area: float,
) -> tuple[tuple[str, float], ...]:
    """Confirmed roofed area removed per month (of first seen) in ``(first, last]``."""
    d = np.maximum(-step_deltas(sub, "mid", params), 0.0)
    take = sub.active & sub.certain & (sub.first_seen > first) & (sub.first_seen <= last) & (d > 0)
    totals: dict[str, float] = {}
    for day in np.unique(sub.first_seen[take]):
        key = month_key(int(day))
        totals[key] = totals.get(key, 0.0) + float(d[take & (sub.first_seen == day)].sum()) * area
    del clear, params
    return tuple((k, v) for k, v in sorted(totals.items()) if v >= 0.5 * area)


def _judge(
    *,
    claimed: tuple[float, float],
    measured: tuple[float, float],
    dated: tuple[float, float],
    scale: float,
    claimed_change: float,
    unseen: bool,
    blind: bool,
    modelled: dt.date,
    best: float,
    resolvable: float,
    what: str,
    as_share: bool,
    by: dt.date,
    t1: dt.date,
    t2: dt.date | None,
    decreasing: bool = False,
) -> tuple[str, str]:
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
    seen = f"last clear observation on or before {by}: {t1}; " + (
        f"next: {t2}" if t2 else "none after it yet"
    )
    if as_share:
        low_basis = "from confirmed changes alone"
        high_basis = (
            "counting every unconfirmed change, every change whose date is "
            "uncertain and every roofed pixel that stopped matching its model"
        )
    else:
        low_basis = "counting every possible removal and mixed pixels as unroofed"
        high_basis = "counting mixed pixels as roofed and no unconfirmed removal"
    if gap_m2 == 0.0:
        if as_share and claimed_change < resolvable:
            return BELOW_RESOLUTION, (
                f"the claim amounts to at most {claimed_change:,.0f} m² of roofs, less than "
                f"the {resolvable:,.0f} m² the detector finds half the time"
            )
        if not (c_lo > d_hi or c_hi < d_lo):
            return CONSISTENT, (
                f"Sentinel-2 measures {measured_text} {what} by {by}; the claim's "
                f"{claim_text} lies within that"
            )
        return CANNOT_TELL, (
            f"the claim's {claim_text} fits only if changes first seen after {by}, after a "
            f"period without clear views, happened before it ({seen})"
        )
    if gap_m2 < resolvable:
        return BELOW_RESOLUTION, (
            f"the claim's {claim_text} and the measured {measured_text} {what} differ by "
            f"about {gap_m2:,.0f} m², less than the {resolvable:,.0f} m² the detector finds "
            "half the time"
        )
    # Removals no view has shown (after the last clear view, or before the model) could
    # close a gap on the side where they add up.
    hidden_side = (below > 0) if decreasing else (above > 0)
    if unseen and hidden_side:
        return CANNOT_TELL, (
            f"{seen}: changes since then are not seen yet; measured {measured_text} {what}, "
            f"claimed {claim_text}"
        )
    if blind and hidden_side:
        return CANNOT_TELL, (
            f"the baseline precedes the detector's model of this area (from about "
            f"{modelled}): removals before then are not seen; measured {measured_text} "
            f"{what} since, claimed {claim_text}"
        )
    if above > 0:
        return INCONSISTENT, (
            f"the claim's {claim_text} is more than Sentinel-2 can support: at most "
            f"{fmt(m_hi)} {what} by {by}, {high_basis} ({seen})"
        )
    return INCONSISTENT, (
        f"the claim's {claim_text} is less than Sentinel-2 measured: at least {fmt(m_lo)} "
        f"{what} by {by}, {low_basis} ({seen})"
    )
