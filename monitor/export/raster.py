"""Rasters on the AOI's UTM grid, written as cloud-optimized GeoTIFFs.

Writing is not the imagery stage's job (it reads), so this module imports rasterio too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from monitor.errors import MonitorError
from monitor.models import Grid

__all__ = ["write_class_raster", "CLASS_NAMES"]

#: The contract's class codes.
CLASS_NAMES: dict[int, str] = {
    0: "no change", 1: "new_construction", 2: "demolition", 3: "rebuilding",
    4: "roof_change", 5: "land_clearing", 6: "change of unknown type",
    255: "outside the AOI or no data",
}


def write_class_raster(codes: npt.NDArray[np.uint8], grid: Grid, path: Path, *,
                       overwrite: bool = False) -> None:
    """Write the contract's class codes (uint8, nodata 255) as a COG on ``grid``."""
    import rasterio
    from affine import Affine
    from rasterio.enums import ColorInterp

    if codes.shape != grid.shape:
        raise ValueError(f"codes {codes.shape} do not match the grid {grid.shape}")
    if path.exists() and not overwrite:
        raise MonitorError(f"{path}: exists; use --overwrite to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tif", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise MonitorError(f"{path}: cannot write here: {exc.strerror}") from None
    profile = {
        "driver": "COG", "width": grid.width, "height": grid.height, "count": 1,
        "dtype": "uint8", "nodata": 255, "crs": grid.crs,
        "transform": Affine(*grid.transform), "compress": "deflate",
        "blocksize": 512, "overview_resampling": "nearest",
    }
    try:
        with rasterio.Env(GDAL_NUM_THREADS="1"), rasterio.open(tmp, "w", **profile) as dst:
            dst.write(codes.astype(np.uint8), 1)
            dst.colorinterp = [ColorInterp.gray]
            dst.update_tags(1, **{f"class_{k}": v for k, v in CLASS_NAMES.items()})
            dst.set_band_description(1, "change class (contract codes)")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
