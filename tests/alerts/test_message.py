"""The words: escaping, one line per event, SIMULATED said, no overstatement."""

from __future__ import annotations

from monitor.alerts import AlertEvent, slack_escape
from monitor.alerts.message import (
    CAVEAT,
    MAX_EVENT_LINES,
    clean,
    email_subject,
    event_line,
    message_lines,
    summary_line,
)
from tests.alerts.conftest import RUN_AT, confirmed_event, make_detection


def test_slack_escape_escapes_ampersand_first() -> None:
    assert slack_escape("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"


def test_clean_flattens_lines_and_controls_and_cuts() -> None:
    assert clean("KK\r\nPark\x00\tEast") == "KK Park East"
    assert clean("x" * 100, 10) == "x" * 9 + "…"


def test_mixed_simulated_and_real_says_so() -> None:
    events = [confirmed_event("a", simulated=True), confirmed_event("b")]
    line = summary_line(events, 3, RUN_AT)
    assert line.startswith("INCLUDES SIMULATED DATA (1 of 2): monitor run 3")
    assert summary_line([confirmed_event("b")], 3, RUN_AT).startswith("monitor run 3")
    assert "SIMULATED" in email_subject(events, 3)


def test_type_change_and_downgrade_wording() -> None:
    changed = AlertEvent(
        "type_changed", make_detection(change_type="rebuilding"), "confirmed", "new_construction"
    )
    assert "rebuilding (was new_construction), still confirmed" in event_line(changed)
    down = AlertEvent(
        "unconfirmed",
        make_detection(status="probable", confirmed_on=None),
        "confirmed",
        "new_construction",
    )
    line = event_line(down)
    assert "no longer confirmed, now probable" in line and "confirmed 20" not in line


def test_long_lists_are_counted_and_the_caveat_and_limits_close() -> None:
    events = [confirmed_event(f"d{i:03d}") for i in range(MAX_EVENT_LINES + 5)]
    lines = message_lines(events, 1, RUN_AT, "Limits line.", geojson_name="alerts-x.geojson")
    assert len([ln for ln in lines if ln.startswith("• ") and "id d" in ln]) == MAX_EVENT_LINES
    assert "… and 5 more" in lines[-4]
    assert lines[-3:] == [CAVEAT, "Limits line.", "Outlines (GeoJSON, EPSG:4326): alerts-x.geojson"]
    for word in ("proves", "verified scam", "certain"):
        assert word not in "\n".join(lines)
