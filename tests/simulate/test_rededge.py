"""The simulator's red edge (B05 B06 B07 B8A): shapes by surface, through the sensor, in the
archive with its metadata and offsets, and every other file unchanged by it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from monitor.simulate import MARKER, simulate_archive
from monitor.simulate.cover import Cover, FieldCrop
from monitor.simulate.groundworld import (
    BASE_SPECTRA,
    MATERIAL_EDGE_SHAPES,
    N_VARIANTS,
    material_spectrum,
    random_ground_draw,
)
from monitor.simulate.land import render_surface
from monitor.simulate.rededge import (
    RED_EDGE_KEYS,
    EdgeShape,
    jittered_edge,
    red_edge,
)
from monitor.simulate.schedule import Weather
from monitor.simulate.seasons import class_spectra, parcel_spectra
from monitor.simulate.sensor import BOA_ADD_OFFSET, observe
from tests.simulate.test_groundworld import small_ground
from tests.simulate.test_world import RED_EDGE_FILES, tiny_aoi, without_red_edge

CLEAR = Weather(cloud_fraction=0.0, haze=0.0, cirrus=0.0, cloud_height_m=1500.0)
GREEN_RICE = (0.030, 0.070, 0.040, 0.380, 0.200, 0.090)
STUBBLE = (0.070, 0.090, 0.115, 0.200, 0.290, 0.230)
LATERITE = (0.085, 0.112, 0.160, 0.240, 0.325, 0.270)
RIVER = (0.062, 0.088, 0.100, 0.070, 0.019, 0.012)
CONCRETE = (0.170, 0.185, 0.200, 0.235, 0.275, 0.250)
YEAR = [dt.date(2025, 1, 1) + dt.timedelta(days=d) for d in range(0, 365, 7)]


def _way(spectrum: tuple[float, ...], edge: np.ndarray) -> np.ndarray:
    """Share of the way from red to NIR of each red-edge band."""
    red, nir = spectrum[2], spectrum[3]
    return (edge - red) / (nir - red)


def test_green_vegetation_has_the_red_edge() -> None:
    b05, b06, b07, b8a = red_edge(GREEN_RICE, EdgeShape.VEGETATION)
    red, nir = GREEN_RICE[2], GREEN_RICE[3]
    assert red < b05 < red + 0.25 * (nir - red)  # a little above red
    assert 0.4 < _way(GREEN_RICE, b06) < 0.7  # about half way
    assert b07 > 0.9 * nir and abs(b8a / nir - 1) < 0.04  # NIR plateau, B8A ~ B08
    assert b05 < b06 < b07 < b8a


def test_senescent_vegetation_has_a_weak_blue_shifted_edge() -> None:
    green = _way(GREEN_RICE, red_edge(GREEN_RICE, EdgeShape.VEGETATION))
    dry = red_edge(STUBBLE, EdgeShape.VEGETATION)
    old = _way(STUBBLE, dry)
    # Weak: the rise from red to NIR is a fraction of green canopy's; blue-shifted: B05 and
    # B06 lie further along it.
    assert STUBBLE[3] - STUBBLE[2] < 0.4 * (GREEN_RICE[3] - GREEN_RICE[2])
    assert old[0] > green[0] + 0.15 and old[1] > green[1] + 0.1
    assert np.all(np.diff(dry) > 0) and abs(dry[3] / STUBBLE[3] - 1) < 0.05


def test_soil_rises_smoothly_water_falls_man_made_is_flat() -> None:
    soil = red_edge(LATERITE, EdgeShape.SOIL)
    assert LATERITE[2] < soil[0] and np.all(np.diff(soil) > 0)
    # A gentle upward bow: above the straight line, less than green vegetation's jump.
    flat_line = red_edge(LATERITE, EdgeShape.FLAT)
    assert np.all(soil[:3] > flat_line[:3]) and np.all(soil[:3] - flat_line[:3] < 0.03)
    water = red_edge(RIVER, EdgeShape.WATER)
    assert np.all(np.diff(water) < 0) and water.max() < RIVER[2] and water[3] < RIVER[3]
    concrete = red_edge(CONCRETE, EdgeShape.FLAT)
    slope = (CONCRETE[3] - CONCRETE[2]) / (842 - 665)
    expected = CONCRETE[2] + slope * (np.array([705, 740, 783, 865]) - 665)
    np.testing.assert_allclose(concrete, expected, atol=2e-4)


@pytest.mark.parametrize("seed", range(40))
def test_jittered_shapes_keep_the_physical_order(seed: int) -> None:
    edge = jittered_edge(np.random.default_rng(seed))
    for spectrum, shape in (
        (GREEN_RICE, EdgeShape.VEGETATION),
        (STUBBLE, EdgeShape.VEGETATION),
        (LATERITE, EdgeShape.SOIL),
        (CONCRETE, EdgeShape.FLAT),
    ):
        values = red_edge(spectrum, shape, edge)
        assert spectrum[2] < values[0] and np.all(np.diff(values) > 0)
    assert np.all(np.diff(red_edge(RIVER, EdgeShape.WATER, edge)) < 0)
    assert abs(red_edge(GREEN_RICE, EdgeShape.VEGETATION, edge)[3] / GREEN_RICE[3] - 1) < 0.06


def test_default_tables_have_physical_red_edges_all_year() -> None:
    """Every cover through the year: the six bands as before, the red edge by its shape."""
    for day in YEAR:
        six, ten = class_spectra(day), class_spectra(day, red_edge=True)
        assert ten.shape == (six.shape[0], 10)
        assert six.tobytes() == np.ascontiguousarray(ten[:, :6]).tobytes()
        red, nir = ten[:, 2], ten[:, 3]
        edge = ten[:, 6:]
        for cover in (Cover.FOREST, Cover.LAWN, Cover.SCRUB, Cover.GRASS):
            assert edge[cover, 0] < edge[cover, 1] < edge[cover, 3]
            assert abs(edge[cover, 3] / nir[cover] - 1) < 0.05
        for cover in (Cover.WATER, Cover.POND):
            assert np.all(np.diff(edge[cover]) < 0) and edge[cover].max() < 0.11
        for cover in (Cover.SOIL, Cover.SANDBAR, Cover.SITE):
            assert red[cover] < edge[cover, 0] and np.all(np.diff(edge[cover]) > 0)
        for cover in (Cover.CONCRETE, Cover.ROOF_WHITE, Cover.ROOF_GREY, Cover.ASPHALT):
            step = (nir[cover] - red[cover]) / 177.0  # own slope, per nm
            assert abs(edge[cover, 1] - (red[cover] + 75 * step)) < 1e-3


def test_random_world_materials_extend_to_the_red_edge() -> None:
    draw = random_ground_draw(11)
    variants = np.arange(N_VARIANTS)
    for material in BASE_SPECTRA:
        ten = material_spectrum(draw, material, variants, red_edge=True)
        six = material_spectrum(draw, material, variants)
        assert ten[:, :6].tobytes() == six.tobytes()
        edge = ten[:, 6:]
        steps = np.diff(np.concatenate([ten[:, 2:3], edge], axis=1), axis=1)
        if MATERIAL_EDGE_SHAPES[material] == EdgeShape.FLAT:
            # Its own slope, which a tint may tip either way: one direction throughout.
            direction = np.sign(ten[:, 3] - ten[:, 2])[:, None]
            assert np.all(steps * direction >= 0), material
        else:
            assert np.all(steps > 0), material
    # Another seed, another shape: the red edge is drawn too, not only derived.
    other = random_ground_draw(12)
    ratio = [
        material_spectrum(d, "rice_green", 0, red_edge=True)[7]
        / material_spectrum(d, "rice_green", 0)[3]
        for d in (draw, other)
    ]
    assert ratio[0] != ratio[1]


@pytest.mark.parametrize("world", ["default", "random"])
def test_render_surface_keeps_the_six_bands_and_mixes_the_red_edge(world: str) -> None:
    draw = random_ground_draw(3) if world == "random" else None
    ground, _ = small_ground(draw=draw)
    day = dt.date(2025, 9, 25)
    six = render_surface(ground, ground.cover, ground.height_m, day, 55.0, 150.0, draw=draw)
    ten = render_surface(
        ground, ground.cover, ground.height_m, day, 55.0, 150.0, draw=draw, red_edge=True
    )
    assert ten.shape == (10, *six.shape[1:])
    assert np.ascontiguousarray(ten[:6]).tobytes() == six.tobytes()
    # Per-pixel mixtures (trees over fields, the river over its banks, shadows, tone) keep
    # every pixel's red edge between its red and (a little beyond) its NIR.
    red, nir, edge = ten[2], ten[3], ten[6:]
    rising = nir > red * 1.2
    assert np.all(edge[0][rising] >= red[rising] - 1e-6)
    assert np.all(edge[3][rising] <= nir[rising] * 1.16 + 1e-6)
    parcels = parcel_spectra(ground, day, draw if draw is not None else None, red_edge=True)
    assert parcels.shape[1] == 10


def _blocks() -> tuple[np.ndarray, dict[str, tuple[slice, slice]]]:
    """A 10-band surface of 20 x 20 px blocks of known covers on one September day."""
    table = class_spectra(dt.date(2025, 9, 25), red_edge=True)
    covers = {
        "forest": table[Cover.FOREST],
        "rice": table[Cover.PADDY],
        "water": table[Cover.WATER],
        "soil": table[Cover.SOIL],
        "sand": table[Cover.SANDBAR],
        "concrete": table[Cover.CONCRETE],
    }
    surface = np.zeros((10, 40, 60), dtype=np.float32)
    where = {}
    for i, (name, spectrum) in enumerate(covers.items()):
        r, c = divmod(i, 3)
        block = (slice(20 * r, 20 * r + 20), slice(20 * c, 20 * c + 20))
        surface[(slice(None), *block)] = spectrum[:, None, None]
        # The inside of the block at 20 m, clear of the point spread's reach.
        where[name] = (slice(10 * r + 2, 10 * r + 8), slice(10 * c + 2, 10 * c + 8))
    return surface, where


def test_the_sensor_keeps_the_physical_order_within_noise() -> None:
    surface, where = _blocks()
    kwargs = dict(sun_elevation_deg=55.0, sun_azimuth_deg=150.0, offset_in_pixels=True)
    seen = observe(
        surface, CLEAR, np.random.default_rng(1), red_edge_rng=np.random.default_rng(2), **kwargs
    )
    assert seen.red_edge20 is not None and seen.red_edge20.shape == (4, 20, 30)
    six = observe(surface[:6], CLEAR, np.random.default_rng(1), **kwargs)
    assert six.red_edge20 is None
    for a, b in ((seen.bands10, six.bands10), (seen.bands20, six.bands20), (seen.scl, six.scl)):
        assert a.tobytes() == b.tobytes()
    edge = (seen.red_edge20.astype(float) - BOA_ADD_OFFSET) / 1e4
    ten_m = (seen.bands10.astype(float) - BOA_ADD_OFFSET) / 1e4
    red = ten_m[2].reshape(20, 2, 30, 2).mean(axis=(1, 3))
    nir = ten_m[3].reshape(20, 2, 30, 2).mean(axis=(1, 3))
    noise = 0.0015  # a few sigma of a 20 m pixel's noise
    for name in ("forest", "rice"):
        rows, cols = where[name]
        b05, b06, b07, b8a = edge[:, rows, cols]
        assert np.all((b05 < b06) & (b06 < b8a))
        assert np.all(np.abs(b8a / nir[rows, cols] - 1) < 0.06)
    rows, cols = where["water"]
    b05, b06, b07, b8a = edge[:, rows, cols]
    assert np.all((b05 > b06 - noise) & (b06 > b07 - noise) & (b07 > b8a - noise))
    assert float(b05.mean()) > float(b06.mean()) > float(b07.mean()) > float(b8a.mean())
    for name in ("soil", "sand"):
        rows, cols = where[name]
        steps = np.diff(np.concatenate([red[None, rows, cols], edge[:, rows, cols]]), axis=0)
        assert np.all(steps > -noise)
        assert np.all(steps.mean(axis=(1, 2)) > 0)
    with pytest.raises(ValueError, match="red_edge_rng"):
        observe(surface, CLEAR, np.random.default_rng(1), **kwargs)


# ------------------------------------------------------------------------------------------
# The archive
# ------------------------------------------------------------------------------------------

PERIOD = dt.date(2025, 2, 1), dt.date(2025, 3, 10)


def _simulate(out: Path, world: str, style: str, red_edge: bool = True) -> Path:
    simulate_archive(
        [tiny_aoi()],
        out,
        seed=6,
        style=style,
        start=PERIOD[0],
        end=PERIOD[1],
        world=world,
        workers=1,
        red_edge=red_edge,
    )
    return out


@pytest.fixture(scope="module", params=[("default", "c1"), ("random", "l2a")])
def both(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The same tiny archive with the red edge and without it (the six-band code)."""
    world, style = request.param
    with_edge = _simulate(tmp_path_factory.mktemp(f"with-{world}"), world, style)
    without = _simulate(tmp_path_factory.mktemp(f"without-{world}"), world, style, False)
    return world, style, with_edge, without


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def test_every_other_file_is_byte_identical(both) -> None:
    """COGs of the six bands and SCL, truth.tif, truth.geojson, collection, items (but their
    red-edge assets): the same bytes with the red edge as without. Any draw of the six bands
    that moved (a generator shared with the red edge) would change them."""
    _, _, with_edge, without = both
    before, after = _files(without), _files(with_edge)
    added = after - before
    assert before <= after
    assert added and {p.name for p in added} == RED_EDGE_FILES
    n_items = len(list((without / "items").glob("*.json")))
    assert len(added) == 4 * n_items
    compared = 0
    for path in sorted(before - {Path(MARKER)}):
        old, new = (without / path).read_bytes(), (with_edge / path).read_bytes()
        if path.parts[0] == "items":
            new = without_red_edge(new.decode("utf-8"))
        assert new == old, path
        compared += 1
    assert compared == len(before) - 1 > 50
    old_marker = json.loads((without / MARKER).read_text())
    new_marker = json.loads((with_edge / MARKER).read_text())
    for key in ("bytes_written", "seconds"):
        old_marker.pop(key), new_marker.pop(key)
    # The one parameter that differs is recorded: a different simulation to the marker.
    assert (old_marker["params"].pop("red_edge"), new_marker["params"].pop("red_edge")) == (
        False,
        True,
    )
    assert new_marker == old_marker


def test_red_edge_assets_in_the_items(both) -> None:
    _, style, with_edge, _ = both
    names = {"rededge1": "B05", "rededge2": "B06", "rededge3": "B07", "nir08": "B8A"}
    centres = {"rededge1": 0.704, "rededge2": 0.74, "rededge3": 0.783, "nir08": 0.865}
    for path in sorted((with_edge / "items").glob("*.json")):
        item = json.loads(path.read_text())
        swir = item["assets"]["swir16"]
        for key in RED_EDGE_KEYS:
            asset = item["assets"][key]
            band = asset["eo:bands"][0]
            assert band["name"] == names[key] and band["center_wavelength"] == centres[key]
            assert band["common_name"] == ("nir08" if key == "nir08" else "rededge")
            assert asset["gsd"] == 20 and asset["roles"] == ["data", "reflectance"]
            for field in ("raster:bands", "proj:shape", "proj:transform", "type"):
                assert asset[field] == swir[field]
            assert asset["href"] == f"../assets/{item['id']}/{names[key]}.tif"
            with rasterio.open(path.parent / asset["href"]) as dataset:
                assert list(dataset.shape) == asset["proj:shape"]
                assert list(dataset.transform)[:6] == asset["proj:transform"]
                assert dataset.dtypes[0] == "uint16" and dataset.nodata == 0


def _read(root: Path, item: dict, key: str) -> np.ndarray:
    with rasterio.open(root / "items" / item["assets"][key]["href"]) as dataset:
        return dataset.read(1).astype(float)


def test_red_edge_offset_follows_the_style(both) -> None:
    """c1 keeps +1000 in every band; l2a removes it except in the wrongly flagged items,
    whose red edge keeps it like their other bands. Over vegetation B8A ~ B08 and B05 a
    little above B04 in the stored numbers only if both carry the same offset (a missing or
    extra 1000 would stand out by far more than the bands differ)."""
    _, style, with_edge, _ = both
    wrong = set(json.loads((with_edge / MARKER).read_text())["wrongly_flagged_items"])
    checked = 0
    for path in sorted((with_edge / "items").glob("*.json")):
        item = json.loads(path.read_text())
        scl = _read(with_edge, item, "scl")
        rows, cols = scl.shape

        def at20(key: str, item: dict = item, shape: tuple[int, int] = (rows, cols)) -> np.ndarray:
            rows, cols = shape
            return _read(with_edge, item, key).reshape(rows, 2, cols, 2).mean(axis=(1, 3))

        b05, b8a = _read(with_edge, item, "rededge1"), _read(with_edge, item, "nir08")
        b04, b08 = at20("red"), at20("nir")
        vegetation = (scl == 4) & (b8a > 0) & (b04 > 0)
        if vegetation.sum() < 50:
            continue
        assert abs(float(np.median(b8a[vegetation] - b08[vegetation]))) < 300, item["id"]
        assert 0 < float(np.median(b05[vegetation] - b04[vegetation])) < 800, item["id"]
        checked += 1
        if style == "l2a" and item["id"] not in wrong:
            assert float(np.percentile(b8a[vegetation], 50)) < 5000  # no +1000 on ~0.3
    assert checked > 3
    if style == "l2a":
        assert wrong


def test_field_crop_red_edge_follows_the_season() -> None:
    """A rice parcel: weak edge on stubble in March, the full edge in late September."""
    ground, _ = small_ground()
    assert ground.parcel_crop is not None
    rice = int(np.flatnonzero(ground.parcel_crop == FieldCrop.RICE)[0])
    march = parcel_spectra(ground, dt.date(2025, 3, 1), red_edge=True)[rice]
    september = parcel_spectra(ground, dt.date(2025, 9, 25), red_edge=True)[rice]
    jump = [s[7] - s[2] for s in (march, september)]  # B06 above red
    assert jump[1] > 2 * jump[0] > 0
