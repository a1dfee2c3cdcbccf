"""Time-series mode: each pixel's own clear history, updated one scene at a time.

What the detector keeps per pixel is :class:`~monitor.detect.state.DetectorState`. A new
scene costs work proportional to the AOI's pixels, never to its history: predict, align the
scene to the prediction (shift, gain, offset), score each clear pixel, move its tracker
(:func:`update`, in the numbered steps of its helpers). The tiers follow Global Forest
Watch's alerts: ``probable`` after ``n_probable`` departing clear observations,
``confirmed`` after ``n_confirm`` agreeing ones (:mod:`monitor.detect.tiers`), ``rejected``
when a clear observation matches the model again first (or, soon after confirmation,
``n_confirm`` observations match the old model again).

Feeding scenes one at a time or all at once runs exactly the same code in the same order,
so the state, and every detection and id derived from it, are identical.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.detect import familiar, harmonic, sceneclass
from monitor.detect.align import bilinear_at, estimate_shift_sampled, fit_gain_offset_fast
from monitor.detect.buffers import (
    append_observation,
    candidate_mean,
    drop_candidates,
    first_candidate,
    learning_reference,
    make_room,
)
from monitor.detect.classify import type_changes
from monitor.detect.departure import departing, departure_score
from monitor.detect.fit import fit_ready, seasonal
from monitor.detect.params import EPOCH, N_BANDS, DetectorParams, date_of, day_number
from monitor.detect.state import (
    LEARNING_NEW_COVER,
    MONITORING,
    NO_DAY,
    TRAINING,
    DetectorState,
    encode_reflectance,
)
from monitor.detect.tiers import confirm_candidates, retype_young_changes, revert_young_changes
from monitor.errors import StateError

__all__ = ["SceneOutcome", "update", "run_series", "SCL_DOUBTED"]

#: The outcome flag of a scene SCL called mostly dark, water or unclassified.
SCL_DOUBTED = "SCL calls most of the scene dark, water or unclassified"


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


@dataclass(frozen=True)
class _AlignedScene:
    """One scene's view of the judged pixels (modelled and clear), aligned to the model.

    ``obs`` and ``pred`` are (6, pixels) over the whole AOI, the judged columns aligned
    (``obs_j``/``pred_j`` are those columns, band-major); ``sigma_j`` each judged pixel's
    residual scale; ``shift``, ``gain`` and ``offset`` what the alignment found.
    """

    day: int
    index: int
    ok: npt.NDArray[np.bool_]
    obs: npt.NDArray[np.float32]
    pred: npt.NDArray[np.float32]
    judged: npt.NDArray[np.intp]
    obs_j: npt.NDArray[np.float32]
    pred_j: npt.NDArray[np.float32]
    sigma_j: npt.NDArray[np.float32]
    shift: tuple[float, float]
    gain: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Judgement:
    """Each judged pixel's verdict on one scene (arrays of judged.size)."""

    score: npt.NDArray[np.float32]
    magnitude: npt.NDArray[np.float32]
    departs: npt.NDArray[np.bool_]
    code: npt.NDArray[np.uint8]
    anomalous: npt.NDArray[np.bool_]
    close: npt.NDArray[np.bool_]


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
    state : from :func:`~monitor.detect.state.new_state` or
        :meth:`DetectorState.from_arrays`.
    reflectance : float (6, rows, cols) surface reflectance in :data:`BANDS` order, NaN
        where invalid (``Chip.to_float()``).
    valid : bool (rows, cols) clear and with data.
    scl : uint8 (rows, cols) or None. Used for the scene as a whole only
        (:mod:`~monitor.detect.sceneclass`: a scene SCL calls mostly dark, water or
        unclassified, far above the AOI's usual, is no clear view); clouds SCL missed are
        caught by the confirmation rule, bright roofs SCL called cloud are simply not seen.
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
    refl = np.asarray(reflectance, dtype=np.float32)
    day = _checked_day(state, refl, valid, date, scene_id, params)
    n = state.n_pixels
    obs = refl.reshape(N_BANDS, n).copy()
    ok = np.asarray(valid, dtype=bool).reshape(n) & np.isfinite(obs).all(axis=0)
    scene = len(state.scene_ids)
    state.scene_ids.append(scene_id)
    state.scene_days.append(day)
    state.scene_clear.append(float(ok.mean()))
    doubted = _scl_doubts(state, scl, ok, params)
    state["n_clear"][ok] = np.minimum(state["n_clear"][ok].astype(np.int64) + 1, 65535).astype(
        np.uint16
    )
    if not ok.any():
        state.scene_flags.append(1)
        return state, _outcome(scene_id, day, ok, "no clear pixel")
    if doubted:
        # Low sun, haze or thin cloud that SCL took for dark ground, water or nothing it
        # knows, over most of the AOI: no clear view of anything, and nothing learnt.
        state.scene_flags.append(3)
        return state, _outcome(scene_id, day, ok, SCL_DOUBTED)

    # 1.-2. The reference of every judged pixel, the scene aligned to it.
    seen = _aligned_reference(state, obs, ok, day, scene, params)
    # 3. Judge every modelled clear pixel.
    verdict = _judge(state, seen, date.month, params)
    if _wrong_as_a_whole(state, seen.judged, verdict.anomalous, params):
        # Offset, haze or shift beyond repair: no pixel learns anything from this scene.
        state.scene_flags.append(2)
        return state, _outcome(
            scene_id,
            day,
            ok,
            "scene judged wrong as a whole",
            seen,
            modelled_clear_pixels=int(seen.judged.size),
            departing_pixels=int(verdict.anomalous.sum()),
        )
    state.scene_flags.append(0)
    _track_matches(state, seen.judged, verdict.close, day)
    # 4. Untrained pixels collect observations; fit those that now have a year of them.
    newly = _train(state, seen, params)
    # 5. Soon after a confirmed change, observations matching the old model again undo it.
    reverting = revert_young_changes(
        state, seen.judged, verdict.departs, seen.obs, day, scene, params
    )
    # 6. Normal observations: reject pending candidates, extend the new cover's history.
    rejected, newly = _normal_views(state, seen, verdict, reverting, newly, params)
    # 7. Departing observations open, extend or restart candidates.
    apos, fresh = _candidates(state, seen, verdict, reverting, params)
    # 8. Confirm candidates with enough agreeing departures.
    confirmed = _confirmation(state, seen, verdict, apos, params)
    return state, _outcome(
        scene_id,
        day,
        ok,
        "used",
        seen,
        modelled_clear_pixels=int(seen.judged.size),
        departing_pixels=int(verdict.anomalous.sum()),
        new_candidates=int(fresh.size),
        confirmed_pixels=int(confirmed),
        rejected_pixels=int(rejected.size),
        newly_modelled_pixels=int(newly.size),
    )


def _checked_day(
    state: DetectorState,
    refl: npt.NDArray[np.float32],
    valid: npt.NDArray[np.bool_],
    date: dt.date,
    scene_id: str,
    params: DetectorParams,
) -> int:
    """The scene's day number, once its arrays, the params and its date fit the state."""
    rows, cols = state.shape
    if refl.shape != (N_BANDS, rows, cols) or np.shape(valid) != (rows, cols):
        raise StateError(
            f"scene {scene_id}: arrays {refl.shape} do not fit the detector "
            f"state's grid ({N_BANDS}, {rows}, {cols})"
        )
    if (
        params.buffer_size != state.buffer_size
        or params.harmonics != state.harmonics
        or params.familiar_exemplars != state.exemplars
    ):
        raise StateError(
            f"scene {scene_id}: params (buffer {params.buffer_size}, harmonics "
            f"{params.harmonics}, exemplars {params.familiar_exemplars}) differ from the state's"
        )
    day = day_number(date)
    if day < 0:
        raise StateError(f"scene {scene_id}: {date} is before {EPOCH}")
    if day < state.last_day:
        raise StateError(
            f"scene {scene_id} of {date} is older than the state's last scene "
            f"({date_of(state.last_day)}); rebuild the state to add it"
        )
    return day


def _scl_doubts(
    state: DetectorState,
    scl: npt.NDArray[np.uint8] | None,
    ok: npt.NDArray[np.bool_],
    params: DetectorParams,
) -> bool:
    """Record the scene's share of clear pixels SCL calls dark, water or unclassified, and
    whether it is so far above the AOI's usual (its earlier used scenes) as to doubt it."""
    share = sceneclass.doubtful_share(scl, ok.reshape(state.shape))
    usual = sceneclass.usual_share(
        [d for d, f in zip(state.scene_doubtful, state.scene_flags, strict=True) if f == 0]
    )
    state.scene_doubtful.append(share)
    return sceneclass.is_misclassified(
        share, usual, limit=params.scl_doubtful_limit, excess=params.scl_doubtful_excess
    )


def _outcome(
    scene_id: str,
    day: int,
    ok: npt.NDArray[np.bool_],
    flag: str,
    seen: _AlignedScene | None = None,
    **counts: int,
) -> SceneOutcome:
    """The scene's outcome: ``counts`` over zeros, the alignment of ``seen`` (or none)."""
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
    shift = seen.shift if seen is not None else (0.0, 0.0)
    gain = seen.gain if seen is not None else np.ones(N_BANDS)
    offset = seen.offset if seen is not None else np.zeros(N_BANDS)
    return SceneOutcome(
        scene_id=scene_id,
        date=date_of(day),
        shift_px=shift,
        gain=tuple(float(g) for g in gain),
        offset=tuple(float(o) for o in offset),
        flag=flag,
        **base,
    )


def _aligned_reference(
    state: DetectorState,
    obs: npt.NDArray[np.float32],
    ok: npt.NDArray[np.bool_],
    day: int,
    scene: int,
    params: DetectorParams,
) -> _AlignedScene:
    """Steps 1 and 2: each judged pixel's reference, and the scene aligned to it.

    Writes the aligned judged columns back into ``obs`` (and the prediction's into the
    returned ``pred``): the later steps read them by pixel index.
    """
    rows, cols = state.shape
    n = state.n_pixels
    phase = state["phase"]
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
        pred[:, judged[learn_j]] = learning_reference(state, judged[learn_j])
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
    shift = (0.0, 0.0)
    gain = np.ones(N_BANDS)
    offset = np.zeros(N_BANDS)
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
    return _AlignedScene(
        day, scene, ok, obs, pred, judged, obs_j, pred_j, sigma_j, shift, gain, offset
    )


def _judge(
    state: DetectorState, seen: _AlignedScene, month: int, params: DetectorParams
) -> _Judgement:
    """Step 3: score every judged pixel, which depart, and how their departures type."""
    judged = seen.judged
    score, magnitude = departure_score(seen.obs_j - seen.pred_j, seen.sigma_j, params)
    departs = departing(score, magnitude, state["cand_n"], month, judged, state.shape, params)
    code = np.zeros(judged.size, dtype=np.uint8)
    if departs.any():
        gone = judged[departs]
        code[departs] = type_changes(
            seen.pred_j[:, departs].T, seen.obs_j[:, departs].T, seasonal(state, gone)
        )
    anomalous = departs & (code > 0)
    if anomalous.any():
        # A state the pixel has shown before (stubble, a flood, its own season a few weeks
        # off) is no evidence of change.
        anomalous[anomalous] = ~familiar.familiar_departures(
            state,
            judged[anomalous],
            seen.obs_j[:, anomalous],
            magnitude[anomalous],
            seen.day,
            params,
        )
    close = magnitude < 0.75 * params.min_change
    return _Judgement(score, magnitude, departs, code, anomalous, close)


def _wrong_as_a_whole(
    state: DetectorState,
    judged: npt.NDArray[np.intp],
    anomalous: npt.NDArray[np.bool_],
    params: DetectorParams,
) -> bool:
    """Whether too many settled pixels depart at once for the scene to be believed."""
    settled = (state["cand_n"][judged] == 0) & (state["phase"][judged] == MONITORING)
    return bool(
        settled.sum() >= params.min_reference_pixels
        and anomalous[settled].mean() > params.max_scene_anomaly_fraction
    )


def _track_matches(
    state: DetectorState,
    judged: npt.NDArray[np.intp],
    close: npt.NDArray[np.bool_],
    day: int,
) -> None:
    """The last day each judged pixel matched its reference, or since when it has not."""
    state["match_day"][judged[close]] = day
    state["miss_day"][judged[close]] = NO_DAY
    state["miss_n"][judged[close]] = 0
    missed = judged[~close]
    state["miss_day"][missed[state["miss_day"][missed] == NO_DAY]] = day
    state["miss_n"][missed] = np.minimum(state["miss_n"][missed], 254) + 1


def _train(
    state: DetectorState, seen: _AlignedScene, params: DetectorParams
) -> npt.NDArray[np.intp]:
    """Step 4: untrained clear pixels collect the view; those with a year of them are fitted.

    Returns the pixels fitted now.
    """
    training = np.flatnonzero(seen.ok & (state["phase"] == TRAINING))
    make_room(state, training)
    obs_t = seen.obs[:, training]
    if params.normalise:
        obs_t = np.asarray(
            (obs_t - seen.offset[:, None].astype(np.float32))
            / seen.gain[:, None].astype(np.float32),
            dtype=np.float32,
        )
    append_observation(state, training, encode_reflectance(obs_t), seen.day)
    return fit_ready(state, training, params, seen.day)


def _normal_views(
    state: DetectorState,
    seen: _AlignedScene,
    verdict: _Judgement,
    reverting: npt.NDArray[np.bool_],
    newly: npt.NDArray[np.intp],
    params: DetectorParams,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Step 6: normal views reject pending candidates and extend the new cover's history.

    Returns the pixels whose probable candidate was rejected, and ``newly`` with the
    pixels whose new cover was fitted now.
    """
    judged, day, scene = seen.judged, seen.day, seen.index
    normal = ~verdict.anomalous & ~reverting
    if params.hold_ambiguous:
        # A pending candidate's view that is no reportable departure yet does not match
        # the model closely either (haze, a mixed pixel just under the threshold, a
        # departure typed as no reportable change) is no evidence either way.
        normal &= ~(~verdict.close & (state["cand_n"][judged] > 0))
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
    if state.exemplars and rejected.size:
        # The pixel went there and came back: next time, that is no news.
        back = rejected[state["phase"][rejected] == MONITORING]
        familiar.add_exemplars(state["ex_refl"], state["ex_n"], back, candidate_mean(state, back))
    drop_candidates(state, pending)
    state["cand_first_day"][pending] = NO_DAY
    state["last_normal_day"][nidx] = day
    state["last_normal_scene"][nidx] = scene
    growing = nidx[state["phase"][nidx] == LEARNING_NEW_COVER]
    if growing.size:
        make_room(state, growing)
        append_observation(state, growing, encode_reflectance(seen.obs[:, growing]), day)
        state["c_n_obs"][growing] = np.minimum(
            state["c_n_obs"][growing].astype(np.int64) + 1, 65535
        ).astype(np.uint16)
        retype_young_changes(state, growing, day, params)
        newly = np.concatenate([newly, fit_ready(state, growing, params, day)])
    return rejected, newly


def _candidates(
    state: DetectorState,
    seen: _AlignedScene,
    verdict: _Judgement,
    reverting: npt.NDArray[np.bool_],
    params: DetectorParams,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Step 7: departing views open, extend or restart candidates.

    Returns their positions among the judged pixels, and the pixels of new candidates.
    """
    obs, pred, day, scene = seen.obs, seen.pred, seen.day, seen.index
    apos = np.flatnonzero(verdict.anomalous & ~reverting)
    aidx = seen.judged[apos]
    fresh = aidx[state["cand_n"][aidx] == 0]
    state["cand_first_day"][fresh] = day
    state["cand_window_start"][fresh] = state["last_normal_day"][fresh]
    state["cand_scene_before"][fresh] = state["last_normal_scene"][fresh]
    state["cand_scene_first"][fresh] = scene
    state["cand_score"][fresh] = 0.0
    going = aidx[state["cand_n"][aidx] > 0]
    if going.size:
        first = first_candidate(state, going)
        new = obs[:, going]
        gap = np.sqrt(((new - first) ** 2).sum(axis=0))
        first_departure = np.sqrt(((first - pred[:, going]) ** 2).sum(axis=0))
        depart_now = np.sqrt(((new - pred[:, going]) ** 2).sum(axis=0))
        agree = gap <= params.agree_fraction * np.maximum(first_departure, depart_now)
        restart = going[~agree]
        # The pixel has not come back; it just looks different now (a site became a
        # roof): keep when it first departed, but count agreement afresh.
        drop_candidates(state, restart)
        state["cand_score"][restart] = 0.0
    make_room(state, aidx)
    append_observation(state, aidx, encode_reflectance(obs[:, aidx]), day)
    state["cand_n"][aidx] += 1
    state["cand_score"][aidx] += verdict.score[apos]
    return apos, fresh


def _confirmation(
    state: DetectorState,
    seen: _AlignedScene,
    verdict: _Judgement,
    apos: npt.NDArray[np.intp],
    params: DetectorParams,
) -> int:
    """Step 8: confirm the candidates (at ``apos`` among the judged) with enough agreeing
    departures; how many pixels were confirmed."""
    aidx = seen.judged[apos]
    confirm = aidx[state["cand_n"][aidx] >= params.n_confirm]
    if confirm.size:
        confirm_candidates(
            state,
            confirm,
            seen.pred[:, confirm],
            verdict.code[apos][state["cand_n"][aidx] >= params.n_confirm],
            seen.day,
            seen.index,
            params,
        )
    return int(confirm.size)


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
