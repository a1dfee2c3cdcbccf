"""Time-series mode on the synthetic archive: distractors, change types, tiers, increments."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from synth import (
    GREY_RUBBLE,
    GRID,
    ROOF_BLUE,
    ROOF_RED,
    ROOF_WHITE,
    RUBBLE,
    SITE,
    SOIL,
    Planted,
    SynthConfig,
    scenes,
)

from monitor.detect import (
    DetectorParams,
    DetectorState,
    coverage,
    detections_from_state,
    new_state,
    run_series,
    update,
)
from monitor.detect.verify import UNFITTED
from monitor.errors import StateError

D = dt.date
PARAMS = DetectorParams()
# Dry-season days of 2021 and 2022, every 35 days, on the 5-day scene calendar.
DRY = tuple(D(2021, 1, 2) + dt.timedelta(days=35 * k) for k in range(9)) + tuple(
    D(2021, 11, 13) + dt.timedelta(days=35 * k) for k in range(5)
)


def _run(config: SynthConfig, params: DetectorParams = PARAMS, verify_model=None):
    state = new_state(GRID.shape, params)
    state, _ = run_series(state, scenes(config), params)
    return state, detections_from_state(
        state,
        aoi_id="test",
        grid=GRID,
        simulated=True,
        params=params,
        verify_model=verify_model,
    )


DISTRACTORS = {
    "paddy, scrub and river seasons": SynthConfig(seed=1),
    "smoke haze, six scenes running, two years": SynthConfig(
        seed=2,
        haze_days=tuple(D(2021, 3, 3) + dt.timedelta(days=5 * k) for k in range(6))
        + tuple(D(2022, 3, 3) + dt.timedelta(days=5 * k) for k in range(6)),
    ),
    "clouds and shadows SCL missed": SynthConfig(seed=3, scl_miss_days=DRY),
    "bright roofs called cloud": SynthConfig(seed=4, bright_roofs_cloud_rate=0.3),
    "sub-pixel misregistration": SynthConfig(seed=5, subpixel_sigma=0.25),
    "one-pixel misregistration": SynthConfig(seed=6, slip_days=DRY),
    "radiometric wobble": SynthConfig(seed=7, wobble_gain=0.02, wobble_offset=0.003),
    "mis-set +0.1 offset": SynthConfig(
        seed=8, offset_days=(D(2021, 2, 1), D(2021, 2, 6), D(2022, 1, 2))
    ),
}


@pytest.mark.parametrize("name", list(DISTRACTORS))
def test_each_distractor_alone_raises_no_alarm(name: str) -> None:
    _, detections = _run(DISTRACTORS[name])
    alarms = [
        (d.status, d.change_type, d.first_seen, d.n_pixels)
        for d in detections
        if d.status in ("confirmed", "probable")
    ]
    assert alarms == []


CHANGES = {
    "new_construction": [Planted(slice(30, 36), slice(5, 11), D(2021, 12, 10), ROOF_BLUE)],
    "demolition": [Planted(slice(4, 8), slice(4, 10), D(2022, 1, 20), RUBBLE)],
    "land_clearing": [Planted(slice(20, 26), slice(5, 10), D(2022, 2, 5), SOIL)],
    "roof_change": [Planted(slice(10, 14), slice(12, 18), D(2022, 1, 10), ROOF_WHITE)],
    "rebuilding": [
        Planted(
            slice(10, 13),
            slice(4, 9),
            D(2021, 12, 1),
            RUBBLE,
            D(2022, 2, 20),
            ROOF_BLUE,
            before=ROOF_RED,
        )
    ],
    # Clearing first, a roof weeks later: one detection, typed by its end.
    "clearing then roof": [
        Planted(slice(20, 25), slice(4, 10), D(2021, 11, 20), SITE, D(2022, 1, 15), ROOF_WHITE)
    ],
    # A red roof torn down: rubble (which looks like a grey roof on the red one's share)
    # for three weeks, then a levelled site. The bare ground shows it was a demolition.
    "red roof to rubble, then a site": [
        Planted(
            slice(4, 8), slice(4, 10), D(2022, 1, 20), RUBBLE, D(2022, 2, 10), SITE, before=ROOF_RED
        )
    ],
}
EXPECTED = {
    "clearing then roof": "new_construction",
    "red roof to rubble, then a site": "demolition",
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_each_change_type_is_found_dated_and_typed(name: str) -> None:
    planted = CHANGES[name]
    # The tiers' own rule; the verification stage is tested in test_verify.py.
    _, detections = _run(SynthConfig(seed=11, planted=planted), verify_model=UNFITTED)
    confirmed = [d for d in detections if d.status == "confirmed"]
    assert len(confirmed) == 1, [(d.status, d.change_type, d.n_pixels) for d in detections]
    found = confirmed[0]
    assert found.change_type == EXPECTED.get(name, name)
    start = planted[0].day
    assert start <= found.first_seen <= start + dt.timedelta(days=30)
    assert found.window_start < start <= found.window_end
    assert found.confirmed_on is not None and found.confirmed_on >= found.first_seen
    truth_px = (planted[0].rows.stop - planted[0].rows.start) * (
        planted[0].cols.stop - planted[0].cols.start
    )
    assert 0.6 * truth_px <= found.n_pixels <= 1.5 * truth_px
    assert found.area_m2 == found.n_pixels * 100.0
    assert found.evidence_before and found.evidence_after and found.simulated
    assert 0.5 < found.confidence <= 1.0
    assert found.geometry_utm.area == pytest.approx(found.area_m2)


def test_a_roof_change_that_leaves_bare_ground_is_retyped_demolition() -> None:
    # The first views of the new cover (grey debris on a red roof's place) read as a new
    # grey roof; the site levelled seven weeks later (close enough to the debris to be the
    # same cover's next views, not a second change) shows the roof was torn down.
    planted = [
        Planted(
            slice(4, 8),
            slice(4, 10),
            D(2022, 1, 20),
            GREY_RUBBLE,
            D(2022, 3, 10),
            SITE,
            before=ROOF_RED,
        )
    ]
    kinds = {}
    for retype_obs in (0, PARAMS.retype_obs):
        params = DetectorParams(retype_obs=retype_obs)
        _, detections = _run(SynthConfig(seed=11, planted=planted), params)
        confirmed = [d for d in detections if d.status == "confirmed"]
        assert len(confirmed) == 1, [(d.status, d.change_type, d.n_pixels) for d in detections]
        kinds[retype_obs] = confirmed[0].change_type
    assert kinds == {0: "roof_change", PARAMS.retype_obs: "demolition"}


def _planted_archive():
    return scenes(SynthConfig(seed=12, planted=CHANGES["new_construction"] + CHANGES["demolition"]))


def test_one_at_a_time_through_storage_equals_one_batch() -> None:
    archive = _planted_archive()
    batch = new_state(GRID.shape, PARAMS)
    batch, _ = run_series(batch, archive, PARAMS)
    stepwise = new_state(GRID.shape, PARAMS)
    for refl, valid, scl, day, scene_id in archive:
        stepwise = DetectorState.from_arrays(stepwise.to_arrays())  # stored between runs
        stepwise, _ = update(stepwise, refl, valid, scl, day, scene_id, PARAMS)
    for name, array in batch.to_arrays().items():
        np.testing.assert_array_equal(array, stepwise.to_arrays()[name], err_msg=name)
    one = detections_from_state(batch, aoi_id="a", grid=GRID, simulated=True, params=PARAMS)
    two = detections_from_state(stepwise, aoi_id="a", grid=GRID, simulated=True, params=PARAMS)
    assert [(d.id, d.status, d.change_type, d.first_seen) for d in one] == [
        (d.id, d.status, d.change_type, d.first_seen) for d in two
    ]
    assert len({d.id for d in one if d.status == "confirmed"}) == 2


def test_probable_then_confirmed_keeps_its_id() -> None:
    archive = _planted_archive()
    state = new_state(GRID.shape, PARAMS)
    seen: dict[str, list[str]] = {}
    for refl, valid, scl, day, scene_id in archive:
        state, _ = update(state, refl, valid, scl, day, scene_id, PARAMS)
        if D(2021, 12, 1) <= day <= D(2022, 1, 10):
            for d in detections_from_state(
                state, aoi_id="a", grid=GRID, simulated=False, params=PARAMS
            ):
                seen.setdefault(d.id, []).append(d.status)
    tiers = [statuses for statuses in seen.values() if "confirmed" in statuses]
    assert tiers and all(s[0] == "probable" for s in tiers)


def test_pixels_without_a_year_of_clear_history_are_never_flagged() -> None:
    config = SynthConfig(
        seed=13,
        end=D(2020, 10, 1),
        planted=[Planted(slice(30, 36), slice(5, 11), D(2020, 6, 10), ROOF_WHITE)],
    )
    state, detections = _run(config)
    assert detections == []
    notes = coverage(state, PARAMS).notes()
    assert notes[0].startswith("not enough clear observations to model 100.0 %")


def test_gaps_without_clear_observations_are_reported() -> None:
    archive = [
        s
        for s in scenes(SynthConfig(seed=14, end=D(2021, 3, 1)))
        if not D(2020, 6, 2) < s[3] < D(2020, 9, 28)
    ]
    state = new_state(GRID.shape, PARAMS)
    state, _ = run_series(state, archive, PARAMS)
    gaps = [g.reason for g in coverage(state, PARAMS).gaps]
    assert any(g.startswith("no clear observation 2020-0") and "→ 2020-09-" in g for g in gaps)


def test_state_refuses_foreign_arrays_and_old_scenes() -> None:
    state = new_state((4, 5), PARAMS)
    arrays = state.to_arrays()
    del arrays["coef"]
    with pytest.raises(StateError, match="coef"):
        DetectorState.from_arrays(arrays)
    refl = np.full((6, 4, 5), 0.1, dtype=np.float32)
    valid = np.ones((4, 5), dtype=bool)
    update(state, refl, valid, None, D(2022, 1, 5), "s1", PARAMS)
    with pytest.raises(StateError, match="older than"):
        update(state, refl, valid, None, D(2022, 1, 1), "s0", PARAMS)
    with pytest.raises(StateError, match="do not fit"):
        update(state, refl[:, :3], valid[:3], None, D(2022, 1, 9), "s2", PARAMS)


def test_one_departing_observation_is_not_yet_a_probable_object() -> None:
    # A lone departure (a haze patch SCL missed, the last scene before the monsoon) stays
    # a pixel-level candidate; only agreeing departures make a probable object. Pending
    # candidates of one observation each made over 1,500 probable polygons on the demo.
    planted = [Planted(slice(30, 36), slice(5, 11), D(2022, 1, 10), ROOF_WHITE)]
    state = new_state(GRID.shape, PARAMS)
    statuses_after_clear: list[list[str]] = []
    for refl, valid, scl, day, scene_id in scenes(SynthConfig(seed=15, planted=planted)):
        state, _ = update(state, refl, valid, scl, day, scene_id, PARAMS)
        if day >= D(2022, 1, 10) and valid[30:36, 5:11].all() and len(statuses_after_clear) < 2:
            found = detections_from_state(
                state, aoi_id="a", grid=GRID, simulated=True, params=PARAMS
            )
            statuses_after_clear.append([d.status for d in found])
    assert PARAMS.n_probable == 2
    assert statuses_after_clear[0] == []
    assert statuses_after_clear[1] == ["probable"]


def test_an_ambiguous_view_holds_a_pending_candidate_when_asked() -> None:
    # A new white roof; its second clear view after the change is replaced by one that is
    # neither a departure nor a close match of the old cover (0.06 of change, between the
    # 0.0525 of a close match and the 0.07 of a departure): haze, a mixed pixel.
    from synth import render

    window = (slice(30, 36), slice(5, 11))
    planted = [Planted(window[0], window[1], D(2022, 1, 10), ROOF_WHITE)]
    archive = scenes(SynthConfig(seed=15, planted=planted))
    after = [
        i
        for i, (_, valid, _, day, _) in enumerate(archive)
        if day >= D(2022, 1, 10) and valid[window].all()
    ]
    i = after[1]
    refl, valid, scl, day, scene_id = archive[i]
    old = render(day, [])
    refl = refl.copy()
    refl[:, window[0], window[1]] = old[:, window[0], window[1]] + np.float32(0.06 / 6**0.5)
    archive[i] = (refl, valid, scl, day, scene_id)
    first_seen = {}
    for hold in (False, True):
        params = DetectorParams(hold_ambiguous=hold)
        state, _ = run_series(new_state(GRID.shape, params), archive, params)
        found = [
            d
            for d in detections_from_state(
                state, aoi_id="a", grid=GRID, simulated=True, params=params
            )
            if d.status == "confirmed"
        ]
        assert len(found) == 1
        first_seen[hold] = found[0].first_seen
    # Held, the candidate keeps its first view; otherwise the view reset it.
    assert first_seen[True] == archive[after[0]][3]
    assert first_seen[False] > archive[after[1]][3]
