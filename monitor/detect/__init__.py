"""Change detection: pure numpy/scipy/scikit-image/shapely on arrays and dates.

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

from monitor.detect.classify import CHANGE_CODES, NODATA_CODE, UNKNOWN_CODE, type_changes
from monitor.detect.compare import CompareResult, compare_objects, compare_windows, composite
from monitor.detect.confidence import ConfidenceModel, confidence
from monitor.detect.ids import detection_id
from monitor.detect.limits import STATED_LIMITS, stated_limits_note
from monitor.detect.objects import ChangeObject
from monitor.detect.params import CompareParams, DetectorParams, date_of, day_number
from monitor.detect.timeseries import (
    Coverage,
    DataGap,
    DetectorState,
    SceneOutcome,
    change_raster,
    coverage,
    detections_from_state,
    new_state,
    run_series,
    update,
)

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
