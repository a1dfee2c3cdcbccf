"""What is worth an alert: picked from the store's real ``DetectionChanges`` run by run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from monitor.alerts import alert_events
from monitor.models import Detection, DetectionChanges
from monitor.store import Store
from tests.alerts.conftest import make_detection
from tests.store.factories import make_aoi


def _run(store: Store, detections: list[Detection], run_id: int) -> list[tuple[str, str]]:
    """Store one run's detections as the job does; the (kind, id) of its alert events."""
    before = store.detections(aoi_id="kk-park")
    changes = store.put_detections("kk-park", detections, run_id=run_id)
    return [(e.kind, e.detection.id) for e in alert_events(changes, detections, before)]


def test_a_detections_life_told_only_once_confirmed(tmp_path: Path) -> None:
    probable = make_detection("a", status="probable", confirmed_on=None)
    other = make_detection("b", status="probable", confirmed_on=None)
    confirmed = make_detection("a")
    with Store.open(tmp_path / "state") as store:
        store.put_aoi(make_aoi())
        # Probable only: nobody is told.
        assert _run(store, [probable, other], 1) == []
        # Nothing changed: nothing to tell again.
        assert _run(store, [probable, other], 2) == []
        # a confirmed; b rejected while only probable (never told, so no retraction).
        assert _run(store, [confirmed, dataclasses.replace(other, status="rejected")], 3) == [
            ("confirmed", "a")
        ]
        # a's type changes while confirmed.
        rebuilt = dataclasses.replace(confirmed, change_type="rebuilding")
        assert _run(store, [rebuilt], 4) == [("type_changed", "a")]
        # a is rejected after being confirmed: the analyst must hear the retraction.
        assert _run(store, [dataclasses.replace(rebuilt, status="rejected")], 5) == [
            ("rejected", "a")
        ]


def test_downgrade_and_withdrawal_of_confirmed_ones(tmp_path: Path) -> None:
    a, b, c = make_detection("a"), make_detection("b"), make_detection("c", status="probable")
    with Store.open(tmp_path / "state") as store:
        store.put_aoi(make_aoi())
        assert _run(store, [a, b, c], 1) == [("confirmed", "a"), ("confirmed", "b")]
        events = alert_events(
            store.put_detections("kk-park", [dataclasses.replace(a, status="probable")], run_id=2),
            [dataclasses.replace(a, status="probable")],
            [a, b, c],
        )
    assert [(e.kind, e.detection.id) for e in events] == [("unconfirmed", "a"), ("withdrawn", "b")]
    withdrawn = events[1]
    # The last record stored is what the analyst sees of a withdrawn detection.
    assert withdrawn.detection == b and withdrawn.previous_status == "confirmed"


def test_new_and_confirmed_at_once_and_ordering() -> None:
    first = make_detection("z", aoi="shwe-kokko")
    second = make_detection("y")
    changes = DetectionChanges(new=("z", "y"), confirmed=("z", "y"))
    events = alert_events(changes, [first, second], [])
    assert [e.detection.id for e in events] == ["y", "z"]  # by AOI, then date, then id
    assert all(e.previous_status is None for e in events)


def test_without_previous_records_retractions_cannot_be_told() -> None:
    rejected = make_detection("a", status="rejected")
    changes = DetectionChanges(rejected=("a",), changed=("b",), withdrawn=("c",))
    assert alert_events(changes, [rejected, make_detection("b", status="probable")], []) == ()
