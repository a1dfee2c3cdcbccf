"""``monitor export``: stored detections (and rasters) to GIS formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config import Settings
from monitor.errors import (
    InputError,
    MissingState,
    MonitorError,
)
from monitor.job.common import aois_of, require_state, store_of
from monitor.models import Aoi, Detection, Scene

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
    store: Any, status: str, *, since: dt.date | None = None, aoi_ids: Iterable[str] | None = None
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
            aoi_id = aois_of(settings, [selector])[0].id
        if aoi_id is None or aoi_id not in stored:
            raise MissingState(
                f"--aoi {selector}: no such AOI in the state "
                f"{settings.state_dir} (it has: {', '.join(stored) or 'none'})"
            )
        chosen[aoi_id] = stored[aoi_id]
    return list(chosen.values())


def _evidence_scenes(store: Any, detections: Sequence[Detection]) -> dict[str, Scene]:
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


def _export_rasters(
    settings: Settings, store: Any, data: Any, folder: Path, staging: Any
) -> tuple[list[Path], list[str]]:
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

    params = detector_params(settings)
    version = detector_version(params)
    cache = ChipCache(settings.state_dir)
    gdal = GdalSettings.from_settings(settings)
    sim = "yes" if data.simulated else "no"
    written: list[Path] = []
    notes: list[str] = []
    for aoi in data.aois:
        info = store.get_detector_state(aoi.id, with_arrays=False)
        if (
            info is None
            or info.geometry_hash != aoi.geometry_hash
            or info.detector_version != version
        ):
            why = (
                "no detector state"
                if info is None
                else "its detector state is of an earlier outline"
                if info.geometry_hash != aoi.geometry_hash
                else "its detector state is of an earlier detector"
            )
            notes.append(
                f"{aoi.id}: {why}: no rasters (run `monitor rebuild --aoi {aoi.id}` first)"
            )
            continue
        state = DetectorState.from_arrays(store.get_detector_state(aoi.id).arrays)
        unknown = change_raster(state, params, outside=~aoi_mask(aoi)) == 255
        pairs = [(d, to_utm(d.geometry, aoi.grid.epsg)) for d in data.detections if d.aoi == aoi.id]
        tags = {
            "AOI": aoi.id,
            "STATUS": data.status,
            "SINCE": data.since.isoformat() if data.since else "",
            "SIMULATED": sim,
            "LIMITS": data.limits,
            "SOURCE": "monitor export: the exported detections burnt on the AOI grid",
        }
        written += write_aoi_rasters(
            staging, folder, aoi.id, aoi.grid, burn_detections(pairs, aoi.grid, unknown), tags
        )
        for det, geometry in pairs:
            window, row0, col0 = detection_window(geometry, aoi.grid)
            for role, ids in (("before", det.evidence_before), ("after", det.evidence_after)):
                scenes = [data.scenes[i] for i in ids if i in data.scenes]
                chip, why = None, "no evidence scene recorded"
                for scene in _evidence_order(det, scenes, role):
                    try:
                        outcome = load_chip(
                            scene,
                            aoi,
                            cache,
                            env=gdal,
                            min_clear_fraction=settings.min_clear_fraction,
                        )
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
                write_true_colour(
                    staging,
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
                written.append(path)
    return written, notes
