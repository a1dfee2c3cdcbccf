"""Alerts: telling analysts what a run newly confirmed or changed.

Detections in, deliveries out. ``alert_events`` picks, from the store's ``DetectionChanges``,
what an analyst wants to hear (newly confirmed detections, and any later change to one they
were told was confirmed; never probable-only ones). ``alerts_for_run`` writes
``<reports-dir>/alerts/alerts-<UTC timestamp>-run<id>.geojson`` and, when configured, posts
it to a webhook (JSON with a Slack-compatible ``text``) and e-mails it over SMTP: retried,
bounded in time, never fatal, secrets redacted. Standard library only (``urllib.request``,
``smtplib``, ``ssl``, ``email``).
"""

from __future__ import annotations

from monitor.alerts.delivery import Delivery, RetryPolicy, redact_url
from monitor.alerts.dispatch import ALERTS_FOLDER, AlertsResult, alerts_for_run, alerts_path
from monitor.alerts.events import ALERT_KINDS, AlertEvent, AlertKind, alert_events, merge_events
from monitor.alerts.message import slack_escape

__all__ = [
    "ALERTS_FOLDER",
    "ALERT_KINDS",
    "AlertEvent",
    "AlertKind",
    "AlertsResult",
    "Delivery",
    "RetryPolicy",
    "alert_events",
    "alerts_for_run",
    "alerts_path",
    "merge_events",
    "redact_url",
    "slack_escape",
]
