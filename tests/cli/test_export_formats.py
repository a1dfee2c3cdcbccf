"""``monitor export`` end to end on the simulated east archive: every format read back
against the store, the GeoPackage's layers and style, KML schema, STAC, rasters as COGs,
bad input, and the job's own exports after ``monitor run``."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import pystac
import pytest
import rasterio
import shapely

from monitor.aoi import to_utm
from monitor.models import Aoi, Detection, Observation
from monitor.store import Store
from tests.cli.conftest import FULL_PERIOD, RunState, SimArchive, run_cli
from tests.export.readback import (
    DATE_FIELDS,
    FILE_FORMATS,
    assert_areas,
    assert_rows_match,
    kml_root,
    kml_schema,
    read_rows,
)
from tests.export.test_raster import assert_cog

pytestmark = pytest.mark.slow

NAMES = {
    "gpkg": "d.gpkg",
    "geojson": "d.geojson",
    "kml": "d.kml",
    "kmz": "d.kmz",
    "fgb": "d.fgb",
    "parquet": "d.parquet",
    "shp": "d.shp",
    "csv": "d.csv",
    "stac": "stac",
}


@dataclass(frozen=True)
class Exported:
    folder: Path
    rasters: Path
    detections: list[Detection]
    aoi: Aoi
    observations: list[Observation]
    n_runs: int


@pytest.fixture(scope="module")
def exported(east_reference: RunState, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Every format of the reference run's probable and confirmed detections, and rasters."""
    folder = tmp_path_factory.mktemp("exports")
    for fmt, name in NAMES.items():
        extra = ["--raster", folder / "rasters"] if fmt == "gpkg" else []
        assert (
            run_cli(
                [
                    "export",
                    "--format",
                    fmt,
                    "--status",
                    "all",
                    "--out",
                    folder / name,
                    "--state-dir",
                    east_reference.state,
                    *extra,
                ]
            )
            == 0
        ), fmt
    with Store.open(east_reference.state, create=False) as store:
        detections = store.detections(status=("probable", "confirmed"))
        [aoi] = store.list_aois()
        observations = store.observations(aoi.id)
        n_runs = len(store.runs(limit=1000))
    assert detections, "the east archive should give detections"
    return Exported(folder, folder / "rasters", detections, aoi, observations, n_runs)


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_each_format_reads_back_as_the_store(fmt: str, exported: Exported) -> None:
    path = exported.folder / NAMES[fmt]
    rows, geometries, crs = read_rows(fmt, path, layer="detections" if fmt == "gpkg" else None)
    assert_rows_match(rows, exported.detections)
    assert_areas(
        geometries, sorted(exported.detections, key=lambda d: d.id), exported.aoi.grid.epsg
    )
    assert all(r["simulated"] is True for r in rows)
    if fmt != "csv":
        assert crs.to_epsg() == 4326
    if fmt != "parquet":
        options = {"AUTODETECT_TYPE": "YES"} if fmt == "csv" else {}
        info = pyogrio.read_info(path, layer="detections" if fmt == "gpkg" else None, **options)
        types = dict(zip(info["fields"], info["ogr_types"], strict=True))
        day = "OFTDateTime" if fmt == "fgb" else "OFTDate"
        renamed = (
            {"confirmed_on": "confirm_on", "window_start": "win_start", "window_end": "win_end"}
            if fmt == "shp"
            else {}
        )
        assert all(types[renamed.get(n, n)] == day for n in DATE_FIELDS), types


def test_geopackage_has_four_layers_typed_and_styled(exported: Exported) -> None:
    path = exported.folder / "d.gpkg"
    assert {name for name, _ in pyogrio.list_layers(path)} == {
        "detections",
        "aois",
        "observations",
        "runs",
        "layer_styles",
    }
    observations = pyogrio.read_dataframe(path, layer="observations")
    assert len(observations) == len(exported.observations)
    assert sorted(zip(observations["scene_id"], observations["status"], strict=True)) == sorted(
        (o.scene_id, o.status) for o in exported.observations
    )
    assert set(observations["status"]) <= {"used", "skipped", "failed", "pending"}
    info = pyogrio.read_info(path, layer="observations")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["date"] == "OFTDate" and types["clear_fraction"] == "OFTReal"
    assert len(pyogrio.read_dataframe(path, layer="runs")) == exported.n_runs
    aois = pyogrio.read_dataframe(path, layer="aois")
    assert list(aois["id"]) == [exported.aoi.id]
    assert aois["n_detections"].iloc[0] == len(exported.detections)
    styles = pyogrio.read_dataframe(path, layer="layer_styles")
    assert list(styles["f_table_name"]) == ["detections"] and bool(styles["useAsDefault"][0])
    assert 'attr="change_type"' in styles["styleQML"][0]


@pytest.mark.parametrize("fmt", ["kml", "kmz"])
def test_kml_is_schema_valid(fmt: str, exported: Exported) -> None:
    root = kml_root(fmt, exported.folder / NAMES[fmt])
    schema = kml_schema()
    assert schema.validate(root), schema.error_log
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    begins = sorted(e.text for e in root.iterfind(".//k:TimeSpan/k:begin", ns))
    assert begins == sorted(d.first_seen.isoformat() for d in exported.detections)


def test_stac_collection_is_valid_and_links_resolve(exported: Exported) -> None:
    folder = exported.folder / "stac"
    collection = pystac.Collection.from_file(str(folder / "collection.json"))
    assert collection.validate_all() == len(exported.detections)
    for link in json.loads((folder / "collection.json").read_text())["links"]:
        assert (folder / link["href"]).is_file(), link
    for item in collection.get_items():
        assert item.properties["monitor:simulated"] is True
        evidence = [link for link in item.links if link.rel == "derived_from"]
        assert evidence, item.id
        for link in evidence:
            # The simulated archive is a local static catalog: its items, as file URIs.
            assert link.href.startswith("file://")
            assert Path(link.href.removeprefix("file://")).is_file()


def test_rasters_are_cogs_agreeing_with_the_vectors(exported: Exported) -> None:
    aoi = exported.aoi
    folder = exported.rasters / aoi.id
    for name in ("change_class", "first_seen", "confidence"):
        assert_cog(folder / f"{name}.tif", overviews=False)
    with rasterio.open(folder / "change_class.tif") as src:
        assert src.crs.to_epsg() == aoi.grid.epsg and src.shape == aoi.grid.shape
        assert (src.transform.c, src.transform.f) == (aoi.grid.left, aoi.grid.top)
        codes = src.read(1)
    union = shapely.union_all([to_utm(d.geometry, aoi.grid.epsg) for d in exported.detections])
    changed = int(((codes >= 1) & (codes <= 6)).sum())
    assert changed == round(union.area / 100)
    assert set(np.unique(codes)) <= {0, 1, 2, 3, 4, 5, 6, 255} and (codes == 255).any()
    with rasterio.open(folder / "first_seen.tif") as src:
        days = {int(v) for v in np.unique(src.read(1))} - {0}
    assert days == {int(d.first_seen.strftime("%Y%m%d")) for d in exported.detections}
    for det in exported.detections:
        scenes = {}
        for role in ("before", "after"):
            path = folder / "detections" / f"{det.id}_{role}.tif"
            assert_cog(path, overviews=False)
            with rasterio.open(path) as src:
                assert src.count == 3 and src.dtypes == ("uint8",) * 3
                assert src.crs.to_epsg() == aoi.grid.epsg and src.tags()["SIMULATED"] == "yes"
                scenes[role] = src.tags()["SCENE"]
                rgb = src.read()
                assert (rgb > 0).any(), "an image with data"
        assert scenes["before"] in det.evidence_before and scenes["after"] in det.evidence_after
        # The last clear view before the change and the first after, when the evidence
        # holds them (it lists scenes of every pixel of the object).
        if any(_day(s) <= det.window_start for s in det.evidence_before):
            assert _day(scenes["before"]) <= det.window_start
        if any(_day(s) >= det.window_end for s in det.evidence_after):
            assert _day(scenes["after"]) >= det.window_end


def _day(scene_id: str) -> dt.date:
    """The sensing day in a Sentinel-2 scene id (``S2A_T47QMU_20251216T035626_L2A``)."""
    return dt.datetime.strptime(scene_id.split("_")[2][:8], "%Y%m%d").date()


@pytest.fixture
def exports_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "kept.gpkg").write_text("keep me")
    (folder / "a-file").write_text("not a folder")
    return folder


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "dxf", "--out", "{out}/new.dxf"], "--format dxf: unknown format"),
        (["--format", "gpkg", "--out", "{out}/a-file/new.gpkg"], "is not a folder"),
        (["--format", "gpkg", "--out", "{out}/kept.gpkg"], "exists; use --overwrite"),
        (
            ["--format", "gpkg", "--out", "{out}/new.gpkg", "--raster", "{out}/kept.gpkg"],
            "is not a folder",
        ),
        (
            ["--format", "gpkg", "--out", "{out}/new.gpkg", "--aoi", "nowhere"],
            "--aoi nowhere: no such AOI",
        ),
        (["--format", "stac", "--out", "{out}/kept.gpkg"], "is not a folder"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(
    args: list[str],
    message: str,
    east_reference: RunState,
    exports_folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = sorted(p.name for p in exports_folder.rglob("*"))
    capsys.readouterr()
    argv = [
        "export",
        *(a.format(out=exports_folder) for a in args),
        "--state-dir",
        east_reference.state,
    ]
    assert run_cli(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in exports_folder.rglob("*")) == before
    assert (exports_folder / "kept.gpkg").read_text() == "keep me"


def test_empty_selection_writes_valid_empty_files(
    east_reference: RunState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("gpkg", "kml", "stac"):
        out = tmp_path / NAMES[fmt]
        capsys.readouterr()
        assert (
            run_cli(
                [
                    "export",
                    "--format",
                    fmt,
                    "--since",
                    "2030-01-01",
                    "--out",
                    out,
                    "--state-dir",
                    east_reference.state,
                ]
            )
            == 0
        )
        assert "empty" in capsys.readouterr().out
    assert pyogrio.read_info(tmp_path / "d.gpkg", layer="detections")["features"] == 0
    assert {n for n, _ in pyogrio.list_layers(tmp_path / "d.gpkg")} >= {
        "detections",
        "aois",
        "observations",
        "runs",
    }
    assert kml_schema().validate(kml_root("kml", tmp_path / "d.kml"))
    assert (
        pystac.Collection.from_file(str(tmp_path / "stac" / "collection.json")).validate_all() == 0
    )


def test_the_run_writes_both_exports_and_rewrites_them_when_owed(
    east_reference: RunState, east_archive: SimArchive, tmp_path: Path
) -> None:
    reports = east_reference.reports
    names = {p.name for p in reports.iterdir()}
    assert {"detections.geojson", "detections.gpkg"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary file left
    with Store.open(east_reference.state, create=False) as store:
        stored = store.detections(status=("probable", "confirmed"))
    for fmt, name in (("geojson", "detections.geojson"), ("gpkg", "detections.gpkg")):
        rows, _, _ = read_rows(fmt, reports / name, layer="detections" if fmt == "gpkg" else None)
        assert_rows_match(rows, stored)

    # A review makes the exports owed; the next run (nothing new to read) rewrites both.
    where = RunState(tmp_path / "state", tmp_path / "reports")
    shutil.copytree(east_reference.state, where.state)
    shutil.copytree(reports, where.reports)
    target = stored[0].id
    assert (
        run_cli(
            [
                "review",
                "--state-dir",
                where.state,
                "--id",
                target,
                "--verdict",
                "verified",
                "--note",
                "<b>seen</b> on a photo & in a report",
                "--source",
                "https://example.org/photo?id=1&x=2",
            ]
        )
        == 0
    )
    assert (
        run_cli(
            [
                "run",
                "--stac",
                east_archive.sim,
                "--aoi",
                east_archive.aoi_files["east-test"],
                "--state-dir",
                where.state,
                "--reports-dir",
                where.reports,
                "--since",
                FULL_PERIOD[0],
                "--until",
                FULL_PERIOD[1],
            ]
        )
        == 0
    )
    for fmt, name in (("geojson", "detections.geojson"), ("gpkg", "detections.gpkg")):
        rows, _, _ = read_rows(
            fmt, where.reports / name, layer="detections" if fmt == "gpkg" else None
        )
        [row] = [r for r in rows if r["id"] == target]
        assert row["review_verdict"] == "verified"
        assert row["review_note"] == "<b>seen</b> on a photo & in a report"
        assert row["review_source"] == "https://example.org/photo?id=1&x=2"
    # Missing, it is written again even when nothing is owed.
    (where.reports / "detections.gpkg").unlink()
    assert (
        run_cli(
            [
                "run",
                "--stac",
                east_archive.sim,
                "--aoi",
                east_archive.aoi_files["east-test"],
                "--state-dir",
                where.state,
                "--reports-dir",
                where.reports,
                "--since",
                FULL_PERIOD[0],
                "--until",
                FULL_PERIOD[1],
            ]
        )
        == 0
    )
    assert pyogrio.read_info(where.reports / "detections.gpkg", layer="detections")[
        "features"
    ] == len(stored)
