"""``compare_aoi`` on a hand-made archive: views.tif, each object's evidence and the
collection's summary against what the scenes were built with."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import rasterio

from monitor.config import Settings
from monitor.detect.pairevidence import EVIDENCE_FIELDS
from monitor.errors import ExportError
from monitor.export import DETECTION_FIELDS
from monitor.job import CompareOutput, compare_aoi
from monitor.models import CHIP_BANDS, RED_EDGE_BANDS
from tests.catalog.builders import C1_TEMPLATE, load_template
from tests.job.compare_archive import (
    AOI_PX,
    PlannedScene,
    aoi_feature,
    inside_aoi,
    true_reflectance,
    write_archive,
)

#: The cloudy before scene's cloud: the AOI's western half (cols 0-29).
WEST = (slice(0, AOI_PX), slice(0, 30))
BEFORE = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
AFTER = (dt.date(2025, 3, 1), dt.date(2025, 3, 31))


def _when(month: int, day: int) -> dt.datetime:
    return dt.datetime(2025, month, day, 4, 0, 30, tzinfo=dt.UTC)


#: Three scenes before (the middle one cloudy over the western half), two after with the roof.
SCENES = [
    PlannedScene(_when(1, 5)),
    PlannedScene(_when(1, 15), cloudy=WEST),
    PlannedScene(_when(1, 25)),
    PlannedScene(_when(3, 6), roof=True),
    PlannedScene(_when(3, 16), roof=True),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, earthsearch_items: Path) -> Path:
    root = tmp_path_factory.mktemp("cmp-archive")
    template = load_template(earthsearch_items, C1_TEMPLATE)
    collection = write_archive(root / "stac", template, SCENES)
    (root / "aoi.geojson").write_text(json.dumps(aoi_feature()))
    return collection


def _compare(
    archive: Path,
    tmp: Path,
    after: tuple[dt.date, dt.date] = AFTER,
    red_edge: bool = True,
    built_model: bool = True,
) -> tuple[CompareOutput, Path]:
    settings = Settings(state_dir=tmp / "state", reports_dir=tmp / "reports", stac=str(archive))
    aoi_file = archive.parent.parent / "aoi.geojson"
    out = tmp / "out"
    result = compare_aoi(
        settings,
        [str(aoi_file)],
        before=BEFORE,
        after=after,
        out=out,
        red_edge=red_edge,
        built_model=built_model,
    )
    return result, out


@pytest.fixture(scope="module")
def compared(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[CompareOutput, Path]:
    """The comparison with the red-edge bands (every scene has them)."""
    return _compare(archive, tmp_path_factory.mktemp("cmp-out"))


def _read(path: Path) -> tuple[npt.NDArray[Any], dict[str, Any]]:
    with rasterio.open(path) as src:
        return src.read(), dict(src.profile)


def _changed_pixels(out: Path) -> npt.NDArray[np.bool_]:
    codes, _ = _read(out / "change.tif")
    return np.asarray((codes[0] >= 1) & (codes[0] <= 6), dtype=bool)


def test_views_tif_counts_each_windows_clear_views(compared: tuple[CompareOutput, Path]) -> None:
    result, out = compared
    assert result.views_tif == out / "views.tif"
    views, profile = _read(out / "views.tif")
    _, change_profile = _read(out / "change.tif")
    assert views.shape == (2, AOI_PX, AOI_PX) and views.dtype == np.uint16
    assert profile["nodata"] == 0 and profile["crs"].to_epsg() == 32647
    assert profile["transform"] == change_profile["transform"]
    inside = inside_aoi()
    want_before = np.where(inside, 3, 0)
    want_before[WEST] = np.where(inside[WEST], 2, 0)  # one of three scenes cloudy there
    np.testing.assert_array_equal(views[0], want_before)
    np.testing.assert_array_equal(views[1], np.where(inside, 2, 0))


def test_each_object_carries_its_evidence(compared: tuple[CompareOutput, Path]) -> None:
    result, out = compared
    collection = json.loads((out / "changes.geojson").read_text())
    [feature] = collection["features"]
    props = feature["properties"]
    # The contract's fields first and as before, the evidence after them.
    assert list(props) == [*DETECTION_FIELDS, *EVIDENCE_FIELDS]
    assert props["n_obs"] == 5 and props["status"] == "confirmed"
    changed = _changed_pixels(out)
    assert props["n_pixels"] == int(changed.sum())
    views, _ = _read(out / "views.tif")
    seen_before = views[0][changed]
    assert set(seen_before) == {2, 3}  # the roof straddles the cloud's edge
    assert props["views_before_min"] == 2
    assert props["views_before_median"] == float(np.median(seen_before))
    assert props["views_after_min"] == 2 and props["views_after_median"] == 2.0
    # Index changes against the noise-free ground the scenes were drawn from.
    band = {b: (true_reflectance(b, False), true_reflectance(b, True)) for b in _used_bands()}

    def change(a: str, b: str) -> float:
        (a0, a1), (b0, b1) = band[a], band[b]
        return float(np.mean(((a1 - b1) / (a1 + b1) - (a0 - b0) / (a0 + b0))[changed]))

    assert props["ndvi_change"] == pytest.approx(change("nir", "red"), abs=0.03)
    assert props["ndbi_change"] == pytest.approx(change("swir16", "nir"), abs=0.03)
    assert props["mndwi_change"] == pytest.approx(change("green", "swir16"), abs=0.03)
    assert props["ndre_change"] == pytest.approx(change("nir08", "rededge1"), abs=0.03)
    assert props["ndvi_change"] < -0.15 and props["ndbi_change"] > 0.1  # a roof, clearly
    assert props["shift_px"] == collection["monitor"]["shift_px"]
    assert props["built_probability"] is None or 0.0 <= props["built_probability"] <= 1.0


def _used_bands() -> tuple[str, ...]:
    return ("green", "red", "nir", "swir16", "rededge1", "nir08")


def test_the_collection_names_the_bands_and_summarises_the_views(
    compared: tuple[CompareOutput, Path],
) -> None:
    result, out = compared
    meta = json.loads((out / "changes.geojson").read_text())["monitor"]
    assert meta["bands"] == [*CHIP_BANDS, *RED_EDGE_BANDS] == list(result.bands)
    views, _ = _read(out / "views.tif")
    inside = inside_aoi()
    assert meta["views_before"] == {
        "scenes": 3,
        "composite": "median",
        "min": 2,
        "median": float(np.median(views[0][inside])),
        "max": 3,
    }
    assert meta["views_after"] == {
        "scenes": 2,
        "composite": "median",
        "min": 2,
        "median": 2.0,
        "max": 2,
    }
    assert (result.n_before, result.n_after) == (3, 2)
    assert result.views_before.min_views == 2 and not result.views_before.single_scene


def test_a_window_of_one_scene_says_its_composite_is_that_scene(
    archive: Path, tmp_path: Path
) -> None:
    result, out = _compare(archive, tmp_path, after=(dt.date(2025, 3, 1), dt.date(2025, 3, 10)))
    assert result.n_after == 1 and result.views_after.single_scene
    meta = json.loads((out / "changes.geojson").read_text())["monitor"]
    assert meta["views_after"]["composite"] == "single scene"
    assert meta["views_after"]["scenes"] == 1 and meta["views_after"]["max"] == 1
    views, _ = _read(out / "views.tif")
    np.testing.assert_array_equal(views[1], inside_aoi().astype(np.uint16))


def test_nothing_is_written_when_one_output_cannot_be(archive: Path, tmp_path: Path) -> None:
    (tmp_path / "out" / "views.tif").mkdir(parents=True)  # a folder where views.tif goes
    with pytest.raises(ExportError, match="views.tif: is a folder"):
        _compare(archive, tmp_path)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["views.tif"]


def test_without_red_edge_the_six_core_bands_are_compared(archive: Path, tmp_path: Path) -> None:
    result, out = _compare(archive, tmp_path, red_edge=False)
    assert result.bands == CHIP_BANDS
    collection = json.loads((out / "changes.geojson").read_text())
    assert collection["monitor"]["bands"] == list(CHIP_BANDS)
    [feature] = collection["features"]
    assert feature["properties"]["ndre_change"] is None
    assert feature["properties"]["ndvi_change"] < -0.15


def test_without_the_built_model_every_candidate_is_kept(
    archive: Path, tmp_path: Path, compared: tuple[CompareOutput, Path]
) -> None:
    """The change vector as it is: a superset of what the model keeps, said in the metadata,
    no object with a probability."""
    _, with_model = compared
    _, out = _compare(archive, tmp_path, built_model=False)
    collection = json.loads((out / "changes.geojson").read_text())
    assert collection["monitor"]["built_model"] is False
    assert json.loads((with_model / "changes.geojson").read_text())["monitor"]["built_model"]
    assert all(f["properties"]["built_probability"] is None for f in collection["features"])
    kept, every = _changed_pixels(with_model), _changed_pixels(out)
    assert every.any() and not (kept & ~every).any()
