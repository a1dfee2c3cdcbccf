"""One AOI's work in a run, wherever it runs: in this process, in worker processes, or
on a Dask cluster.

``aoi_work`` is the unit: read the AOI's planned scenes into the chip cache (in date order,
a scene's bands in threads), then feed the AOI's detector the used scenes its stored state
has not seen, and derive the detections. It writes chips, never the database: the state is
opened read-only and the new detector state comes back to the caller, which records
observations, state and detections in the database (``monitor.job``). So every backend
gives the same result as a serial run, and a worker that dies loses only its own work.

Dask workers need the state directory (chip cache and ``state.db``) on a filesystem they
share with the client, and network access to the imagery; GDAL settings travel with each
task as plain data (``GdalSettings``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from monitor.aoi import to_wgs84
from monitor.detect import state as detector_state
from monitor.detect.params import DetectorParams
from monitor.detect.state import DetectorState, new_state
from monitor.errors import (
    ConfigError,
    InputError,
    MissingState,
    MonitorError,
    ReadError,
    SetupError,
)
from monitor.imagery import ChipCache, GdalSettings, ReadOutcome, load_chip
from monitor.models import (
    Aoi,
    Detection,
    DetectorSnapshot,
    Observation,
    ReflectanceRule,
    Scene,
)
from monitor.store import Store

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.detect.readout import Coverage

__all__ = [
    "AoiTask",
    "AoiWork",
    "Cluster",
    "Computed",
    "TaskFuture",
    "aoi_work",
    "compute_detections",
    "read_scenes",
    "run_tasks",
    "connect",
    "detector_params",
    "detector_version",
    "nothing_to_feed",
    "make_observation",
]


@dataclass(frozen=True)
class AoiTask:
    """Everything a worker needs for one AOI, as plain picklable data."""

    aoi: Aoi
    todo: tuple[Scene, ...]
    state_dir: Path
    gdal: GdalSettings
    min_clear_fraction: float
    detector: DetectorParams
    #: Red-edge bands to read and cache with each chip (the ``red_edge`` setting).
    extra_bands: tuple[str, ...] = ()


@dataclass
class Computed:
    """A detector state and its detections, ready to be stored in one transaction."""

    snapshot: DetectorSnapshot
    detections: list[Detection]
    notes: list[str]
    scenes_fed: int
    read_again: int


@dataclass
class AoiWork:
    """What ``aoi_work`` did: each read scene with its outcome (a ``ReadOutcome`` without
    arrays, or the ``ReadError``), the computed detector state (None: nothing to feed), and
    lines to print."""

    aoi_id: str
    reads: list[tuple[Scene, ReadOutcome | ReadError]]
    computed: Computed | None
    messages: list[str] = field(default_factory=list)
    #: Why the detector step failed (the reads still count and are recorded).
    error: str | None = None


class TaskFuture(Protocol):
    """One task's pending work, as worker processes and Dask both hand it back."""

    def result(self) -> AoiWork: ...

    def done(self) -> bool: ...


class Cluster(Protocol):
    """What the runner needs of a Dask distributed client (:func:`connect`)."""

    def submit(
        self, func: Callable[[AoiTask], AoiWork], task: AoiTask, *, pure: bool
    ) -> TaskFuture:
        """A future of ``func(task)``."""

    def cancel(self, futures: list[TaskFuture]) -> Any:
        """Cancel those futures not started yet."""

    def close(self) -> Any:
        """Leave the cluster."""


def detector_params(settings: Settings) -> DetectorParams:
    """The detector's parameters (``DetectorParams``): the measured defaults with the
    ``detector`` setting's overrides."""
    return DetectorParams(**dict(settings.detector))


def detector_version(params: DetectorParams) -> str:
    """The detector's code and parameters in one string: a change means a replay."""
    text = json.dumps(asdict(params), sort_keys=True, default=str)
    # Read from the module when called: the version is the detector code's, as loaded.
    version = detector_state.STATE_VERSION
    return f"state-{version}-params-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def make_observation(
    aoi: Aoi,
    scene: Scene,
    status: str,
    reason: str,
    *,
    clear_fraction: float | None = None,
    rule: ReflectanceRule | None = None,
    attempts: int = 0,
) -> Observation:
    """The record of what became of ``scene`` for ``aoi``."""
    return Observation(
        aoi_id=aoi.id,
        scene_id=scene.id,
        acquisition=scene.acquisition,
        datetime=scene.datetime,
        collection=scene.collection,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        clear_fraction=clear_fraction,
        rule=rule if rule is not None else scene.rule,
        simulated=scene.simulated,
        attempts=attempts,
    )


def nothing_to_feed(aoi: Aoi, store: Store, used: Sequence[Observation], version: str) -> bool:
    """Whether the stored state has seen exactly the AOI's used scenes, with this outline and
    detector: then there is nothing to feed, and the state's arrays need not even be read."""
    info = store.get_detector_state(aoi.id, with_arrays=False)
    return (
        info is not None
        and info.geometry_hash == aoi.geometry_hash
        and info.detector_version == version
        and info.n_scenes == len(used)
        and info.last_datetime == max((o.datetime for o in used), default=None)
    )


def read_scenes(
    aoi: Aoi,
    todo: Sequence[Scene],
    cache: ChipCache,
    gdal: GdalSettings,
    min_clear_fraction: float,
    stop: threading.Event | None = None,
    on_scene: Callable[[], None] | None = None,
    extra_bands: Sequence[str] = (),
) -> list[tuple[Scene, ReadOutcome | ReadError]]:
    """Read the scenes into the chip cache, in date order; each with its outcome.

    Returns ``ReadOutcome``s without chip arrays (the detector takes chips from the cache),
    or the ``ReadError`` of a scene that cannot be read as it is. ``on_scene`` is called
    after each scene (progress, when the work runs in this process).
    """
    results: list[tuple[Scene, ReadOutcome | ReadError]] = []
    for scene in sorted(todo, key=lambda s: s.datetime):
        if stop is not None and stop.is_set():
            break
        try:
            outcome = load_chip(
                scene,
                aoi,
                cache,
                env=gdal,
                min_clear_fraction=min_clear_fraction,
                extra_bands=extra_bands,
            )
        except ReadError as exc:
            results.append((scene, exc))
        else:
            results.append((scene, replace(outcome, chip=None)))
        if on_scene is not None:
            on_scene()
    return results


def _resumed_state(
    aoi: Aoi,
    store: Store,
    used: Sequence[Observation],
    params: DetectorParams,
    version: str,
    rebuild: bool,
    say: Callable[[str], None],
) -> tuple[DetectorState, list[Observation]]:
    """The detector state to feed and the observations to feed it: the stored state with
    the used scenes it has not seen, or a new state with all of them (a replay).

    A scene older than the state's last (a late arrival), an edited AOI, a new detector
    version or ``rebuild`` replays every used observation.
    """
    # The detector proper (scipy, scikit-image) is imported when it runs.

    snapshot = None if rebuild else store.get_detector_state(aoi.id)
    state = None
    fresh: list[Observation] = list(used)
    if (
        snapshot is not None
        and snapshot.geometry_hash == aoi.geometry_hash
        and snapshot.detector_version == version
    ):
        state = DetectorState.from_arrays(snapshot.arrays)
        seen = set(state.scene_ids)
        fresh = [o for o in used if o.scene_id not in seen]
        last = snapshot.last_datetime
        if fresh and last is not None and min(o.datetime for o in fresh) <= last:
            say(f"{aoi.id}: a late scene arrived: replaying the history from the chip cache")
            state = None
    elif snapshot is not None:
        why = (
            "the AOI's outline changed"
            if snapshot.geometry_hash != aoi.geometry_hash
            else "the detector changed"
        )
        say(f"{aoi.id}: {why}: replaying the history from the chip cache")
    if state is None:
        return new_state(aoi.grid.shape, params), list(used)
    return state, fresh


def _feed(
    state: DetectorState,
    fresh: Sequence[Observation],
    aoi: Aoi,
    store: Store,
    cache: ChipCache,
    gdal: GdalSettings,
    min_clear_fraction: float,
    params: DetectorParams,
) -> int:
    """Feed the state each observation's chip from the cache, in order; how many chips were
    no longer cached and were read again from their source."""
    from monitor.detect import update as update_detector

    read_again = 0
    for obs in fresh:
        scene = store.get_scene(obs.scene_id, obs.collection)
        # A used observation's scene is stored before the observation is.
        assert scene is not None
        outcome = load_chip(scene, aoi, cache, env=gdal, min_clear_fraction=min_clear_fraction)
        if outcome.chip is None:
            raise MissingState(
                f"AOI {aoi.id}: scene {obs.scene_id} was used but its chip "
                f"cannot be read again: {outcome.reason}"
            )
        read_again += not outcome.from_cache
        chip = outcome.chip
        update_detector(
            state,
            chip.to_float(),
            chip.valid,
            chip.scl,
            chip.datetime.date(),
            chip.scene_id,
            params,
        )
    return read_again


def _derived_detections(
    state: DetectorState,
    aoi: Aoi,
    store: Store,
    used: Sequence[Observation],
    params: DetectorParams,
    keep_before: dt.date | None,
) -> list[Detection]:
    """The state's detections in WGS84; with ``keep_before``, the stored ones first seen
    before that day in place of the new ones."""
    from monitor.detect import detections_from_state

    simulated = any(o.simulated for o in used)
    objects = detections_from_state(
        state, aoi_id=aoi.id, grid=aoi.grid, simulated=simulated, params=params
    )
    detections = [o.to_detection(to_wgs84(o.geometry_utm, aoi.grid.epsg)) for o in objects]
    if keep_before is not None:
        kept = [d for d in store.detections(aoi_id=aoi.id) if d.first_seen < keep_before]
        detections = kept + [d for d in detections if d.first_seen >= keep_before]
    return detections


def _snapshot(
    aoi: Aoi,
    state: DetectorState,
    used: Sequence[Observation],
    params: DetectorParams,
    version: str,
    covered: Coverage,
    notes: list[str],
) -> DetectorSnapshot:
    """The state as stored: its arrays, what it has seen and its coverage."""
    return DetectorSnapshot(
        aoi_id=aoi.id,
        geometry_hash=aoi.geometry_hash,
        detector_version=version,
        params=asdict(params),
        last_datetime=max((o.datetime for o in used), default=None),
        n_scenes=len(state.scene_ids),
        arrays=state.to_arrays(),
        coverage={
            "modelled_fraction": round(covered.modelled_fraction, 4),
            "gaps": [
                {"start": g.start.isoformat(), "end": g.end.isoformat(), "days": g.days}
                for g in covered.gaps
            ],
            "notes": notes,
        },
    )


def compute_detections(
    aoi: Aoi,
    store: Store,
    cache: ChipCache,
    gdal: GdalSettings,
    used: Sequence[Observation],
    min_clear_fraction: float,
    params: DetectorParams,
    *,
    rebuild: bool = False,
    keep_before: dt.date | None = None,
    say: Callable[[str], None] = lambda _line: None,
) -> Computed | None:
    """Feed the used observations the stored state has not seen; None when there are none.

    The stored state lists the scenes it has seen, so observations recorded by a run that
    was killed before its detector step are fed on the next run. A scene older than the
    state's last (a late arrival), an edited AOI, a new detector version or ``rebuild``
    replays every used observation from the chip cache, in date order (a chip no longer
    cached is read again). With ``keep_before``, stored detections first seen before that
    day are kept as they are and only later ones are replaced. Reads the store, never
    writes it.
    """
    version = detector_version(params)
    if not rebuild and nothing_to_feed(aoi, store, used, version):
        return None
    from monitor.detect import coverage

    state, fresh = _resumed_state(aoi, store, used, params, version, rebuild, say)
    read_again = _feed(state, fresh, aoi, store, cache, gdal, min_clear_fraction, params)
    if read_again:
        say(f"{aoi.id}: {read_again} chip(s) were no longer cached and were read again")
    detections = _derived_detections(state, aoi, store, used, params, keep_before)
    covered = coverage(state, params)
    notes = covered.notes()
    snapshot = _snapshot(aoi, state, used, params, version, covered, notes)
    return Computed(snapshot, detections, notes, len(fresh), read_again)


def aoi_work(task: AoiTask, on_scene: Callable[[], None] | None = None) -> AoiWork:
    """One AOI's reads and detector step (see the module docstring); runs anywhere.
    ``on_scene`` (in this process only) is called after each scene read."""
    aoi = task.aoi
    cache = ChipCache(task.state_dir)
    reads = read_scenes(
        aoi,
        task.todo,
        cache,
        task.gdal,
        task.min_clear_fraction,
        on_scene=on_scene,
        extra_bands=task.extra_bands,
    )
    messages: list[str] = []
    with Store.open(task.state_dir, create=False) as store:
        newly_used = [
            make_observation(aoi, scene, "used", outcome.reason)
            for scene, outcome in reads
            if not isinstance(outcome, ReadError) and outcome.status == "used"
        ]
        known = {o.scene_id for o in newly_used}
        used = sorted(
            [
                *(o for o in store.observations(aoi.id, status="used") if o.scene_id not in known),
                *newly_used,
            ],
            key=lambda o: (o.datetime, o.scene_id),
        )
        try:
            computed = compute_detections(
                aoi,
                store,
                cache,
                task.gdal,
                used,
                task.min_clear_fraction,
                task.detector,
                say=messages.append,
            )
        except MonitorError as exc:
            return AoiWork(aoi.id, reads, None, messages, error=str(exc))
    return AoiWork(aoi.id, reads, computed, messages)


def connect(scheduler: str, timeout_s: float = 10.0) -> Cluster:
    """A Dask distributed client of the cluster at ``scheduler`` (``tcp://HOST:PORT``)."""
    try:
        from distributed import Client
    except ImportError:
        raise SetupError("--scheduler needs Dask: pip install 'border-monitor[dask]'") from None
    try:
        return Client(scheduler, timeout=f"{max(1, round(timeout_s))}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"--scheduler {scheduler}: cannot connect ({' '.join(str(exc).split())})"
        ) from None


def run_tasks(
    tasks: Sequence[AoiTask],
    *,
    workers: int = 1,
    client: Cluster | None = None,
    on_scene: Callable[[], None] | None = None,
) -> Generator[tuple[AoiTask, AoiWork | BaseException], None, None]:
    """Run ``aoi_work`` on every task; yield each task with its work (or the MonitorError it
    raised), in the order of ``tasks``, as soon as that one is done.

    ``workers`` > 1 runs them in that many worker processes; ``client`` (from
    :func:`connect`) on a Dask distributed cluster. Closing the iterator early cancels what
    has not started. ``on_scene`` is called after each scene read when the tasks run in
    this process (elsewhere, progress is known per AOI only).
    """
    if workers < 1:
        raise ConfigError(f"--workers {workers}: need at least 1")
    if client is not None:
        yield from _run_on_dask(tasks, client)
        return
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            try:
                yield task, aoi_work(task, on_scene)
            except MonitorError as exc:
                yield task, exc
        return
    # spawn, not fork: the parent runs GDAL and thread pools, which a fork would copy
    # half-way through.
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn")
    )
    try:
        yield from _in_order(tasks, [pool.submit(aoi_work, task) for task in tasks])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_on_dask(
    tasks: Sequence[AoiTask], client: Cluster
) -> Iterator[tuple[AoiTask, AoiWork | BaseException]]:
    # pure=False: the same task twice (a retried run) must run again, not be reused.
    futures = [client.submit(aoi_work, task, pure=False) for task in tasks]
    try:
        yield from _in_order(tasks, futures)
    finally:
        client.cancel([f for f in futures if not f.done()])


def _in_order(
    tasks: Sequence[AoiTask], futures: Sequence[TaskFuture]
) -> Iterator[tuple[AoiTask, AoiWork | BaseException]]:
    """Each task with its future's result, in task order; a MonitorError is a result."""
    for task, future in zip(tasks, futures, strict=True):
        try:
            yield task, future.result()
        except MonitorError as exc:
            yield task, exc
