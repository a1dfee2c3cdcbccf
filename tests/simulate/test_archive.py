"""The simulated archive: determinism, STAC form, offsets per style, truth, refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from shapely.geometry import box

from monitor.aoi.grid import grid_for_geometry
from monitor.errors import ConfigError, StateError
from monitor.models import Aoi
from monitor.simulate import MARKER, simulate_archive
from monitor.simulate.changes import CHANGE_CODES
from monitor.simulate.cogs import COG_OVERVIEW_FACTORS

START, END = dt.date(2025, 9, 1), dt.date(2026, 1, 10)


def small_aoi(aoi_id: str = "kk-park-east") -> Aoi:
    """About 85 x 78 px in the eastern section of KK Park (the demolitions scenario)."""
    geometry = box(98.565, 16.625, 98.573, 16.632)
    return Aoi(
        id=aoi_id,
        name="test",
        geometry=geometry,
        geometry_hash=hashlib.sha256(shapely.to_wkb(geometry)).hexdigest(),
        grid=grid_for_geometry(geometry),
        kind="compound",
    )


@pytest.fixture(scope="module")
def c1_archive(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sim-c1")
    return simulate_archive([small_aoi()], out, seed=3, style="c1", start=START, end=END)


@pytest.fixture(scope="module")
def l2a_archive(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sim-l2a")
    return simulate_archive([small_aoi()], out, seed=3, style="l2a", start=START, end=END)


def _items(result) -> list[dict]:
    collection = json.loads(result.collection_path.read_text())
    links = [link["href"] for link in collection["links"] if link["rel"] == "item"]
    return [json.loads((result.out_dir / href).read_text()) for href in links]


def _read(result, item: dict, key: str) -> np.ndarray:
    href = result.out_dir / "items" / item["assets"][key]["href"]
    with rasterio.open(href) as dataset:
        return dataset.read(1)


def test_small_aoi_is_small() -> None:
    grid = small_aoi().grid
    assert grid.width <= 100 and grid.height <= 100


def test_items_have_earth_search_form(c1_archive) -> None:
    items = _items(c1_archive)
    assert len(items) == c1_archive.n_items > 20  # three satellites: ~9 per month
    item = items[0]
    props = item["properties"]
    assert props["monitor:simulated"] is True
    assert props["platform"] in {"sentinel-2a", "sentinel-2b", "sentinel-2c"}
    assert props["proj:epsg"] == 32647 and props["proj:code"] == "EPSG:32647"
    assert (props["mgrs:utm_zone"], props["mgrs:latitude_band"], props["mgrs:grid_square"]) == (
        47,
        "Q",
        "MU",
    )
    assert props["grid:code"] == "MGRS-47QMU"
    assert props["s2:processing_baseline"].startswith("05.")
    assert f"_R{props['sat:relative_orbit']:03d}_" in props["s2:product_uri"]
    assert 0 <= props["eo:cloud_cover"] <= 100
    assert "earthsearch:boa_offset_applied" not in props
    assert set(item["assets"]) == {
        "blue",
        "green",
        "red",
        "nir",
        "swir16",
        "swir22",
        "scl",
        "rededge1",
        "rededge2",
        "rededge3",
        "nir08",
    }
    assert item["collection"] == "sentinel-2-c1-l2a"
    for key, asset in item["assets"].items():
        band = asset["raster:bands"][0]
        assert band["nodata"] == 0
        with rasterio.open(c1_archive.out_dir / "items" / asset["href"]) as dataset:
            assert list(dataset.shape) == asset["proj:shape"]
            assert list(dataset.transform)[:6] == asset["proj:transform"]
            assert dataset.crs.to_epsg() == 32647
            assert dataset.block_shapes[0] == (1024, 1024)
            assert dataset.overviews(1) == list(COG_OVERVIEW_FACTORS) != []
            assert dataset.profile["compress"] == "deflate"
            # Pixels sit on the tile's lattice (origin 399960 E, 1900020 N).
            assert (dataset.transform.c - 399960) % asset["gsd"] == 0
            assert (1900020 - dataset.transform.f) % asset["gsd"] == 0
        if key == "scl":
            assert band["data_type"] == "uint8" and "scale" not in band
        else:
            assert band["data_type"] == "uint16"
            assert (band["scale"], band["offset"]) == (0.0001, -0.1)
            common = "rededge" if key.startswith("rededge") else key
            assert asset["eo:bands"][0]["common_name"] == common
    # The item footprint covers the AOI.
    footprint = shapely.geometry.shape(item["geometry"])
    assert footprint.contains(small_aoi().geometry)


def _clear_dark_level(result, item: dict) -> float:
    """The 1st percentile of SWIR 2.2 um over SCL-clear pixels, in DN (nan if too few).

    Dark surfaces (shade, asphalt, dense trees) sit near 0.03 reflectance in B12, far
    below the +1000 offset, whatever the compound's bright roofs do to a median.
    """
    swir = _read(result, item, "swir22")
    scl = _read(result, item, "scl")
    clear = np.isin(scl, [4, 5]) & (swir > 0)
    return float(np.percentile(swir[clear], 1)) if clear.sum() > 200 else float("nan")


def test_c1_pixels_keep_the_offset(c1_archive) -> None:
    levels = [m for m in (_clear_dark_level(c1_archive, i) for i in _items(c1_archive)) if m == m]
    assert levels and min(levels) > 1000  # dark surfaces ~0.01-0.06, +1000


def test_l2a_offset_removed_except_wrongly_flagged(l2a_archive) -> None:
    marker = json.loads((l2a_archive.out_dir / MARKER).read_text())
    wrong = set(marker["wrongly_flagged_items"])
    assert len(wrong) == 1  # 2 a year over a ~4-month archive, at least 1
    seen_wrong = 0
    for item in _items(l2a_archive):
        assert item["collection"] == "sentinel-2-l2a"
        assert item["properties"]["earthsearch:boa_offset_applied"] is True
        level = _clear_dark_level(l2a_archive, item)
        if level != level:
            continue
        if item["id"] in wrong:
            assert level > 1000
            seen_wrong += 1
        else:
            assert level < 1000
    assert seen_wrong == 1


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    kwargs = dict(
        seed=5,
        style="c1",
        start=dt.date(2025, 11, 1),
        end=dt.date(2025, 12, 20),
        scenario="kk-park-east",
    )
    a = simulate_archive([small_aoi()], tmp_path / "a", workers=1, **kwargs)
    b = simulate_archive([small_aoi()], tmp_path / "b", workers=2, **kwargs)
    c = simulate_archive([small_aoi()], tmp_path / "c", workers=1, **{**kwargs, "seed": 6})

    def digest(result) -> str:
        h = hashlib.sha256()
        for path in sorted((result.out_dir / "assets").rglob("*.tif")):
            h.update(path.read_bytes())
        h.update(result.truth_tif.read_bytes())
        return h.hexdigest()

    assert digest(a) == digest(b)
    assert digest(a) != digest(c)
    assert a.truth_geojson.read_text() == b.truth_geojson.read_text()


def test_truth_files_agree(c1_archive) -> None:
    truth = json.loads(c1_archive.truth_geojson.read_text())
    features = truth["features"]
    assert c1_archive.n_changes == len(features) > 3
    assert {f["properties"]["change_type"] for f in features} >= {"demolition"}
    with rasterio.open(c1_archive.truth_tif) as dataset:
        codes = dataset.read(1)
        assert dataset.nodata == 255
        assert dataset.shape == small_aoi().grid.shape
    for change_type, code in CHANGE_CODES.items():
        expected = sum(
            f["properties"]["n_pixels"]
            for f in features
            if f["properties"]["change_type"] == change_type
            and "kk-park-east" in f["properties"]["aois"]
        )
        assert int((codes == code).sum()) == expected
    for feature in features:
        props = feature["properties"]
        assert props["area_m2"] == props["n_pixels"] * 100
        start, end = dt.date.fromisoformat(props["start"]), dt.date.fromisoformat(props["end"])
        assert START <= start <= end
        # The polygon's area in UTM is the pixel count's.
        from monitor.aoi.grid import to_utm

        area = to_utm(shapely.geometry.shape(feature["geometry"]), 32647).area
        assert area == pytest.approx(props["area_m2"], rel=0.01)
    # Demolitions from late October into December 2025.
    demolitions = [
        dt.date.fromisoformat(f["properties"]["start"])
        for f in features
        if f["properties"]["tag"] == "east-demolition"
    ]
    assert demolitions and min(demolitions) >= dt.date(2025, 10, 24)
    assert max(demolitions) <= dt.date(2025, 12, 20)


def test_planted_demolition_shows_in_pixels(c1_archive) -> None:
    """A large demolition changes the red band between the clearest scene before and after."""
    truth = json.loads(c1_archive.truth_geojson.read_text())
    big = max(truth["features"], key=lambda f: f["properties"]["n_pixels"])
    assert big["properties"]["n_pixels"] >= 20
    with rasterio.open(c1_archive.truth_tif) as dataset:
        codes = dataset.read(1)
    assert (codes > 0).sum() > 0 and (codes == 255).sum() >= 0


def test_refuses_a_folder_that_is_not_a_simulation(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StateError, match="not a simulation"):
        simulate_archive(
            [small_aoi()], tmp_path, start=dt.date(2025, 11, 1), end=dt.date(2025, 11, 20)
        )
    result = simulate_archive(
        [small_aoi()],
        tmp_path,
        start=dt.date(2025, 11, 1),
        end=dt.date(2025, 11, 20),
        overwrite=True,
    )
    assert (tmp_path / "notes.txt").exists() and result.n_items > 0


def test_reuses_identical_and_refuses_different_simulation(tmp_path: Path) -> None:
    kwargs = dict(start=dt.date(2025, 11, 1), end=dt.date(2025, 11, 20))
    first = simulate_archive([small_aoi()], tmp_path, **kwargs)
    again = simulate_archive([small_aoi()], tmp_path, **kwargs)
    assert again.reused and again.n_items == first.n_items
    with pytest.raises(StateError, match="different simulation"):
        simulate_archive([small_aoi()], tmp_path, seed=9, **kwargs)
    replaced = simulate_archive([small_aoi()], tmp_path, seed=9, overwrite=True, **kwargs)
    assert not replaced.reused


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(style="s2"), "unknown simulation style"),
        (dict(start=dt.date(2025, 6, 1), end=dt.date(2025, 1, 1)), "wrong order"),
        (dict(scenario="war"), "unknown simulation scenario"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        simulate_archive([small_aoi()], tmp_path / "out", **kwargs)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_catalog_stage_reads_the_collection(c1_archive, l2a_archive) -> None:
    catalog = pytest.importorskip("monitor.catalog")
    if not hasattr(catalog, "open_catalog") or not hasattr(catalog, "find_scenes"):
        pytest.skip("monitor.catalog has no open_catalog/find_scenes yet")
    aoi = small_aoi()
    for result, offset in ((c1_archive, -0.1), (l2a_archive, 0.0)):
        opened = catalog.open_catalog(str(result.collection_path))
        found = catalog.find_scenes(opened, aoi, START, END)
        scenes = list(getattr(found, "scenes", found))
        assert len(scenes) == result.n_items
        assert all(scene.simulated for scene in scenes)
        assert {scene.rule.offset for scene in scenes} == {offset}


def test_quicklook_png_has_panels_of_the_ground(tmp_path: Path) -> None:
    """``quicklook=True`` writes a PNG grid of ground-sized true-colour panels."""
    from PIL import Image

    result = simulate_archive(
        [small_aoi()],
        tmp_path / "ql",
        seed=2,
        style="l2a",
        start=dt.date(2025, 10, 1),
        end=dt.date(2026, 1, 31),
        quicklook=True,
        workers=1,
    )
    assert result.quicklook == tmp_path / "ql" / "quicklook.png"
    marker = json.loads((tmp_path / "ql" / MARKER).read_text())
    assert marker["quicklook"] == "quicklook.png"
    rows, cols = marker["grounds"]["kk-park-east"]["shape"]
    with Image.open(result.quicklook) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        width, height = image.size
        pixels = np.asarray(image)
    # Up to three panels across, each the ground's size plus a label strip; at least two
    # panels (the clearest and the cloudiest views differ over four months).
    assert 2 * cols <= width <= 3 * (cols + 6)
    assert rows + 18 <= height <= 2 * (rows + 18 + 6)
    assert result.quicklook.stat().st_size > 10_000
    # The panels hold imagery, not just the dark background.
    assert float(pixels.mean()) > 40
    assert result.bytes_written >= result.quicklook.stat().st_size
