"""``monitor run --workers N`` and ``--scheduler`` (Dask) give what a serial run gives."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from monitor.aoi import aoi_from_geojson
from monitor.cli.main import main
from monitor.simulate import simulate_archive
from monitor.store import Store


def _box(aoi_id: str, west: float, east: float) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"id": aoi_id, "name": aoi_id},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [west, 16.6245],
                    [east, 16.6245],
                    [east, 16.6299],
                    [west, 16.6299],
                    [west, 16.6245],
                ]
            ],
        },
    }


#: Two 30 x 60 px AOIs side by side in KK Park's eastern section (planted demolitions).
AOIS = [_box("par-west", 98.5665, 98.5693), _box("par-east", 98.5693, 98.5721)]
START, END = "2024-09-01", "2026-01-31"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parallel")
    aois = []
    for feature in AOIS:
        path = folder / f"{feature['properties']['id']}.geojson"
        path.write_text(json.dumps(feature))
        aois.append(aoi_from_geojson(feature, where=str(path), path=str(path)))
    simulate_archive(
        aois,
        folder / "sim",
        seed=4,
        style="c1",
        start=dt.date.fromisoformat(START),
        end=dt.date.fromisoformat(END),
        scenario="kk-park-east",
    )
    return folder


def _run(archive: Path, state: Path, *extra: str) -> int:
    aoi_flags = [
        flag for f in AOIS for flag in ("--aoi", str(archive / f"{f['properties']['id']}.geojson"))
    ]
    return main(
        [
            "run",
            "--stac",
            str(archive / "sim"),
            *aoi_flags,
            "--state-dir",
            str(state),
            "--reports-dir",
            str(state / "reports"),
            "--since",
            START,
            "--until",
            END,
            *extra,
        ]
    )


def _outcome(state: Path) -> tuple[list[Any], list[Any], dict[str, Any]]:
    with Store.open(state, create=False) as store:
        detections = [d.__dict__ | {"geometry": d.geometry.wkt} for d in store.detections()]
        observations = [
            (o.aoi_id, o.scene_id, o.status, o.reason, o.clear_fraction)
            for f in AOIS
            for o in store.observations(f["properties"]["id"])
        ]
        states = {}
        for f in AOIS:
            snap = store.get_detector_state(f["properties"]["id"])
            states[f["properties"]["id"]] = (
                snap.n_scenes,
                snap.detector_version,
                {k: v.tobytes() for k, v in snap.arrays.items()},
            )
    return detections, observations, states


@pytest.fixture(scope="module")
def serial(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    state = tmp_path_factory.mktemp("serial")
    assert _run(archive, state) == 0
    outcome = _outcome(state)
    assert any(d["status"] == "confirmed" for d in outcome[0]), "demolitions are planted"
    return outcome


def test_worker_processes_give_the_serial_result(
    archive: Path, serial: Any, tmp_path: Path
) -> None:
    assert _run(archive, tmp_path / "state", "--workers", "2") == 0
    assert _outcome(tmp_path / "state") == serial


def test_dask_cluster_gives_the_serial_result(archive: Path, serial: Any, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert _run(archive, tmp_path / "state", "--scheduler", cluster.scheduler_address) == 0
    assert _outcome(tmp_path / "state") == serial


def test_unreachable_scheduler_is_a_recorded_partial_failure(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    monkeypatch.setenv("MONITOR_HTTP_TIMEOUT_S", "1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state = tmp_path / "state"
    assert _run(archive, state, "--scheduler", f"tcp://127.0.0.1:{port}") == 3
    assert "cannot connect" in capsys.readouterr().out
    with Store.open(state, create=False) as store:
        run = store.last_run()
    assert run.exit_code == 3 and run.errors[0].startswith("scheduler: ")
    assert set(run.per_aoi) == {f["properties"]["id"] for f in AOIS}
