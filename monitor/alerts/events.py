"""What a run has to tell an analyst: the alert events among a run's detection changes.

Pure: detection records and the store's ``DetectionChanges`` in, ``AlertEvent`` records out.

What is worth an alert
----------------------
An analyst is told about *confirmed* detections, and about every later change to something
they were told was confirmed. Probable detections are not alerts: most of them are noise
that the next clear views settle, and telling about them would teach people to ignore the
alerts. The kinds, in the order they are told:

``confirmed``
    Newly confirmed this run (new and already confirmed, or probable before).
``type_changed``
    Still confirmed, but classified differently now (e.g. ``new_construction`` became
    ``rebuilding``): the earlier alert named the wrong type.
``rejected``
    Was confirmed, now rejected (the change did not persist): the earlier alert is retracted.
``unconfirmed``
    Was confirmed, now only probable (a late scene weakened the evidence).
``withdrawn``
    Was confirmed, and the detector no longer produces it at all (a new detector version or
    an edited AOI); the record shown is the last one stored.

Rejections, downgrades and withdrawals of detections that were never confirmed are not
told: nobody heard of them. Telling them apart needs the records stored *before* the run
(``previous``), because ``DetectionChanges.rejected`` also lists probable ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from monitor.models import ALERT_KINDS, AlertEvent, AlertKind, Detection, DetectionChanges

__all__ = ["ALERT_KINDS", "AlertKind", "AlertEvent", "alert_events", "merge_events"]


def _by_id(detections: Iterable[Detection] | Mapping[str, Detection]) -> dict[str, Detection]:
    if isinstance(detections, Mapping):
        return dict(detections)
    return {d.id: d for d in detections}


def alert_events(
    changes: DetectionChanges,
    current: Iterable[Detection] | Mapping[str, Detection],
    previous: Iterable[Detection] | Mapping[str, Detection],
) -> tuple[AlertEvent, ...]:
    """The alert events of one ``Store.put_detections`` call.

    Parameters
    ----------
    changes
        What ``put_detections`` returned.
    current
        The detections just stored (what was passed to ``put_detections``), or a mapping
        of id to detection.
    previous
        The AOI's detections as stored before ``put_detections`` (empty on the first run).

    Returns
    -------
    The events, ordered by kind (see ``ALERT_KINDS``), then AOI, first-seen date and id.
    Each detection appears at most once.
    """
    now = _by_id(current)
    before = _by_id(previous)
    events: dict[str, AlertEvent] = {}

    def was_confirmed(det_id: str) -> bool:
        return det_id in before and before[det_id].status == "confirmed"

    def add(kind: AlertKind, det: Detection, det_id: str) -> None:
        old = before.get(det_id)
        events.setdefault(
            det_id,
            AlertEvent(kind, det, old.status if old else None, old.change_type if old else None),
        )

    for det_id in changes.confirmed:
        det = now.get(det_id)
        if det is not None and det.status == "confirmed":
            add("confirmed", det, det_id)
    for det_id in changes.changed:
        det = now.get(det_id)
        if det is None:
            continue
        # ``changed`` holds type changes and moves to probable; a confirmed detection in it
        # kept its status, so its type changed.
        if det.status == "confirmed":
            add("type_changed", det, det_id)
        elif det.status == "probable" and was_confirmed(det_id):
            add("unconfirmed", det, det_id)
    for det_id in changes.rejected:
        det = now.get(det_id)
        if det is not None and was_confirmed(det_id):
            add("rejected", det, det_id)
    for det_id in changes.withdrawn:
        if was_confirmed(det_id):
            add("withdrawn", before[det_id], det_id)

    order = {kind: i for i, kind in enumerate(ALERT_KINDS)}
    return tuple(
        sorted(
            events.values(),
            key=lambda e: (order[e.kind], e.detection.aoi, e.detection.first_seen, e.detection.id),
        )
    )


def merge_events(events: Iterable[AlertEvent]) -> tuple[AlertEvent, ...]:
    """One event per detection from events queued in order, possibly by several runs (a run
    killed before writing its alerts leaves them to the next run).

    The last event of a detection wins, with what the analyst was told before taken from
    its first event. A detection first told ``confirmed`` in the same batch stays
    ``confirmed`` (with its latest record) when later events only changed its type: the
    analyst never heard the old type. Order as ``alert_events`` gives.
    """
    first: dict[str, AlertEvent] = {}
    last: dict[str, AlertEvent] = {}
    for event in events:
        first.setdefault(event.detection.id, event)
        last[event.detection.id] = event
    merged: list[AlertEvent] = []
    for det_id, event in last.items():
        head = first[det_id]
        kind = (
            "confirmed" if head.kind == "confirmed" and event.kind == "type_changed" else event.kind
        )
        merged.append(
            AlertEvent(kind, event.detection, head.previous_status, head.previous_change_type)
        )
    order = {kind: i for i, kind in enumerate(ALERT_KINDS)}
    return tuple(
        sorted(
            merged,
            key=lambda e: (order[e.kind], e.detection.aoi, e.detection.first_seen, e.detection.id),
        )
    )
