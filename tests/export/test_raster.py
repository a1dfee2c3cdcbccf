"""Rasters: valid COGs on the AOI grid, detections burnt back exactly, true colour with a
fixed stretch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio

from monitor.aoi import to_utm
from monitor.export import (
    burn_detections,
    detection_window,
    staged,
    true_colour,
    write_aoi_rasters,
    write_true_colour,
)
from monitor.export.raster import BLOCK_PX, CLASS_NAMES, write_cog
from monitor.models import CHIP_BANDS, Aoi, Chip, Detection, Grid, ReflectanceRule
from tests.export.conftest import block, make_detection


def assert_cog(path: Path, *, overviews: bool) -> None:
    """GDAL's own verdict (LAYOUT=COG: written in COG order, untouched since), tiling and
    overviews."""
    with rasterio.open(path) as src:
        structure = src.tags(ns="IMAGE_STRUCTURE")
        assert structure.get("LAYOUT") == "COG", structure
        assert structure.get("COMPRESSION") == "DEFLATE"
        assert src.profile["tiled"] and set(src.block_shapes) == {(BLOCK_PX, BLOCK_PX)}
        levels = src.overviews(1)
        assert bool(levels) == overviews, levels
        if overviews:
            # Down to one tile: the smallest overview fits in a block.
            smallest = max(levels)
            assert max(src.width, src.height) / smallest <= BLOCK_PX


def test_large_cog_has_tiles_and_overviews(tmp_path: Path) -> None:
    grid = Grid(epsg=32647, left=400000.0, top=1840000.0, width=700, height=530)
    values = (np.arange(700 * 530) % 251).astype(np.uint8).reshape(530, 700)
    path = tmp_path / "big.tif"
    write_cog(values, grid, path, nodata=255, descriptions=["test"])
    assert_cog(path, overviews=True)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32647 and src.res == (10.0, 10.0)
        assert src.transform.c == 400000.0 and src.transform.f == 1840000.0
        assert np.array_equal(src.read(1), values)


def test_aoi_layers_burn_the_detections_back(
    aoi: Aoi, detections: list[Detection], tmp_path: Path
) -> None:
    grid = aoi.grid
    unknown = np.zeros(grid.shape, dtype=bool)
    unknown[:, :3] = True  # say: outside the AOI
    pairs = [(d, to_utm(d.geometry, grid.epsg)) for d in detections]
    layers = burn_detections(pairs, grid, unknown)
    codes = {"demolition": 2, "new_construction": 1, "roof_change": 4, "land_clearing": 5}
    for det in detections:
        assert int((layers.change_class == codes[det.change_type]).sum()) == det.n_pixels
        day = det.first_seen.year * 10000 + det.first_seen.month * 100 + det.first_seen.day
        same_day = sum(d.n_pixels for d in detections if d.first_seen == det.first_seen)
        assert int((layers.first_seen == day).sum()) == same_day
        same_confidence = sum(d.n_pixels for d in detections if d.confidence == det.confidence)
        assert int(np.isclose(layers.confidence, det.confidence).sum()) == same_confidence
    assert (layers.change_class[unknown] == 255).all() and (layers.first_seen[unknown] == 0).all()
    assert np.isnan(layers.confidence[unknown]).all()
    # The hole of the ring is no change.
    assert layers.change_class[22, 22] == 0
    out = tmp_path / "rasters"
    with staged(False) as staging:
        paths = write_aoi_rasters(staging, out, aoi.id, grid, layers, {"SIMULATED": "no"})
    assert [p.name for p in paths] == ["change_class.tif", "first_seen.tif", "confidence.tif"]
    for path in paths:
        assert_cog(path, overviews=False)  # under 100 px: one tile is the whole image
        with rasterio.open(path) as src:
            assert src.crs.to_epsg() == grid.epsg
            assert (src.bounds.left, src.bounds.top) == (grid.left, grid.top)
            assert src.shape == grid.shape and src.tags()["SIMULATED"] == "no"
    with rasterio.open(paths[0]) as src:
        assert src.nodata == 255 and src.dtypes[0] == "uint8"
        assert np.array_equal(src.read(1), layers.change_class)
        assert src.colormap(1)[2][:3] == (0x75, 0x70, 0xB3)
        assert src.tags(1)["class_255"] == CLASS_NAMES[255]
    with rasterio.open(paths[1]) as src:
        assert src.dtypes[0] == "uint32" and src.nodata == 0
        assert 20251114 in np.unique(src.read(1))
    with rasterio.open(paths[2]) as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)


def test_the_latest_change_wins_where_detections_overlap(aoi: Aoi) -> None:
    old = make_detection("old", aoi, block(5, 5, 4, 4), first_seen=dt.date(2024, 3, 1))
    new = make_detection(
        "new",
        aoi,
        block(7, 7, 4, 4),
        change_type="new_construction",
        first_seen=dt.date(2025, 6, 1),
    )
    pairs = [(d, to_utm(d.geometry, aoi.grid.epsg)) for d in (new, old)]
    layers = burn_detections(pairs, aoi.grid, np.zeros(aoi.grid.shape, dtype=bool))
    assert layers.change_class[8, 8] == 1 and layers.first_seen[8, 8] == 20250601
    assert layers.change_class[5, 5] == 2 and layers.first_seen[5, 5] == 20240301


def _chip(grid: Grid, reflectance: float) -> Chip:
    coded = np.full(
        (len(CHIP_BANDS), *grid.shape), round((reflectance + 0.1) / 1e-4), dtype=np.uint16
    )
    return Chip(
        aoi_id="kk-park",
        scene_id="S2X",
        datetime=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        grid=grid,
        reflectance=coded,
        valid=np.ones(grid.shape, dtype=bool),
        scl=None,
        rule=ReflectanceRule(),
    )


def test_true_colour_has_a_fixed_stretch(
    aoi: Aoi, detections: list[Detection], tmp_path: Path
) -> None:
    grid = aoi.grid
    det = detections[0]
    window, row0, col0 = detection_window(to_utm(det.geometry, grid.epsg), grid, margin_px=5)
    assert (row0, col0) == (5, 5) and window.shape == (3 + 10, 4 + 10)
    chip = _chip(grid, 0.15)
    chip.reflectance[2, 6, 6] = 0  # red missing: no data in every band
    chip.reflectance[0, 7, 7] = round((0.5 + 0.1) / 1e-4)  # very bright blue: clipped
    chip.reflectance[1, 8, 8] = round((-0.05 + 0.1) / 1e-4)  # slightly negative: darkest
    rgb = true_colour(chip, window, row0, col0)
    assert rgb.shape == (3, *window.shape) and rgb.dtype == np.uint8
    assert rgb[0, 0, 0] == 128  # 0.15 of 0.3 -> 1 + 254 / 2
    assert (rgb[:, 1, 1] == 0).all()  # no data
    assert rgb[2, 2, 2] == 255 and rgb[1, 3, 3] == 1
    # Another image of the same reflectance maps to the same values: no per-image stretch.
    assert np.array_equal(true_colour(_chip(grid, 0.15), window, row0, col0)[:, 0, 0], rgb[:, 0, 0])
    path = tmp_path / "before.tif"
    with staged(False) as staging:
        write_true_colour(staging, path, rgb, window, {"SCENE": "S2X"})
    assert_cog(path, overviews=False)
    with rasterio.open(path) as src:
        assert src.count == 3 and src.nodata == 0 and src.tags()["SCENE"] == "S2X"
        assert (src.transform.c, src.transform.f) == (window.left, window.top)
        assert np.array_equal(src.read(), rgb)


def test_window_is_clipped_to_the_grid(aoi: Aoi) -> None:
    det = make_detection("edge", aoi, block(0, 0, 2, 2))
    window, row0, col0 = detection_window(to_utm(det.geometry, aoi.grid.epsg), aoi.grid)
    assert (row0, col0) == (0, 0) and (window.left, window.top) == (aoi.grid.left, aoi.grid.top)
    assert window.width == min(aoi.grid.width, 2 + 24)


def test_shape_mismatch_is_refused(aoi: Aoi, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not match the grid"):
        write_cog(
            np.zeros((3, 3), np.uint8), aoi.grid, tmp_path / "x.tif", nodata=0, descriptions=["x"]
        )
