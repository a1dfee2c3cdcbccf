"""The chip cache: hits cost no request, corrupt files are read again, provenance is kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np

from monitor.imagery import ChipCache, load_chip
from tests.imagery.cogs import make_scene


def test_cache_hit_makes_no_request(scene_files, aoi, cog_server, cache, env):
    scene = make_scene(scene_files.hrefs("c1", tag="hit"))
    first = load_chip(scene, aoi, cache, env=env)
    assert first.status == "used" and not first.from_cache
    cog_server.clear_log()
    again = load_chip(scene, aoi, ChipCache(cache.state_dir), env=env)  # a later run
    assert cog_server.log == []
    assert again.from_cache and again.bytes_read == 0 and again.status == "used"
    np.testing.assert_array_equal(again.chip.reflectance, first.chip.reflectance)
    np.testing.assert_array_equal(again.chip.valid, first.chip.valid)
    np.testing.assert_array_equal(again.chip.scl, first.chip.scl)
    assert again.chip.rule == first.chip.rule


def test_sidecar_holds_the_provenance(scene_files, aoi, cache, env):
    scene = make_scene(scene_files.hrefs("c1"))
    outcome = load_chip(scene, aoi, cache, env=env)
    chip_path, side_path = cache.paths(aoi.id, aoi.grid, scene.id)
    side = json.loads(side_path.read_text())
    assert side["item_id"] == scene.id and side["item_href"] == scene.item_href
    assert side["asset_hrefs"]["swir22"] == scene.assets["swir22"].href
    assert side["processing_baseline"] == "05.11"
    assert side["rule"]["offset"] == -0.1 and side["rule"]["reason"]
    assert side["software"]["monitor"] and side["software"]["gdal"].startswith("3.")
    assert side["chip_sha256"] == hashlib.sha256(chip_path.read_bytes()).hexdigest()
    assert side["clear_fraction"] == outcome.clear_fraction and side["bytes_read"] > 0
    assert not list(chip_path.parent.glob("*.tmp"))


def test_corrupt_or_unmatched_chip_is_read_again(scene_files, aoi, cache, env):
    scene = make_scene(scene_files.hrefs("c1"))
    good = load_chip(scene, aoi, cache, env=env)
    chip_path, side_path = cache.paths(aoi.id, aoi.grid, scene.id)
    original = chip_path.read_bytes()
    middle = len(original) // 2
    flipped = original[:middle] + bytes([original[middle] ^ 0xFF]) + original[middle + 1 :]
    for damage in (original[:middle], flipped, b""):
        chip_path.write_bytes(damage)
        assert cache.get(scene, aoi) is None  # never used
        again = load_chip(scene, aoi, cache, env=env)
        assert not again.from_cache and again.status == "used"
        np.testing.assert_array_equal(again.chip.reflectance, good.chip.reflectance)
        assert cache.get(scene, aoi) is not None  # repaired
    side_path.unlink()  # a chip without its sidecar is not trusted
    assert cache.get(scene, aoi) is None
    side_path.write_text("{not json")
    assert cache.get(scene, aoi) is None


def test_skipped_scene_is_remembered(scene_files, aoi, cog_server, cache, env):
    scene = make_scene(scene_files.hrefs("c1", scl="cloudy", tag="skipmemo"))
    first = load_chip(scene, aoi, cache, env=env)
    assert first.status == "skipped"
    chip_path, side_path = cache.paths(aoi.id, aoi.grid, scene.id)
    assert side_path.is_file() and not chip_path.exists()
    cog_server.clear_log()
    again = load_chip(scene, aoi, cache, env=env)
    assert again.status == "skipped" and again.from_cache and cog_server.log == []
    # A lower threshold makes it worth reading after all.
    lower = load_chip(scene, aoi, cache, env=env, min_clear_fraction=0.01)
    assert lower.status == "used" and cog_server.log


def test_offset_history_survives_restarts(scene_files, aoi, cache, env):
    base = dt.datetime(2025, 1, 1, 4, tzinfo=dt.UTC)
    for day in range(3):
        scene = make_scene(
            scene_files.hrefs("c1"),
            scene_id=f"S2B_T47QMU_2025010{day + 1}_L2A",
            when=base + dt.timedelta(days=day),
        )
        load_chip(scene, aoi, cache, env=env)
    history = ChipCache(cache.state_dir).offset_history(
        aoi.id, aoi.grid, before=base + dt.timedelta(days=2)
    )
    assert len(history.levels) == 2 and history.scene_ids[0].endswith("01_L2A")
    assert all(abs(level - 0.01) < 0.002 for level in history.levels)


def test_size_and_remove(scene_files, aoi, cache, env):
    scene = make_scene(scene_files.hrefs("c1"))
    assert cache.size_bytes() == 0
    load_chip(scene, aoi, cache, env=env)
    size = cache.size_bytes()
    assert size > 1000 and cache.size_bytes(aoi.id) == size
    assert cache.remove(aoi.id, scene.id) == 2
    assert cache.size_bytes() == 0 and cache.get(scene, aoi) is None
