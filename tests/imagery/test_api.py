"""The notebook API: chips of several scenes as one xarray Dataset."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from monitor.imagery import chips_to_xarray, load_chips
from tests.imagery.cogs import make_scene
from tests.imagery.conftest import AOI_COL, AOI_ROW


def test_load_chips_and_dataset(scene_files, aoi, cache, env):
    base = dt.datetime(2025, 2, 1, 4, tzinfo=dt.UTC)
    scenes = [
        make_scene(scene_files.hrefs("c1"), scene_id="B", when=base + dt.timedelta(days=5)),
        make_scene(scene_files.hrefs("l2a"), scene_id="A", offset_in_pixels=False, when=base),
        make_scene(
            scene_files.hrefs("c1", scl="cloudy"), scene_id="C", when=base + dt.timedelta(days=10)
        ),
    ]
    outcomes = load_chips(scenes, aoi, cache, env=env)
    assert [o.scene_id for o in outcomes] == ["A", "B", "C"]  # oldest first
    assert [o.status for o in outcomes] == ["used", "used", "skipped"]
    ds = chips_to_xarray([o.chip for o in outcomes if o.chip is not None])
    assert ds.reflectance.dims == ("time", "band", "y", "x")
    assert ds.reflectance.shape == (2, 6, aoi.grid.height, aoi.grid.width)
    assert ds.attrs["crs"] == "EPSG:32647"
    assert list(ds.band.values) == ["blue", "green", "red", "nir", "swir16", "swir22"]
    assert ds.x.values[0] == aoi.grid.left + 5 and ds.y.values[0] == aoi.grid.top - 5
    assert np.all(np.diff(ds.x.values) == 10) and np.all(np.diff(ds.y.values) == -10)
    assert ds.valid.dims == ("time", "y", "x") and ds.scl.dtype == np.uint8
    assert list(ds.scene_id.values) == ["A", "B"]
    # Both collections' rules give the same reflectance.
    nir = ds.reflectance.sel(band="nir")
    np.testing.assert_allclose(nir.isel(time=0), nir.isel(time=1), atol=1e-6)
    want = scene_files.field.reflectance["nir"][AOI_ROW, AOI_COL]
    assert float(nir.isel(time=0, y=0, x=0)) == pytest.approx(want, abs=6e-5)


def test_chips_of_different_grids_are_refused(scene_files, aoi, cache, env):
    from tests.imagery.cogs import PIECE_LEFT, PIECE_TOP, utm_box_aoi

    other = utm_box_aoi(PIECE_LEFT + 400, PIECE_TOP - 400, 20, 20, "other")
    a = load_chips([make_scene(scene_files.hrefs("c1"))], aoi, cache, env=env)[0].chip
    b = load_chips([make_scene(scene_files.hrefs("c1"))], other, cache, env=env)[0].chip
    with pytest.raises(ValueError, match="another grid"):
        chips_to_xarray([a, b])
