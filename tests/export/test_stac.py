"""The STAC collection: valid STAC 1.1 (pystac's bundled core schemas, offline), items
resolvable on disk, evidence linked, and a foreign folder never replaced."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pystac
import pytest
import shapely.geometry

from monitor.errors import MonitorError
from monitor.export import EXPORT_FIELDS, ExportData, write_export
from tests.export.readback import expected_row


def test_collection_and_items_validate(export_data: ExportData, tmp_path: Path) -> None:
    out = tmp_path / "stac"
    assert write_export("stac", export_data, out) == 4
    collection = pystac.Collection.from_file(str(out / "collection.json"))
    # Core schemas ship with pystac: no network (pytest-socket would refuse it).
    assert collection.validate_all() == 4
    items = {item.id: item for item in collection.get_items()}
    assert set(items) == {d.id for d in export_data.detections}
    for det in export_data.detections:
        item = items[det.id]
        assert Path(item.get_self_href()) == out / det.id / f"{det.id}.json"
        assert item.properties["start_datetime"] == f"{det.window_start}T00:00:00Z"
        assert item.properties["end_datetime"] == f"{det.window_end}T23:59:59Z"
        assert item.datetime is not None and item.datetime.date() == det.first_seen
        geometry = shapely.geometry.shape(item.geometry)
        # The same polygon, to the 7 decimals (about 1 cm) the exporters keep.
        assert geometry.symmetric_difference(det.geometry).area < 1e-3 * det.geometry.area
        want = expected_row(det)
        for name in EXPORT_FIELDS[1:]:
            value = item.properties[f"monitor:{name}"]
            if name in ("first_seen", "confirmed_on", "window_start", "window_end"):
                value = value and dt.date.fromisoformat(value)
            if name == "reviewed_at" and value:
                value = dt.datetime.fromisoformat(value)
            assert value == want[name], (det.id, name)
    sources = [link.href for link in items["a1"].links if link.rel == "derived_from"]
    # The http item is linked as it is; the relative local href and the unknown scene not.
    assert sources == ["https://example.org/items/S2B_before_1.json"]
    extent = collection.extent.temporal.intervals[0]
    assert extent[0].date().isoformat() == "2025-11-09"


def test_links_are_relative(export_data: ExportData, tmp_path: Path) -> None:
    out = tmp_path / "stac"
    write_export("stac", export_data, out)
    doc = json.loads((out / "collection.json").read_text())
    for link in doc["links"]:
        assert link["href"].startswith("./")
        assert (out / link["href"]).resolve().is_file()
    moved = tmp_path / "moved"
    out.rename(moved)
    assert len(list(pystac.Collection.from_file(str(moved / "collection.json")).get_items())) == 4


def test_empty_collection_is_valid(export_data: ExportData, tmp_path: Path) -> None:
    out = tmp_path / "stac"
    write_export("stac", dataclasses.replace(export_data, detections=[]), out)
    collection = pystac.Collection.from_file(str(out / "collection.json"))
    assert collection.validate_all() == 0
    assert collection.extent.spatial.bboxes[0] == pytest.approx(
        list(export_data.aois[0].geometry.bounds), abs=1e-6
    )


def test_overwrite_replaces_only_an_earlier_export(export_data: ExportData, tmp_path: Path) -> None:
    out = tmp_path / "stac"
    write_export("stac", export_data, out)
    with pytest.raises(MonitorError, match="exists; use --overwrite"):
        write_export("stac", export_data, out)
    fewer = dataclasses.replace(export_data, detections=export_data.detections[:1])
    write_export("stac", fewer, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["a1", "collection.json"]
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(MonitorError, match="not a STAC export of the monitor"):
        write_export("stac", export_data, foreign, overwrite=True)
    assert [p.name for p in foreign.iterdir()] == ["holiday.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "stac"]


def test_local_evidence_items_link_as_file_uris(export_data: ExportData, tmp_path: Path) -> None:
    item_file = tmp_path / "catalog" / "S2C_after_1.json"
    item_file.parent.mkdir()
    item_file.write_text("{}")
    scenes = dict(export_data.scenes)
    scenes["S2C_after_1"] = dataclasses.replace(scenes["S2C_after_1"], item_href=str(item_file))
    out = tmp_path / "stac"
    write_export("stac", dataclasses.replace(export_data, scenes=scenes), out)
    item = json.loads((out / "a1" / "a1.json").read_text())
    hrefs = {link["title"]: link["href"] for link in item["links"] if link["rel"] == "derived_from"}
    assert hrefs == {
        "evidence before: S2B_before_1": "https://example.org/items/S2B_before_1.json",
        "evidence after: S2C_after_1": item_file.as_uri(),
    }
