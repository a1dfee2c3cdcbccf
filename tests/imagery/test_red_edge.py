"""Red-edge bands: read through the offset rule, left out when absent, cached with their
provenance, added to a cached chip that lacks them; six-band requests as before."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from monitor.imagery import ChipCache, load_chip
from monitor.models import CHIP_BANDS, RED_EDGE_BANDS
from tests.imagery.cogs import make_scene, to_dn
from tests.imagery.conftest import expected_window


def _file_names(log) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.path.rsplit("/", 1)[-1] for r in log}


@pytest.mark.parametrize(
    "style, flagged, in_pixels",
    [
        ("c1", True, True),  # +1000 in the pixels, and the item says so
        ("l2a", False, False),  # offset removed, and the item says so
        ("c1", False, True),  # the item says removed; the pixels decide it is not
    ],
    ids=["c1", "l2a", "c1-flagged-wrongly"],
)
def test_red_edge_values_are_the_source_pixels_through_the_offset_rule(
    scene_files, aoi, cache, env, style, flagged, in_pixels
):
    scene = make_scene(scene_files.hrefs(style, red_edge=RED_EDGE_BANDS), offset_in_pixels=flagged)
    outcome = load_chip(scene, aoi, cache, env=env, extra_bands=RED_EDGE_BANDS)
    assert outcome.status == "used", outcome.reason
    chip = outcome.chip
    assert chip.bands == CHIP_BANDS + RED_EDGE_BANDS and chip.reflectance.shape[0] == 10
    # The chip encoding keeps baseline 04.00's +1000: v = DN under -0.1, DN + 1000 under 0.
    assert chip.rule.offset == (-0.1 if in_pixels else 0.0)
    for band in RED_EDGE_BANDS:
        source_dn = to_dn(expected_window(scene_files.field, band), in_pixels).astype(np.int64)
        want = source_dn if in_pixels else source_dn + 1000
        got = chip.reflectance[chip.bands.index(band)]
        np.testing.assert_array_equal(got, want, err_msg=band)
        # Each 20 m pixel is a 2 x 2 block of the 10 m grid, as B11 and B12 are.
        assert (got[0::2, 0::2] == got[1::2, 1::2]).all()
    stack = chip.band_stack(["nir08", "red"])
    for i, band in enumerate(["nir08", "red"]):
        np.testing.assert_allclose(
            stack[i][chip.valid],
            expected_window(scene_files.field, band)[chip.valid],
            atol=6e-5,
            err_msg=band,
        )


def test_six_bands_are_unchanged_by_the_red_edge(scene_files, aoi, tmp_path, env):
    hrefs = scene_files.hrefs("c1", red_edge=RED_EDGE_BANDS)
    six = load_chip(make_scene(hrefs), aoi, ChipCache(tmp_path / "six"), env=env).chip
    ten = load_chip(
        make_scene(hrefs), aoi, ChipCache(tmp_path / "ten"), env=env, extra_bands=RED_EDGE_BANDS
    ).chip
    assert six.bands == CHIP_BANDS and ten.bands == CHIP_BANDS + RED_EDGE_BANDS
    np.testing.assert_array_equal(ten.reflectance[:6], six.reflectance)
    np.testing.assert_array_equal(ten.valid, six.valid)
    assert ten.rule == six.rule
    # The detector's input is the same arrays, whatever else the chip carries.
    assert ten.to_float().tobytes() == six.to_float().tobytes()
    assert ten.to_float(CHIP_BANDS).tobytes() == six.to_float().tobytes()
    assert ten.has_bands(RED_EDGE_BANDS) and not six.has_bands(["rededge1"])
    assert "extra_bands_asked" not in six.provenance and "bands_added" not in six.provenance


def test_absent_red_edge_assets_leave_the_chip_without_them(scene_files, aoi, cache, env):
    some = make_scene(scene_files.hrefs("c1", red_edge=("rededge1", "nir08")))
    chip = load_chip(some, aoi, cache, env=env, extra_bands=RED_EDGE_BANDS).chip
    assert chip.bands == CHIP_BANDS + ("rededge1", "nir08")
    assert chip.provenance["extra_bands_asked"] == list(RED_EDGE_BANDS)
    assert chip.provenance["extra_bands_absent"] == ["rededge2", "rededge3"]
    with pytest.raises(ValueError, match="no rededge2 band"):
        chip.band_stack(["rededge1", "rededge2"])

    none = make_scene(scene_files.hrefs("c1"), scene_id="S2B_T47QMU_NONE_L2A")
    outcome = load_chip(none, aoi, cache, env=env, extra_bands=RED_EDGE_BANDS)
    assert outcome.status == "used" and outcome.chip.bands == CHIP_BANDS
    assert outcome.chip.provenance["extra_bands_absent"] == list(RED_EDGE_BANDS)
    # Asked again: the item still lacks them, so the cached chip is the answer.
    again = load_chip(none, aoi, cache, env=env, extra_bands=RED_EDGE_BANDS)
    assert again.from_cache and again.chip.bands == CHIP_BANDS


def test_red_edge_cache_round_trip_with_provenance(scene_files, aoi, cog_server, cache, env):
    scene = make_scene(scene_files.hrefs("c1", red_edge=RED_EDGE_BANDS, tag="re-trip"))
    first = load_chip(scene, aoi, cache, env=env, extra_bands=RED_EDGE_BANDS)
    assert _file_names(cog_server.log) >= {"rededge1.tif", "nir08.tif", "scl.tif"}
    chip_path, side_path = cache.paths(aoi.id, aoi.grid, scene.id)
    side = json.loads(side_path.read_text())
    assert side["bands"] == list(CHIP_BANDS + RED_EDGE_BANDS)
    for band in RED_EDGE_BANDS:
        assert side["asset_hrefs"][band] == scene.assets[band].href
    assert side["extra_bands_asked"] == list(RED_EDGE_BANDS) and side["extra_bands_absent"] == []
    with np.load(chip_path) as npz:
        assert npz["reflectance"].shape == (10,) + aoi.grid.shape

    cog_server.clear_log()
    later = ChipCache(cache.state_dir)  # a later run
    again = load_chip(scene, aoi, later, env=env, extra_bands=RED_EDGE_BANDS)
    assert cog_server.log == [] and again.from_cache
    assert again.chip.bands == first.chip.bands
    np.testing.assert_array_equal(again.chip.reflectance, first.chip.reflectance)
    # A six-band request is served the cached chip as it is, without a request.
    six = load_chip(scene, aoi, later, env=env)
    assert cog_server.log == [] and six.from_cache and six.chip.bands == first.chip.bands
    assert six.chip.to_float().tobytes() == first.chip.to_float().tobytes()


def test_cached_chip_lacking_asked_bands_gets_them_read_and_added(
    scene_files, aoi, cog_server, cache, tmp_path, env
):
    hrefs = scene_files.hrefs("c1", red_edge=RED_EDGE_BANDS, tag="re-add")
    scene = make_scene(hrefs)
    six = load_chip(scene, aoi, cache, env=env)
    assert six.chip.bands == CHIP_BANDS
    cog_server.clear_log()
    added = load_chip(scene, aoi, cache, env=env, extra_bands=("nir08",))
    # Only the missing band is read: never a short chip, never a second read of the rest.
    assert _file_names(cog_server.log) == {"nir08.tif"}
    assert not added.from_cache and 0 < added.bytes_read < six.bytes_read
    assert added.chip.bands == CHIP_BANDS + ("nir08",)
    np.testing.assert_array_equal(added.chip.reflectance[:6], six.chip.reflectance)
    side = json.loads(cache.paths(aoi.id, aoi.grid, scene.id)[1].read_text())
    assert side["bands"] == list(CHIP_BANDS) + ["nir08"]
    assert side["bands_added"]["bands"] == ["nir08"] and side["bands_added"]["bytes_read"] > 0
    assert side["asset_hrefs"]["nir08"] == scene.assets["nir08"].href

    cog_server.clear_log()
    full = load_chip(scene, aoi, cache, env=env, extra_bands=RED_EDGE_BANDS)
    assert _file_names(cog_server.log) == {"rededge1.tif", "rededge2.tif", "rededge3.tif"}
    assert full.chip.bands == CHIP_BANDS + RED_EDGE_BANDS
    assert full.chip.provenance["extra_bands_asked"] == list(RED_EDGE_BANDS)
    # The same chip as one read with every band asked from the start.
    fresh = load_chip(
        make_scene(hrefs), aoi, ChipCache(tmp_path / "fresh"), env=env, extra_bands=RED_EDGE_BANDS
    )
    np.testing.assert_array_equal(full.chip.reflectance, fresh.chip.reflectance)
    np.testing.assert_array_equal(full.chip.valid, fresh.chip.valid)
    cog_server.clear_log()
    cached = load_chip(scene, aoi, ChipCache(cache.state_dir), env=env, extra_bands=("nir08",))
    assert cached.from_cache and cog_server.log == [] and cached.chip.bands == full.chip.bands


def test_failed_added_band_leaves_the_cached_chip_as_it_was(
    scene_files, aoi, cog_server, cache, env
):
    scene = make_scene(scene_files.hrefs("c1", red_edge=RED_EDGE_BANDS, tag="re-fail"))
    six = load_chip(scene, aoi, cache, env=env)
    cog_server.fault("500", "*/c1/rededge2.tif", times=None)
    try:
        outcome = load_chip(scene, aoi, cache, env=env, extra_bands=RED_EDGE_BANDS)
    finally:
        cog_server.server.clear_faults()
    assert outcome.status == "failed" and outcome.chip is None
    assert "rededge2.tif" in outcome.reason
    kept = cache.get(scene, aoi)
    assert kept is not None and kept.chip.bands == CHIP_BANDS
    np.testing.assert_array_equal(kept.chip.reflectance, six.chip.reflectance)
    again = load_chip(scene, aoi, cache, env=env, extra_bands=RED_EDGE_BANDS)  # the next run
    assert again.status == "used" and again.chip.bands == CHIP_BANDS + RED_EDGE_BANDS


def test_unknown_extra_band_is_refused(scene_files, aoi, cache, env):
    with pytest.raises(ValueError, match="unknown extra band 'coastal'"):
        load_chip(make_scene(scene_files.hrefs("c1")), aoi, cache, env=env, extra_bands=["coastal"])


def test_the_runner_reads_the_bands_its_task_asks_for(scene_files, aoi, cache, env):
    import pickle

    from monitor.config import Settings
    from monitor.runner import AoiTask, detector_params, read_scenes

    scene = make_scene(scene_files.hrefs("c1", red_edge=RED_EDGE_BANDS))
    task = AoiTask(aoi, (scene,), cache.state_dir, env, 0.1, detector_params(Settings()))
    assert task.extra_bands == ()  # the red_edge setting's default: six bands, as before
    [(_, six)] = read_scenes(aoi, [scene], cache, env, 0.1, extra_bands=task.extra_bands)
    assert six.status == "used" and cache.load(aoi.id, aoi.grid, scene.id).bands == CHIP_BANDS
    asking = pickle.loads(pickle.dumps(dataclasses.replace(task, extra_bands=RED_EDGE_BANDS)))
    [(_, ten)] = read_scenes(aoi, [scene], cache, env, 0.1, extra_bands=asking.extra_bands)
    assert ten.status == "used" and ten.chip is None  # the runner hands outcomes back bare
    assert cache.load(aoi.id, aoi.grid, scene.id).bands == CHIP_BANDS + RED_EDGE_BANDS


def test_dataset_of_chips_with_and_without_red_edge_keeps_the_common_bands(
    scene_files, aoi, cache, env
):
    import datetime as dt

    from monitor.imagery import chips_to_xarray, load_chips

    base = dt.datetime(2025, 2, 1, 4, tzinfo=dt.UTC)
    with_re = make_scene(scene_files.hrefs("c1", red_edge=RED_EDGE_BANDS), scene_id="A", when=base)
    without = make_scene(scene_files.hrefs("c1"), scene_id="B", when=base + dt.timedelta(days=5))
    outcomes = load_chips([with_re, without], aoi, cache, env=env, extra_bands=RED_EDGE_BANDS)
    chips = [o.chip for o in outcomes]
    assert [c.bands for c in chips] == [CHIP_BANDS + RED_EDGE_BANDS, CHIP_BANDS]
    mixed = chips_to_xarray(chips)
    assert list(mixed.band.values) == list(CHIP_BANDS)
    np.testing.assert_array_equal(mixed.reflectance.values[0], chips[0].band_stack(CHIP_BANDS))
    alone = chips_to_xarray(chips[:1])
    assert list(alone.band.values) == list(CHIP_BANDS + RED_EDGE_BANDS)
