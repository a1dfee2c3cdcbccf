"""What a detector state tells the outside: its detections, coverage, change raster."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.detect import harmonic, verify
from monitor.detect.buffers import first_candidate, learning_reference
from monitor.detect.classify import type_changes
from monitor.detect.codes import Status
from monitor.detect.confidence import DEFAULT_CONFIDENCE, ConfidenceModel, confidence
from monitor.detect.fit import seasonal
from monitor.detect.objects import (
    ChangeObject,
    ObjectInputs,
    PixelLayers,
    build_objects,
    label_objects,
)
from monitor.detect.params import N_BANDS, DetectorParams, date_of
from monitor.detect.state import (
    LEARNING_NEW_COVER,
    MONITORING,
    NO_DAY,
    STATUS_CONFIRMED,
    STATUS_REJECTED,
    TRAINING,
    DetectorState,
)
from monitor.detect.verify import VerifyModel
from monitor.errors import StateError
from monitor.models import Grid

__all__ = ["DataGap", "Coverage", "coverage", "detections_from_state", "held_back", "change_raster"]


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
        mask = (status == STATUS_CONFIRMED) | (status == STATUS_REJECTED)
        attrs = {
            "status": np.where(
                status == Status.CONFIRMED, Status.CONFIRMED, Status.REJECTED
            ).astype(np.uint8),
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
        (state["c_status"] == STATUS_CONFIRMED)
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
                "status": np.full(state.n_pixels, Status.PROBABLE, dtype=np.uint8),
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
                "status": np.full(state.n_pixels, Status.REJECTED, dtype=np.uint8),
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
    first = first_candidate(state, idx)
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
        before[:, learn] = learning_reference(state, idx[learn])
    del day
    codes[idx] = type_changes(before.T, first.T, seasonal(state, idx))
    return codes


def detections_from_state(
    state: DetectorState,
    *,
    aoi_id: str,
    grid: Grid,
    simulated: bool,
    params: DetectorParams,
    confidence_model: ConfidenceModel = DEFAULT_CONFIDENCE,
    verify_model: VerifyModel | None = None,
) -> list[ChangeObject]:
    """Every detection the state holds: confirmed, probable and rejected objects.

    Touching pixels of one layer (current change, previous change, pending candidates, last
    rejected candidates) whose first-seen days lie within ``params.merge_days`` form one
    object; objects smaller than ``params.min_pixels`` are dropped. A confirmed change and
    the still-probable pixels touching it are one object. Ids derive from the AOI, the
    first-seen day and the anchor pixel, so they do not depend on how scenes were batched.

    Returns objects sorted by first-seen day then id.
    """
    layered = _layer_objects(
        state,
        aoi_id=aoi_id,
        grid=grid,
        simulated=simulated,
        params=params,
        confidence_model=confidence_model,
        verify_model=verify_model,
    )
    objects = [o for _, layer in layered for o in layer]
    objects.sort(key=lambda o: (o.first_seen, o.id))
    return objects


def held_back(
    state: DetectorState,
    *,
    grid: Grid,
    params: DetectorParams,
    verify_model: VerifyModel | None = None,
) -> dict[str, npt.NDArray[np.bool_]]:
    """Pixels of the current (``"c"``) and previous (``"p"``) changes that the state holds
    confirmed but whose object the verification keeps probable: bool (n_pixels,) each.

    The built-up timeline counts such a change as possible, not certain, so that its
    figures say what the detections say.
    """
    masks = {slot: np.zeros(state.n_pixels, dtype=bool) for slot in ("c", "p")}
    layered = _layer_objects(
        state,
        aoi_id="held-back",
        grid=grid,
        simulated=False,
        params=params,
        confidence_model=DEFAULT_CONFIDENCE,
        verify_model=verify_model,
    )
    for slot, layer in layered:
        if slot not in masks:
            continue
        confirmed = state[f"{slot}_status"] == STATUS_CONFIRMED
        for obj in layer:
            if obj.status == "probable":
                masks[slot][obj.pixels] = True
        masks[slot] &= confirmed
    return masks


def _layer_objects(
    state: DetectorState,
    *,
    aoi_id: str,
    grid: Grid,
    simulated: bool,
    params: DetectorParams,
    confidence_model: ConfidenceModel,
    verify_model: VerifyModel | None,
) -> list[tuple[str, list[ChangeObject]]]:
    """The verified objects of each layer (``"c"`` with its touching probable pixels,
    ``"p"``, ``"rejected"``), unsorted."""
    if grid.shape != state.shape:
        raise StateError(
            f"AOI {aoi_id}: grid {grid.shape} does not match the detector state {state.shape}"
        )
    verify_model = verify.DEFAULT_VERIFY if verify_model is None else verify_model
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
    out: list[tuple[str, list[ChangeObject]]] = []
    conf = partial(confidence, model=confidence_model)
    for name, mask, attrs in merged_layers:
        if not mask.any():
            continue
        shape = state.shape
        first_day = np.where(mask, attrs["first_day"], NO_DAY).reshape(shape)
        labels, count = label_objects(mask.reshape(shape), first_day, params.merge_days)
        pixel_layers = PixelLayers(
            status_of=np.asarray(attrs["status"], dtype=np.uint8).reshape(shape),
            code=np.asarray(attrs["code"], dtype=np.uint8).reshape(shape),
            first_day=first_day,
            window_start=np.asarray(attrs["window_start"]).reshape(shape),
            confirm_day=np.asarray(attrs["confirm_day"]).reshape(shape),
            n_obs=np.asarray(attrs["n_obs"]).reshape(shape),
            score=np.asarray(attrs["score"], dtype=np.float32).reshape(shape),
            scene_before=np.asarray(attrs["scene_before"]).reshape(shape),
            scene_first=np.asarray(attrs["scene_first"]).reshape(shape),
        )
        inputs = ObjectInputs(
            grid=grid,
            aoi_id=aoi_id,
            layers=pixel_layers,
            scene_ids=state.scene_ids,
            min_pixels=params.min_pixels,
            simulated=simulated,
            kind="ts",
            confidence_of=conf,
        )
        objects = build_objects(labels, count, inputs)
        out.append((name, [_verified(state, o, params, verify_model) for o in objects]))
    return out


def _verified(
    state: DetectorState, obj: ChangeObject, params: DetectorParams, model: VerifyModel
) -> ChangeObject:
    """A confirmed or probable object with its evidence weighed (``verify.py``).

    Its confidence becomes the verification's probability, once a model is fitted; a
    confirmed object under ``params.verify_min_probability`` stays probable.
    """
    if obj.status == "rejected":
        return obj
    evidence = verify.features(
        state,
        obj.pixels,
        obj.change_type,
        obj.mean_score,
        obj.first_seen,
        obj.window_start,
        obj.confirmed_on,
    )
    if model is verify.UNFITTED:
        return replace(obj, evidence=evidence)
    p = verify.probability(evidence, model)
    if obj.status == "confirmed" and p < params.verify_min_probability:
        return replace(obj, evidence=evidence, confidence=p, status="probable", confirmed_on=None)
    if obj.status == "probable":
        p = round(min(p, obj.confidence), 3)
    return replace(obj, evidence=evidence, confidence=p)


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
            keep |= state[f"{slot}_status"] == STATUS_CONFIRMED
        if "rejected" in statuses:
            keep |= state[f"{slot}_status"] == STATUS_REJECTED
        codes[keep] = state[f"{slot}_type"][keep]
    if "probable" in statuses:
        pend = (state["cand_n"] >= params.n_probable) & (codes == 0)
        codes[pend] = _pending_codes(state)[pend]
    codes[(state["phase"] == TRAINING) & (codes == 0)] = 255
    raster = codes.reshape(state.shape)
    if outside is not None:
        raster[outside] = 255
    return raster
