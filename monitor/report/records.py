"""What a report shows, as ``monitor.job`` hands it over: records, rendered arrays.

The report stage never reads imagery, searches a catalog or opens the store: ``job`` reads
the chips, turns them into these records (with the pure helpers of
:mod:`monitor.report.evidence`) and passes them to :func:`monitor.report.write_aoi_page`
and :func:`monitor.report.write_index_page`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.models import Aoi, Detection, Observation

__all__ = [
    "Frame",
    "Thumbnail",
    "IndexSeries",
    "DetectionEvidence",
    "AoiReport",
    "AoiSummary",
    "StatedSizes",
    "INDEX_NAMES",
    "MOSTLY_CLEAR",
    "clearest_per_month",
    "latest_mostly_clear",
    "months_without_clear_view",
]

#: A month's image at least this clear may open a page (a monsoon month's best often is not).
MOSTLY_CLEAR = 0.5

#: The indices charted per detection, in chart order: (key, label, plain meaning).
INDEX_NAMES: tuple[tuple[str, str, str], ...] = (
    ("ndvi", "NDVI", "vegetation: (NIR - red) / (NIR + red)"),
    ("ndbi", "NDBI", "built-up / bare: (SWIR1 - NIR) / (SWIR1 + NIR)"),
    ("brightness", "Brightness", "mean visible reflectance (blue, green, red)"),
)


def clearest_per_month(observations: Sequence[Observation]) -> dict[str, Observation]:
    """``YYYY-MM`` -> the used observation of that month with the largest clear share
    (the first of equals): the scenes the date slider shows."""
    best: dict[str, Observation] = {}
    for obs in observations:
        if obs.status != "used":
            continue
        month = obs.datetime.astimezone(dt.UTC).strftime("%Y-%m")
        held = best.get(month)
        if held is None or (obs.clear_fraction or 0.0) > (held.clear_fraction or 0.0):
            best[month] = obs
    return dict(sorted(best.items()))


def latest_mostly_clear(clear_fractions: Sequence[float | None]) -> int:
    """Index of the last share at least ``MOSTLY_CLEAR``; the last index when none is (0 for
    none at all)."""
    mostly = [
        i for i, share in enumerate(clear_fractions) if share is not None and share >= MOSTLY_CLEAR
    ]
    return mostly[-1] if mostly else max(len(clear_fractions) - 1, 0)


def months_without_clear_view(observations: Sequence[Observation]) -> list[str]:
    """Months (``YYYY-MM``) with acquisitions but not one used (clear enough) scene."""
    seen: dict[str, bool] = {}
    for obs in observations:
        month = obs.datetime.astimezone(dt.UTC).strftime("%Y-%m")
        seen[month] = seen.get(month, False) or obs.status == "used"
    return [month for month, clear in sorted(seen.items()) if not clear]


@dataclass(frozen=True, eq=False)
class Frame:
    """One clear date of the map's date slider: the clearest used scene of its month.

    ``true_colour`` and ``false_colour`` are uint8 RGBA (rows, cols, 4) on the AOI grid
    (alpha 0 where the scene has no data); false colour is SWIR2, NIR, red.
    """

    date: dt.date
    scene_id: str
    clear_fraction: float | None
    true_colour: npt.NDArray[np.uint8]
    false_colour: npt.NDArray[np.uint8]

    @property
    def month(self) -> str:
        return self.date.strftime("%Y-%m")


@dataclass(frozen=True, eq=False)
class Thumbnail:
    """A true-colour crop around a detection on one date.

    ``rgb`` is uint8 (h, w, 3); ``mask`` bool (h, w) marks the detection's pixels in it.
    """

    date: dt.date
    scene_id: str
    rgb: npt.NDArray[np.uint8]
    mask: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class IndexSeries:
    """Indices averaged over a detection's pixels on every used scene.

    ``values`` maps each key of :data:`INDEX_NAMES` to one value per date (None where fewer
    than half of the detection's pixels were clear: ``clear`` is False then).
    ``cloudy_dates`` are acquisitions skipped as too cloudy for the whole AOI.
    """

    dates: tuple[dt.date, ...] = ()
    values: Mapping[str, tuple[float | None, ...]] = field(default_factory=dict)
    clear: tuple[bool, ...] = ()
    cloudy_dates: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class DetectionEvidence:
    """The imagery behind one detection: thumbnails of its change window and its indices."""

    detection_id: str
    before: Thumbnail | None = None
    after: Thumbnail | None = None
    series: IndexSeries = field(default_factory=IndexSeries)


@dataclass(frozen=True)
class StatedSizes:
    """The detector's stated limits (``monitor.detect.STATED_LIMITS``) and its note."""

    area_m2_p50: float
    area_m2_p90: float
    measured_on: str
    note: str


@dataclass(frozen=True, eq=False)
class AoiReport:
    """Everything one AOI page shows.

    ``coverage`` is the detector state's coverage record (``modelled_fraction``, ``gaps``
    as ``{"start", "end", "days"}``, ``notes``); ``scene_links`` maps scene ids to their
    STAC item href as catalogued (linked only when http(s)); ``extra_sections`` are HTML
    fragments that other modules built and escaped (shown as they are).
    """

    aoi: Aoi
    observations: tuple[Observation, ...]
    detections: tuple[Detection, ...]
    limits: StatedSizes
    generated_at: dt.datetime
    coverage: Mapping[str, Any] = field(default_factory=dict)
    frames: tuple[Frame, ...] = ()
    evidence: Mapping[str, DetectionEvidence] = field(default_factory=dict)
    scene_links: Mapping[str, str | None] = field(default_factory=dict)
    simulated: bool = False
    extra_sections: tuple[str, ...] = ()
    #: Lines about what could not be shown (a chip that could not be read again, ...).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AoiSummary:
    """One AOI's line on the index page (no imagery)."""

    aoi: Aoi
    page: str | None
    last_clear: dt.date | None
    scenes_used: int
    scenes_skipped: int
    detections: Mapping[str, Mapping[str, int]]
    gaps: tuple[Mapping[str, Any], ...]
    coverage_notes: tuple[str, ...]
    simulated: bool
    #: The date of the frame the AOI page opens on (the latest mostly clear month's
    #: clearest view), shown on the overview map from ``<aoi-id>-latest.webp``.
    latest_frame: dt.date | None = None
    months_without_clear_view: tuple[str, ...] = ()

    @classmethod
    def of(cls, report: AoiReport, page: str | None) -> AoiSummary:
        """The summary of a report whose page is ``page``."""
        return cls.from_records(
            report.aoi,
            report.observations,
            report.detections,
            report.coverage,
            page=page,
            simulated=report.simulated,
        )

    @classmethod
    def from_records(
        cls,
        aoi: Aoi,
        observations: Sequence[Observation],
        detections: Sequence[Detection],
        coverage: Mapping[str, Any],
        *,
        page: str | None,
        simulated: bool,
    ) -> AoiSummary:
        """The summary from the AOI's stored records (no imagery needed)."""
        used = [o for o in observations if o.status == "used"]
        counts: dict[str, dict[str, int]] = {}
        for det in detections:
            by_type = counts.setdefault(det.status, {})
            by_type[det.change_type] = by_type.get(det.change_type, 0) + 1
        last = max((o.datetime for o in used), default=None)
        frames = list(clearest_per_month(observations).values())
        opening = (
            frames[latest_mostly_clear([o.clear_fraction for o in frames])] if frames else None
        )
        return cls(
            aoi=aoi,
            page=page,
            last_clear=last.astimezone(dt.UTC).date() if last is not None else None,
            scenes_used=len(used),
            scenes_skipped=sum(o.status == "skipped" for o in observations),
            detections=counts,
            gaps=tuple(coverage.get("gaps", ())),
            coverage_notes=tuple(coverage.get("notes", ())),
            simulated=simulated,
            latest_frame=opening.datetime.astimezone(dt.UTC).date() if opening else None,
            months_without_clear_view=tuple(months_without_clear_view(observations)),
        )
