"""``monitor run`` with the detector on a small simulated archive with planted demolitions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import shapely.geometry

from monitor.aoi import aoi_from_geojson
from monitor.cli.main import main
from monitor.simulate import simulate_archive

#: 88 x 90 px inside KK Park's eastern section, where the simulator plants the
#: October-December 2025 demolitions.
EAST_AOI = {"type": "Feature", "properties": {"id": "east-test", "name": "East test"},
            "geometry": {"type": "Polygon", "coordinates": [[
                [98.566, 16.624], [98.574, 16.624], [98.574, 16.632], [98.566, 16.632],
                [98.566, 16.624]]]}}
START, END = "2024-07-01", "2026-01-31"


@pytest.fixture(scope="module")
def east_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("east")
    aoi_file = folder / "east-test.geojson"
    aoi_file.write_text(json.dumps(EAST_AOI))
    aoi = aoi_from_geojson(EAST_AOI, where=str(aoi_file), path=str(aoi_file))
    simulate_archive([aoi], folder / "sim", seed=5, style="c1",
                     start=dt.date.fromisoformat(START), end=dt.date.fromisoformat(END),
                     scenario="kk-park-east")
    return folder


def _run(archive: Path, state: Path, until: str) -> int:
    return main(["run", "--stac", str(archive / "sim"), "--aoi",
                 str(archive / "east-test.geojson"), "--state-dir", str(state),
                 "--since", START, "--until", until])


def _export(state: Path, out: Path) -> list[dict[str, Any]]:
    assert main(["export", "--format", "geojson", "--status", "all", "--out", str(out),
                 "--state-dir", str(state), "--overwrite"]) == 0
    return [f["properties"] | {"geometry": f["geometry"]}
            for f in json.loads(out.read_text())["features"]]


@pytest.fixture(scope="module")
def one_run(east_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("state-one")
    assert _run(east_archive, state, END) == 0
    return state


@pytest.mark.slow
def test_planted_demolitions_are_confirmed(east_archive: Path, one_run: Path,
                                           tmp_path: Path) -> None:
    detections = _export(one_run, tmp_path / "d.geojson")
    confirmed = [d for d in detections if d["status"] == "confirmed"]
    assert confirmed, "the planted demolitions should yield confirmed detections"
    truth = json.loads((east_archive / "sim" / "truth.geojson").read_text())["features"]
    planted = [shapely.geometry.shape(f["geometry"]).buffer(0.0001) for f in truth]
    for det in confirmed:
        assert det["simulated"] is True
        assert det["change_type"] in ("new_construction", "demolition", "rebuilding",
                                      "roof_change", "land_clearing")
        assert det["window_start"] <= det["first_seen"] <= det["confirmed_on"]
        # No confirmed detection in this small AOI is a false alarm.
        shape = shapely.geometry.shape(det["geometry"])
        assert any(shape.intersects(p) for p in planted), det
    assert any(d["change_type"] == "demolition" for d in confirmed)
    # Not before the raid: the demolitions begin on 24 October 2025.
    assert min(d["first_seen"] for d in confirmed) >= "2025-10-01"


@pytest.mark.slow
def test_incremental_runs_equal_one_run(east_archive: Path, one_run: Path,
                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    state = tmp_path / "state"
    for until in ("2025-06-30", "2025-11-20", END):
        assert _run(east_archive, state, until) == 0
    stepwise = _export(state, tmp_path / "steps.geojson")
    whole = _export(one_run, tmp_path / "whole.geojson")
    assert stepwise and stepwise == whole
    capsys.readouterr()
    assert main(["status", "--json", "--state-dir", str(state)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["last_run"]["exit_code"] == 0
