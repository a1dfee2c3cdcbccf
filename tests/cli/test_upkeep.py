"""Keeping the state right: nothing new, rebuild, cache --prune, status, catalog down."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.aoi import aoi_from_geojson
from monitor.cli.main import main
from monitor.simulate import simulate_archive

#: 60 x 60 px in KK Park's eastern section, where the simulator plants the late-2025
#: demolitions; 18 months so the detector has a year to learn from.
AOI = {
    "type": "Feature",
    "properties": {"id": "upkeep-test", "name": "Upkeep <test>"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [98.5665, 16.6245],
                [98.5721, 16.6245],
                [98.5721, 16.6299],
                [98.5665, 16.6299],
                [98.5665, 16.6245],
            ]
        ],
    },
}
START, END = "2024-09-01", "2026-01-31"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("upkeep")
    aoi_file = folder / "upkeep-test.geojson"
    aoi_file.write_text(json.dumps(AOI))
    aoi = aoi_from_geojson(AOI, where=str(aoi_file), path=str(aoi_file))
    simulate_archive(
        [aoi],
        folder / "sim",
        seed=4,
        style="c1",
        start=dt.date.fromisoformat(START),
        end=dt.date.fromisoformat(END),
        scenario="kk-park-east",
    )
    return folder


@pytest.fixture(scope="module")
def ran(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state after one complete run (copied by tests that change it)."""
    base = tmp_path_factory.mktemp("ran")
    assert _main(archive, base, "run", "--since", START, "--until", END) == 0
    return base


def _main(archive: Path, base: Path, *argv: str) -> int:
    return main(
        [
            *argv,
            "--stac",
            str(archive / "sim"),
            "--aoi",
            str(archive / "upkeep-test.geojson"),
            "--state-dir",
            str(base / "state"),
            "--reports-dir",
            str(base / "reports"),
        ]
    )


def _copy(ran: Path, tmp_path: Path) -> Path:
    shutil.copytree(ran, tmp_path / "copy")
    return tmp_path / "copy"


def _detections(base: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = base / "all.geojson"
    assert (
        main(
            [
                "export",
                "--format",
                "geojson",
                "--status",
                "all",
                "--out",
                str(out),
                "--overwrite",
                "--state-dir",
                str(base / "state"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    return [
        f["properties"] | {"geometry": f["geometry"]}
        for f in json.loads(out.read_text())["features"]
    ]


def _status(base: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["status", "--json", "--state-dir", str(base / "state")]) == 0
    return json.loads(capsys.readouterr().out)


def test_nothing_new_reads_no_chip_no_state_arrays_and_rewrites_nothing(
    archive: Path,
    ran: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.imagery import cache as cache_module
    from monitor.store import db

    base = _copy(ran, tmp_path)
    export = base / "reports" / "detections.geojson"
    before = export.stat().st_mtime_ns

    def no_arrays(self: Any, aoi_id: str, *, with_arrays: bool = True) -> Any:
        assert not with_arrays, "a run with nothing new must not load the detector arrays"
        return original(self, aoi_id, with_arrays=False)

    def no_chip(*_: Any, **__: Any) -> Any:
        raise AssertionError("a run with nothing new must not open a chip")

    original = db.Store.get_detector_state
    monkeypatch.setattr(db.Store, "get_detector_state", no_arrays)
    monkeypatch.setattr(cache_module.ChipCache, "_load_chip", no_chip)
    capsys.readouterr()
    assert _main(archive, base, "run", "--since", START, "--until", END) == 0
    out = capsys.readouterr().out
    assert "nothing new" in out
    assert export.stat().st_mtime_ns == before
    assert _status(base, capsys)["last_run"]["counts"].get("new", 0) == 0


def test_rebuild_gives_the_run_s_detections_even_without_the_chip_cache(
    archive: Path, ran: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _copy(ran, tmp_path)
    expected = _detections(base, capsys)
    assert any(d["status"] == "confirmed" for d in expected), "the archive plants demolitions"
    assert _main(archive, base, "rebuild") == 0
    assert "rebuilding from the chip cache" in capsys.readouterr().out
    assert _detections(base, capsys) == expected

    shutil.rmtree(base / "state" / "chips")
    assert _main(archive, base, "rebuild") == 0
    assert "no longer cached and were read again" in capsys.readouterr().out
    assert _detections(base, capsys) == expected
    status = _status(base, capsys)
    assert status["last_run"]["command"] == "rebuild"
    assert status["last_run"]["exit_code"] == 0


def test_rebuild_from_keeps_earlier_detections_as_stored(
    archive: Path, ran: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.store import Store

    base = _copy(ran, tmp_path)
    with Store.open(base / "state", create=False) as store:
        stored = store.detections()
        first = next(d for d in stored if d.status != "rejected")
        # Stand-in for a detection an analyst has already cited, from an older detector.
        cited = type(first)(**{**first.__dict__, "confidence": 0.123})
        store.put_detections(first.aoi, [cited if d.id == first.id else d for d in stored])
    after_first = dt.date.fromisoformat(str(first.first_seen)) + dt.timedelta(days=1)
    assert _main(archive, base, "rebuild", "--from", after_first.isoformat()) == 0
    kept = {d["id"]: d for d in _detections(base, capsys)}
    assert kept[first.id]["confidence"] == pytest.approx(0.123)
    assert _main(archive, base, "rebuild") == 0
    assert {d["id"]: d for d in _detections(base, capsys)}[first.id]["confidence"] != pytest.approx(
        0.123
    )


def test_rebuild_of_an_unknown_state_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rebuild", "--state-dir", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "no state here" in err and len(err.strip().splitlines()) == 1


def test_cache_prune_frees_only_what_no_state_needs(
    archive: Path, ran: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _copy(ran, tmp_path)
    chips = base / "state" / "chips"
    current = next((chips / "upkeep-test").iterdir())
    kept = sorted(p.name for p in current.iterdir())
    # Debris a prune must remove: an old outline's grid, an AOI the state never had, a
    # temporary file of a killed write, a chip of a scene the state does not use.
    junk = [
        chips / "upkeep-test" / "0123456789abcdef" / "S2A_old.npz",
        chips / "gone-aoi" / "fedcba9876543210" / "S2B_x.npz",
        current / ".S2A_y.npz.123.abcd.tmp",
    ]
    for path in junk:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)
    orphan = next(p for p in current.glob("*.npz"))
    stray_chip = current / "S2X_not_used.npz"
    shutil.copy(orphan, stray_chip)
    side = json.loads(orphan.with_suffix(".json").read_text())
    side["scene_id"] = "S2X_not_used"
    stray_chip.with_suffix(".json").write_text(json.dumps(side))
    freed = 3000 + stray_chip.stat().st_size + stray_chip.with_suffix(".json").stat().st_size

    capsys.readouterr()
    assert main(["cache", "--prune", "--state-dir", str(base / "state")]) == 0
    out = capsys.readouterr().out
    assert f"freed {freed / 1e6:.1f} MB (5 files)" in out
    assert not any(p.exists() for p in junk) and not stray_chip.exists()
    assert not (chips / "gone-aoi").exists()
    assert sorted(p.name for p in current.iterdir()) == kept
    # Nothing a replay needs was removed: a rebuild reads nothing again.
    assert _main(archive, base, "rebuild") == 0
    assert "read again" not in capsys.readouterr().out


def test_status_json_tells_the_truth(
    archive: Path, ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.store import Store

    report = _status(ran, capsys)
    entry = report["aois"][0]
    with Store.open(ran / "state", create=False) as store:
        detections = store.detections()
        used = store.observations("upkeep-test", status="used")
    assert entry["id"] == "upkeep-test" and entry["simulated"] is True
    assert entry["scenes_used"] == len(used)
    assert entry["last_clear_observation"] == used[-1].datetime.date().isoformat()
    counted = sum(n for types in entry["detections"].values() for n in types.values())
    assert counted == len(detections)
    assert entry["detector"]["current"] is True
    assert entry["detector"]["scenes_fed"] == len(used)
    assert 0.0 <= entry["detector"]["modelled_fraction"] <= 1.0
    # Every period reported without a clear observation is one: no used scene inside it,
    # longer than the detector's gap_days (60); and every such stretch is reported.
    days = sorted({o.datetime.date() for o in used if (o.clear_fraction or 0) >= 0.05})
    stretches = [(a, b) for a, b in zip(days, days[1:], strict=False) if (b - a).days > 60]
    reported = [
        (dt.date.fromisoformat(g["start"]), dt.date.fromisoformat(g["end"]))
        for g in entry["detector"]["data_gaps"]
    ]
    assert reported == stretches
    assert entry["cache_bytes"] > 0 and report["cache_bytes"] >= entry["cache_bytes"]
    assert report["last_run"]["exit_code"] == 0 and report["last_run"]["seconds"] >= 0
    capsys.readouterr()
    assert main(["status", "--state-dir", str(ran / "state")]) == 0
    text = capsys.readouterr().out
    assert "SIMULATED" in text and "upkeep-test" in text


def test_catalog_down_is_exit_3_and_recorded(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    monkeypatch.setenv("MONITOR_HTTP_RETRIES", "0")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state = tmp_path / "state"
    code = main(
        [
            "run",
            "--stac",
            f"http://127.0.0.1:{port}/",
            "--aoi",
            str(archive / "upkeep-test.geojson"),
            "--state-dir",
            str(state),
            "--since",
            START,
            "--until",
            END,
        ]
    )
    assert code == 3
    report = _status(tmp_path, capsys)
    assert report["last_run"]["exit_code"] == 3
    assert "unreachable" in report["last_run"]["errors"][0]

    # A local catalog that is not there is bad input: exit 1, and the run is closed.
    assert (
        main(
            [
                "run",
                "--stac",
                str(tmp_path / "missing.json"),
                "--aoi",
                str(archive / "upkeep-test.geojson"),
                "--state-dir",
                str(state),
            ]
        )
        == 1
    )
    assert _status(tmp_path, capsys)["last_run"]["exit_code"] == 1


def test_scenes_fed_one_run_at_a_time_equal_one_run(
    archive: Path, ran: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Monthly runs (what cron does) end with the detections of one backfill run."""
    base = tmp_path / "monthly"
    day = dt.date.fromisoformat("2025-09-30")
    end = dt.date.fromisoformat(END)
    while True:
        until = min(day, end)
        assert _main(archive, base, "run", "--since", START, "--until", until.isoformat()) == 0
        if until == end:
            break
        day = (until + dt.timedelta(days=40)).replace(day=1) - dt.timedelta(days=1)
    assert _detections(base, capsys) == _detections(ran, capsys)
    assert np.isfinite(len(_detections(base, capsys)))
