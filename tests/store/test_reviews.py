"""Analysts' reviews and claim checks in the store: kept by detection id across re-runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from monitor.models import Review
from monitor.store import Store
from tests.store.factories import make_aoi
from tests.store.test_detections import _detection

T0 = dt.datetime(2026, 1, 20, 9, 30, tzinfo=dt.UTC)


def _review(verdict: str, at: dt.datetime, det_id: str = "d1", note: str = "") -> Review:
    return Review(
        detection_id=det_id,
        verdict=verdict,  # type: ignore[arg-type]
        reviewer="analyst",
        reviewed_at=at,
        note=note,
        source="https://example.org/photo",
    )


def test_latest_review_is_the_detections_review(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        store.put_detections("kk-park", [_detection("d1"), _detection("d2")])
        assert store.detection("d1") is not None and store.detection("d1").review is None
        store.put_review(_review("unsure", T0, note="haze?"), "kk-park")
        store.put_review(
            _review("verified", T0 + dt.timedelta(hours=1), note="<b>seen</b>"), "kk-park"
        )
        by_id = {d.id: d for d in store.detections()}
        history = store.review_history("d1")
    assert by_id["d2"].review is None
    review = by_id["d1"].review
    assert review is not None and review.verdict == "verified"
    assert review.note == "<b>seen</b>" and review.reviewed_at == T0 + dt.timedelta(hours=1)
    assert [r.verdict for r in history] == ["unsure", "verified"]


def test_review_survives_detections_rewritten_and_withdrawn(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        store.put_detections("kk-park", [_detection("d1")])
        store.put_review(_review("false_alarm", T0), "kk-park")
        # A rebuild stores the same id again with another status: the review stays.
        store.put_detections("kk-park", [_detection("d1", status="confirmed")])
        assert store.detection("d1").review.verdict == "false_alarm"
        # Withdrawn, then produced again (same content, same id): the review comes back.
        store.put_detections("kk-park", [])
        assert store.detection("d1") is None
        store.put_detections("kk-park", [_detection("d1", status="confirmed")])
        again = store.detection("d1")
    assert again is not None and again.review is not None
    assert again.review.verdict == "false_alarm"
    # The review is not part of the detection's content: equal records otherwise.
    assert dataclasses.replace(again, review=None) == _detection("d1", status="confirmed")


def test_reviews_by_aoi(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        store.put_review(_review("verified", T0, det_id="a"), "kk-park")
        store.put_review(_review("unsure", T0, det_id="b"), "shwe-kokko")
        assert set(store.reviews(aoi_id="kk-park")) == {"a"}
        assert set(store.reviews()) == {"a", "b"}


def test_claims_round_trip(tmp_path: Path) -> None:
    claim = {"demolished": 631, "total": 635, "by": "2026-01-15"}
    result = {"verdict": "inconsistent", "share_removed": [0.1, 0.2], "text": "a <b> c"}
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        first = store.put_claim("kk-park", T0, claim, result)
        second = store.put_claim("kk-park", T0 + dt.timedelta(days=1), claim, {"verdict": "x"})
        records = store.claims("kk-park")
        assert store.claims("shwe-kokko") == []
    assert [r.id for r in records] == [first, second] and first < second
    assert records[0].claim == claim and records[0].result == result
    assert records[0].checked_at == T0 and records[0].aoi_id == "kk-park"
