"""Each compared object's evidence and each window's views, on a hand-made comparison."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pytest

from monitor.detect import CompareParams, CompareResult, compare_objects
from monitor.detect.objects import ChangeObject
from monitor.detect.pairevidence import (
    EVIDENCE_FIELDS,
    pair_evidence,
    views_layers,
    window_views,
)
from monitor.detect.params import BANDS
from monitor.models import RED_EDGE_BANDS, Grid

GRID = Grid(epsg=32647, left=440000.0, top=1850000.0, width=20, height=20, res_m=10.0)
ROOF = (slice(5, 10), slice(5, 10))  # 25 px, vegetation to roof
SOIL = (slice(12, 16), slice(12, 16))  # 16 px, vegetation to sparse soil
#: Reflectance per band: vegetation, a roof, sparse soil (red-edge last).
VEGETATION = dict(blue=0.04, green=0.07, red=0.05, nir=0.40, swir16=0.20, swir22=0.10)
ROOF_SPECTRUM = dict(blue=0.22, green=0.25, red=0.30, nir=0.20, swir16=0.34, swir22=0.31)
SOIL_SPECTRUM = dict(blue=0.08, green=0.11, red=0.15, nir=0.25, swir16=0.30, swir22=0.22)
RED_EDGE = {
    "vegetation": dict(rededge1=0.10, rededge2=0.30, rededge3=0.38, nir08=0.42),
    "roof": dict(rededge1=0.27, rededge2=0.24, rededge3=0.22, nir08=0.21),
    "soil": dict(rededge1=0.18, rededge2=0.22, rededge3=0.24, nir08=0.26),
}


def _nd(a: float, b: float) -> float:
    return (a - b) / (a + b)


def _stack(
    spectra: list[tuple[tuple[slice, slice], dict[str, float]]], bands: tuple[str, ...]
) -> npt.NDArray[np.float32]:
    out = np.empty((len(bands), GRID.height, GRID.width), dtype=np.float32)
    for i, band in enumerate(bands):
        out[i] = VEGETATION.get(band, RED_EDGE["vegetation"].get(band))
        for where, spectrum in spectra:
            out[i][where] = spectrum[band]
    return out


def _result(bands: tuple[str, ...], probability: npt.NDArray[np.float32] | None) -> CompareResult:
    roof = {**ROOF_SPECTRUM, **RED_EDGE["roof"]}
    soil = {**SOIL_SPECTRUM, **RED_EDGE["soil"]}
    codes = np.zeros(GRID.shape, dtype=np.uint8)
    codes[ROOF], codes[SOIL] = 1, 5
    before_views = np.full(GRID.shape, 3, dtype=np.int32)
    before_views[:7] = 1  # rows 5-6 of the roof had one clear view before
    after_views = (1 + np.arange(GRID.width) % 4)[None].repeat(GRID.height, 0).astype(np.int32)
    changed = codes > 0
    return CompareResult(
        codes=codes,
        magnitude=np.where(changed, 5.0, 0.5).astype(np.float32),
        threshold=2.0,
        before=_stack([], bands),
        after=_stack([(ROOF, roof), (SOIL, soil)], bands),
        gain=(1.0,) * len(bands),
        offset=(0.0,) * len(bands),
        score=np.where(changed, 5.0, 0.5).astype(np.float32),
        shift=(0.25, -0.5),
        bands=bands,
        candidates=changed,
        probability=probability,
        before_views=before_views,
        after_views=after_views,
    )


def _objects(result: CompareResult) -> dict[str, ChangeObject]:
    objects = compare_objects(
        result,
        aoi_id="t",
        grid=GRID,
        before_last=dt.date(2025, 1, 25),
        after_first=dt.date(2025, 3, 6),
        before_ids=["b1", "b2", "b3"],
        after_ids=["a1", "a2"],
        simulated=False,
        params=CompareParams(),
    )
    by_place = {}
    for obj in objects:
        row, col = divmod(int(obj.pixels[0]), GRID.width)
        by_place["roof" if row < 11 else "soil"] = obj
    assert sorted(by_place) == ["roof", "soil"]
    return by_place


def _probability() -> npt.NDArray[np.float32]:
    p = np.full(GRID.shape, np.nan, dtype=np.float32)
    p[ROOF] = 0.8
    p[SOIL] = np.where(np.arange(16).reshape(4, 4) % 2 == 0, 0.4, 0.6)
    return p


def test_each_object_gets_the_index_changes_views_and_probability_of_its_own_pixels() -> None:
    result = _result(BANDS + RED_EDGE_BANDS, _probability())
    objects = _objects(result)
    roof, soil = pair_evidence(result, [objects["roof"], objects["soil"]])
    v, r, s = VEGETATION, ROOF_SPECTRUM, SOIL_SPECTRUM
    props = roof.properties()
    assert list(props) == list(EVIDENCE_FIELDS)
    assert props["ndvi_change"] == pytest.approx(
        _nd(r["nir"], r["red"]) - _nd(v["nir"], v["red"]), abs=1e-4
    )
    assert props["ndbi_change"] == pytest.approx(
        _nd(r["swir16"], r["nir"]) - _nd(v["swir16"], v["nir"]), abs=1e-4
    )
    assert props["mndwi_change"] == pytest.approx(
        _nd(r["green"], r["swir16"]) - _nd(v["green"], v["swir16"]), abs=1e-4
    )
    bsi = lambda x: _nd(x["swir16"] + x["red"], x["nir"] + x["blue"])  # noqa: E731
    assert props["bsi_change"] == pytest.approx(bsi(r) - bsi(v), abs=1e-4)
    re_v, re_r = RED_EDGE["vegetation"], RED_EDGE["roof"]
    assert props["ndre_change"] == pytest.approx(
        _nd(re_r["nir08"], re_r["rededge1"]) - _nd(re_v["nir08"], re_v["rededge1"]), abs=1e-4
    )
    # Roof rows 5-6 had one view before, rows 7-9 three; after, columns 5-9 had 2 3 4 1 2.
    assert (props["views_before_min"], props["views_before_median"]) == (1, 3.0)
    assert (props["views_after_min"], props["views_after_median"]) == (1, 2.0)
    assert props["built_probability"] == pytest.approx(0.8)
    assert props["shift_px"] == [0.25, -0.5]
    soil_props = soil.properties()
    assert soil_props["ndvi_change"] == pytest.approx(
        _nd(s["nir"], s["red"]) - _nd(v["nir"], v["red"]), abs=1e-4
    )
    assert soil_props["ndvi_change"] > props["ndvi_change"] + 0.3  # its own pixels, not a mix
    assert (soil_props["views_before_min"], soil_props["views_before_median"]) == (3, 3.0)
    # Columns 12-15 had 1 2 3 4 views after: median 2.5.
    assert (soil_props["views_after_min"], soil_props["views_after_median"]) == (1, 2.5)
    assert soil_props["built_probability"] == pytest.approx(0.5)


def test_without_red_edge_or_model_those_fields_are_null() -> None:
    off = np.full(GRID.shape, np.nan, dtype=np.float32)  # the model off: no probability
    result = _result(BANDS, off)
    [roof, _] = pair_evidence(result, list(_objects(result).values()))
    props = roof.properties()
    assert props["ndre_change"] is None and props["built_probability"] is None
    assert props["ndvi_change"] is not None and "ndre_change" in props


def test_views_layers_and_window_summary_leave_the_outside_out() -> None:
    result = _result(BANDS, None)
    outside = np.zeros(GRID.shape, dtype=bool)
    outside[18:] = True
    layers = views_layers(result, outside)
    assert layers.dtype == np.uint16 and layers.shape == (2, 20, 20)
    assert (layers[:, 18:] == 0).all()
    np.testing.assert_array_equal(layers[0, :18], result.before_views[:18])
    summary = window_views(layers[1], ~outside, n_scenes=4)
    assert (summary.min_views, summary.median_views, summary.max_views) == (1, 2.5, 4)
    assert summary.to_metadata() == {
        "scenes": 4,
        "composite": "median",
        "min": 1,
        "median": 2.5,
        "max": 4,
    }
    one = window_views(np.ones((2, 2), dtype=np.int32), np.ones((2, 2), dtype=bool), n_scenes=1)
    assert one.single_scene and one.to_metadata()["composite"] == "single scene"


def test_a_result_without_view_counts_is_refused() -> None:
    result = _result(BANDS, None)
    bare = CompareResult(
        codes=result.codes,
        magnitude=result.magnitude,
        threshold=result.threshold,
        before=result.before,
        after=result.after,
        gain=result.gain,
        offset=result.offset,
        score=result.score,
    )
    with pytest.raises(ValueError, match="no clear-view counts"):
        views_layers(bare)
