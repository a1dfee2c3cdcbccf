"""Planted changes in a random world: building mixes, staged construction, kinds of demolition.

:func:`monitor.simulate.changes.plant_changes` hands each placed footprint to a
:class:`WorldPlanter` when its ``draw`` is random. Every draw here comes from the world's
generator for the ground (``groundworld.world_rng``), never from the default streams.

- Sizes: log-uniform within the harness bin, 200-20,000 m2 in all (``WORLD_SIZE_BINS_PX``).
- Orientation: the street grid within 5 degrees, or (``free_orientation_share``) any angle.
- Storeys: 1 + Poisson(``storeys_mean`` - 1), at most 8, 3.1 m each plus 0.5-1.5 m of roof;
  the height sets the shadow's length. Roof material by the world's ``roof_mix``.
- New construction: site cleared (soil) on ``start``; slab and frame (concrete, part of the
  footprint, 3 m) ``frame_days`` later; the roof ``roof_days`` after that (``end``). Stages
  are squeezed to finish by the plan's ``finish_by``.
- Demolition, by ``demolition_mix``: ``flattened`` (half the roof down on ``start``, all rubble
  3-15 days later, rubble left), ``cleared`` (rubble, then soil 10-45 days later),
  ``roof_off`` (walls left: the footprint's edge a mix of rubble, wall and shade, walls
  standing; the inside rubble), ``partial`` (machinery takes 30-70 % of the building, cut
  by a straight line; the rest stays roofed; the truth is the demolished part),
  ``same_material`` (a concrete or grey roof to debris of the same tone: the shadow's loss
  is the main signal). Demolished pixels lose their height, so their shadow goes with them.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.simulate.cover import ROOF_COVERS, Cover
from monitor.simulate.ground import Ground
from monitor.simulate.groundworld import (
    DEMOLITION_KINDS,
    N_VARIANTS,
    ROOF_MATERIALS,
    WORLD_SIZE_BINS_PX,
    GroundDraw,
    world_rng,
)
from monitor.simulate.planted import ChangePlan, Phase, PlantedChange, footprint

__all__ = ["WorldPlanter"]

_STOREY_M = 3.1
_FRAME_HEIGHT_M = 3.0
_MATERIAL_NAME = {code: name for name, code in ROOF_MATERIALS.items()}
_MATERIAL_NAME[Cover.BURNT] = "burnt_roof"

_State = tuple[npt.NDArray[np.uint8] | int, npt.NDArray[np.float32] | float]


class WorldPlanter:
    """Draws a random world's buildings and their phases on one ground."""

    def __init__(self, draw: GroundDraw, ground: Ground) -> None:
        self.draw = draw
        self.ground = ground
        self.rng = world_rng(draw, ground.id, 5)
        names = [m for m, _ in draw.roof_mix]
        weights = np.array([w for _, w in draw.roof_mix], dtype=float)
        self._roofs = [ROOF_MATERIALS[m] for m in names]
        self._roof_p = weights / weights.sum()
        self._kinds = [k for k, _ in draw.demolition_mix]
        kind_w = np.array([w for _, w in draw.demolition_mix], dtype=float)
        self._kind_p = kind_w / kind_w.sum()

    def n_pixels(self, size_bin: int) -> int:
        """A footprint size in pixels, log-uniform within the bin."""
        lo, hi = WORLD_SIZE_BINS_PX[size_bin]
        value = math.exp(self.rng.uniform(math.log(lo), math.log(hi + 1)))
        return int(min(max(math.floor(value), lo), hi))

    def footprint(self, size_bin: int, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
        """A building's footprint in the bin's size range, 200-20,000 m2 in all.

        ``rng`` (the planting stream) places its centre within a pixel; a rasterised
        rectangle can exceed its drawn size by a few pixels, so one beyond 200 is drawn again
        smaller.
        """
        n_px = self.n_pixels(size_bin)
        angle = self.angle_deg()
        while True:
            mask = footprint(n_px, angle, rng)
            if mask.sum() <= WORLD_SIZE_BINS_PX[-1][1] and mask.sum() >= WORLD_SIZE_BINS_PX[0][0]:
                return mask
            n_px = max(n_px - 4, WORLD_SIZE_BINS_PX[0][0])

    def angle_deg(self) -> float:
        if self.rng.random() < self.draw.free_orientation_share:
            return float(self.rng.uniform(0.0, 180.0))
        return float(self.ground.block_angle_deg + self.rng.normal(0.0, 5.0))

    def _roof(self, avoid: int | None = None) -> int:
        options = [(r, p) for r, p in zip(self._roofs, self._roof_p, strict=True) if r != avoid]
        weights = np.array([p for _, p in options]) + 1e-9
        return int(options[int(self.rng.choice(len(options), p=weights / weights.sum()))][0])

    def _height(self) -> tuple[int, float]:
        storeys = int(min(1 + self.rng.poisson(max(self.draw.storeys_mean - 1.0, 0.0)), 8))
        return storeys, storeys * _STOREY_M + float(self.rng.uniform(0.5, 1.5))

    def _days(self, lo_hi: tuple[int, int]) -> int:
        lo, hi = lo_hi
        return int(self.rng.integers(lo, max(hi, lo) + 1))

    def make_change(
        self, plan: ChangePlan, footprint: npt.NDArray[np.bool_], row0: int, col0: int, number: int
    ) -> PlantedChange:
        """Write the "before" state into the ground and build the change's phases."""
        rows, cols = footprint.shape
        win = (slice(row0, row0 + rows), slice(col0, col0 + cols))
        ground = self.ground
        base_cover = ground.cover[win]
        base_height = ground.height_m[win]
        if ground.variant is not None:
            ground.variant[win][footprint] = int(self.rng.integers(N_VARIANTS))
        kind = plan.change_type
        if kind == "new_construction":
            before = np.where(
                np.isin(base_cover, list(ROOF_COVERS) + [Cover.ROAD, Cover.ASPHALT]),
                Cover.SCRUB,
                base_cover,
            )
            base_cover[footprint] = before[footprint]
            base_height[footprint] = 0.0
            mask, phases, extra = footprint, *self._construction(plan, footprint)
        elif kind == "land_clearing":
            green = Cover.FOREST if self.rng.random() < 0.4 else Cover.SCRUB
            keep = np.isin(base_cover, [Cover.FOREST, Cover.SCRUB, Cover.GRASS])
            base_cover[footprint] = np.where(keep, base_cover, green)[footprint]
            base_height[footprint] = 0.0
            done = plan.start + dt.timedelta(days=int(self.rng.integers(5, 30)))
            half = self.rng.random(footprint.shape) < 0.5
            phases = [
                (plan.start, (np.where(half, Cover.SOIL, base_cover).astype(np.uint8), 0.0)),
                (done, (Cover.SOIL, 0.0)),
            ]
            mask, extra = (
                footprint,
                {"stages": [["partly_bare", plan.start.isoformat()], ["bare", done.isoformat()]]},
            )
        else:
            mask, phases, extra = self._on_building(plan, footprint, base_cover, base_height)
        fixed = tuple(
            Phase(
                day=d,
                cover=np.where(mask, c, base_cover).astype(np.uint8),
                height_m=np.where(mask, h, base_height).astype(np.float32),
            )
            for d, (c, h) in phases
        )
        return PlantedChange(
            id=f"{ground.id}-{number + 1:03d}",
            change_type=kind,
            start=plan.start,
            end=max(d for d, _ in phases),
            ground_id=ground.id,
            row0=row0,
            col0=col0,
            mask=mask,
            phases=fixed,
            tag=plan.tag,
            extra=extra,
        )

    def _fit(self, plan: ChangePlan, durations: list[int]) -> list[int]:
        """Squeeze stage durations so the change completes by ``plan.finish_by``."""
        if plan.finish_by is None:
            return durations
        room = (plan.finish_by - plan.start).days
        total = sum(durations)
        if total <= room:
            return durations
        scale = max(room, 3 * len(durations)) / total
        return [max(3, int(d * scale)) for d in durations]

    def _construction(
        self, plan: ChangePlan, footprint: npt.NDArray[np.bool_]
    ) -> tuple[list[tuple[dt.date, _State]], dict[str, object]]:
        material = self._roof()
        storeys, height = self._height()
        to_frame, to_roof = self._fit(
            plan, [self._days(self.draw.frame_days), self._days(self.draw.roof_days)]
        )
        framed = plan.start + dt.timedelta(days=to_frame)
        roofed = framed + dt.timedelta(days=to_roof)
        inner = _inside(footprint) if footprint.sum() >= 12 else footprint
        inner = inner if inner.any() else footprint  # a thin building has no apron
        slab = inner & (self.rng.random(footprint.shape) < self.rng.uniform(0.4, 0.9))
        slab.flat[int(np.flatnonzero(inner)[0])] = True  # a frame is never invisible
        frame = (
            np.where(slab, Cover.CONCRETE, Cover.SITE).astype(np.uint8),
            np.where(slab, _FRAME_HEIGHT_M, 0.0).astype(np.float32),
        )
        roof = (
            np.where(inner, material, Cover.CONCRETE).astype(np.uint8),
            np.where(inner, height, 0.0).astype(np.float32),
        )
        phases: list[tuple[dt.date, _State]] = [
            (plan.start, (Cover.SITE, 0.0)),
            (framed, frame),
            (roofed, roof),
        ]
        extra = {
            "stages": [
                ["site", plan.start.isoformat()],
                ["frame", framed.isoformat()],
                ["roof", roofed.isoformat()],
            ],
            "material": _MATERIAL_NAME[material],
            "storeys": storeys,
        }
        return phases, extra

    def _on_building(
        self,
        plan: ChangePlan,
        footprint: npt.NDArray[np.bool_],
        base_cover: npt.NDArray[np.uint8],
        base_height: npt.NDArray[np.float32],
    ) -> tuple[npt.NDArray[np.bool_], list[tuple[dt.date, _State]], dict[str, object]]:
        """Demolition, rebuilding or roof change of a building planted as the "before"."""
        kind = plan.change_type
        demolition = None
        if kind == "demolition":
            demolition = str(self._kinds[int(self.rng.choice(len(self._kinds), p=self._kind_p))])
            if demolition == "partial" and footprint.sum() < 4:
                demolition = "cleared"
        grey = (Cover.CONCRETE, Cover.ROOF_GREY)
        material = int(self.rng.choice(grey)) if demolition == "same_material" else self._roof()
        storeys, height = self._height()
        base_cover[footprint] = material
        base_height[footprint] = height
        extra: dict[str, object] = {"material": _MATERIAL_NAME[material], "storeys": storeys}
        day = plan.start
        if kind == "roof_change":
            new = Cover.BURNT if plan.tag == "raid" else self._roof(avoid=material)
            extra.update(new_material=_MATERIAL_NAME[new], stages=[["new_roof", day.isoformat()]])
            return footprint, [(day, (new, height))], extra
        if kind == "rebuilding":
            cleared = day + dt.timedelta(days=int(self.rng.integers(15, 40)))
            new = self._roof(avoid=material)
            _, new_height = self._height()
            to_frame, to_roof = self._fit(
                plan, [(cleared - day).days, self._days(self.draw.roof_days)]
            )
            cleared = day + dt.timedelta(days=to_frame)
            roofed = cleared + dt.timedelta(days=to_roof)
            extra.update(
                new_material=_MATERIAL_NAME[new],
                stages=[
                    ["rubble", day.isoformat()],
                    ["site", cleared.isoformat()],
                    ["roof", roofed.isoformat()],
                ],
            )
            return (
                footprint,
                [
                    (day, (Cover.RUBBLE, 0.0)),
                    (cleared, (Cover.SITE, 0.0)),
                    (roofed, (new, new_height)),
                ],
                extra,
            )
        assert demolition in DEMOLITION_KINDS
        extra["demolition_kind"] = demolition
        mask, phases = self._demolition(demolition, plan, footprint, material, height)
        extra["stages"] = [
            [name, d.isoformat()]
            for d, name in zip((d for d, _ in phases), _DEMOLITION_STAGES[demolition], strict=False)
        ]
        return mask, phases, extra

    def _demolition(
        self,
        kind: str,
        plan: ChangePlan,
        footprint: npt.NDArray[np.bool_],
        material: int,
        height: float,
    ) -> tuple[npt.NDArray[np.bool_], list[tuple[dt.date, _State]]]:
        day = plan.start
        later = self._fit(plan, [int(self.rng.integers(10, 45))])[0]
        cleared = day + dt.timedelta(days=later)
        if kind == "flattened":
            done = day + dt.timedelta(days=self._fit(plan, [int(self.rng.integers(3, 16))])[0])
            down = self.rng.random(footprint.shape) < 0.5
            first = (
                np.where(down, Cover.RUBBLE, material).astype(np.uint8),
                np.where(down, 0.0, height).astype(np.float32),
            )
            return footprint, [(day, first), (done, (Cover.RUBBLE, 0.0))]
        if kind == "cleared":
            ground_after = Cover.SOIL if self.rng.random() < 0.5 else Cover.SITE
            return footprint, [(day, (Cover.RUBBLE, 0.0)), (cleared, (ground_after, 0.0))]
        if kind == "roof_off":
            inner = _inside(footprint)
            if not inner.any():  # too small to have an inside: all of it is wall and shade
                return footprint, [(day, (int(Cover.WALLS), 0.8 * height))]
            state = (
                np.where(inner, Cover.RUBBLE, Cover.WALLS).astype(np.uint8),
                np.where(inner, 0.0, height).astype(np.float32),
            )
            return footprint, [(day, state)]
        if kind == "partial":
            part = self._part(footprint)
            phases: list[tuple[dt.date, _State]] = [(day, (Cover.RUBBLE, 0.0))]
            if self.rng.random() < 0.5:
                phases.append((cleared, (Cover.SITE, 0.0)))
            return part, phases
        # same_material: the roof falls in; debris of its own tone, no shadow any more.
        return footprint, [(day, (Cover.DEBRIS, 0.0))]

    def _part(self, footprint: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """30-70 % of the footprint, on one side of a straight cut."""
        rr, cc = np.nonzero(footprint)
        theta = self.rng.uniform(0.0, math.pi)
        along = rr * math.sin(theta) + cc * math.cos(theta) + self.rng.uniform(-1e-3, 1e-3, rr.size)
        order = np.argsort(along)
        share = self.rng.uniform(0.3, 0.7)
        n = min(max(int(round(share * rr.size)), 1), rr.size - 1)
        part = np.zeros_like(footprint)
        part[rr[order[:n]], cc[order[:n]]] = True
        return part


def _inside(footprint: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The footprint less its edge pixels (empty for a building one or two pixels wide)."""
    return ndimage.binary_erosion(footprint)


_DEMOLITION_STAGES: dict[str, tuple[str, ...]] = {
    "flattened": ("half_down", "rubble"),
    "cleared": ("rubble", "cleared"),
    "roof_off": ("walls_left",),
    "partial": ("part_rubble", "part_cleared"),
    "same_material": ("debris",),
}
