"""``monitor compare``'s summary: scenes and clear views per window, bands, the files; the
scene ids as the catalog gave them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from monitor.cli.main import main
from tests.catalog.builders import C1_TEMPLATE, load_template
from tests.job.compare_archive import PlannedScene, aoi_feature, inside_aoi, write_archive


def _when(month: int, day: int) -> dt.datetime:
    return dt.datetime(2025, month, day, 4, 0, 30, tzinfo=dt.UTC)


#: An item id a catalog may well serve: markup, quotes, an ampersand and non-ASCII.
ODD_ID = "S2B_T47QMU_20250125T040030_L2A <b>&'\"é"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, earthsearch_items: Path) -> Path:
    root = tmp_path_factory.mktemp("cli-cmp")
    west = (slice(0, 60), slice(0, 30))
    scenes = [
        PlannedScene(_when(1, 5)),
        PlannedScene(_when(1, 15), cloudy=west),
        PlannedScene(_when(1, 25), item_id=ODD_ID),
        PlannedScene(_when(3, 6), roof=True),
        PlannedScene(_when(3, 16), roof=True),
    ]
    collection = write_archive(root / "stac", load_template(earthsearch_items, C1_TEMPLATE), scenes)
    (root / "aoi.geojson").write_text(json.dumps(aoi_feature()))
    return collection


def _argv(archive: Path, tmp_path: Path, after: str, *flags: str) -> list[str]:
    return [
        "compare",
        *flags,
        "--stac",
        str(archive),
        "--aoi",
        str(archive.parent.parent / "aoi.geojson"),
        "--state-dir",
        str(tmp_path / "state"),
        "--before",
        "2025-01-01/2025-01-31",
        "--after",
        after,
        "--out",
        str(tmp_path / "out"),
    ]


def test_the_summary_says_the_scenes_and_views_of_each_window(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The red-edge bands are compared by default when every scene has them.
    assert main(_argv(archive, tmp_path, "2025-03-01/2025-03-31")) == 0, capsys.readouterr().err
    lines = capsys.readouterr().out.splitlines()
    out = tmp_path / "out"
    with rasterio.open(out / "views.tif") as src:
        before = src.read(1)[inside_aoi()]
    median = float(np.median(before))
    assert lines[0] == "cmp-test: 3 scene(s) before, 2 after: 1 changed area(s)"
    assert lines[1] == f"  before: 3 scenes (2-3 clear views per pixel, median {median:g})"
    assert lines[2] == "  after: 2 scenes (2 clear views per pixel)"
    assert lines[3] == (
        "  bands: blue green red nir swir16 swir22 rededge1 rededge2 rededge3 nir08"
    )
    assert lines[4:7] == [
        f"  {out / name}" for name in ("change.tif", "views.tif", "changes.geojson")
    ]
    assert "Starlink" in lines[7]  # the stated limits come with every result
    # The scene ids are written as the catalog gave them: no escaping, no replacement.
    text = (out / "changes.geojson").read_text(encoding="utf-8")
    [feature] = json.loads(text)["features"]
    assert feature["properties"]["evidence_before"] == [ODD_ID]
    assert "é" in text


def test_a_window_of_one_scene_is_said_to_be_that_scene(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_argv(archive, tmp_path, "2025-03-06", "--no-red-edge")) == 0, (
        capsys.readouterr().err
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cmp-test: 3 scene(s) before, 1 after: ")
    assert lines[2] == "  after: 1 scene (1 clear view per pixel; the composite is that scene)"
    assert lines[3] == "  bands: blue green red nir swir16 swir22"  # --no-red-edge


def test_no_built_model_keeps_every_change_and_says_so(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(archive, tmp_path, "2025-03-01/2025-03-31", "--no-built-model")
    assert main(argv) == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "out" / "changes.geojson").read_text())["monitor"]
    assert meta["built_model"] is False
