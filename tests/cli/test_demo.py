"""``monitor demo`` on a small AOI and a short period: its own state, reuse, re-simulation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import monitor.simulate.archive as archive
from monitor.config import load_settings
from monitor.errors import StateError
from monitor.job import DemoPaths, rebuild_aois, run_demo

#: 40 x 40 px in KK Park's eastern section.
SMALL_AOI = {
    "type": "Feature",
    "properties": {"id": "demo-test", "name": "Demo <test>"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [98.568, 16.626],
                [98.5717, 16.626],
                [98.5717, 16.6296],
                [98.568, 16.6296],
                [98.568, 16.626],
            ]
        ],
    },
}
PERIOD = (dt.date(2025, 11, 1), dt.date(2026, 1, 31))


@pytest.fixture
def settings(tmp_path: Path):
    aoi_dir = tmp_path / "aoi"
    aoi_dir.mkdir()
    (aoi_dir / "demo-test.geojson").write_text(json.dumps(SMALL_AOI))
    return load_settings(
        flags={
            "state_dir": tmp_path / "state",
            "reports_dir": tmp_path / "reports",
            "aoi_dir": aoi_dir,
        },
        environ={},
        cwd=tmp_path,
    )


def _demo(settings) -> tuple[int, list[str]]:
    lines: list[str] = []
    job = run_demo(settings, lines.append, aoi_ids=["demo-test"], period=PERIOD)
    return job.exit_code, lines


def test_demo_keeps_its_own_state_and_reuses_its_archive(settings, monkeypatch) -> None:
    paths = DemoPaths.of(settings)
    code, lines = _demo(settings)
    assert code == 0
    assert (paths.archive / "collection.json").is_file()
    assert (paths.state_dir / "state.db").is_file()
    assert (paths.reports_dir / "detections.geojson").is_file()
    # Simulated detections never land in the real state or reports.
    assert not (settings.state_dir / "state.db").exists()
    assert not (settings.reports_dir / "detections.geojson").exists()
    assert any("SIMULATED" in line for line in lines)
    # Its chips are copies of its local archive: dropped (disk budget); a rebuild reads
    # them again and ends where the run ended.
    assert not (paths.state_dir / "chips").exists()
    before = json.loads((paths.reports_dir / "detections.geojson").read_text())["features"]
    rebuilt = rebuild_aois(
        settings.replace(
            state_dir=paths.state_dir,
            reports_dir=paths.reports_dir,
            stac=str(paths.archive / "collection.json"),
        ),
        ["demo-test"],
        deliver_alerts=False,
    )
    assert rebuilt.exit_code == 0
    assert rebuilt.per_aoi["demo-test"].scenes_fed > 0, "every used scene replayed"
    after = json.loads((paths.reports_dir / "detections.geojson").read_text())["features"]
    assert after == before

    code, lines = _demo(settings)
    assert code == 0
    assert any("reused" in line for line in lines)
    assert not any("removing" in line for line in lines)

    # A new simulator version: the archive is simulated again and the demo state derived
    # from the old one is dropped before the run.
    marker = json.loads((paths.archive / "simulation.json").read_text())
    monkeypatch.setattr(archive, "SIMULATOR_VERSION", archive.SIMULATOR_VERSION + 1)
    code, lines = _demo(settings)
    assert code == 0
    assert any(f"removing {paths.state_dir}" in line for line in lines)
    again = json.loads((paths.archive / "simulation.json").read_text())
    assert again["params"]["simulator_version"] == marker["params"]["simulator_version"] + 1
    assert (paths.state_dir / "state.db").is_file()


def test_demo_refuses_a_foreign_archive_folder(settings) -> None:
    paths = DemoPaths.of(settings)
    paths.archive.mkdir(parents=True)
    (paths.archive / "notes.txt").write_text("mine")
    with pytest.raises(StateError, match="not a demo archive"):
        _demo(settings)
    assert (paths.archive / "notes.txt").read_text() == "mine"
