"""Two mechanisms that made false changes on real ground, each shown and then refused.

Harvests as steps that move by weeks from year to year (familiar states), and scenes that
SCL calls dark over most of the AOI while hill shade and haze darken them (the scene's
class shares). Each test runs the same archive with the rule off, to show the archive does
raise the alarm the rule exists to refuse.
"""

from __future__ import annotations

import datetime as dt

from synth import GRID, PADDY, SynthConfig, base_cover, scenes

from monitor.detect import DetectorParams, detections_from_state, new_state, run_series

D = dt.date


def _alarms(config: SynthConfig, params: DetectorParams) -> list:
    state, _ = run_series(new_state(GRID.shape, params), scenes(config), params)
    found = detections_from_state(state, aoi_id="t", grid=GRID, simulated=True, params=params)
    return [d for d in found if d.status == "confirmed"]


def test_a_harvest_that_moves_by_weeks_is_no_construction() -> None:
    # Stubble from one day to the next, 30 days early one year and 30 days late the next.
    config = SynthConfig(seed=11, harvest_shifts=(10, -30, 30))
    off = DetectorParams(familiar_exemplars=0, familiar_lags_days=())
    without = _alarms(config, off)
    paddy = base_cover() == PADDY
    assert len(without) >= 3
    assert {d.change_type for d in without} <= {"new_construction", "land_clearing"}
    assert any(paddy.ravel()[d.pixels].mean() > 0.8 for d in without)
    assert _alarms(config, DetectorParams()) == []


def test_scenes_scl_calls_mostly_dark_teach_nothing() -> None:
    winter = tuple(D(2021, 12, 3) + dt.timedelta(days=5 * k) for k in range(6)) + tuple(
        D(2022, 1, 12) + dt.timedelta(days=5 * k) for k in range(3)
    )
    config = SynthConfig(seed=12, doubtful_days=winter)
    assert len(_alarms(config, DetectorParams(scl_doubtful_limit=1.01))) >= 1
    assert _alarms(config, DetectorParams()) == []
