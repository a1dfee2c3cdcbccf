"""Rasters on the AOI's UTM grid, written as cloud-optimized GeoTIFFs.

Per AOI (``--raster DIR``): ``change_class.tif`` (the contract's codes, uint8, 255 outside
the AOI or where the detector has no model yet), ``first_seen.tif`` (YYYYMMDD, uint32,
0 = none) and ``confidence.tif`` (float32, NaN = none), burnt from the exported detections;
per detection, ``before`` and ``after`` true-colour images (uint8 RGB, 0 = no data) of a
window around it, from the chips of its evidence scenes. The job hands over arrays and
chips; nothing here reads imagery. Writing is not the imagery stage's job (it reads), so
this module imports rasterio too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from affine import Affine

from monitor.errors import ExportError
from monitor.export._files import Staging, staged
from monitor.export.fields import CHANGE_TYPES, CLASS_CODES
from monitor.export.style import CHANGE_COLOURS
from monitor.models import Chip, Detection, Grid, decode_chip

__all__ = [
    "CLASS_NAMES",
    "CLASS_NODATA",
    "BLOCK_PX",
    "TRUE_COLOUR_MAX",
    "WINDOW_MARGIN_PX",
    "AoiLayers",
    "burn_detections",
    "detection_window",
    "true_colour",
    "write_cog",
    "VIEWS_NODATA",
    "write_class_raster",
    "stage_class_raster",
    "stage_views_raster",
    "write_aoi_rasters",
    "write_true_colour",
    "aoi_raster_paths",
    "detection_image_path",
]

#: The contract's class codes.
CLASS_NAMES: dict[int, str] = {
    0: "no change",
    1: "new_construction",
    2: "demolition",
    3: "rebuilding",
    4: "roof_change",
    5: "land_clearing",
    6: "change of unknown type",
    255: "outside the AOI or no data",
}
CLASS_NODATA = 255
#: ``views.tif`` (``monitor compare``): no clear view, or outside the AOI.
VIEWS_NODATA = 0
#: COG tile size: GDAL adds overviews (halving) until the image fits one tile.
BLOCK_PX = 256
#: True colour: surface reflectance 0 to this maps linearly to 1-255, the same for every
#: image, so a before/after pair differs only where the ground does.
TRUE_COLOUR_MAX = 0.3
#: Pixels of context around a detection in its before/after images, each side.
WINDOW_MARGIN_PX = 24


def _rgba(colour: str) -> tuple[int, int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), 255)


#: The class raster's palette: the vector styles' colours, no change and no data clear.
_CLASS_COLOURS: dict[int, tuple[int, int, int, int]] = {
    0: (255, 255, 255, 0),
    **{CLASS_CODES[name]: _rgba(CHANGE_COLOURS[name]) for name in CHANGE_TYPES},
    6: (120, 120, 120, 255),
    255: (0, 0, 0, 0),
}


def write_cog(
    array: npt.NDArray[Any],
    grid: Grid,
    path: Path,
    *,
    nodata: float | int | None,
    descriptions: Sequence[str],
    tags: Mapping[str, str] | None = None,
    band_tags: Sequence[Mapping[str, str]] | None = None,
    colormap: Mapping[int, tuple[int, int, int, int]] | None = None,
    resampling: str = "nearest",
    photometric: str | None = None,
) -> None:
    """Write ``array`` ((rows, cols) or (bands, rows, cols)) on ``grid`` as a COG at ``path``
    (a staged temporary path: the caller renames it into place).

    Tiled ``BLOCK_PX`` squares, deflate, overviews (``resampling``) down to one tile.
    """
    import rasterio
    from rasterio.errors import RasterioError

    data = array[np.newaxis] if array.ndim == 2 else array
    if data.shape[1:] != grid.shape:
        raise ValueError(f"array {data.shape[1:]} does not match the grid {grid.shape}")
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": grid.width,
        "height": grid.height,
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "nodata": nodata,
        "crs": grid.crs,
        "transform": Affine(*grid.transform),
        "compress": "deflate",
        "blocksize": BLOCK_PX,
        "overview_resampling": resampling,
    }
    if data.dtype.kind == "f":
        profile["predictor"] = 3
    if photometric:
        profile["photometric"] = photometric
    try:
        with rasterio.Env(GDAL_NUM_THREADS="1"), rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            for band, description in enumerate(descriptions, start=1):
                dst.set_band_description(band, description)
            if tags:
                dst.update_tags(**tags)
            for band, values in enumerate(band_tags or (), start=1):
                dst.update_tags(band, **values)
            if colormap is not None:
                dst.write_colormap(1, dict(colormap))
            dst.update_tags(AREA_OR_POINT="Area")
    except (RasterioError, OSError) as exc:
        raise ExportError(f"{path.name}: cannot write: {' '.join(str(exc).split())}") from None


def write_class_raster(
    codes: npt.NDArray[np.uint8],
    grid: Grid,
    path: Path,
    *,
    overwrite: bool = False,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Write the contract's class codes (uint8, nodata 255) as a COG on ``grid``."""
    with staged(overwrite) as staging:
        stage_class_raster(staging, codes, grid, path, tags or {})


def stage_class_raster(
    staging: Staging,
    codes: npt.NDArray[np.uint8],
    grid: Grid,
    path: Path,
    tags: Mapping[str, str],
) -> None:
    """Stage the contract's class codes (uint8 (rows, cols), nodata 255) at ``path``."""
    _check_layer_shape(codes, grid, "codes")
    _write_class(codes, grid, staging.file(path), tags)


def stage_views_raster(
    staging: Staging,
    views: npt.NDArray[np.uint16],
    grid: Grid,
    path: Path,
    tags: Mapping[str, str],
) -> None:
    """Stage the clear views per pixel of a comparison's two windows (uint16 (2, rows,
    cols): before, after; nodata 0, outside the AOI or no clear view) at ``path``."""
    if views.ndim != 3 or views.shape[0] != 2:
        raise ValueError(f"views {views.shape} must be (2, rows, cols): before, after")
    _check_layer_shape(views, grid, "views")
    write_cog(
        views.astype(np.uint16),
        grid,
        staging.file(path),
        nodata=VIEWS_NODATA,
        descriptions=["clear views before", "clear views after"],
        tags=tags,
    )


def _check_layer_shape(array: npt.NDArray[Any], grid: Grid, what: str) -> None:
    """A layer must cover ``grid`` exactly: (rows, cols) or (bands, rows, cols)."""
    if array.shape[-2:] != grid.shape or array.ndim not in (2, 3):
        raise ValueError(f"{what} {array.shape} do not match the grid {grid.shape}")


def _write_class(
    codes: npt.NDArray[np.uint8], grid: Grid, path: Path, tags: Mapping[str, str]
) -> None:
    write_cog(
        codes.astype(np.uint8),
        grid,
        path,
        nodata=CLASS_NODATA,
        descriptions=["change class (contract codes)"],
        tags=tags,
        band_tags=[{f"class_{k}": v for k, v in CLASS_NAMES.items()}],
        colormap=_CLASS_COLOURS,
    )


@dataclass(frozen=True, eq=False)
class AoiLayers:
    """One AOI's layers on its grid, all (rows, cols).

    ``change_class`` uint8 contract codes (255 outside the AOI or not modelled yet);
    ``first_seen`` uint32 YYYYMMDD (0 none); ``confidence`` float32 (NaN none).
    """

    change_class: npt.NDArray[np.uint8]
    first_seen: npt.NDArray[np.uint32]
    confidence: npt.NDArray[np.float32]


def _yyyymmdd(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def burn_detections(
    detections: Sequence[tuple[Detection, Any]], grid: Grid, unknown: npt.NDArray[np.bool_]
) -> AoiLayers:
    """Burn detections into the AOI's layers.

    Parameters
    ----------
    detections : each detection with its geometry in the grid's UTM CRS.
    grid : the AOI's grid.
    unknown : bool (rows, cols); outside the AOI or never modelled: class 255.

    A pixel belongs to a detection when its centre lies inside the polygon (detections are
    pixel outlines on this grid, so they burn back exactly). Where detections overlap, the
    one first seen last wins: the latest change is the current state of the ground.
    """
    from rasterio.features import rasterize

    if unknown.shape != grid.shape:
        raise ValueError(f"mask {unknown.shape} does not match the grid {grid.shape}")
    change = np.zeros(grid.shape, dtype=np.uint8)
    first = np.zeros(grid.shape, dtype=np.uint32)
    conf = np.full(grid.shape, np.nan, dtype=np.float32)
    transform = Affine(*grid.transform)
    for det, geometry in sorted(detections, key=lambda pair: (pair[0].first_seen, pair[0].id)):
        inside = rasterize(
            [(geometry, 1)],
            out_shape=grid.shape,
            transform=transform,
            fill=0,
            dtype="uint8",
            all_touched=False,
        ).astype(bool)
        change[inside] = CLASS_CODES.get(det.change_type, 6)
        first[inside] = _yyyymmdd(det.first_seen)
        conf[inside] = np.float32(det.confidence)
    change[unknown] = CLASS_NODATA
    first[unknown] = 0
    conf[unknown] = np.nan
    return AoiLayers(change, first, conf)


def aoi_raster_paths(folder: Path, aoi_id: str) -> dict[str, Path]:
    """Where an AOI's layers go: ``folder/<aoi>/{change_class,first_seen,confidence}.tif``."""
    return {
        name: folder / aoi_id / f"{name}.tif"
        for name in ("change_class", "first_seen", "confidence")
    }


def detection_image_path(folder: Path, det: Detection, role: str) -> Path:
    """``folder/<aoi>/detections/<id>_<before|after>.tif``."""
    return folder / det.aoi / "detections" / f"{det.id}_{role}.tif"


def write_aoi_rasters(
    staging: Staging,
    folder: Path,
    aoi_id: str,
    grid: Grid,
    layers: AoiLayers,
    tags: Mapping[str, str],
) -> list[Path]:
    """Stage an AOI's three COGs under ``folder/<aoi>/``; their final paths."""
    paths = aoi_raster_paths(folder, aoi_id)
    _write_class(layers.change_class, grid, staging.file(paths["change_class"]), tags)
    write_cog(
        layers.first_seen.astype(np.uint32),
        grid,
        staging.file(paths["first_seen"]),
        nodata=0,
        descriptions=["first seen (YYYYMMDD, UTC day)"],
        tags=tags,
    )
    write_cog(
        layers.confidence.astype(np.float32),
        grid,
        staging.file(paths["confidence"]),
        nodata=float("nan"),
        descriptions=["confidence of the detection (0-1)"],
        tags=tags,
        resampling="average",
    )
    return list(paths.values())


def detection_window(
    geometry_utm: Any, grid: Grid, margin_px: int = WINDOW_MARGIN_PX
) -> tuple[Grid, int, int]:
    """The window around a detection: its bounds plus ``margin_px`` each side, clipped to
    the grid. Returns the window as a grid and its (row, col) offset in ``grid``."""
    minx, miny, maxx, maxy = geometry_utm.bounds
    res = grid.res_m
    # Detections are pixel outlines: their edges fall on pixel edges, give or take the
    # round trip through EPSG:4326, which must not add a pixel.
    eps = 1e-3
    col0 = max(0, math.floor((minx - grid.left) / res + eps) - margin_px)
    col1 = min(grid.width, math.ceil((maxx - grid.left) / res - eps) + margin_px)
    row0 = max(0, math.floor((grid.top - maxy) / res + eps) - margin_px)
    row1 = min(grid.height, math.ceil((grid.top - miny) / res - eps) + margin_px)
    if col1 <= col0 or row1 <= row0:
        raise ValueError("the detection lies outside the grid")
    window = Grid(
        epsg=grid.epsg,
        left=grid.left + col0 * res,
        top=grid.top - row0 * res,
        width=col1 - col0,
        height=row1 - row0,
        res_m=res,
    )
    return window, row0, col0


def true_colour(chip: Chip, window: Grid, row0: int, col0: int) -> npt.NDArray[np.uint8]:
    """uint8 (3, rows, cols) red, green, blue of ``chip`` in the window; 0 = no data.

    A fixed linear stretch (reflectance 0 to TRUE_COLOUR_MAX onto 1-255): cloud, haze and
    shadow show as they were, and two images compare without a stretch of their own.
    """
    rows = slice(row0, row0 + window.height)
    cols = slice(col0, col0 + window.width)
    bands = [chip.bands.index(name) for name in ("red", "green", "blue")]
    coded = chip.reflectance[bands, rows, cols]
    reflectance = decode_chip(coded)
    scaled = 1.0 + 254.0 * np.clip(reflectance / TRUE_COLOUR_MAX, 0.0, 1.0)
    rgb = np.rint(scaled).astype(np.uint8)
    rgb[:, (coded == 0).any(axis=0)] = 0
    return rgb


def write_true_colour(
    staging: Staging, path: Path, rgb: npt.NDArray[np.uint8], window: Grid, tags: Mapping[str, str]
) -> None:
    """Stage one before/after image (uint8 RGB COG, 0 = no data)."""
    write_cog(
        rgb,
        window,
        staging.file(path),
        nodata=0,
        descriptions=["red (B04)", "green (B03)", "blue (B02)"],
        tags=tags,
        resampling="average",
        photometric="RGB",
    )
