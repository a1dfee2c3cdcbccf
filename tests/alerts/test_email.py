"""E-mail over SMTP to a local aiosmtpd server: content, STARTTLS and login, failures."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import alerts_for_run
from monitor.config import Settings
from monitor.detect import stated_limits_note
from tests.alerts.conftest import RUN_AT, confirmed_event
from tests.alerts.receivers import SmtpReceiver, free_port, self_signed_tls

PASSWORD = "hunter2-Zq9-never-shown"


def _with_mail(settings: Settings, port: int, **changes: Any) -> Settings:
    values: dict[str, Any] = dict(
        alert_smtp_host="127.0.0.1",
        alert_smtp_port=port,
        alert_email_from="monitor@example.org",
        alert_email_to=("analyst@example.org", "desk@example.org"),
    )
    return dataclasses.replace(settings, **{**values, **changes})


def test_email_arrives_with_summary_limits_and_geojson(
    settings: Settings, smtp: SmtpReceiver
) -> None:
    result = alerts_for_run(
        _with_mail(settings, smtp.port),
        run_id=9,
        run_at=RUN_AT,
        events=[confirmed_event(simulated=True)],
        environ={},
    )
    [delivery] = result.deliveries
    assert delivery.ok, delivery.error
    assert delivery.target == f"smtp://127.0.0.1:{smtp.port} to 2 recipient(s)"
    [envelope] = smtp.messages
    assert envelope.mail_from == "monitor@example.org"
    assert envelope.rcpt_tos == ["analyst@example.org", "desk@example.org"]
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["Subject"].startswith("[monitor] SIMULATED: 1 newly confirmed in kk-park (run 9)")
    body = msg.get_body(("plain",)).get_content()
    assert body.startswith("SIMULATED DATA: monitor run 9")
    assert "2,400 m²" in body and "confidence 0.87" in body
    assert stated_limits_note().split(".")[0] in body
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_content_type() == "application/geo+json"
    assert attachment.get_filename() == "alerts-20261123T063005Z-run9.geojson"
    assert result.path is not None
    assert json.loads(attachment.get_content()) == json.loads(result.path.read_text())


def test_starttls_then_login_with_credentials_from_the_environment(
    settings: Settings, tmp_path: Path
) -> None:
    pytest.importorskip("cryptography")
    server_tls, client_tls = self_signed_tls(tmp_path)
    logins: list[tuple[str, bool]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        logins.append((auth_data.login.decode(), session.ssl is not None))
        # handled=False: the server answers 535 itself on a wrong password.
        return AuthResult(success=auth_data.password.decode() == PASSWORD, handled=False)

    receiver = SmtpReceiver.start(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    try:
        environ = {"MONITOR_ALERT_SMTP_USER": "alerts", "MONITOR_ALERT_SMTP_PASSWORD": PASSWORD}
        result = alerts_for_run(
            _with_mail(settings, receiver.port),
            run_id=1,
            run_at=RUN_AT,
            events=[confirmed_event()],
            environ=environ,
            ssl_context=client_tls,
        )
        assert result.ok, result.failures
        assert logins == [("alerts", True)]  # logged in only once TLS was up
        assert len(receiver.messages) == 1

        wrong = {**environ, "MONITOR_ALERT_SMTP_PASSWORD": "wrong-" + PASSWORD}
        failed = alerts_for_run(
            _with_mail(settings, receiver.port),
            run_id=2,
            run_at=RUN_AT,
            events=[confirmed_event()],
            environ=wrong,
            ssl_context=client_tls,
            backoff_s=0.01,
        )
    finally:
        receiver.stop()
    [delivery] = failed.deliveries
    # A refused login is not retried (it would not get better) and shows no password.
    assert not delivery.ok and delivery.attempts == 1
    assert delivery.error == "login refused (SMTP 535)"
    assert PASSWORD not in json.dumps(failed.to_dict()) + "".join(failed.lines())


def test_untrusted_certificate_is_a_failure_not_a_clear_text_fallback(
    settings: Settings, tmp_path: Path
) -> None:
    pytest.importorskip("cryptography")
    server_tls, _ = self_signed_tls(tmp_path)
    receiver = SmtpReceiver.start(tls_context=server_tls, require_starttls=True)
    try:
        result = alerts_for_run(
            _with_mail(settings, receiver.port),
            run_id=1,
            run_at=RUN_AT,
            events=[confirmed_event()],
            environ={},
            backoff_s=0.01,
        )
    finally:
        receiver.stop()
    [delivery] = result.deliveries
    assert not delivery.ok and "certificate" in (delivery.error or "")
    assert receiver.messages == []


def test_refused_smtp_port_is_reported_within_the_budget(settings: Settings) -> None:
    started = time.monotonic()
    result = alerts_for_run(
        _with_mail(settings, free_port()),
        run_id=1,
        run_at=RUN_AT,
        events=[confirmed_event()],
        environ={},
        backoff_s=0.05,
    )
    assert time.monotonic() - started < 2.0
    [delivery] = result.deliveries
    assert not delivery.ok and delivery.attempts == 3 and delivery.error == "connection refused"


def test_half_configured_email_is_reported(settings: Settings, smtp: SmtpReceiver) -> None:
    half = dataclasses.replace(settings, alert_smtp_host="127.0.0.1", alert_smtp_port=smtp.port)
    result = alerts_for_run(half, run_id=1, run_at=RUN_AT, events=[confirmed_event()], environ={})
    [delivery] = result.deliveries
    assert not delivery.ok
    assert delivery.error == (
        "e-mail not configured completely: alert_email_from, alert_email_to missing"
    )
    assert smtp.messages == []


def test_webhook_and_email_together_and_deliver_false(
    settings: Settings, smtp: SmtpReceiver, webhook: Any
) -> None:
    both = _with_mail(settings, smtp.port, alert_webhook_url=webhook.url + "/h")
    result = alerts_for_run(both, run_id=1, run_at=RUN_AT, events=[confirmed_event()], environ={})
    assert [d.channel for d in result.deliveries] == ["webhook", "email"] and result.ok
    quiet = alerts_for_run(
        both, run_id=2, run_at=RUN_AT, events=[confirmed_event()], environ={}, deliver=False
    )
    assert quiet.deliveries == () and quiet.path is not None and quiet.path.exists()
    assert len(smtp.messages) == 1 and len(webhook.requests) == 1


def test_a_sender_with_a_line_break_is_reported_not_sent(
    settings: Settings, smtp: SmtpReceiver
) -> None:
    forged = _with_mail(
        settings, smtp.port, alert_email_from="monitor@example.org\r\nBcc: all@example.org"
    )
    result = alerts_for_run(forged, run_id=1, run_at=RUN_AT, events=[confirmed_event()], environ={})
    [delivery] = result.deliveries
    assert not delivery.ok and "not usable" in (delivery.error or "")
    assert smtp.messages == []


def test_display_name_sender_is_fine(settings: Settings, smtp: SmtpReceiver) -> None:
    named = _with_mail(settings, smtp.port, alert_email_from="Border monitor <bm@example.org>")
    result = alerts_for_run(named, run_id=1, run_at=RUN_AT, events=[confirmed_event()], environ={})
    assert result.ok, result.failures
    msg = email.message_from_bytes(smtp.messages[0].content, policy=email.policy.default)
    assert msg["Message-ID"].endswith("@example.org>")
