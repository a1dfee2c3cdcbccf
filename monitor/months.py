"""Calendar months as ``"YYYY-MM"`` keys (monthly clear counts, timelines). Standard library
only, so that any stage may use it."""

from __future__ import annotations

import datetime as dt

__all__ = ["months_between"]


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """``"YYYY-MM"`` of every month touched by the inclusive range."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
