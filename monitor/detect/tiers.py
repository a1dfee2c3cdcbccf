"""The candidate tiers past ``probable``: confirmed changes, their retyping, their undoing."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.detect import harmonic
from monitor.detect.buffers import candidate_mean, learning_reference
from monitor.detect.classify import CHANGE_CODES, chain_types, type_changes
from monitor.detect.departure import departure_score
from monitor.detect.fit import seasonal
from monitor.detect.params import DetectorParams
from monitor.detect.state import (
    CHAIN_FIELDS,
    LEARNING_NEW_COVER,
    MONITORING,
    NO_DAY,
    STATUS_CONFIRMED,
    STATUS_REJECTED,
    DetectorState,
)

__all__ = ["confirm_candidates", "retype_young_changes", "revert_young_changes"]


def confirm_candidates(
    state: DetectorState,
    idx: npt.NDArray[np.intp],
    before: npt.NDArray[np.float32],
    latest_code: npt.NDArray[np.uint8],
    day: int,
    scene: int,
    params: DetectorParams,
) -> None:
    """Turn the candidates of ``idx`` into confirmed changes and start learning the new cover."""
    after = candidate_mean(state, idx)
    code = type_changes(before.T, after.T, seasonal(state, idx))
    code = np.where(code > 0, code, latest_code).astype(np.uint8)
    mean_score = state["cand_score"][idx] / np.maximum(state["cand_n"][idx], 1)
    # Extend a recent confirmed change of the same pixel (clearing, then a roof)?
    recent = (
        (state["c_status"][idx] == STATUS_CONFIRMED)
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
        moving = new[state["c_status"][new] == STATUS_CONFIRMED]
        for name in CHAIN_FIELDS:
            state[f"p_{name}"][moving] = state[f"c_{name}"][moving]
        from_model = state["phase"][new] == MONITORING
        state["c_status"][new] = STATUS_CONFIRMED
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


def retype_young_changes(
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
        & (state["c_status"][idx] == STATUS_CONFIRMED)
        & (state["c_revertible"][idx] == 1)
        & (state["c_steps"][idx] == 1)
        & (n_model <= params.retype_obs)
        & (n_model > params.n_confirm)
    ]
    if young.size == 0:
        return
    before = harmonic.predict(state["coef"][:, :, young], day, state.harmonics)
    after = learning_reference(state, young)
    code = type_changes(before.T, after.T, seasonal(state, young, old_model=True))
    # Only towards a demolition: bare ground where a roof went settles it, while a new
    # roof can match a levelled site closely enough to pass as its next view.
    keep = (code == CHANGE_CODES["demolition"]) & (
        state["c_type"][young] == CHANGE_CODES["roof_change"]
    )
    state["c_type"][young[keep]] = code[keep]


def revert_young_changes(
    state: DetectorState,
    judged: npt.NDArray[np.intp],
    departs: npt.NDArray[np.bool_],
    obs: npt.NDArray[np.float32],
    day: int,
    scene: int,
    params: DetectorParams,
) -> npt.NDArray[np.bool_]:
    """Undo young confirmed changes whose views match the old model again.

    Soon after a confirmed change (fewer than ``revert_window_obs`` views of the new cover),
    a departing view of the judged pixels ``judged`` (``departs``) that the pixel's old
    harmonic model accepts counts towards undoing it; ``n_confirm`` in a row reject the
    change and the pixel is monitored by its old model again. ``obs`` is the aligned scene
    (6, pixels). Returns which judged pixels gave such a view (bool, judged.size).
    """
    jl = state["phase"][judged] == LEARNING_NEW_COVER
    reverting = np.zeros(judged.size, dtype=bool)
    cand_learning = (
        jl & (state["c_revertible"][judged] == 1) & (state["c_status"][judged] == STATUS_CONFIRMED)
    )
    if cand_learning.any():
        lidx = judged[cand_learning]
        n_model = state["buf_n"][lidx].astype(np.intp) - state["cand_n"][lidx].astype(np.intp)
        young = n_model < params.revert_window_obs
        old_pred = harmonic.predict(state["coef"][:, :, lidx], day, state.harmonics)
        old_score, old_mag = departure_score(
            obs[:, lidx] - old_pred, state["sigma"][:, lidx], params
        )
        matches_old = (old_score < params.z_anomaly) | (old_mag < params.min_change)
        evidence = young & matches_old & departs[cand_learning]
        reverting[np.flatnonzero(cand_learning)[evidence]] = True
        state["revert_n"][lidx[~evidence]] = 0
        ridx = lidx[evidence]
        state["revert_n"][ridx] += 1
        undo = ridx[state["revert_n"][ridx] >= params.n_confirm]
        if undo.size:
            state["c_status"][undo] = STATUS_REJECTED
            state["c_revertible"][undo] = 0
            state["phase"][undo] = MONITORING
            state["buf_n"][undo] = 0
            state["buf_day"][:, undo] = NO_DAY
            state["cand_n"][undo] = 0
            state["revert_n"][undo] = 0
            state["last_normal_day"][undo] = day
            state["last_normal_scene"][undo] = scene
    return reverting
