"""Secrets (the webhook's token, the SMTP password) never reach logs, results or settings'
repr; a channel that hangs is abandoned at the deadline."""

from __future__ import annotations

import dataclasses
import json
import logging
import time

import pytest

from monitor.alerts import Delivery, alerts_for_run, redact_url
from monitor.alerts.delivery import deliver_all
from monitor.config import Settings, load_settings, smtp_credentials
from tests.alerts.conftest import RUN_AT, confirmed_event
from tests.alerts.receivers import WebhookReceiver, free_port

TOKEN = "XoXb9TokenInPath77"
QUERY_SECRET = "sig-Q8mmsecret"


def test_redact_url_keeps_only_scheme_host_and_port() -> None:
    assert (
        redact_url(f"https://hooks.slack.com/services/T0/B0/{TOKEN}") == "https://hooks.slack.com/…"
    )
    assert (
        redact_url(f"http://user:pw{TOKEN}@127.0.0.1:8080/x?k={QUERY_SECRET}#f")
        == "http://127.0.0.1:8080/…"
    )
    assert redact_url("https://example.org") == "https://example.org"
    assert redact_url("http://[::1]:99/") == "http://[::1]:99"


def test_webhook_token_never_in_result_logs_or_settings(
    settings: Settings, webhook: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook.script[:] = ["500"] * 10
    url = f"{webhook.url}/services/T0/B0/{TOKEN}?token={QUERY_SECRET}"
    env_settings = load_settings(
        environ={"MONITOR_ALERT_WEBHOOK_URL": url}, cwd=settings.state_dir.parent
    )
    assert env_settings.alert_webhook_url == url
    configured = dataclasses.replace(
        env_settings, reports_dir=settings.reports_dir, alert_timeout_s=1.0, alert_max_seconds=5.0
    )
    result = alerts_for_run(
        configured, run_id=1, run_at=RUN_AT, events=[confirmed_event()], backoff_s=0.01
    )
    assert not result.ok and len(webhook.requests) == 3  # the token did reach the server
    shown = "\n".join(
        [
            json.dumps(result.to_dict()),
            repr(result),
            *result.lines(),
            *result.failures,
            caplog.text,
            repr(configured),
            str(configured),
        ]
    )
    for secret in (TOKEN, QUERY_SECRET, "/services/T0"):
        assert secret not in shown, secret
    assert result.deliveries[0].target == f"{webhook.url}/…"
    assert result.path is not None and TOKEN not in result.path.read_text()


def test_unreachable_webhook_error_text_is_scrubbed(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://user:{TOKEN}@127.0.0.1:{free_port()}/{TOKEN}"
    result = alerts_for_run(
        dataclasses.replace(settings, alert_webhook_url=url),
        run_id=1,
        run_at=RUN_AT,
        events=[confirmed_event()],
        backoff_s=0.01,
    )
    assert not result.ok
    assert TOKEN not in json.dumps(result.to_dict()) + caplog.text


def test_smtp_password_only_from_the_environment(tmp_path: object) -> None:
    assert smtp_credentials({}) is None
    assert smtp_credentials(
        {"MONITOR_ALERT_SMTP_USER": "u", "MONITOR_ALERT_SMTP_PASSWORD": "p"}
    ) == ("u", "p")
    config = tmp_path / "monitor.toml"  # type: ignore[operator]
    config.write_text('alert_smtp_password = "in-a-file"\n')
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_settings(config_file=config, environ={})
    assert "in-a-file" not in str(info.value)


def test_a_hanging_channel_is_abandoned_at_the_deadline() -> None:
    def hang(deadline: float) -> Delivery:
        time.sleep(10)  # ignores its deadline, as a DNS lookup can
        return Delivery("webhook", "x", True, 1)

    def quick(deadline: float) -> Delivery:
        return Delivery("email", "y", True, 1)

    started = time.monotonic()
    stuck, fine = deliver_all(
        [("webhook", "http://h/…", hang), ("email", "smtp://m:25", quick)], max_seconds=0.2
    )
    assert time.monotonic() - started < 0.2 + 1.0 + 0.3
    assert fine.ok
    assert not stuck.ok and stuck.target == "http://h/…" and "abandoned" in (stuck.error or "")


def test_settings_parse_recipients_and_port() -> None:
    s = load_settings(
        environ={
            "MONITOR_ALERT_EMAIL_TO": " a@example.org, b@example.org ,",
            "MONITOR_ALERT_SMTP_PORT": "465",
        }
    )
    assert s.alert_email_to == ("a@example.org", "b@example.org") and s.alert_smtp_port == 465
    from monitor.errors import ConfigError

    for bad in ("a@example.org\nBcc: x@evil.org", "not-an-address"):
        with pytest.raises(ConfigError):
            load_settings(environ={"MONITOR_ALERT_EMAIL_TO": bad})
    with pytest.raises(ConfigError):
        load_settings(environ={"MONITOR_ALERT_SMTP_PORT": "0"})


def test_a_bug_inside_alerts_is_reported_not_raised(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.alerts.dispatch as dispatch

    def broken(*args: object) -> None:
        raise RuntimeError(f"boom near https://hooks.example.org/T/{TOKEN}")

    monkeypatch.setattr(dispatch, "message_lines", broken)
    configured = dataclasses.replace(
        settings, alert_webhook_url=f"https://hooks.example.org/T/{TOKEN}"
    )
    result = alerts_for_run(configured, run_id=1, run_at=RUN_AT, events=[confirmed_event()])
    [failure] = result.deliveries
    assert not failure.ok and "RuntimeError" in (failure.error or "")
    assert TOKEN not in (failure.error or "")
