"""Wiring of the stages: AOI → catalog → imagery → (detect) → store → (report/export).

Only this module wires stages together; the CLI calls one function here per command and
prints. Heavy libraries (rasterio, pystac) are imported by the stages, lazily, so that
``monitor --help`` and a run with nothing new stay fast.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import Settings
from monitor.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    MonitorError,
    ReadError,
)
from monitor.models import Aoi, Detection, Observation, Review, Scene

__all__ = [
    "AoiEntry", "AddResult", "SceneRow", "SceneListing", "JobResult",
    "list_aois", "add_aoi", "list_scenes", "run_job", "state_status",
    "simulate_aois", "run_demo", "DEMO_AOIS", "DEMO_PERIOD", "DemoPaths", "ExportResult",
    "export_detections", "select_detections", "STATUS_CHOICES", "review_detection",
    "CompareOutput", "compare_aoi", "rebuild_aois", "CacheUse",
    "cache_use", "AoiTimeline", "TimelineExport", "ClaimOutcome", "built_timeline",
    "export_timeline", "check_claim", "timeline_report_sections",
]

Echo = Callable[[str], None]
#: Progress of a run: ``tick(what, done, total)``, ``what`` one of the names below.
Tick = Callable[[str, int, int], None]
PROGRESS_AOIS = "AOIs"
PROGRESS_SCENES = "scenes read"

#: The AOIs the demo simulates and runs; kk-park-east is read from kk-park's ground.
DEMO_AOIS: tuple[str, ...] = ("kk-park", "kk-park-east", "shwe-kokko", "mae-sot")


def _noop(_: str) -> None:
    return None


def _no_tick(_what: str, _done: int, _total: int) -> None:
    return None


# --------------------------------------------------------------------------- AOIs

@dataclass(frozen=True)
class AoiEntry:
    aoi: Aoi
    facts: Mapping[str, Any]
    registered: bool


@dataclass(frozen=True)
class AddResult:
    aoi: Aoi
    path: Path
    geometry_changed: bool


def _resolve_aois(settings: Settings, selectors: Sequence[str]) -> list[Aoi]:
    from monitor.aoi import resolve_aois

    return resolve_aois(list(selectors), settings.aoi_dir, max_area_km2=settings.max_aoi_area_km2)


def _open_store(settings: Settings, create: bool = True) -> Any:
    from monitor.store import Store

    return Store.open(settings.state_dir, create=create)


def list_aois(settings: Settings, selectors: Sequence[str] = ()) -> list[AoiEntry]:
    """The AOIs of ``--aoi-dir`` (or ``--aoi``), their grid facts and whether the state has them."""
    from monitor.aoi import check_report

    aois = _resolve_aois(settings, selectors)
    registered: dict[str, str] = {}
    if (settings.state_dir / "state.db").exists():
        with _open_store(settings, create=False) as store:
            registered = {a.id: a.geometry_hash for a in store.list_aois()}
    return [AoiEntry(aoi, check_report(aoi), registered.get(aoi.id) == aoi.geometry_hash)
            for aoi in aois]


def add_aoi(settings: Settings, path: Path, *, overwrite: bool = False) -> AddResult:
    """Validate ``path``, copy it into the AOI folder and register it in the state."""
    from monitor.aoi import add_aoi as add_aoi_file
    from monitor.aoi import load_aoi

    # Validate first and open the state before copying: a bad file or unusable state
    # leaves both the AOI folder and the state untouched.
    load_aoi(path, max_area_km2=settings.max_aoi_area_km2)
    with _open_store(settings) as store:
        written = add_aoi_file(path, settings.aoi_dir, max_area_km2=settings.max_aoi_area_km2,
                               overwrite=overwrite)
        aoi = load_aoi(written, max_area_km2=settings.max_aoi_area_km2)
        before = store.get_aoi(aoi.id)
        store.put_aoi(aoi)
    changed = before is not None and before.geometry_hash != aoi.geometry_hash
    return AddResult(aoi, Path(written), changed)


# --------------------------------------------------------------------------- scenes

def _period(settings: Settings, since: dt.date | None,
            until: dt.date | None) -> tuple[dt.date, dt.date]:
    start = since or settings.start_date
    end = until or dt.datetime.now(dt.UTC).date()
    if end < start:
        raise MonitorError(f"--until {end} is before --since {start}")
    return start, end


def _open_catalog(settings: Settings) -> Any:
    from monitor.catalog import catalog_from_settings

    return catalog_from_settings(settings)


def _no_scene(aoi: Aoi, catalog: Any, start: dt.date, end: dt.date) -> MonitorError:
    return MonitorError(f"AOI {aoi.id}: no scene of {catalog.source} covers it "
                        f"between {start} and {end}")


@dataclass(frozen=True)
class SceneRow:
    date: dt.date
    scene_id: str
    collection: str
    cloud_cover: float | None
    clear_fraction: float | None
    rule: str
    status: str
    reason: str


@dataclass(frozen=True)
class SceneListing:
    aoi_id: str
    start: dt.date
    end: dt.date
    rows: tuple[SceneRow, ...]
    n_acquisitions: int
    monthly_counts: Mapping[str, Mapping[str, int]]
    monthly_clear: Mapping[str, int | None]
    fallback_months: tuple[str, ...]
    simulated: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        for row in data["rows"]:
            row["date"] = row["date"].isoformat()
        return data


def _listing(aoi: Aoi, search: Any, stored: Mapping[str, Observation], start: dt.date,
             end: dt.date) -> SceneListing:
    rows: list[SceneRow] = []
    clear_by_month: Counter[str] = Counter()
    read_months: set[str] = set()
    for scene in search.scenes:
        obs = stored.get(scene.id)
        status = "new" if obs is None or obs.status == "pending" else obs.status
        reason = "not read yet" if status == "new" else obs.reason  # type: ignore[union-attr]
        rule = obs.rule if obs is not None and obs.rule is not None else scene.rule
        clear = obs.clear_fraction if obs is not None else None
        month = scene.date.strftime("%Y-%m")
        if status in ("used", "skipped"):
            read_months.add(month)
        if status == "used":
            clear_by_month[month] += 1
        rows.append(SceneRow(scene.date, scene.id, scene.collection, scene.cloud_cover, clear,
                             rule.label, status, reason))
    for scene, why in search.duplicates:
        rows.append(SceneRow(scene.date, scene.id, scene.collection, scene.cloud_cover, None,
                             scene.rule.label, "skipped", why))
    rows.sort(key=lambda r: (r.date, r.status != "skipped" and r.status, r.scene_id))
    months = {m: dict(c) for m, c in search.monthly_counts.items()}
    return SceneListing(
        aoi_id=aoi.id, start=start, end=end, rows=tuple(rows),
        n_acquisitions=len(search.scenes), monthly_counts=months,
        # Clear acquisitions per month; None where nothing of that month was read yet.
        monthly_clear={m: clear_by_month.get(m, 0) if m in read_months else None
                       for m in months},
        fallback_months=tuple(search.fallback_months),
        simulated=any(s.simulated for s in search.scenes),
    )


def list_scenes(settings: Settings, selectors: Sequence[str] = (), *,
                since: dt.date | None = None, until: dt.date | None = None) -> list[SceneListing]:
    """Scenes found per AOI, merged with what the state knows of each (``monitor scenes``).

    Read-only for the catalog; registers the AOIs in the state. One AOI that no scene covers
    is an error; with several AOIs, such an AOI is listed empty.
    """
    from monitor.catalog import find_scenes

    start, end = _period(settings, since, until)
    aois = _resolve_aois(settings, selectors)
    catalog = _open_catalog(settings)
    listings = []
    with _open_store(settings) as store:
        for aoi in aois:
            search = find_scenes(catalog, aoi, start, end,
                                 max_cloud_cover=settings.max_cloud_cover)
            if not search.scenes and len(aois) == 1:
                raise _no_scene(aoi, catalog, start, end)
            store.put_aoi(aoi)
            stored = {o.scene_id: o for o in store.observations(aoi.id)}
            listings.append(_listing(aoi, search, stored, start, end))
    return listings


# --------------------------------------------------------------------------- run

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


def _plan_aoi(settings: Settings, aoi: Aoi, catalog: Any, store: Any, start: dt.date,
              end: dt.date) -> _AoiPlan:
    """Search one AOI's scenes and record them; the new (or earlier failed) ones are to read.

    Raises ``MonitorError`` on AOI-level failure (no scene, catalog error).
    """
    from monitor.catalog import find_scenes

    store.put_aoi(aoi)
    search = find_scenes(catalog, aoi, start, end, max_cloud_cover=settings.max_cloud_cover)
    if not search.scenes:
        raise _no_scene(aoi, catalog, start, end)
    store.put_scenes([*search.scenes, *(s for s, _ in search.duplicates)])
    stored = {o.scene_id: o for o in store.observations(aoi.id)}
    # A duplicate recorded as anything but skipped was the acquisition's item until now:
    # an item reprocessed upstream supersedes it. Recorded skipped, it leaves the used
    # scenes, so the detector replays the history with the new item in its place.
    losers = [_observation(aoi, scene, "skipped", why) for scene, why in search.duplicates
              if scene.id not in stored or stored[scene.id].status != "skipped"]
    # An item gone from the catalog whose acquisition has another item now (the reprocessed
    # one withdrawn, the old one back): one observation per acquisition, always.
    winners = {s.acquisition: s for s in search.scenes}
    listed = {s.id for s in search.scenes} | {s.id for s, _ in search.duplicates}
    for obs in stored.values():
        winner = winners.get(obs.acquisition)
        if (winner is not None and obs.scene_id not in listed and obs.status != "skipped"):
            scene = store.get_scene(obs.scene_id)
            if scene is not None:
                losers.append(_observation(aoi, scene, "skipped", (
                    f"same acquisition as {winner.id} (this item is no longer in the "
                    "catalog)")))
    store.put_observations(losers)
    stored.update({o.scene_id: o for o in losers})
    todo = sorted((s for s in search.scenes
                   if s.id not in stored or stored[s.id].status in ("pending", "failed")
                   or _lost_as_duplicate(stored[s.id])),
                  key=lambda s: s.datetime)
    return _AoiPlan(aoi, todo, stored, len(search.scenes), list(search.fallback_months))


def _lost_as_duplicate(obs: Any) -> bool:
    """An observation skipped because another item of its acquisition won (the catalog's
    duplicate reasons); when it wins again (the other item withdrawn), it is read."""
    from monitor.catalog.search import DUPLICATE_REASON_PREFIXES

    return bool(obs.status == "skipped" and obs.reason.startswith(DUPLICATE_REASON_PREFIXES))


def _record_reads(plan: _AoiPlan, results: Sequence[tuple[Scene, Any]], store: Any,
                  detail: Echo, alert: Echo) -> dict[str, Any]:
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
            obs = _observation(aoi, scene, outcome.status, outcome.reason,
                               clear_fraction=outcome.clear_fraction, rule=outcome.rule,
                               attempts=attempts)
        store.put_observations([obs])
        counts[obs.status] += 1
        (alert if obs.status == "failed" else detail)(
            f"  {aoi.id} {scene.date} {scene.id}: {obs.status}"
             + (f" ({obs.reason})" if obs.status != "used" else
                f" ({obs.clear_fraction:.0%} clear)" if obs.clear_fraction is not None else ""))
    return {"counts": dict(counts), "fallback_months": plan.fallback_months}


def _aoi_failed(result: JobResult, aoi_id: str, exc: MonitorError, say: Echo) -> None:
    """Record one AOI's failure in the run's result (the others go on) and say it."""
    result.errors.append(f"{aoi_id}: {exc}")
    result.per_aoi[aoi_id] = {"status": "failed", "error": str(exc)}
    say(f"{aoi_id}: FAILED: {exc}")


def _store_computed(aoi: Aoi, store: Any, computed: Any, run_id: int | None,
                   echo: Echo) -> dict[str, Any]:
    """Store a computed detector state and its detections in one transaction; the AOI's
    figures for the run summary. ``computed`` None: nothing was fed (the daily case),
    answered from the database alone."""
    if computed is None:
        info = store.get_detector_state(aoi.id, with_arrays=False)
        counts = store.detection_counts(aoi.id)
        return {"scenes_fed": 0,
                "detections": {status: sum(types.values()) for status, types in counts.items()},
                "coverage": list(info.coverage.get("notes", [])) if info else [],
                "detections_new": 0, "detections_confirmed": 0, "detections_rejected": 0}
    from monitor.alerts import alert_events

    # The records as stored before: a retraction is told only of what was confirmed.
    before = store.detections(aoi_id=aoi.id)
    with store.transaction():
        store.put_detector_state(computed.snapshot)
        changes = store.put_detections(aoi.id, computed.detections, run_id=run_id)
        # Owed from this commit on: a run killed before its exports and alerts leaves them
        # owed to the next run, not lost (the outbox and the pending mark share the commit).
        # A detection an analyst reviewed as a false alarm is not told of again.
        dismissed = {i for i, r in store.reviews(aoi_id=aoi.id).items()
                     if r.verdict == "false_alarm"}
        store.queue_alerts(run_id, [e for e in alert_events(changes, computed.detections, before)
                                    if e.detection.id not in dismissed])
        store.mark_pending(EXPORTS_STEP, run_id)
        store.mark_pending(REPORTS_STEP, run_id)
    for note in computed.notes:
        echo(f"{aoi.id}: {note}")
    detections = computed.detections
    rejected = set(changes.rejected) | {d.id for d in detections if d.status == "rejected"}
    return {"scenes_fed": computed.scenes_fed,
            "detections": dict(Counter(d.status for d in detections)),
            "coverage": computed.notes, "chips_read_again": computed.read_again,
            "detections_new": len(set(changes.new) - rejected),
            "detections_confirmed": len(changes.confirmed),
            "detections_rejected": len(changes.rejected)}


def run_job(settings: Settings, selectors: Sequence[str] = (), *, since: dt.date | None = None,
            until: dt.date | None = None, argv: Sequence[str] = (),
            echo: Echo = _noop, workers: int = 1, scheduler: str | None = None,
            detail: Echo = _noop, alert: Echo | None = None,
            deliver_alerts: bool = True, progress: Tick | None = None) -> JobResult:
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

    start, end = _period(settings, since, until)
    aois = _resolve_aois(settings, selectors)
    holder = "monitor run"
    result = JobResult(exit_code=EXIT_OK)
    with _open_store(settings) as store, state_lock(settings.state_dir, holder):
        result.run_id = store.start_run("run", list(argv))
        client = None
        step = "scheduler"
        try:
            if scheduler is not None:
                client = connect(scheduler, settings.http_timeout_s)
            step = "catalog"
            catalog = _open_catalog(settings)
        except MonitorError as exc:
            from monitor.catalog.source import is_url

            if client is not None:
                client.close()
            if step == "catalog" and not is_url(settings.stac):
                # A local catalog that cannot be read is bad input, not a passing fault.
                store.finish_run(result.run_id, exit_code=1, counts={}, per_aoi={},
                                 errors=[f"catalog: {exc}"])
                raise
            # The STAC API or the Dask cluster is down or unreachable: a partial failure like
            # any other, recorded for every AOI, so cron sees exit 3 and the next run tries
            # again.
            for aoi in aois:
                result.per_aoi[aoi.id] = {"status": "failed", "error": str(exc)}
            result.errors.append(f"{step}: {exc}")
            result.exit_code = EXIT_PARTIAL
            store.finish_run(result.run_id, exit_code=result.exit_code, counts={},
                             per_aoi=result.per_aoi, errors=result.errors)
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
        version = detector_version(detector_params())
        tasks = []
        for aoi_id, plan in plans.items():
            if not plan.todo and nothing_to_feed(
                    plan.aoi, store, store.observations(aoi_id, status="used"), version):
                continue
            tasks.append(AoiTask(plan.aoi, tuple(plan.todo), settings.state_dir, gdal,
                                 settings.min_clear_fraction))
        works: dict[str, Any] = {}
        tick = progress or _no_tick
        n_scenes = sum(len(t.todo) for t in tasks)
        counted = {"scenes": 0, "planned": 0, "aois": 0}

        def scene_read() -> None:
            counted["scenes"] += 1
            tick(PROGRESS_SCENES, counted["scenes"], n_scenes)

        tick(PROGRESS_AOIS, 0, len(aois))
        tick(PROGRESS_SCENES, 0, n_scenes)
        done = run_tasks(tasks, workers=workers, client=client,
                         on_scene=scene_read if progress else None)
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
                                raise MonitorError("the runner stopped before this AOI")
                            works[task.aoi.id] = work
                        work = works.pop(aoi.id)
                        if isinstance(work, BaseException):
                            raise work
                        for line in work.messages:
                            echo(line)
                        info = _record_reads(plan, work.reads, store, detail, alert)
                        if work.error is not None:
                            raise MonitorError(work.error)
                        info.update(_store_computed(aoi, store, work.computed, result.run_id,
                                                    echo))
                    else:
                        info = _record_reads(plan, [], store, detail, alert)
                        info.update(_store_computed(aoi, store, None, result.run_id, echo))
                except MonitorError as exc:
                    _aoi_failed(result, aoi.id, exc, alert)
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
                    result.errors.append(f"{aoi.id}: {info['counts']['failed']} scene(s) "
                                         "failed; retried next run")
        finally:
            # An interrupted run cancels the AOIs not started yet.
            done.close()
            if client is not None:
                client.close()
        result.counts = dict(totals)
        if result.errors:
            result.exit_code = EXIT_PARTIAL
        # After the exit code is decided: alerts never fail a run.
        _send_owed_alerts(settings, store, result, aois, deliver_alerts, alert)
        store.finish_run(result.run_id, exit_code=result.exit_code, counts=result.counts,
                         per_aoi=result.per_aoi, errors=result.errors)
        exports = _owed_exports(settings, store)
        reports = _owed_reports(settings, store, echo)
    alert(f"scenes: {totals.get('new', 0)} new, {totals.get('used', 0)} used, "
         f"{totals.get('skipped', 0)} skipped, {totals.get('failed', 0)} failed")
    alert(f"detections: {totals.get('detections_newly_new', 0)} new, "
         f"{totals.get('detections_newly_confirmed', 0)} newly confirmed, "
         f"{totals.get('detections_newly_rejected', 0)} newly rejected; open: "
         f"{totals.get('detections_confirmed', 0)} confirmed, "
         f"{totals.get('detections_probable', 0)} probable")
    from monitor.detect import stated_limits_note

    alert(stated_limits_note())
    if exports is not None:
        echo(f"exports: {exports} and {exports.with_suffix('.gpkg').name} (probable and "
             "confirmed detections; other formats: monitor export)")
    if reports is not None:
        echo(f"HTML reports: {reports.index} ({len(reports.pages)} AOI page(s), "
             f"{reports.seconds:.1f} s)")
    if exports is None and reports is None:
        echo("nothing new: reports and exports left as they are")
    for error in result.errors:
        alert(f"error: {error}")
    return result


#: The ``pending_steps`` name of the job's own exports.
EXPORTS_STEP = "exports"


#: The job's own exports (probable and confirmed detections), in ``<reports-dir>``.
JOB_EXPORTS: tuple[tuple[str, str], ...] = (("geojson", "detections.geojson"),
                                            ("gpkg", "detections.gpkg"))


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


def _send_owed_alerts(settings: Settings, store: Any, result: JobResult, aois: Sequence[Aoi],
                      deliver: bool, say: Echo) -> None:
    """Write and deliver the alert events in the outbox: this run's, and any a run killed
    before its alerts left there. The outbox is emptied once the alerts file is written
    (delivery failures are the run's errors, not retried by later runs: they were retried
    already, and a late alert about an old run would mislead). A kill between writing and
    emptying repeats the alerts in the next run: at least once, never lost."""
    from monitor.alerts import alerts_for_run, merge_events

    queued = store.queued_alerts()
    names = {a.id: a.name for a in aois}
    events = merge_events(event for _seq, _run, event in queued)
    earlier = sorted({run for _seq, run, _event in queued
                      if run is not None and run != result.run_id})
    if earlier:
        say(f"alerts: {sum(1 for q in queued if q[1] in earlier)} owed by interrupted run(s) "
            + ", ".join(str(r) for r in earlier))
    sent = alerts_for_run(settings, run_id=result.run_id or 0,
                          run_at=dt.datetime.now(dt.UTC), events=events, aoi_names=names,
                          deliver=deliver)
    if queued and sent.path is not None:
        store.clear_alerts(queued[-1][0])
    result.counts["alerts"] = sent.n_alerts
    result.errors.extend(sent.failures)
    for line in sent.lines():
        say(line)


# --------------------------------------------------------------------------- rebuild

def rebuild_aois(settings: Settings, selectors: Sequence[str] = (), *,
                 since: dt.date | None = None, argv: Sequence[str] = (),
                 echo: Echo = _noop, deliver_alerts: bool = True) -> JobResult:
    """``monitor rebuild``: recompute each AOI's detector state and detections from the chip
    cache, without asking the catalog (after a new detector, late scenes, an edited AOI).

    The per-pixel model needs the whole clear history, so every used scene is replayed;
    ``since`` keeps the stored detections first seen before it as they are and replaces only
    later ones. A chip no longer cached is read again from its source. AOIs default to those
    of the AOI folder that the state knows.
    """
    from monitor.imagery import ChipCache, GdalSettings
    from monitor.store import state_lock

    if not (settings.state_dir / "state.db").exists():
        raise MonitorError(f"{settings.state_dir}: no state here (run `monitor run` first)")
    aois = _resolve_aois(settings, selectors)
    result = JobResult(exit_code=EXIT_OK)
    with _open_store(settings, create=False) as store, \
            state_lock(settings.state_dir, "monitor rebuild"):
        known = {a.id for a in store.list_aois()}
        if selectors:
            unknown = [a.id for a in aois if a.id not in known]
            if unknown:
                raise MonitorError(f"AOI {', '.join(unknown)}: not in the state yet "
                                   "(run `monitor run` first)")
        aois = [a for a in aois if a.id in known]
        result.run_id = store.start_run("rebuild", list(argv))
        cache = ChipCache(settings.state_dir)
        gdal = GdalSettings.from_settings(settings)
        totals: Counter[str] = Counter()
        for aoi in aois:
            try:
                store.put_aoi(aoi)
                if not store.observations(aoi.id, status="used"):
                    raise MonitorError("no scene used yet: nothing to rebuild")
                echo(f"{aoi.id}: rebuilding from the chip cache"
                     + (f" (detections first seen before {since} kept)" if since else ""))
                from monitor.runner import compute_detections

                computed = compute_detections(
                    aoi, store, cache, gdal, store.observations(aoi.id, status="used"),
                    settings.min_clear_fraction, rebuild=True, keep_before=since, say=echo)
                info = _store_computed(aoi, store, computed, result.run_id, echo)
            except MonitorError as exc:
                _aoi_failed(result, aoi.id, exc, echo)
                continue
            result.per_aoi[aoi.id] = {"status": "ok", **info}
            totals["scenes_fed"] += info["scenes_fed"]
            totals.update({f"detections_{k}": v for k, v in info["detections"].items()})
            echo(f"{aoi.id}: {info['scenes_fed']} scenes replayed; "
                 + ", ".join(f"{n} {k}" for k, n in sorted(info["detections"].items())))
        result.counts = dict(totals)
        if result.errors:
            result.exit_code = EXIT_PARTIAL
        _send_owed_alerts(settings, store, result, aois, deliver_alerts, echo)
        store.finish_run(result.run_id, exit_code=result.exit_code, counts=result.counts,
                         per_aoi=result.per_aoi, errors=result.errors)
        exports = _owed_exports(settings, store)
        reports = _owed_reports(settings, store, echo)
    if not aois:
        echo("no AOI of the state to rebuild")
    if exports is not None:
        echo(f"exports: {exports}")
    if reports is not None:
        echo(f"HTML reports: {reports.index}")
    return result


# --------------------------------------------------------------------------- cache

@dataclass(frozen=True)
class CacheUse:
    """The chip cache: bytes per AOI, and what a prune removed."""

    root: Path
    bytes_by_aoi: dict[str, int]
    freed_bytes: int = 0
    removed_files: int = 0
    removed: tuple[str, ...] = ()


def cache_use(settings: Settings, selectors: Sequence[str] = (), *, prune: bool = False,
              echo: Echo = _noop) -> CacheUse:
    """``monitor cache [--prune]``: the chip cache's size, and with ``prune`` free the chips
    no detector state needs.

    A chip is needed while a replay (rebuild, late scene, new detector) could ask for it:
    a chip of a scene the state records as used for that AOI, on the AOI's current grid.
    Pruned: chips of AOIs the state does not hold, of an AOI's earlier grids (edited
    outlines), of scenes not used, and temporary files of interrupted writes. Records of
    skipped scenes (small sidecars) stay: they spare reading those scenes again. With
    ``selectors``, only those AOIs' chips are listed and pruned.
    """
    from monitor.imagery import ChipCache
    from monitor.imagery.cache import grid_hash, safe_name
    from monitor.store import state_lock

    cache = ChipCache(settings.state_dir)
    only = ({safe_name(a.id) for a in _resolve_aois(settings, selectors)}
            if selectors else None)
    freed = files = 0
    removed: list[str] = []
    if prune:
        if not (settings.state_dir / "state.db").exists():
            raise MonitorError(f"{settings.state_dir}: no state here; nothing to prune "
                               "against (a chip cache without a state is never pruned)")
        with _open_store(settings, create=False) as store, \
                state_lock(settings.state_dir, "monitor cache --prune"):
            needed: dict[str, tuple[str, set[str]]] = {}
            for aoi in store.list_aois():
                used = {o.scene_id for o in store.observations(aoi.id, status="used")}
                needed[cache.folder(aoi.id, aoi.grid).parent.name] = (grid_hash(aoi.grid), used)
            for path, why in _prunable(cache, needed, only):
                size = path.stat().st_size
                path.unlink()
                freed += size
                files += 1
                removed.append(f"{path.relative_to(cache.root)} ({why})")
            for folder in sorted(cache.root.glob("*/*"), reverse=True) + sorted(
                    cache.root.glob("*"), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    sizes: dict[str, int] = {}
    if cache.root.is_dir():
        for folder in sorted(p for p in cache.root.iterdir() if p.is_dir()):
            if only is not None and folder.name not in only:
                continue
            sizes[folder.name] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return CacheUse(cache.root, sizes, freed, files, tuple(removed))


def _prunable(cache: Any, needed: Mapping[str, tuple[str, set[str]]],
              only: set[str] | None = None) -> list[tuple[Path, str]]:
    """Files of the chip cache that no detector state needs, with the reason."""
    out: list[tuple[Path, str]] = []
    if not cache.root.is_dir():
        return out
    for path in sorted(p for p in cache.root.rglob("*") if p.is_file()):
        parts = path.relative_to(cache.root).parts
        if only is not None and parts[0] not in only:
            continue
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            out.append((path, "left by an interrupted write"))
            continue
        if len(parts) != 3:
            continue  # not ours: leave it
        aoi_folder, grid_folder, name = parts
        if aoi_folder not in needed:
            out.append((path, "AOI not in the state"))
            continue
        current_grid, used = needed[aoi_folder]
        if grid_folder != current_grid:
            out.append((path, "an earlier outline's grid"))
            continue
        if path.suffix == ".npz":
            side = cache.sidecar(path.with_suffix(".json"))
            if side is None or side.get("status") != "used":
                out.append((path, "no sidecar vouches for it"))
            elif side.get("scene_id") not in used:
                out.append((path, "scene not used"))
                out.append((path.with_suffix(".json"), "scene not used"))
    return out


# --------------------------------------------------------------------------- status

def state_status(settings: Settings, selectors: Sequence[str] = ()) -> dict[str, Any]:
    """``monitor status``: the last run and, per AOI in the state, what the monitor knows.

    Per AOI: the last clear observation, scenes used/skipped/failed/not read (failed ones
    by id, with the reason), the detector (version, scenes fed, modelled share, periods
    without a clear observation), open detections by status and type, and the chip cache's
    size. Reads no detector arrays and no chips: cheap enough for a monitoring probe.
    """
    from monitor.imagery import ChipCache
    from monitor.runner import detector_params, detector_version

    db = settings.state_dir / "state.db"
    report: dict[str, Any] = {"state_dir": str(settings.state_dir), "last_run": None,
                              "last_complete_run": None, "aois": [], "cache_bytes": 0}
    if not db.exists():
        return report
    cache = ChipCache(settings.state_dir)
    with _open_store(settings, create=False) as store:
        runs = store.runs(limit=50)
        report["last_run"] = _run_dict(runs[0]) if runs else None
        complete = next((r for r in runs if r.finished_at is not None), None)
        report["last_complete_run"] = _run_dict(complete) if complete else None
        # What an interrupted run left for the next one to finish (0 / false normally).
        report["owed"] = {"alerts": len(store.queued_alerts()),
                          "exports": store.pending(EXPORTS_STEP)}
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
                    "current": info.detector_version == detector_version(detector_params())
                    and info.geometry_hash == aoi.geometry_hash,
                    "scenes_fed": info.n_scenes,
                    "last_scene": info.last_datetime.isoformat() if info.last_datetime else None,
                    "modelled_fraction": info.coverage.get("modelled_fraction"),
                    "data_gaps": list(info.coverage.get("gaps", [])),
                    "notes": list(info.coverage.get("notes", [])),
                }
            report["aois"].append({
                "id": aoi.id, "name": aoi.name,
                "last_clear_observation": used[-1].datetime.date().isoformat() if used else None,
                "scenes_used": by_status.get("used", 0),
                "scenes_skipped": by_status.get("skipped", 0),
                "scenes_failed": by_status.get("failed", 0),
                "scenes_pending": by_status.get("pending", 0),
                "failed": [{"scene_id": o.scene_id, "attempts": o.attempts, "reason": o.reason}
                           for o in observations if o.status == "failed"],
                "detector": detector,
                "detections": by_type,
                "cache_bytes": cache.size_bytes(aoi.id),
                "simulated": any(o.simulated for o in observations),
            })
    report["cache_bytes"] = cache.size_bytes()
    return report


def _run_dict(run: Any) -> dict[str, Any]:
    seconds = ((run.finished_at - run.started_at).total_seconds()
               if run.finished_at is not None else None)
    return {
        "run_id": run.run_id, "command": run.command,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "seconds": round(seconds, 1) if seconds is not None else None,
        "exit_code": run.exit_code, "counts": dict(run.counts),
        "per_aoi": {k: dict(v) for k, v in run.per_aoi.items()},
        "errors": list(run.errors),
    }


# --------------------------------------------------------------------------- demo

def simulate_aois(settings: Settings, selectors: Sequence[str], out: Path, **options: Any) -> Any:
    """``monitor simulate``: a simulated archive of the given AOIs (all of --aoi-dir if none)."""
    from monitor.simulate import simulate_archive

    return simulate_archive(_resolve_aois(settings, selectors), out, **options)


#: The demo's period: the 2025 construction at KK Park, the October 2025 raid and the
#: demolitions that followed, with two years of history before.
DEMO_PERIOD = (dt.date(2023, 7, 1), dt.date(2026, 6, 30))


@dataclass(frozen=True)
class DemoPaths:
    """Where ``monitor demo`` keeps things. The demo has its own state and reports, so its
    simulated detections never mix with a real run's for AOIs of the same id."""

    archive: Path
    state_dir: Path
    reports_dir: Path

    @classmethod
    def of(cls, settings: Settings) -> DemoPaths:
        return cls(archive=settings.state_dir / "demo-archive",
                   state_dir=settings.state_dir / "demo-state",
                   reports_dir=settings.reports_dir / "demo")


def run_demo(settings: Settings, echo: Echo = _noop, *,
             aoi_ids: Sequence[str] = DEMO_AOIS,
             period: tuple[dt.date, dt.date] = DEMO_PERIOD,
             detail: Echo = _noop, alert: Echo | None = None,
             progress: Tick | None = None) -> JobResult:
    """``monitor demo``: simulate the demo AOIs once, then run them through the real code path.

    The archive is simulated again when the simulator (or the AOIs) changed since; the demo's
    own state and reports, derived from the old archive, are then removed first.
    """
    import shutil

    from monitor.aoi import resolve_aois
    from monitor.errors import StateError
    from monitor.simulate import MARKER, simulate_archive

    paths = DemoPaths.of(settings)
    aois = resolve_aois(list(aoi_ids), settings.aoi_dir, max_area_km2=settings.max_aoi_area_km2)
    if paths.archive.exists() and any(paths.archive.iterdir()) \
            and not (paths.archive / MARKER).is_file():
        raise StateError(f"{paths.archive} exists and is not a demo archive; move it away "
                         "(monitor demo keeps its simulated archive there)")
    echo(f"demo archive (SIMULATED DATA): {paths.archive}")
    # Our own folder: a different (older) simulation in it is replaced, not refused.
    sim = simulate_archive(aois, paths.archive, start=period[0], end=period[1],
                           overwrite=True, progress=lambda line: echo(f"  {line}"))
    if sim.reused:
        echo("  simulated before with this simulator and these AOIs: reused")
    else:
        echo(f"  {sim.n_items} items, {sim.n_changes} planted changes, "
             f"{sim.bytes_written / 1e6:.0f} MB in {sim.seconds:.0f} s")
        for derived in (paths.state_dir, paths.reports_dir):
            if derived.exists():
                echo(f"  removing {derived}: derived from an earlier demo archive")
                shutil.rmtree(derived)
    demo_settings = settings.replace(stac=str(sim.collection_path), collection=None,
                                     state_dir=paths.state_dir,
                                     reports_dir=paths.reports_dir)
    import os

    job = run_job(demo_settings, [a.id for a in aois], since=period[0], until=period[1],
                  argv=["demo"], echo=echo, workers=max(1, min(2, os.cpu_count() or 1)),
                  detail=detail, alert=alert, deliver_alerts=False, progress=progress)
    # The reports read the chips: written now (when the run did not) before they go.
    with _open_store(demo_settings, create=False) as report_store:
        _owed_reports(demo_settings, report_store, echo)
    # The demo's chips are copies of windows of its own local archive: dropped once the
    # detector has them, to keep the demo within its disk budget (1 GB; they were 0.7 GB).
    # A rebuild, or a late scene's replay, reads them again from the archive.
    from monitor.imagery import ChipCache

    cache = ChipCache(paths.state_dir)
    if cache.root.is_dir():
        freed = cache.size_bytes()
        shutil.rmtree(cache.root)
        echo(f"chip cache dropped ({freed / 1e6:.0f} MB): the demo's chips are copies of "
             "its local archive, read again if a rebuild needs them")
    echo(f"demo state: {paths.state_dir} (monitor status --state-dir {paths.state_dir})")
    echo(f"demo detections (SIMULATED): {paths.reports_dir / 'detections.gpkg'} (QGIS), "
         f"{paths.reports_dir / 'detections.geojson'}")
    echo(f"planted truth: {sim.truth_geojson}")
    echo(f"HTML reports (SIMULATED DATA): {paths.reports_dir / 'index.html'}")
    return job


# --------------------------------------------------------------------------- export

_STATUS_SELECTION: dict[str, tuple[str, ...]] = {
    "confirmed": ("confirmed",),
    "probable": ("probable",),
    "all": ("probable", "confirmed"),
    "rejected": ("rejected",),
}
#: ``--status`` by the analyst's latest verdict (any detector status), or not reviewed yet
#: (probable and confirmed).
_VERDICT_SELECTION: tuple[str, ...] = ("verified", "false_alarm", "unsure", "unreviewed")
#: Every ``--status`` value, in the order help and errors list them.
STATUS_CHOICES: tuple[str, ...] = (*_STATUS_SELECTION, *_VERDICT_SELECTION)


def select_detections(store: Any, status: str, *, since: dt.date | None = None,
                      aoi_ids: Iterable[str] | None = None) -> list[Detection]:
    """The stored detections ``--status`` selects: a detector status (confirmed, probable,
    all = probable and confirmed, rejected) or an analyst's verdict (verified, false_alarm,
    unsure: any status; unreviewed: probable and confirmed without a review)."""
    if status not in STATUS_CHOICES:
        raise MonitorError(f"--status {status}: expected one of {', '.join(STATUS_CHOICES)}")
    if status in _STATUS_SELECTION:
        found = store.detections(status=_STATUS_SELECTION[status], since=since)
    elif status == "unreviewed":
        found = [d for d in store.detections(status=_STATUS_SELECTION["all"], since=since)
                 if d.review is None]
    else:
        found = [d for d in store.detections(since=since)
                 if d.review is not None and d.review.verdict == status]
    wanted = set(aoi_ids) if aoi_ids is not None else None
    return [d for d in found if wanted is None or d.aoi in wanted]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    n_written: int
    status: str
    fmt: str = "geojson"
    simulated: bool = False
    #: The ``--raster`` files written, and what could not be (one line each).
    rasters: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()


def export_detections(settings: Settings, selectors: Sequence[str], *, fmt: str, out: Path,
                      status: str = "confirmed", since: dt.date | None = None,
                      overwrite: bool = False, raster: Path | None = None) -> ExportResult:
    """``monitor export``: the stored detections of the AOIs, in ``fmt`` (EPSG:4326), and
    with ``raster`` the AOIs' rasters on their UTM grids (see ``_export_rasters``).

    ``status`` follows the contract: confirmed (default), probable, all (probable and
    confirmed) or rejected. An empty selection writes a valid empty file. Everything is
    written under temporary names and renamed into place at the end: bad input (unknown
    format or AOI, an existing output without ``overwrite``, a folder that cannot be
    written) leaves nothing behind and every existing file as it was.
    """
    from monitor.detect import stated_limits_note
    from monitor.export import (
        FOLDER_FORMATS,
        ExportData,
        check_format,
        check_target,
        staged,
        write_format,
    )

    check_format(fmt)
    if status not in STATUS_CHOICES:
        raise MonitorError(f"--status {status}: expected one of {', '.join(STATUS_CHOICES)}")
    if not (settings.state_dir / "state.db").exists():
        raise MonitorError(f"{settings.state_dir}: no state here (run `monitor run` first)")
    # The outputs first: a refusal should not wait for the reading.
    check_target(out, overwrite=overwrite, folder=fmt in FOLDER_FORMATS)
    if raster is not None:
        # A folder that may hold other rasters: its files are checked one by one.
        check_target(raster, overwrite=True, folder=True)
    with _open_store(settings, create=False) as store:
        aois = _export_aois(settings, store, selectors)
        wanted = {a.id for a in aois} if selectors else None
        detections = select_detections(store, status, since=since, aoi_ids=wanted)
        data = ExportData(
            detections=detections, aois=aois,
            observations=[o for a in aois for o in store.observations(a.id)],
            runs=store.runs(limit=1_000_000), scenes=_evidence_scenes(store, detections),
            status=status, since=since, limits=stated_limits_note())
        rasters: list[Path] = []
        notes: list[str] = []
        with staged(overwrite) as staging:
            n = write_format(fmt, data, out, staging)
            if raster is not None:
                rasters, notes = _export_rasters(settings, store, data, raster, staging)
    return ExportResult(out, n, status, fmt, data.simulated, tuple(rasters), tuple(notes))


def _export_aois(settings: Settings, store: Any, selectors: Sequence[str]) -> list[Aoi]:
    """The AOIs an export covers, as the state holds them (the outline the detections were
    found on): all of them, or those ``--aoi`` names by id or by file."""
    stored = {a.id: a for a in store.list_aois()}
    if not selectors:
        return list(stored.values())
    chosen: dict[str, Aoi] = {}
    for selector in selectors:
        aoi_id: str | None = selector if selector in stored else None
        if aoi_id is None and Path(selector).is_file():
            # A file: its id (a file that is not a valid AOI says why, in one line).
            aoi_id = _resolve_aois(settings, [selector])[0].id
        if aoi_id is None or aoi_id not in stored:
            raise MonitorError(f"--aoi {selector}: no such AOI in the state "
                               f"{settings.state_dir} (it has: {', '.join(stored) or 'none'})")
        chosen[aoi_id] = stored[aoi_id]
    return list(chosen.values())


def _evidence_scenes(store: Any, detections: Sequence[Detection]) -> dict[str, Scene]:
    """The stored scenes the detections name as evidence, by id."""
    scenes: dict[str, Scene] = {}
    for scene_id in sorted({s for d in detections
                            for s in (*d.evidence_before, *d.evidence_after)}):
        try:
            scene = store.get_scene(scene_id)
        except LookupError:
            continue  # an id in several collections: no single item to link
        if scene is not None:
            scenes[scene_id] = scene
    return scenes


def _evidence_order(det: Detection, scenes: Sequence[Scene], role: str) -> list[Scene]:
    """The evidence scenes to try for a detection's before (after) image: the last clear
    view before the change (the first after it) first, then the nearest in time."""
    day = det.window_start if role == "before" else det.window_end

    def key(scene: Scene) -> tuple[bool, int, str]:
        wrong_side = scene.date > day if role == "before" else scene.date < day
        return (wrong_side, abs((scene.date - day).days), scene.id)

    return sorted(scenes, key=key)


def _export_rasters(settings: Settings, store: Any, data: Any, folder: Path,
                    staging: Any) -> tuple[list[Path], list[str]]:
    """``monitor export --raster DIR``: per AOI, COGs on its UTM grid of the change class,
    first-seen day and confidence of the exported detections (255 / none where the AOI
    ends or its detector has no model yet, from the detector state); per detection,
    true-colour before and after images of a window around it, from the chips of its
    evidence scenes (the chip cache, or the scene itself when no longer cached).

    Returns the files staged and one line per image that could not be made.
    """
    from monitor.aoi import aoi_mask, to_utm
    from monitor.detect import DetectorState, change_raster
    from monitor.export import (
        burn_detections,
        detection_image_path,
        detection_window,
        true_colour,
        write_aoi_rasters,
        write_true_colour,
    )
    from monitor.imagery import ChipCache, GdalSettings, load_chip
    from monitor.runner import detector_params, detector_version

    params = detector_params()
    version = detector_version(params)
    cache = ChipCache(settings.state_dir)
    gdal = GdalSettings.from_settings(settings)
    sim = "yes" if data.simulated else "no"
    written: list[Path] = []
    notes: list[str] = []
    for aoi in data.aois:
        info = store.get_detector_state(aoi.id, with_arrays=False)
        if info is None or info.geometry_hash != aoi.geometry_hash \
                or info.detector_version != version:
            why = ("no detector state" if info is None else
                   "its detector state is of an earlier outline"
                   if info.geometry_hash != aoi.geometry_hash else
                   "its detector state is of an earlier detector")
            notes.append(f"{aoi.id}: {why}: no rasters (run `monitor rebuild --aoi {aoi.id}` "
                         "first)")
            continue
        state = DetectorState.from_arrays(store.get_detector_state(aoi.id).arrays)
        unknown = change_raster(state, params, outside=~aoi_mask(aoi)) == 255
        pairs = [(d, to_utm(d.geometry, aoi.grid.epsg))
                 for d in data.detections if d.aoi == aoi.id]
        tags = {"AOI": aoi.id, "STATUS": data.status,
                "SINCE": data.since.isoformat() if data.since else "",
                "SIMULATED": sim, "LIMITS": data.limits,
                "SOURCE": "monitor export: the exported detections burnt on the AOI grid"}
        written += write_aoi_rasters(staging, folder, aoi.id, aoi.grid,
                                     burn_detections(pairs, aoi.grid, unknown), tags)
        for det, geometry in pairs:
            window, row0, col0 = detection_window(geometry, aoi.grid)
            for role, ids in (("before", det.evidence_before), ("after", det.evidence_after)):
                scenes = [data.scenes[i] for i in ids if i in data.scenes]
                chip, why = None, "no evidence scene recorded"
                for scene in _evidence_order(det, scenes, role):
                    try:
                        outcome = load_chip(scene, aoi, cache, env=gdal,
                                            min_clear_fraction=settings.min_clear_fraction)
                    except MonitorError as exc:
                        why = str(exc)
                        continue
                    if outcome.chip is not None:
                        chip = outcome.chip
                        break
                    why = f"{scene.id}: {outcome.reason}"
                if chip is None:
                    notes.append(f"{det.id}: no {role} image ({why})")
                    continue
                path = detection_image_path(folder, det, role)
                write_true_colour(staging, path, true_colour(chip, window, row0, col0), window,
                                  {"DETECTION": det.id, "ROLE": role, "SCENE": chip.scene_id,
                                   "SCENE_DATETIME": chip.datetime.isoformat(),
                                   "STRETCH": "reflectance 0-0.3 linear to 1-255",
                                   "SIMULATED": "yes" if chip.simulated else "no"})
                written.append(path)
    return written, notes


# --------------------------------------------------------------------------- review

def review_detection(settings: Settings, detection_id: str, verdict: str, *,
                     note: str = "", source: str = "",
                     now: dt.datetime | None = None) -> Detection:
    """``monitor review``: record an analyst's verdict on a stored detection.

    Kept by the detection's stable id, so it survives re-runs and rebuilds; every verdict is
    kept, the latest counts. ``source`` must be an http(s) URL (reports link to it). Returns
    the detection with its new review.
    """
    import getpass
    from urllib.parse import urlsplit

    from monitor.models import REVIEW_VERDICTS

    if verdict not in REVIEW_VERDICTS:
        raise MonitorError(f"--verdict {verdict}: expected one of {', '.join(REVIEW_VERDICTS)}")
    if source:
        parts = urlsplit(source)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MonitorError(f"--source {source!r}: expected an http(s) URL")
    if any(ord(c) < 32 and c not in "\n\t" for c in note):
        raise MonitorError("--note: control characters are not allowed")
    if not (settings.state_dir / "state.db").exists():
        raise MonitorError(f"{settings.state_dir}: no state here (run `monitor run` first)")
    reviewer = settings.reviewer
    if not reviewer:
        try:
            reviewer = getpass.getuser()
        except (KeyError, OSError):
            reviewer = "unknown"
    with _open_store(settings, create=False) as store:
        detection = store.detection(detection_id)
        if detection is None:
            raise MonitorError(f"--id {detection_id}: no such detection in "
                               f"{settings.state_dir} (see `monitor export --status all`)")
        review = Review(detection_id=detection_id, verdict=verdict,  # type: ignore[arg-type]
                        reviewer=reviewer,
                        reviewed_at=now or dt.datetime.now(dt.UTC), note=note, source=source)
        store.put_review(review, detection.aoi)
        # The reports and exports show reviews: owed from now on.
        store.mark_pending(EXPORTS_STEP, None)
        store.mark_pending(REPORTS_STEP, None)
        return store.detection(detection_id) or detection


# --------------------------------------------------------------------------- compare

@dataclass(frozen=True)
class CompareOutput:
    aoi_id: str
    change_tif: Path
    changes_geojson: Path
    n_before: int
    n_after: int
    n_objects: int
    simulated: bool


def compare_aoi(settings: Settings, selectors: Sequence[str], *,
                before: tuple[dt.date, dt.date], after: tuple[dt.date, dt.date], out: Path,
                overwrite: bool = True, echo: Echo = _noop) -> CompareOutput:
    """``monitor compare``: median composites of two windows of one AOI, compared.

    Works on scenes without SCL (Level-1C pairs): only nodata is masked then. Writes
    ``out/change.tif`` (the contract's codes on the AOI grid) and ``out/changes.geojson``.
    """
    from monitor.aoi import aoi_mask, to_wgs84
    from monitor.catalog import find_scenes
    from monitor.detect import CompareParams, compare_objects, compare_windows
    from monitor.export import write_class_raster, write_geojson
    from monitor.imagery import ChipCache, GdalSettings, load_chip

    aois = _resolve_aois(settings, selectors)
    if len(aois) != 1:
        raise MonitorError(f"compare works on one AOI; {len(aois)} given "
                           "(choose one with --aoi)")
    [aoi] = aois
    if before[1] >= after[0]:
        raise MonitorError(f"the before window ({before[0]}/{before[1]}) must end before the "
                           f"after window ({after[0]}/{after[1]}) starts")
    catalog = _open_catalog(settings)
    gdal = GdalSettings.from_settings(settings)
    with _open_store(settings) as store:
        store.put_aoi(aoi)
        cache = ChipCache(settings.state_dir)
        windows: list[list[Any]] = []
        for first, last in (before, after):
            search = find_scenes(catalog, aoi, first, last,
                                 max_cloud_cover=settings.max_cloud_cover)
            chips = []
            for scene in search.scenes:
                outcome = load_chip(scene, aoi, cache, env=gdal,
                                    min_clear_fraction=settings.min_clear_fraction)
                echo(f"  {scene.date} {scene.id}: {outcome.status} ({outcome.reason})")
                if outcome.chip is not None:
                    chips.append(outcome.chip)
            if not chips:
                raise MonitorError(f"AOI {aoi.id}: not enough clear observations between "
                                   f"{first} and {last} ({len(search.scenes)} scenes found, "
                                   "none clear enough)")
            windows.append(chips)
    before_chips, after_chips = windows
    params = CompareParams()
    result = compare_windows([c.to_float() for c in before_chips],
                             [c.to_float() for c in after_chips], params,
                             outside=~aoi_mask(aoi))
    simulated = any(c.simulated for c in (*before_chips, *after_chips))
    objects = compare_objects(
        result, aoi_id=aoi.id, grid=aoi.grid,
        before_last=max(c.datetime for c in before_chips).date(),
        after_first=min(c.datetime for c in after_chips).date(),
        before_ids=[c.scene_id for c in before_chips],
        after_ids=[c.scene_id for c in after_chips], simulated=simulated, params=params)
    detections = [o.to_detection(to_wgs84(o.geometry_utm, aoi.grid.epsg)) for o in objects]
    change_tif = out / "change.tif"
    changes = out / "changes.geojson"
    write_class_raster(result.codes, aoi.grid, change_tif, overwrite=overwrite)
    from monitor.detect import stated_limits_note

    write_geojson(detections, changes, overwrite=overwrite,
                  metadata={"before": f"{before[0]}/{before[1]}",
                            "after": f"{after[0]}/{after[1]}",
                            "threshold": float(result.threshold),
                            "limits": stated_limits_note(), "simulated": simulated})
    return CompareOutput(aoi.id, change_tif, changes, len(before_chips), len(after_chips),
                         len(detections), simulated)


# --------------------------------------------------------------------------- report

#: The ``pending_steps`` name of the HTML reports (owed with the exports).
REPORTS_STEP = "reports"


@dataclass(frozen=True)
class ReportResult:
    """What a report step wrote: ``index.html``, the AOI pages (``monitor.report.AoiPage``:
    page, timelapse, sizes) and how long it took."""

    index: Path
    pages: tuple[Any, ...]
    seconds: float


def write_reports(settings: Settings, selectors: Sequence[str] = (), *,
                  echo: Echo = _noop) -> ReportResult:
    """``monitor report``: rewrite the HTML reports, whatever is owed.

    Writes ``<reports-dir>/<aoi-id>.html`` (and its timelapse) for every AOI of the state,
    or for the ``selectors`` given, and ``<reports-dir>/index.html`` listing every AOI of
    the state. Opens the state read-only and takes no lock: pages are replaced atomically.
    """
    if not (settings.state_dir / "state.db").exists():
        raise MonitorError(f"{settings.state_dir}: no state here (run `monitor run` first)")
    with _open_store(settings, create=False) as store:
        only = None
        if selectors:
            known = {a.id for a in store.list_aois()}
            only = [a.id for a in _resolve_aois(settings, selectors)]
            unknown = [aoi_id for aoi_id in only if aoi_id not in known]
            if unknown:
                raise MonitorError(f"AOI {', '.join(unknown)}: not in the state yet "
                                   "(run `monitor run` first)")
        return _write_reports(settings, store, only, echo)


def _owed_reports(settings: Settings, store: Any, echo: Echo) -> ReportResult | None:
    """The HTML reports, rewritten when owed (detections stored since they were last
    written) or when ``index.html`` is missing; None when nothing was owed."""
    from monitor.report import INDEX_NAME

    if not store.pending(REPORTS_STEP) and (settings.reports_dir / INDEX_NAME).exists():
        return None
    result = _write_reports(settings, store, None, echo)
    store.clear_pending(REPORTS_STEP)
    return result


def _write_reports(settings: Settings, store: Any, only: Sequence[str] | None,
                   echo: Echo) -> ReportResult:
    """Every AOI page of the state (or of ``only``), one AOI at a time, then the index."""
    import time

    from monitor.detect import STATED_LIMITS, stated_limits_note
    from monitor.imagery import ChipCache, GdalSettings
    from monitor.report import (
        AoiSummary,
        StatedSizes,
        aoi_page_name,
        write_aoi_page,
        write_index_page,
    )

    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    limits = StatedSizes(STATED_LIMITS.area_m2_p50, STATED_LIMITS.area_m2_p90,
                         STATED_LIMITS.measured_on, stated_limits_note())
    cache = ChipCache(settings.state_dir)
    gdal = GdalSettings.from_settings(settings)
    pages = []
    summaries = []
    for aoi in store.list_aois():
        if only is None or aoi.id in only:
            report = _aoi_report(settings, store, aoi, cache, gdal, limits, now, echo)
            page = write_aoi_page(report, settings.reports_dir)
            del report  # one AOI's imagery in memory at a time
            pages.append(page)
            summaries.append(page.summary)
        else:
            # Not rewritten: listed from its stored records, linked if its page exists.
            observations = store.observations(aoi.id)
            info = store.get_detector_state(aoi.id, with_arrays=False)
            detections = store.detections(aoi_id=aoi.id)
            name = aoi_page_name(aoi.id)
            summaries.append(AoiSummary.from_records(
                aoi, observations, detections, dict(info.coverage) if info else {},
                page=name if (settings.reports_dir / name).exists() else None,
                simulated=any(o.simulated for o in observations)))
    index = write_index_page(summaries, settings.reports_dir, generated_at=now,
                             limits_note=limits.note)
    return ReportResult(index, tuple(pages), time.monotonic() - started)


def _detection_mask(geometry: Any, grid: Any) -> Any:
    """A detection's pixels on the AOI grid (bool, centre inside), worked out on the window
    of its bounds only: an AOI has hundreds of detections (rejected ones included)."""
    import math

    import numpy as np

    from monitor.aoi import grid_mask, to_utm
    from monitor.models import Grid

    minx, miny, maxx, maxy = to_utm(geometry, grid.epsg).bounds
    c0 = max(0, math.floor((minx - grid.left) / grid.res_m))
    c1 = min(grid.width, math.ceil((maxx - grid.left) / grid.res_m))
    r0 = max(0, math.floor((grid.top - maxy) / grid.res_m))
    r1 = min(grid.height, math.ceil((grid.top - miny) / grid.res_m))
    mask = np.zeros(grid.shape, dtype=bool)
    if c1 > c0 and r1 > r0:
        window = Grid(grid.epsg, grid.left + c0 * grid.res_m, grid.top - r0 * grid.res_m,
                      c1 - c0, r1 - r0, grid.res_m)
        mask[r0:r1, c0:c1] = grid_mask(geometry, window)
    return mask


def _extra_report_sections(store: Any, aoi: Aoi) -> tuple[str, ...]:
    """HTML sections other modules add to an AOI page (escaped by them): the built-up
    timeline and the stored claim checks."""
    return timeline_report_sections(store, aoi)


def _aoi_report(settings: Settings, store: Any, aoi: Aoi, cache: Any, gdal: Any,
                limits: Any, now: dt.datetime, echo: Echo) -> Any:
    """What one AOI page shows (``monitor.report.AoiReport``), from the store and the chips.

    Every used chip is read once, in date order, from the chip cache; a chip missing there
    (the demo drops its cache) is read again from its scene into a scratch cache that is
    removed afterwards, so a report never grows the state. The clearest used scene of each
    month becomes a frame; each detection gets crops of its last clear view before and
    first after its change window and its indices on every used scene.
    """
    import tempfile

    from monitor.imagery import ChipCache, load_chip
    from monitor.report import AoiReport, EvidenceCollector, clearest_per_month

    observations = store.observations(aoi.id)
    used = [o for o in observations if o.status == "used"]
    detections = store.detections(aoi_id=aoi.id)
    info = store.get_detector_state(aoi.id, with_arrays=False)
    clearest = clearest_per_month(observations)
    cloudy = [o.datetime.astimezone(dt.UTC).date() for o in observations
              if o.status == "skipped" and not _lost_as_duplicate(o)]
    collector = EvidenceCollector(aoi.grid.shape, detections,
                                  {d.id: _detection_mask(d.geometry, aoi.grid)
                                   for d in detections},
                                  {o.scene_id for o in clearest.values()}, cloudy)
    notes: list[str] = []
    read_again = 0
    with tempfile.TemporaryDirectory(prefix="monitor-report-") as scratch_dir:
        scratch = ChipCache(scratch_dir)
        for obs in used:
            chip = cache.load(aoi.id, aoi.grid, obs.scene_id)
            if chip is None:
                scene = store.get_scene(obs.scene_id, obs.collection)
                try:
                    outcome = load_chip(scene, aoi, scratch, env=gdal,
                                        min_clear_fraction=settings.min_clear_fraction)
                except ReadError as exc:
                    notes.append(f"scene {obs.scene_id} could not be read again: {exc}")
                    continue
                chip = outcome.chip
                if chip is None:
                    notes.append(f"scene {obs.scene_id} could not be read again: "
                                 f"{outcome.reason}")
                    continue
                read_again += 1
                # Keep the sidecar (the offset check of later scenes reads its dark level).
                scratch.paths(aoi.id, aoi.grid, obs.scene_id)[0].unlink(missing_ok=True)
            collector.add(obs.datetime.astimezone(dt.UTC).date(), obs.scene_id,
                          chip.reflectance, chip.valid, chip.bands, obs.clear_fraction)
            del chip
    if read_again:
        echo(f"  {aoi.id}: {read_again} chip(s) not in the cache were read again for the "
             "report")
    for note in notes:
        echo(f"  {aoi.id}: {note}")
    collections = {o.scene_id: o.collection for o in observations}
    wanted = {o.scene_id for o in clearest.values()} | {
        s for d in detections for s in (*d.evidence_before, *d.evidence_after)}
    links: dict[str, str | None] = {}
    for scene_id in sorted(wanted):
        scene = store.get_scene(scene_id, collections.get(scene_id))
        links[scene_id] = scene.item_href if scene is not None else None
    return AoiReport(
        aoi=aoi, observations=tuple(observations), detections=tuple(detections),
        limits=limits, generated_at=now,
        coverage=dict(info.coverage) if info is not None else {},
        frames=tuple(sorted(collector.frames, key=lambda f: f.date)),
        evidence=collector.evidence(), scene_links=links,
        simulated=any(o.simulated for o in observations) or any(d.simulated
                                                                 for d in detections),
        extra_sections=_extra_report_sections(store, aoi), notes=tuple(notes))


# --------------------------------------------------------------------------- timeline and claims

@dataclass(frozen=True)
class AoiTimeline:
    """One AOI's built-up timeline (``monitor.detect.timeline.BuiltTimeline``)."""

    aoi: Aoi
    timeline: Any
    simulated: bool


@dataclass(frozen=True)
class TimelineExport:
    path: Path
    n_rows: int
    aois: tuple[str, ...]
    skipped: tuple[str, ...]
    simulated: bool


@dataclass(frozen=True)
class ClaimOutcome:
    """``monitor claim``: the check (``monitor.detect.timeline.ClaimCheck``), the AOI, the
    zone, the roof-removing detections that date it, and the stored record's id."""

    aoi: Aoi
    check: Any
    zone: str | None
    zone_area_m2: float | None
    detections: tuple[Detection, ...]
    simulated: bool
    claim_id: int
    notes: tuple[str, ...]


def _state_history(store: Any, aoi: Aoi) -> tuple[Any, int | None]:
    """The AOI's per-pixel roof history (``PixelHistory``) and the median day its pixels
    were first modelled, from its stored detector state; MonitorError when there is none."""
    import numpy as np

    from monitor.detect.timeline import pixel_history
    from monitor.detect.timeseries import NO_DAY, DetectorState

    snapshot = store.get_detector_state(aoi.id)
    if snapshot is None or not snapshot.n_scenes:
        raise MonitorError(f"AOI {aoi.id}: the detector has seen no scene of it yet "
                           "(run `monitor run` first)")
    if snapshot.geometry_hash != aoi.geometry_hash:
        raise MonitorError(f"AOI {aoi.id}: its outline changed since the detector last ran "
                           "(run `monitor run` or `monitor rebuild` first)")
    state = DetectorState.from_arrays(snapshot.arrays)
    history = pixel_history(state, pixel_area_m2=aoi.grid.res_m ** 2)
    fitted = state["fit_day"][state["fit_day"] != NO_DAY]
    return history, int(np.median(fitted)) if fitted.size else None


def _aoi_of_state(settings: Settings, store: Any, selector: str) -> Aoi:
    """The AOI a selector names (an id, or an AOI file), as the state holds it."""
    aoi = store.get_aoi(selector)
    if aoi is None and Path(selector).suffix.lower() in (".geojson", ".json"):
        aoi = store.get_aoi(_resolve_aois(settings, [selector])[0].id)
    if aoi is None:
        known = ", ".join(a.id for a in store.list_aois()) or "none"
        raise MonitorError(f"--aoi {selector}: not an AOI of the state in "
                           f"{settings.state_dir} (known: {known})")
    return aoi


def _aoi_timeline(store: Any, aoi: Aoi, mask: Any = None) -> AoiTimeline:
    from monitor.aoi import aoi_mask
    from monitor.detect.params import day_number
    from monitor.detect.timeline import built_timeline as timeline_of

    history, first_modelled = _state_history(store, aoi)
    observations = store.observations(aoi.id)
    # Months whose scenes were all skipped as too cloudy are gaps too.
    days = [day_number(o.datetime) for o in observations if o.status in ("used", "skipped")]
    timeline = timeline_of(history, aoi_mask(aoi) if mask is None else mask,
                           first_modelled_day=first_modelled,
                           span=(min(days), max(days)) if days else None)
    simulated = any(o.simulated for o in observations if o.status == "used")
    return AoiTimeline(aoi, timeline, simulated)


def built_timeline(settings: Settings, selectors: Sequence[str] = ()) -> list[AoiTimeline]:
    """The built-up timeline of each AOI of the state (or of ``selectors``), from the
    detector's stored per-pixel state: roofed area per clear month with its band, the area
    newly roofed and demolished, and gap months (docs/timeline.md). Reads no imagery.

    AOIs the detector has not seen yet are left out (``export_timeline`` names them).
    """
    return _timelines(settings, selectors)[0]


def _timelines(settings: Settings, selectors: Sequence[str]
               ) -> tuple[list[AoiTimeline], list[str]]:
    if not (settings.state_dir / "state.db").exists():
        raise MonitorError(f"{settings.state_dir}: no state here (run `monitor run` first)")
    out: list[AoiTimeline] = []
    skipped: list[str] = []
    with _open_store(settings, create=False) as store:
        aois = ([_aoi_of_state(settings, store, s) for s in selectors] if selectors
                else store.list_aois())
        for aoi in aois:
            try:
                out.append(_aoi_timeline(store, aoi))
            except MonitorError as exc:
                if selectors:
                    raise
                skipped.append(f"{aoi.id}: {exc}")
    return out, skipped


def export_timeline(settings: Settings, selectors: Sequence[str] = (), *, out: Path,
                    overwrite: bool = False) -> TimelineExport:
    """``monitor export --format timeline``: the built-up timelines as CSV (one row per AOI
    and month; gap months have empty figures, never zeros)."""
    from monitor.export import check_target
    from monitor.export.timeline import AoiTimelineRows, write_timeline_csv

    check_target(out, overwrite=overwrite)
    timelines, skipped = _timelines(settings, selectors)
    n = write_timeline_csv([AoiTimelineRows(t.aoi.id, t.timeline, t.simulated)
                            for t in timelines], out, overwrite=overwrite)
    return TimelineExport(out, n, tuple(t.aoi.id for t in timelines), tuple(skipped),
                          any(t.simulated for t in timelines))


def _read_zone(path: Path, aoi: Aoi) -> tuple[Any, Any, float]:
    """The zone file's polygon (lon/lat), its pixels on the AOI grid and its area in m2.

    One-line MonitorError when the file is not a GeoJSON polygon in lon/lat, or the zone
    lies (partly) outside the AOI or holds no pixel centre.
    """
    import json

    import shapely

    from monitor.aoi import aoi_mask, grid_mask, to_utm
    from monitor.aoi.validate import geometry_from_geojson

    where = f"--zone {path}"
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise MonitorError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MonitorError(f"{where}: cannot read it: {exc}") from None
    except json.JSONDecodeError as exc:
        raise MonitorError(f"{where}: not JSON: {exc.msg} at line {exc.lineno}") from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
        if not isinstance(features, list) or not features:
            raise MonitorError(f"{where}: a FeatureCollection without features")
        geometries = [f.get("geometry") if isinstance(f, dict) else None for f in features]
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        geometries = [doc.get("geometry")]
    else:
        geometries = [doc]
    try:
        shapes = [geometry_from_geojson(g, where, f"zone {i + 1}")
                  for i, g in enumerate(geometries)]
    except MonitorError as exc:
        raise MonitorError(str(exc)) from None
    zone = shapely.union_all(shapes)
    zone_utm = to_utm(zone, aoi.grid.epsg)
    aoi_utm = to_utm(aoi.geometry, aoi.grid.epsg)
    outside = zone_utm.difference(aoi_utm).area
    if outside > 0.01 * zone_utm.area + 1.0:
        share = 100.0 * outside / zone_utm.area
        raise MonitorError(f"{where}: {share:.0f} % of the zone lies outside AOI {aoi.id}; "
                           "draw it within the AOI")
    mask = grid_mask(zone, aoi.grid) & aoi_mask(aoi)
    if not mask.any():
        raise MonitorError(f"{where}: the zone holds no pixel centre of AOI {aoi.id}'s grid")
    return zone, mask, float(zone_utm.area)


#: Change types whose detections date a removal of roofs.
_REMOVING = ("demolition", "rebuilding")


def check_claim(settings: Settings, aoi_id: str, *, by: dt.date,
                demolished: int | None = None, total: int | None = None,
                built_area_m2: float | None = None, since: dt.date | None = None,
                zone: Path | None = None, now: dt.datetime | None = None) -> ClaimOutcome:
    """``monitor claim``: test "N of M buildings demolished by D" (or "A m² roofed on D")
    against the roofed area Sentinel-2 measured, and store the check for the AOI's report.

    The verdict rules and what they assume are in docs/timeline.md. Bad input (unknown AOI,
    N > M, a date before any clear observation, a zone outside the AOI) is a one-line
    MonitorError and stores nothing.
    """
    from shapely.geometry import mapping

    from monitor.aoi import aoi_mask
    from monitor.detect.timeline import Claim, why_area_note
    from monitor.detect.timeline import check_claim as judge

    counts = demolished is not None or total is not None
    if counts and built_area_m2 is not None:
        raise MonitorError("give --demolished N --total M, or --built-area A, not both")
    if not counts and built_area_m2 is None:
        raise MonitorError("give the claim: --demolished N --total M, or --built-area A")
    if counts and (demolished is None or total is None):
        raise MonitorError("--demolished and --total go together")
    if total is not None and total < 1:
        raise MonitorError(f"--total {total}: at least 1 building")
    if demolished is not None and demolished < 0:
        raise MonitorError(f"--demolished {demolished}: not a number of buildings")
    if demolished is not None and total is not None and demolished > total:
        raise MonitorError(f"--demolished {demolished} is more than --total {total}")
    if built_area_m2 is not None and not built_area_m2 >= 0:
        raise MonitorError(f"--built-area {built_area_m2}: not an area in m²")
    if since is not None and since >= by:
        raise MonitorError(f"--since {since} is not before --by {by}")
    if not (settings.state_dir / "state.db").exists():
        raise MonitorError(f"{settings.state_dir}: no state here (run `monitor run` first)")
    with _open_store(settings, create=False) as store:
        aoi = _aoi_of_state(settings, store, aoi_id)
        zone_geometry, zone_area = None, None
        mask = aoi_mask(aoi)
        if zone is not None:
            zone_geometry, mask, zone_area = _read_zone(zone, aoi)
        history, first_modelled = _state_history(store, aoi)
        claim = Claim(by=by, demolished=demolished, total=total, built_area_m2=built_area_m2,
                      since=since)
        try:
            check = judge(history, claim, mask, first_modelled_day=first_modelled)
        except ValueError as exc:
            raise MonitorError(f"--by {by}: {exc}") from None
        dating = []
        for det in store.detections(aoi_id=aoi.id, status=("confirmed", "probable")):
            if det.change_type not in _REMOVING:
                continue
            if not (check.baseline_on < det.first_seen and det.window_start < by):
                continue
            if zone_geometry is not None and not det.geometry.intersects(zone_geometry):
                continue
            dating.append(det)
        simulated = any(o.simulated for o in store.observations(aoi.id, status="used"))
        notes = []
        if check.baseline_on < check.modelled_from:
            notes.append(f"changes before {check.modelled_from} (while the detector was "
                         "learning each pixel's seasons) are not seen")
        if check.unknown_pixels:
            notes.append(f"{check.unknown_pixels} of {check.pixels} pixels cannot be told "
                         "(not modelled, or no spectral mixture fits them): counted as "
                         "anything from no roof to all roof")
        record_claim = {
            "demolished": demolished, "total": total, "built_area_m2": built_area_m2,
            "by": by.isoformat(), "since": since.isoformat() if since else None,
            "zone": str(zone) if zone is not None else None,
            "zone_geometry": mapping(zone_geometry) if zone_geometry is not None else None,
        }
        result = check.to_dict()
        result.update({
            "detections": [{"id": d.id, "change_type": d.change_type, "status": d.status,
                            "window_start": d.window_start.isoformat(),
                            "first_seen": d.first_seen.isoformat(),
                            "confirmed_on": d.confirmed_on.isoformat()
                            if d.confirmed_on else None,
                            "area_m2": d.area_m2} for d in dating],
            "simulated": simulated, "notes": notes, "why_area": why_area_note(),
            "zone_area_m2": zone_area, "lines": check.lines(),
        })
        claim_id = store.put_claim(aoi.id, now or dt.datetime.now(dt.UTC), record_claim,
                                   result)
        # The AOI's report shows claim checks: owed from now on.
        store.mark_pending(REPORTS_STEP, None)
    return ClaimOutcome(aoi, check, str(zone) if zone is not None else None, zone_area,
                        tuple(dating), simulated, claim_id, tuple(notes))


def timeline_report_sections(store: Any, aoi: Aoi) -> tuple[str, ...]:
    """The AOI page's built-up timeline and claim checks (already-escaped HTML), for
    ``_extra_report_sections``. An AOI the detector has not seen yet gets a line saying so."""
    from monitor.report.timeline import claims_section_html, timeline_section_html

    try:
        timeline: Any = _aoi_timeline(store, aoi).timeline
    except MonitorError as exc:
        timeline = str(exc)
    return (timeline_section_html(timeline), claims_section_html(store.claims(aoi.id)))
