"""The truth of a simulated archive on disk: every planted change, as features or rasters.

``truth.geojson`` holds every planted change (EPSG:4326); ``truth/<aoi id>.tif`` the class
codes on each AOI's grid; ``truth.tif`` is a copy of the first AOI's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from shapely.geometry import mapping

from monitor.aoi.grid import grid_mask
from monitor.models import Aoi
from monitor.simulate.cogs import write_geotiff
from monitor.simulate.grounds import GroundPlan, to_lonlat
from monitor.simulate.stac import write_json

__all__ = ["write_truth"]


def _truth_features(plan: GroundPlan) -> list[dict[str, Any]]:
    """Every planted change of a ground as a GeoJSON feature (EPSG:4326)."""
    from rasterio import features

    grid = plan.ground.grid
    to_ll = to_lonlat(grid.epsg)
    out = []
    for change in plan.changes:
        transform = Affine(
            10.0, 0.0, grid.left + change.col0 * 10.0, 0.0, -10.0, grid.top - change.row0 * 10.0
        )
        shapes = [
            shapely.geometry.shape(geom)
            for geom, value in features.shapes(
                change.mask.astype(np.uint8), mask=change.mask, transform=transform
            )
            if value == 1
        ]
        utm = shapely.union_all(shapes)
        lonlat = shapely.transform(
            utm, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1]))
        )
        out.append(
            {
                "type": "Feature",
                "id": change.id,
                "geometry": mapping(lonlat),
                "properties": {
                    "id": change.id,
                    "change_type": change.change_type,
                    "start": change.start.isoformat(),
                    "end": change.end.isoformat(),
                    "area_m2": float(change.n_pixels * 100.0),
                    "n_pixels": change.n_pixels,
                    "aois": list(change.aoi_ids),
                    "ground": change.ground_id,
                    "tag": change.tag,
                    "class_code": change.code,
                    "simulated": True,
                    # A random world's stages, materials and kinds (none in the default world).
                    **({"extra": change.extra} if change.extra else {}),
                },
            }
        )
    return out


def _truth_raster(plan: GroundPlan, aoi: Aoi) -> npt.NDArray[np.uint8]:
    """Class codes on the AOI's grid: 0 no change, 1-5 the change type, 255 outside."""
    ground_grid = plan.ground.grid
    full = np.zeros(ground_grid.shape, dtype=np.uint8)
    for change in plan.changes:
        rows, cols = change.window()
        full[rows, cols] = np.where(change.mask, change.code, full[rows, cols])
    r0 = int(round((ground_grid.top - aoi.grid.top) / 10))
    c0 = int(round((aoi.grid.left - ground_grid.left) / 10))
    out = full[r0 : r0 + aoi.grid.height, c0 : c0 + aoi.grid.width].copy()
    out[~grid_mask(aoi.geometry, aoi.grid)] = 255
    return out


def write_truth(
    out_dir: Path, plans: list[GroundPlan], first: str
) -> tuple[list[dict[str, Any]], dict[str, Path], int]:
    """``truth.geojson``, ``truth/<aoi>.tif`` per AOI, ``truth.tif`` (the first AOI's): the
    features, the rasters by AOI id, the bytes written."""
    features = [f for p in plans for f in _truth_features(p)]
    truth_doc = {
        "type": "FeatureCollection",
        "name": "planted changes (SIMULATED)",
        "features": features,
    }
    bytes_written = write_json(out_dir / "truth.geojson", truth_doc)
    (out_dir / "truth").mkdir(exist_ok=True)
    truth_tifs: dict[str, Path] = {}
    for plan in plans:
        for aoi in plan.aois:
            path = out_dir / "truth" / f"{aoi.id}.tif"
            bytes_written += write_geotiff(path, _truth_raster(plan, aoi), aoi.grid, nodata=255)
            truth_tifs[aoi.id] = path
    shutil.copyfile(truth_tifs[first], out_dir / ".truth.tif.tmp")
    os.replace(out_dir / ".truth.tif.tmp", out_dir / "truth.tif")
    bytes_written += (out_dir / "truth.tif").stat().st_size
    return features, truth_tifs, bytes_written
