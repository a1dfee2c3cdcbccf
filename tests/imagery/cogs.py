"""Build test COGs with Sentinel-2's real layout, and scenes that point at them.

Layout as Earth Search serves it: one band per file, uint16 (SCL uint8), nodata 0, DEFLATE
with predictor 2, 1024 x 1024 internal tiles, overviews, EPSG:32647, on the 47QMU pixel
lattice (tile origin 399960 E, 1900020 N). The files cover a small piece of the tile around
a test AOI, not the whole 10980 x 10980 tile.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.io import MemoryFile
from shapely.geometry import box

from monitor.aoi.grid import grid_for_geometry
from monitor.models import Aoi, AssetRef, ReflectanceRule, Scene

TILE_LEFT = 399960.0
TILE_TOP = 1900020.0
EPSG = 32647
#: The test COGs' top-left corner: 40 km east and 50 km south of the 47QMU origin, so on
#: the tile's 20 m lattice.
PIECE_LEFT = TILE_LEFT + 40_000.0
PIECE_TOP = TILE_TOP - 50_000.0

BANDS_10M = ("blue", "green", "red", "nir")
BANDS_20M = ("swir16", "swir22")
#: B05 B06 B07 B8A, as Earth Search names them (20 m).
RED_EDGE_20M = ("rededge1", "rededge2", "rededge3", "nir08")


def write_cog(
    path: Path,
    data: np.ndarray,
    left: float,
    top: float,
    res_m: float,
    epsg: int = EPSG,
    blocksize: int = 1024,
    overviews: bool = True,
    nodata: int | None = 0,
) -> Path:
    """Write one single-band COG; ``data`` is (rows, cols) uint16 or uint8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, cols = data.shape
    profile = dict(
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype=data.dtype.name,
        crs=f"EPSG:{epsg}",
        transform=Affine(res_m, 0, left, 0, -res_m, top),
        nodata=nodata,
    )
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(data, 1)
        with mem.open() as src:
            rasterio.shutil.copy(
                src,
                str(path),
                driver="COG",
                BLOCKSIZE=blocksize,
                COMPRESS="DEFLATE",
                PREDICTOR=2,
                OVERVIEWS="AUTO" if overviews else "NONE",
                OVERVIEW_RESAMPLING="NEAREST",
                RESAMPLING="NEAREST",
            )
    return path


def utm_box_aoi(
    left: float, top: float, width_px: int, height_px: int, aoi_id: str = "t", epsg: int = EPSG
) -> Aoi:
    """An AOI whose contract grid is exactly ``width_px`` x ``height_px`` at 10 m from
    (left, top), which must be multiples of 20 m; the polygon sits 1 m inside so that
    snapping outward lands on those edges."""
    right, bottom = left + width_px * 10.0, top - height_px * 10.0
    utm = box(left + 1, bottom + 1, right - 1, top - 1)
    to_wgs84 = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    geometry = shapely.transform(
        utm, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))
    )
    grid = grid_for_geometry(geometry)
    assert (grid.left, grid.top, grid.width, grid.height) == (left, top, width_px, height_px)
    return Aoi(id=aoi_id, name=aoi_id, geometry=geometry, geometry_hash="h-" + aoi_id, grid=grid)


@dataclass(frozen=True)
class Field:
    """True surface reflectance and SCL of the test piece, at 10 m.

    A smooth land pattern (0.05-0.45) with a river band (SCL 6) whose NIR/SWIR is 0.01;
    the red-edge bands too (drawn after the six chip bands, which stay as they were).
    """

    reflectance: dict[str, np.ndarray]
    scl: np.ndarray


def make_field(rows: int = 2048, cols: int = 2048, seed: int = 0) -> Field:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    base = 0.12 + 0.06 * np.sin(xx / 37.0) * np.cos(yy / 53.0)
    # A 20 m-aligned river band three 20 m pixels wide, crossing every test window.
    river = (xx // 2) % 80 < 3
    refl: dict[str, np.ndarray] = {}
    for i, band in enumerate(BANDS_10M + BANDS_20M + RED_EDGE_20M):
        level = base + 0.03 * i + rng.normal(0, 0.003, size=(1,)).astype(np.float32)
        if band in ("nir", "swir16", "swir22", "nir08"):
            level = np.where(river, np.float32(0.01), level)
        else:
            level = np.where(river, np.float32(0.04), level)
        refl[band] = level.astype(np.float32)
    scl = np.where(river, 6, 4).astype(np.uint8)
    return Field(refl, scl)


def to_dn(reflectance: np.ndarray, offset_in_pixels: bool) -> np.ndarray:
    """Digital numbers: reflectance * 1e4, plus 1000 when the offset stays in the pixels."""
    dn = np.round(reflectance * 10_000.0) + (1000 if offset_in_pixels else 0)
    return np.clip(dn, 1, 65535).astype(np.uint16)


def down2(a: np.ndarray) -> np.ndarray:
    """20 m from 10 m: the top-left 10 m pixel of each 2 x 2 block (exact for our pattern)."""
    return a[::2, ::2]


def write_scene_files(
    folder: Path,
    field: Field,
    offset_in_pixels: bool,
    scl: np.ndarray | None = None,
    left: float = PIECE_LEFT,
    top: float = PIECE_TOP,
    epsg: int = EPSG,
    with_scl: bool = True,
    red_edge: bool = False,
) -> dict[str, Path]:
    """Write the six chip bands (the four red-edge bands too with ``red_edge``, and SCL
    unless ``with_scl`` is False) of one scene; returns {band: path}."""
    paths: dict[str, Path] = {}
    for band in BANDS_10M:
        paths[band] = write_cog(
            folder / f"{band}.tif",
            to_dn(field.reflectance[band], offset_in_pixels),
            left,
            top,
            10.0,
            epsg,
        )
    for band in BANDS_20M + (RED_EDGE_20M if red_edge else ()):
        paths[band] = write_cog(
            folder / f"{band}.tif",
            to_dn(down2(field.reflectance[band]), offset_in_pixels),
            left,
            top,
            20.0,
            epsg,
        )
    if not with_scl:
        return paths
    scl_10m = field.scl if scl is None else scl
    paths["scl"] = write_cog(folder / "scl.tif", down2(scl_10m), left, top, 20.0, epsg)
    return paths


def make_scene(
    hrefs: dict[str, str],
    scene_id: str = "S2B_T47QMU_20250301T035539_L2A",
    collection: str = "sentinel-2-c1-l2a",
    offset_in_pixels: bool = True,
    when: dt.datetime | None = None,
    drop: tuple[str, ...] = (),
    epsg: int | None = EPSG,
) -> Scene:
    """A Scene as the catalog would make it: the rule from metadata, assets by common name."""
    rule = (
        ReflectanceRule(0.0001, -0.1, "metadata", "baseline >= 04.00, offset not applied")
        if offset_in_pixels
        else ReflectanceRule(0.0001, 0.0, "metadata", "earthsearch:boa_offset_applied = true")
    )
    assets = {
        band: AssetRef(
            band=band,
            href=href,
            res_m=20.0 if band in BANDS_20M + RED_EDGE_20M + ("scl",) else 10.0,
            nodata=0,
            data_type="uint8" if band == "scl" else "uint16",
            declared_scale=None if band == "scl" else 0.0001,
            declared_offset=None if band == "scl" else -0.1,
        )
        for band, href in hrefs.items()
        if band not in drop
    }
    when = when or dt.datetime(2025, 3, 1, 3, 55, 39, tzinfo=dt.UTC)
    return Scene(
        id=scene_id,
        collection=collection,
        datetime=when,
        platform="sentinel-2b",
        acquisition=f"S2B_{when:%Y%m%dT%H%M%S}",
        assets=assets,
        rule=rule,
        mgrs_tile="47QMU",
        epsg=epsg,
        processing_baseline="05.11",
        item_href=f"https://example.test/collections/{collection}/items/{scene_id}",
    )
