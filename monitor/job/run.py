"""``monitor run``: one run of the incremental job, with the steps it owes after it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import Settings
from monitor.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    MonitorError,
    ReadError,
    WorkerError,
)
from monitor.job.common import (
    EXPORTS_STEP,
    PROGRESS_AOIS,
    PROGRESS_SCENES,
    Echo,
    Tick,
    aois_of,
    catalog_of,
    lost_as_duplicate,
    no_scene_error,
    period_of,
    reports_step,
    say_nothing,
    store_of,
    tick_nothing,
)
from monitor.job.export import export_detections
from monitor.job.report import owed_reports
from monitor.models import Aoi, Observation, Scene


@dataclass
class JobResult:
    exit_code: int
    run_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    per_aoi: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _observation(aoi: Aoi, scene: Scene, status: str, reason: str, **fields: Any) -> Observation:
    from monitor.runner import make_observation

    return make_observation(aoi, scene, status, reason, **fields)


@dataclass
class _AoiPlan:
    """One AOI's scenes to read this run, decided in the main thread before any read."""

    aoi: Aoi
    todo: list[Scene]
    stored: dict[str, Observation]
    found: int
    fallback_months: list[str]


def _plan_aoi(
    settings: Settings, aoi: Aoi, catalog: Any, store: Any, start: dt.date, end: dt.date
) -> _AoiPlan:
    """Search one AOI's scenes and record them; the new (or earlier failed) ones are to read.

    Raises ``MonitorError`` on AOI-level failure (no scene, catalog error).
    """
    from monitor.catalog import find_scenes

    store.put_aoi(aoi)
    search = find_scenes(catalog, aoi, start, end, max_cloud_cover=settings.max_cloud_cover)
    if not search.scenes:
        raise no_scene_error(aoi, catalog, start, end)
    store.put_scenes([*search.scenes, *(s for s, _ in search.duplicates)])
    stored = {o.scene_id: o for o in store.observations(aoi.id)}
    # A duplicate recorded as anything but skipped was the acquisition's item until now:
    # an item reprocessed upstream supersedes it. Recorded skipped, it leaves the used
    # scenes, so the detector replays the history with the new item in its place.
    losers = [
        _observation(aoi, scene, "skipped", why)
        for scene, why in search.duplicates
        if scene.id not in stored or stored[scene.id].status != "skipped"
    ]
    # An item gone from the catalog whose acquisition has another item now (the reprocessed
    # one withdrawn, the old one back): one observation per acquisition, always.
    winners = {s.acquisition: s for s in search.scenes}
    listed = {s.id for s in search.scenes} | {s.id for s, _ in search.duplicates}
    for obs in stored.values():
        winner = winners.get(obs.acquisition)
        if winner is not None and obs.scene_id not in listed and obs.status != "skipped":
            scene = store.get_scene(obs.scene_id)
            if scene is not None:
                losers.append(
                    _observation(
                        aoi,
                        scene,
                        "skipped",
                        (
                            f"same acquisition as {winner.id} (this item is no longer in the "
                            "catalog)"
                        ),
                    )
                )
    store.put_observations(losers)
    stored.update({o.scene_id: o for o in losers})
    todo = sorted(
        (
            s
            for s in search.scenes
            if s.id not in stored
            or stored[s.id].status in ("pending", "failed")
            or lost_as_duplicate(stored[s.id])
        ),
        key=lambda s: s.datetime,
    )
    return _AoiPlan(aoi, todo, stored, len(search.scenes), list(search.fallback_months))


def _record_reads(
    plan: _AoiPlan, results: Sequence[tuple[Scene, Any]], store: Any, detail: Echo, alert: Echo
) -> dict[str, Any]:
    """Record each read scene as used, skipped or failed with the reason; the AOI's counts.

    A scene that cannot be read (not a GeoTIFF, wrong CRS, transient errors past the
    retries) is recorded as failed and retried next run, in case upstream fixes it.
    """
    aoi = plan.aoi
    counts: Counter[str] = Counter(found=plan.found, new=len(plan.todo))
    for scene, outcome in results:
        attempts = plan.stored[scene.id].attempts + 1 if scene.id in plan.stored else 1
        if isinstance(outcome, ReadError):
            obs = _observation(aoi, scene, "failed", str(outcome), attempts=attempts)
        else:
            obs = _observation(
                aoi,
                scene,
                outcome.status,
                outcome.reason,
                clear_fraction=outcome.clear_fraction,
                rule=outcome.rule,
                attempts=attempts,
            )
        store.put_observations([obs])
        counts[obs.status] += 1
        (alert if obs.status == "failed" else detail)(
            f"  {aoi.id} {scene.date} {scene.id}: {obs.status}"
            + (
                f" ({obs.reason})"
                if obs.status != "used"
                else f" ({obs.clear_fraction:.0%} clear)"
                if obs.clear_fraction is not None
                else ""
            )
        )
    return {"counts": dict(counts), "fallback_months": plan.fallback_months}


def record_aoi_failure(result: JobResult, aoi_id: str, exc: MonitorError, say: Echo) -> None:
    """Record one AOI's failure in the run's result (the others go on) and say it."""
    result.errors.append(f"{aoi_id}: {exc}")
    result.per_aoi[aoi_id] = {"status": "failed", "error": str(exc)}
    say(f"{aoi_id}: FAILED: {exc}")


def store_computed(
    aoi: Aoi, store: Any, computed: Any, run_id: int | None, echo: Echo
) -> dict[str, Any]:
    """Store a computed detector state and its detections in one transaction; the AOI's
    figures for the run summary. ``computed`` None: nothing was fed (the daily case),
    answered from the database alone."""
    if computed is None:
        info = store.get_detector_state(aoi.id, with_arrays=False)
        counts = store.detection_counts(aoi.id)
        return {
            "scenes_fed": 0,
            "detections": {status: sum(types.values()) for status, types in counts.items()},
            "coverage": list(info.coverage.get("notes", [])) if info else [],
            "detections_new": 0,
            "detections_confirmed": 0,
            "detections_rejected": 0,
        }
    from monitor.alerts import alert_events

    # The records as stored before: a retraction is told only of what was confirmed.
    before = store.detections(aoi_id=aoi.id)
    with store.transaction():
        store.put_detector_state(computed.snapshot)
        changes = store.put_detections(aoi.id, computed.detections, run_id=run_id)
        # Owed from this commit on: a run killed before its exports and alerts leaves them
        # owed to the next run, not lost (the outbox and the pending mark share the commit).
        # A detection an analyst reviewed as a false alarm is not told of again.
        dismissed = {
            i for i, r in store.reviews(aoi_id=aoi.id).items() if r.verdict == "false_alarm"
        }
        store.queue_alerts(
            run_id,
            [
                e
                for e in alert_events(changes, computed.detections, before)
                if e.detection.id not in dismissed
            ],
        )
        store.mark_pending(EXPORTS_STEP, run_id)
        store.mark_pending(reports_step(aoi.id), run_id)
    for note in computed.notes:
        echo(f"{aoi.id}: {note}")
    detections = computed.detections
    rejected = set(changes.rejected) | {d.id for d in detections if d.status == "rejected"}
    return {
        "scenes_fed": computed.scenes_fed,
        "detections": dict(Counter(d.status for d in detections)),
        "coverage": computed.notes,
        "chips_read_again": computed.read_again,
        "detections_new": len(set(changes.new) - rejected),
        "detections_confirmed": len(changes.confirmed),
        "detections_rejected": len(changes.rejected),
    }


def run_job(
    settings: Settings,
    selectors: Sequence[str] = (),
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    argv: Sequence[str] = (),
    echo: Echo = say_nothing,
    workers: int = 1,
    scheduler: str | None = None,
    detail: Echo = say_nothing,
    alert: Echo | None = None,
    deliver_alerts: bool = True,
    progress: Tick | None = None,
) -> JobResult:
    """One run of the incremental job over the AOIs (``monitor run``).

    Finds scenes not yet processed (new ones, and ones that failed before), reads their AOI
    windows through the chip cache, and records each as used, skipped or failed with the
    reason; feeds each AOI's detector and stores its state and detections. One AOI's
    failure never stops the others; any failure makes the exit code 3. ``workers`` > 1 runs
    AOIs in that many processes, ``scheduler`` on a Dask cluster (see ``monitor.runner``);
    the results are the same as a serial run's.

    Lines go to ``echo`` (progress), ``detail`` (one per scene read) and ``alert`` (failures
    and the final summary; ``echo`` when not given).
    """
    alert = alert or echo
    from monitor.imagery import GdalSettings
    from monitor.runner import (
        AoiTask,
        connect,
        detector_params,
        detector_version,
        nothing_to_feed,
        run_tasks,
    )
    from monitor.store import state_lock

    start, end = period_of(settings, since, until)
    aois = aois_of(settings, selectors)
    holder = "monitor run"
    result = JobResult(exit_code=EXIT_OK)
    with store_of(settings) as store, state_lock(settings.state_dir, holder):
        result.run_id = store.start_run("run", list(argv))
        client = None
        step = "scheduler"
        try:
            if scheduler is not None:
                client = connect(scheduler, settings.http_timeout_s)
            step = "catalog"
            catalog = catalog_of(settings)
        except MonitorError as exc:
            from monitor.catalog.source import is_url

            if client is not None:
                client.close()
            if step == "catalog" and not is_url(settings.stac):
                # A local catalog that cannot be read is bad input, not a passing fault.
                store.finish_run(
                    result.run_id, exit_code=1, counts={}, per_aoi={}, errors=[f"catalog: {exc}"]
                )
                raise
            # The STAC API or the Dask cluster is down or unreachable: a partial failure like
            # any other, recorded for every AOI, so cron sees exit 3 and the next run tries
            # again.
            for aoi in aois:
                result.per_aoi[aoi.id] = {"status": "failed", "error": str(exc)}
            result.errors.append(f"{step}: {exc}")
            result.exit_code = EXIT_PARTIAL
            store.finish_run(
                result.run_id,
                exit_code=result.exit_code,
                counts={},
                per_aoi=result.per_aoi,
                errors=result.errors,
            )
            alert(f"FAILED: {exc}")
            return result
        gdal = GdalSettings.from_settings(settings)
        totals: Counter[str] = Counter()
        plans: dict[str, _AoiPlan] = {}
        failures: dict[str, MonitorError] = {}
        for aoi in aois:
            echo(f"{aoi.id}: searching {catalog.source} {start} → {end}")
            try:
                plans[aoi.id] = _plan_aoi(settings, aoi, catalog, store, start, end)
            except MonitorError as exc:
                failures[aoi.id] = exc
        # AOIs with nothing to read and nothing to feed are answered here, from the database;
        # the others go to the runner (this process, worker processes or a Dask cluster).
        params = detector_params(settings)
        version = detector_version(params)
        tasks = []
        for aoi_id, plan in plans.items():
            if not plan.todo and nothing_to_feed(
                plan.aoi, store, store.observations(aoi_id, status="used"), version
            ):
                continue
            tasks.append(
                AoiTask(
                    plan.aoi,
                    tuple(plan.todo),
                    settings.state_dir,
                    gdal,
                    settings.min_clear_fraction,
                    params,
                )
            )
        works: dict[str, Any] = {}
        tick = progress or tick_nothing
        n_scenes = sum(len(t.todo) for t in tasks)
        counted = {"scenes": 0, "planned": 0, "aois": 0}

        def scene_read() -> None:
            counted["scenes"] += 1
            tick(PROGRESS_SCENES, counted["scenes"], n_scenes)

        tick(PROGRESS_AOIS, 0, len(aois))
        tick(PROGRESS_SCENES, 0, n_scenes)
        done = run_tasks(
            tasks, workers=workers, client=client, on_scene=scene_read if progress else None
        )
        try:
            for aoi in aois:
                if aoi.id in plans:
                    # Scenes read elsewhere (worker processes, Dask) are known per AOI only.
                    counted["planned"] += len(plans[aoi.id].todo)
                try:
                    if aoi.id in failures:
                        raise failures[aoi.id]
                    plan = plans[aoi.id]
                    if any(t.aoi.id == aoi.id for t in tasks):
                        while aoi.id not in works:
                            task, work = next(done, (None, None))
                            if task is None:
                                raise WorkerError("the runner stopped before this AOI")
                            works[task.aoi.id] = work
                        work = works.pop(aoi.id)
                        if isinstance(work, BaseException):
                            raise work
                        for line in work.messages:
                            echo(line)
                        info = _record_reads(plan, work.reads, store, detail, alert)
                        if work.error is not None:
                            raise WorkerError(work.error)
                        info.update(store_computed(aoi, store, work.computed, result.run_id, echo))
                    else:
                        info = _record_reads(plan, [], store, detail, alert)
                        info.update(store_computed(aoi, store, None, result.run_id, echo))
                except MonitorError as exc:
                    record_aoi_failure(result, aoi.id, exc, alert)
                    continue
                finally:
                    counted["aois"] += 1
                    counted["scenes"] = max(counted["scenes"], counted["planned"])
                    tick(PROGRESS_SCENES, counted["scenes"], n_scenes)
                    tick(PROGRESS_AOIS, counted["aois"], len(aois))
                result.per_aoi[aoi.id] = {"status": "ok", **info}
                totals.update(info["counts"])
                totals.update({f"detections_{k}": v for k, v in info["detections"].items()})
                for key in ("detections_new", "detections_confirmed", "detections_rejected"):
                    totals[key.replace("detections_", "detections_newly_")] += info[key]
                if info["counts"].get("failed"):
                    result.errors.append(
                        f"{aoi.id}: {info['counts']['failed']} scene(s) failed; retried next run"
                    )
        finally:
            # An interrupted run cancels the AOIs not started yet.
            done.close()
            if client is not None:
                client.close()
        exports, reports = close_run(
            settings, store, result, totals, aois, deliver_alerts, alert, echo
        )
    alert(
        f"scenes: {totals.get('new', 0)} new, {totals.get('used', 0)} used, "
        f"{totals.get('skipped', 0)} skipped, {totals.get('failed', 0)} failed"
    )
    alert(
        f"detections: {totals.get('detections_newly_new', 0)} new, "
        f"{totals.get('detections_newly_confirmed', 0)} newly confirmed, "
        f"{totals.get('detections_newly_rejected', 0)} newly rejected; open: "
        f"{totals.get('detections_confirmed', 0)} confirmed, "
        f"{totals.get('detections_probable', 0)} probable"
    )
    from monitor.detect import stated_limits_note

    alert(stated_limits_note())
    if exports is not None:
        echo(
            f"exports: {exports} and {exports.with_suffix('.gpkg').name} (probable and "
            "confirmed detections; other formats: monitor export)"
        )
    if reports is not None:
        echo(
            f"HTML reports: {reports.index} ({len(reports.pages)} AOI page(s), "
            f"{reports.seconds:.1f} s)"
        )
    if exports is None and reports is None:
        echo("nothing new: reports and exports left as they are")
    for error in result.errors:
        alert(f"error: {error}")
    return result


#: The job's own exports (probable and confirmed detections), in ``<reports-dir>``.
JOB_EXPORTS: tuple[tuple[str, str], ...] = (
    ("geojson", "detections.geojson"),
    ("gpkg", "detections.gpkg"),
)


def _owed_exports(settings: Settings, store: Any) -> Path | None:
    """The job's own exports, each replaced atomically, when owed (detections or reviews
    stored since they were last written, by this run or one killed before writing them) or
    missing: ``<reports-dir>/detections.geojson`` and ``<reports-dir>/detections.gpkg``.
    Returns the GeoJSON's path, None when nothing was owed."""
    paths = [(fmt, settings.reports_dir / name) for fmt, name in JOB_EXPORTS]
    if not store.pending(EXPORTS_STEP) and all(path.exists() for _, path in paths):
        return None
    for fmt, path in paths:
        export_detections(settings, (), fmt=fmt, out=path, status="all", overwrite=True)
    store.clear_pending(EXPORTS_STEP)
    return paths[0][1]


def close_run(
    settings: Settings,
    store: Any,
    result: JobResult,
    totals: Mapping[str, int],
    aois: Sequence[Aoi],
    deliver_alerts: bool,
    alert: Echo,
    echo: Echo,
) -> tuple[Path | None, Any]:
    """A run's (or rebuild's) end, under the lock: its exit code, the alerts it owes, its
    record, then the exports and reports owed. Returns what was written (None: not owed)."""
    result.counts = dict(totals)
    if result.errors:
        result.exit_code = EXIT_PARTIAL
    # After the exit code is decided: alerts never fail a run.
    _send_owed_alerts(settings, store, result, aois, deliver_alerts, alert)
    store.finish_run(
        result.run_id,
        exit_code=result.exit_code,
        counts=result.counts,
        per_aoi=result.per_aoi,
        errors=result.errors,
    )
    return _owed_exports(settings, store), owed_reports(settings, store, echo)


def _send_owed_alerts(
    settings: Settings, store: Any, result: JobResult, aois: Sequence[Aoi], deliver: bool, say: Echo
) -> None:
    """Write and deliver the alert events in the outbox: this run's, and any a run killed
    before its alerts left there. The outbox is emptied once the alerts file is written
    (delivery failures are the run's errors, not retried by later runs: they were retried
    already, and a late alert about an old run would mislead). A kill between writing and
    emptying repeats the alerts in the next run: at least once, never lost."""
    from monitor.alerts import alerts_for_run, merge_events

    queued = store.queued_alerts()
    names = {a.id: a.name for a in aois}
    events = merge_events(event for _seq, _run, event in queued)
    earlier = sorted(
        {run for _seq, run, _event in queued if run is not None and run != result.run_id}
    )
    if earlier:
        say(
            f"alerts: {sum(1 for q in queued if q[1] in earlier)} owed by interrupted run(s) "
            + ", ".join(str(r) for r in earlier)
        )
    sent = alerts_for_run(
        settings,
        run_id=result.run_id or 0,
        run_at=dt.datetime.now(dt.UTC),
        events=events,
        aoi_names=names,
        deliver=deliver,
    )
    if queued and sent.path is not None:
        store.clear_alerts(queued[-1][0])
    result.counts["alerts"] = sent.n_alerts
    result.errors.extend(sent.failures)
    for line in sent.lines():
        say(line)
