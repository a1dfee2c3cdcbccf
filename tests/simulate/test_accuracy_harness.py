"""The accuracy harness's scoring rule, on hand-made detections."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pytest
import shapely

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "accuracy.py"
spec = importlib.util.spec_from_file_location("accuracy", _PATH)
accuracy = importlib.util.module_from_spec(spec)
sys.modules["accuracy"] = accuracy  # dataclasses look their module up while being defined
spec.loader.exec_module(accuracy)

D = dt.date(2025, 6, 1)


def truth(i: str, x: float, n_px: int, kind: str = "demolition") -> accuracy.Truth:
    return accuracy.Truth(i, kind, D, n_px * 100.0, shapely.box(x, 0, x + n_px * 10, 10))


def found(x: float, first_seen: dt.date, kind: str = "demolition", w: float = 10) -> accuracy.Found:
    return accuracy.Found("d", kind, first_seen, shapely.box(x, 0, x + w, 10), first_seen)


def test_match_needs_overlap_with_one_pixel_growth_and_the_time_window() -> None:
    truths = [truth("a", 0, 3), truth("b", 1000, 25, "new_construction")]
    dets = [
        found(35, D + dt.timedelta(days=10)),  # 5 m beyond "a": inside the 1 px growth
        found(1000, D + dt.timedelta(days=151), "new_construction"),  # too late for "b"
        found(5000, D),  # nowhere: false alarm
    ]
    s = accuracy.score(dets, truths, area_km2=2.0, years=0.5)
    assert s.n_found == 1
    assert s.recall_by_size["<400"] == (1, 1) and s.recall_by_size[">=2000"] == (0, 1)
    assert s.recall_by_type["demolition"] == (1, 1)
    assert s.false_alarms == 2
    assert s.false_alarms_per_km2_year == pytest.approx(2.0)
    assert s.type_accuracy == 1.0
    assert s.days_to_confirm == [10]


def test_early_detection_within_120_days_counts_and_type_is_scored() -> None:
    truths = [truth("a", 0, 10)]
    early = found(0, D - dt.timedelta(days=120), "rebuilding")
    s = accuracy.score([early], truths, area_km2=1.0, years=1.0)
    assert s.n_found == 1 and s.type_accuracy == 0.0 and s.false_alarms == 0
    too_early = found(0, D - dt.timedelta(days=121))
    assert accuracy.score([too_early], truths, area_km2=1.0, years=1.0).n_found == 0


def test_probable_detections_are_ignored() -> None:
    det = accuracy.Found("p", "demolition", D, shapely.box(0, 0, 10, 10), None, "probable")
    s = accuracy.score([det], [truth("a", 0, 1)], area_km2=1.0, years=1.0)
    assert s.n_found == 0 and s.false_alarms == 0


def test_size_bins() -> None:
    assert [accuracy.size_bin(a) for a in (100, 400, 899, 900, 1999, 2000)] == [
        "<400",
        "400-899",
        "400-899",
        "900-1999",
        "900-1999",
        ">=2000",
    ]
