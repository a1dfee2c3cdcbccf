"""Folders of AOIs, selectors, adding files, and the Feature and check views of an AOI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.aoi import (
    add_aoi,
    aoi_from_geojson,
    check_report,
    load_aoi,
    load_aoi_dir,
    resolve_aois,
    to_feature,
)
from monitor.errors import AoiError
from tests.aoi.helpers import SQUARE, feature, write

MOVED = [[x + 0.001, y] for x, y in SQUARE]


@pytest.fixture
def aoi_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "aoi"
    folder.mkdir()
    write(folder, "b.geojson", feature(id="bravo", name="B"))
    write(folder, "a.json", feature(id="alpha", name="A"))
    write(folder, "notes.txt", "not an AOI")
    write(folder, ".hidden.geojson", "{ broken")
    return folder


def test_load_dir_reads_geojson_and_json_sorted_by_id(aoi_dir: Path) -> None:
    assert [a.id for a in load_aoi_dir(aoi_dir)] == ["alpha", "bravo"]


def test_load_dir_duplicate_ids_name_both_files(aoi_dir: Path) -> None:
    write(aoi_dir, "c.geojson", feature(id="bravo", name="other"))
    with pytest.raises(
        AoiError, match=r"duplicate AOI id 'bravo' in .*b\.geojson and .*c\.geojson"
    ):
        load_aoi_dir(aoi_dir)


def test_load_dir_missing_empty_or_file(tmp_path: Path) -> None:
    with pytest.raises(AoiError, match=r"nowhere: AOI folder not found"):
        load_aoi_dir(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AoiError, match=r"empty: no AOI files \(\*\.geojson, \*\.json\)"):
        load_aoi_dir(tmp_path / "empty")
    with pytest.raises(AoiError, match="not a folder"):
        load_aoi_dir(write(tmp_path, "x.geojson", feature()))


def test_load_dir_passes_area_limit(aoi_dir: Path) -> None:
    with pytest.raises(AoiError, match=r"a\.json: .*over the limit of 0\.1 km2"):
        load_aoi_dir(aoi_dir, max_area_km2=0.1)


def test_resolve_without_selectors_is_whole_folder(aoi_dir: Path) -> None:
    assert [a.id for a in resolve_aois([], aoi_dir)] == ["alpha", "bravo"]


def test_resolve_ids_and_files_in_given_order(aoi_dir: Path, tmp_path: Path) -> None:
    extra = write(tmp_path, "extra.geojson", feature(id="extra"))
    aois = resolve_aois(["bravo", str(extra), "alpha", "bravo"], aoi_dir)
    assert [a.id for a in aois] == ["bravo", "extra", "alpha"]
    assert aois[1].path == str(extra)


def test_resolve_files_only_needs_no_folder(tmp_path: Path) -> None:
    extra = write(tmp_path, "extra.geojson", feature(id="extra"))
    assert [a.id for a in resolve_aois([str(extra)], tmp_path / "missing")] == ["extra"]


def test_resolve_unknown_id_lists_known(aoi_dir: Path) -> None:
    with pytest.raises(AoiError, match=r"unknown AOI 'kk-park'.*\(known: alpha, bravo\)"):
        resolve_aois(["kk-park"], aoi_dir)


def test_resolve_unknown_id_without_folder(tmp_path: Path) -> None:
    with pytest.raises(AoiError, match=r"unknown AOI 'kk-park'.*holds no AOI files"):
        resolve_aois(["kk-park"], tmp_path / "missing")


def test_resolve_missing_file(aoi_dir: Path) -> None:
    with pytest.raises(AoiError, match=r"gone\.geojson: AOI file not found"):
        resolve_aois(["gone.geojson"], aoi_dir)


def test_resolve_same_id_with_different_content(aoi_dir: Path, tmp_path: Path) -> None:
    edited = write(tmp_path, "edited.geojson", feature([MOVED], id="alpha", name="A"))
    with pytest.raises(AoiError, match=r"'alpha' is given twice .*a\.json and .*edited\.geojson"):
        resolve_aois(["alpha", str(edited)], aoi_dir)


def test_add_copies_file_under_its_id(aoi_dir: Path, tmp_path: Path) -> None:
    source = write(tmp_path, "download.geojson", feature(id="charlie", stroke="#f00"))
    target = add_aoi(source, aoi_dir)
    assert target == aoi_dir / "charlie.geojson"
    assert target.read_bytes() == source.read_bytes()  # extra properties kept
    assert [a.id for a in load_aoi_dir(aoi_dir)] == ["alpha", "bravo", "charlie"]
    assert not [p for p in aoi_dir.iterdir() if p.name.endswith(".tmp")]


def test_add_identical_is_a_no_op(aoi_dir: Path, tmp_path: Path) -> None:
    target = add_aoi(write(tmp_path, "c.geojson", feature(id="charlie")), aoi_dir)
    before = target.read_bytes()
    # Same AOI, other formatting and starting vertex: nothing to do.
    ring = SQUARE[1:] + SQUARE[1:2]
    again = write(tmp_path, "c2.geojson", json.dumps(feature([ring], id="charlie")))
    assert add_aoi(again, aoi_dir) == target
    assert target.read_bytes() == before


def test_add_refuses_different_aoi_unless_overwrite(aoi_dir: Path, tmp_path: Path) -> None:
    add_aoi(write(tmp_path, "c.geojson", feature(id="charlie")), aoi_dir)
    changed = write(tmp_path, "c2.geojson", feature([MOVED], id="charlie"))
    with pytest.raises(AoiError, match=r"charlie\.geojson: already holds a different AOI"):
        add_aoi(changed, aoi_dir)
    assert load_aoi(aoi_dir / "charlie.geojson").geometry.bounds[0] == SQUARE[0][0]
    add_aoi(changed, aoi_dir, overwrite=True)
    assert load_aoi(aoi_dir / "charlie.geojson").geometry.bounds[0] == MOVED[0][0]


def test_add_refuses_id_used_by_another_file(aoi_dir: Path, tmp_path: Path) -> None:
    other = write(tmp_path, "alpha2.geojson", feature([MOVED], id="alpha"))
    with pytest.raises(AoiError, match=r"'alpha' is already used by .*a\.json"):
        add_aoi(other, aoi_dir, overwrite=True)


def test_add_file_already_in_folder_under_other_name(aoi_dir: Path) -> None:
    with pytest.raises(AoiError, match=r"a\.json: already in .* rename it to alpha\.geojson"):
        add_aoi(aoi_dir / "a.json", aoi_dir)
    assert not (aoi_dir / "alpha.geojson").exists()


def test_add_invalid_file_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    bad = write(tmp_path, "bad.geojson", feature([SQUARE[:-1]], id="bad"))
    with pytest.raises(AoiError, match="not closed"):
        add_aoi(bad, folder)
    assert not folder.exists()


def test_add_creates_folder(tmp_path: Path) -> None:
    target = add_aoi(write(tmp_path, "x.geojson", feature(id="x")), tmp_path / "new" / "aoi")
    assert target.is_file() and load_aoi(target).id == "x"


def test_to_feature_round_trips(tmp_path: Path) -> None:
    sources = [
        {
            "title": "OpenStreetMap",
            "url": "https://www.openstreetmap.org/",
            "confidence": "medium",
            "note": "river",
        }
    ]
    aoi = load_aoi(
        write(tmp_path, "x.geojson", feature(kind="town", description="d", sources=sources))
    )
    out = to_feature(aoi)
    json.dumps(out)  # plain JSON, no tuples or shapely objects
    assert out["properties"] == {
        "id": "test-aoi",
        "name": "Test AOI",
        "kind": "town",
        "description": "d",
        "sources": sources,
    }
    again = aoi_from_geojson(out, where="round trip")
    assert again.geometry_hash == aoi.geometry_hash and again.sources == aoi.sources


def test_check_report_facts(tmp_path: Path) -> None:
    facts = check_report(load_aoi(write(tmp_path, "x.geojson", feature(kind="control"))))
    json.dumps(facts)
    assert facts["id"] == "test-aoi" and facts["kind"] == "control" and facts["epsg"] == 32647
    assert facts["crs"] == "EPSG:32647"
    assert facts["grid_size"] == f"{facts['width_px']}x{facts['height_px']}"
    assert facts["area_km2"] == pytest.approx(1.06, abs=0.02)
    assert facts["pixels_inside"] == pytest.approx(facts["area_km2"] * 1e4, rel=0.02)
    assert facts["bounds"] == [98.56, 16.625, 98.57, 16.634] and facts["n_sources"] == 0
