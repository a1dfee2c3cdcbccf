"""The per-pixel observation buffer: a model part, then a candidate part.

The model part holds the training year while a pixel has no model yet, or the first
observations of a new cover after a confirmed change; the candidate part (the last
``cand_n`` slots) holds a candidate change's departing observations. Slots stay in date
order. Every function takes ``idx``, flat pixel indices, all distinct.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.detect import harmonic
from monitor.detect.state import NO_DAY, DetectorState, decode_reflectance

__all__ = [
    "append_observation",
    "make_room",
    "drop_candidates",
    "model_part",
    "learning_reference",
    "candidate_mean",
    "first_candidate",
]


def append_observation(
    state: DetectorState, idx: npt.NDArray[np.intp], coded: npt.NDArray[np.uint16], day: int
) -> None:
    """Put one observation (coded (6, P)) at each pixel's next free slot."""
    if idx.size == 0:
        return
    slot = state["buf_n"][idx].astype(np.intp)
    state["buf_refl"][slot, :, idx] = coded.T
    state["buf_day"][slot, idx] = day
    state["buf_n"][idx] = (slot + 1).astype(np.uint8)


def make_room(state: DetectorState, idx: npt.NDArray[np.intp]) -> None:
    """Where the buffer is full, drop every other observation of its model part.

    The candidate part (the last ``cand_n`` slots) is kept and moved down. Dropping every
    other one keeps the training span, which a year of history needs.
    """
    full = idx[state["buf_n"][idx] >= state.buffer_size]
    if full.size == 0:
        return
    refl = state["buf_refl"][:, :, full]
    days = state["buf_day"][:, full]
    cand = state["cand_n"][full].astype(np.intp)
    n_model = state.buffer_size - cand
    new_refl = np.zeros_like(refl)
    new_days = np.full_like(days, NO_DAY)
    new_n = np.zeros(full.size, dtype=np.intp)
    # Few distinct candidate counts: loop over them, vectorised over pixels.
    for c in np.unique(cand):
        sel = np.flatnonzero(cand == c)
        keep = list(range(0, int(n_model[sel[0]]), 2)) + list(
            range(state.buffer_size - int(c), state.buffer_size)
        )
        new_refl[: len(keep), :, sel] = refl[keep][:, :, sel]
        new_days[: len(keep), sel] = days[keep][:, sel]
        new_n[sel] = len(keep)
    state["buf_refl"][:, :, full] = new_refl
    state["buf_day"][:, full] = new_days
    state["buf_n"][full] = new_n.astype(np.uint8)


def drop_candidates(state: DetectorState, idx: npt.NDArray[np.intp]) -> None:
    """Forget the candidate part of the buffers of ``idx``."""
    if idx.size == 0:
        return
    n = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    for c in np.unique(state["cand_n"][idx]):
        sel = idx[state["cand_n"][idx] == c]
        start = state["buf_n"][sel].astype(np.intp) - int(c)
        for k in range(int(c)):
            state["buf_day"][start + k, sel] = NO_DAY
            state["buf_refl"][start + k, :, sel] = 0
    state["buf_n"][idx] = n.astype(np.uint8)
    state["cand_n"][idx] = 0


def model_part(
    state: DetectorState, idx: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """Buffer observations outside the candidate part: values (P, B, 6), days (P, B), used."""
    refl = decode_reflectance(state["buf_refl"][:, :, idx].astype(np.uint16)).transpose(2, 0, 1)
    days = state["buf_day"][:, idx].astype(np.int32).T
    n_model = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    used = np.arange(state.buffer_size)[None, :] < n_model[:, None]
    return refl, days, used


def learning_reference(state: DetectorState, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Median (6, P) of the model part of the buffers of pixels learning a new cover."""
    refl = decode_reflectance(state["buf_refl"][:, :, idx])  # (B, 6, P)
    n_model = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    unused = np.arange(state.buffer_size)[:, None] >= n_model[None, :]  # (B, P)
    refl[np.broadcast_to(unused[:, None, :], refl.shape)] = np.inf
    med = harmonic.median_of_used(refl.transpose(2, 0, 1), n_model)  # (P, 6)
    return np.ascontiguousarray(med.T, dtype=np.float32)


def candidate_mean(state: DetectorState, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Mean spectrum (6, P) of the candidate part of each buffer."""
    refl = decode_reflectance(state["buf_refl"][:, :, idx].astype(np.uint16))  # (B, 6, P)
    n = state["buf_n"][idx].astype(np.intp)
    c = state["cand_n"][idx].astype(np.intp)
    slots = np.arange(state.buffer_size)[:, None]
    inside = (slots >= (n - c)[None, :]) & (slots < n[None, :])  # (B, P)
    total = np.einsum("bcp,bp->cp", refl, inside.astype(np.float32))
    return np.asarray(total / np.maximum(c, 1)[None, :], dtype=np.float32)


def first_candidate(state: DetectorState, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """First observation (6, P) of each candidate part."""
    slot = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    return decode_reflectance(state["buf_refl"][slot, :, idx].T.astype(np.uint16))
