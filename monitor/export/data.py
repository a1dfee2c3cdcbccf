"""What ``monitor.job`` hands the exporters: records only, never a store or a file to read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.models import Aoi, Detection, Observation, RunSummary, Scene

__all__ = ["ExportData"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class ExportData:
    """The detections to write and what gives them context.

    Attributes
    ----------
    detections : the selected detections (EPSG:4326 geometries).
    aois : the AOIs the export covers (the GeoPackage's ``aois`` layer, names for labels).
    observations : per AOI and scene, what became of it (the GeoPackage's ``observations``).
    runs : the runs of the state, newest first (the GeoPackage's ``runs``).
    scenes : the evidence scenes by id (their STAC item hrefs become links).
    status, since : the selection, as ``monitor export`` was asked for it.
    limits : the detector's stated limits, written into every format that has a place for it.
    """

    detections: Sequence[Detection]
    aois: Sequence[Aoi] = ()
    observations: Sequence[Observation] = ()
    runs: Sequence[RunSummary] = ()
    scenes: Mapping[str, Scene] = field(default_factory=dict)
    status: str = "confirmed"
    since: dt.date | None = None
    limits: str = ""
    generated_at: dt.datetime = field(default_factory=_now)

    @property
    def simulated(self) -> bool:
        """Whether anything exported derives from simulated scenes."""
        return any(d.simulated for d in self.detections) or any(
            o.simulated for o in self.observations
        )

    def aoi_name(self, aoi_id: str) -> str:
        """The AOI's name, or its id when the AOI is not among ``aois``."""
        return next((a.name for a in self.aois if a.id == aoi_id), aoi_id)

    def title(self) -> str:
        """A short title: which detections, and SIMULATED when they are."""
        names = ", ".join(a.name for a in self.aois) or "no AOI"
        sim = "SIMULATED DATA: " if self.simulated else ""
        return f"{sim}{self.status} detections of the border monitor ({names})"

    def metadata(self) -> dict[str, Any]:
        """The selection and the stated limits as plain JSON data."""
        return {
            "status": self.status,
            "since": self.since.isoformat() if self.since else None,
            "aois": [a.id for a in self.aois],
            "generated_at": self.generated_at.isoformat(),
            "limits": self.limits,
            "simulated": self.simulated,
        }
