"""The webhook: a Slack-compatible ``text`` and the GeoJSON, retried, bounded, never fatal."""

from __future__ import annotations

import dataclasses
import json
import time

from monitor.alerts import AlertEvent, alerts_for_run
from monitor.config import Settings
from monitor.detect import stated_limits_note
from tests.alerts.conftest import RUN_AT, confirmed_event, make_detection
from tests.alerts.receivers import WebhookReceiver, free_port


def _with_hook(settings: Settings, url: str, **changes: object) -> Settings:
    return dataclasses.replace(settings, alert_webhook_url=url, **changes)  # type: ignore[arg-type]


def test_webhook_receives_text_and_the_files_geojson(
    settings: Settings, webhook: WebhookReceiver
) -> None:
    result = alerts_for_run(
        _with_hook(settings, webhook.url + "/hook"),
        run_id=5,
        run_at=RUN_AT,
        events=[confirmed_event(simulated=True)],
        aoi_names={"kk-park": "KK Park"},
    )
    [delivery] = result.deliveries
    assert delivery.ok and delivery.attempts == 1
    [request] = webhook.requests
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    payload = request.json()
    assert payload["run_id"] == 5 and payload["simulated"] is True
    assert result.path is not None
    assert payload["geojson"] == json.loads(result.path.read_text(encoding="utf-8"))
    text = payload["text"]
    summary = text.splitlines()[0]
    assert summary.startswith("SIMULATED DATA: monitor run 5 (2026-11-23 06:30 UTC)")
    assert "1 newly confirmed" in summary and "kk-park" in summary
    for fact in (
        "KK Park (kk-park)",
        "new_construction newly confirmed",
        "first seen 2025-03-04",
        "2025-02-20 and 2025-03-04",
        "confirmed 2025-04-01",
        "2,400 m²",
        "confidence 0.87",
        "[SIMULATED]",
        "not a fact verified on the ground",
    ):
        assert fact in text, fact
    assert stated_limits_note().split(".")[0] in text


def test_a_500_is_retried_then_delivered(settings: Settings, webhook: WebhookReceiver) -> None:
    webhook.script[:] = ["500", "200"]
    result = alerts_for_run(
        _with_hook(settings, webhook.url + "/hook"),
        run_id=1,
        run_at=RUN_AT,
        events=[confirmed_event()],
        backoff_s=0.05,
    )
    [delivery] = result.deliveries
    assert delivery.ok and delivery.attempts == 2 and len(webhook.requests) == 2
    assert webhook.requests[0].body == webhook.requests[1].body


def test_a_404_is_not_retried_and_is_reported(settings: Settings, webhook: WebhookReceiver) -> None:
    webhook.script[:] = ["404"]
    result = alerts_for_run(
        _with_hook(settings, webhook.url + "/gone"),
        run_id=1,
        run_at=RUN_AT,
        events=[confirmed_event()],
        backoff_s=0.05,
    )
    [delivery] = result.deliveries
    assert not delivery.ok and delivery.attempts == 1 and len(webhook.requests) == 1
    assert delivery.error == "HTTP 404 Not Found"
    assert result.failures == (f"alerts: {delivery.line()}",)


def test_always_failing_webhook_stops_after_the_retries(
    settings: Settings, webhook: WebhookReceiver
) -> None:
    webhook.script[:] = ["503"] * 10
    result = alerts_for_run(
        _with_hook(settings, webhook.url + "/hook", alert_retries=2),
        run_id=1,
        run_at=RUN_AT,
        events=[confirmed_event()],
        backoff_s=0.01,
    )
    assert len(webhook.requests) == 3 and not result.ok
    assert "HTTP 503" in (result.deliveries[0].error or "")


def test_a_stalling_webhook_costs_the_run_bounded_time(
    settings: Settings, webhook: WebhookReceiver
) -> None:
    webhook.script[:] = ["stall"] * 10
    bounded = _with_hook(
        settings, webhook.url + "/hook", alert_timeout_s=0.3, alert_max_seconds=1.0
    )
    started = time.monotonic()
    result = alerts_for_run(
        bounded, run_id=1, run_at=RUN_AT, events=[confirmed_event()], backoff_s=0.05
    )
    elapsed = time.monotonic() - started
    [delivery] = result.deliveries
    assert not delivery.ok and "timed out" in (delivery.error or "")
    assert delivery.attempts >= 2  # retried within the budget
    assert elapsed < 1.0 + 1.0, elapsed  # the budget plus the one second of grace
    assert result.path is not None and result.path.exists()  # the file is there regardless


def test_a_refused_connection_is_reported_not_raised(settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    started = time.monotonic()
    result = alerts_for_run(
        _with_hook(settings, url),
        run_id=1,
        run_at=RUN_AT,
        events=[confirmed_event()],
        backoff_s=0.05,
    )
    assert time.monotonic() - started < 2.0
    [delivery] = result.deliveries
    assert not delivery.ok and delivery.attempts == 3
    assert delivery.error == "connection refused"


def test_untrusted_names_cannot_inject_markup_or_lines(
    settings: Settings, webhook: WebhookReceiver
) -> None:
    hostile = "Evil <!channel> & <https://evil.example|click>\n• forged line"
    event = AlertEvent(
        "confirmed",
        make_detection(evidence_after=('S2A_"quoted"\\<b>bold</b>',)),
        "probable",
        "new_construction",
    )
    result = alerts_for_run(
        _with_hook(settings, webhook.url + "/hook"),
        run_id=1,
        run_at=RUN_AT,
        events=[event],
        aoi_names={"kk-park": hostile},
    )
    assert result.ok
    text = webhook.requests[0].json()["text"]  # the JSON parses despite quotes, backslashes
    assert "<" not in text and ">" not in text.replace("→", "")
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    # The newline in the name did not start a line of its own.
    assert not any(line.startswith("• forged") for line in text.splitlines())


def test_a_non_http_url_is_refused_without_echoing_it(settings: Settings) -> None:
    result = alerts_for_run(
        _with_hook(settings, "file:///etc/passwd-token-123"),
        run_id=1,
        run_at=RUN_AT,
        events=[confirmed_event()],
    )
    [delivery] = result.deliveries
    assert not delivery.ok and delivery.attempts == 0
    assert "passwd-token-123" not in json.dumps(result.to_dict())
