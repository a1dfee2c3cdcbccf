"""The verification stage: evidence per object, its probability, and what it holds back."""

from __future__ import annotations

import dataclasses

import pytest
from synth import GRID, ROOF_BLUE, Planted, SynthConfig, scenes

from monitor.detect import DetectorParams, detections_from_state, new_state, run_series
from monitor.detect.verify import DEFAULT_VERIFY, FEATURES, UNFITTED, probability

D = __import__("datetime").date
PARAMS = DetectorParams()


@pytest.fixture(scope="module")
def built():
    config = SynthConfig(
        seed=11, planted=[Planted(slice(30, 36), slice(5, 11), D(2021, 12, 10), ROOF_BLUE)]
    )
    state, _ = run_series(new_state(GRID.shape, PARAMS), scenes(config), PARAMS)
    return state


def _objects(state, model, params=PARAMS):
    return detections_from_state(
        state, aoi_id="t", grid=GRID, simulated=True, params=params, verify_model=model
    )


def test_every_object_carries_its_evidence_and_the_fitted_model_is_the_default(built) -> None:
    assert DEFAULT_VERIFY is not UNFITTED and "seeds 0-3" in DEFAULT_VERIFY.fitted_on
    assert len(DEFAULT_VERIFY.weights) == len(FEATURES)
    [found] = [o for o in _objects(built, DEFAULT_VERIFY) if o.status != "rejected"]
    assert len(found.evidence) == len(FEATURES)
    named = dict(zip(FEATURES, found.evidence, strict=True))
    assert named["construction"] == 1.0 and named["log_pixels"] > 3.0
    # A clean 3,600 m2 roof on forest in the dry season: confirmed, confidence its probability.
    assert found.status == "confirmed"
    assert found.confidence == probability(found.evidence, DEFAULT_VERIFY) > 0.9


def test_a_confirmed_object_the_model_doubts_stays_probable(built) -> None:
    doubting = dataclasses.replace(DEFAULT_VERIFY, intercept=-40.0)
    [found] = [o for o in _objects(built, doubting) if o.status != "rejected"]
    assert found.status == "probable" and found.confirmed_on is None
    assert found.confidence < 0.01
    # The threshold is a parameter: at 0 nothing is held back.
    lenient = DetectorParams(verify_min_probability=0.0)
    [kept] = [o for o in _objects(built, doubting, lenient) if o.status != "rejected"]
    assert kept.status == "confirmed"


def test_without_a_model_the_rule_and_its_confidence_stand(built) -> None:
    [plain] = [o for o in _objects(built, UNFITTED) if o.status != "rejected"]
    [weighed] = [o for o in _objects(built, DEFAULT_VERIFY) if o.status != "rejected"]
    assert plain.status == "confirmed" and plain.id == weighed.id
    assert plain.evidence == weighed.evidence


def test_held_back_names_the_confirmed_pixels_of_doubted_objects(built) -> None:
    from monitor.detect.readout import held_back

    doubting = dataclasses.replace(DEFAULT_VERIFY, intercept=-40.0)
    [found] = [o for o in _objects(built, doubting) if o.status != "rejected"]
    held = held_back(built, grid=GRID, params=PARAMS, verify_model=doubting)
    confirmed = built["c_status"] == 2
    assert held["c"].sum() > 0 and not (held["c"] & ~confirmed).any()
    assert set(held["c"].nonzero()[0]) <= set(found.pixels.tolist())
    assert not held["p"].any()
    trusted = held_back(built, grid=GRID, params=PARAMS, verify_model=DEFAULT_VERIFY)
    assert not trusted["c"].any() and not trusted["p"].any()
