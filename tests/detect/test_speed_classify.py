"""Typing in small chunks (for speed) gives every pixel the same result as in one batch."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detect import classify


def test_swap_does_not_depend_on_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    before = (rng.random((5000, 6)) * 0.35).astype(np.float32)
    after = (rng.random((5000, 6)) * 0.35).astype(np.float32)
    results = []
    for chunk in (classify._SWAP_CHUNK, 4096, 5000, 37):
        monkeypatch.setattr(classify, "_SWAP_CHUNK", chunk)
        misfit = np.zeros(5000, dtype=np.float32)
        appeared, went, share = classify.swap(before, after, misfit_out=misfit)
        results.append((appeared.tobytes(), went.tobytes(), share.tobytes(), misfit.tobytes()))
    assert all(r == results[0] for r in results[1:])
    # And typing a subset gives those pixels the codes they had in the batch.
    monkeypatch.undo()
    codes = classify.type_changes(before, after)
    some = rng.random(5000) < 0.1
    assert np.array_equal(classify.type_changes(before[some], after[some]), codes[some])
