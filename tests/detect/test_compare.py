"""Before/after mode: composites, normalisation, threshold, typing, objects; OSCD smoke test."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from synth import GREEN_RICE, GRID, ROOF_BLUE, ROOF_WHITE, SOIL, STUBBLE, Planted, render

from monitor.detect import CompareParams, compare_objects, compare_windows, composite
from monitor.detect.params import BANDS
from monitor.models import RED_EDGE_BANDS

PARAMS = CompareParams()
D = dt.date


def _noisy(surface: np.ndarray, seed: int, gain: float = 1.0, offset: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (surface * gain + offset + rng.normal(0, 0.002, surface.shape)).astype(np.float32)


def _seen(surface: np.ndarray, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The surface through a sensor: a point spread, then the scene's geolocation shift."""
    blurred = ndimage.gaussian_filter(surface, (0, 0.6, 0.6))
    return np.asarray(ndimage.shift(blurred, (0, *shift), order=3, mode="nearest"))


def test_composite_is_the_median_of_clear_observations() -> None:
    a = np.full((6, 2, 2), 0.1, dtype=np.float32)
    b = np.full((6, 2, 2), 0.3, dtype=np.float32)
    c = np.full((6, 2, 2), 0.2, dtype=np.float32)
    c[:, 0, 0] = np.nan
    median, count = composite([a, b, c])
    assert median[0, 1, 1] == pytest.approx(0.2) and median[0, 0, 0] == pytest.approx(0.2)
    assert count.tolist() == [[2, 3], [3, 3]]


def test_same_scene_twice_with_another_gain_and_offset_shows_no_change() -> None:
    surface = render(D(2022, 2, 1), [])
    result = compare_windows(
        [_noisy(surface, 1)], [_noisy(surface, 2, gain=1.04, offset=0.05)], PARAMS
    )
    assert not result.changed.any()
    assert result.offset[0] == pytest.approx(0.05, abs=0.02)


def test_a_new_roof_and_a_clearing_are_found_typed_and_become_objects() -> None:
    planted = [
        Planted(slice(30, 36), slice(5, 11), D(2022, 1, 1), ROOF_BLUE),
        Planted(slice(20, 26), slice(5, 11), D(2022, 1, 1), SOIL),
        Planted(slice(4, 8), slice(13, 17), D(2022, 1, 1), ROOF_BLUE, before=ROOF_WHITE),
    ]
    before = [_noisy(render(D(2021, 12, 1), planted), s) for s in (1, 2)]
    after = [_noisy(render(D(2022, 1, 20), planted), s) for s in (3, 4, 5)]
    # Forest to bare soil is a clearing to the typing; the built-change model, which cannot
    # tell it from a harvest two dates apart, is off here (see the next test).
    params = CompareParams(built_model=False)
    result = compare_windows(before, after, params)
    assert result.codes[32, 8] == 1 and result.codes[22, 8] == 5 and result.codes[6, 15] == 4
    assert result.codes[45, 2] == 0
    objects = compare_objects(
        result,
        aoi_id="t",
        grid=GRID,
        before_last=D(2021, 12, 1),
        after_first=D(2022, 1, 20),
        before_ids=["b1", "b2"],
        after_ids=["a1", "a2", "a3"],
        simulated=True,
        params=params,
    )
    types = sorted(o.change_type for o in objects)
    assert types == ["land_clearing", "new_construction", "roof_change"]
    assert all(o.status == "confirmed" and o.window_end == D(2022, 1, 20) for o in objects)
    assert all(o.evidence_before == ("b2",) and o.evidence_after == ("a1",) for o in objects)


def test_a_harvested_paddy_is_judged_by_the_model_and_roofs_are_never_vetoed() -> None:
    """Green rice in October, stubble in December: a change vector flags the paddy; the
    built-change model judges it (vegetation, then bare ground) and drops it. A new blue
    metal roof, a demolished one and a roof changing colour look built on a date: they are
    not judged, whatever the model would say."""
    planted = [
        Planted(slice(30, 36), slice(5, 11), D(2022, 1, 1), ROOF_BLUE),
        Planted(slice(10, 14), slice(12, 18), D(2022, 1, 1), SOIL),  # was ROOF_BLUE
        Planted(slice(4, 8), slice(13, 17), D(2022, 1, 1), ROOF_BLUE, before=ROOF_WHITE),
    ]
    paddy = np.zeros((48, 48), dtype=bool)
    paddy[30:40, 32:42] = True  # a field of the paddy, harvested between the dates
    green_rice = np.array(GREEN_RICE, dtype=np.float32)[:, None]
    stubble = np.array(STUBBLE, dtype=np.float32)[:, None]

    def scene(day: dt.date, field: np.ndarray, seed: int) -> np.ndarray:
        surface = render(day, planted).copy()
        surface[:, paddy] = field
        return _noisy(surface, seed)

    before = [scene(D(2021, 12, 1), green_rice, s) for s in (1, 2)]
    after = [scene(D(2022, 1, 20), stubble, s) for s in (3, 4)]
    loose = compare_windows(before, after, CompareParams(built_model=False))
    assert loose.changed[paddy].mean() > 0.5
    result = compare_windows(before, after, PARAMS)
    assert result.probability is not None and np.isfinite(result.probability[paddy]).mean() > 0.5
    assert result.changed[paddy].mean() < 0.05
    for rows, cols in ((slice(31, 35), slice(6, 10)), (slice(11, 13), slice(13, 17))):
        assert result.changed[rows, cols].all() and np.isnan(result.probability[rows, cols]).all()
    assert (result.codes[5:7, 14:16] == 4).all()
    off = compare_windows(before, after, CompareParams(built_model=False))
    assert np.isnan(off.probability).all()


def test_a_shift_between_the_dates_is_undone_and_raises_no_alarm() -> None:
    surface = render(D(2022, 2, 1), [])
    before = [_noisy(_seen(surface), 1)]
    after = [_noisy(_seen(surface, (0.7, -0.6)), 2, gain=1.03, offset=0.01)]
    result = compare_windows(before, after, PARAMS)
    assert result.shift == pytest.approx((0.7, -0.6), abs=0.15)
    assert not result.changed.any()
    # Without co-registration the same pair lights up along every edge.
    unregistered = compare_windows(before, after, CompareParams(register=False))
    assert unregistered.shift == (0.0, 0.0) and unregistered.changed.sum() > 20


def test_a_new_roof_is_found_in_place_through_a_shift() -> None:
    roof = Planted(slice(30, 36), slice(5, 11), D(2022, 1, 1), ROOF_BLUE)
    before = [_noisy(_seen(render(D(2021, 12, 1), [roof])), 1)]
    after = [_noisy(_seen(render(D(2022, 2, 1), [roof]), (-0.8, 0.5)), 2)]
    result = compare_windows(before, after, PARAMS)
    assert result.shift == pytest.approx((-0.8, 0.5), abs=0.15)
    footprint = np.zeros(result.codes.shape, dtype=bool)
    footprint[30:36, 5:11] = True
    assert (result.codes[footprint] == 1).mean() > 0.8
    # Nothing beyond the spread of the point spread function around it.
    assert not (result.changed & ~ndimage.binary_dilation(footprint, iterations=2)).any()


def test_the_threshold_lies_in_the_tail_of_the_magnitude() -> None:
    """A rare change is an outlier of the magnitude, not a second mode for Otsu to split."""
    rng = np.random.default_rng(0)
    before = rng.uniform(0.05, 0.3, (6, 60, 60)).astype(np.float32)
    after = before + rng.normal(0, 0.01, before.shape).astype(np.float32)
    after[:, 10:16, 10:16] += 0.15  # 1 % of the pixels change
    result = compare_windows([before], [after], CompareParams(register=False))
    values = result.magnitude[np.isfinite(result.magnitude)]
    median = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - median)))
    assert result.threshold == pytest.approx(max(median + PARAMS.mad_k * mad, 2.0), rel=1e-5)
    assert (values > result.threshold).mean() < 0.03


def test_a_rough_sea_does_not_raise_the_threshold_for_the_land() -> None:
    """Open water changes between any two dates; a harbour must not hide a new roof."""
    roof = Planted(slice(30, 34), slice(5, 9), D(2022, 1, 1), ROOF_BLUE)
    sea = np.array([0.06, 0.07, 0.05, 0.02, 0.01, 0.008], dtype=np.float32)[:, None, None]

    def scene(day: dt.date, seed: int) -> np.ndarray:
        surface = render(day, [roof]).copy()
        waves = np.random.default_rng(100 + seed).uniform(0.4, 1.8, (1, 20, 48))
        surface[:, :20, :] = sea * waves.astype(np.float32)  # 40 % of the patch
        return _noisy(surface, seed)

    before, after = [scene(D(2021, 12, 1), 1)], [scene(D(2022, 2, 1), 2)]
    result = compare_windows(before, after, PARAMS)
    assert result.changed[30:34, 5:9].all() and not result.changed[:20].any()
    over_all = compare_windows(before, after, CompareParams(land_statistics=False))
    assert over_all.threshold > 2 * result.threshold and not over_all.changed[30:34, 5:9].any()


def test_changes_smaller_than_the_mapping_unit_are_dropped() -> None:
    small = Planted(slice(30, 32), slice(5, 7), D(2022, 1, 1), ROOF_BLUE)  # 4 px
    big = Planted(slice(8, 12), slice(5, 9), D(2022, 1, 1), ROOF_BLUE)  # 16 px
    before = [_noisy(render(D(2021, 12, 1), [small, big]), 1)]
    after = [_noisy(render(D(2022, 2, 1), [small, big]), 2)]
    result = compare_windows(before, after, PARAMS)  # 8 px, 800 m2
    assert not result.changed[26:36, 1:11].any() and result.changed[8:12, 5:9].all()
    assert compare_windows(before, after, CompareParams(min_pixels=2)).changed[30:32, 5:7].all()


def test_compare_params_refuse_a_negative_shift_limit() -> None:
    with pytest.raises(ValueError, match="max_shift_px"):
        CompareParams(max_shift_px=-1.0)


def test_oscd_pair_compares_on_arrays(shared_data: Path) -> None:
    """Rennes, one Level-1C date each side, all ten bands: the default comparison (built-change
    model with the red-edge bands) stays above floors set from its measured figures
    (benchmarks/oscd.py --red-edge, 2026-12-08: F1 0.479, precision 0.486, recall 0.473)."""
    rasterio = pytest.importorskip("rasterio")
    city = shared_data / "oscd" / "rennes"
    with rasterio.open(city / "truth.tif") as src:
        truth = src.read(1)
    items = sorted(
        Path(link["href"]).stem
        for link in json.loads((city / "collection.json").read_text())["links"]
        if link["rel"] == "item"
    )
    dates = []
    for item in items:
        bands = []
        for name in ("B02", "B03", "B04", "B08", "B11", "B12", "B05", "B06", "B07", "B8A"):
            with rasterio.open(city / "assets" / item / f"{name}.tif") as src:
                data = src.read(1)
            if data.shape != truth.shape:
                data = np.repeat(np.repeat(data, 2, 0), 2, 1)[: truth.shape[0], : truth.shape[1]]
            bands.append(np.where(data > 0, data * 1e-4, np.nan))
        dates.append(np.stack(bands).astype(np.float32))
    result = compare_windows(
        [dates[0]], [dates[1]], PARAMS, outside=truth == 255, bands=BANDS + RED_EDGE_BANDS
    )
    labelled = truth != 255
    assert set(np.unique(result.codes)) <= {0, 1, 2, 3, 4, 5, 255}
    changed = result.changed[labelled]
    truly = truth[labelled] == 1
    tp = float((changed & truly).sum())
    precision, recall = tp / changed.sum(), tp / truly.sum()
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 > 0.45 and precision > 0.45 and recall > 0.42, (f1, precision, recall)
