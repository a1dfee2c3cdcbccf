"""The AOIs shipped in aoi/: valid, small, on 47QMU's UTM grid, with sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shapely.geometry import Point, box

from monitor.aoi import aoi_area_m2, load_aoi, load_aoi_dir
from monitor.aoi.grid import to_utm

SHIPPED = Path(__file__).resolve().parents[2] / "aoi"
KINDS = {
    "kk-park": "compound",
    "kk-park-east": "compound",
    "shwe-kokko": "compound",
    "myawaddy": "town",
    "mae-sot": "control",
}
# Tile 47QMU: 109800 m square from 399960 E, 1900020 N (EPSG:32647).
TILE_47QMU = box(399960, 1900020 - 109800, 399960 + 109800, 1900020)


def test_folder_holds_exactly_the_contract_ids() -> None:
    assert {a.id: a.kind for a in load_aoi_dir(SHIPPED)} == KINDS


@pytest.mark.parametrize("aoi_id", sorted(KINDS))
def test_shipped_aoi(aoi_id: str) -> None:
    aoi = load_aoi(SHIPPED / f"{aoi_id}.geojson")
    assert aoi.id == aoi_id
    assert 0.5e6 < aoi_area_m2(aoi) < 100e6
    assert aoi.grid.epsg == 32647
    assert TILE_47QMU.contains(box(*aoi.grid.bounds))
    assert "approximate" in (aoi.description or "").lower()
    assert aoi.sources
    for source in aoi.sources:
        assert source["title"] and source["note"]
        assert source["confidence"] in ("high", "medium", "low")
        assert "url" not in source or source["url"].startswith("https://")


def test_kk_park_grid_and_rejected_coordinate() -> None:
    kk = load_aoi(SHIPPED / "kk-park.geojson")
    assert kk.grid.shape == (334, 376)
    assert kk.geometry.contains(Point(98.562, 16.630))
    # The widely copied 16.6476 N 98.5207 E is kilometres away and named as rejected.
    far = to_utm(Point(98.5207, 16.6476), 32647)
    assert to_utm(Point(98.562, 16.630), 32647).distance(far) > 4000
    assert to_utm(kk.geometry, 32647).distance(far) > 2000
    assert any(re.search(r"16\.6476.*98\.5207.*rejected", s["note"]) for s in kk.sources)


def test_kk_park_east_lies_in_kk_park() -> None:
    kk = load_aoi(SHIPPED / "kk-park.geojson")
    east = load_aoi(SHIPPED / "kk-park-east.geojson")
    assert kk.geometry.contains(east.geometry)
    assert any(s["confidence"] == "medium" for s in east.sources)


def test_control_does_not_overlap_the_myanmar_side() -> None:
    aois = {a.id: a for a in load_aoi_dir(SHIPPED)}
    for other in ("kk-park", "shwe-kokko", "myawaddy"):
        assert not aois["mae-sot"].geometry.intersects(aois[other].geometry)
