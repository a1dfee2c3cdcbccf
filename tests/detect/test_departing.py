"""Which pixels of a scene depart: both thresholds, or hysteresis for pending candidates."""

from __future__ import annotations

import numpy as np

from monitor.detect import DetectorParams
from monitor.detect.departure import departing

SHAPE = (4, 5)


def _scene(cells: dict[tuple[int, int], tuple[float, float, bool]]) -> tuple[np.ndarray, ...]:
    """score, magnitude, cand_n (every pixel), judged from {(row, col): (score, magnitude,
    pending)}."""
    judged = np.array(sorted(r * SHAPE[1] + c for r, c in cells), dtype=np.intp)
    values = [cells[divmod(int(i), SHAPE[1])] for i in judged]
    score = np.array([v[0] for v in values], dtype=np.float32)
    magnitude = np.array([v[1] for v in values], dtype=np.float32)
    cand_n = np.zeros(SHAPE[0] * SHAPE[1], dtype=np.uint8)
    cand_n[judged] = [2 if v[2] else 0 for v in values]
    return score, magnitude, cand_n, judged


def test_weak_departures_count_only_for_pending_pixels_touching_a_clear_one() -> None:
    params = DetectorParams(weak_fraction=0.7)  # weak: z >= 2.45 and change >= 0.049
    cells = {
        (0, 0): (5.0, 0.10, False),  # clear departure
        (0, 1): (3.0, 0.06, True),  # weak, pending, touches (0, 0): departs
        (1, 2): (3.0, 0.06, True),  # weak, pending, touches (0, 1): departs (chain)
        (2, 0): (3.0, 0.06, False),  # weak, no pending candidate, touches nothing clear
        (1, 0): (3.0, 0.06, False),  # weak, touches (0, 0) but no pending candidate
        (3, 4): (3.0, 0.06, True),  # weak, pending, alone
        (2, 3): (2.0, 0.06, True),  # below the weak score, touches (1, 2)
        (0, 3): (3.0, 0.03, True),  # below the weak change, touches (1, 2)
    }
    score, magnitude, cand_n, judged = _scene(cells)
    departs = departing(score, magnitude, cand_n, 1, judged, SHAPE, params)
    got = {divmod(int(i), SHAPE[1]) for i in judged[departs]}
    assert got == {(0, 0), (0, 1), (1, 2)}
    # Off (the default of 1.0 keeps only clear departures), and no clear one: none grows.
    assert (
        departing(
            score, magnitude, cand_n, 1, judged, SHAPE, DetectorParams(weak_fraction=1.0)
        ).sum()
        == 1
    )
    # Outside weak_months, only clear departures.
    dry = DetectorParams(weak_fraction=0.7, weak_months=(11, 12, 1))
    assert departing(score, magnitude, cand_n, 6, judged, SHAPE, dry).sum() == 1
    assert departing(score, magnitude, cand_n, 12, judged, SHAPE, dry).sum() == 3
    score[0] = 3.0
    assert not departing(score, magnitude, cand_n, 1, judged, SHAPE, params).any()
