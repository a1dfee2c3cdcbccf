"""The built-up timeline of stored states: its CSV export, ``monitor claim``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, assert_never

import numpy as np
import numpy.typing as npt

from monitor.aoi import aoi_mask, grid_mask, to_utm
from monitor.aoi.validate import geometry_from_geojson
from monitor.config import Settings
from monitor.detect.claims import Claim, ClaimCheck, ClaimRule, broken_rule, why_area_note
from monitor.detect.claims import check_claim as judge
from monitor.detect.history import PixelHistory, pixel_history
from monitor.detect.params import DetectorParams, day_number
from monitor.detect.readout import held_back
from monitor.detect.state import NO_DAY, DetectorState
from monitor.detect.timeline import BuiltTimeline
from monitor.detect.timeline import built_timeline as timeline_of
from monitor.errors import (
    InputError,
    MissingState,
    MonitorError,
)
from monitor.export import check_target
from monitor.export.timeline import AoiTimelineRows, write_timeline_csv
from monitor.job.common import aois_of, reports_step, require_state, store_of
from monitor.models import Aoi, Detection
from monitor.report.timeline import claims_section_html, timeline_section_html
from monitor.runner import detector_params
from monitor.store import Store


@dataclass(frozen=True)
class AoiTimeline:
    """One AOI's built-up timeline (``monitor.detect.timeline.BuiltTimeline``)."""

    aoi: Aoi
    timeline: BuiltTimeline
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
    """``monitor claim``: the check (``monitor.detect.claims.ClaimCheck``), the AOI, the
    zone, the roof-removing detections that date it, and the stored record's id."""

    aoi: Aoi
    check: ClaimCheck
    zone: str | None
    zone_area_m2: float | None
    detections: tuple[Detection, ...]
    simulated: bool
    claim_id: int
    notes: tuple[str, ...]


def _state_history(
    store: Store, aoi: Aoi, detector: DetectorParams
) -> tuple[PixelHistory, int | None]:
    """The AOI's per-pixel roof history (``PixelHistory``) and the median day its pixels
    were first modelled, from its stored detector state built with ``detector``
    (``DetectorParams``); MonitorError when there is none."""
    snapshot = store.get_detector_state(aoi.id)
    if snapshot is None or not snapshot.n_scenes:
        raise MissingState(
            f"AOI {aoi.id}: the detector has seen no scene of it yet (run `monitor run` first)"
        )
    if snapshot.geometry_hash != aoi.geometry_hash:
        raise MissingState(
            f"AOI {aoi.id}: its outline changed since the detector last ran "
            "(run `monitor run` or `monitor rebuild` first)"
        )
    state = DetectorState.from_arrays(snapshot.arrays)
    # The stored (narrowed) copies are no longer needed: about 107 MB for Mae Sot's
    # 500 x 534 grid, held through pixel_history's own peak otherwise.
    del snapshot
    # Changes the verification keeps probable count as possible, as the detections say.
    held = held_back(state, grid=aoi.grid, params=detector)
    history = pixel_history(
        state, pixel_area_m2=aoi.grid.res_m**2, detector=detector, held_back=held
    )
    fitted = state["fit_day"][state["fit_day"] != NO_DAY]
    return history, int(np.median(fitted)) if fitted.size else None


def _aoi_of_state(settings: Settings, store: Store, selector: str) -> Aoi:
    """The AOI a selector names (an id, or an AOI file), as the state holds it."""
    aoi: Aoi | None = store.get_aoi(selector)
    if aoi is None and Path(selector).suffix.lower() in (".geojson", ".json"):
        aoi = store.get_aoi(aois_of(settings, [selector])[0].id)
    if aoi is None:
        known = ", ".join(a.id for a in store.list_aois()) or "none"
        raise MissingState(
            f"--aoi {selector}: not an AOI of the state in {settings.state_dir} (known: {known})"
        )
    return aoi


def _aoi_timeline(
    store: Store, aoi: Aoi, detector: DetectorParams, mask: npt.NDArray[np.bool_] | None = None
) -> AoiTimeline:

    history, first_modelled = _state_history(store, aoi, detector)
    observations = store.observations(aoi.id)
    # Months whose scenes were all skipped as too cloudy are gaps too.
    days = [day_number(o.datetime) for o in observations if o.status in ("used", "skipped")]
    timeline = timeline_of(
        history,
        aoi_mask(aoi) if mask is None else mask,
        first_modelled_day=first_modelled,
        span=(min(days), max(days)) if days else None,
    )
    simulated = any(o.simulated for o in observations if o.status == "used")
    return AoiTimeline(aoi, timeline, simulated)


def built_timeline(settings: Settings, selectors: Sequence[str] = ()) -> list[AoiTimeline]:
    """The built-up timeline of each AOI of the state (or of ``selectors``), from the
    detector's stored per-pixel state: roofed area per clear month with its band, the area
    newly roofed and demolished, and gap months (docs/timeline.md). Reads no imagery.

    AOIs the detector has not seen yet are left out (``export_timeline`` names them).
    """
    return _timelines(settings, selectors)[0]


def _timelines(settings: Settings, selectors: Sequence[str]) -> tuple[list[AoiTimeline], list[str]]:

    require_state(settings)
    detector = detector_params(settings)
    out: list[AoiTimeline] = []
    skipped: list[str] = []
    with store_of(settings, create=False) as store:
        aois = (
            [_aoi_of_state(settings, store, s) for s in selectors]
            if selectors
            else store.list_aois()
        )
        for aoi in aois:
            try:
                out.append(_aoi_timeline(store, aoi, detector))
            except MonitorError as exc:
                if selectors:
                    raise
                skipped.append(f"{aoi.id}: {exc}")
    return out, skipped


def export_timeline(
    settings: Settings, selectors: Sequence[str] = (), *, out: Path, overwrite: bool = False
) -> TimelineExport:
    """``monitor export --format timeline``: the built-up timelines as CSV (one row per AOI
    and month; gap months have empty figures, never zeros)."""

    check_target(out, overwrite=overwrite)
    timelines, skipped = _timelines(settings, selectors)
    n = write_timeline_csv(
        [AoiTimelineRows(t.aoi.id, t.timeline, t.simulated) for t in timelines],
        out,
        overwrite=overwrite,
    )
    return TimelineExport(
        out,
        n,
        tuple(t.aoi.id for t in timelines),
        tuple(skipped),
        any(t.simulated for t in timelines),
    )


def _read_zone(path: Path, aoi: Aoi) -> tuple[Any, npt.NDArray[np.bool_], float]:
    """The zone file's polygon (lon/lat), its pixels on the AOI grid and its area in m2.

    One-line MonitorError when the file is not a GeoJSON polygon in lon/lat, or the zone
    lies (partly) outside the AOI or holds no pixel centre.
    """
    import shapely

    where = f"--zone {path}"
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: cannot read it: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not JSON: {exc.msg} at line {exc.lineno}") from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
        if not isinstance(features, list) or not features:
            raise InputError(f"{where}: a FeatureCollection without features")
        geometries = [f.get("geometry") if isinstance(f, dict) else None for f in features]
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        geometries = [doc.get("geometry")]
    else:
        geometries = [doc]
    try:
        shapes = [
            geometry_from_geojson(g, where, f"zone {i + 1}") for i, g in enumerate(geometries)
        ]
    except MonitorError as exc:
        raise InputError(str(exc)) from None
    zone = shapely.union_all(shapes)
    zone_utm = to_utm(zone, aoi.grid.epsg)
    aoi_utm = to_utm(aoi.geometry, aoi.grid.epsg)
    outside = zone_utm.difference(aoi_utm).area
    if outside > 0.01 * zone_utm.area + 1.0:
        share = 100.0 * outside / zone_utm.area
        raise InputError(
            f"{where}: {share:.0f} % of the zone lies outside AOI {aoi.id}; draw it within the AOI"
        )
    mask = grid_mask(zone, aoi.grid) & aoi_mask(aoi)
    if not mask.any():
        raise InputError(f"{where}: the zone holds no pixel centre of AOI {aoi.id}'s grid")
    return zone, mask, float(zone_utm.area)


#: Change types whose detections date a removal of roofs.
_REMOVING = ("demolition", "rebuilding")


def _flag_words(
    rule: ClaimRule,
    *,
    by: dt.date,
    demolished: int | None,
    total: int | None,
    built_area_m2: float | None,
    since: dt.date | None,
) -> str:
    """What is wrong with the claim's flags, in their words, for the rule they break."""
    match rule:
        case "both":
            return "give --demolished N --total M, or --built-area A, not both"
        case "neither":
            return "give the claim: --demolished N --total M, or --built-area A"
        case "pair":
            return "--demolished and --total go together"
        case "total":
            return f"--total {total}: at least 1 building"
        case "demolished":
            return f"--demolished {demolished}: not a number of buildings"
        case "exceeds":
            return f"--demolished {demolished} is more than --total {total}"
        case "area":
            return f"--built-area {built_area_m2}: not an area in m²"
        case "since":
            return f"--since {since} is not before --by {by}"
        case _:
            assert_never(rule)


def _check_claim_flags(
    *,
    by: dt.date,
    demolished: int | None,
    total: int | None,
    built_area_m2: float | None,
    since: dt.date | None,
) -> None:
    """Raise InputError, in the flags' words, for the first rule the claim's figures break
    (``monitor.detect.claims.broken_rule``), before the state is opened."""
    rule = broken_rule(
        by=by, demolished=demolished, total=total, built_area_m2=built_area_m2, since=since
    )
    if rule is not None:
        raise InputError(
            _flag_words(
                rule,
                by=by,
                demolished=demolished,
                total=total,
                built_area_m2=built_area_m2,
                since=since,
            )
        )


def _dating_detections(
    store: Store, aoi: Aoi, check: ClaimCheck, zone_geometry: Any
) -> list[Detection]:
    """The confirmed and probable roof-removing detections that may date the claim's
    removal: first seen after the baseline, window begun before the claim's day, in the
    zone."""
    by = check.claim.by
    dating = []
    for det in store.detections(aoi_id=aoi.id, status=("confirmed", "probable")):
        if det.change_type not in _REMOVING:
            continue
        if not (check.baseline_on < det.first_seen and det.window_start < by):
            continue
        if zone_geometry is not None and not det.geometry.intersects(zone_geometry):
            continue
        dating.append(det)
    return dating


def _claim_notes(check: ClaimCheck) -> list[str]:
    """What the check cannot see: changes before the model, pixels that cannot be told."""
    notes = []
    if check.baseline_on < check.modelled_from:
        notes.append(
            f"changes before {check.modelled_from} (while the detector was "
            "learning each pixel's seasons) are not seen"
        )
    if check.unknown_pixels:
        notes.append(
            f"{check.unknown_pixels} of {check.pixels} pixels cannot be told "
            "(not modelled, or no spectral mixture fits them): counted as "
            "anything from no roof to all roof"
        )
    return notes


def _claim_record(claim: Claim, zone: Path | None, zone_geometry: Any) -> dict[str, Any]:
    """The claim as the store records it (``monitor.detect.claims.Claim`` and its zone)."""
    from shapely.geometry import mapping

    return {
        "demolished": claim.demolished,
        "total": claim.total,
        "built_area_m2": claim.built_area_m2,
        "by": claim.by.isoformat(),
        "since": claim.since.isoformat() if claim.since else None,
        "zone": str(zone) if zone is not None else None,
        "zone_geometry": mapping(zone_geometry) if zone_geometry is not None else None,
    }


def _claim_result(
    check: ClaimCheck,
    dating: Sequence[Detection],
    *,
    simulated: bool,
    notes: Sequence[str],
    zone_area: float | None,
) -> dict[str, Any]:
    """The check as the store records it: its figures, the dating detections, the notes."""

    result: dict[str, Any] = check.to_dict()
    result.update(
        {
            "detections": [
                {
                    "id": d.id,
                    "change_type": d.change_type,
                    "status": d.status,
                    "window_start": d.window_start.isoformat(),
                    "first_seen": d.first_seen.isoformat(),
                    "confirmed_on": d.confirmed_on.isoformat() if d.confirmed_on else None,
                    "area_m2": d.area_m2,
                }
                for d in dating
            ],
            "simulated": simulated,
            "notes": list(notes),
            "why_area": why_area_note(),
            "zone_area_m2": zone_area,
            "lines": check.lines(),
        }
    )
    return result


@dataclass(frozen=True)
class _ClaimArea:
    """Where a claim is judged: the pixels (the AOI's, or a zone's on its grid), and the
    zone's polygon (lon/lat) and area in m2 when one was given."""

    mask: npt.NDArray[np.bool_]
    zone_geometry: Any
    zone_area_m2: float | None


def _claim_area(aoi: Aoi, zone: Path | None) -> _ClaimArea:
    """The AOI's pixels, or those of the zone file; one-line InputError for a bad zone."""
    if zone is None:
        return _ClaimArea(aoi_mask(aoi), None, None)
    zone_geometry, mask, zone_area = _read_zone(zone, aoi)
    return _ClaimArea(mask, zone_geometry, zone_area)


def _judged(
    history: PixelHistory,
    claim: Claim,
    mask: npt.NDArray[np.bool_],
    first_modelled: int | None,
) -> ClaimCheck:
    """The check of ``claim`` on ``mask``'s pixels; InputError, naming ``--by``, when the
    history cannot answer it (no clear observation before the claim's day, or none between
    the baseline and it)."""
    try:
        return judge(history, claim, mask, first_modelled_day=first_modelled)
    except ValueError as exc:
        raise InputError(f"--by {claim.by}: {exc}") from None


def check_claim(
    settings: Settings,
    aoi_id: str,
    *,
    by: dt.date,
    demolished: int | None = None,
    total: int | None = None,
    built_area_m2: float | None = None,
    since: dt.date | None = None,
    zone: Path | None = None,
    now: dt.datetime | None = None,
) -> ClaimOutcome:
    """``monitor claim``: test "N of M buildings demolished by D" (or "A m² roofed on D")
    against the roofed area Sentinel-2 measured, and store the check for the AOI's report.

    The verdict rules and what they assume are in docs/timeline.md. Bad input (unknown AOI,
    N > M, a date before any clear observation, a zone outside the AOI) is a one-line
    MonitorError and stores nothing.
    """
    _check_claim_flags(
        by=by, demolished=demolished, total=total, built_area_m2=built_area_m2, since=since
    )
    require_state(settings)
    with store_of(settings, create=False) as store:
        aoi = _aoi_of_state(settings, store, aoi_id)
        area = _claim_area(aoi, zone)
        history, first_modelled = _state_history(store, aoi, detector_params(settings))
        claim = Claim(
            by=by, demolished=demolished, total=total, built_area_m2=built_area_m2, since=since
        )
        check = _judged(history, claim, area.mask, first_modelled)
        dating = _dating_detections(store, aoi, check, area.zone_geometry)
        simulated = any(o.simulated for o in store.observations(aoi.id, status="used"))
        notes = _claim_notes(check)
        result = _claim_result(
            check, dating, simulated=simulated, notes=notes, zone_area=area.zone_area_m2
        )
        record_claim = _claim_record(claim, zone, area.zone_geometry)
        claim_id = store.put_claim(aoi.id, now or dt.datetime.now(dt.UTC), record_claim, result)
        # The AOI's report shows claim checks: owed from now on.
        store.mark_pending(reports_step(aoi.id), None)
    return ClaimOutcome(
        aoi,
        check,
        str(zone) if zone is not None else None,
        area.zone_area_m2,
        tuple(dating),
        simulated,
        claim_id,
        tuple(notes),
    )


def timeline_report_sections(store: Store, aoi: Aoi, detector: DetectorParams) -> tuple[str, ...]:
    """The AOI page's built-up timeline and claim checks (already-escaped HTML), for
    ``_extra_report_sections``. An AOI the detector has not seen yet gets a line saying so."""

    try:
        timeline: BuiltTimeline | str = _aoi_timeline(store, aoi, detector).timeline
    except MonitorError as exc:
        timeline = str(exc)
    return (timeline_section_html(timeline), claims_section_html(store.claims(aoi.id)))
