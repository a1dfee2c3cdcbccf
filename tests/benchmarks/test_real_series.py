"""Real Sentinel-2 series as catalogs the product reads; planting into them; SCL statistics."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, _BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


real_catalog = _load("real_catalog")
real_scl = _load("real_scl")
accuracy = _load("accuracy")

PLACE = "0000280849BAC91C"


@pytest.fixture(scope="module")
def series(shared_data: Path):
    folder = shared_data / "real-series" / PLACE
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    return real_catalog.read_series(folder)


def test_sources_say_which_series_time_series_mode_can_use(shared_data: Path) -> None:
    checks = {
        c.name.split("/")[0]: c for c in real_catalog.check_sources(shared_data / "real-series")
    }
    assert checks[PLACE].usable and checks[PLACE].dates == 72
    assert not checks["000028085BF08E7E"].usable
    assert "B02" in checks["000028085BF08E7E"].reason  # 20 m only: no 10 m bands
    assert (
        not checks["worldcereal-resources"].usable
        and "SCL" in checks["worldcereal-resources"].reason
    )


def test_catalog_is_read_by_the_catalog_and_imagery_stages(series, tmp_path: Path) -> None:
    from monitor.aoi import load_aoi
    from monitor.catalog import find_scenes, open_catalog
    from monitor.imagery import ChipCache, load_chip

    small = real_catalog.crop(series, 32, 32, dates=range(0, 6), row0=16, col0=16)
    collection = real_catalog.write_catalog(small, tmp_path / "cat")
    aoi = load_aoi(tmp_path / "cat" / "aoi.geojson")
    assert aoi.grid == small.grid and aoi.grid.epsg == 32631
    found = find_scenes(
        open_catalog(str(collection)), aoi, dt.date(2018, 1, 1), dt.date(2020, 1, 1)
    )
    scenes = sorted(found.scenes, key=lambda s: s.datetime)
    assert [s.datetime for s in scenes] == list(small.times)
    assert all(
        s.rule.offset == 0.0 and s.processing_baseline.startswith("02.") for s in scenes
    )  # before 2022-01-25: no +1000 in the pixels
    first = scenes[0]
    chip = load_chip(first, aoi, ChipCache(tmp_path / "chips")).chip
    assert chip is not None
    refl = chip.to_float()
    r, c = 7, 11
    expected_red = small.fine[0, 2, r, c] * 1e-4 + chip.rule.offset
    expected_swir = small.coarse[0, 0, r // 2, c // 2] * 1e-4 + chip.rule.offset
    assert refl[2, r, c] == pytest.approx(expected_red, abs=1e-4)
    assert refl[4, r, c] == pytest.approx(expected_swir, abs=1e-4)
    assert np.array_equal(chip.scl, small.scl_fine()[0])


def test_planting_changes_only_the_footprint_from_its_date_and_leaves_clouds(
    series, tmp_path: Path
) -> None:
    small = real_catalog.crop(series, 32, 32, row0=16, col0=16)
    mask = np.zeros(small.shape, dtype=bool)
    mask[4:11, 5:13] = True  # 56 px = 5,600 m2
    start = dt.date(2019, 7, 20)
    plant = real_catalog.Plant("p0", "new_construction", start, mask, "metal_roof")
    planted = real_catalog.plant(small, [plant], seed=3)
    after = np.array([t.date() >= start for t in small.times])
    assert np.array_equal(planted.fine[~after], small.fine[~after])
    assert np.array_equal(planted.fine[:, :, ~mask], small.fine[:, :, ~mask])
    touched20 = mask.reshape(16, 2, 16, 2).any(axis=(1, 3))
    assert np.array_equal(planted.coarse[:, :, ~touched20], small.coarse[:, :, ~touched20])
    assert np.array_equal(planted.scl, small.scl)
    masked = np.isin(small.scl_fine(), real_catalog.MASKED_SCL)
    inside_masked = masked & mask[None] & after[:, None, None]
    assert inside_masked.any()
    assert np.array_equal(
        planted.fine.transpose(1, 0, 2, 3)[:, inside_masked],
        small.fine.transpose(1, 0, 2, 3)[:, inside_masked],
    )
    clear_after = ~masked & mask[None] & after[:, None, None]
    changed = (planted.fine != small.fine).any(axis=1)
    assert changed[clear_after].mean() > 0.95
    # A metal roof is far brighter in blue than the summer fields it replaced.
    blue = planted.fine[:, 0].astype(float)
    assert np.median(blue[clear_after]) > 2000 > np.median(small.fine[:, 0][clear_after])
    path = real_catalog.write_truth(tmp_path / "truth.geojson", planted, [plant])
    (truth,) = accuracy.load_truth(path, small.aoi_id, epsg=small.epsg)
    assert truth.start == start and truth.area_m2 == 5600.0
    assert truth.geometry.area == pytest.approx(5600.0, rel=1e-3)
    hit = accuracy.Found(
        "d",
        "new_construction",
        start + dt.timedelta(days=20),
        real_catalog.footprint_utm(small, mask),
        start,
    )
    assert accuracy.score([hit], [truth], area_km2=0.1, years=0.4).n_found == 1


def test_drawn_plants_fit_the_grid_apart_and_have_clear_views(series) -> None:
    first, last = dt.date(2019, 7, 1), dt.date(2019, 10, 15)
    plants = real_catalog.draw_plants(series, 1, 4, first, last)
    assert len(plants) >= 3
    union = np.zeros(series.shape, dtype=int)
    for p in plants:
        assert 400 <= p.area_m2 <= 20_000 * 1.1 and first <= p.start <= last
        assert real_catalog.clear_views(series, p.mask, p.start) >= 5
        union += p.mask
    assert union.max() == 1


def test_scl_shares_of_a_hand_made_scene() -> None:
    scl = np.array([[2, 2, 6, 7], [4, 5, 5, 4], [8, 9, 3, 0], [2, 4, 10, 1]])
    shares = real_scl.scene_shares(scl)
    # valid: 2 2 6 7 4 5 5 4 2 4 -> 10 of 16; of them 2: 3, 6: 1, 7: 1, 4/5: 5
    assert shares["clear_fraction"] == pytest.approx(10 / 16)
    assert shares["dark"] == pytest.approx(0.3) and shares["water"] == pytest.approx(0.1)
    assert shares["unclassified"] == pytest.approx(0.1)
    assert shares["dark_water_unclassified"] == pytest.approx(0.5)
    assert shares["vegetation_or_bare"] == pytest.approx(0.5)
    assert shares["dark_water_unclassified_of_aoi"] == pytest.approx(5 / 16, abs=1e-4)
    assert shares["shadow_of_all"] == pytest.approx(1 / 16, abs=1e-4)
    summary = real_scl.summarise(
        [{"date": "d", **shares}, {"date": "e", **real_scl.scene_shares(np.full((2, 2), 2))}]
    )
    assert summary["n_majority_267_of_valid"] == 1 and summary["n_majority_267_of_aoi"] == 1
