"""A synthetic AOI report built in code: chips as arrays, records as dataclasses.

Two detections on a 40-odd px AOI: a confirmed demolition (roofs become bare soil after
``CHANGE_DAY``) and a probable new construction whose evidence names an item id that is
markup (``EVIL_ID``) with a ``javascript:`` href. The AOI's name, description and sources
hold markup too. The chips go through ``EvidenceCollector`` as ``monitor.job`` feeds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from monitor.aoi import aoi_from_geojson, grid_mask, to_wgs84
from monitor.models import CHIP_BANDS, Aoi, Detection, Grid, Observation, ReflectanceRule, Review
from monitor.report import AoiReport, EvidenceCollector, StatedSizes, clearest_per_month

EVIL_ID = "<img src=x onerror=alert(1)>"
EVIL_HREF = "javascript:alert(1)"
EVIL_NAME = "Park <script>alert('name')</script> & <b>co</b>"
CHANGE_DAY = dt.date(2025, 4, 12)
#: Reflectance of (blue, green, red, nir, swir16, swir22) for the covers used.
ROOF = (0.16, 0.18, 0.20, 0.26, 0.31, 0.28)
SOIL = (0.09, 0.12, 0.16, 0.24, 0.33, 0.26)
GRASS = (0.03, 0.06, 0.04, 0.36, 0.18, 0.09)
LIMITS = StatedSizes(
    1400.0,
    3600.0,
    "simulator seed 2",
    "Structures of about 1,400 m² ... "
    "rooftop equipment such as Starlink dishes (about 0.5 m) is invisible.",
)

AOI_FEATURE = {
    "type": "Feature",
    "properties": {
        "id": "synth-aoi",
        "name": EVIL_NAME,
        "kind": "compound",
        "description": "<img src=y onerror=alert('desc')> a test outline",
        "sources": [
            {
                "title": "<i>Report</i>",
                "url": "https://example.org/src?a=1&b=2",
                "note": "<b>note</b>",
            }
        ],
    },
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [98.566, 16.624],
                [98.570, 16.624],
                [98.570, 16.628],
                [98.566, 16.628],
                [98.566, 16.624],
            ]
        ],
    },
}


def encode(reflectance: Sequence[float]) -> npt.NDArray[np.uint16]:
    """Chip encoding of one reflectance per band."""
    return np.round((np.asarray(reflectance) + 0.1) / 1e-4).astype(np.uint16)


def box_polygon(grid: Grid, rows: tuple[int, int], cols: tuple[int, int]) -> object:
    """The EPSG:4326 polygon of grid pixels rows[0]:rows[1], cols[0]:cols[1]."""
    left = grid.left + cols[0] * grid.res_m
    right = grid.left + cols[1] * grid.res_m
    top = grid.top - rows[0] * grid.res_m
    bottom = grid.top - rows[1] * grid.res_m
    return to_wgs84(shapely.box(left, bottom, right, top), grid.epsg)


@dataclass(frozen=True)
class Synthetic:
    aoi: Aoi
    report: AoiReport
    dates: tuple[dt.date, ...]
    used_ids: tuple[str, ...]
    frame_ids: tuple[str, ...]
    demolition: Detection
    construction: Detection


def scene_id_of(day: dt.date) -> str:
    return f"S2B_T47QMU_{day:%Y%m%d}T035629_L2A"


def build(
    *,
    simulated: bool = True,
    review: Review | None = None,
    extra_sections: tuple[str, ...] = (),
    masks_as_function: bool = False,
) -> Synthetic:
    """The synthetic report (see the module docstring). ``masks_as_function``: the
    collector is handed a function making each detection's mask, not a mapping of them."""
    aoi = aoi_from_geojson(AOI_FEATURE, where="synthetic", path="/tmp/<aoi>.geojson")
    grid = aoi.grid
    # Two acquisitions a month, January to August 2025; the 20th of June and of July cloudy.
    days = [dt.date(2025, month, day) for month in range(1, 9) for day in (6, 21)]
    cloudy = {dt.date(2025, 6, 21), dt.date(2025, 7, 21)}
    used_days = [d for d in days if d not in cloudy]
    ids = {d: scene_id_of(d) for d in days}
    ids[dt.date(2025, 5, 6)] = EVIL_ID  # an item id that is markup, used and evidence
    demolition_rows, demolition_cols = (10, 16), (10, 17)
    construction_rows, construction_cols = (25, 29), (25, 30)
    before_day = max(d for d in used_days if d < CHANGE_DAY)
    after_day = min(d for d in used_days if d > CHANGE_DAY)
    demolition = Detection(
        id="aaaa000000000001",
        aoi=aoi.id,
        change_type="demolition",
        status="confirmed",
        first_seen=after_day,
        window_start=before_day,
        window_end=after_day,
        area_m2=42 * 100.0,
        n_pixels=42,
        confidence=0.93,
        n_obs=6,
        geometry=box_polygon(grid, demolition_rows, demolition_cols),
        confirmed_on=dt.date(2025, 5, 21),
        evidence_before=(ids[before_day],),
        evidence_after=(ids[after_day], ids[dt.date(2025, 5, 6)]),
        simulated=simulated,
        review=review,
    )
    construction = Detection(
        id="bbbb000000000002",
        aoi=aoi.id,
        change_type="new_construction",
        status="probable",
        first_seen=dt.date(2025, 5, 6),
        window_start=dt.date(2025, 4, 21),
        window_end=dt.date(2025, 5, 6),
        area_m2=2000.0,
        n_pixels=20,
        confidence=0.6,
        n_obs=2,
        geometry=box_polygon(grid, construction_rows, construction_cols),
        evidence_before=(ids[dt.date(2025, 4, 21)],),
        evidence_after=(EVIL_ID,),
        simulated=simulated,
    )
    detections = (demolition, construction)
    rule = ReflectanceRule()
    observations = tuple(
        Observation(
            aoi_id=aoi.id,
            scene_id=ids[d],
            acquisition=f"acq-{d}",
            datetime=dt.datetime.combine(d, dt.time(3, 56), dt.UTC),
            collection="sentinel-2-c1-l2a",
            status="skipped" if d in cloudy else "used",
            reason="AOI 3% clear by SCL (< 10%)" if d in cloudy else "",
            clear_fraction=0.03 if d in cloudy else 0.6 + 0.02 * d.day % 0.4,
            rule=rule,
            simulated=simulated,
        )
        for d in days
    )
    clearest = clearest_per_month(observations)
    masks = {det.id: grid_mask(det.geometry, grid) for det in detections}
    collector = EvidenceCollector(
        grid.shape,
        detections,
        (lambda det: grid_mask(det.geometry, grid)) if masks_as_function else masks,
        {o.scene_id for o in clearest.values()},
        sorted(cloudy),
    )
    for obs in observations:
        if obs.status != "used":
            continue
        day = obs.datetime.date()
        cube = np.empty((len(CHIP_BANDS), *grid.shape), dtype=np.uint16)
        cube[:] = encode(GRASS)[:, None, None]
        r0, r1 = demolition_rows
        c0, c1 = demolition_cols
        cube[:, r0:r1, c0:c1] = encode(ROOF if day < CHANGE_DAY else SOIL)[:, None, None]
        if day >= dt.date(2025, 5, 6):
            r0, r1 = construction_rows
            c0, c1 = construction_cols
            cube[:, r0:r1, c0:c1] = encode(ROOF)[:, None, None]
        cube[:, :, :2] = 0  # a strip of no data on the west edge
        valid = cube[0] > 0
        if day == dt.date(2025, 3, 21):
            valid[demolition_rows[0] : demolition_rows[1], :] = False  # cloud over the roofs
        collector.add(day, obs.scene_id, cube, valid, CHIP_BANDS, obs.clear_fraction)
    links = {obs.scene_id: f"https://example.org/items/{obs.scene_id}" for obs in observations}
    links[EVIL_ID] = EVIL_HREF
    links[ids[dt.date(2025, 4, 21)]] = "/data/archive/items/local item.json"
    report = AoiReport(
        aoi=aoi,
        observations=observations,
        detections=detections,
        limits=LIMITS,
        generated_at=dt.datetime(2025, 9, 1, 12, 0, tzinfo=dt.UTC),
        coverage={
            "modelled_fraction": 0.97,
            "gaps": [{"start": "2025-06-06", "end": "2025-07-06", "days": 30}],
            "notes": [
                "no clear observation 2025-06-06 → 2025-07-06",
                "not enough clear observations to model 3.0 % of the AOI",
            ],
        },
        frames=tuple(sorted(collector.frames, key=lambda f: f.date)),
        evidence=collector.evidence(),
        scene_links=links,
        simulated=simulated,
        extra_sections=extra_sections,
    )
    return Synthetic(
        aoi,
        report,
        tuple(days),
        tuple(ids[d] for d in used_days),
        tuple(o.scene_id for o in clearest.values()),
        demolition,
        construction,
    )
