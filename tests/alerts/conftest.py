"""Fixtures for the alert tests: detections built in code, local receivers, settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box

from monitor.alerts import AlertEvent
from monitor.config import Settings
from monitor.models import Detection

RUN_AT = dt.datetime(2026, 11, 23, 6, 30, 5, tzinfo=dt.UTC)


def make_detection(det_id: str = "det-kk-0001", **changes: Any) -> Detection:
    """A confirmed new building of about 2,400 m² at KK Park."""
    values: dict[str, Any] = dict(
        id=det_id,
        aoi="kk-park",
        change_type="new_construction",
        status="confirmed",
        first_seen=dt.date(2025, 3, 4),
        window_start=dt.date(2025, 2, 20),
        window_end=dt.date(2025, 3, 4),
        area_m2=2400.0,
        n_pixels=24,
        confidence=0.87,
        n_obs=6,
        # Clockwise on purpose: the alerts file must come out counter-clockwise (RFC 7946).
        geometry=box(98.5440, 16.6240, 98.5460, 16.6260, ccw=False),
        confirmed_on=dt.date(2025, 4, 1),
        evidence_before=("S2B_47QMU_20250220_0_L2A",),
        evidence_after=("S2A_47QMU_20250304_0_L2A", "S2B_47QMU_20250312_0_L2A"),
        simulated=False,
    )
    values.update(changes)
    return Detection(**values)


def confirmed_event(det_id: str = "det-kk-0001", **changes: Any) -> AlertEvent:
    return AlertEvent(
        "confirmed", make_detection(det_id, **changes), "probable", "new_construction"
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Nothing configured but the reports folder; short timeouts and budget."""
    return dataclasses.replace(
        Settings(),
        reports_dir=tmp_path / "reports",
        state_dir=tmp_path / "state",
        alert_timeout_s=1.0,
        alert_retries=2,
        alert_max_seconds=5.0,
    )
