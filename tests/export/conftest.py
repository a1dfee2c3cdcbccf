"""Detections built in code for the exporters: pixel outlines on a real AOI grid (so areas
can be checked against UTM), a review with hostile text, a polygon with a hole and a
multipolygon, observations, runs and evidence scenes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pytest
import shapely
from shapely.geometry import box

from monitor.aoi import to_wgs84
from monitor.export import ExportData
from monitor.models import Aoi, Detection, Grid, Review, RunSummary
from tests.store.factories import make_aoi, make_observation, make_scene

UTC = dt.UTC
#: Text that must reach every reader escaped, never as markup.
HOSTILE = '<script>alert("x")</script> & <b>bold</b> "quoted" \u00e9t\u00e9'


def cells_polygon(grid: Grid, cells: Iterable[tuple[int, int]]) -> Any:
    """The outline of grid cells (row, col), in EPSG:4326."""
    boxes = [
        box(
            grid.left + c * grid.res_m,
            grid.top - (r + 1) * grid.res_m,
            grid.left + (c + 1) * grid.res_m,
            grid.top - r * grid.res_m,
        )
        for r, c in cells
    ]
    return to_wgs84(shapely.union_all(boxes), grid.epsg)


def block(row: int, col: int, rows: int, cols: int) -> list[tuple[int, int]]:
    return [(r, c) for r in range(row, row + rows) for c in range(col, col + cols)]


def make_detection(
    det_id: str, aoi: Aoi, cells: list[tuple[int, int]], **changes: Any
) -> Detection:
    first = changes.pop("first_seen", dt.date(2025, 11, 14))
    values: dict[str, Any] = dict(
        id=det_id,
        aoi=aoi.id,
        change_type="demolition",
        status="confirmed",
        first_seen=first,
        window_start=first - dt.timedelta(days=5),
        window_end=first,
        area_m2=100.0 * len(cells),
        n_pixels=len(cells),
        confidence=0.912,
        n_obs=7,
        geometry=cells_polygon(aoi.grid, cells),
        confirmed_on=first + dt.timedelta(days=12),
        evidence_before=("S2B_before_1",),
        evidence_after=("S2C_after_1", "S2A_gone"),
        simulated=False,
    )
    values.update(changes)
    return Detection(**values)


@pytest.fixture
def aoi() -> Aoi:
    return make_aoi("kk-park", name=f"KK Park {HOSTILE}")


@pytest.fixture
def detections(aoi: Aoi) -> list[Detection]:
    review = Review(
        detection_id="a1",
        verdict="verified",
        reviewer="desk <analyst>",
        reviewed_at=dt.datetime(2025, 12, 1, 10, 30, tzinfo=UTC),
        note=HOSTILE,
        source="https://example.org/photo?id=1&x=<y>",
    )
    ring = [cell for cell in block(20, 20, 5, 5) if cell != (22, 22)]
    return [
        make_detection("a1", aoi, block(10, 10, 3, 4), review=review),
        make_detection(
            "b2",
            aoi,
            ring,
            change_type="new_construction",
            status="probable",
            confirmed_on=None,
            first_seen=dt.date(2025, 12, 4),
            confidence=0.61,
        ),
        make_detection(
            "c3",
            aoi,
            block(40, 40, 2, 2) + block(45, 50, 3, 3),
            change_type="roof_change",
            first_seen=dt.date(2026, 1, 5),
        ),
        make_detection(
            "d4",
            aoi,
            block(60, 5, 4, 2),
            change_type="land_clearing",
            status="rejected",
            confirmed_on=None,
            confidence=0.35,
        ),
    ]


@pytest.fixture
def export_data(aoi: Aoi, detections: list[Detection]) -> ExportData:
    scenes = {
        "S2B_before_1": make_scene("S2B_before_1", dt.datetime(2025, 11, 9, 3, 56, tzinfo=UTC)),
        "S2C_after_1": make_scene(
            "S2C_after_1",
            dt.datetime(2025, 11, 14, 3, 56, tzinfo=UTC),
            item_href="/not/an/url/S2C_after_1.json",
        ),
    }
    observations = [
        make_observation(scenes["S2B_before_1"], aoi.id),
        make_observation(
            scenes["S2C_after_1"],
            aoi.id,
            status="skipped",
            reason="AOI 4% clear (< 10%)",
            clear_fraction=0.04,
        ),
        make_observation(
            make_scene("S2A_failed", dt.datetime(2025, 12, 2, 3, 56, tzinfo=UTC)),
            aoi.id,
            status="failed",
            reason="HTTP 503 after 4 tries",
            clear_fraction=None,
            attempts=2,
        ),
    ]
    runs = [
        RunSummary(2, "run", dt.datetime(2025, 12, 3, 1, 0, tzinfo=UTC), None, None),
        RunSummary(
            1,
            "run",
            dt.datetime(2025, 12, 2, 1, 0, tzinfo=UTC),
            dt.datetime(2025, 12, 2, 1, 5, tzinfo=UTC),
            3,
            counts={"used": 40, "skipped": 12, "failed": 1},
            errors=("kk-park: 1 scene(s) failed; retried next run",),
        ),
    ]
    return ExportData(
        detections=detections,
        aois=[aoi],
        observations=observations,
        runs=runs,
        scenes=scenes,
        status="all",
        limits="Stated limits: 10 m pixels.",
    )
