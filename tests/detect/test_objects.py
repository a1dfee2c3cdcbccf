"""Objects from changed pixels: touching pixels seen close in time are one object."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from monitor.detect.objects import label_objects

EIGHT = np.ones((3, 3), dtype=bool)


def test_touching_pixels_split_only_at_wide_gaps_in_their_days() -> None:
    mask = np.zeros((5, 9), dtype=bool)
    mask[1:4, 1:8] = True
    days = np.full(mask.shape, 100)
    days[1:4, 5:8] = 300  # the east half seen 200 days later: a separate object
    days[2, 2] = 130  # within merge_days of its neighbours: the same object
    labels, count = label_objects(mask, days, merge_days=60)
    assert count == 2
    assert len({labels[1, 1], labels[2, 2], labels[3, 4]}) == 1
    assert labels[1, 1] != labels[1, 6] and labels[0, 0] == 0
    # A wider merge window joins them.
    assert label_objects(mask, days, merge_days=250)[1] == 1


def test_random_masks_give_connected_objects_without_wide_day_gaps() -> None:
    rng = np.random.default_rng(7)
    for _ in range(100):
        shape = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
        mask = rng.random(shape) < rng.uniform(0.05, 0.7)
        days = rng.integers(0, int(rng.integers(1, 400)), shape)
        merge = int(rng.integers(0, 120))
        labels, count = label_objects(mask, days, merge_days=merge)
        assert np.array_equal(labels > 0, mask)
        assert set(np.unique(labels[mask])) == set(range(1, count + 1))
        for label in range(1, count + 1):
            part = labels == label
            assert ndimage.label(part, structure=EIGHT)[1] == 1, "an object is one piece"
            # Its days lie in one run of its component's days with no gap wider than merge.
            coarse = ndimage.label(mask, structure=EIGHT)[0]
            component = coarse == coarse[part][0]
            lo, hi = days[part].min(), days[part].max()
            run = np.unique(days[component & (days >= lo) & (days <= hi)])
            assert (np.diff(run) <= merge).all(), "an object spans a wide gap in its days"
