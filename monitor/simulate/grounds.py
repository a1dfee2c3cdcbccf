"""The simulated grounds of an archive: AOIs grouped, each group's ground drawn with its changes.

AOIs whose grids lie within 1 km of each other share one simulated ground (kk-park-east is
read from kk-park's ground, not simulated twice); AOIs farther apart get their own ground.
A ground is the AOIs' grids plus ``MARGIN_M``, snapped to the tile's 20 m lattice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from shapely.geometry import box

from monitor.aoi.grid import grid_mask
from monitor.models import Aoi, Grid
from monitor.simulate.buildings import Settlement
from monitor.simulate.changes import ChangePlan, PlantedChange, plan_changes, plant_changes
from monitor.simulate.geography import RIVER_HALFWIDTH_WET_M, river_distance
from monitor.simulate.ground import Ground, build_ground
from monitor.simulate.groundworld import GroundDraw
from monitor.simulate.skyworld import seed_words

__all__ = [
    "MARGIN_M",
    "TILE_EPSG",
    "DEMO_BOXES",
    "GroundPlan",
    "group_aois",
    "plan_ground",
    "to_lonlat",
]

#: Margin around the AOIs' grids, metres: misregistration and blur never leave the raster.
MARGIN_M = 100.0
#: Tile 47QMU's CRS.
TILE_EPSG = 32647
#: Boxes of the demo AOIs (lon/lat): name, kind.
DEMO_BOXES: dict[str, tuple[tuple[float, float, float, float], str, str]] = {
    "kk-park": ((98.545, 16.615, 98.580, 16.645), "KK Park", "compound"),
    "kk-park-east": ((98.560, 16.620, 98.578, 16.636), "KK Park, eastern section", "compound"),
    "shwe-kokko": ((98.515, 16.800, 98.545, 16.845), "Shwe Kokko", "compound"),
    "mae-sot": ((98.550, 16.690, 98.600, 16.735), "Mae Sot", "control"),
}
_EAST_BOX = DEMO_BOXES["kk-park-east"][0]


@dataclass(frozen=True, eq=False)
class GroundPlan:
    """One simulated ground with the AOIs it shows, their masks on it, its planted changes."""

    ground: Ground
    number: int
    aois: list[Aoi]
    aoi_masks: dict[str, npt.NDArray[np.bool_]]
    changes: list[PlantedChange]


def to_lonlat(epsg: int) -> Transformer:
    """A transformer from a ground's CRS to lon/lat."""
    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)


def group_aois(aois: Sequence[Aoi]) -> list[list[Aoi]]:
    """AOIs whose grids come within 1 km of each other share a ground."""
    groups: list[list[Aoi]] = []
    boxes: list[tuple[float, float, float, float]] = []
    for aoi in sorted(aois, key=lambda a: -(a.grid.width * a.grid.height)):
        g = aoi.grid
        joined = None
        for i, (w, b, r, t) in enumerate(boxes):
            if (
                g.left < r + 1000
                and g.right > w - 1000
                and g.bottom < t + 1000
                and g.top > b - 1000
            ):
                joined = i
                break
        if joined is None:
            groups.append([aoi])
            boxes.append(g.bounds)
        else:
            groups[joined].append(aoi)
            w, b, r, t = boxes[joined]
            boxes[joined] = (min(w, g.left), min(b, g.bottom), max(r, g.right), max(t, g.top))
    return groups


def _ground_grid(aois: Sequence[Aoi]) -> Grid:
    """The grid of a ground showing ``aois``: their grids plus the margin, on the 20 m lattice."""
    left = min(a.grid.left for a in aois) - MARGIN_M
    bottom = min(a.grid.bottom for a in aois) - MARGIN_M
    right = max(a.grid.right for a in aois) + MARGIN_M
    top = max(a.grid.top for a in aois) + MARGIN_M
    # The tile's 20 m lattice: origin 399960 E, 1900020 N are multiples of 20 m.
    left, bottom = math.floor(left / 20) * 20, math.floor(bottom / 20) * 20
    right, top = math.ceil(right / 20) * 20, math.ceil(top / 20) * 20
    return Grid(
        epsg=TILE_EPSG,
        left=float(left),
        top=float(top),
        width=int(round((right - left) / 10)),
        height=int(round((top - bottom) / 10)),
    )


def _scenario_for(aoi: Aoi) -> str:
    """The scenario planted in an AOI, chosen by its id."""
    if aoi.id.startswith("kk-park-east"):
        return "kk-park-east"
    if aoi.id.startswith("kk-park"):
        return "kk-park"
    if aoi.id.startswith("shwe-kokko"):
        return "shwe-kokko"
    return "growth"


def _nested_in(aoi: Aoi, others: Sequence[Aoi]) -> Aoi | None:
    """The larger AOI among ``others`` that holds at least 90 % of ``aoi``, if any."""
    for other in others:
        if other is not aoi and other.geometry.area > aoi.geometry.area:
            inter = other.geometry.intersection(aoi.geometry).area
            if inter >= 0.9 * aoi.geometry.area:
                return other
    return None


def _settlement_kind(aoi: Aoi) -> str:
    """How an AOI's settlement is drawn: KK Park-like compound, Shwe Kokko-like city, town."""
    if aoi.id.startswith("shwe-kokko"):
        return "city"
    kind = aoi.kind or ("compound" if _scenario_for(aoi) != "growth" else "town")
    return "compound" if kind == "compound" else "town"


def _new_area(
    inside: npt.NDArray[np.bool_],
    east: npt.NDArray[np.bool_],
    buildable: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """KK Park's 2025 new area: an irregular tract in the AOI's north-west, left unbuilt
    (fields and scrub) until the planted constructions of 2025 go up in it."""
    from scipy import ndimage

    rows, cols = np.nonzero(inside)
    if rows.size == 0:
        return inside
    r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
    rr, cc = np.mgrid[0 : inside.shape[0], 0 : inside.shape[1]].astype(np.float32)
    centre_r = r0 + 0.30 * (r1 - r0)
    centre_c = c0 + 0.30 * (c1 - c0)
    radius_r, radius_c = 0.24 * (r1 - r0), 0.22 * (c1 - c0)
    wobble = ndimage.gaussian_filter(rng.standard_normal(inside.shape).astype(np.float32), 9.0)
    wobble /= max(float(wobble.std()), 1e-6)
    blob = ((rr - centre_r) / max(radius_r, 1.0)) ** 2 + ((cc - centre_c) / max(radius_c, 1.0)) ** 2
    away_from_east = ~ndimage.binary_dilation(east, iterations=4)
    area = (blob < 1.0 + 0.35 * wobble) & inside & away_from_east & buildable
    return area if area.sum() > 200 else inside


#: Where each AOI's changes may go, by (AOI id, region name): "aoi", "east", "new-area".
_Regions = dict[tuple[str, str], npt.NDArray[np.bool_]]


def plan_ground(
    number: int,
    members: list[Aoi],
    seed: int,
    start: dt.date,
    end: dt.date,
    scenario: str | None,
    ground_draw: GroundDraw | None = None,
) -> GroundPlan:
    """Draw the ground that ``members`` share and plant their changes in it."""
    grid = _ground_grid(members)
    ground_id = members[0].id
    rng = np.random.default_rng(seed_words(seed, "ground", ground_id))
    aoi_masks = {a.id: grid_mask(a.geometry, grid) for a in members}
    east_aoi = next((a for a in members if a.id.startswith("kk-park-east")), None)
    buildable = river_distance(grid)[0] > RIVER_HALFWIDTH_WET_M + 40.0
    regions, chosen_for, reserve = _change_regions(
        members, grid, aoi_masks, east_aoi, buildable, seed, scenario
    )
    settlements = _settlements(members, aoi_masks, reserve, rng)
    ground = build_ground(
        ground_id, grid, settlements, tuple(a.id for a in members), rng, draw=ground_draw
    )
    plans = _change_plans(
        members, chosen_for, aoi_masks, seed, start, end, east_aoi is not None, ground_draw
    )
    planted = plant_changes(
        ground,
        plans,
        regions,
        aoi_masks,
        np.random.default_rng(seed_words(seed, "plant", ground_id)),
        draw=ground_draw,
    )
    return GroundPlan(
        ground=ground, number=number, aois=members, aoi_masks=aoi_masks, changes=planted
    )


def _change_regions(
    members: list[Aoi],
    grid: Grid,
    aoi_masks: dict[str, npt.NDArray[np.bool_]],
    east_aoi: Aoi | None,
    buildable: npt.NDArray[np.bool_],
    seed: int,
    scenario: str | None,
) -> tuple[_Regions, dict[str, str], npt.NDArray[np.bool_]]:
    """Where each AOI's changes may go (inside it, its eastern section, KK Park's new area):
    the regions, the scenario chosen per planting AOI, the area kept open for building."""
    from scipy import ndimage

    regions: _Regions = {}
    chosen_for: dict[str, str] = {}
    reserve = np.zeros(grid.shape, dtype=bool)
    for aoi in members:
        parent = _nested_in(aoi, members)
        chosen = scenario or _scenario_for(aoi)
        if (
            parent is not None
            and scenario is None
            and _scenario_for(parent) == "kk-park"
            and chosen == "kk-park-east"
        ):
            continue  # the parent's scenario plants the eastern demolitions here
        if parent is not None and chosen == "growth":
            continue  # ordinary growth is planted once, by the enclosing AOI
        chosen_for[aoi.id] = chosen
        inside = ndimage.binary_erosion(aoi_masks[aoi.id], iterations=2)
        regions[(aoi.id, "aoi")] = inside
        if east_aoi is not None and east_aoi is not aoi:
            east = inside & aoi_masks[east_aoi.id]
        else:
            east = inside & grid_mask(box(*_EAST_BOX), grid)
        regions[(aoi.id, "east")] = east if east.sum() > 200 else inside
        if chosen == "kk-park":
            area = _new_area(
                inside,
                regions[(aoi.id, "east")],
                buildable,
                np.random.default_rng(seed_words(seed, "new-area", aoi.id)),
            )
            regions[(aoi.id, "new-area")] = area
            if area is not inside:
                reserve |= area
    return regions, chosen_for, reserve


def _settlements(
    members: list[Aoi],
    aoi_masks: dict[str, npt.NDArray[np.bool_]],
    reserve: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> list[Settlement]:
    """The settlements: one per AOI not nested in another, the new area kept open."""
    settlements = []
    for aoi in members:
        if _nested_in(aoi, members) is None:
            kind = _settlement_kind(aoi)
            spread = 8.0 if kind == "town" else 20.0
            settlements.append(
                Settlement(
                    kind=kind,
                    mask=aoi_masks[aoi.id],
                    angle_deg=float(rng.uniform(-spread, spread)),
                    reserve=reserve if reserve.any() else None,
                )
            )
    return settlements


def _change_plans(
    members: list[Aoi],
    chosen_for: dict[str, str],
    aoi_masks: dict[str, npt.NDArray[np.bool_]],
    seed: int,
    start: dt.date,
    end: dt.date,
    has_east: bool,
    ground_draw: GroundDraw | None,
) -> list[ChangePlan]:
    """What each planting AOI's scenario plants, and when, from the AOI's own generator."""
    plans = []
    for aoi in members:
        if aoi.id not in chosen_for:
            continue
        plan_rng = np.random.default_rng(seed_words(seed, "plan", aoi.id))
        plans += plan_changes(
            aoi.id,
            chosen_for[aoi.id],
            float(aoi_masks[aoi.id].sum()) * 1e-4,
            start,
            end,
            plan_rng,
            has_east=has_east,
            draw=ground_draw,
        )
    return plans
