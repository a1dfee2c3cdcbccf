"""Detector state and detections in the store: round trips, checksums, status history."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import shapely.geometry

from monitor.errors import StateError
from monitor.models import Detection, DetectorSnapshot
from monitor.store import Store
from tests.store.factories import make_aoi


def _snapshot(aoi_id: str = "kk-park", n: int = 3) -> DetectorSnapshot:
    rng = np.random.default_rng(0)
    return DetectorSnapshot(
        aoi_id=aoi_id,
        geometry_hash="h1",
        detector_version="1.0",
        params={"k": 3.5},
        last_datetime=dt.datetime(2025, 11, 3, 3, 56, tzinfo=dt.UTC),
        n_scenes=n,
        arrays={
            "coef": rng.normal(size=(6, 4, 5, 5)).astype(np.float32),
            "count": np.arange(25, dtype=np.uint16).reshape(5, 5),
        },
    )


def _detection(
    det_id: str = "d1", status: str = "probable", change_type: str = "new_construction"
) -> Detection:
    return Detection(
        id=det_id,
        aoi="kk-park",
        change_type=change_type,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        first_seen=dt.date(2025, 4, 2),
        window_start=dt.date(2025, 3, 28),
        window_end=dt.date(2025, 4, 2),
        area_m2=1200.0,
        n_pixels=12,
        confidence=0.7,
        n_obs=2,
        geometry=shapely.geometry.box(98.56, 16.63, 98.561, 16.631),
        evidence_before=("S2B_a",),
        evidence_after=("S2C_b", "S2A_c"),
        simulated=True,
    )


def test_detector_state_round_trip(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        assert store.get_detector_state("kk-park") is None
        snap = _snapshot()
        store.put_detector_state(snap)
        back = store.get_detector_state("kk-park")
    assert back is not None
    assert back.n_scenes == 3 and back.params == {"k": 3.5}
    assert back.last_datetime == snap.last_datetime
    for name, array in snap.arrays.items():
        np.testing.assert_array_equal(back.arrays[name], array)
        assert back.arrays[name].dtype == array.dtype


def test_corrupt_detector_state_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        store.put_detector_state(_snapshot())
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("UPDATE detector_state SET sha256 = 'bad'")
    conn.commit()
    conn.close()
    with Store.open(tmp_path) as store, pytest.raises(StateError, match="corrupt"):
        store.get_detector_state("kk-park")


def test_detections_changes_and_history(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        first = store.put_detections("kk-park", [_detection("d1"), _detection("d2")], run_id=1)
        assert first.new == ("d1", "d2") and not first.confirmed
        # Same content again: nothing changes, no history rows.
        again = store.put_detections("kk-park", [_detection("d1"), _detection("d2")], run_id=2)
        assert again == type(again)()
        later = store.put_detections(
            "kk-park", [_detection("d1", "confirmed"), _detection("d2", "rejected")], run_id=3
        )
        assert later.confirmed == ("d1",) and later.rejected == ("d2",)
        gone = store.put_detections("kk-park", [_detection("d1", "confirmed")], run_id=4)
        assert gone.withdrawn == ("d2",)
        stored = store.detections(aoi_id="kk-park")
        assert [d.id for d in stored] == ["d1"]
        assert stored[0] == dataclasses.replace(
            _detection("d1", "confirmed"), geometry=stored[0].geometry
        )
        assert stored[0].geometry.equals(_detection().geometry)
        assert [h[0] for h in store.detection_history("d1")] == ["probable", "confirmed"]
        assert [h[0] for h in store.detection_history("d2")] == [
            "probable",
            "rejected",
            "withdrawn",
        ]
        assert store.detections(status="confirmed")[0].id == "d1"
        assert store.detections(status=["probable"]) == []
        assert store.detections(since=dt.date(2025, 5, 1)) == []


def test_detection_of_another_aoi_is_refused_and_nothing_written(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        other = dataclasses.replace(_detection("d9"), aoi="shwe-kokko")
        with pytest.raises(ValueError, match="shwe-kokko"):
            store.put_detections("kk-park", [_detection("d1"), other])
        assert store.detections() == []


def test_state_and_detections_commit_together(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
        with pytest.raises(RuntimeError), store.transaction():
            store.put_detector_state(_snapshot())
            store.put_detections("kk-park", [_detection("d1")])
            raise RuntimeError("killed between writes")
        assert store.get_detector_state("kk-park") is None
        assert store.detections() == []
