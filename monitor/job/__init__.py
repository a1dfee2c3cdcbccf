"""Wiring of the stages: AOI → catalog → imagery → (detect) → store → (report/export).

Only this package wires stages together; the CLI calls one function here per command and
prints. One module per command (``run``, ``rebuild``, ``export``, ``report``, ``timeline``
...), ``_common`` for what they share. Heavy libraries (rasterio, pystac) are imported by the
stages, lazily, so that ``monitor --help`` and a run with nothing new stay fast.
"""

from __future__ import annotations

from monitor.job.aois import AddResult, AoiEntry, add_aoi, list_aois
from monitor.job.cache import CacheUse, cache_use
from monitor.job.common import (
    DEMO_AOIS,
    EXPORTS_STEP,
    PROGRESS_AOIS,
    PROGRESS_SCENES,
    REPORTS_STEP,
    Echo,
    Tick,
)
from monitor.job.compare import CompareOutput, compare_aoi
from monitor.job.demo import DEMO_PERIOD, DemoPaths, run_demo, simulate_aois
from monitor.job.export import STATUS_CHOICES, ExportResult, export_detections, select_detections
from monitor.job.rebuild import rebuild_aois
from monitor.job.report import write_reports
from monitor.job.review import review_detection
from monitor.job.run import JOB_EXPORTS, JobResult, run_job
from monitor.job.scenes import SceneListing, SceneRow, list_scenes
from monitor.job.status import state_status
from monitor.job.timeline import (
    AoiTimeline,
    ClaimOutcome,
    TimelineExport,
    built_timeline,
    check_claim,
    export_timeline,
    timeline_report_sections,
)

__all__ = [
    "add_aoi",
    "AddResult",
    "AoiEntry",
    "AoiTimeline",
    "built_timeline",
    "cache_use",
    "CacheUse",
    "check_claim",
    "ClaimOutcome",
    "compare_aoi",
    "CompareOutput",
    "DEMO_AOIS",
    "DEMO_PERIOD",
    "DemoPaths",
    "Echo",
    "export_detections",
    "export_timeline",
    "ExportResult",
    "EXPORTS_STEP",
    "JOB_EXPORTS",
    "JobResult",
    "list_aois",
    "list_scenes",
    "PROGRESS_AOIS",
    "PROGRESS_SCENES",
    "rebuild_aois",
    "REPORTS_STEP",
    "review_detection",
    "run_demo",
    "run_job",
    "SceneListing",
    "SceneRow",
    "select_detections",
    "simulate_aois",
    "state_status",
    "STATUS_CHOICES",
    "Tick",
    "timeline_report_sections",
    "TimelineExport",
    "write_reports",
]
