"""The built-up timeline as CSV: ``monitor export --format timeline``.

One row per AOI and month, from the first month the detector saw to the last. A month with
too few clear observations is a gap: ``gap`` is ``true`` and its figures are empty, never
zero. Areas are square metres of roof (see docs/timeline.md for what the band holds).
``monitor.job`` hands over the timelines; nothing here reads the store or imagery.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.errors import ExportError
from monitor.export._files import staged

if TYPE_CHECKING:
    from monitor.detect.timeline import BuiltTimeline

__all__ = ["TIMELINE_COLUMNS", "AoiTimelineRows", "timeline_rows", "write_timeline_csv"]

#: The CSV's columns, in order.
TIMELINE_COLUMNS: tuple[str, ...] = (
    "aoi",
    "month",
    "clear_observations",
    "gap",
    "built_m2",
    "built_low_m2",
    "built_high_m2",
    "new_built_m2",
    "demolished_m2",
    "simulated",
)


@dataclass(frozen=True)
class AoiTimelineRows:
    """One AOI's timeline as handed to the writer."""

    aoi_id: str
    timeline: BuiltTimeline
    simulated: bool


def _area(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def timeline_rows(timelines: Sequence[AoiTimelineRows]) -> list[list[str]]:
    """The CSV's rows (header first), as text."""
    rows = [list(TIMELINE_COLUMNS)]
    for entry in timelines:
        for month in entry.timeline.months:
            rows.append(
                [
                    entry.aoi_id,
                    month.month,
                    str(month.clear_observations),
                    "true" if month.gap else "false",
                    _area(month.built_m2),
                    _area(month.built_low_m2),
                    _area(month.built_high_m2),
                    _area(month.new_built_m2),
                    _area(month.demolished_m2),
                    "true" if entry.simulated else "false",
                ]
            )
    return rows


def write_timeline_csv(
    timelines: Sequence[AoiTimelineRows], out: Path, *, overwrite: bool = False
) -> int:
    """Write the timelines to ``out`` (UTF-8 CSV, replaced atomically); the rows written.

    Raises
    ------
    MonitorError
        ``out`` exists and ``overwrite`` is false, is a folder, or cannot be written.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    rows = timeline_rows(timelines)
    writer.writerows(rows)
    with staged(overwrite) as staging:
        path = staging.file(Path(out))
        try:
            path.write_text(buffer.getvalue(), encoding="utf-8")
        except OSError as exc:
            raise ExportError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return len(rows) - 1
