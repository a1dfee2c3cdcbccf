"""Time-series mode: each pixel's own clear history, updated one scene at a time.

Per pixel the detector keeps (all in :class:`DetectorState`, flat arrays over the AOI's
pixels):

- a small buffer of observations: the training year while a pixel has no model yet, the
  departing observations of a candidate change, and the first observations of a new cover
  after a confirmed change;
- once trained, a robust harmonic model (:mod:`monitor.detect.harmonic`) and its residual
  scale per band;
- a candidate tracker (first departing observation, the last clear one before it, how many
  agreeing departures since) and the pixel's current and previous change, plus its last
  rejected candidate.

A new scene costs work proportional to the AOI's pixels, never to its history: predict,
align the scene to the prediction (shift, gain, offset), score each clear pixel, move its
tracker. The tiers follow Global Forest Watch's alerts: ``probable`` after ``n_probable``
departing clear observations, ``confirmed`` after ``n_confirm`` agreeing ones, ``rejected``
when a clear observation matches the model again first (or, soon after confirmation,
``n_confirm`` observations match the old model again).

Feeding scenes one at a time or all at once runs exactly the same code in the same order,
so the state, and every detection and id derived from it, are identical.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.detect import harmonic
from monitor.detect.align import bilinear_at, estimate_shift_sampled, fit_gain_offset_fast
from monitor.detect.classify import CHANGE_CODES, chain_types, type_changes
from monitor.detect.confidence import DEFAULT_CONFIDENCE, ConfidenceModel, confidence
from monitor.detect.objects import ChangeObject, build_objects, label_objects
from monitor.detect.params import EPOCH, N_BANDS, DetectorParams, date_of, day_number
from monitor.errors import StateError
from monitor.models import Grid

__all__ = [
    "STATE_VERSION",
    "TRAINING",
    "MONITORING",
    "LEARNING_NEW_COVER",
    "NO_DAY",
    "DetectorState",
    "SceneOutcome",
    "day_number",
    "date_of",
    "new_state",
    "update",
    "run_series",
    "encode_reflectance",
    "decode_reflectance",
    "DataGap",
    "Coverage",
    "coverage",
    "detections_from_state",
    "change_raster",
]

STATE_VERSION = 3  # 2: typing by material swap; 3: young changes retyped (_retype)
#: Pixel phases.
TRAINING, MONITORING, LEARNING_NEW_COVER = 0, 1, 2
#: Day number meaning "none".
NO_DAY = -1
# Change status codes in the state (the contract's words appear only in detections).
_NONE, _CONFIRMED, _REJECTED = 0, 2, 3

_SCALE = np.float32(1e-4)
_FIT_CHUNK = 32768
_OFFSET = np.float32(-0.1)

# Per-pixel arrays: name -> (dtype, leading dims as names resolved per state, fill value).
# "B" is the buffer size, "K" the harmonic terms, "C" the bands.
_CHAIN_FIELDS: dict[str, tuple[str, float]] = {
    "status": ("u1", _NONE),
    "type": ("u1", 0),
    "first_day": ("i4", NO_DAY),
    "window_start": ("i4", NO_DAY),
    "confirm_day": ("i4", NO_DAY),
    "last_step_day": ("i4", NO_DAY),
    "n_obs": ("u2", 0),
    "score": ("f4", 0.0),
    "scene_before": ("i4", -1),
    "scene_first": ("i4", -1),
    "scene_confirm": ("i4", -1),
    "steps": ("u1", 0),
    "revertible": ("u1", 0),
}
_SPEC: dict[str, tuple[str, tuple[str, ...], float]] = {
    "phase": ("u1", (), TRAINING),
    "n_clear": ("u2", (), 0),
    "buf_refl": ("u2", ("B", "C"), 0),
    "buf_day": ("i4", ("B",), NO_DAY),
    "buf_n": ("u1", (), 0),
    "coef": ("f4", ("K", "C"), 0.0),
    "sigma": ("f4", ("C",), 0.0),
    "fit_day": ("i4", (), NO_DAY),
    "last_normal_day": ("i4", (), NO_DAY),
    "last_normal_scene": ("i4", (), -1),
    "cand_n": ("u1", (), 0),
    "cand_first_day": ("i4", (), NO_DAY),
    "cand_window_start": ("i4", (), NO_DAY),
    "cand_scene_before": ("i4", (), -1),
    "cand_scene_first": ("i4", (), -1),
    "cand_score": ("f4", (), 0.0),
    "revert_n": ("u1", (), 0),
    "rej_first_day": ("i4", (), NO_DAY),
    "rej_last_day": ("i4", (), NO_DAY),
    "rej_window_start": ("i4", (), NO_DAY),
    "rej_n": ("u1", (), 0),
    "rej_score": ("f4", (), 0.0),
    "rej_scene_before": ("i4", (), -1),
    "rej_scene_first": ("i4", (), -1),
    # The first fitted model's annual mean (chip encoding, 0 until then): what the pixel
    # was at the start, kept through later refits for the built-up timeline (timeline.py).
    "start_mean": ("u2", ("C",), 0),
    # The last day a clear observation matched the pixel's reference (within 3/4 of
    # min_change), the first clear day it did not since, and how many did not in a row:
    # whatever the typing made of a departure, the timeline knows since when a pixel is
    # unverified.
    "match_day": ("i4", (), NO_DAY),
    "miss_day": ("i4", (), NO_DAY),
    "miss_n": ("u1", (), 0),
}
#: Arrays a stored state may lack (written before they were kept): left at their fill.
_OPTIONAL = frozenset({"start_mean", "match_day", "miss_day", "miss_n"})
for _slot in ("c", "p"):
    for _name, (_dtype, _fill) in _CHAIN_FIELDS.items():
        _SPEC[f"{_slot}_{_name}"] = (_dtype, (), _fill)


def encode_reflectance(values: npt.NDArray[np.floating]) -> npt.NDArray[np.uint16]:
    """Reflectance to the chips' uint16 encoding (v * 1e-4 - 0.1; 0 kept for no data)."""
    coded = np.rint((np.asarray(values, dtype=np.float32) - _OFFSET) / _SCALE)
    out: npt.NDArray[np.uint16] = np.clip(np.nan_to_num(coded, nan=0.0), 1, 65535).astype(np.uint16)
    return out


def decode_reflectance(values: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """The chips' uint16 encoding back to reflectance, float32."""
    return values.astype(np.float32) * _SCALE + _OFFSET


# Storage narrows what loses nothing: the model is fitted at float16 precision, and day
# numbers and scene indices fit int16 (day 32767 is in 2104). Rebuilt exactly on loading.
_NARROW: dict[str, np.dtype[Any]] = {"f4": np.dtype(np.float16), "i4": np.dtype(np.int16)}
_NARROWED_FLOATS = ("coef", "sigma")


def _storage_dtype(name: str, value: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A copy of one per-pixel array in its (narrower, lossless) storage dtype."""
    if value.dtype == np.float32 and name in _NARROWED_FLOATS:
        return value.astype(np.float16)
    fits_int16 = value.size == 0 or (value.min() >= -32768 and value.max() <= 32767)
    if value.dtype == np.int32 and fits_int16:
        return value.astype(np.int16)
    return value.copy()


@dataclass(eq=False)
class DetectorState:
    """Everything the detector remembers of one AOI: per-pixel arrays and the scene list.

    Attributes
    ----------
    shape : (rows, cols) of the AOI grid.
    buffer_size, harmonics : fixed when the state is created (from the params).
    pixels : name -> array with the pixel axis last (flat, rows * cols); see ``_SPEC``.
    scene_ids, scene_days, scene_clear : one entry per scene fed, in order.
    scene_flags : per scene, 0 used, 1 no clear pixel, 2 judged wrong as a whole.
    """

    shape: tuple[int, int]
    buffer_size: int
    harmonics: int
    pixels: dict[str, npt.NDArray[Any]]
    scene_ids: list[str]
    scene_days: list[int]
    scene_clear: list[float]
    scene_flags: list[int]

    @property
    def n_pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def last_day(self) -> int:
        return self.scene_days[-1] if self.scene_days else NO_DAY

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        return self.pixels[name]

    def nbytes(self) -> int:
        """Memory held by the per-pixel arrays."""
        return int(sum(a.nbytes for a in self.pixels.values()))

    def stored_nbytes(self) -> int:
        """Uncompressed bytes of the per-pixel arrays as :meth:`to_arrays` gives them."""
        return int(sum(_storage_dtype(k, v).nbytes for k, v in self.pixels.items()))

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Plain arrays for storage (``np.savez`` or one BLOB each); see :meth:`from_arrays`.

        Per-pixel arrays keep their names; the scene list and metadata are prefixed
        ``meta_``. Arrays are copies, safe to write from another thread.
        """
        out: dict[str, npt.NDArray[Any]] = {
            k: _storage_dtype(k, v) for k, v in self.pixels.items()
        }
        out["meta_version"] = np.array([STATE_VERSION], dtype=np.int32)
        out["meta_shape"] = np.array(self.shape, dtype=np.int32)
        out["meta_buffer_size"] = np.array([self.buffer_size], dtype=np.int32)
        out["meta_harmonics"] = np.array([self.harmonics], dtype=np.int32)
        out["meta_scene_ids"] = np.array(self.scene_ids, dtype=np.str_)
        out["meta_scene_days"] = np.array(self.scene_days, dtype=np.int32)
        out["meta_scene_clear"] = np.array(self.scene_clear, dtype=np.float32)
        out["meta_scene_flags"] = np.array(self.scene_flags, dtype=np.uint8)
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]]) -> DetectorState:
        """Rebuild a state written by :meth:`to_arrays`.

        Raises
        ------
        StateError
            When arrays are missing, of another version, or of the wrong shape.
        """
        try:
            version = int(arrays["meta_version"][0])
            if version != STATE_VERSION:
                raise StateError(f"detector state version {version} is not {STATE_VERSION}")
            rows, cols = (int(v) for v in arrays["meta_shape"])
            state = _empty(
                (rows, cols), int(arrays["meta_buffer_size"][0]), int(arrays["meta_harmonics"][0])
            )
            for name, template in state.pixels.items():
                if name in _OPTIONAL and name not in arrays:
                    continue
                value = np.asarray(arrays[name])
                if value.dtype != template.dtype and value.dtype in _NARROW.values():
                    value = value.astype(template.dtype)  # narrowed for storage
                if value.shape != template.shape or value.dtype != template.dtype:
                    raise StateError(
                        f"detector state array {name} is {value.dtype}{value.shape}, "
                        f"expected {template.dtype}{template.shape}"
                    )
                state.pixels[name] = value.copy()
            state.scene_ids = [str(s) for s in arrays["meta_scene_ids"]]
            state.scene_days = [int(d) for d in arrays["meta_scene_days"]]
            state.scene_clear = [float(c) for c in arrays["meta_scene_clear"]]
            state.scene_flags = [int(f) for f in arrays["meta_scene_flags"]]
        except KeyError as missing:
            raise StateError(f"detector state lacks array {missing}") from None
        return state


@dataclass(frozen=True)
class SceneOutcome:
    """What one scene did to an AOI's detector state (for logs and run summaries)."""

    scene_id: str
    date: dt.date
    clear_pixels: int
    modelled_clear_pixels: int
    departing_pixels: int
    new_candidates: int
    confirmed_pixels: int
    rejected_pixels: int
    newly_modelled_pixels: int
    shift_px: tuple[float, float]
    gain: tuple[float, ...]
    offset: tuple[float, ...]
    flag: str  # "used", "no clear pixel", "scene judged wrong as a whole"


def _empty(shape: tuple[int, int], buffer_size: int, harmonics: int) -> DetectorState:
    n = shape[0] * shape[1]
    dims = {"B": buffer_size, "K": harmonic.n_terms(harmonics), "C": N_BANDS}
    pixels: dict[str, npt.NDArray[Any]] = {}
    for name, (dtype, lead, fill) in _SPEC.items():
        pixels[name] = np.full(tuple(dims[d] for d in lead) + (n,), fill, dtype=np.dtype(dtype))
    return DetectorState(
        shape=shape,
        buffer_size=buffer_size,
        harmonics=harmonics,
        pixels=pixels,
        scene_ids=[],
        scene_days=[],
        scene_clear=[],
        scene_flags=[],
    )


def new_state(shape: tuple[int, int], params: DetectorParams) -> DetectorState:
    """A fresh state for an AOI grid of ``shape`` (rows, cols): every pixel untrained."""
    if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
        raise ValueError(f"grid shape must be (rows, cols) >= 1, got {shape}")
    return _empty((int(shape[0]), int(shape[1])), params.buffer_size, params.harmonics)


# --- buffer helpers (idx: flat pixel indices, all distinct) ------------------------------


def _append(
    state: DetectorState, idx: npt.NDArray[np.intp], coded: npt.NDArray[np.uint16], day: int
) -> None:
    """Put one observation (coded (6, P)) at each pixel's next free slot."""
    if idx.size == 0:
        return
    slot = state["buf_n"][idx].astype(np.intp)
    state["buf_refl"][slot, :, idx] = coded.T
    state["buf_day"][slot, idx] = day
    state["buf_n"][idx] = (slot + 1).astype(np.uint8)


def _make_room(state: DetectorState, idx: npt.NDArray[np.intp]) -> None:
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


def _drop_candidates(state: DetectorState, idx: npt.NDArray[np.intp]) -> None:
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


def _model_part(
    state: DetectorState, idx: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """Buffer observations outside the candidate part: values (P, B, 6), days (P, B), used."""
    refl = decode_reflectance(state["buf_refl"][:, :, idx].astype(np.uint16)).transpose(2, 0, 1)
    days = state["buf_day"][:, idx].astype(np.int32).T
    n_model = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    used = np.arange(state.buffer_size)[None, :] < n_model[:, None]
    return refl, days, used


def _learning_reference(state: DetectorState, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Median (6, P) of the model part of the buffers of pixels learning a new cover."""
    refl = decode_reflectance(state["buf_refl"][:, :, idx])  # (B, 6, P)
    n_model = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    unused = np.arange(state.buffer_size)[:, None] >= n_model[None, :]  # (B, P)
    refl[np.broadcast_to(unused[:, None, :], refl.shape)] = np.inf
    med = harmonic.median_of_used(refl.transpose(2, 0, 1), n_model)  # (P, 6)
    return np.ascontiguousarray(med.T, dtype=np.float32)


def _candidate_mean(state: DetectorState, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Mean spectrum (6, P) of the candidate part of each buffer."""
    refl = decode_reflectance(state["buf_refl"][:, :, idx].astype(np.uint16))  # (B, 6, P)
    n = state["buf_n"][idx].astype(np.intp)
    c = state["cand_n"][idx].astype(np.intp)
    slots = np.arange(state.buffer_size)[:, None]
    inside = (slots >= (n - c)[None, :]) & (slots < n[None, :])  # (B, P)
    total = np.einsum("bcp,bp->cp", refl, inside.astype(np.float32))
    return np.asarray(total / np.maximum(c, 1)[None, :], dtype=np.float32)


def _first_candidate(state: DetectorState, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """First observation (6, P) of each candidate part."""
    slot = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    return decode_reflectance(state["buf_refl"][slot, :, idx].T.astype(np.uint16))


def _fit_ready(
    state: DetectorState, idx: npt.NDArray[np.intp], params: DetectorParams, day: int
) -> npt.NDArray[np.intp]:
    """Fit the harmonic model where the model part has enough observations over a year."""
    if idx.size == 0:
        return idx
    # Slots stay in date order (appends at the end, thinning keeps order), so the span is
    # the first slot to the last model slot: no need to decode every buffer.
    n_model = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    last = state["buf_day"][np.maximum(n_model - 1, 0), idx]
    ready = (n_model >= params.min_train_obs) & (
        (last - state["buf_day"][0, idx]) >= params.min_history_days
    )
    if not ready.any():
        return idx[:0]
    idx = idx[ready]
    done = idx
    last_inlier = np.empty(idx.size, dtype=np.int64)
    # In chunks: a whole AOI turning trainable on one scene would otherwise hold float64
    # copies of every buffer at once (about 2 GB for a million pixels).
    for start in range(0, idx.size, _FIT_CHUNK):
        part = idx[start : start + _FIT_CHUNK]
        values, days, used = _model_part(state, part)
        coef, sigma, inlier = harmonic.fit_robust(
            values,
            days,
            used,
            harmonics=state.harmonics,
            ridge=params.ridge,
            iterations=params.robust_iterations,
            sigma_floor=np.asarray(params.sigma_floor),
        )
        state["coef"][:, :, part] = coef
        state["sigma"][:, part] = sigma
        last_inlier[start : start + part.size] = np.where(inlier, days, NO_DAY).max(axis=1)
    state["fit_day"][done] = day
    first = done[state["phase"][done] == TRAINING]
    state["start_mean"][:, first] = encode_reflectance(state["coef"][0][:, first])
    state["phase"][done] = MONITORING
    state["buf_n"][done] = 0
    state["buf_day"][:, done] = NO_DAY
    state["cand_n"][done] = 0
    state["revert_n"][done] = 0
    # The last clear observation the model accepted bounds the next change's window.
    state["last_normal_day"][done] = last_inlier
    scene_index = {d: i for i, d in enumerate(state.scene_days)}
    state["last_normal_scene"][done] = [scene_index.get(int(d), -1) for d in last_inlier]
    return done


def _seasonal(
    state: DetectorState,
    idx: npt.NDArray[np.intp],
    min_amplitude: float = 0.2,
    *,
    old_model: bool = False,
) -> npt.NDArray[np.bool_]:
    """Whether the harmonic model of ``idx`` swings in NDVI by ``min_amplitude`` over a year.

    Only monitored pixels have such a model; others are False. With ``old_model``, pixels
    learning a new cover after a change are judged by the model of the cover that went.
    """
    out = np.zeros(idx.size, dtype=bool)
    mon = state["phase"][idx] == MONITORING
    if old_model:
        mon |= (state["phase"][idx] == LEARNING_NEW_COVER) & (state["c_revertible"][idx] == 1)
    if not mon.any() or state.harmonics == 0:
        return out
    coef = state["coef"][:, 2:4][:, :, idx[mon]]  # red and NIR terms (K, 2, P)
    days = np.linspace(0.0, 365.25, 12, endpoint=False)
    x = harmonic.design(days, state.harmonics).astype(np.float32)  # (12, K)
    # The sums of einsum("dk,kcp->dcp") term by term in order of k, float32, as einsum
    # forms them (tests/detect/test_speed_timeseries.py), at a quarter of its time: it
    # walked the gathered coefficients pixel by pixel, for six bands.
    curve = x[:, 0, None, None] * coef[0]  # (12, 2, P)
    for k in range(1, x.shape[1]):
        curve += x[:, k, None, None] * coef[k]
    red, nir = curve[:, 0], curve[:, 1]
    index = (nir - red) / np.maximum(nir + red, np.float32(1e-4))
    out[mon] = (index.max(axis=0) - index.min(axis=0)) >= min_amplitude
    return out


def _score(
    resid: npt.NDArray[np.float32], sigma: npt.NDArray[np.float32], params: DetectorParams
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Standardised departure (weighted RMS of z over bands) and Euclidean magnitude."""
    weights = np.asarray(params.band_weights, dtype=np.float32)[:, None]
    z2 = (resid / sigma) ** 2
    score = np.sqrt((weights * z2).sum(axis=0) / weights.sum())
    magnitude = np.sqrt((resid**2).sum(axis=0))
    return score.astype(np.float32), magnitude.astype(np.float32)


def _departing(
    score: npt.NDArray[np.float32],
    magnitude: npt.NDArray[np.float32],
    cand_n: npt.NDArray[np.integer],
    month: int,
    judged: npt.NDArray[np.intp],
    shape: tuple[int, int],
    params: DetectorParams,
) -> npt.NDArray[np.bool_]:
    """Which judged pixels depart: past both thresholds, or, in ``params.weak_months``, for
    a pixel already holding a pending candidate (``cand_n``, every pixel's count) past
    ``params.weak_fraction`` of them while touching (8 neighbours, through other such
    pixels) one that is past both.

    Hysteresis in space and time: a building's edge and mixed pixels hover around the
    threshold while its core departs clearly; alone, a view just under it broke their run
    of agreeing departures and the building never gathered ``min_pixels`` confirmed pixels.
    A candidate's first departure must be clear on its own: growing fresh departures
    around every clear one (cloud edges SCL missed, a paddy field's flooding) made ten
    times more false alarms on the tuning seeds.
    """
    strong = (score >= params.z_anomaly) & (magnitude >= params.min_change)
    if params.weak_fraction >= 1.0 or month not in params.weak_months or not strong.any():
        return strong
    weak = strong | (
        (cand_n[judged] > 0)
        & (score >= params.weak_fraction * params.z_anomaly)
        & (magnitude >= params.weak_fraction * params.min_change)
    )
    if not (weak & ~strong).any():
        return strong
    image = np.zeros(shape[0] * shape[1], dtype=bool)
    image[judged[weak]] = True
    labels, _ = ndimage.label(image.reshape(shape), structure=np.ones((3, 3), dtype=bool))
    flat: npt.NDArray[np.int32] = labels.ravel()
    anchored = np.zeros(flat.max() + 1, dtype=bool)
    anchored[flat[judged[strong]]] = True
    anchored[0] = False
    return anchored[flat[judged]]


def update(
    state: DetectorState,
    reflectance: npt.NDArray[np.floating],
    valid: npt.NDArray[np.bool_],
    scl: npt.NDArray[np.uint8] | None,
    date: dt.date,
    scene_id: str,
    params: DetectorParams,
) -> tuple[DetectorState, SceneOutcome]:
    """Feed one scene to an AOI's detector state (in place; the state is returned).

    Parameters
    ----------
    state : from :func:`new_state` or :meth:`DetectorState.from_arrays`.
    reflectance : float (6, rows, cols) surface reflectance in :data:`BANDS` order, NaN
        where invalid (``Chip.to_float()``).
    valid : bool (rows, cols) clear and with data.
    scl : uint8 (rows, cols) or None; not used yet (clouds SCL missed are caught by
        the confirmation rule, bright roofs SCL called cloud are simply not seen).
    date : the scene's UTC day; scenes must come in date order.
    scene_id : kept for evidence.
    params : the thresholds; use the same for every scene of a state.

    Returns
    -------
    (state, outcome)

    Raises
    ------
    StateError
        When the arrays do not fit the state's grid or the scene is older than the last one.
    """
    del scl  # see docstring
    rows, cols = state.shape
    refl = np.asarray(reflectance, dtype=np.float32)
    if refl.shape != (N_BANDS, rows, cols) or np.shape(valid) != (rows, cols):
        raise StateError(
            f"scene {scene_id}: arrays {refl.shape} do not fit the detector "
            f"state's grid ({N_BANDS}, {rows}, {cols})"
        )
    if params.buffer_size != state.buffer_size or params.harmonics != state.harmonics:
        raise StateError(
            f"scene {scene_id}: params (buffer {params.buffer_size}, harmonics "
            f"{params.harmonics}) differ from the state's"
        )
    day = day_number(date)
    if day < 0:
        raise StateError(f"scene {scene_id}: {date} is before {EPOCH}")
    if day < state.last_day:
        raise StateError(
            f"scene {scene_id} of {date} is older than the state's last scene "
            f"({date_of(state.last_day)}); rebuild the state to add it"
        )
    n = state.n_pixels
    obs = refl.reshape(N_BANDS, n).copy()
    ok = np.asarray(valid, dtype=bool).reshape(n) & np.isfinite(obs).all(axis=0)
    scene = len(state.scene_ids)
    state.scene_ids.append(scene_id)
    state.scene_days.append(day)
    state.scene_clear.append(float(ok.mean()))
    phase = state["phase"]
    state["n_clear"][ok] = np.minimum(state["n_clear"][ok].astype(np.int64) + 1, 65535).astype(
        np.uint16
    )

    def outcome(flag: str, **counts: int) -> SceneOutcome:
        base = dict(
            clear_pixels=int(ok.sum()),
            modelled_clear_pixels=0,
            departing_pixels=0,
            new_candidates=0,
            confirmed_pixels=0,
            rejected_pixels=0,
            newly_modelled_pixels=0,
        )
        base.update(counts)
        return SceneOutcome(
            scene_id=scene_id,
            date=date_of(day),
            shift_px=shift,
            gain=tuple(float(g) for g in gain),
            offset=tuple(float(o) for o in offset),
            flag=flag,
            **base,
        )

    shift = (0.0, 0.0)
    gain = np.ones(N_BANDS)
    offset = np.zeros(N_BANDS)
    if not ok.any():
        state.scene_flags.append(1)
        return state, outcome("no clear pixel")

    # 1. The reference for every judged pixel (modelled and clear): the harmonic
    # prediction, or for a pixel learning its new cover, the median of what it has seen
    # since the change. Everything below works on the judged pixels only; the prediction
    # is computed for the whole AOI in one pass (contiguous coefficients, no gather) since
    # the shift estimate needs it as an image.
    monitoring = phase == MONITORING
    judged = np.flatnonzero(ok & (phase != TRAINING))
    pred = harmonic.predict(state["coef"], day, state.harmonics)
    learn_j = phase[judged] == LEARNING_NEW_COVER
    if learn_j.any():
        pred[:, judged[learn_j]] = _learning_reference(state, judged[learn_j])
    # np.take keeps these band-major (6, P): per-band weights broadcast along contiguous
    # rows and band sums are adds of whole rows. a[:, idx] gives them pixel-major, where
    # numpy makes an inner-loop call per pixel for both (at 10,000 pixels 0.2 ms each
    # instead of 0.01 ms; the take itself is 3 times faster). Same values either way.
    sigma_j = np.take(state["sigma"], judged, axis=1)
    if learn_j.any():
        sigma_j[:, learn_j] = np.asarray(params.post_sigma, dtype=np.float32)[:, None]
    obs_j = np.take(obs, judged, axis=1)
    pred_j = np.take(pred, judged, axis=1)

    # 2. Align the scene to the model with pixels that are modelled, clear and settled.
    ref_j = monitoring[judged] & (state["cand_n"][judged] == 0)
    if int(ref_j.sum()) >= params.min_reference_pixels:
        if params.register:
            # Pixels without a prediction of their own take the observation (or 0), so
            # the gradients at the edge of the modelled area stay sane.
            other = ~monitoring
            other[judged[learn_j]] = False
            pred[:, other] = np.where(ok[other], obs[:, other], 0.0)
            reference = np.zeros(n, dtype=bool)
            reference[judged[ref_j]] = True
            pred_sum = pred.sum(axis=0).reshape(rows, cols)
            # As an image (only the reference pixels are read): no search for positions.
            obs_sum = obs.sum(axis=0).reshape(rows, cols)
            shift = estimate_shift_sampled(
                obs_sum,
                pred_sum,
                reference.reshape(rows, cols),
                max_shift_px=params.max_shift_px,
            )
            if np.hypot(*shift) >= 0.1:
                # out(x) = pred(x - shift), at the judged pixels only.
                jr = (judged // cols).astype(np.float64)
                jc = (judged % cols).astype(np.float64)
                pred_j = bilinear_at(
                    pred.reshape(N_BANDS, rows, cols), jr - shift[0], jc - shift[1]
                )
            else:
                shift = (0.0, 0.0)
        if params.normalise:
            ref_pos = np.flatnonzero(ref_j)
            ref_pos = ref_pos[:: max(1, ref_pos.size // 5000)]
            gain, offset = fit_gain_offset_fast(
                obs_j[:, ref_pos], pred_j[:, ref_pos], 1.0 / sigma_j[:, ref_pos] ** 2
            )
            obs_j -= offset.astype(np.float32)[:, None]
            obs_j /= gain.astype(np.float32)[:, None]
    # The rest reads obs/pred by pixel index: write the judged columns back.
    obs[:, judged] = obs_j
    pred[:, judged] = pred_j

    # 3. Judge every modelled clear pixel.
    score, magnitude = _score(obs_j - pred_j, sigma_j, params)
    departs = _departing(
        score, magnitude, state["cand_n"], date.month, judged, (rows, cols), params
    )
    code = np.zeros(judged.size, dtype=np.uint8)
    if departs.any():
        gone = judged[departs]
        code[departs] = type_changes(
            pred_j[:, departs].T, obs_j[:, departs].T, _seasonal(state, gone)
        )
    anomalous = departs & (code > 0)
    settled = (state["cand_n"][judged] == 0) & (phase[judged] == MONITORING)
    if (
        settled.sum() >= params.min_reference_pixels
        and anomalous[settled].mean() > params.max_scene_anomaly_fraction
    ):
        # Offset, haze or shift beyond repair: no pixel learns anything from this scene.
        state.scene_flags.append(2)
        return state, outcome(
            "scene judged wrong as a whole",
            modelled_clear_pixels=int(judged.size),
            departing_pixels=int(anomalous.sum()),
        )
    state.scene_flags.append(0)
    close = magnitude < 0.75 * params.min_change
    state["match_day"][judged[close]] = day
    state["miss_day"][judged[close]] = NO_DAY
    state["miss_n"][judged[close]] = 0
    missed = judged[~close]
    state["miss_day"][missed[state["miss_day"][missed] == NO_DAY]] = day
    state["miss_n"][missed] = np.minimum(state["miss_n"][missed], 254) + 1

    # 4. Untrained pixels collect observations; fit those that now have a year of them.
    training = np.flatnonzero(ok & (phase == TRAINING))
    _make_room(state, training)
    obs_t = obs[:, training]
    if params.normalise:
        obs_t = np.asarray(
            (obs_t - offset[:, None].astype(np.float32)) / gain[:, None].astype(np.float32),
            dtype=np.float32,
        )
    _append(state, training, encode_reflectance(obs_t), day)
    newly = _fit_ready(state, training, params, day)

    # 5. Soon after a confirmed change, observations matching the old model again undo it.
    jl = phase[judged] == LEARNING_NEW_COVER
    reverting = np.zeros(judged.size, dtype=bool)
    cand_learning = (
        jl & (state["c_revertible"][judged] == 1) & (state["c_status"][judged] == _CONFIRMED)
    )
    if cand_learning.any():
        lidx = judged[cand_learning]
        n_model = state["buf_n"][lidx].astype(np.intp) - state["cand_n"][lidx].astype(np.intp)
        young = n_model < params.revert_window_obs
        old_pred = harmonic.predict(state["coef"][:, :, lidx], day, state.harmonics)
        old_score, old_mag = _score(obs[:, lidx] - old_pred, state["sigma"][:, lidx], params)
        matches_old = (old_score < params.z_anomaly) | (old_mag < params.min_change)
        evidence = young & matches_old & departs[cand_learning]
        reverting[np.flatnonzero(cand_learning)[evidence]] = True
        state["revert_n"][lidx[~evidence]] = 0
        ridx = lidx[evidence]
        state["revert_n"][ridx] += 1
        undo = ridx[state["revert_n"][ridx] >= params.n_confirm]
        if undo.size:
            state["c_status"][undo] = _REJECTED
            state["c_revertible"][undo] = 0
            state["phase"][undo] = MONITORING
            state["buf_n"][undo] = 0
            state["buf_day"][:, undo] = NO_DAY
            state["cand_n"][undo] = 0
            state["revert_n"][undo] = 0
            state["last_normal_day"][undo] = day
            state["last_normal_scene"][undo] = scene

    # 6. Normal observations: reject pending candidates, extend the new cover's history.
    normal = ~anomalous & ~reverting
    if params.hold_ambiguous:
        # A pending candidate's view that is no reportable departure yet does not match
        # the model closely either (haze, a mixed pixel just under the threshold, a
        # departure typed as no reportable change) is no evidence either way.
        normal &= ~(~close & (state["cand_n"][judged] > 0))
    nidx = judged[normal]
    pending = nidx[state["cand_n"][nidx] > 0]
    rejected = pending[state["cand_n"][pending] >= params.n_probable]
    if rejected.size:
        state["rej_first_day"][rejected] = state["cand_first_day"][rejected]
        last_bad = state["buf_day"][state["buf_n"][rejected].astype(np.intp) - 1, rejected]
        state["rej_last_day"][rejected] = last_bad
        state["rej_window_start"][rejected] = state["cand_window_start"][rejected]
        state["rej_n"][rejected] = state["cand_n"][rejected]
        state["rej_score"][rejected] = state["cand_score"][rejected] / state["cand_n"][rejected]
        state["rej_scene_before"][rejected] = state["cand_scene_before"][rejected]
        state["rej_scene_first"][rejected] = state["cand_scene_first"][rejected]
    _drop_candidates(state, pending)
    state["cand_first_day"][pending] = NO_DAY
    state["last_normal_day"][nidx] = day
    state["last_normal_scene"][nidx] = scene
    growing = nidx[phase[nidx] == LEARNING_NEW_COVER]
    if growing.size:
        _make_room(state, growing)
        _append(state, growing, encode_reflectance(obs[:, growing]), day)
        state["c_n_obs"][growing] = np.minimum(
            state["c_n_obs"][growing].astype(np.int64) + 1, 65535
        ).astype(np.uint16)
        _retype(state, growing, day, params)
        newly = np.concatenate([newly, _fit_ready(state, growing, params, day)])

    # 7. Departing observations open, extend or restart candidates.
    apos = np.flatnonzero(anomalous & ~reverting)
    aidx = judged[apos]
    fresh = aidx[state["cand_n"][aidx] == 0]
    state["cand_first_day"][fresh] = day
    state["cand_window_start"][fresh] = state["last_normal_day"][fresh]
    state["cand_scene_before"][fresh] = state["last_normal_scene"][fresh]
    state["cand_scene_first"][fresh] = scene
    state["cand_score"][fresh] = 0.0
    going = aidx[state["cand_n"][aidx] > 0]
    if going.size:
        first = _first_candidate(state, going)
        new = obs[:, going]
        gap = np.sqrt(((new - first) ** 2).sum(axis=0))
        first_departure = np.sqrt(((first - pred[:, going]) ** 2).sum(axis=0))
        depart_now = np.sqrt(((new - pred[:, going]) ** 2).sum(axis=0))
        agree = gap <= params.agree_fraction * np.maximum(first_departure, depart_now)
        restart = going[~agree]
        # The pixel has not come back; it just looks different now (a site became a
        # roof): keep when it first departed, but count agreement afresh.
        _drop_candidates(state, restart)
        state["cand_score"][restart] = 0.0
    _make_room(state, aidx)
    _append(state, aidx, encode_reflectance(obs[:, aidx]), day)
    state["cand_n"][aidx] += 1
    state["cand_score"][aidx] += score[apos]

    # 8. Confirm candidates with enough agreeing departures.
    confirm = aidx[state["cand_n"][aidx] >= params.n_confirm]
    if confirm.size:
        _confirm(
            state,
            confirm,
            pred[:, confirm],
            code[apos][state["cand_n"][aidx] >= params.n_confirm],
            day,
            scene,
            params,
        )

    return state, outcome(
        "used",
        modelled_clear_pixels=int(judged.size),
        departing_pixels=int(anomalous.sum()),
        new_candidates=int(fresh.size),
        confirmed_pixels=int(confirm.size),
        rejected_pixels=int(rejected.size),
        newly_modelled_pixels=int(newly.size),
    )


def _confirm(
    state: DetectorState,
    idx: npt.NDArray[np.intp],
    before: npt.NDArray[np.float32],
    latest_code: npt.NDArray[np.uint8],
    day: int,
    scene: int,
    params: DetectorParams,
) -> None:
    """Turn the candidates of ``idx`` into confirmed changes and start learning the new cover."""
    after = _candidate_mean(state, idx)
    code = type_changes(before.T, after.T, _seasonal(state, idx))
    code = np.where(code > 0, code, latest_code).astype(np.uint8)
    mean_score = state["cand_score"][idx] / np.maximum(state["cand_n"][idx], 1)
    # Extend a recent confirmed change of the same pixel (clearing, then a roof)?
    recent = (
        (state["c_status"][idx] == _CONFIRMED)
        & (state["phase"][idx] == LEARNING_NEW_COVER)
        & (state["cand_first_day"][idx] - state["c_last_step_day"][idx] <= params.chain_days)
    )
    chained = chain_types(state["c_type"][idx], code)
    extend = recent & (chained > 0)
    ext = idx[extend]
    if ext.size:
        state["c_type"][ext] = chained[extend]
        state["c_steps"][ext] += 1
        state["c_last_step_day"][ext] = day
        state["c_n_obs"][ext] += state["cand_n"][ext]
        state["c_score"][ext] = np.maximum(state["c_score"][ext], mean_score[extend])
        state["c_revertible"][ext] = 0
    new = idx[~extend]
    if new.size:
        moving = new[state["c_status"][new] == _CONFIRMED]
        for name in _CHAIN_FIELDS:
            state[f"p_{name}"][moving] = state[f"c_{name}"][moving]
        from_model = state["phase"][new] == MONITORING
        state["c_status"][new] = _CONFIRMED
        state["c_type"][new] = code[~extend]
        state["c_first_day"][new] = state["cand_first_day"][new]
        state["c_window_start"][new] = state["cand_window_start"][new]
        state["c_confirm_day"][new] = day
        state["c_last_step_day"][new] = day
        state["c_n_obs"][new] = state["cand_n"][new]
        state["c_score"][new] = mean_score[~extend]
        state["c_scene_before"][new] = state["cand_scene_before"][new]
        state["c_scene_first"][new] = state["cand_scene_first"][new]
        state["c_scene_confirm"][new] = scene
        state["c_steps"][new] = 1
        state["c_revertible"][new] = from_model.astype(np.uint8)
        # A pixel already learning a cover has no harmonic model of that cover to return to.
    # The candidate's observations become the first of the new cover.
    n = state["buf_n"][idx].astype(np.intp)
    c = state["cand_n"][idx].astype(np.intp)
    for count in np.unique(c):
        sel = idx[c == count]
        start = n[c == count] - int(count)
        refl = np.stack([state["buf_refl"][start + k, :, sel] for k in range(int(count))])
        days = np.stack([state["buf_day"][start + k, sel] for k in range(int(count))])
        state["buf_refl"][:, :, sel] = 0
        state["buf_day"][:, sel] = NO_DAY
        for k in range(int(count)):
            state["buf_refl"][k, :, sel] = refl[k]
            state["buf_day"][k, sel] = days[k]
        state["buf_n"][sel] = int(count)
    state["cand_n"][idx] = 0
    state["cand_first_day"][idx] = NO_DAY
    state["phase"][idx] = LEARNING_NEW_COVER
    state["revert_n"][idx] = 0
    state["last_normal_day"][idx] = day
    state["last_normal_scene"][idx] = scene


def _retype(
    state: DetectorState, idx: npt.NDArray[np.intp], day: int, params: DetectorParams
) -> None:
    """Turn young ``roof_change`` pixels into demolitions when the new cover shows bare ground.

    At confirmation the new cover is known from ``n_confirm`` views of its first weeks: a
    demolition's rubble, which looks like a concrete or grey roof. The ground it leaves
    (soil, a levelled site) shows in the following weeks. While the change is young (at
    most ``retype_obs`` views of the new cover) and still a single step from the pixel's
    harmonic model, the swap between the old model's prediction for today and the median
    of the new cover's views is typed again; where it says demolition, so does the pixel.
    A second step (a roof on the site) is a chain, not a retype: the median only holds
    views that matched the new cover.
    """
    if idx.size == 0 or params.retype_obs <= 0:
        return
    n_model = state["buf_n"][idx].astype(np.intp) - state["cand_n"][idx].astype(np.intp)
    # Only roof changes can be retyped: the others are not typed again at all (most
    # growing pixels, every scene).
    young = idx[
        (state["c_type"][idx] == CHANGE_CODES["roof_change"])
        & (state["c_status"][idx] == _CONFIRMED)
        & (state["c_revertible"][idx] == 1)
        & (state["c_steps"][idx] == 1)
        & (n_model <= params.retype_obs)
        & (n_model > params.n_confirm)
    ]
    if young.size == 0:
        return
    before = harmonic.predict(state["coef"][:, :, young], day, state.harmonics)
    after = _learning_reference(state, young)
    code = type_changes(before.T, after.T, _seasonal(state, young, old_model=True))
    # Only towards a demolition: bare ground where a roof went settles it, while a new
    # roof can match a levelled site closely enough to pass as its next view.
    keep = (code == CHANGE_CODES["demolition"]) & (
        state["c_type"][young] == CHANGE_CODES["roof_change"]
    )
    state["c_type"][young[keep]] = code[keep]


def run_series(
    state: DetectorState,
    scenes: Iterable[
        tuple[
            npt.NDArray[np.floating],
            npt.NDArray[np.bool_],
            npt.NDArray[np.uint8] | None,
            dt.date,
            str,
        ]
    ],
    params: DetectorParams,
) -> tuple[DetectorState, list[SceneOutcome]]:
    """Feed many scenes in order; exactly :func:`update` in a loop."""
    outcomes = []
    for reflectance, valid, scl, date, scene_id in scenes:
        state, result = update(state, reflectance, valid, scl, date, scene_id, params)
        outcomes.append(result)
    return state, outcomes


# --- reading detections and gaps out of a state ------------------------------------------


@dataclass(frozen=True)
class DataGap:
    """A period in which the detector could not see an AOI, said plainly.

    ``start``/``end`` are the last clear observation before and the first after (or the
    last scene when none has come yet); ``reason`` is the sentence to show.
    """

    start: dt.date
    end: dt.date
    days: int
    reason: str


@dataclass(frozen=True)
class Coverage:
    """How much of an AOI the detector can speak for."""

    pixels: int
    modelled_pixels: int
    training_pixels: int
    never_clear_pixels: int
    gaps: tuple[DataGap, ...]

    @property
    def modelled_fraction(self) -> float:
        return self.modelled_pixels / self.pixels if self.pixels else 0.0

    def notes(self) -> list[str]:
        """One-line notes for reports: unmodelled share, then each gap."""
        lines = []
        if self.training_pixels:
            share = 100.0 * self.training_pixels / self.pixels
            lines.append(
                f"not enough clear observations to model {share:.1f} % of the AOI "
                f"({self.training_pixels} pixels): they are never flagged"
            )
        lines += [gap.reason for gap in self.gaps]
        return lines


def coverage(state: DetectorState, params: DetectorParams) -> Coverage:
    """Modelled share of the AOI and periods without a clear observation."""
    phase = state["phase"]
    clear_days = [
        d
        for d, c, f in zip(state.scene_days, state.scene_clear, state.scene_flags, strict=True)
        if c >= params.clear_scene_fraction and f == 0
    ]
    gaps: list[DataGap] = []
    if state.scene_days:
        edges = clear_days + (
            [state.scene_days[-1]]
            if (not clear_days or clear_days[-1] != state.scene_days[-1])
            else []
        )
        if not clear_days:
            edges = [state.scene_days[0], state.scene_days[-1]]
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if b - a > params.gap_days:
                still = b == state.scene_days[-1] and (not clear_days or b != clear_days[-1])
                end_text = f"{date_of(b)} (last scene)" if still else f"{date_of(b)}"
                gaps.append(
                    DataGap(
                        date_of(a),
                        date_of(b),
                        b - a,
                        f"no clear observation {date_of(a)} → {end_text}",
                    )
                )
    return Coverage(
        pixels=state.n_pixels,
        modelled_pixels=int((phase != TRAINING).sum()),
        training_pixels=int((phase == TRAINING).sum()),
        never_clear_pixels=int((state["n_clear"] == 0).sum()),
        gaps=tuple(gaps),
    )


def _slot_layers(
    state: DetectorState, params: DetectorParams
) -> list[tuple[str, npt.NDArray[np.bool_], dict[str, npt.NDArray[Any]]]]:
    """Pixel layers that become objects: (name, mask, per-pixel attributes)."""
    layers = []
    for slot in ("c", "p"):
        status = state[f"{slot}_status"]
        mask = (status == _CONFIRMED) | (status == _REJECTED)
        attrs = {
            "status": np.where(status == _CONFIRMED, 2, 3).astype(np.uint8),
            "code": state[f"{slot}_type"],
            "first_day": state[f"{slot}_first_day"],
            "window_start": state[f"{slot}_window_start"],
            "confirm_day": state[f"{slot}_confirm_day"],
            "n_obs": state[f"{slot}_n_obs"],
            "score": state[f"{slot}_score"],
            "scene_before": state[f"{slot}_scene_before"],
            "scene_first": state[f"{slot}_scene_first"],
        }
        layers.append((slot, mask, attrs))
    # Pending candidates (probable) unless they extend a recent confirmed change.
    cand_n = state["cand_n"]
    extending = (
        (state["c_status"] == _CONFIRMED)
        & (state["phase"] == LEARNING_NEW_COVER)
        & (state["cand_first_day"] - state["c_last_step_day"] <= params.chain_days)
    )
    probable = (cand_n >= params.n_probable) & ~extending
    score = state["cand_score"] / np.maximum(cand_n, 1)
    layers.append(
        (
            "probable",
            probable,
            {
                "status": np.ones(state.n_pixels, dtype=np.uint8),
                "code": _pending_codes(state),
                "first_day": state["cand_first_day"],
                "window_start": state["cand_window_start"],
                "confirm_day": np.full(state.n_pixels, NO_DAY, dtype=np.int32),
                "n_obs": cand_n,
                "score": score,
                "scene_before": state["cand_scene_before"],
                "scene_first": state["cand_scene_first"],
            },
        )
    )
    rejected = state["rej_n"] >= params.n_probable
    layers.append(
        (
            "rejected",
            rejected,
            {
                "status": np.full(state.n_pixels, 3, dtype=np.uint8),
                "code": np.zeros(state.n_pixels, dtype=np.uint8),
                "first_day": state["rej_first_day"],
                "window_start": state["rej_window_start"],
                "confirm_day": np.full(state.n_pixels, NO_DAY, dtype=np.int32),
                "n_obs": state["rej_n"],
                "score": state["rej_score"],
                "scene_before": state["rej_scene_before"],
                "scene_first": state["rej_scene_first"],
            },
        )
    )
    return layers


def _pending_codes(state: DetectorState) -> npt.NDArray[np.uint8]:
    """Type of each pending candidate from its first departing observation and the model."""
    codes = np.zeros(state.n_pixels, dtype=np.uint8)
    idx = np.flatnonzero(state["cand_n"] > 0)
    if idx.size == 0:
        return codes
    first = _first_candidate(state, idx)
    day = int(state["cand_first_day"][idx].max())
    before = np.full((N_BANDS, idx.size), np.nan, dtype=np.float32)
    mon = state["phase"][idx] == MONITORING
    if mon.any():
        # Predicted on each pixel's own first-seen day.
        for d in np.unique(state["cand_first_day"][idx[mon]]):
            sel = np.flatnonzero(mon & (state["cand_first_day"][idx] == d))
            before[:, sel] = harmonic.predict(
                state["coef"][:, :, idx[sel]], int(d), state.harmonics
            )
    learn = ~mon
    if learn.any():
        before[:, learn] = _learning_reference(state, idx[learn])
    del day
    codes[idx] = type_changes(before.T, first.T, _seasonal(state, idx))
    return codes


def detections_from_state(
    state: DetectorState,
    *,
    aoi_id: str,
    grid: Grid,
    simulated: bool,
    params: DetectorParams,
    confidence_model: ConfidenceModel = DEFAULT_CONFIDENCE,
) -> list[ChangeObject]:
    """Every detection the state holds: confirmed, probable and rejected objects.

    Touching pixels of one layer (current change, previous change, pending candidates, last
    rejected candidates) whose first-seen days lie within ``params.merge_days`` form one
    object; objects smaller than ``params.min_pixels`` are dropped. A confirmed change and
    the still-probable pixels touching it are one object. Ids derive from the AOI, the
    first-seen day and the anchor pixel, so they do not depend on how scenes were batched.

    Returns objects sorted by first-seen day then id.
    """
    if grid.shape != state.shape:
        raise StateError(
            f"AOI {aoi_id}: grid {grid.shape} does not match the detector state {state.shape}"
        )
    layers = _slot_layers(state, params)
    # Merge pending (probable) pixels into the current confirmed layer where they touch it
    # and began within merge_days, so one building is one object.
    current = dict(layers[0][2])
    current_mask = layers[0][1].copy()
    probable_mask = layers[2][1]
    extra = probable_mask & ~current_mask
    merged_layers = [
        (
            "c",
            current_mask | extra,
            {k: np.where(extra, layers[2][2][k], v) for k, v in current.items()},
        )
    ]
    merged_layers += [layers[1], layers[3]]
    objects: list[ChangeObject] = []
    conf = partial(confidence, model=confidence_model)
    for _, mask, attrs in merged_layers:
        if not mask.any():
            continue
        shape = state.shape
        first_day = np.where(mask, attrs["first_day"], NO_DAY).reshape(shape)
        labels, count = label_objects(mask.reshape(shape), first_day, params.merge_days)
        objects += build_objects(
            labels,
            count,
            grid=grid,
            aoi_id=aoi_id,
            status_of=np.asarray(attrs["status"], dtype=np.uint8).reshape(shape),
            code=np.asarray(attrs["code"], dtype=np.uint8).reshape(shape),
            first_day=first_day,
            window_start=np.asarray(attrs["window_start"]).reshape(shape),
            confirm_day=np.asarray(attrs["confirm_day"]).reshape(shape),
            n_obs=np.asarray(attrs["n_obs"]).reshape(shape),
            score=np.asarray(attrs["score"], dtype=np.float32).reshape(shape),
            scene_before=np.asarray(attrs["scene_before"]).reshape(shape),
            scene_first=np.asarray(attrs["scene_first"]).reshape(shape),
            scene_ids=state.scene_ids,
            min_pixels=params.min_pixels,
            simulated=simulated,
            kind="ts",
            confidence_of=conf,
        )
    objects.sort(key=lambda o: (o.first_seen, o.id))
    return objects


def change_raster(
    state: DetectorState,
    params: DetectorParams,
    *,
    statuses: tuple[str, ...] = ("confirmed",),
    outside: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.uint8]:
    """The contract's class codes (rows, cols) uint8 from the current and previous changes.

    0 no change, 1-5 change types, 255 outside (``outside`` mask) or never modelled.
    """
    codes = np.zeros(state.n_pixels, dtype=np.uint8)
    for slot in ("p", "c"):
        keep = np.zeros(state.n_pixels, dtype=bool)
        if "confirmed" in statuses:
            keep |= state[f"{slot}_status"] == _CONFIRMED
        if "rejected" in statuses:
            keep |= state[f"{slot}_status"] == _REJECTED
        codes[keep] = state[f"{slot}_type"][keep]
    if "probable" in statuses:
        pend = (state["cand_n"] >= params.n_probable) & (codes == 0)
        codes[pend] = _pending_codes(state)[pend]
    codes[(state["phase"] == TRAINING) & (codes == 0)] = 255
    raster = codes.reshape(state.shape)
    if outside is not None:
        raster[outside] = 255
    return raster
