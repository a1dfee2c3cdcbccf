"""Everything the detector remembers of one AOI, as flat per-pixel arrays with its scenes.

Per pixel (all in :class:`DetectorState`, flat arrays over the AOI's pixels):

- a small buffer of observations (:mod:`monitor.detect.buffers`): the training year while
  a pixel has no model yet, the departing observations of a candidate change, and the
  first observations of a new cover after a confirmed change;
- once trained, a robust harmonic model (:mod:`monitor.detect.harmonic`) and its residual
  scale per band;
- a candidate tracker (first departing observation, the last clear one before it, how many
  agreeing departures since) and the pixel's current and previous change, plus its last
  rejected candidate.

Reflectance is kept in the chips' uint16 encoding; storage narrows what loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.detect import harmonic
from monitor.detect.codes import Status
from monitor.detect.params import N_BANDS, DetectorParams
from monitor.errors import StateError
from monitor.models import decode_chip, encode_chip

__all__ = [
    "STATE_VERSION",
    "TRAINING",
    "MONITORING",
    "LEARNING_NEW_COVER",
    "NO_DAY",
    "STATUS_NONE",
    "STATUS_CONFIRMED",
    "STATUS_REJECTED",
    "CHAIN_FIELDS",
    "DetectorState",
    "new_state",
    "encode_reflectance",
    "decode_reflectance",
]

STATE_VERSION = 4  # 2: typing by material swap; 3: young changes retyped (tiers);
# 4: familiar states (familiar.py) and the scenes' SCL shares (sceneclass.py)
#: Pixel phases.
TRAINING, MONITORING, LEARNING_NEW_COVER = 0, 1, 2
#: Day number meaning "none".
NO_DAY = -1
# Change status codes in the state (the contract's words appear only in detections).
STATUS_NONE, STATUS_CONFIRMED, STATUS_REJECTED = Status.NONE, Status.CONFIRMED, Status.REJECTED

# Per-pixel arrays: name -> (dtype, leading dims as names resolved per state, fill value).
# "B" is the buffer size, "K" the harmonic terms, "C" the bands.
CHAIN_FIELDS: dict[str, tuple[str, float]] = {
    "status": ("u1", STATUS_NONE),
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
    # Familiar states (familiar.py): spectra of the pixel's own history that its model
    # follows worst, and what its rejected candidates showed; E slots, chip encoding.
    "ex_refl": ("u2", ("E", "C"), 0),
    "ex_n": ("u1", (), 0),
}
#: Arrays a stored state may lack (written before they were kept): left at their fill.
_OPTIONAL = frozenset({"start_mean", "match_day", "miss_day", "miss_n"})
for _slot in ("c", "p"):
    for _name, (_dtype, _fill) in CHAIN_FIELDS.items():
        _SPEC[f"{_slot}_{_name}"] = (_dtype, (), _fill)


def encode_reflectance(values: npt.NDArray[np.floating]) -> npt.NDArray[np.uint16]:
    """Reflectance to the chips' uint16 encoding (v * 1e-4 - 0.1; 0 kept for no data)."""
    return encode_chip(values)


def decode_reflectance(values: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """The chips' uint16 encoding back to reflectance, float32."""
    return decode_chip(values)


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
    buffer_size, harmonics, exemplars : fixed when the state is created (from the params).
    pixels : name -> array with the pixel axis last (flat, rows * cols); see ``_SPEC``.
    scene_ids, scene_days, scene_clear : one entry per scene fed, in order.
    scene_flags : per scene, 0 used, 1 no clear pixel, 2 judged wrong as a whole, 3 SCL
        called most of it dark, water or unclassified (no clear view).
    scene_doubtful : per scene, the share of its clear pixels SCL called so (sceneclass.py).
    """

    shape: tuple[int, int]
    buffer_size: int
    harmonics: int
    exemplars: int
    pixels: dict[str, npt.NDArray[Any]]
    scene_ids: list[str]
    scene_days: list[int]
    scene_clear: list[float]
    scene_flags: list[int]
    scene_doubtful: list[float]

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
        out: dict[str, npt.NDArray[Any]] = {k: _storage_dtype(k, v) for k, v in self.pixels.items()}
        out["meta_version"] = np.array([STATE_VERSION], dtype=np.int32)
        out["meta_shape"] = np.array(self.shape, dtype=np.int32)
        out["meta_buffer_size"] = np.array([self.buffer_size], dtype=np.int32)
        out["meta_harmonics"] = np.array([self.harmonics], dtype=np.int32)
        out["meta_scene_ids"] = np.array(self.scene_ids, dtype=np.str_)
        out["meta_scene_days"] = np.array(self.scene_days, dtype=np.int32)
        out["meta_scene_clear"] = np.array(self.scene_clear, dtype=np.float32)
        out["meta_scene_flags"] = np.array(self.scene_flags, dtype=np.uint8)
        out["meta_exemplars"] = np.array([self.exemplars], dtype=np.int32)
        out["meta_scene_doubtful"] = np.array(self.scene_doubtful, dtype=np.float32)
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
                (rows, cols),
                int(arrays["meta_buffer_size"][0]),
                int(arrays["meta_harmonics"][0]),
                int(arrays["meta_exemplars"][0]),
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
            state.scene_doubtful = [float(f) for f in arrays["meta_scene_doubtful"]]
        except KeyError as missing:
            raise StateError(f"detector state lacks array {missing}") from None
        return state


def _empty(
    shape: tuple[int, int], buffer_size: int, harmonics: int, exemplars: int
) -> DetectorState:
    n = shape[0] * shape[1]
    dims = {"B": buffer_size, "K": harmonic.n_terms(harmonics), "C": N_BANDS, "E": exemplars}
    pixels: dict[str, npt.NDArray[Any]] = {}
    for name, (dtype, lead, fill) in _SPEC.items():
        pixels[name] = np.full(tuple(dims[d] for d in lead) + (n,), fill, dtype=np.dtype(dtype))
    return DetectorState(
        shape=shape,
        buffer_size=buffer_size,
        harmonics=harmonics,
        exemplars=exemplars,
        pixels=pixels,
        scene_ids=[],
        scene_days=[],
        scene_clear=[],
        scene_flags=[],
        scene_doubtful=[],
    )


def new_state(shape: tuple[int, int], params: DetectorParams) -> DetectorState:
    """A fresh state for an AOI grid of ``shape`` (rows, cols): every pixel untrained."""
    if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
        raise ValueError(f"grid shape must be (rows, cols) >= 1, got {shape}")
    return _empty(
        (int(shape[0]), int(shape[1])),
        params.buffer_size,
        params.harmonics,
        params.familiar_exemplars,
    )
