"""Familiar states: exemplars of a pixel's own history and its model at other dates."""

from __future__ import annotations

import numpy as np

from monitor.detect import harmonic
from monitor.detect.familiar import (
    add_exemplars,
    choose_exemplars,
    is_familiar,
    nearest_exemplar,
    nearest_lagged,
)

GREEN = np.array([0.03, 0.06, 0.04, 0.32, 0.17, 0.08], dtype=np.float32)
STUBBLE = np.array([0.07, 0.09, 0.12, 0.20, 0.29, 0.23], dtype=np.float32)
CLOUD = np.array([0.40, 0.41, 0.42, 0.45, 0.35, 0.30], dtype=np.float32)
ROOF = np.array([0.16, 0.13, 0.08, 0.15, 0.11, 0.085], dtype=np.float32)


def _flat_model(level: np.ndarray, p: int) -> np.ndarray:
    coef = np.zeros((harmonic.n_terms(2), 6, p), dtype=np.float32)
    coef[0] = level[:, None]
    return coef


def test_a_state_held_for_two_views_is_kept_and_a_lone_cloud_is_not() -> None:
    days = np.arange(0, 16 * 20, 20)[None, :]
    values = np.repeat(GREEN[None, None, :], 16, axis=1).copy()
    values[0, 5] = STUBBLE  # harvest, seen twice
    values[0, 6] = STUBBLE + 0.004
    values[0, 10] = CLOUD  # one day only: worse fit, but no state
    used = np.ones((1, 16), dtype=bool)
    ex, n = choose_exemplars(values, days, used, _flat_model(GREEN, 1), 2, 2, persist_distance=0.03)
    assert n[0] == 2
    kept = ex[:, :, 0].astype(np.float32) * 1e-4 - 0.1
    assert np.abs(kept[0] - STUBBLE).max() < 0.006  # the worst-fitted state comes first
    assert np.abs(kept - CLOUD).max(axis=1).min() > 0.1  # never the lone cloud


def test_unused_slots_and_close_days_do_not_make_a_state() -> None:
    days = np.array([[0, 2, 40, 80]])
    values = np.stack([STUBBLE, STUBBLE, GREEN, GREEN])[None]
    used = np.array([[True, True, True, False]])
    ex, n = choose_exemplars(
        values, days, used, _flat_model(GREEN, 1), 2, 4, persist_distance=0.03, min_gap_days=4
    )
    # Stubble twice within 2 days is one event; green once (the other slot is unused).
    assert n[0] == 0 and not ex.any()


def test_nearest_exemplar_and_familiarity() -> None:
    ex = np.zeros((3, 6, 2), dtype=np.uint16)
    count = np.array([1, 0], dtype=np.uint8)
    add_exemplars(ex, count, np.array([0]), STUBBLE[:, None])
    d = nearest_exemplar(ex, count, np.stack([STUBBLE + 0.01, STUBBLE], axis=1))
    assert abs(d[0] - 0.01 * np.sqrt(6)) < 1e-3
    assert np.isinf(d[1])  # no exemplar: never familiar
    departure = np.array([0.2, 0.2], dtype=np.float32)
    assert is_familiar(d, departure, fraction=0.4, limit=0.06).tolist() == [True, False]
    # A roof is far from the stubble the field showed.
    d_roof = nearest_exemplar(ex, count, np.stack([ROOF, ROOF], axis=1))
    assert not is_familiar(d_roof, departure, fraction=0.4, limit=0.06).any()


def test_full_exemplars_replace_the_nearest() -> None:
    ex = np.zeros((2, 6, 1), dtype=np.uint16)
    count = np.zeros(1, dtype=np.uint8)
    for s in (STUBBLE, ROOF, STUBBLE + 0.01):
        add_exemplars(ex, count, np.array([0]), s[:, None])
    kept = ex[:, :, 0].astype(np.float32) * 1e-4 - 0.1
    assert count[0] == 2
    assert np.abs(kept[1] - ROOF).max() < 1e-3  # the distinct one survives
    assert np.abs(kept[0] - (STUBBLE + 0.01)).max() < 1e-3


def test_a_harvest_three_weeks_early_matches_the_model_later() -> None:
    days = np.arange(0, 730, 10)
    # A field: green until day 300 of each year, stubble after (smooth model of it).
    doy = days % 365
    truth = np.where((doy > 300) | (doy < 30), 1.0, 0.0)[:, None]
    series = (truth * STUBBLE + (1 - truth) * GREEN).astype(np.float32)
    x = harmonic.design(days, 2)
    coef, *_ = np.linalg.lstsq(x, series, rcond=None)
    coef = coef[:, :, None].astype(np.float32)
    early = 365 + 280  # harvested three weeks early
    today = harmonic.predict(coef, early, 2)[:, 0]
    depart = float(np.sqrt(((STUBBLE - today) ** 2).sum()))
    lagged = nearest_lagged(coef, early, 2, STUBBLE[:, None], (-42, -21, 21, 42))
    assert lagged[0] < 0.5 * depart
    none = nearest_lagged(coef, early, 2, STUBBLE[:, None], ())
    assert np.isinf(none[0])
