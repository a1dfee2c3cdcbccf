"""``monitor compare`` on a real OSCD pair and ``monitor export --format geojson``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely.geometry
from rasterio.warp import Resampling, reproject

from monitor.cli.main import main
from monitor.models import Detection
from monitor.store import Store
from tests.store.factories import make_aoi


@pytest.mark.slow
def test_compare_on_oscd_rennes(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city = shared_data / "oscd" / "rennes"
    out = tmp_path / "out"
    code = main(
        [
            "compare",
            "--stac",
            str(city),
            "--aoi",
            str(city / "aoi.geojson"),
            "--state-dir",
            str(tmp_path / "state"),
            "--before",
            "2015-08-01/2015-08-31",
            "--after",
            "2017-06-21",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "Starlink" in capsys.readouterr().out  # the stated limits come with every result
    with rasterio.open(out / "change.tif") as src, rasterio.open(city / "truth.tif") as ref:
        assert src.crs.to_epsg() == 32630 and src.res == (10.0, 10.0)
        assert src.transform.c % 20 == 0 and src.transform.f % 20 == 0
        codes = src.read(1)
        assert set(np.unique(codes)) <= {0, 1, 2, 3, 4, 5, 6, 255}
        on_truth = np.full((ref.height, ref.width), 255, np.uint8)
        reproject(
            codes,
            on_truth,
            src_transform=src.transform,
            src_crs=src.crs,
            dst_transform=ref.transform,
            dst_crs=ref.crs,
            resampling=Resampling.nearest,
        )
        truth = ref.read(1)
    known = (truth != 255) & (on_truth != 255)
    flagged, changed = (on_truth > 0) & known, (truth == 1) & known
    f1 = 2 * (flagged & changed).sum() / (flagged.sum() + changed.sum())
    # The naive baseline reaches about 0.47-0.50 here; a broken comparison falls far below.
    assert f1 > 0.35, f1
    collection = json.loads((out / "changes.geojson").read_text())
    assert collection["type"] == "FeatureCollection" and collection["features"]
    first = collection["features"][0]["properties"]
    assert first["status"] == "confirmed" and first["simulated"] is False
    assert first["window_start"] == "2015-08-21" and first["first_seen"] == "2017-06-21"


def test_compare_refuses_overlapping_windows(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city = shared_data / "oscd" / "rennes"
    code = main(
        [
            "compare",
            "--stac",
            str(city),
            "--aoi",
            str(city / "aoi.geojson"),
            "--state-dir",
            str(tmp_path / "s"),
            "--before",
            "2015-08-01/2017-07-01",
            "--after",
            "2017-06-21",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 1 and "must end before" in capsys.readouterr().err


def _detection(det_id: str, status: str, first_seen: dt.date) -> Detection:
    return Detection(
        id=det_id,
        aoi="kk-park",
        change_type="demolition",
        status=status,  # type: ignore[arg-type]
        first_seen=first_seen,
        window_start=first_seen - dt.timedelta(days=5),
        window_end=first_seen,
        area_m2=2300.0,
        n_pixels=23,
        confidence=0.81,
        n_obs=3,
        geometry=shapely.geometry.Polygon(
            [(98.57, 16.63), (98.57, 16.631), (98.571, 16.631), (98.571, 16.63)]
        ),  # clockwise on purpose
        confirmed_on=first_seen + dt.timedelta(days=10) if status == "confirmed" else None,
        evidence_before=("S2B_before",),
        evidence_after=("S2C_after",),
        simulated=True,
    )


@pytest.fixture
def state_with_detections(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    with Store.open(state) as store:
        store.put_aoi(make_aoi("kk-park"))
        store.put_detections(
            "kk-park",
            [
                _detection("a", "confirmed", dt.date(2025, 10, 30)),
                _detection("b", "probable", dt.date(2025, 11, 20)),
                _detection("c", "rejected", dt.date(2025, 8, 1)),
            ],
        )
    return state


@pytest.mark.parametrize(
    "status, ids", [(None, ["a"]), ("probable", ["b"]), ("all", ["a", "b"]), ("rejected", ["c"])]
)
def test_export_geojson_status_selection(
    state_with_detections: Path,
    tmp_path: Path,
    status: str | None,
    ids: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "d.geojson"
    argv = [
        "export",
        "--format",
        "geojson",
        "--out",
        str(out),
        "--state-dir",
        str(state_with_detections),
    ]
    if status:
        argv += ["--status", status]
    assert main(argv) == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert [f["properties"]["id"] for f in data["features"]] == ids
    feature = data["features"][0]
    props = feature["properties"]
    assert list(props) == [
        "id",
        "aoi",
        "change_type",
        "status",
        "first_seen",
        "confirmed_on",
        "window_start",
        "window_end",
        "area_m2",
        "n_pixels",
        "confidence",
        "n_obs",
        "evidence_before",
        "evidence_after",
        "simulated",
        "review_verdict",
        "review_note",
        "review_source",
        "reviewed_by",
        "reviewed_at",
    ]
    assert props["simulated"] is True and data["monitor"]["simulated"] is True
    ring = feature["geometry"]["coordinates"][0]
    assert shapely.geometry.LinearRing(ring).is_ccw, "RFC 7946: exterior counter-clockwise"
    assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring)


def test_export_refuses_to_overwrite_and_filters_since(
    state_with_detections: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "d.geojson"
    out.write_text("keep me")
    base = [
        "export",
        "--format",
        "geojson",
        "--out",
        str(out),
        "--state-dir",
        str(state_with_detections),
        "--status",
        "all",
    ]
    assert main(base) == 1
    assert "--overwrite" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main([*base, "--overwrite", "--since", "2025-11-01"]) == 0
    assert [f["id"] for f in json.loads(out.read_text())["features"]] == ["b"]


def test_export_empty_selection_writes_valid_empty_file(
    state_with_detections: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "none.geojson"
    assert (
        main(
            [
                "export",
                "--format",
                "geojson",
                "--out",
                str(out),
                "--state-dir",
                str(state_with_detections),
                "--since",
                "2030-01-01",
            ]
        )
        == 0
    )
    assert "empty" in capsys.readouterr().out
    assert json.loads(out.read_text())["features"] == []


def test_export_unknown_and_unbuilt_formats(
    state_with_detections: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--out", str(tmp_path / "x"), "--state-dir", str(state_with_detections)]
    assert main(["export", "--format", "dxf", *base]) == 1
    assert "--format dxf: unknown format" in capsys.readouterr().err
