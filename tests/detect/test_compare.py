"""Before/after mode: composites, normalisation, threshold, typing, objects; OSCD smoke test."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from synth import GRID, ROOF_BLUE, ROOF_WHITE, SOIL, Planted, render

from monitor.detect import CompareParams, compare_objects, compare_windows, composite

PARAMS = CompareParams()
D = dt.date


def _noisy(surface: np.ndarray, seed: int, gain: float = 1.0, offset: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (surface * gain + offset + rng.normal(0, 0.002, surface.shape)).astype(np.float32)


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
    result = compare_windows(before, after, PARAMS)
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
        params=PARAMS,
    )
    types = sorted(o.change_type for o in objects)
    assert types == ["land_clearing", "new_construction", "roof_change"]
    assert all(o.status == "confirmed" and o.window_end == D(2022, 1, 20) for o in objects)
    assert all(o.evidence_before == ("b2",) and o.evidence_after == ("a1",) for o in objects)


def test_oscd_pair_compares_on_arrays(shared_data: Path) -> None:
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
        for name in ("B02", "B03", "B04", "B08", "B11", "B12"):
            with rasterio.open(city / "assets" / item / f"{name}.tif") as src:
                data = src.read(1)
            if data.shape != truth.shape:
                data = np.repeat(np.repeat(data, 2, 0), 2, 1)[: truth.shape[0], : truth.shape[1]]
            bands.append(np.where(data > 0, data * 1e-4, np.nan))
        dates.append(np.stack(bands).astype(np.float32))
    result = compare_windows([dates[0]], [dates[1]], PARAMS, outside=truth == 255)
    labelled = truth != 255
    assert set(np.unique(result.codes)) <= {0, 1, 2, 3, 4, 5, 255}
    changed = result.changed[labelled]
    hit = (changed & (truth[labelled] == 1)).sum()
    # Changes found sit on labelled change far more often than chance (2.6 % of pixels).
    assert 0 < changed.mean() < 0.2 and hit / changed.sum() > 0.2
