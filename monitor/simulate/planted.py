"""The records of a planted change: its plan, its phases, its footprint on the ground.

Shared by the default world's planting (:mod:`monitor.simulate.changes`) and a random
world's (:mod:`monitor.simulate.worldchanges`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from monitor.models import CHANGE_CODES

__all__ = ["CHANGE_CODES", "CHANGE_TYPES", "ChangePlan", "Phase", "PlantedChange", "footprint"]

CHANGE_TYPES: tuple[str, ...] = tuple(CHANGE_CODES)


@dataclass(frozen=True)
class ChangePlan:
    """A change to place: type, timing, size and where it may go."""

    change_type: str
    start: dt.date
    size_bin: int
    region: str  # "aoi", "east" (eastern section) or "new-area"
    aoi_id: str
    tag: str = ""
    finish_by: dt.date | None = None  # a random world fits its stages before this day


@dataclass(frozen=True, eq=False)
class Phase:
    """From ``day`` on, the footprint holds ``cover`` and ``height_m`` (arrays of its window)."""

    day: dt.date
    cover: npt.NDArray[np.uint8]
    height_m: npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class PlantedChange:
    """One planted change on a ground.

    ``row0, col0`` place the window of ``mask`` (bool) on the ground grid; ``start`` is the
    first day the ground differs, ``end`` the day the change completes (roof on, rubble
    cleared, land bare). In a random world ``extra`` records, JSON-able, the ``stages``
    ([name, iso day] each), the ``material``, ``storeys`` and ``demolition_kind``.
    """

    id: str
    change_type: str
    start: dt.date
    end: dt.date
    ground_id: str
    row0: int
    col0: int
    mask: npt.NDArray[np.bool_]
    phases: tuple[Phase, ...]
    aoi_ids: tuple[str, ...] = ()
    tag: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def n_pixels(self) -> int:
        return int(self.mask.sum())

    @property
    def code(self) -> int:
        return CHANGE_CODES[self.change_type]

    def window(self) -> tuple[slice, slice]:
        rows, cols = self.mask.shape
        return slice(self.row0, self.row0 + rows), slice(self.col0, self.col0 + cols)


def footprint(n_px: int, angle_deg: float, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """A building-like footprint of about ``n_px`` pixels, along the blocks' orientation."""
    if n_px <= 3:
        shape = [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1)][
            {1: 0, 2: int(rng.integers(1, 3)), 3: int(rng.integers(3, 5))}[n_px]
        ]
        return np.ones(shape, dtype=bool)
    aspect = rng.uniform(1.0, 2.6)
    long_px = math.sqrt(n_px * aspect)
    short_px = n_px / long_px
    half = int(math.ceil(long_px)) + 2
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    # The rectangle's centre falls anywhere within a pixel: centred on a pixel centre, a
    # 2 x 2 px rectangle would cover a single pixel centre and the size bins would shrink.
    yy -= rng.uniform(0.0, 1.0)
    xx -= rng.uniform(0.0, 1.0)
    theta = math.radians(angle_deg)
    u = xx * math.cos(theta) + yy * math.sin(theta)
    v = -xx * math.sin(theta) + yy * math.cos(theta)
    mask = (np.abs(u) < long_px / 2) & (np.abs(v) < short_px / 2)
    if not mask.any():
        return np.ones((1, max(1, n_px)), dtype=bool)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
