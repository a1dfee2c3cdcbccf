"""``monitor status``: the last run with each AOI's state, from the database alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from monitor.config import Settings
from monitor.imagery import ChipCache
from monitor.job.common import EXPORTS_STEP, reports_owed, store_of
from monitor.models import RunSummary
from monitor.runner import detector_params, detector_version
from monitor.store import Store


def state_status(settings: Settings, selectors: Sequence[str] = ()) -> dict[str, Any]:
    """``monitor status``: the last run and, per AOI in the state, what the monitor knows.

    Per AOI: the last clear observation, scenes used/skipped/failed/not read (failed ones
    by id, with the reason), the detector (version, scenes fed, modelled share, periods
    without a clear observation), open detections by status and type, and the chip cache's
    size. Reads no detector arrays and no chips: cheap enough for a monitoring probe.
    """

    report: dict[str, Any] = {
        "state_dir": str(settings.state_dir),
        "last_run": None,
        "last_complete_run": None,
        "aois": [],
        "cache_bytes": 0,
    }
    if not Store.exists(settings.state_dir):
        return report
    cache = ChipCache(settings.state_dir)
    current_version = detector_version(detector_params(settings))
    with store_of(settings, create=False) as store:
        runs = store.runs(limit=50)
        report["last_run"] = _run_dict(runs[0]) if runs else None
        complete = next((r for r in runs if r.finished_at is not None), None)
        report["last_complete_run"] = _run_dict(complete) if complete else None
        # What an interrupted run left for the next one to finish (0 / false normally).
        report["owed"] = {
            "alerts": len(store.queued_alerts()),
            "exports": store.pending(EXPORTS_STEP),
            "reports": bool(reports_owed(store, [a.id for a in store.list_aois()])),
        }
        wanted = set(selectors)
        for aoi in store.list_aois():
            if wanted and aoi.id not in wanted and (aoi.path not in wanted):
                continue
            observations = store.observations(aoi.id)
            by_status = Counter(o.status for o in observations)
            used = [o for o in observations if o.status == "used"]
            by_type = store.detection_counts(aoi.id)
            info = store.get_detector_state(aoi.id, with_arrays=False)
            detector = None
            if info is not None:
                detector = {
                    "version": info.detector_version,
                    "current": info.detector_version == current_version
                    and info.geometry_hash == aoi.geometry_hash,
                    "scenes_fed": info.n_scenes,
                    "last_scene": info.last_datetime.isoformat() if info.last_datetime else None,
                    "modelled_fraction": info.coverage.get("modelled_fraction"),
                    "data_gaps": list(info.coverage.get("gaps", [])),
                    "notes": list(info.coverage.get("notes", [])),
                }
            report["aois"].append(
                {
                    "id": aoi.id,
                    "name": aoi.name,
                    "last_clear_observation": used[-1].datetime.date().isoformat()
                    if used
                    else None,
                    "scenes_used": by_status.get("used", 0),
                    "scenes_skipped": by_status.get("skipped", 0),
                    "scenes_failed": by_status.get("failed", 0),
                    "scenes_pending": by_status.get("pending", 0),
                    "failed": [
                        {"scene_id": o.scene_id, "attempts": o.attempts, "reason": o.reason}
                        for o in observations
                        if o.status == "failed"
                    ],
                    "detector": detector,
                    "detections": by_type,
                    "cache_bytes": cache.size_bytes(aoi.id),
                    "simulated": any(o.simulated for o in observations),
                }
            )
    report["cache_bytes"] = cache.size_bytes()
    return report


def _run_dict(run: RunSummary) -> dict[str, Any]:
    """A run's record as ``monitor status --json`` shows it."""
    seconds = (
        (run.finished_at - run.started_at).total_seconds() if run.finished_at is not None else None
    )
    return {
        "run_id": run.run_id,
        "command": run.command,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "seconds": round(seconds, 1) if seconds is not None else None,
        "exit_code": run.exit_code,
        "counts": dict(run.counts),
        "per_aoi": {k: dict(v) for k, v in run.per_aoi.items()},
        "errors": list(run.errors),
    }
