"""``monitor export``: stored detections (and rasters) to GIS formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.aoi import aoi_mask, to_utm
from monitor.config import Settings
from monitor.detect.limits import stated_limits_note
from monitor.detect.params import DetectorParams
from monitor.detect.state import DetectorState
from monitor.errors import (
    InputError,
    MissingState,
    MonitorError,
)
from monitor.export import (
    FOLDER_FORMATS,
    ExportData,
    Staging,
    burn_detections,
    check_format,
    check_target,
    detection_image_path,
    detection_window,
    staged,
    true_colour,
    write_aoi_rasters,
    write_format,
    write_true_colour,
)
from monitor.imagery import ChipCache, GdalSettings, load_chip
from monitor.job.common import aois_of, require_state, store_of
from monitor.models import Aoi, Chip, Detection, Grid, Scene
from monitor.runner import detector_params, detector_version
from monitor.store import Store

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


def select_detections(
    store: Store, status: str, *, since: dt.date | None = None, aoi_ids: Iterable[str] | None = None
) -> list[Detection]:
    """The stored detections ``--status`` selects: a detector status (confirmed, probable,
    all = probable and confirmed, rejected) or an analyst's verdict (verified, false_alarm,
    unsure: any status; unreviewed: probable and confirmed without a review)."""
    if status not in STATUS_CHOICES:
        raise InputError(f"--status {status}: expected one of {', '.join(STATUS_CHOICES)}")
    if status in _STATUS_SELECTION:
        found = store.detections(status=_STATUS_SELECTION[status], since=since)
    elif status == "unreviewed":
        found = [
            d
            for d in store.detections(status=_STATUS_SELECTION["all"], since=since)
            if d.review is None
        ]
    else:
        found = [
            d
            for d in store.detections(since=since)
            if d.review is not None and d.review.verdict == status
        ]
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


def export_detections(
    settings: Settings,
    selectors: Sequence[str],
    *,
    fmt: str,
    out: Path,
    status: str = "confirmed",
    since: dt.date | None = None,
    overwrite: bool = False,
    raster: Path | None = None,
) -> ExportResult:
    """``monitor export``: the stored detections of the AOIs, in ``fmt`` (EPSG:4326), and
    with ``raster`` the AOIs' rasters on their UTM grids (see ``_export_rasters``).

    ``status`` follows the contract: confirmed (default), probable, all (probable and
    confirmed) or rejected. An empty selection writes a valid empty file. Everything is
    written under temporary names and renamed into place at the end: bad input (unknown
    format or AOI, an existing output without ``overwrite``, a folder that cannot be
    written) leaves nothing behind and every existing file as it was.
    """
    check_format(fmt)
    if status not in STATUS_CHOICES:
        raise MissingState(f"--status {status}: expected one of {', '.join(STATUS_CHOICES)}")
    require_state(settings)
    # The outputs first: a refusal should not wait for the reading.
    check_target(out, overwrite=overwrite, folder=fmt in FOLDER_FORMATS)
    if raster is not None:
        # A folder that may hold other rasters: its files are checked one by one.
        check_target(raster, overwrite=True, folder=True)
    with store_of(settings, create=False) as store:
        aois = _export_aois(settings, store, selectors)
        wanted = {a.id for a in aois} if selectors else None
        detections = select_detections(store, status, since=since, aoi_ids=wanted)
        data = ExportData(
            detections=detections,
            aois=aois,
            observations=[o for a in aois for o in store.observations(a.id)],
            runs=store.runs(limit=1_000_000),
            scenes=_evidence_scenes(store, detections),
            status=status,
            since=since,
            limits=stated_limits_note(),
        )
        rasters: list[Path] = []
        notes: list[str] = []
        with staged(overwrite) as staging:
            n = write_format(fmt, data, out, staging)
            if raster is not None:
                rasters, notes = _export_rasters(settings, store, data, raster, staging)
    return ExportResult(out, n, status, fmt, data.simulated, tuple(rasters), tuple(notes))


def _export_aois(settings: Settings, store: Store, selectors: Sequence[str]) -> list[Aoi]:
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
            aoi_id = aois_of(settings, [selector])[0].id
        if aoi_id is None or aoi_id not in stored:
            raise MissingState(
                f"--aoi {selector}: no such AOI in the state "
                f"{settings.state_dir} (it has: {', '.join(stored) or 'none'})"
            )
        chosen[aoi_id] = stored[aoi_id]
    return list(chosen.values())


def _evidence_scenes(store: Store, detections: Sequence[Detection]) -> dict[str, Scene]:
    """The stored scenes the detections name as evidence, by id."""
    scenes: dict[str, Scene] = {}
    for scene_id in sorted(
        {s for d in detections for s in (*d.evidence_before, *d.evidence_after)}
    ):
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


@dataclass(frozen=True)
class _RasterSink:
    """Where ``--raster`` files go and what reads the chips for them."""

    settings: Settings
    folder: Path
    staging: Staging
    cache: ChipCache
    gdal: GdalSettings


def _export_rasters(
    settings: Settings, store: Store, data: ExportData, folder: Path, staging: Staging
) -> tuple[list[Path], list[str]]:
    """``monitor export --raster DIR``: per AOI, COGs on its UTM grid of the change class,
    first-seen day and confidence of the exported detections (255 / none where the AOI
    ends or its detector has no model yet, from the detector state); per detection,
    true-colour before and after images of a window around it, from the chips of its
    evidence scenes (the chip cache, or the scene itself when no longer cached).

    Returns the files staged and one line per image that could not be made.
    """
    params = detector_params(settings)
    version = detector_version(params)
    sink = _RasterSink(
        settings,
        folder,
        staging,
        ChipCache(settings.state_dir),
        GdalSettings.from_settings(settings),
    )
    written: list[Path] = []
    notes: list[str] = []
    for aoi in data.aois:
        stale = _stale_state(store, aoi, version)
        if stale is not None:
            notes.append(
                f"{aoi.id}: {stale}: no rasters (run `monitor rebuild --aoi {aoi.id}` first)"
            )
            continue
        pairs = [(d, to_utm(d.geometry, aoi.grid.epsg)) for d in data.detections if d.aoi == aoi.id]
        written += _aoi_rasters(sink, store, data, aoi, pairs, params)
        for det, geometry in pairs:
            window, row0, col0 = detection_window(geometry, aoi.grid)
            for role, ids in (("before", det.evidence_before), ("after", det.evidence_after)):
                scenes = [data.scenes[i] for i in ids if i in data.scenes]
                chip, why = _evidence_chip(sink, aoi, det, scenes, role)
                if chip is None:
                    notes.append(f"{det.id}: no {role} image ({why})")
                    continue
                written.append(_detection_image(sink, det, role, chip, window, row0, col0))
    return written, notes


def _stale_state(store: Store, aoi: Aoi, version: str) -> str | None:
    """Why the AOI's stored detector state cannot give its rasters; None when it can."""
    info = store.get_detector_state(aoi.id, with_arrays=False)
    if info is None:
        return "no detector state"
    if info.geometry_hash != aoi.geometry_hash:
        return "its detector state is of an earlier outline"
    if info.detector_version != version:
        return "its detector state is of an earlier detector"
    return None


def _aoi_rasters(
    sink: _RasterSink,
    store: Store,
    data: ExportData,
    aoi: Aoi,
    pairs: Sequence[tuple[Detection, Any]],
    params: DetectorParams,
) -> list[Path]:
    """Stage the AOI's COGs: the detections (with their UTM outlines) burnt on its grid,
    255 where the AOI ends or its detector has no model yet."""
    # The detector proper (scipy) is imported when rasters are asked for.
    from monitor.detect import change_raster

    snapshot = store.get_detector_state(aoi.id)
    assert snapshot is not None  # _stale_state has just found it
    state = DetectorState.from_arrays(snapshot.arrays)
    unknown = change_raster(state, params, outside=~aoi_mask(aoi)) == 255
    tags = {
        "AOI": aoi.id,
        "STATUS": data.status,
        "SINCE": data.since.isoformat() if data.since else "",
        "SIMULATED": "yes" if data.simulated else "no",
        "LIMITS": data.limits,
        "SOURCE": "monitor export: the exported detections burnt on the AOI grid",
    }
    return write_aoi_rasters(
        sink.staging,
        sink.folder,
        aoi.id,
        aoi.grid,
        burn_detections(pairs, aoi.grid, unknown),
        tags,
    )


def _evidence_chip(
    sink: _RasterSink, aoi: Aoi, det: Detection, scenes: Sequence[Scene], role: str
) -> tuple[Chip | None, str]:
    """The first of the evidence scenes (``_evidence_order``) whose chip can be read, or
    None with why the last one could not."""
    why = "no evidence scene recorded"
    for scene in _evidence_order(det, scenes, role):
        try:
            outcome = load_chip(
                scene,
                aoi,
                sink.cache,
                env=sink.gdal,
                min_clear_fraction=sink.settings.min_clear_fraction,
            )
        except MonitorError as exc:
            why = str(exc)
            continue
        if outcome.chip is not None:
            return outcome.chip, why
        why = f"{scene.id}: {outcome.reason}"
    return None, why


def _detection_image(
    sink: _RasterSink,
    det: Detection,
    role: str,
    chip: Chip,
    window: Grid,
    row0: int,
    col0: int,
) -> Path:
    """Stage the detection's true-colour ``role`` (before, after) image; its path."""
    path = detection_image_path(sink.folder, det, role)
    write_true_colour(
        sink.staging,
        path,
        true_colour(chip, window, row0, col0),
        window,
        {
            "DETECTION": det.id,
            "ROLE": role,
            "SCENE": chip.scene_id,
            "SCENE_DATETIME": chip.datetime.isoformat(),
            "STRETCH": "reflectance 0-0.3 linear to 1-255",
            "SIMULATED": "yes" if chip.simulated else "no",
        },
    )
    return path
