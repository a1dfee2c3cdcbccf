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
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, mapping

from tests.catalog.builders import make_item, write_static_collection
from tests.imagery.cogs import (
    BANDS_10M,
    BANDS_20M,
    EPSG,
    PIECE_LEFT,
    PIECE_TOP,
    RED_EDGE_20M,
    down2,
    make_field,
    to_dn,
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
#: A concrete roof's reflectance per band: red above NIR and bright in SWIR-1, so NDVI falls
#: and NDBI rises where it stands.
ROOF_SPECTRUM = {
    "blue": 0.22,
    "green": 0.25,
    "red": 0.30,
    "nir": 0.20,
    "swir16": 0.34,
    "swir22": 0.31,
    "rededge1": 0.27,
    "rededge2": 0.24,
    "rededge3": 0.22,
    "nir08": 0.21,
}
#: The AOI leaves out the grid's top-right block (rows 0-19, cols 40-59): those pixels are
#: outside it.
MISSING = (slice(0, 20), slice(40, AOI_PX))


@dataclass(frozen=True)
class PlannedScene:
    """One scene to write: its time, whether the roof stands, where it is cloudy."""

    when: dt.datetime
    roof: bool = False
    cloudy: tuple[slice, slice] | None = None
    item_id: str | None = None


def aoi_feature(aoi_id: str = "cmp-test", name: str = "Compare <test> & co") -> dict[str, Any]:
    """The AOI as a GeoJSON Feature: the 60 x 60 px grid less its MISSING block (1 m
    inside each edge, so the grid snaps back onto the piece's corner)."""
    left, top, res = PIECE_LEFT, PIECE_TOP, 10.0
    right, bottom = left + AOI_PX * res, top - AOI_PX * res
    notch_x, notch_y = left + MISSING[1].start * res, top - MISSING[0].stop * res
    utm = Polygon(
        [
            (left + 1, bottom + 1),
            (right - 1, bottom + 1),
            (right - 1, notch_y),
            (notch_x, notch_y),
            (notch_x, top - 1),
            (left + 1, top - 1),
        ]
    )
    to_wgs84 = Transformer.from_crs(f"EPSG:{EPSG}", "EPSG:4326", always_xy=True)
    geometry = shapely.transform(
        utm, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))
    )
    return {
        "type": "Feature",
        "properties": {"id": aoi_id, "name": name},
        "geometry": mapping(geometry),
    }


def inside_aoi() -> npt.NDArray[np.bool_]:
    """The AOI's pixels on its grid, as built (not as the monitor computes them)."""
    inside = np.ones((AOI_PX, AOI_PX), dtype=bool)
    inside[MISSING] = False
    return inside


def true_reflectance(band: str, roof: bool, seed: int = 0) -> npt.NDArray[np.float32]:
    """The noise-free reflectance of ``band`` on the AOI grid (20 m bands as 2 x 2 blocks),
    with or without the planted roof."""
    ground = make_field(PIECE_PX, PIECE_PX, seed=seed).reflectance[band].copy()
    if band not in BANDS_10M:
        ground = np.repeat(np.repeat(down2(ground), 2, axis=0), 2, axis=1)
    if roof:
        ground[ROOF] = ROOF_SPECTRUM[band]
    return ground[:AOI_PX, :AOI_PX]


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
