"""One run's alerts: the alerts GeoJSON in the reports folder, then the configured deliveries.

``alerts_for_run`` is the stage's entry point, called by the job once the run's detections
are stored. It never raises for anything outside the program (unwritable folder, servers
down, bad addresses): each failure is a ``Delivery`` record with ``ok`` False, for the run
summary, and delivery adds at most ``alert_max_seconds`` to the run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.alerts.delivery import (
    Channel,
    Delivery,
    RetryPolicy,
    build_email,
    deliver_all,
    post_webhook,
    redact_url,
    scrub_secrets,
    send_email,
    url_secrets,
)
from monitor.alerts.events import ALERT_KINDS, AlertEvent
from monitor.alerts.message import (
    CAVEAT,
    clean,
    email_subject,
    message_lines,
    slack_escape,
)
from monitor.config import Settings, smtp_credentials
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = ["ALERTS_FOLDER", "AlertsResult", "alerts_path", "alerts_for_run"]

log = logging.getLogger("monitor.alerts")

#: Sub-folder of the reports folder holding one alerts GeoJSON per run that had any.
ALERTS_FOLDER = "alerts"


@dataclass(frozen=True)
class AlertsResult:
    """What ``alerts_for_run`` did. Holds no secret: targets and errors are redacted.

    ``path`` is the alerts GeoJSON, None when there was nothing to tell (or it could not be
    written: see ``deliveries``, channel ``file``). ``deliveries`` has one record per channel
    tried, in the order file, webhook, e-mail.
    """

    run_id: int
    events: tuple[AlertEvent, ...] = ()
    path: Path | None = None
    deliveries: tuple[Delivery, ...] = ()
    seconds: float = 0.0

    @property
    def n_alerts(self) -> int:
        return len(self.events)

    @property
    def simulated(self) -> bool:
        return any(e.simulated for e in self.events)

    @property
    def counts(self) -> dict[str, int]:
        """Alerts by kind, kinds with none left out."""
        counts = Counter(e.kind for e in self.events)
        return {kind: counts[kind] for kind in ALERT_KINDS if counts[kind]}

    @property
    def ok(self) -> bool:
        """True when every channel tried succeeded (and trivially when none was)."""
        return all(d.ok for d in self.deliveries)

    @property
    def failures(self) -> tuple[str, ...]:
        """One line per failed channel, for the run summary's errors."""
        return tuple(f"alerts: {d.line()}" for d in self.deliveries if not d.ok)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the run summary and ``monitor status --json``."""
        return {
            "alerts": self.n_alerts,
            "by_kind": self.counts,
            "simulated": self.simulated,
            "file": str(self.path) if self.path else None,
            "seconds": round(self.seconds, 2),
            "deliveries": [
                {
                    "channel": d.channel,
                    "target": d.target,
                    "ok": d.ok,
                    "attempts": d.attempts,
                    "seconds": round(d.seconds, 2),
                    "error": d.error,
                }
                for d in self.deliveries
            ],
        }

    def lines(self) -> list[str]:
        """What to print after a run."""
        if not self.events:
            return ["alerts: nothing newly confirmed or changed; none sent"]
        kinds = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        sim = " (SIMULATED)" if self.simulated else ""
        out = [f"alerts: {self.n_alerts}{sim} ({kinds})" + (f" → {self.path}" if self.path else "")]
        out += [f"  {d.line()}" for d in self.deliveries]
        return out


def alerts_path(reports_dir: Path, run_id: int, run_at: dt.datetime) -> Path:
    """``<reports_dir>/alerts/alerts-<YYYYmmddTHHMMSSZ>-run<id>.geojson`` (UTC)."""
    stamp = run_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return reports_dir / ALERTS_FOLDER / f"alerts-{stamp}-run{run_id}.geojson"


def _write(events: Sequence[AlertEvent], path: Path, metadata: Mapping[str, Any]) -> None:
    from monitor.export.geojson import write_geojson

    # Each event's own detection once; a re-run of the same run id replaces its file.
    write_geojson([e.detection for e in events], path, overwrite=True, metadata=metadata)


def _feature_collection(
    events: Sequence[AlertEvent], path: Path, metadata: Mapping[str, Any]
) -> tuple[Path | None, dict[str, Any], Delivery | None]:
    """Write the alerts file; return it, its content (read back, so file and messages carry
    the same GeoJSON from the one writer) and a failed ``file`` delivery if it failed."""
    try:
        _write(events, path, metadata)
        return path, json.loads(path.read_text(encoding="utf-8")), None
    except (MonitorError, OSError, ValueError) as exc:
        # The folder cannot be written (full disk, permissions): the messages still go out.
        failed = Delivery("file", str(path), False, 1, 0.0, clean(str(exc), 300))
    with tempfile.TemporaryDirectory(prefix="monitor-alerts-") as tmp:
        spare = Path(tmp) / path.name
        _write(events, spare, metadata)
        return None, json.loads(spare.read_text(encoding="utf-8")), failed


def alerts_for_run(
    settings: Settings,
    *,
    run_id: int,
    run_at: dt.datetime,
    events: Sequence[AlertEvent],
    aoi_names: Mapping[str, str] | None = None,
    deliver: bool = True,
    environ: Mapping[str, str] | None = None,
    backoff_s: float = 1.0,
    ssl_context: Any = None,
) -> AlertsResult:
    """Write the run's alerts GeoJSON and deliver the alerts where the settings say.

    Parameters
    ----------
    settings
        ``reports_dir`` and the ``alert_*`` settings.
    run_id, run_at
        The run (``run_at`` tz-aware; named in the file as UTC).
    events
        The run's alert events, from ``alert_events`` per AOI (see ``monitor.alerts.events``
        for what is told). When empty, nothing is written or sent.
    aoi_names
        AOI id → name, to name AOIs in messages (optional).
    deliver
        False writes the file only (the demo's simulated runs, tests).
    environ
        Where SMTP credentials are read (``MONITOR_ALERT_SMTP_USER``/``_PASSWORD``);
        default ``os.environ``.
    backoff_s
        First wait between attempts (then doubled).
    ssl_context
        TLS context for SMTP (default: the system's trusted certificates).

    Returns
    -------
    AlertsResult
        Never raises for files or servers; failures are in ``deliveries``.
    """
    if run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware")
    started = time.monotonic()
    events = tuple(events)
    if not events:
        log.info("alerts: run %d has nothing newly confirmed or changed", run_id)
        return AlertsResult(run_id)
    try:
        return _alerts_for_run(
            settings,
            run_id,
            run_at,
            events,
            aoi_names,
            deliver,
            environ,
            backoff_s,
            ssl_context,
            started,
        )
    except Exception as exc:  # noqa: BLE001 - a bug in alerts must not lose the run's record
        # The type and a scrubbed message only: a traceback could show the webhook URL.
        secrets = url_secrets(settings.alert_webhook_url or "")
        credentials = smtp_credentials(environ)
        if credentials and credentials[1]:
            secrets.append(credentials[1])
        error = scrub_secrets(f"internal error: {type(exc).__name__}: {exc}", secrets)
        log.error("alerts: %s", error)
        return AlertsResult(
            run_id,
            events,
            None,
            (Delivery("file", "alerts", False, 0, 0.0, error),),
            time.monotonic() - started,
        )


def _alerts_for_run(
    settings: Settings,
    run_id: int,
    run_at: dt.datetime,
    events: tuple[AlertEvent, ...],
    aoi_names: Mapping[str, str] | None,
    deliver: bool,
    environ: Mapping[str, str] | None,
    backoff_s: float,
    ssl_context: Any,
    started: float,
) -> AlertsResult:
    """``alerts_for_run`` past its checks: the file, then each configured channel."""
    from monitor.detect import stated_limits_note

    limits = stated_limits_note()
    metadata = _metadata(run_id, run_at, events, limits)
    path = alerts_path(settings.reports_dir, run_id, run_at)
    written, collection, file_failure = _feature_collection(events, path, metadata)
    deliveries: list[Delivery] = [file_failure] if file_failure else []

    jobs: list[tuple[Channel, str, Any]] = []
    lines = message_lines(events, run_id, run_at, limits, aoi_names, path.name)
    policy = RetryPolicy(
        settings.alert_timeout_s, settings.alert_retries, settings.alert_max_seconds, backoff_s
    )
    url = settings.alert_webhook_url
    if deliver and url:
        body = _webhook_body(lines, run_id, metadata["simulated"], collection)
        jobs.append(_webhook_job(url, body, policy))
    email_settings = (settings.alert_smtp_host, settings.alert_email_from, settings.alert_email_to)
    if deliver and any(email_settings):
        message = _email(settings, events, run_id, run_at, lines, collection, path.name)
        target = f"smtp://{settings.alert_smtp_host or '?'}:{settings.alert_smtp_port}"
        if isinstance(message, str):
            deliveries.append(Delivery("email", target, False, 0, 0.0, message))
        else:
            jobs.append(_email_job(settings, message, target, policy, environ, ssl_context))
    if jobs:
        deliveries += deliver_all(jobs, settings.alert_max_seconds)
    result = AlertsResult(run_id, events, written, tuple(deliveries), time.monotonic() - started)
    for line in result.lines():
        log.info("%s", line)
    return result


def _metadata(
    run_id: int, run_at: dt.datetime, events: Sequence[AlertEvent], limits: str
) -> dict[str, Any]:
    """The alerts file's metadata: the run, its alerts by kind, why each feature is there."""
    counts = Counter(e.kind for e in events)
    return {
        "run_id": run_id,
        "run_at": run_at.astimezone(dt.UTC).isoformat(),
        "simulated": any(e.simulated for e in events),
        "alerts": {kind: counts[kind] for kind in ALERT_KINDS if counts[kind]},
        # Why each feature is here: the properties are the contract's detection fields.
        "events": [
            {
                "id": e.detection.id,
                "kind": e.kind,
                "previous_status": e.previous_status,
                "previous_change_type": e.previous_change_type,
            }
            for e in events
        ],
        "caveat": CAVEAT,
        "limits": limits,
    }


def _webhook_body(
    lines: Sequence[str], run_id: int, simulated: bool, collection: Mapping[str, Any]
) -> bytes:
    """The webhook's JSON: a Slack-compatible ``text`` and the alerts GeoJSON."""
    return json.dumps(
        {
            "text": "\n".join(slack_escape(line) for line in lines),
            "run_id": run_id,
            "simulated": simulated,
            "geojson": collection,
        },
        ensure_ascii=False,
    ).encode("utf-8")


def _webhook_job(url: str, body: bytes, policy: RetryPolicy) -> tuple[Channel, str, Any]:
    """The webhook delivery, for ``deliver_all``."""
    from monitor import __version__

    return (
        "webhook",
        redact_url(url),
        lambda deadline: post_webhook(
            url, body, policy, deadline, user_agent=f"monitor/{__version__}"
        ),
    )


def _email(
    settings: Settings,
    events: Sequence[AlertEvent],
    run_id: int,
    run_at: dt.datetime,
    lines: Sequence[str],
    collection: Mapping[str, Any],
    attachment_name: str,
) -> EmailMessage | str:
    """The alerts e-mail, or why it cannot be made (settings missing or unusable)."""
    email_settings = (settings.alert_smtp_host, settings.alert_email_from, settings.alert_email_to)
    missing = [
        name
        for name, value in zip(
            ("alert_smtp_host", "alert_email_from", "alert_email_to"),
            email_settings,
            strict=True,
        )
        if not value
    ]
    if missing:
        return f"e-mail not configured completely: {', '.join(missing)} missing"
    _host, sender, recipients = email_settings
    try:
        return build_email(
            sender=str(sender),
            recipients=list(recipients),
            subject=email_subject(events, run_id),
            body="\n".join(lines) + "\n",
            attachment=json.dumps(collection, indent=1, ensure_ascii=False).encode("utf-8"),
            attachment_name=attachment_name,
            when=run_at,
        )
    except (ValueError, TypeError) as exc:
        return f"alert_email_from or alert_email_to is not usable: {clean(exc, 120)}"


def _email_job(
    settings: Settings,
    message: EmailMessage,
    target: str,
    policy: RetryPolicy,
    environ: Mapping[str, str] | None,
    ssl_context: Any,
) -> tuple[Channel, str, Any]:
    """The e-mail delivery, for ``deliver_all``."""
    credentials = smtp_credentials(environ)
    host, port = str(settings.alert_smtp_host), settings.alert_smtp_port
    return (
        "email",
        target,
        lambda deadline: send_email(
            message,
            host,
            port,
            policy,
            deadline,
            credentials=credentials,
            ssl_context=ssl_context,
        ),
    )
