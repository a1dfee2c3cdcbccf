"""Item dict → Scene: bands, hrefs, reflectance rule and acquisition key (no network)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from monitor.catalog import acquisition_key, metadata_rule, scene_from_item
from monitor.errors import ItemError
from tests.catalog.builders import make_item


def _all_items(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_all_13_recorded_items_get_the_right_offset(earthsearch_items: Path) -> None:
    items = _all_items(earthsearch_items)
    assert len(items) == 13
    for item in items:
        scene = scene_from_item(item, source="earth-search")
        if item["collection"] == "sentinel-2-l2a":
            assert scene.rule.offset == 0.0, item["id"]
            assert "boa_offset_applied is true" in scene.rule.reason
        else:
            assert item["collection"] == "sentinel-2-c1-l2a"
            assert scene.rule.offset == pytest.approx(-0.1), item["id"]
        assert scene.rule.scale == pytest.approx(0.0001)
        assert scene.rule.decided_by == "metadata"
        assert scene.datetime.tzinfo is not None and scene.datetime.utcoffset() == dt.timedelta(0)
        assert scene.has_scl
        assert set(scene.assets) >= {"blue", "green", "red", "nir", "swir16", "swir22", "scl"}
        # -jp2 twins are ignored: every href is the COG.
        assert all(a.href.endswith(".tif") for a in scene.assets.values())


def test_six_pairs_share_their_acquisition(earthsearch_items: Path) -> None:
    by_tile: dict[str, dict[str, str]] = {}
    for item in _all_items(earthsearch_items):
        scene = scene_from_item(item, source="es")
        by_tile.setdefault(scene.mgrs_tile or "", {})[scene.collection] = scene.acquisition
    pairs = {tile: keys for tile, keys in by_tile.items() if len(keys) == 2}
    assert len(pairs) == 6
    for tile, keys in pairs.items():
        assert keys["sentinel-2-l2a"] == keys["sentinel-2-c1-l2a"], tile
    assert by_tile["24MVV"]["sentinel-2-c1-l2a"] == "sentinel-2b/2025-07-31/R095"
    assert by_tile["13TDE"]["sentinel-2-l2a"] == "sentinel-2a/2023-10-08/R141"


def test_scene_fields_from_a_c1_item(c1_template: dict[str, Any]) -> None:
    scene = scene_from_item(c1_template, source="https://es.test/v1")
    assert scene.id == "S2B_T24MVV_20250731T130245_L2A"
    assert scene.collection == "sentinel-2-c1-l2a"
    assert scene.platform == "sentinel-2b"
    assert scene.mgrs_tile == "24MVV"
    assert scene.epsg == 32724
    assert scene.processing_baseline == "05.11"
    assert scene.cloud_cover == pytest.approx(34.760532)
    assert scene.datetime == dt.datetime(2025, 7, 31, 13, 3, 25, 899000, tzinfo=dt.UTC)
    assert scene.updated is not None and scene.updated.tzinfo is not None
    assert scene.footprint is not None
    assert scene.footprint.bounds[0] == pytest.approx(-39.902, abs=1e-3)
    assert scene.item_href.endswith("/items/S2B_T24MVV_20250731T130245_L2A")
    assert scene.source == "https://es.test/v1"
    assert not scene.simulated
    blue, scl = scene.assets["blue"], scene.assets["scl"]
    assert (blue.res_m, blue.nodata, blue.data_type) == (10.0, 0.0, "uint16")
    assert (blue.declared_scale, blue.declared_offset) == (0.0001, -0.1)
    assert (scl.res_m, scl.data_type, scl.declared_offset) == (20.0, "uint8", None)


def test_planetary_computer_like_item_keeps_the_offset(c1_template: dict[str, Any]) -> None:
    """Collection sentinel-2-l2a, no flag, nothing declared, baseline 05.11 → -0.1."""
    item = copy.deepcopy(c1_template)
    item["collection"] = "sentinel-2-l2a"
    props = item["properties"]
    for key in [k for k in props if k.startswith(("mgrs:", "grid:", "earthsearch:"))]:
        del props[key]
    props["s2:mgrs_tile"] = "47QMU"
    del props["proj:epsg"]
    props["proj:code"] = "EPSG:32647"
    # Planetary Computer's asset keys are band ids, its eo:bands say "rededge" for B05-B8A.
    renamed = {
        "blue": "B02",
        "green": "B03",
        "red": "B04",
        "nir": "B08",
        "nir08": "B8A",
        "rededge1": "B05",
        "swir16": "B11",
        "swir22": "B12",
        "scl": "SCL",
    }
    assets = {}
    for key, asset in item["assets"].items():
        asset = copy.deepcopy(asset)
        for band in asset.get("raster:bands", []):
            band.pop("offset", None)
            band.pop("scale", None)
        if key in renamed:
            if asset.get("eo:bands") and key in ("nir08", "rededge1"):
                asset["eo:bands"][0]["common_name"] = "rededge"
            assets[renamed[key]] = asset
    item["assets"] = assets

    rule = metadata_rule(item)
    assert rule.offset == pytest.approx(-0.1)
    assert rule.scale == pytest.approx(0.0001)
    assert "baseline 05.11" in rule.reason
    scene = scene_from_item(item, source="pc")
    assert scene.rule == rule
    assert scene.mgrs_tile == "47QMU" and scene.epsg == 32647
    assert scene.assets["nir08"].href.endswith("/B8A.tif")
    assert scene.assets["rededge1"].href.endswith("/B05.tif")
    assert scene.assets["scl"].href.endswith("/SCL.tif")
    assert scene.assets["blue"].declared_offset is None


def test_old_baseline_l2a_item_without_flag_has_no_offset(l2a_template: dict[str, Any]) -> None:
    item = make_item(l2a_template, when="2020-03-04T04:05:06Z", baseline="02.14")
    del item["properties"]["earthsearch:boa_offset_applied"]
    # Whether or not the catalog declares -0.1, a pre-04.00 product carries no offset.
    assert metadata_rule(item).offset == 0.0
    for asset in item["assets"].values():
        for band in asset.get("raster:bands", []):
            band.pop("offset", None)
    rule = metadata_rule(item)
    assert rule.offset == 0.0
    assert "02.14 < 04.00" in rule.reason


def test_c1_reprocessed_2019_item_keeps_the_offset(c1_template: dict[str, Any]) -> None:
    item = make_item(c1_template, when="2019-02-03T04:05:06Z", baseline="05.00")
    rule = metadata_rule(item)
    assert rule.offset == pytest.approx(-0.1)
    assert "offset -0.1" in rule.reason


def test_flag_false_follows_the_baseline(l2a_template: dict[str, Any]) -> None:
    item = copy.deepcopy(l2a_template)
    item["properties"]["earthsearch:boa_offset_applied"] = False
    assert metadata_rule(item).offset == pytest.approx(-0.1)
    item["properties"]["s2:processing_baseline"] = "03.01"
    assert metadata_rule(item).offset == 0.0


def test_no_metadata_lets_the_pixels_decide() -> None:
    item = {"id": "x", "properties": {"datetime": "2024-01-01T00:00:00Z"}, "assets": {}}
    rule = metadata_rule(item)
    assert rule.offset == 0.0 and rule.scale == 0.0001
    assert rule.reason == "no offset metadata; the pixels decide (imagery stage)"


def test_l1c_reason_says_top_of_atmosphere(shared_data: Path) -> None:
    item = json.loads((shared_data / "oscd/rennes/items/S2_rennes_20150821_L1C.json").read_text())
    rule = metadata_rule(item)
    assert rule.offset == 0.0
    assert "top-of-atmosphere" in rule.reason


def test_relative_hrefs_resolve_against_the_self_href(shared_data: Path) -> None:
    path = shared_data / "oscd/rennes/items/S2_rennes_20150821_L1C.json"
    item = json.loads(path.read_text())
    scene = scene_from_item(item, source="rennes", self_href=str(path))
    href = scene.assets["red"].href
    assert href == str(shared_data / "oscd/rennes/assets/S2_rennes_20150821_L1C/B04.tif")
    assert Path(href).is_file()
    assert not scene.has_scl
    url_scene = scene_from_item(item, source="r", self_href="https://h.test/c/items/a.json")
    assert url_scene.assets["red"].href == "https://h.test/c/assets/S2_rennes_20150821_L1C/B04.tif"


def test_missing_required_bands_name_item_and_source(c1_template: dict[str, Any]) -> None:
    item = copy.deepcopy(c1_template)
    del item["assets"]["red"], item["assets"]["nir"]
    with pytest.raises(ItemError) as info:
        scene_from_item(item, source="cat.json")
    assert str(info.value) == (
        "item S2B_T24MVV_20250731T130245_L2A (cat.json): missing required assets: red, nir"
    )


def test_no_scl_is_allowed(c1_template: dict[str, Any]) -> None:
    item = copy.deepcopy(c1_template)
    del item["assets"]["scl"]
    scene = scene_from_item(item, source="s")
    assert not scene.has_scl and "red" in scene.assets


def test_no_datetime_is_an_item_error(c1_template: dict[str, Any]) -> None:
    item = copy.deepcopy(c1_template)
    item["properties"]["datetime"] = None
    with pytest.raises(ItemError, match="no datetime"):
        scene_from_item(item, source="s")
    item["properties"]["start_datetime"] = "2025-07-31T13:03:25Z"
    assert scene_from_item(item, source="s").date == dt.date(2025, 7, 31)


def test_simulated_flag(c1_template: dict[str, Any]) -> None:
    item = copy.deepcopy(c1_template)
    item["properties"]["monitor:simulated"] = True
    assert scene_from_item(item, source="s").simulated


def test_acquisition_fallbacks(c1_template: dict[str, Any]) -> None:
    item = copy.deepcopy(c1_template)
    props = item["properties"]
    props["sat:relative_orbit"] = 33
    assert acquisition_key(item) == "sentinel-2b/2025-07-31/R033"
    del props["sat:relative_orbit"], props["s2:product_uri"]
    # Reprocessing changes the datatake's baseline suffix, not the acquisition.
    assert acquisition_key(item) == "datatake/GS2B_20250731T130249_043879"
    props["s2:datatake_id"] = "GS2B_20250731T130249_043879_N05.00"
    assert acquisition_key(item) == "datatake/GS2B_20250731T130249_043879"
    del props["s2:datatake_id"]
    assert acquisition_key(item) == "sentinel-2b/2025-07-31T13:00"
