"""``monitor run`` tells what it confirmed: the alerts file, the webhook and e-mail on local
receivers, delivery failures that do not fail the run, and alerts owed by a killed run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import monitor.alerts
from monitor.store import Store
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver, free_port
from tests.cli.conftest import FULL_PERIOD, RunState, SimArchive, export_all, run_cli, status_json

pytestmark = pytest.mark.slow

SECRET = "hunter2-webhook-token"


def _run(archive: SimArchive, where: RunState) -> int:
    return run_cli(
        [
            "run",
            "--stac",
            archive.sim,
            "--aoi",
            archive.aoi_files["east-test"],
            "--state-dir",
            where.state,
            "--reports-dir",
            where.reports,
            "--since",
            FULL_PERIOD[0],
            "--until",
            FULL_PERIOD[1],
        ]
    )


def _alert_files(reports: Path) -> list[Path]:
    return sorted((reports / "alerts").glob("alerts-*.geojson"))


def _confirmed(state: Path) -> set[str]:
    with Store.open(state, create=False) as store:
        return {d.id for d in store.detections(status="confirmed")}


def test_a_run_tells_the_webhook_and_email_what_it_confirmed(
    east_archive: SimArchive,
    tmp_path: Path,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    where = RunState(tmp_path / "state", tmp_path / "reports")
    monkeypatch.setenv("MONITOR_ALERT_WEBHOOK_URL", f"{webhook.url}/hook?token={SECRET}")
    monkeypatch.setenv("MONITOR_ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MONITOR_ALERT_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("MONITOR_ALERT_EMAIL_FROM", "monitor@example.org")
    monkeypatch.setenv("MONITOR_ALERT_EMAIL_TO", "desk@example.org, analyst@example.org")
    assert _run(east_archive, where) == 0
    printed = capsys.readouterr()
    confirmed = _confirmed(where.state)
    assert confirmed

    [path] = _alert_files(where.reports)
    told = json.loads(path.read_text())
    assert {f["id"] for f in told["features"]} == confirmed
    assert {e["kind"] for e in told["monitor"]["events"]} == {"confirmed"}
    assert told["monitor"]["simulated"] is True

    [request] = webhook.requests
    body = request.json()
    assert request.path == f"/hook?token={SECRET}"
    assert "SIMULATED" in body["text"] or "simulated" in body["text"].lower()
    assert {f["id"] for f in body["geojson"]["features"]} == confirmed
    [mail] = smtp.messages
    assert sorted(mail.rcpt_tos) == ["analyst@example.org", "desk@example.org"]

    report = status_json(where.state, capsys)
    assert report["last_run"]["counts"]["alerts"] == len(confirmed)
    assert report["last_run"]["errors"] == []
    # The webhook's token is a secret: never printed, never stored.
    assert SECRET not in printed.out + printed.err + json.dumps(report)
    assert SECRET.encode() not in (where.state / "state.db").read_bytes()

    # Nothing new: nothing told again.
    assert _run(east_archive, where) == 0
    assert len(webhook.requests) == 1 and len(smtp.messages) == 1
    assert len(_alert_files(where.reports)) == 1


def test_an_unreachable_webhook_does_not_fail_the_run(
    east_archive: SimArchive,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    where = RunState(tmp_path / "state", tmp_path / "reports")
    monkeypatch.setenv("MONITOR_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/{SECRET}")
    monkeypatch.setenv("MONITOR_ALERT_RETRIES", "1")
    monkeypatch.setenv("MONITOR_ALERT_MAX_SECONDS", "5")
    started = time.monotonic()
    assert _run(east_archive, where) == 0
    assert time.monotonic() - started < 120
    assert _alert_files(where.reports), "the alerts file is written whatever the webhook does"
    last = status_json(where.state, capsys)["last_run"]
    assert last["exit_code"] == 0
    [error] = last["errors"]
    assert error.startswith("alerts: webhook") and SECRET not in error


def test_alerts_and_exports_owed_by_a_killed_run_come_with_the_next(
    east_archive: SimArchive,
    east_reference: RunState,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A run that dies after storing its detections and before writing its alerts and exports
    (here: interrupted in the alerts step) leaves both owed; the next run, with nothing new
    to read, writes them."""
    where = RunState(tmp_path / "state", tmp_path / "reports")

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(monitor.alerts, "alerts_for_run", killed)
        assert _run(east_archive, where) != 0
    with Store.open(where.state, create=False) as store:
        owed_ids = {event.detection.id for _seq, _run, event in store.queued_alerts()}
        assert owed_ids == _confirmed(where.state) and owed_ids
        assert store.pending("exports")
    assert not (where.reports / "detections.geojson").exists()
    assert not _alert_files(where.reports)
    owed = status_json(where.state, capsys)["owed"]
    assert owed == {"alerts": len(owed_ids), "exports": True, "reports": True}

    assert _run(east_archive, where) == 0
    [path] = _alert_files(where.reports)
    assert {f["id"] for f in json.loads(path.read_text())["features"]} == owed_ids
    assert status_json(where.state, capsys)["owed"] == {
        "alerts": 0,
        "exports": False,
        "reports": False,
    }
    assert (where.reports / "index.html").is_file(), "the reports owed came with the next run"

    def features(reports: Path) -> list[dict[str, Any]]:
        data: dict[str, Any] = json.loads((reports / "detections.geojson").read_text())
        return list(data["features"])

    assert features(where.reports) == features(east_reference.reports)
    assert export_all(where.state, tmp_path / "got.geojson") == export_all(
        east_reference.state, tmp_path / "want.geojson"
    )
