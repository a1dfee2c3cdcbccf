"""``monitor run`` with the detector on a small simulated archive with planted demolitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely.geometry

from tests.cli.conftest import (
    FULL_PERIOD,
    RunState,
    SimArchive,
    export_all,
    run_cli,
    status_json,
)


def _run(archive: SimArchive, state: Path, until: str) -> int:
    return run_cli(
        [
            "run",
            "--stac",
            archive.sim,
            "--aoi",
            archive.aoi_files["east-test"],
            "--state-dir",
            state,
            "--reports-dir",
            state.parent / "reports",
            "--since",
            FULL_PERIOD[0],
            "--until",
            until,
        ]
    )


@pytest.mark.slow
def test_planted_demolitions_are_confirmed(
    east_archive: SimArchive, east_reference: RunState, tmp_path: Path
) -> None:
    detections = export_all(east_reference.state, tmp_path / "d.geojson")
    confirmed = [d for d in detections if d["status"] == "confirmed"]
    assert confirmed, "the planted demolitions should yield confirmed detections"
    truth = json.loads((east_archive.sim / "truth.geojson").read_text())["features"]
    planted = [shapely.geometry.shape(f["geometry"]).buffer(0.0001) for f in truth]
    for det in confirmed:
        assert det["simulated"] is True
        assert det["change_type"] in (
            "new_construction",
            "demolition",
            "rebuilding",
            "roof_change",
            "land_clearing",
        )
        assert det["window_start"] <= det["first_seen"] <= det["confirmed_on"]
        # No confirmed detection in this small AOI is a false alarm.
        shape = shapely.geometry.shape(det["geometry"])
        assert any(shape.intersects(p) for p in planted), det
    assert any(d["change_type"] == "demolition" for d in confirmed)
    # Not before the raid: the demolitions begin on 24 October 2025.
    assert min(d["first_seen"] for d in confirmed) >= "2025-10-01"


@pytest.mark.slow
def test_incremental_runs_equal_one_run(
    east_archive: SimArchive,
    east_reference: RunState,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state"
    for until in ("2025-06-30", "2025-11-20", FULL_PERIOD[1]):
        assert _run(east_archive, state, until) == 0
    stepwise = export_all(state, tmp_path / "steps.geojson")
    whole = export_all(east_reference.state, tmp_path / "whole.geojson")
    assert stepwise and stepwise == whole
    assert status_json(state, capsys)["last_run"]["exit_code"] == 0
