"""The words of an alert: a summary line, one line per event, the stated limits.

Pure: events in, strings out. Strings that come from outside (AOI names and ids, scene ids)
are made single-line and short before use, so a name cannot forge extra alert lines, and
Slack text escapes ``&``, ``<`` and ``>`` so a name cannot become a link or an ``@channel``.
Alerts never claim more than the detector knows: a confirmed detection is a change that
persisted in the Sentinel-2 time series, not a fact verified on the ground.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence

from monitor.alerts.events import ALERT_KINDS, AlertEvent, AlertKind

__all__ = [
    "CAVEAT",
    "clean",
    "slack_escape",
    "summary_line",
    "event_line",
    "message_lines",
    "email_subject",
]

#: Said with every alert: what "confirmed" means and does not mean.
CAVEAT = (
    "Confirmed means a change that persisted across clear Sentinel-2 views, not a fact "
    "verified on the ground; check the imagery before citing it."
)

_KIND_WORDS: dict[AlertKind, str] = {
    "confirmed": "newly confirmed",
    "type_changed": "type changed",
    "rejected": "rejected after being confirmed",
    "unconfirmed": "no longer confirmed",
    "withdrawn": "withdrawn after being confirmed",
}

#: Events listed one per line; the rest are counted (all are in the GeoJSON).
MAX_EVENT_LINES = 25


def clean(text: object, max_chars: int = 80) -> str:
    """``text`` on one line (all whitespace runs, line breaks included, become one space),
    without control characters, cut to ``max_chars``."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return flat if len(flat) <= max_chars else flat[: max_chars - 1] + "…"


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's ``text`` treats as markup (``&`` first)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(events: Sequence[AlertEvent], run_id: int, run_at: dt.datetime) -> str:
    """One line: SIMULATED when any event is, the run, and how many of each kind."""
    counts = Counter(e.kind for e in events)
    parts = [f"{counts[k]} {_KIND_WORDS[k]}" for k in ALERT_KINDS if counts[k]]
    n_sim = sum(e.simulated for e in events)
    if n_sim == len(events):
        prefix = "SIMULATED DATA: "
    elif n_sim:
        prefix = f"INCLUDES SIMULATED DATA ({n_sim} of {len(events)}): "
    else:
        prefix = ""
    aois = sorted({clean(e.detection.aoi, 40) for e in events})
    where = ", ".join(aois[:5]) + (f" and {len(aois) - 5} more" if len(aois) > 5 else "")
    return (
        f"{prefix}monitor run {run_id} ({run_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC): "
        f"{_plural(len(events), 'detection')} to report ({', '.join(parts)}) in {where}"
    )


def event_line(event: AlertEvent, aoi_names: Mapping[str, str] | None = None) -> str:
    """One line naming the AOI, type, what happened, dates, area, confidence and scenes."""
    det = event.detection
    aoi = clean(det.aoi, 40)
    name = clean((aoi_names or {}).get(det.aoi, ""), 60)
    where = f"{name} ({aoi})" if name and name != aoi else aoi
    what = f"{det.change_type} {_KIND_WORDS[event.kind]}"
    if event.kind == "type_changed" and event.previous_change_type:
        what = f"{det.change_type} (was {event.previous_change_type}), still confirmed"
    elif event.kind == "unconfirmed":
        what = f"{det.change_type} no longer confirmed, now probable"
    dates = (
        f"first seen {det.first_seen} (between clear views of {det.window_start} and "
        f"{det.window_end})"
    )
    if det.confirmed_on is not None:
        dates += f", confirmed {det.confirmed_on}"
    evidence = ""
    if det.evidence_before or det.evidence_after:
        before = clean(det.evidence_before[-1], 70) if det.evidence_before else "?"
        after = clean(det.evidence_after[0], 70) if det.evidence_after else "?"
        evidence = f"; scenes {before} → {after}"
    tag = "[SIMULATED] " if det.simulated else ""
    return (
        f"{tag}{where}: {what}; {dates}; {det.area_m2:,.0f} m² ({det.n_pixels} px), "
        f"confidence {det.confidence:.2f} from {det.n_obs} obs; id {clean(det.id, 60)}"
        f"{evidence}"
    )


def message_lines(
    events: Sequence[AlertEvent],
    run_id: int,
    run_at: dt.datetime,
    limits_note: str,
    aoi_names: Mapping[str, str] | None = None,
    geojson_name: str | None = None,
) -> list[str]:
    """The whole message as plain lines: summary, events, caveat, stated limits, file."""
    lines = [summary_line(events, run_id, run_at)]
    lines += ["• " + event_line(e, aoi_names) for e in events[:MAX_EVENT_LINES]]
    if len(events) > MAX_EVENT_LINES:
        lines.append(f"• … and {len(events) - MAX_EVENT_LINES} more (all are in the GeoJSON)")
    lines.append(CAVEAT)
    lines.append(clean(limits_note, 600))
    if geojson_name:
        lines.append(f"Outlines (GeoJSON, EPSG:4326): {clean(geojson_name, 120)}")
    return lines


def email_subject(events: Sequence[AlertEvent], run_id: int) -> str:
    """A short subject line; never longer than about 150 characters."""
    counts = Counter(e.kind for e in events)
    head = ", ".join(f"{counts[k]} {_KIND_WORDS[k]}" for k in ALERT_KINDS if counts[k])
    aois = sorted({clean(e.detection.aoi, 30) for e in events})
    where = ", ".join(aois[:3]) + (" …" if len(aois) > 3 else "")
    sim = "SIMULATED: " if any(e.simulated for e in events) else ""
    return clean(f"[monitor] {sim}{head} in {where} (run {run_id})", 150)
