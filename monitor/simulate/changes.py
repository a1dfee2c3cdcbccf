"""The planting of changes: what changes where, when; the ground's state on a day; the truth.

Which changes are planted follows the AOI (or the ``scenario`` argument):

- ``kk-park``: a whole new area built March-September 2025 (clearing first, roofs weeks
  later), roofs burnt in the raid of 16-20 October 2025, demolitions in the eastern section
  (the ``kk-park-east`` polygon) from late October into December 2025, and ordinary growth.
- ``kk-park-east`` alone: the eastern demolitions and ordinary growth.
- ``shwe-kokko``: demolitions from December 2025 into 2026, and ordinary growth before.
- anything else (``mae-sot``, ``myawaddy``, new AOIs): ordinary growth only: a few small
  constructions, clearings, roof changes, rebuildings and demolitions spread over the years.
- ``quiet``: nothing planted.

Footprint sizes cycle through the accuracy harness's bins (< 400, 400-899, 900-1,999 and
>= 2,000 m2) within every change type, so recall by size and type is measurable. A random
world (``draw``) draws its buildings, stages and kinds of demolition in
:mod:`monitor.simulate.worldchanges`; the default world's draws are unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.simulate import worldchanges
from monitor.simulate.cover import ROOF_COVERS, Cover
from monitor.simulate.geography import RIVER_HALFWIDTH_WET_M
from monitor.simulate.ground import Ground
from monitor.simulate.planted import (
    CHANGE_CODES,
    CHANGE_TYPES,
    ChangePlan,
    Phase,
    PlantedChange,
    footprint,
)

if TYPE_CHECKING:
    from monitor.simulate.groundworld import GroundDraw

__all__ = [
    "CHANGE_TYPES",
    "CHANGE_CODES",
    "SIZE_BINS_PX",
    "BACKGROUND_RATES_PER_KM2_YEAR",
    "SCENARIOS",
    "Phase",
    "PlantedChange",
    "ChangePlan",
    "plan_changes",
    "plant_changes",
    "state_at",
]

#: Footprint sizes in 10 m pixels per harness bin: <400, 400-899, 900-1999, >=2000 m2.
SIZE_BINS_PX: tuple[tuple[int, int], ...] = ((1, 3), (4, 8), (9, 19), (20, 160))
#: Ordinary growth per km2 of AOI per year, by type: a border town adding a few buildings.
BACKGROUND_RATES_PER_KM2_YEAR: dict[str, float] = {
    "new_construction": 0.35,
    "demolition": 0.10,
    "rebuilding": 0.10,
    "roof_change": 0.15,
    "land_clearing": 0.20,
}
SCENARIOS: tuple[str, ...] = ("kk-park", "kk-park-east", "shwe-kokko", "growth", "quiet")

_ROOFS = (Cover.ROOF_BLUE, Cover.ROOF_RED, Cover.ROOF_WHITE, Cover.ROOF_GREY, Cover.CONCRETE)


def _spread_days(rng: np.random.Generator, first: dt.date, last: dt.date, n: int) -> list[dt.date]:
    span = max((last - first).days, 0)
    return [first + dt.timedelta(days=int(d)) for d in np.sort(rng.integers(0, span + 1, n))]


def plan_changes(
    aoi_id: str,
    scenario: str,
    area_km2: float,
    start: dt.date,
    end: dt.date,
    rng: np.random.Generator,
    *,
    has_east: bool = False,
    background: bool = True,
    draw: GroundDraw | None = None,
) -> list[ChangePlan]:
    """The changes to plant in one AOI between ``start`` and ``end``.

    Changes are kept only when they begin at least 45 days after ``start`` and complete
    before ``end``, so every planted change has clear views before and after it. A random
    ``draw`` (same plans, same draws) asks each change to finish 20 days before ``end``.
    """
    plans: list[ChangePlan] = []
    if scenario == "quiet":
        return plans
    bins = iter(np.tile(np.arange(4), 200))
    if scenario == "kk-park":
        # The new area: clearing March-July 2025, roofs on by September.
        for day in _spread_days(rng, dt.date(2025, 3, 1), dt.date(2025, 7, 10), 12):
            plans.append(
                ChangePlan(
                    "new_construction",
                    day,
                    3 if len(plans) % 3 else 2,
                    "new-area",
                    aoi_id,
                    "new-area",
                )
            )
        for day in _spread_days(rng, dt.date(2025, 3, 1), dt.date(2025, 8, 1), 4):
            plans.append(
                ChangePlan(
                    "new_construction", day, int(next(bins)), "aoi", aoi_id, "construction-2025"
                )
            )
        # The raid: roofs burnt or stripped.
        for day in _spread_days(rng, dt.date(2025, 10, 16), dt.date(2025, 10, 20), 4):
            plans.append(ChangePlan("roof_change", day, int(next(bins)), "aoi", aoi_id, "raid"))
    if scenario in ("kk-park", "kk-park-east"):
        for day in _spread_days(rng, dt.date(2025, 10, 24), dt.date(2025, 12, 20), 18):
            plans.append(
                ChangePlan(
                    "demolition",
                    day,
                    int(next(bins)),
                    "east" if has_east or scenario == "kk-park-east" else "aoi",
                    aoi_id,
                    "east-demolition",
                )
            )
    if scenario == "shwe-kokko":
        for day in _spread_days(rng, dt.date(2025, 12, 1), dt.date(2026, 4, 15), 16):
            plans.append(
                ChangePlan(
                    "demolition", day, int(next(bins)), "aoi", aoi_id, "shwe-kokko-demolition"
                )
            )
    if background:
        years = max((end - start).days - 75, 0) / 365.25
        for change_type, rate in BACKGROUND_RATES_PER_KM2_YEAR.items():
            n = int(round(rate * area_km2 * years))
            if n == 0 and rate * area_km2 * years >= 0.3:
                n = 1
            first = start + dt.timedelta(days=50)
            slow = change_type in ("new_construction", "rebuilding")
            last = end - dt.timedelta(days=100 if slow else 40)
            for i, day in enumerate(_spread_days(rng, first, last, n)):
                plans.append(
                    ChangePlan(
                        change_type, day, (i + int(rng.integers(4))) % 4, "aoi", aoi_id, "growth"
                    )
                )
    kept = [
        p
        for p in plans
        if p.start >= start + dt.timedelta(days=45) and p.start <= end - dt.timedelta(days=30)
    ]
    if draw is not None and draw.random:
        kept = [replace(p, finish_by=end - dt.timedelta(days=20)) for p in kept]
    return kept


def plant_changes(
    ground: Ground,
    plans: Sequence[ChangePlan],
    regions: dict[tuple[str, str], npt.NDArray[np.bool_]],
    aoi_masks: dict[str, npt.NDArray[np.bool_]],
    rng: np.random.Generator,
    *,
    draw: GroundDraw | None = None,
) -> list[PlantedChange]:
    """Place every plan on the ground, rewriting the ground's "before" state where needed.

    ``regions`` maps (aoi id, region name) to where such a plan may go (bool on the ground
    grid); ``aoi_masks`` gives each AOI's pixels, to record which AOIs a change falls in.
    Plans that find no room are dropped. Mutates ``ground.cover`` and ``ground.height_m``.
    A random ``draw`` draws sizes, buildings and stages from its own generator
    (:mod:`monitor.simulate.worldchanges`); ``rng`` still places the footprints.
    """
    world = None
    if draw is not None and draw.random:
        world = worldchanges.WorldPlanter(draw, ground)
    occupied = np.zeros(ground.grid.shape, dtype=bool)
    planted: list[PlantedChange] = []
    # Nothing is planted in the channel or on the banks the monsoon floods.
    forbidden = np.isin(ground.cover, [Cover.WATER, Cover.SANDBAR]) | (
        ground.river_distance_m < RIVER_HALFWIDTH_WET_M + 20.0
    )
    for plan in sorted(plans, key=lambda p: (p.start, p.change_type, p.aoi_id)):
        if world is None:
            lo, hi = SIZE_BINS_PX[plan.size_bin]
            n_px = int(rng.integers(lo, hi + 1))
            mask = footprint(n_px, ground.block_angle_deg + rng.normal(0, 3), rng)
        else:
            mask = world.footprint(plan.size_bin, rng)
        region = regions.get((plan.aoi_id, plan.region))
        if region is None:
            continue
        place = _find_place(mask, region, occupied, forbidden, ground, plan, rng)
        if place is None:
            continue
        row0, col0 = place
        if world is None:
            change = _make_change(ground, plan, mask, row0, col0, len(planted), rng)
        else:
            change = world.make_change(plan, mask, row0, col0, len(planted))
        rows, cols = change.window()
        if ground.tree_fraction is not None:
            # No tree crowns over a planted footprint: every type ends bare or roofed, and a
            # canopy left standing over it would hide part of the change.
            ground.tree_fraction[rows, cols][mask] = 0.0
        # Keep two pixels between planted changes so their truths never touch.
        grown = ndimage.binary_dilation(np.pad(mask, 2), iterations=2)
        top, left = row0 - 2, col0 - 2
        r_lo, c_lo = max(top, 0), max(left, 0)
        r_hi = min(top + grown.shape[0], occupied.shape[0])
        c_hi = min(left + grown.shape[1], occupied.shape[1])
        occupied[r_lo:r_hi, c_lo:c_hi] |= grown[r_lo - top : r_hi - top, c_lo - left : c_hi - left]
        # A part demolition's truth is the demolished part; the building is the whole mask.
        truth = change.mask
        inside = tuple(a for a, m in aoi_masks.items() if (m[rows, cols] & truth).any())
        planted.append(
            PlantedChange(
                id=change.id,
                change_type=change.change_type,
                start=change.start,
                end=change.end,
                ground_id=ground.id,
                row0=row0,
                col0=col0,
                mask=truth,
                phases=change.phases,
                aoi_ids=inside,
                tag=plan.tag,
                extra=change.extra,
            )
        )
    return planted


def _find_place(
    mask: npt.NDArray[np.bool_],
    region: npt.NDArray[np.bool_],
    occupied: npt.NDArray[np.bool_],
    forbidden: npt.NDArray[np.bool_],
    ground: Ground,
    plan: ChangePlan,
    rng: np.random.Generator,
) -> tuple[int, int] | None:
    """Top-left of a window where the footprint fits the region and touches nothing planted."""
    rows, cols = mask.shape
    height, width = region.shape
    candidates = region.copy()
    if plan.change_type in ("demolition", "rebuilding", "roof_change"):
        built = np.isin(ground.cover, list(ROOF_COVERS)) & region
        if built.sum() > 50:
            candidates = built
    elif plan.change_type == "land_clearing":
        green = np.isin(ground.cover, [Cover.FOREST, Cover.SCRUB, Cover.GRASS]) & region
        if green.sum() > 50:
            candidates = green
    flat = np.flatnonzero(candidates)
    if flat.size == 0:
        return None
    for _ in range(300):
        centre = int(flat[int(rng.integers(flat.size))])
        r0 = centre // width - rows // 2
        c0 = centre % width - cols // 2
        if r0 < 0 or c0 < 0 or r0 + rows > height or c0 + cols > width:
            continue
        win = (slice(r0, r0 + rows), slice(c0, c0 + cols))
        if not region[win][mask].all() or occupied[win][mask].any() or forbidden[win][mask].any():
            continue
        return r0, c0
    return None


#: A cover and building heights over a change's window.
_State = tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]
#: The dated states of a change, and the day it ends.
_Phases = tuple[list[tuple[dt.date, _State]], dt.date]


@dataclass(frozen=True)
class _Site:
    """One change's window on the ground while its phases are built.

    ``cover`` and ``height_m`` are views into the ground's arrays: writing them rewrites the
    ground's "before" state. ``material`` and ``height`` are the building drawn for it.
    """

    mask: npt.NDArray[np.bool_]
    cover: npt.NDArray[np.uint8]
    height_m: npt.NDArray[np.float32]
    material: int
    height: float

    def roofed(self, material: int, height: float) -> _State:
        """The footprint under a roof of ``material``, ``height`` metres tall."""
        return (
            np.where(self.mask, material, self.cover).astype(np.uint8),
            np.where(self.mask, height, self.height_m).astype(np.float32),
        )

    def flat(self, cover: int | npt.NDArray[np.uint8]) -> _State:
        """The footprint flat (no building), of ``cover``."""
        return (
            np.where(self.mask, cover, self.cover).astype(np.uint8),
            np.where(self.mask, 0.0, self.height_m).astype(np.float32),
        )

    def build(self) -> None:
        """Put the drawn building on the footprint in the "before" state."""
        self.cover[self.mask] = self.material
        self.height_m[self.mask] = self.height


def _new_construction(site: _Site, plan: ChangePlan, rng: np.random.Generator) -> _Phases:
    """A site cleared, then a roof weeks later."""
    mask, day = site.mask, plan.start
    # Before: vegetation or bare yard, never an older building.
    before = np.where(
        np.isin(site.cover, list(ROOF_COVERS) + [Cover.ROAD, Cover.ASPHALT]),
        Cover.SCRUB,
        site.cover,
    )
    site.cover[mask] = before[mask]
    site.height_m[mask] = 0.0
    roof_on = day + dt.timedelta(days=int(rng.integers(21, 75)))
    phases = [(day, site.flat(Cover.SITE))]
    # Large plots keep a cleared apron around the building.
    inner = ndimage.binary_erosion(mask) if mask.sum() >= 12 else mask
    finished = np.where(inner, site.material, np.where(mask, Cover.CONCRETE, site.cover)).astype(
        np.uint8
    )
    phases.append(
        (roof_on, (finished, np.where(inner, site.height, site.height_m).astype(np.float32)))
    )
    return phases, roof_on


def _demolition(site: _Site, plan: ChangePlan, rng: np.random.Generator) -> _Phases:
    """A building turned to rubble, then cleared to soil or a site."""
    day = plan.start
    site.build()
    cleared = day + dt.timedelta(days=int(rng.integers(10, 45)))
    phases = [(day, site.flat(Cover.RUBBLE))]
    phases.append((cleared, site.flat(Cover.SOIL if rng.random() < 0.5 else Cover.SITE)))
    return phases, cleared


def _rebuilding(site: _Site, plan: ChangePlan, rng: np.random.Generator) -> _Phases:
    """A building demolished, cleared, then roofed again in another material."""
    day = plan.start
    site.build()
    cleared = day + dt.timedelta(days=int(rng.integers(15, 40)))
    roof_on = cleared + dt.timedelta(days=int(rng.integers(30, 90)))
    new_material = int(rng.choice([m for m in _ROOFS if m != site.material]))
    phases = [(day, site.flat(Cover.RUBBLE))]
    phases.append((cleared, site.flat(Cover.SITE)))
    phases.append((roof_on, site.roofed(new_material, float(rng.uniform(4.0, 25.0)))))
    return phases, roof_on


def _roof_change(site: _Site, plan: ChangePlan, rng: np.random.Generator) -> _Phases:
    """A roof replaced in another material, or burnt in the raid."""
    day = plan.start
    site.build()
    new_material = (
        Cover.BURNT
        if plan.tag == "raid"
        else int(rng.choice([m for m in _ROOFS if m != site.material]))
    )
    return [(day, site.roofed(new_material, site.height))], day


def _land_clearing(site: _Site, plan: ChangePlan, rng: np.random.Generator) -> _Phases:
    """Vegetation cleared to soil over some days."""
    mask, day = site.mask, plan.start
    green = Cover.FOREST if rng.random() < 0.4 else Cover.SCRUB
    site.cover[mask] = np.where(
        np.isin(site.cover, [Cover.FOREST, Cover.SCRUB, Cover.GRASS]), site.cover, green
    )[mask]
    site.height_m[mask] = 0.0
    done = day + dt.timedelta(days=int(rng.integers(5, 30)))
    # Clearing proceeds over days: about half the plot is bare at first.
    half = rng.random(mask.shape) < 0.5
    phases = [(day, site.flat(np.where(half, Cover.SOIL, site.cover).astype(np.uint8)))]
    phases.append((done, site.flat(Cover.SOIL)))
    return phases, done


_PHASES_OF = {
    "new_construction": _new_construction,
    "demolition": _demolition,
    "rebuilding": _rebuilding,
    "roof_change": _roof_change,
    "land_clearing": _land_clearing,
}


def _make_change(
    ground: Ground,
    plan: ChangePlan,
    mask: npt.NDArray[np.bool_],
    row0: int,
    col0: int,
    number: int,
    rng: np.random.Generator,
) -> PlantedChange:
    """Write the "before" state into the ground and build the phases of one change."""
    rows, cols = mask.shape
    win = (slice(row0, row0 + rows), slice(col0, col0 + cols))
    kind = plan.change_type
    material = int(rng.choice(_ROOFS))
    height = float(rng.uniform(4.0, 20.0))
    site = _Site(mask, ground.cover[win], ground.height_m[win], material, height)
    phases_of = _PHASES_OF.get(kind)
    if phases_of is None:  # pragma: no cover - plans only carry the five types
        raise ValueError(kind)
    phases, end = phases_of(site, plan, rng)
    # Site.flat/Site.roofed captured the base arrays before the edits above for some phases;
    # rebuild each phase so pixels outside the footprint keep the final "before" state.
    fixed = tuple(
        Phase(
            day=d,
            cover=np.where(mask, c, site.cover).astype(np.uint8),
            height_m=np.where(mask, h, site.height_m).astype(np.float32),
        )
        for d, (c, h) in phases
    )
    return PlantedChange(
        id=f"{ground.id}-{number + 1:03d}",
        change_type=kind,
        start=plan.start,
        end=end,
        ground_id=ground.id,
        row0=row0,
        col0=col0,
        mask=mask,
        phases=fixed,
        tag=plan.tag,
    )


def state_at(
    ground: Ground,
    changes: Sequence[PlantedChange],
    day: dt.date,
    *,
    draw: GroundDraw | None = None,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """The ground's cover and building heights on ``day``, planted changes applied.

    ``draw`` is accepted for symmetry: a random world's stages live in the phases already.
    """
    cover = ground.cover.copy()
    height = ground.height_m.copy()
    for change in changes:
        current = None
        for phase in change.phases:
            if phase.day <= day:
                current = phase
        if current is None:
            continue
        rows, cols = change.window()
        cover[rows, cols] = np.where(change.mask, current.cover, cover[rows, cols])
        height[rows, cols] = np.where(change.mask, current.height_m, height[rows, cols])
    return cover, height
