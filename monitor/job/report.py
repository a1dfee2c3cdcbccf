"""``monitor report``, the job's report step: what the HTML pages show."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.aoi import grid_mask
from monitor.config import Settings
from monitor.detect import STATED_LIMITS, stated_limits_note
from monitor.errors import (
    MissingState,
    ReadError,
)
from monitor.imagery import ChipCache, GdalSettings, load_chip
from monitor.job.common import (
    REPORTS_STEP,
    Echo,
    aois_of,
    lost_as_duplicate,
    reports_owed,
    reports_step,
    require_state,
    say_nothing,
    store_of,
)
from monitor.job.timeline import timeline_report_sections
from monitor.models import Aoi, Detection, Observation
from monitor.report import (
    INDEX_NAME,
    AoiReport,
    AoiSummary,
    EvidenceCollector,
    StatedSizes,
    aoi_page_name,
    clearest_per_month,
    write_aoi_page,
    write_index_page,
)
from monitor.runner import detector_params
from monitor.store import Store


@dataclass(frozen=True)
class ReportResult:
    """What a report step wrote: ``index.html``, the AOI pages (``monitor.report.AoiPage``:
    page, timelapse, sizes) and how long it took."""

    index: Path
    pages: tuple[Any, ...]
    seconds: float


def write_reports(
    settings: Settings, selectors: Sequence[str] = (), *, echo: Echo = say_nothing
) -> ReportResult:
    """``monitor report``: rewrite the HTML reports, whatever is owed.

    Writes ``<reports-dir>/<aoi-id>.html`` (and its timelapse) for every AOI of the state,
    or for the ``selectors`` given, and ``<reports-dir>/index.html`` listing every AOI of
    the state. Opens the state read-only and takes no lock: pages are replaced atomically.
    """
    require_state(settings)
    with store_of(settings, create=False) as store:
        only = None
        if selectors:
            known = {a.id for a in store.list_aois()}
            only = [a.id for a in aois_of(settings, selectors)]
            unknown = [aoi_id for aoi_id in only if aoi_id not in known]
            if unknown:
                raise MissingState(
                    f"AOI {', '.join(unknown)}: not in the state yet (run `monitor run` first)"
                )
        return _write_reports(settings, store, only, echo)


def owed_reports(settings: Settings, store: Store, echo: Echo) -> ReportResult | None:
    """The HTML reports owed, then the index: an AOI's page when it is owed (detections,
    reviews or claims stored since it was last written) or missing, every page when
    ``index.html`` is missing (a new reports folder); None when nothing was owed.

    A mark set by a review or claim while the pages are written (they take no lock) is
    cleared with the others: that page waits for the next mark.
    """

    aoi_ids = [a.id for a in store.list_aois()]
    folder = settings.reports_dir
    if not (folder / INDEX_NAME).exists():
        owed = aoi_ids
    else:
        marked = set(reports_owed(store, aoi_ids))
        owed = [i for i in aoi_ids if i in marked or not (folder / aoi_page_name(i)).exists()]
        if not owed:
            return None
    result = _write_reports(settings, store, owed, echo)
    store.clear_pending(REPORTS_STEP)
    for aoi_id in owed:
        store.clear_pending(reports_step(aoi_id))
    return result


def _write_reports(
    settings: Settings, store: Store, only: Sequence[str] | None, echo: Echo
) -> ReportResult:
    """Every AOI page of the state (or of ``only``), one AOI at a time, then the index."""
    from monitor.imagery import ChipCache, GdalSettings

    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    limits = StatedSizes(
        STATED_LIMITS.area_m2_p50,
        STATED_LIMITS.area_m2_p90,
        STATED_LIMITS.measured_on,
        stated_limits_note(),
    )
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
            summaries.append(
                AoiSummary.from_records(
                    aoi,
                    observations,
                    detections,
                    dict(info.coverage) if info else {},
                    page=name if (settings.reports_dir / name).exists() else None,
                    simulated=any(o.simulated for o in observations),
                )
            )
    index = write_index_page(
        summaries, settings.reports_dir, generated_at=now, limits_note=limits.note
    )
    return ReportResult(index, tuple(pages), time.monotonic() - started)


def _extra_report_sections(store: Store, aoi: Aoi, detector: Any) -> tuple[str, ...]:
    """HTML sections other modules add to an AOI page (escaped by them): the built-up
    timeline and the stored claim checks."""
    return timeline_report_sections(store, aoi, detector)


def _evidence_collector(
    aoi: Aoi,
    observations: Sequence[Observation],
    detections: Sequence[Detection],
    clearest: Mapping[str, Observation],
) -> EvidenceCollector:
    """The collector of the page's frames (``clearest``: the clearest used scene of each
    month) and of each detection's evidence, told which days were skipped as cloudy."""
    from monitor.report import EvidenceCollector

    cloudy = [
        o.datetime.astimezone(dt.UTC).date()
        for o in observations
        if o.status == "skipped" and not lost_as_duplicate(o)
    ]
    return EvidenceCollector(
        aoi.grid.shape,
        detections,
        lambda det: grid_mask(det.geometry, aoi.grid),
        {o.scene_id for o in clearest.values()},
        cloudy,
    )


def _read_evidence(
    settings: Settings,
    store: Store,
    aoi: Aoi,
    used: Sequence[Observation],
    collector: EvidenceCollector,
    cache: ChipCache,
    gdal: GdalSettings,
    echo: Echo,
) -> list[str]:
    """Every used chip into ``collector``, in date order: from the chip cache, or read
    again from its scene into a scratch cache removed afterwards (a report never grows the
    state). Returns the notes of scenes that could not be read again."""

    notes: list[str] = []
    read_again = 0
    with tempfile.TemporaryDirectory(prefix="monitor-report-") as scratch_dir:
        scratch = ChipCache(scratch_dir)
        for obs in used:
            chip = cache.load(aoi.id, aoi.grid, obs.scene_id)
            if chip is None:
                scene = store.get_scene(obs.scene_id, obs.collection)
                if scene is None:
                    notes.append(f"scene {obs.scene_id} is not in the state")
                    continue
                try:
                    outcome = load_chip(
                        scene,
                        aoi,
                        scratch,
                        env=gdal,
                        min_clear_fraction=settings.min_clear_fraction,
                    )
                except ReadError as exc:
                    notes.append(f"scene {obs.scene_id} could not be read again: {exc}")
                    continue
                chip = outcome.chip
                if chip is None:
                    notes.append(f"scene {obs.scene_id} could not be read again: {outcome.reason}")
                    continue
                read_again += 1
                # Keep the sidecar (the offset check of later scenes reads its dark level).
                scratch.paths(aoi.id, aoi.grid, obs.scene_id)[0].unlink(missing_ok=True)
            collector.add(
                obs.datetime.astimezone(dt.UTC).date(),
                obs.scene_id,
                chip.reflectance,
                chip.valid,
                chip.bands,
                obs.clear_fraction,
            )
            del chip
    if read_again:
        echo(f"  {aoi.id}: {read_again} chip(s) not in the cache were read again for the report")
    for note in notes:
        echo(f"  {aoi.id}: {note}")
    return notes


def _scene_links(
    store: Store,
    observations: Sequence[Observation],
    detections: Sequence[Detection],
    clearest: Mapping[str, Observation],
) -> dict[str, str | None]:
    """The STAC item of every scene the page names (frames, evidence), None when unknown."""
    collections = {o.scene_id: o.collection for o in observations}
    wanted = {o.scene_id for o in clearest.values()} | {
        s for d in detections for s in (*d.evidence_before, *d.evidence_after)
    }
    links: dict[str, str | None] = {}
    for scene_id in sorted(wanted):
        scene = store.get_scene(scene_id, collections.get(scene_id))
        links[scene_id] = scene.item_href if scene is not None else None
    return links


def _aoi_report(
    settings: Settings,
    store: Store,
    aoi: Aoi,
    cache: ChipCache,
    gdal: GdalSettings,
    limits: StatedSizes,
    now: dt.datetime,
    echo: Echo,
) -> AoiReport:
    """What one AOI page shows (``monitor.report.AoiReport``), from the store and the chips.

    Every used chip is read once (see :func:`_read_evidence`). The clearest used scene of
    each month becomes a frame; each detection gets crops of its last clear view before and
    first after its change window and its indices on every used scene.
    """

    # The timeline first, before any imagery is held: it loads the AOI's whole detector
    # state (Mae Sot: 150 MB, about 450 MB at its peak), all freed once its HTML is made.
    # After the chips, it lifted Mae Sot's report from 260 to 820 MB RSS.
    extra_sections = _extra_report_sections(store, aoi, detector_params(settings))
    observations = store.observations(aoi.id)
    used = [o for o in observations if o.status == "used"]
    detections = store.detections(aoi_id=aoi.id)
    info = store.get_detector_state(aoi.id, with_arrays=False)
    clearest = clearest_per_month(observations)
    collector = _evidence_collector(aoi, observations, detections, clearest)
    notes = _read_evidence(settings, store, aoi, used, collector, cache, gdal, echo)
    links = _scene_links(store, observations, detections, clearest)
    return AoiReport(
        aoi=aoi,
        observations=tuple(observations),
        detections=tuple(detections),
        limits=limits,
        generated_at=now,
        coverage=dict(info.coverage) if info is not None else {},
        frames=tuple(sorted(collector.frames, key=lambda f: f.date)),
        evidence=collector.evidence(),
        scene_links=links,
        simulated=any(o.simulated for o in observations) or any(d.simulated for d in detections),
        extra_sections=extra_sections,
        notes=tuple(notes),
    )
