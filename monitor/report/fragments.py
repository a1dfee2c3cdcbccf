"""The HTML pieces both pages share: the simulated-data banner, dates, status badges.

Every string that comes from outside passes through :mod:`monitor.report.safe` first.
"""

from __future__ import annotations

import datetime as dt

from monitor.report.safe import text

__all__ = ["MEANING", "banner", "day", "status_badge"]

#: What each status means, under both pages' tables.
MEANING = (
    "<b>Probable</b>: the pixels departed from their own seasonal history on clear views "
    "and the departures agree. <b>Confirmed</b>: the departure persisted over several more "
    "clear views. <b>Rejected</b>: the pixels went back to their usual behaviour. "
    "Confirmed means a change that persisted in the Sentinel-2 time series, not a fact "
    "verified on the ground: check the imagery before citing it."
)


def banner(simulated: bool) -> str:
    """The red SIMULATED DATA banner of a page made from simulated scenes (else nothing)."""
    if not simulated:
        return ""
    return (
        '<div class="mr-banner" id="mr-simulated">SIMULATED DATA <span>· every image, '
        "observation and detection on this page comes from the monitor's simulator "
        "(<code>monitor demo</code>); none of it is a real observation.</span></div>"
    )


def day(value: dt.date | None, missing: str = "–") -> str:
    """A date as ISO text, ``missing`` when there is none."""
    return value.isoformat() if value is not None else missing


def status_badge(status: str) -> str:
    """A status as a coloured badge."""
    return f'<span class="mr-status mr-status-{text(status)}">{text(status)}</span>'
