"""A hand-made static archive for ``monitor compare`` tests: a few scenes of one small AOI.

Every scene is the same ground (``tests.imagery.cogs.make_field``: a smooth land pattern
with a river, all ten bands) with a little noise of its own; the *after* scenes carry a
planted roof (vegetation's red and NIR swapped for a bright roof's) on ``ROOF``, and a
scene may be cloudy (SCL 9) on a block of the AOI. The items are the recorded Earth Search
c1 item moved over the AOI, so they go through the catalog, the imagery stage and its
offset rule like real ones (pixels keep baseline 04.00's +1000).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.models import Aoi
from tests.catalog.builders import make_item, write_static_collection
from tests.imagery.cogs import (
    BANDS_10M,
    BANDS_20M,
    PIECE_LEFT,
    PIECE_TOP,
    RED_EDGE_20M,
    down2,
    make_field,
    to_dn,
    utm_box_aoi,
    write_cog,
)

#: The AOI's grid: 60 x 60 px from the piece's top-left corner (the river crosses its
#: first columns: the offset rule finds dark water there).
AOI_PX = 60
#: The test COGs: 64 x 64 px at 10 m (a 20 m margin beyond the AOI).
PIECE_PX = 64
#: Rows and columns of the planted roof on the AOI grid.
ROOF = (slice(24, 36), slice(24, 40))
#: Earth Search's file name of each band.
FILES = {
    "blue": "B02.tif",
    "green": "B03.tif",
    "red": "B04.tif",
    "nir": "B08.tif",
    "swir16": "B11.tif",
    "swir22": "B12.tif",
    "rededge1": "B05.tif",
    "rededge2": "B06.tif",
    "rededge3": "B07.tif",
    "nir08": "B8A.tif",
    "scl": "SCL.tif",
}
#: A bright concrete roof's reflectance per band (blue to swir22, then red-edge).
ROOF_SPECTRUM = {
    "blue": 0.24,
    "green": 0.26,
    "red": 0.28,
    "nir": 0.30,
    "swir16": 0.34,
    "swir22": 0.31,
    "rededge1": 0.29,
    "rededge2": 0.29,
    "rededge3": 0.30,
    "nir08": 0.30,
}


@dataclass(frozen=True)
class PlannedScene:
    """One scene to write: its time, whether the roof stands, where it is cloudy."""

    when: dt.datetime
    roof: bool = False
    cloudy: tuple[slice, slice] | None = None
    item_id: str | None = None


def compare_aoi_box(aoi_id: str = "cmp-test") -> Aoi:
    return utm_box_aoi(PIECE_LEFT, PIECE_TOP, AOI_PX, AOI_PX, aoi_id=aoi_id)


def write_archive(
    folder: Path, template: dict[str, Any], scenes: list[PlannedScene], seed: int = 0
) -> Path:
    """Write the scenes' COGs and a static collection of their items; its path."""
    ground = make_field(PIECE_PX, PIECE_PX, seed=seed)
    rng = np.random.default_rng(seed + 1)
    items = []
    for scene in scenes:
        item = make_item(template, when=scene.when, cloud=5.0, item_id=scene.item_id)
        files = folder / "assets" / item["id"]
        for band in BANDS_10M + BANDS_20M + RED_EDGE_20M:
            refl = ground.reflectance[band] + rng.normal(0, 0.004, (PIECE_PX, PIECE_PX))
            if scene.roof:
                refl[ROOF] = ROOF_SPECTRUM[band]
            dn = to_dn(refl.astype(np.float32), offset_in_pixels=True)
            res = 10.0 if band in BANDS_10M else 20.0
            write_cog(files / FILES[band], dn if res == 10.0 else down2(dn), *_corner(), res)
        scl = ground.scl.copy()
        if scene.cloudy is not None:
            scl[scene.cloudy] = 9
        write_cog(files / FILES["scl"], down2(scl), *_corner(), 20.0)
        items.append(item)
    return write_static_collection(folder, "sentinel-2-c1-l2a", items)


def _corner() -> tuple[float, float]:
    return PIECE_LEFT, PIECE_TOP
