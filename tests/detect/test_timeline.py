"""Built-up timeline and claim checks from a detector state (pure: arrays and dates only)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from synth import GRID, ROOF_BLUE, ROOFS, SITE, Planted, SynthConfig, _cover_on, scenes

from monitor.detect import DetectorParams, DetectorState, new_state, run_series
from monitor.detect.claims import (
    BELOW_RESOLUTION,
    CANNOT_TELL,
    CONSISTENT,
    INCONSISTENT,
    Claim,
    check_claim,
)
from monitor.detect.classify import MATERIAL_SPECTRA, Material
from monitor.detect.history import pixel_history
from monitor.detect.params import TimelineParams, day_number
from monitor.detect.roofshare import roof_share
from monitor.detect.state import (
    LEARNING_NEW_COVER,
    MONITORING,
    TRAINING,
    decode_reflectance,
    encode_reflectance,
)
from monitor.detect.timeline import built_timeline

D = dt.date
GREY = MATERIAL_SPECTRA[Material.GREY_METAL]
GRASS = MATERIAL_SPECTRA[Material.GREEN_VEGETATION]
SOIL = MATERIAL_SPECTRA[Material.BARE_SOIL]


def test_roof_share_of_library_mixtures() -> None:
    coated = MATERIAL_SPECTRA[Material.COATED_STEEL]
    spectra = np.stack(
        [GREY, 0.5 * GREY + 0.5 * GRASS, GRASS, 0.3 * coated + 0.7 * SOIL, np.full(6, np.nan)]
    )
    share, misfit = roof_share(spectra)
    assert share[:4] == pytest.approx([1.0, 0.5, 0.0, 0.3], abs=0.02)
    assert np.isnan(share[4]) and np.isnan(misfit[4])
    assert (misfit[:4] < 0.01).all()
    # Asphalt is a road, not a roof; rubble and soil are what a demolition leaves.
    for ground in (Material.ASPHALT, Material.RUBBLE_OR_SITE, Material.BARE_SOIL):
        assert roof_share(MATERIAL_SPECTRA[ground][None])[0][0] == pytest.approx(0.0)


# --- a hand-made state: 6 x 6 pixels, a roofed half, one confirmed demolition -----------

MONTH_DAYS = [D(2023, m, 15) for m in range(1, 13)] + [D(2024, m, 15) for m in range(1, 7)]
GAP_MONTH = "2023-08"  # its only scene sees 10 % of the AOI: a gap


def _state() -> DetectorState:
    """Columns 0-2 grey metal roofs, 3-5 grass; pixels (0..1, 0..1) demolished to soil,
    departing first on 2023-09-15 after a last normal view on 2023-07-15 (August is a
    gap), confirmed 2023-10-15."""
    params = DetectorParams()
    state = new_state((6, 6), params)
    n = 36
    roofed = np.zeros((6, 6), dtype=bool)
    roofed[:, :3] = True
    spectra = np.where(roofed.reshape(n)[None, :], GREY[:, None], GRASS[:, None])
    state["phase"][:] = MONITORING
    state["coef"][0] = spectra
    state["start_mean"][:] = encode_reflectance(spectra)
    state["fit_day"][:] = day_number(D(2023, 3, 15))
    state["match_day"][:] = day_number(MONTH_DAYS[-1])
    gone = np.zeros((6, 6), dtype=bool)
    gone[:2, :2] = True
    idx = np.flatnonzero(gone.reshape(n))
    state["phase"][idx] = LEARNING_NEW_COVER
    state["c_status"][idx] = 2
    state["c_type"][idx] = 2
    state["c_first_day"][idx] = day_number(D(2023, 9, 15))
    state["c_window_start"][idx] = day_number(D(2023, 7, 15))
    state["c_confirm_day"][idx] = day_number(D(2023, 10, 15))
    state["c_last_step_day"][idx] = day_number(D(2023, 10, 15))
    state["c_steps"][idx] = 1
    for k in range(5):
        state["buf_refl"][k][:, idx] = encode_reflectance(SOIL)[:, None]
        state["buf_day"][k, idx] = day_number(D(2023, 9, 15)) + 30 * k
    state["buf_n"][idx] = 5
    for day in MONTH_DAYS:
        state.scene_ids.append(f"S_{day:%Y%m%d}")
        state.scene_days.append(day_number(day))
        state.scene_clear.append(0.1 if f"{day:%Y-%m}" == GAP_MONTH else 1.0)
        state.scene_flags.append(0)
    return state


#: The hand-made demolition is 4 pixels, under the detector's minimum mapping unit (6): the
#: tests of the timeline's arithmetic on it lower the unit to 4.
FOUR = DetectorParams(min_pixels=4)


def test_a_confirmed_group_smaller_than_a_detection_dates_no_change() -> None:
    history = pixel_history(_state())  # the detector's unit: 6 pixels
    timeline = built_timeline(history, first_modelled_day=day_number(D(2023, 3, 15)))
    assert all(not m.demolished_m2 for m in timeline.clear_months)
    counted = built_timeline(
        pixel_history(_state(), detector=FOUR), first_modelled_day=day_number(D(2023, 3, 15))
    )
    assert sum(m.demolished_m2 or 0 for m in counted.clear_months) > 300


def test_timeline_of_a_demolition_with_a_gap() -> None:
    history = pixel_history(_state(), detector=FOUR)
    timeline = built_timeline(history, first_modelled_day=day_number(D(2023, 3, 15)))
    months = {m.month: m for m in timeline.months}
    assert list(months) == [f"{d:%Y-%m}" for d in MONTH_DAYS]
    gap = months[GAP_MONTH]
    assert gap.gap and gap.clear_observations == 0
    assert gap.built_m2 is None and gap.demolished_m2 is None  # a gap, not a zero
    for month in timeline.clear_months:
        assert month.built_low_m2 <= month.built_m2 <= month.built_high_m2
    assert months["2023-07"].built_m2 == pytest.approx(1800, abs=20)
    assert months["2023-09"].built_m2 == pytest.approx(1400, abs=20)
    assert months["2023-09"].demolished_m2 == pytest.approx(400, abs=20)
    assert months["2023-10"].demolished_m2 == pytest.approx(0, abs=1)
    # Before the model, changes are not measured: empty, not zero.
    assert months["2023-01"].demolished_m2 is None
    # The demolished roofs' neighbours may have lost their edges unseen: in the band only.
    assert months["2023-09"].built_low_m2 < 1400 - 100


def test_a_change_the_verification_holds_back_is_possible_not_counted() -> None:
    state = _state()
    held = {"c": state["c_status"] == 2, "p": np.zeros(state.n_pixels, dtype=bool)}
    counted = built_timeline(
        pixel_history(state, detector=FOUR), first_modelled_day=day_number(D(2023, 3, 15))
    )
    doubted = built_timeline(
        pixel_history(state, detector=FOUR, held_back=held),
        first_modelled_day=day_number(D(2023, 3, 15)),
    )
    before = {m.month: m for m in counted.clear_months}["2023-09"]
    after = {m.month: m for m in doubted.clear_months}["2023-09"]
    assert before.demolished_m2 == pytest.approx(400, abs=20)
    assert not after.demolished_m2  # no confirmed removal any more ...
    assert after.built_low_m2 <= 1400 + 20  # ... but still inside the band
    assert after.built_high_m2 >= 1800 - 20


def test_claims_on_the_hand_made_state() -> None:
    history = pixel_history(_state(), detector=FOUR)
    first = day_number(D(2023, 3, 15))
    # This AOI holds 1,800 m² of roofs: judged at a finer resolution than the detector's.
    fine = TimelineParams(resolvable_m2=100.0)
    # 4 of 18 roofed pixels went: a claim of 4 of 18 buildings is consistent ...
    check = check_claim(
        history,
        Claim(by=D(2023, 11, 1), demolished=4, total=18),
        params=fine,
        first_modelled_day=first,
    )
    assert check.verdict == CONSISTENT, check.reason
    assert check.share_removed == pytest.approx(4 / 18, abs=0.02)
    assert check.share_removed_low <= check.share_removed <= check.share_removed_high
    assert check.removal_months == (("2023-09", pytest.approx(400, abs=20)),)
    # ... 17 of 18 is not, and neither is none at all.
    for wrong in (17, 0):
        assert (
            check_claim(
                history,
                Claim(by=D(2023, 11, 1), demolished=wrong, total=18),
                params=fine,
                first_modelled_day=first,
            ).verdict
            == INCONSISTENT
        )
    # On 2023-08-20 the roofs may or may not have gone yet: August had no clear view.
    overcast = check_claim(
        history,
        Claim(by=D(2023, 8, 20), demolished=4, total=18),
        params=fine,
        first_modelled_day=first,
    )
    assert overcast.verdict == CANNOT_TELL, overcast.reason
    # Before the detector had modelled the area.
    early = check_claim(
        history,
        Claim(by=D(2023, 2, 20), demolished=4, total=18),
        params=fine,
        first_modelled_day=first,
    )
    assert early.verdict == CANNOT_TELL
    # At the detector's resolution, 400 m² of demolished roofs settle nothing.
    coarse = check_claim(
        history, Claim(by=D(2023, 11, 1), demolished=4, total=18), first_modelled_day=first
    )
    assert coarse.verdict == BELOW_RESOLUTION
    with pytest.raises(ValueError, match="before the first clear observation"):
        check_claim(history, Claim(by=D(2022, 12, 1), demolished=1, total=2))


def test_claim_records_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        Claim(by=D(2024, 1, 1), demolished=5, total=4)
    with pytest.raises(ValueError, match="either"):
        Claim(by=D(2024, 1, 1), demolished=1, total=2, built_area_m2=100.0)
    with pytest.raises(ValueError, match="both"):
        Claim(by=D(2024, 1, 1), demolished=1)


def test_unmodelled_pixels_count_as_unknown_in_the_band() -> None:
    state = _state()
    state["phase"][30:] = TRAINING  # the last row: never modelled
    history = pixel_history(state, detector=FOUR)
    timeline = built_timeline(history)
    first = timeline.clear_months[0]
    assert history.unknown[30:].all() and timeline.unknown_pixels >= 6
    # Unknown pixels span no roof to all roof: the band widens by at least their area.
    full = built_timeline(pixel_history(_state(), detector=FOUR)).clear_months[0]
    assert first.built_high_m2 >= full.built_high_m2 + 300 - 1
    assert any("not modelled" in note for note in timeline.notes)


def test_states_written_before_the_timeline_arrays_still_load() -> None:
    arrays = _state().to_arrays()
    for name in ("start_mean", "match_day", "miss_day", "miss_n"):
        del arrays[name]
    old = DetectorState.from_arrays(arrays)
    assert (old["start_mean"] == 0).all()
    history = pixel_history(old, detector=FOUR)  # falls back on the current models
    assert history.start[:3] == pytest.approx(1.0, abs=0.02)


# --- the detector on the synthetic archive ----------------------------------------------

PLANTED = [
    # A blue roof of 24 px demolished to a levelled site in January 2022 ...
    Planted(slice(10, 14), slice(12, 18), D(2022, 1, 20), SITE),
    # ... and 36 px of new blue roofs on scrub in December 2021.
    Planted(slice(30, 36), slice(5, 11), D(2021, 12, 10), ROOF_BLUE),
]


@pytest.fixture(scope="module")
def synthetic_state() -> DetectorState:
    params = DetectorParams()
    state = new_state(GRID.shape, params)
    state, _ = run_series(state, scenes(SynthConfig(seed=21, planted=PLANTED)), params)
    return state


def _truth_m2(day: dt.date) -> float:
    return float(np.isin(_cover_on(day, PLANTED, 48), ROOFS).sum()) * 100.0


def test_timeline_matches_the_synthetic_truth(synthetic_state: DetectorState) -> None:
    history = pixel_history(synthetic_state)
    timeline = built_timeline(history)
    assert timeline.clear_months
    errors = []
    for month in timeline.clear_months:
        assert month.observed_on is not None
        truth = _truth_m2(month.observed_on)
        assert month.built_low_m2 <= truth <= month.built_high_m2, (month, truth)
        errors.append(abs(month.built_m2 - truth) / truth)
    assert max(errors) < 0.25, max(errors)
    gone = sum(m.demolished_m2 or 0.0 for m in timeline.months)
    new = sum(m.new_built_m2 or 0.0 for m in timeline.months)
    assert 1200 <= gone <= 2900 and 2000 <= new <= 4200, (gone, new)


def test_the_start_survives_a_refit(synthetic_state: DetectorState) -> None:
    # The new roofs were refitted as roofs a year later: their start is still the scrub.
    built = np.zeros((48, 48), dtype=bool)
    built[31:35, 6:10] = True
    idx = np.flatnonzero(built.reshape(-1))
    refitted = idx[
        (synthetic_state["phase"][idx] == MONITORING) & (synthetic_state["c_status"][idx] == 2)
    ]
    assert refitted.size >= 8
    now, _ = roof_share(synthetic_state["coef"][0][:, refitted].T)
    then, _ = roof_share(decode_reflectance(synthetic_state["start_mean"][:, refitted]).T)
    assert (now > 0.6).all() and (then < 0.3).all()
    history = pixel_history(synthetic_state)
    assert (history.start[refitted] < 0.3).all()


def test_claims_on_the_synthetic_archive(synthetic_state: DetectorState) -> None:
    history = pixel_history(synthetic_state)
    params = TimelineParams()
    start = _truth_m2(D(2021, 10, 1))
    share = 2400.0 / start
    total = 100
    true = check_claim(
        history,
        Claim(by=D(2022, 6, 1), demolished=round(share * total), total=total),
        params=params,
    )
    assert true.verdict == CONSISTENT, true.lines()
    inflated = check_claim(history, Claim(by=D(2022, 6, 1), demolished=99, total=100))
    assert inflated.verdict == INCONSISTENT, inflated.lines()
    assert inflated.share_removed_high < 0.9
