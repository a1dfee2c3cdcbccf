"""The scene classification's word on a scene as a whole."""

from __future__ import annotations

import numpy as np

from monitor.detect.sceneclass import doubtful_share, is_misclassified, usual_share


def test_share_counts_dark_water_and_unclassified_among_clear_pixels_only() -> None:
    scl = np.full((10, 10), 4, dtype=np.uint8)
    scl[:2] = 2  # dark area
    scl[2] = 6  # water
    scl[3] = 7  # unclassified
    scl[4:6] = 9  # cloud, masked
    clear = scl != 9
    assert doubtful_share(scl, clear) == 40 / 80
    assert doubtful_share(None, clear) == 0.0
    assert doubtful_share(scl, np.zeros_like(clear)) == 0.0


def test_a_scene_is_doubted_only_when_most_of_it_is_far_above_the_usual() -> None:
    # A river and dark roofs: a tenth of every scene. Not doubted, however often.
    usual = usual_share([0.1] * 20)
    assert usual == 0.1
    assert not is_misclassified(0.15, usual, limit=0.5, excess=0.3)
    assert is_misclassified(0.85, usual, limit=0.5, excess=0.3)
    # An AOI that is mostly water is not doubted for being water.
    assert not is_misclassified(0.7, usual_share([0.65] * 10), limit=0.5, excess=0.3)
    # Until there is a history, the usual share is 0; shares of old states (NaN) are skipped.
    assert usual_share([0.6, float("nan"), 0.6]) == 0.0
