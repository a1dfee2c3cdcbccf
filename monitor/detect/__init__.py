"""Change detection: pure numpy/scipy/scikit-image/shapely on arrays with dates.

Time-series mode (``monitor run``)::

    state = new_state(grid.shape, params)              # or DetectorState.from_arrays(stored)
    for chip in chips:                                 # in date order
        state, outcome = update(state, chip.to_float(), chip.valid, chip.scl,
                                chip.datetime.date(), chip.scene_id, params)
    objects = detections_from_state(state, aoi_id=aoi.id, grid=aoi.grid,
                                    simulated=any_simulated, params=params)
    detections = [o.to_detection(to_wgs84(o.geometry_utm)) for o in objects]
    stored = state.to_arrays()

Before/after mode (``monitor compare``): :func:`compare_windows`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.detect.classify import CHANGE_CODES, NODATA_CODE, UNKNOWN_CODE, type_changes
    from monitor.detect.compare import (
        CompareResult,
        compare_objects,
        compare_windows,
        composite,
    )
    from monitor.detect.ids import detection_id
    from monitor.detect.limits import STATED_LIMITS, stated_limits_note
    from monitor.detect.objects import ChangeObject
    from monitor.detect.params import CompareParams, DetectorParams, date_of, day_number
    from monitor.detect.readout import (
        Coverage,
        DataGap,
        change_raster,
        coverage,
        detections_from_state,
    )
    from monitor.detect.state import DetectorState, new_state
    from monitor.detect.timeseries import SceneOutcome, run_series, update

# A function named like its module: bound eagerly (a light module), or importing the
# submodule later would leave ``monitor.detect.confidence`` naming the module.
from monitor.detect.confidence import ConfidenceModel, confidence  # noqa: E402

# Names load on first use (PEP 562): a run with nothing new, or one that only needs the
# parameters or the stated limits, must not import scikit-image and the whole detector.
_HOMES: dict[str, str] = {
    **dict.fromkeys(("CHANGE_CODES", "NODATA_CODE", "UNKNOWN_CODE", "type_changes"), "classify"),
    **dict.fromkeys(
        ("CompareResult", "compare_windows", "compare_objects", "composite"), "compare"
    ),
    "detection_id": "ids",
    **dict.fromkeys(("STATED_LIMITS", "stated_limits_note"), "limits"),
    "ChangeObject": "objects",
    **dict.fromkeys(("CompareParams", "DetectorParams", "date_of", "day_number"), "params"),
    **dict.fromkeys(
        ("Coverage", "DataGap", "change_raster", "coverage", "detections_from_state"), "readout"
    ),
    **dict.fromkeys(("DetectorState", "new_state"), "state"),
    **dict.fromkeys(("SceneOutcome", "run_series", "update"), "timeseries"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'monitor.detect' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"monitor.detect.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CHANGE_CODES",
    "NODATA_CODE",
    "UNKNOWN_CODE",
    "type_changes",
    "CompareResult",
    "compare_windows",
    "compare_objects",
    "composite",
    "ConfidenceModel",
    "confidence",
    "detection_id",
    "STATED_LIMITS",
    "stated_limits_note",
    "ChangeObject",
    "CompareParams",
    "DetectorParams",
    "date_of",
    "day_number",
    "Coverage",
    "DataGap",
    "DetectorState",
    "SceneOutcome",
    "change_raster",
    "coverage",
    "detections_from_state",
    "new_state",
    "run_series",
    "update",
]
