"""``monitor aoi list|check|add`` through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from monitor.cli.main import main

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ["kk-park", "kk-park-east", "shwe-kokko", "myawaddy", "mae-sot"]


def _feature(coords: list[list[float]], **props: str) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"id": "site-a", "name": "Site A", **props},
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }


SQUARE = [[98.55, 16.62], [98.56, 16.62], [98.56, 16.63], [98.55, 16.63], [98.55, 16.62]]


def test_list_shows_every_shipped_aoi_on_47n(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["aoi", "list", "--aoi-dir", str(REPO / "aoi"), "--state-dir", "/nonexistent/state"])
        == 0
    )
    out = capsys.readouterr().out
    for aoi_id in SHIPPED:
        assert aoi_id in out
    assert out.count("EPSG:32647") == len(SHIPPED)
    assert not Path("/nonexistent/state").exists()


@pytest.mark.parametrize("aoi_id", SHIPPED)
def test_check_each_shipped_aoi(aoi_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aoi", "check", str(REPO / "aoi" / f"{aoi_id}.geojson")]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "32647" in out


def test_check_reports_where_a_ring_crosses_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bowtie = [[98.55, 16.62], [98.56, 16.63], [98.56, 16.62], [98.55, 16.63], [98.55, 16.62]]
    path = tmp_path / "bowtie.geojson"
    path.write_text(json.dumps(_feature(bowtie)))
    assert main(["aoi", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bowtie.geojson" in err and "98.555" in err and "16.625" in err
    assert len(err.strip().splitlines()) == 1


def test_check_metres_and_area_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metres = [
        [451460, 1840340],
        [451560, 1840340],
        [451560, 1840240],
        [451460, 1840240],
        [451460, 1840340],
    ]
    path = tmp_path / "utm.geojson"
    path.write_text(json.dumps(_feature(metres)))
    assert main(["aoi", "check", str(path)]) == 1
    assert "metres" in capsys.readouterr().err
    path = tmp_path / "square.geojson"
    path.write_text(json.dumps(_feature(SQUARE)))
    assert main(["aoi", "check", str(path), "--max-area-km2", "0.5"]) == 1
    assert "over the limit" in capsys.readouterr().err


def test_add_copies_and_registers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aoi_dir = tmp_path / "aoi"
    shutil.copytree(REPO / "aoi", aoi_dir)
    src = tmp_path / "new-site.geojson"
    src.write_text(json.dumps(_feature(SQUARE)))
    state = tmp_path / "state"
    assert main(["aoi", "add", str(src), "--aoi-dir", str(aoi_dir), "--state-dir", str(state)]) == 0
    assert "site-a: added" in capsys.readouterr().out
    assert (aoi_dir / "site-a.geojson").exists()
    assert main(["aoi", "list", "--aoi-dir", str(aoi_dir), "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("site-a"))
    assert " yes " in line

    # An edited outline under the same id is refused without --overwrite ...
    moved = [[x + 0.001, y] for x, y in SQUARE]
    src.write_text(json.dumps(_feature(moved)))
    assert main(["aoi", "add", str(src), "--aoi-dir", str(aoi_dir), "--state-dir", str(state)]) == 1
    assert "site-a" in capsys.readouterr().err
    # ... and with it, it is a new grid.
    assert (
        main(
            [
                "aoi",
                "add",
                str(src),
                "--overwrite",
                "--aoi-dir",
                str(aoi_dir),
                "--state-dir",
                str(state),
            ]
        )
        == 0
    )
    assert "new geometry" in capsys.readouterr().out


def test_add_bad_file_leaves_folder_and_state_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aoi_dir = tmp_path / "aoi"
    aoi_dir.mkdir()
    src = tmp_path / "point.geojson"
    src.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {"id": "p", "name": "P"},
                "geometry": {"type": "Point", "coordinates": [98.5, 16.6]},
            }
        )
    )
    assert (
        main(
            [
                "aoi",
                "add",
                str(src),
                "--aoi-dir",
                str(aoi_dir),
                "--state-dir",
                str(tmp_path / "state"),
            ]
        )
        == 1
    )
    assert "Point" in capsys.readouterr().err
    assert list(aoi_dir.iterdir()) == []
    assert not (tmp_path / "state").exists()


def test_duplicate_ids_in_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aoi_dir = tmp_path / "aoi"
    aoi_dir.mkdir()
    (aoi_dir / "one.geojson").write_text(json.dumps(_feature(SQUARE)))
    (aoi_dir / "two.geojson").write_text(json.dumps(_feature(SQUARE)))
    assert main(["aoi", "list", "--aoi-dir", str(aoi_dir), "--state-dir", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "one.geojson" in err and "two.geojson" in err
