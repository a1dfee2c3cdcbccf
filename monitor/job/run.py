"""``monitor run``: one run of the incremental job, with the steps it owes after it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from monitor import alerts
from monitor.catalog import Catalog, find_scenes
from monitor.catalog.base import is_url
from monitor.config import Settings
from monitor.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    MonitorError,
    ReadError,
    WorkerError,
)
from monitor.imagery import GdalSettings, ReadOutcome
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
from monitor.job.report import ReportResult, owed_reports
from monitor.models import RED_EDGE_BANDS, Aoi, Observation, Scene
from monitor.runner import (
    AoiTask,
    AoiWork,
    Cluster,
    Computed,
    connect,
    detector_params,
    detector_version,
    make_observation,
    nothing_to_feed,
    run_tasks,
)
from monitor.store import Store, state_lock


@dataclass(frozen=True)
class AoiResult:
    """One AOI's part of a run or rebuild: its scenes and detections, or why it failed.

    ``as_record`` is what the run's record in the state holds for it (``monitor status``
    shows it): a field left None is left out.
    """

    status: str
    error: str | None = None
    #: Scenes found, new, used, skipped, failed (a run only; a rebuild reads no catalog).
    counts: Mapping[str, int] | None = None
    fallback_months: tuple[str, ...] | None = None
    scenes_fed: int = 0
    #: Stored detections by status.
    detections: Mapping[str, int] = field(default_factory=dict)
    coverage: tuple[str, ...] = ()
    #: Chips read again from their source (None: the detector was not fed).
    chips_read_again: int | None = None
    detections_new: int = 0
    detections_confirmed: int = 0
    detections_rejected: int = 0

    @classmethod
    def failed(cls, error: str) -> AoiResult:
        """An AOI that failed with ``error`` (the others go on)."""
        return cls(status="failed", error=error)

    def as_record(self) -> dict[str, Any]:
        """The AOI's entry in the run's record, its keys in the order they always had."""
        if self.status == "failed":
            return {"status": self.status, "error": self.error}
        record: dict[str, Any] = {"status": self.status}
        if self.counts is not None:
            record["counts"] = dict(self.counts)
        if self.fallback_months is not None:
            record["fallback_months"] = list(self.fallback_months)
        record["scenes_fed"] = self.scenes_fed
        record["detections"] = dict(self.detections)
        record["coverage"] = list(self.coverage)
        if self.chips_read_again is not None:
            record["chips_read_again"] = self.chips_read_again
        record["detections_new"] = self.detections_new
        record["detections_confirmed"] = self.detections_confirmed
        record["detections_rejected"] = self.detections_rejected
        return record


@dataclass(frozen=True)
class RunOutputs:
    """What a run's end wrote: the job's GeoJSON export and the HTML reports (None: not
    owed, left as they were)."""

    exports: Path | None
    reports: ReportResult | None


@dataclass
class JobResult:
    """What a run (or rebuild) did: its exit code, record id, totals, each AOI's result and
    the errors; ``outputs`` None when it stopped before its AOIs (the catalog or the
    cluster down)."""

    exit_code: int
    run_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    per_aoi: dict[str, AoiResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    outputs: RunOutputs | None = None

    def per_aoi_records(self) -> dict[str, dict[str, Any]]:
        """Each AOI's entry in the run's record (``AoiResult.as_record``)."""
        return {aoi_id: r.as_record() for aoi_id, r in self.per_aoi.items()}


def _observation(aoi: Aoi, scene: Scene, status: str, reason: str, **fields: Any) -> Observation:
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
    settings: Settings, aoi: Aoi, catalog: Catalog, store: Store, start: dt.date, end: dt.date
) -> _AoiPlan:
    """Search one AOI's scenes and record them; the new (or earlier failed) ones are to read.

    Raises ``MonitorError`` on AOI-level failure (no scene, catalog error).
    """
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
    plan: _AoiPlan,
    results: Sequence[tuple[Scene, ReadOutcome | ReadError]],
    store: Store,
    detail: Echo,
    alert: Echo,
) -> AoiResult:
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
    return AoiResult(status="ok", counts=dict(counts), fallback_months=tuple(plan.fallback_months))


def record_aoi_failure(result: JobResult, aoi_id: str, exc: MonitorError, say: Echo) -> None:
    """Record one AOI's failure in the run's result (the others go on) and say it."""
    result.errors.append(f"{aoi_id}: {exc}")
    result.per_aoi[aoi_id] = AoiResult.failed(str(exc))
    say(f"{aoi_id}: FAILED: {exc}")


def _stored_figures(aoi: Aoi, store: Store) -> AoiResult:
    """An AOI's figures when nothing was fed (the daily case), from the database alone."""
    info = store.get_detector_state(aoi.id, with_arrays=False)
    counts = store.detection_counts(aoi.id)
    return AoiResult(
        status="ok",
        scenes_fed=0,
        detections={status: sum(types.values()) for status, types in counts.items()},
        coverage=tuple(info.coverage.get("notes", [])) if info else (),
    )


def store_computed(
    aoi: Aoi, store: Store, computed: Computed | None, run_id: int | None, echo: Echo
) -> AoiResult:
    """Store a computed detector state and its detections in one transaction; the AOI's
    figures for the run summary. ``computed`` None: nothing was fed (the daily case),
    answered from the database alone."""
    if computed is None:
        return _stored_figures(aoi, store)
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
                for e in alerts.alert_events(changes, computed.detections, before)
                if e.detection.id not in dismissed
            ],
        )
        store.mark_pending(EXPORTS_STEP, run_id)
        store.mark_pending(reports_step(aoi.id), run_id)
    for note in computed.notes:
        echo(f"{aoi.id}: {note}")
    detections = computed.detections
    rejected = set(changes.rejected) | {d.id for d in detections if d.status == "rejected"}
    return AoiResult(
        status="ok",
        scenes_fed=computed.scenes_fed,
        detections=dict(Counter(d.status for d in detections)),
        coverage=tuple(computed.notes),
        chips_read_again=computed.read_again,
        detections_new=len(set(changes.new) - rejected),
        detections_confirmed=len(changes.confirmed),
        detections_rejected=len(changes.rejected),
    )


def _open_sources(
    settings: Settings,
    store: Store,
    run_id: int,
    result: JobResult,
    aois: Sequence[Aoi],
    scheduler: str | None,
    alert: Echo,
) -> tuple[Cluster | None, Catalog] | None:
    """The run's sources: the Dask cluster (with ``scheduler``) and the catalog.

    None when either is down or unreachable: a partial failure like any other, recorded for
    every AOI, so cron sees exit 3 and the next run tries again. A local catalog that cannot
    be read is bad input, not a passing fault: its error is recorded and raised.
    """
    client = None
    step = "scheduler"
    try:
        if scheduler is not None:
            client = connect(scheduler, settings.http_timeout_s)
        step = "catalog"
        return client, catalog_of(settings)
    except MonitorError as exc:
        if client is not None:
            client.close()
        if step == "catalog" and not is_url(settings.stac):
            store.finish_run(run_id, exit_code=1, counts={}, per_aoi={}, errors=[f"catalog: {exc}"])
            raise
        for aoi in aois:
            result.per_aoi[aoi.id] = AoiResult.failed(str(exc))
        result.errors.append(f"{step}: {exc}")
        result.exit_code = EXIT_PARTIAL
        store.finish_run(
            run_id,
            exit_code=result.exit_code,
            counts={},
            per_aoi=result.per_aoi_records(),
            errors=result.errors,
        )
        alert(f"FAILED: {exc}")
        return None


def _plan_aois(
    settings: Settings,
    aois: Sequence[Aoi],
    catalog: Catalog,
    store: Store,
    period: tuple[dt.date, dt.date],
    echo: Echo,
) -> tuple[dict[str, _AoiPlan], dict[str, MonitorError]]:
    """Each AOI's plan (``_plan_aoi``), or the error that stopped its search."""
    start, end = period
    plans: dict[str, _AoiPlan] = {}
    failures: dict[str, MonitorError] = {}
    for aoi in aois:
        echo(f"{aoi.id}: searching {catalog.source} {start} → {end}")
        try:
            plans[aoi.id] = _plan_aoi(settings, aoi, catalog, store, start, end)
        except MonitorError as exc:
            failures[aoi.id] = exc
    return plans, failures


def _tasks_of(
    settings: Settings, plans: Mapping[str, _AoiPlan], store: Store, gdal: GdalSettings
) -> list[AoiTask]:
    """The runner's tasks: one per AOI with something to read or feed.

    AOIs with nothing to read and nothing to feed are answered from the database; the others
    go to the runner (this process, worker processes or a Dask cluster).
    """
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
                RED_EDGE_BANDS if settings.red_edge else (),
            )
        )
    return tasks


class _Progress:
    """The run's progress ticks: AOIs done and scenes read, up to their totals."""

    def __init__(self, tick: Tick, n_aois: int, n_scenes: int) -> None:
        self.tick = tick
        self.n_aois = n_aois
        self.n_scenes = n_scenes
        self.scenes = 0
        self.planned = 0
        self.aois = 0

    def start(self) -> None:
        """Both totals, at zero."""
        self.tick(PROGRESS_AOIS, 0, self.n_aois)
        self.tick(PROGRESS_SCENES, 0, self.n_scenes)

    def scene_read(self) -> None:
        """One more scene read in this process."""
        self.scenes += 1
        self.tick(PROGRESS_SCENES, self.scenes, self.n_scenes)

    def aoi_done(self) -> None:
        """One more AOI done: its planned scenes count as read (scenes read elsewhere,
        in worker processes or on Dask, are known per AOI only)."""
        self.aois += 1
        self.scenes = max(self.scenes, self.planned)
        self.tick(PROGRESS_SCENES, self.scenes, self.n_scenes)
        self.tick(PROGRESS_AOIS, self.aois, self.n_aois)


@dataclass
class _Collector:
    """Takes the runner's works in AOI order and records each AOI's reads and detections."""

    store: Store
    result: JobResult
    done: Iterator[tuple[AoiTask, AoiWork | BaseException]]
    echo: Echo
    detail: Echo
    alert: Echo
    works: dict[str, AoiWork | BaseException] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)

    def work_of(self, aoi_id: str) -> AoiWork:
        """The AOI's work, waiting for the runner (which yields works in task order)."""
        while aoi_id not in self.works:
            task, work = next(self.done, (None, None))
            if task is None or work is None:
                raise WorkerError("the runner stopped before this AOI")
            self.works[task.aoi.id] = work
        work = self.works.pop(aoi_id)
        if isinstance(work, BaseException):
            raise work
        return work

    def aoi_result(self, aoi: Aoi, plan: _AoiPlan, ran: bool) -> AoiResult:
        """Record the AOI's reads, then store its detections (``ran``: it had a task)."""
        run_id = self.result.run_id
        if not ran:
            reads = _record_reads(plan, [], self.store, self.detail, self.alert)
            return _with_reads(store_computed(aoi, self.store, None, run_id, self.echo), reads)
        work = self.work_of(aoi.id)
        for line in work.messages:
            self.echo(line)
        reads = _record_reads(plan, work.reads, self.store, self.detail, self.alert)
        if work.error is not None:
            raise WorkerError(work.error)
        return _with_reads(store_computed(aoi, self.store, work.computed, run_id, self.echo), reads)

    def add(self, aoi_id: str, info: AoiResult) -> None:
        """Count an AOI's result in the run's totals and errors."""
        self.result.per_aoi[aoi_id] = info
        counts = info.counts or {}
        self.totals.update(counts)
        self.totals.update({f"detections_{k}": v for k, v in info.detections.items()})
        self.totals["detections_newly_new"] += info.detections_new
        self.totals["detections_newly_confirmed"] += info.detections_confirmed
        self.totals["detections_newly_rejected"] += info.detections_rejected
        if counts.get("failed"):
            self.result.errors.append(
                f"{aoi_id}: {counts['failed']} scene(s) failed; retried next run"
            )


def _with_reads(stored: AoiResult, reads: AoiResult) -> AoiResult:
    """The AOI's stored figures with its scene counts."""
    return replace(stored, counts=reads.counts, fallback_months=reads.fallback_months)


def _collect(
    collector: _Collector,
    aois: Sequence[Aoi],
    plans: Mapping[str, _AoiPlan],
    failures: Mapping[str, MonitorError],
    ran: set[str],
    progress: _Progress,
) -> None:
    """Each AOI's result in AOI order; one AOI's failure never stops the others."""
    for aoi in aois:
        if aoi.id in plans:
            progress.planned += len(plans[aoi.id].todo)
        try:
            if aoi.id in failures:
                raise failures[aoi.id]
            info = collector.aoi_result(aoi, plans[aoi.id], aoi.id in ran)
        except MonitorError as exc:
            record_aoi_failure(collector.result, aoi.id, exc, collector.alert)
            continue
        finally:
            progress.aoi_done()
        collector.add(aoi.id, info)


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

    Lines go to ``echo`` (progress), ``detail`` (one per scene read) and ``alert`` (failures;
    ``echo`` when not given). The summary is the caller's to print, from the result.
    """
    alert = alert or echo
    period = period_of(settings, since, until)
    aois = aois_of(settings, selectors)
    result = JobResult(exit_code=EXIT_OK)
    with store_of(settings) as store, state_lock(settings.state_dir, "monitor run"):
        run_id = result.run_id = store.start_run("run", list(argv))
        sources = _open_sources(settings, store, run_id, result, aois, scheduler, alert)
        if sources is None:
            return result
        client, catalog = sources
        gdal = GdalSettings.from_settings(settings)
        plans, failures = _plan_aois(settings, aois, catalog, store, period, echo)
        tasks = _tasks_of(settings, plans, store, gdal)
        counter = _Progress(progress or tick_nothing, len(aois), sum(len(t.todo) for t in tasks))
        counter.start()
        done = run_tasks(
            tasks,
            workers=workers,
            client=client,
            on_scene=counter.scene_read if progress else None,
        )
        collector = _Collector(store, result, done, echo, detail, alert)
        try:
            _collect(collector, aois, plans, failures, {t.aoi.id for t in tasks}, counter)
        finally:
            # An interrupted run cancels the AOIs not started yet.
            done.close()
            if client is not None:
                client.close()
        exports, reports = close_run(
            settings, store, result, collector.totals, aois, deliver_alerts, alert, echo
        )
        result.outputs = RunOutputs(exports, reports)
    return result


#: The job's own exports (probable and confirmed detections), in ``<reports-dir>``.
JOB_EXPORTS: tuple[tuple[str, str], ...] = (
    ("geojson", "detections.geojson"),
    ("gpkg", "detections.gpkg"),
)


def _owed_exports(settings: Settings, store: Store) -> Path | None:
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
    store: Store,
    result: JobResult,
    totals: Mapping[str, int],
    aois: Sequence[Aoi],
    deliver_alerts: bool,
    alert: Echo,
    echo: Echo,
) -> tuple[Path | None, ReportResult | None]:
    """A run's (or rebuild's) end, under the lock: its exit code, the alerts it owes, its
    record, then the exports and reports owed. Returns what was written (None: not owed)."""
    assert result.run_id is not None  # the run's start gave it, before any AOI
    result.counts = dict(totals)
    if result.errors:
        result.exit_code = EXIT_PARTIAL
    # After the exit code is decided: alerts never fail a run.
    _send_owed_alerts(settings, store, result, aois, deliver_alerts, alert)
    store.finish_run(
        result.run_id,
        exit_code=result.exit_code,
        counts=result.counts,
        per_aoi=result.per_aoi_records(),
        errors=result.errors,
    )
    return _owed_exports(settings, store), owed_reports(settings, store, echo)


def _send_owed_alerts(
    settings: Settings,
    store: Store,
    result: JobResult,
    aois: Sequence[Aoi],
    deliver: bool,
    say: Echo,
) -> None:
    """Write and deliver the alert events in the outbox: this run's, and any a run killed
    before its alerts left there. The outbox is emptied once the alerts file is written
    (delivery failures are the run's errors, not retried by later runs: they were retried
    already, and a late alert about an old run would mislead). A kill between writing and
    emptying repeats the alerts in the next run: at least once, never lost."""
    queued = store.queued_alerts()
    names = {a.id: a.name for a in aois}
    events = alerts.merge_events(event for _seq, _run, event in queued)
    earlier = sorted(
        {run for _seq, run, _event in queued if run is not None and run != result.run_id}
    )
    if earlier:
        say(
            f"alerts: {sum(1 for q in queued if q[1] in earlier)} owed by interrupted run(s) "
            + ", ".join(str(r) for r in earlier)
        )
    # Looked up on the module when called, so that a stand-in for it takes effect.
    sent = alerts.alerts_for_run(
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
