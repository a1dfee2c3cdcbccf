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
    "cache_use",
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
        echo(f"exports: {exports} (probable and confirmed detections); other formats and the "
             "HTML reports: not built yet (issues 9 and 10)")
    else:
        echo("nothing new: reports and exports left as they are")
    for error in result.errors:
        alert(f"error: {error}")
    return result


#: The ``pending_steps`` name of the job's own exports.
EXPORTS_STEP = "exports"


def _owed_exports(settings: Settings, store: Any) -> Path | None:
    """The job's own exports, replaced atomically, when owed (detections stored since they
    were last written, by this run or one killed before writing them) or missing:
    ``<reports-dir>/detections.geojson``. None when nothing was owed."""
    path = settings.reports_dir / "detections.geojson"
    if not store.pending(EXPORTS_STEP) and path.exists():
        return None
    export_detections(settings, (), fmt="geojson", out=path, status="all", overwrite=True)
    store.clear_pending(EXPORTS_STEP)
    return path


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
    if not aois:
        echo("no AOI of the state to rebuild")
    if exports is not None:
        echo(f"exports: {exports}")
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
    echo(f"demo detections (GeoJSON, SIMULATED): {paths.reports_dir / 'detections.geojson'}")
    echo(f"planted truth: {sim.truth_geojson}")
    echo("HTML reports: not built yet (issue 9); other export formats: not built yet (issue 10)")
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


def export_detections(settings: Settings, selectors: Sequence[str], *, fmt: str, out: Path,
                      status: str = "confirmed", since: dt.date | None = None,
                      overwrite: bool = False) -> ExportResult:
    """``monitor export``: the stored detections of the AOIs, in ``fmt``.

    ``status`` follows the contract: confirmed (default), probable, all (probable and
    confirmed) or rejected. An empty selection writes a valid empty file.
    """
    from monitor.detect import stated_limits_note
    from monitor.export import VECTOR_FORMATS, write_detections

    if fmt not in VECTOR_FORMATS:
        raise MonitorError(f"--format {fmt}: not built yet (issue 10: GIS export); "
                           f"available now: {', '.join(VECTOR_FORMATS)}")
    if status not in STATUS_CHOICES:
        raise MonitorError(f"--status {status}: expected one of {', '.join(STATUS_CHOICES)}")
    if not (settings.state_dir / "state.db").exists():
        raise MonitorError(f"{settings.state_dir}: no state here (run `monitor run` first)")
    wanted = {a.id for a in _resolve_aois(settings, selectors)} if selectors else None
    with _open_store(settings, create=False) as store:
        detections = select_detections(store, status, since=since, aoi_ids=wanted)
    metadata = {"status": status, "since": since.isoformat() if since else None,
                "limits": stated_limits_note(),
                "simulated": any(d.simulated for d in detections)}
    n = write_detections(detections, fmt, out, overwrite=overwrite, metadata=metadata)
    return ExportResult(out, n, status)


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
