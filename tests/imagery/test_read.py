"""Windowed reads over HTTP and from disk: requests, rules, SCL first, alignment, bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from monitor.errors import ReadError
from monitor.imagery import GdalSettings, gdal_env, load_chip, read_asset
from monitor.models import CHIP_BANDS, AssetRef
from tests.imagery.cogs import (
    EPSG,
    PIECE_LEFT,
    PIECE_TOP,
    make_scene,
    to_dn,
    utm_box_aoi,
    write_cog,
)
from tests.imagery.conftest import AOI_COL, AOI_H, AOI_ROW, AOI_W, expected_window


def _assert_reflectance(chip, field) -> None:  # type: ignore[no-untyped-def]
    values = chip.to_float()
    for i, band in enumerate(CHIP_BANDS):
        want = expected_window(field, band)
        np.testing.assert_allclose(values[i][chip.valid], want[chip.valid], atol=6e-5, err_msg=band)


def test_window_read_costs_header_plus_one_range_per_tile_row(scene_files, aoi, cog_server, env):
    href = scene_files.hrefs("c1", tag="count")["nir"]
    cog_server.clear_log()
    with gdal_env(env):
        got = read_asset(AssetRef("nir", href, 10.0), aoi.grid, EPSG, env)
    log = cog_server.requests("*/c1/nir.tif")
    ranged = [r for r in log if r.method == "GET" and r.range]
    # The window spans rows 1000-1060: two rows of 1024-px tiles, one tile column each.
    assert len(ranged) == 1 + 2, [(r.method, r.range) for r in log]
    assert all(r.method in ("GET", "HEAD") for r in log) and len(log) <= 4
    assert not [r for r in log if r.method == "GET" and not r.range]
    data_bytes = sum(r.bytes_sent for r in ranged[1:])
    assert got.bytes_estimate is not None
    assert data_bytes <= 1.1 * (got.bytes_estimate - 16384)
    assert got.data.shape == aoi.grid.shape and not got.warped
    np.testing.assert_array_equal(
        got.data, to_dn(expected_window(scene_files.field, "nir"), offset_in_pixels=True)
    )


def test_c1_keeps_the_offset_rule(scene_files, aoi, cache, env):
    scene = make_scene(
        scene_files.hrefs("c1"), collection="sentinel-2-c1-l2a", offset_in_pixels=True
    )
    outcome = load_chip(scene, aoi, cache, env=env)
    assert outcome.status == "used", outcome.reason
    assert outcome.rule.offset == -0.1 and outcome.rule.decided_by == "metadata"
    assert "pixels agree" in outcome.rule.reason
    _assert_reflectance(outcome.chip, scene_files.field)


def test_l2a_offset_removed_rule(scene_files, aoi, cache, env):
    scene = make_scene(
        scene_files.hrefs("l2a"),
        scene_id="S2B_47QMU_20250301_0_L2A",
        collection="sentinel-2-l2a",
        offset_in_pixels=False,
    )
    outcome = load_chip(scene, aoi, cache, env=env)
    assert outcome.status == "used"
    assert outcome.rule.offset == 0.0 and outcome.rule.decided_by == "metadata"
    _assert_reflectance(outcome.chip, scene_files.field)


def test_wrongly_flagged_l2a_item_follows_the_pixels(scene_files, aoi, cache, env):
    # The item says the offset was removed; the pixels still carry +1000.
    scene = make_scene(
        scene_files.hrefs("c1"),
        scene_id="S2B_47QMU_20250301_1_L2A",
        collection="sentinel-2-l2a",
        offset_in_pixels=False,
    )
    outcome = load_chip(scene, aoi, cache, env=env)
    assert outcome.status == "used"
    assert outcome.rule.offset == -0.1 and outcome.rule.decided_by == "pixels"
    assert "DN*0.0001" in outcome.rule.reason and "still in the pixels" in outcome.rule.reason
    _assert_reflectance(outcome.chip, scene_files.field)
    prov = outcome.chip.provenance
    assert prov["metadata_rule"]["offset"] == 0.0 and prov["rule"]["decided_by"] == "pixels"
    assert prov["offset_check"]["dark_source"] == "water"


def test_offset_subtracted_twice_is_caught(scene_files, aoi, cache, env):
    # The item says +1000 is in the pixels; they hold it removed already.
    scene = make_scene(scene_files.hrefs("l2a"), offset_in_pixels=True)
    outcome = load_chip(scene, aoi, cache, env=env)
    assert outcome.rule.offset == 0.0 and outcome.rule.decided_by == "pixels"
    _assert_reflectance(outcome.chip, scene_files.field)


def test_static_catalog_local_files(scene_files, aoi, cache, env):
    hrefs = scene_files.hrefs("c1", remote=False)
    hrefs["red"] = Path(hrefs["red"]).as_uri()  # file:// links work too
    outcome = load_chip(make_scene(hrefs), aoi, cache, env=env)
    assert outcome.status == "used"
    _assert_reflectance(outcome.chip, scene_files.field)
    assert outcome.chip.provenance["asset_hrefs"]["nir"] == hrefs["nir"]


def test_scl_first_skips_cloudy_scene_and_saves_bytes(scene_files, aoi, cog_server, cache, env):
    scene = make_scene(scene_files.hrefs("c1", scl="cloudy", tag="cloudy"))
    cog_server.clear_log()
    outcome = load_chip(scene, aoi, cache, env=env)
    assert outcome.status == "skipped" and outcome.chip is None
    assert outcome.reason == "AOI 5% clear by SCL (< 10%)"
    assert {r.path.rsplit("/", 1)[-1] for r in cog_server.log} == {"scl.tif"}
    clear = make_scene(scene_files.hrefs("c1", tag="clear"), scene_id="S2B_T47QMU_X_L2A")
    used = load_chip(clear, aoi, cache, env=env)
    assert used.bytes_read > 3 * outcome.bytes_read > 0


def test_scene_without_scl_masks_nodata_only(scene_files, aoi, cache, env):
    scene = make_scene(scene_files.hrefs("c1"), drop=("scl",))
    outcome = load_chip(scene, aoi, cache, env=env)
    assert outcome.status == "used" and outcome.chip.scl is None
    assert "no SCL" in outcome.reason
    assert outcome.chip.provenance["masked_by"].startswith("nodata only")
    assert outcome.chip.valid.all()


def test_20m_pixels_land_on_10m_pixel_edges(scene_files, aoi, cache, env):
    outcome = load_chip(make_scene(scene_files.hrefs("c1")), aoi, cache, env=env)
    chip = outcome.chip
    swir = chip.reflectance[CHIP_BANDS.index("swir16")]
    # Each 20 m pixel is exactly a 2 x 2 block of the 10 m grid...
    assert (swir[0::2, 0::2] == swir[1::2, 1::2]).all() and (swir[0::2] == swir[1::2]).all()
    # ... and the river edge falls on the same 10 m column in B08 (10 m), B11 and SCL (20 m).
    nir = chip.reflectance[CHIP_BANDS.index("nir")]
    water_cols = np.flatnonzero((chip.scl == 6).all(axis=0))
    dark_nir = np.flatnonzero((nir < 1200).all(axis=0))
    dark_swir = np.flatnonzero((swir < 1200).all(axis=0))
    assert len(water_cols) == 6 and water_cols[0] % 2 == 0
    np.testing.assert_array_equal(water_cols, dark_nir)
    np.testing.assert_array_equal(water_cols, dark_swir)


def test_window_partly_outside_is_filled_with_nodata(scene_files, cache, env):
    # 40 px beyond the right edge of the 2048-px test COGs.
    aoi = utm_box_aoi(PIECE_LEFT + (2048 - 40) * 10, PIECE_TOP - 200 * 10, 80, 40, "edge")
    outcome = load_chip(
        make_scene(scene_files.hrefs("c1")), aoi, cache, env=env, min_clear_fraction=0.0
    )
    chip = outcome.chip
    assert (chip.reflectance[:, :, 40:] == 0).all() and (chip.reflectance[:, :, :40] > 0).all()
    assert chip.valid[:, :40].all() and not chip.valid[:, 40:].any()
    assert outcome.clear_fraction == pytest.approx(0.5, abs=0.03)


def _one_line_naming(exc: ReadError, href: str) -> None:
    text = str(exc)
    assert "\n" not in text and href in text


def test_window_wholly_outside_is_a_read_error(scene_files, cache, env):
    aoi = utm_box_aoi(PIECE_LEFT + 30_000, PIECE_TOP, 40, 40, "far")
    scene = make_scene(scene_files.hrefs("c1"))
    with pytest.raises(ReadError, match="outside the asset") as info:
        load_chip(scene, aoi, cache, env=env)
    _one_line_naming(info.value, scene.assets["scl"].href)
    assert not cache.root.exists()


@pytest.fixture
def bad_files(tmp_path, cog_server, scene_files):  # type: ignore[no-untyped-def]
    """A folder on the COG server with a good scene's files plus bad ones."""
    root = cog_server.root
    for band, href in scene_files.hrefs("c1", remote=False).items():
        (root / f"{band}.tif").write_bytes(Path(href).read_bytes())
    (root / "html.tif").write_bytes(b"<html><body>Access denied</body></html>\n" * 40)
    whole = (root / "nir.tif").read_bytes()
    (root / "cut.tif").write_bytes(whole[: len(whole) // 2])
    field = scene_files.field
    write_cog(
        root / "utm48.tif",
        to_dn(field.reflectance["nir"], True),
        PIECE_LEFT,
        PIECE_TOP,
        10.0,
        epsg=32648,
    )
    return root


@pytest.mark.parametrize("remote", [True, False], ids=["http", "file"])
@pytest.mark.parametrize(
    "bad, message",
    [
        ("html.tif", "not a GeoTIFF"),
        ("cut.tif", "truncated file"),
        ("utm48.tif", "COG in an unexpected CRS"),
    ],
)
def test_bad_input_is_one_line_read_error(
    bad_files, cog_server, aoi, cache, env, remote, bad, message
):
    def href(name: str) -> str:
        return f"{cog_server.url}/{name}" if remote else str(bad_files / name)

    hrefs = {
        b: href(f"{b}.tif") for b in ("blue", "green", "red", "nir", "swir16", "swir22", "scl")
    }
    hrefs["nir"] = href(bad)
    with pytest.raises(ReadError, match=message) as info:
        load_chip(make_scene(hrefs), aoi, cache, env=env)
    _one_line_naming(info.value, hrefs["nir"])
    assert not cache.root.exists() or not any(cache.root.rglob("*.npz"))


@pytest.mark.parametrize("kind", ["500", "reset", "truncate", "stall"])
def test_transient_faults_are_retried(scene_files, aoi, cog_server, cache, env, kind):
    hrefs = scene_files.hrefs("c1", tag=f"fault-{kind}")
    cog_server.fault(kind, "*/c1/red.tif", times=1, delay_s=2.5)
    outcome = load_chip(make_scene(hrefs), aoi, cache, env=env)
    assert outcome.status == "used", outcome.reason
    faulted = [r for r in cog_server.requests("*/c1/red.tif") if r.fault]
    assert faulted, "the fault was not injected"
    _assert_reflectance(outcome.chip, scene_files.field)


def test_persistent_failure_is_recorded_and_retried_next_run(
    scene_files, aoi, cog_server, cache, env
):
    hrefs = scene_files.hrefs("c1", tag="persistent")
    scene = make_scene(hrefs)
    cog_server.fault("500", "*/c1/swir22.tif", times=None)
    outcome = load_chip(scene, aoi, cache, env=env)
    assert outcome.status == "failed" and outcome.chip is None
    assert "swir22.tif" in outcome.reason and "after 2 attempts" in outcome.reason
    assert not cache.root.exists() or not any(p.is_file() for p in cache.root.rglob("*"))
    cog_server.server.clear_faults()
    again = load_chip(scene, aoi, cache, env=env)  # the next run
    assert again.status == "used", again.reason


def test_missing_required_asset_is_a_read_error(scene_files, aoi, cache, env):
    with pytest.raises(ReadError, match="no nir asset"):
        load_chip(make_scene(scene_files.hrefs("c1"), drop=("nir",)), aoi, cache, env=env)


def test_gdal_settings_from_monitor_settings_are_plain_data():
    import pickle

    from monitor.config import Settings

    gdal = GdalSettings.from_settings(Settings(http_timeout_s=2.5, http_retries=7))
    assert pickle.loads(pickle.dumps(gdal)) == gdal
    opts = gdal.options()
    assert opts["GDAL_HTTP_TIMEOUT"] == "3" and opts["GDAL_HTTP_MAX_RETRY"] == "7"
    assert opts["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    secret = dataclasses.replace(gdal, extra=(("GDAL_HTTP_HEADERS", "Authorization: x"),))
    assert secret.redacted()["GDAL_HTTP_HEADERS"] == "***"


def test_aoi_in_another_utm_zone_is_warped(scene_files, cache, env):
    from monitor.aoi.grid import grid_for_geometry
    from monitor.models import Aoi

    base = utm_box_aoi(PIECE_LEFT + AOI_COL * 10, PIECE_TOP - AOI_ROW * 10, AOI_W, AOI_H)
    grid48 = grid_for_geometry(base.geometry, epsg=32648)
    aoi48 = Aoi(id="z48", name="z48", geometry=base.geometry, geometry_hash="z48", grid=grid48)
    outcome = load_chip(make_scene(scene_files.hrefs("c1")), aoi48, cache, env=env)
    assert outcome.status == "used" and outcome.chip.grid.epsg == 32648
    assert len(outcome.chip.provenance["warped_assets"]) == 7
    nir = outcome.chip.to_float()[CHIP_BANDS.index("nir")]
    inside = nir[5:-5, 5:-5]
    assert np.nanmin(inside) >= 0.0 and np.nanmax(inside) <= 0.3
