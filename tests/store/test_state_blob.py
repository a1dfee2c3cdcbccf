"""The detector state's blob: byte-shuffled arrays round-trip exactly; older .npz blobs read."""

from __future__ import annotations

import io

import numpy as np
import pytest

from monitor.store import rows as _rows


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "refl": rng.integers(0, 12000, (16, 6, 50), dtype=np.uint16),
        "coef": rng.normal(size=(5, 6, 50)).astype(np.float16),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 5), np.int16),
        "flags": np.array([True, False, True]),
        "big_endian": rng.random((4, 2)).astype(">f8"),
        "strided": np.arange(20, dtype=np.int32).reshape(4, 5)[:, ::2],
    }


def test_arrays_round_trip_exactly() -> None:
    arrays = _arrays()
    back = _rows.arrays_from_blob(_rows.arrays_to_blob(arrays))
    assert list(back) == list(arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype, name
        assert back[name].shape == array.shape, name
        assert np.array_equal(back[name], array), name


def test_shuffling_makes_smooth_integers_smaller_than_npz() -> None:
    ramp = {"refl": (np.arange(200_000) % 3000 + 500).astype(np.uint16)}
    npz = io.BytesIO()
    np.savez_compressed(npz, **ramp)
    assert len(_rows.arrays_to_blob(ramp)) < len(npz.getvalue())


def test_a_state_stored_as_npz_before_still_reads() -> None:
    arrays = _arrays()
    npz = io.BytesIO()
    np.savez_compressed(npz, **arrays)
    back = _rows.arrays_from_blob(npz.getvalue())
    assert all(np.array_equal(back[name], array) for name, array in arrays.items())


def test_object_arrays_and_damaged_blobs_are_refused() -> None:
    with pytest.raises(ValueError, match="Python objects"):
        _rows.arrays_to_blob({"bad": np.array([{}, None], dtype=object)})
    with pytest.raises(ValueError, match="trailing"):
        _rows.arrays_from_blob(_rows.arrays_to_blob(_arrays()) + b"junk")
