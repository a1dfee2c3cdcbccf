"""The alerts GeoJSON: one per run with something to tell, valid RFC 7946, contract fields."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
import shapely.geometry

from monitor.alerts import AlertEvent, alerts_for_run
from monitor.config import Settings
from monitor.detect import stated_limits_note
from monitor.export import DETECTION_FIELDS
from tests.alerts.conftest import RUN_AT, confirmed_event, make_detection
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver


def test_nothing_newly_confirmed_writes_and_sends_nothing(
    settings: Settings, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    configured = dataclasses.replace(
        settings,
        alert_webhook_url=webhook.url + "/hook",
        alert_smtp_host="127.0.0.1",
        alert_smtp_port=smtp.port,
        alert_email_from="monitor@example.org",
        alert_email_to=("analyst@example.org",),
    )
    result = alerts_for_run(configured, run_id=7, run_at=RUN_AT, events=[])
    assert result.path is None and result.deliveries == () and result.ok
    assert not (settings.reports_dir / "alerts").exists()
    assert webhook.requests == [] and smtp.messages == []
    assert result.lines() == ["alerts: nothing newly confirmed or changed; none sent"]


def test_alerts_file_is_rfc7946_with_the_contract_fields(settings: Settings) -> None:
    events = [
        confirmed_event("a"),
        AlertEvent(
            "rejected",
            make_detection("b", status="rejected", simulated=True),
            "confirmed",
            "demolition",
        ),
    ]
    result = alerts_for_run(settings, run_id=42, run_at=RUN_AT, events=events)
    assert result.path == settings.reports_dir / "alerts" / "alerts-20261123T063005Z-run42.geojson"
    assert result.deliveries == () and result.counts == {"confirmed": 1, "rejected": 1}
    # Atomic write: no temporary file left beside it.
    assert os.listdir(result.path.parent) == [result.path.name]

    doc = json.loads(result.path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc  # RFC 7946 drops crs
    assert [f["id"] for f in doc["features"]] == ["a", "b"]
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert list(feature["properties"]) == list(DETECTION_FIELDS)
        geometry = feature["geometry"]
        assert geometry["type"] == "Polygon"
        ring = geometry["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4
        assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring)
        # Exterior rings counter-clockwise (RFC 7946, 3.1.6); the input was clockwise.
        assert shapely.geometry.LinearRing(ring).is_ccw
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", feature["properties"]["first_seen"])
    props = doc["features"][1]["properties"]
    assert props["status"] == "rejected" and props["simulated"] is True
    meta = doc["monitor"]
    assert meta["run_id"] == 42 and meta["run_at"] == "2026-11-23T06:30:05+00:00"
    assert meta["simulated"] is True
    assert meta["limits"] == stated_limits_note()
    assert meta["events"][1] == {
        "id": "b",
        "kind": "rejected",
        "previous_status": "confirmed",
        "previous_change_type": "demolition",
    }


def test_unwritable_reports_folder_is_reported_and_messages_still_go(
    settings: Settings, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the reports folder should be")
    configured = dataclasses.replace(
        settings, reports_dir=blocker, alert_webhook_url=webhook.url + "/hook"
    )
    result = alerts_for_run(configured, run_id=3, run_at=RUN_AT, events=[confirmed_event()])
    assert result.path is None
    file_failure, sent = result.deliveries
    assert file_failure.channel == "file" and not file_failure.ok and file_failure.error
    assert sent.channel == "webhook" and sent.ok
    assert webhook.requests[0].json()["geojson"]["features"][0]["id"] == "det-kk-0001"
    assert not result.ok and len(result.failures) == 1


def test_naive_run_time_is_a_programming_error(settings: Settings) -> None:
    with pytest.raises(ValueError, match="timezone"):
        alerts_for_run(
            settings, run_id=1, run_at=RUN_AT.replace(tzinfo=None), events=[confirmed_event()]
        )
