"""Keeping state right over years: scenes that arrive late, items reprocessed upstream, an
edited AOI and a new detector version each end where a fresh, uninterrupted run ends."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import monitor.detect.state
import monitor.errors
from monitor.store import Store
from tests.cli import conftest as cli
from tests.cli.conftest import RunState, SimArchive

pytestmark = pytest.mark.slow


def _run(stac: Path, aoi_file: Path, where: RunState) -> int:
    return cli.run_cli(
        [
            "run",
            "--stac",
            stac,
            "--aoi",
            aoi_file,
            "--state-dir",
            where.state,
            "--reports-dir",
            where.reports,
            "--since",
            cli.FULL_PERIOD[0],
            "--until",
            cli.FULL_PERIOD[1],
        ]
    )


def _catalog_without(
    archive: SimArchive, name: str, drop: set[str], extra: list[dict[str, Any]] = ()
) -> Path:  # type: ignore[assignment]
    """A sibling of ``collection.json`` (so relative links still resolve) listing every item
    but ``drop``, plus ``extra`` items written beside the others."""
    collection = json.loads((archive.sim / "collection.json").read_text())
    links = [
        link
        for link in collection["links"]
        if not (link["rel"] == "item" and Path(link["href"]).stem in drop)
    ]
    for item in extra:
        (archive.sim / "items" / f"{item['id']}.json").write_text(json.dumps(item))
        links.append(
            {"rel": "item", "href": f"./items/{item['id']}.json", "type": "application/geo+json"}
        )
    collection["links"] = links
    path = archive.sim / f"{name}.json"
    path.write_text(json.dumps(collection))
    return path


def _used(state: Path, aoi_id: str = "east-test") -> list[str]:
    with Store.open(state, create=False) as store:
        return [o.scene_id for o in store.observations(aoi_id, status="used")]


def _middle_used(reference: RunState, n: int) -> list[str]:
    used = _used(reference.state)
    middle = len(used) // 2
    return used[middle : middle + n]


def _essentials(detections: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (d["id"], d["change_type"], d["status"], d["first_seen"], d["area_m2"]) for d in detections
    )


def test_scenes_that_arrive_late_are_read_and_replayed(
    east_archive: SimArchive, east_reference: RunState, tmp_path: Path
) -> None:
    late = set(_middle_used(east_reference, 3))
    where = RunState(tmp_path / "state", tmp_path / "reports")
    early = _catalog_without(east_archive, "collection-without-late", late)
    assert _run(early, east_archive.aoi_files["east-test"], where) == 0
    assert not late & set(_used(where.state))
    # The catalog now has them (published late, dated before the last scene seen).
    assert (
        _run(east_archive.sim / "collection.json", east_archive.aoi_files["east-test"], where) == 0
    )
    assert late <= set(_used(where.state))
    with Store.open(where.state, create=False) as store:
        per_aoi = store.last_run().per_aoi["east-test"]  # type: ignore[union-attr]
    assert per_aoi["counts"]["new"] == len(late)
    assert per_aoi["scenes_fed"] == len(_used(where.state)), "a late scene replays the history"
    assert cli.export_all(where.state, tmp_path / "got.geojson") == cli.export_all(
        east_reference.state, tmp_path / "want.geojson"
    )


def test_an_item_reprocessed_upstream_replaces_the_one_used(
    east_archive: SimArchive, east_reference: RunState, tmp_path: Path
) -> None:
    [old_id] = _middle_used(east_reference, 1)
    old = json.loads((east_archive.sim / "items" / f"{old_id}.json").read_text())
    new = copy.deepcopy(old)
    new["id"] = f"{old_id}-reprocessed"
    new["properties"]["s2:processing_baseline"] = "05.99"
    new["properties"]["updated"] = "2026-11-01T00:00:00Z"
    where = RunState(tmp_path / "state", tmp_path / "reports")
    assert (
        _run(east_archive.sim / "collection.json", east_archive.aoi_files["east-test"], where) == 0
    )
    catalog = _catalog_without(east_archive, "collection-reprocessed", set(), [new])
    assert _run(catalog, east_archive.aoi_files["east-test"], where) == 0
    with Store.open(where.state, create=False) as store:
        superseded = store.observation("east-test", old_id)
        assert superseded is not None and superseded.status == "skipped"
        assert "reprocessed" in superseded.reason
        replacement = store.observation("east-test", new["id"])
        assert replacement is not None and replacement.status == "used"
    # Same pixels: the same changes; only the evidence names the new item.
    got = cli.export_all(where.state, tmp_path / "got.geojson")
    assert _essentials(got) == _essentials(
        cli.export_all(east_reference.state, tmp_path / "want.geojson")
    )
    evidence = {s for d in got for s in d["evidence_before"] + d["evidence_after"]}
    assert old_id not in evidence

    # Upstream withdraws the reprocessed item: the old one serves its acquisition again,
    # and still one observation per acquisition is used.
    assert (
        _run(east_archive.sim / "collection.json", east_archive.aoi_files["east-test"], where) == 0
    )
    with Store.open(where.state, create=False) as store:
        used = store.observations("east-test", status="used")
        assert len({o.acquisition for o in used}) == len(used)
        assert old_id in {o.scene_id for o in used}
        gone = store.observation("east-test", new["id"])
        assert gone is not None and gone.status == "skipped"
        assert "no longer in the catalog" in gone.reason
    assert cli.export_all(where.state, tmp_path / "again.geojson") == cli.export_all(
        east_reference.state, tmp_path / "want.geojson"
    )


def test_an_edited_aoi_is_modelled_on_its_new_grid(
    east_archive: SimArchive,
    east_reference: RunState,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    where = RunState(tmp_path / "state", tmp_path / "reports")
    for name in ("state", "reports"):
        import shutil

        shutil.copytree(getattr(east_reference, name), getattr(where, name))
    edited = copy.deepcopy(cli.EAST_AOI)
    ring = edited["geometry"]["coordinates"][0]
    # 0.001 degree (about 100 m) narrower in the east: a new outline, a new grid.
    edited["geometry"]["coordinates"][0] = [[min(x, 98.573), y] for x, y in ring]
    aoi_file = tmp_path / "east-test.geojson"
    aoi_file.write_text(json.dumps(edited))
    assert _run(east_archive.sim / "collection.json", aoi_file, where) == 0
    report = cli.status_json(where.state, capsys)
    [aoi] = report["aois"]
    assert aoi["detector"]["current"] is True
    assert aoi["detector"]["scenes_fed"] == aoi["scenes_used"]
    with Store.open(where.state, create=False) as store:
        stored = store.get_aoi("east-test")
        snapshot = store.get_detector_state("east-test", with_arrays=False)
        assert stored is not None and snapshot is not None
        assert snapshot.geometry_hash == stored.geometry_hash
        assert stored.grid.width < (store.aoi_versions("east-test")[0][1].width)
        east_edge = 98.573 + 0.0002  # a 20 m snap at most
        for det in store.detections(aoi_id="east-test"):
            assert det.geometry.bounds[2] <= east_edge, det.id


def _copy_of(reference: RunState, tmp_path: Path) -> RunState:
    """A copy of a finished run's state and reports, to run on without touching them."""
    import shutil

    where = RunState(tmp_path / "state", tmp_path / "reports")
    for name in ("state", "reports"):
        shutil.copytree(getattr(reference, name), getattr(where, name))
    return where


@pytest.mark.parametrize("change", ["code", "setting"])
def test_a_new_detector_version_replays_on_the_next_run(
    east_archive: SimArchive,
    east_reference: RunState,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: str,
) -> None:
    """New detector code (its STATE_VERSION) or a changed `detector` setting."""
    where = _copy_of(east_reference, tmp_path)
    if change == "code":
        monkeypatch.setattr(
            monitor.detect.state, "STATE_VERSION", monitor.detect.state.STATE_VERSION + 100
        )
    else:
        monkeypatch.setenv("MONITOR_DETECTOR", "n_confirm = 3")
    [before] = cli.status_json(where.state, capsys)["aois"]
    assert before["detector"]["current"] is False
    assert (
        _run(east_archive.sim / "collection.json", east_archive.aoi_files["east-test"], where) == 0
    )
    [after] = cli.status_json(where.state, capsys)["aois"]
    assert after["detector"]["current"] is True
    assert after["detector"]["version"] != before["detector"]["version"]
    assert after["detector"]["scenes_fed"] == after["scenes_used"]
    if change == "code":
        # The same code under a new name: the same detections.
        assert cli.export_all(where.state, tmp_path / "got.geojson") == cli.export_all(
            east_reference.state, tmp_path / "want.geojson"
        )
    else:
        # Back to the defaults, the state is out of date again.
        monkeypatch.delenv("MONITOR_DETECTOR")
        [back] = cli.status_json(where.state, capsys)["aois"]
        assert back["detector"]["current"] is False
        assert back["detector"]["version"] == after["detector"]["version"]


def test_a_state_written_by_the_version_3_detector_replays_on_the_next_run(
    east_archive: SimArchive,
    east_reference: RunState,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A state as an older detector stored it (STATE_VERSION 3: no familiar states, no
    SCL shares, its own version string) is not read but replayed, to the same detections a
    fresh run gives."""
    from dataclasses import replace

    from monitor.detect import DetectorState

    where = _copy_of(east_reference, tmp_path)
    with Store.open(where.state, create=False) as store:
        snapshot = store.get_detector_state("east-test")
        assert snapshot is not None
        old = {
            k: v
            for k, v in snapshot.arrays.items()
            if k not in ("ex_refl", "ex_n", "meta_exemplars", "meta_scene_doubtful")
        }
        old["meta_version"] = old["meta_version"] * 0 + 3
        with pytest.raises(monitor.errors.StateError, match="version 3"):
            DetectorState.from_arrays(old)
        store.put_detector_state(
            replace(snapshot, arrays=old, detector_version="state-3-params-0123456789ab")
        )
    [before] = cli.status_json(where.state, capsys)["aois"]
    assert before["detector"]["current"] is False
    assert (
        _run(east_archive.sim / "collection.json", east_archive.aoi_files["east-test"], where) == 0
    )
    [after] = cli.status_json(where.state, capsys)["aois"]
    assert after["detector"]["current"] is True
    assert after["detector"]["scenes_fed"] == after["scenes_used"]
    assert cli.export_all(where.state, tmp_path / "got.geojson") == cli.export_all(
        east_reference.state, tmp_path / "want.geojson"
    )
