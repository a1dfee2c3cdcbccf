"""The export fields: what every export carries, as each format spells it.

Every vector format carries the contract's detection fields (``../shared/CONTRACT.md``,
Detections), ``simulated`` among them, and the analyst's review of the detection
(``Detection.review``; empty when nobody reviewed it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from monitor.models import CHANGE_CODES, Detection, Review

__all__ = [
    "DETECTION_FIELDS",
    "REVIEW_FIELDS",
    "EXPORT_FIELDS",
    "DATE_FIELDS",
    "LIST_FIELDS",
    "SHAPEFILE_FIELDS",
    "LIST_SEPARATOR",
    "CHANGE_TYPES",
    "CHANGE_LABELS",
    "CLASS_CODES",
    "detection_properties",
    "review_properties",
    "export_properties",
    "export_values",
]

#: The contract's detection fields, in order (the geometry aside).
DETECTION_FIELDS: tuple[str, ...] = (
    "id",
    "aoi",
    "change_type",
    "status",
    "first_seen",
    "confirmed_on",
    "window_start",
    "window_end",
    "area_m2",
    "n_pixels",
    "confidence",
    "n_obs",
    "evidence_before",
    "evidence_after",
    "simulated",
)
#: The analyst's latest review (``monitor review``), null when there is none.
REVIEW_FIELDS: tuple[str, ...] = (
    "review_verdict",
    "review_note",
    "review_source",
    "reviewed_by",
    "reviewed_at",
)
#: What every vector export carries, in this order.
EXPORT_FIELDS: tuple[str, ...] = DETECTION_FIELDS + REVIEW_FIELDS
#: Calendar days (UTC): typed Date wherever the format has a date type.
DATE_FIELDS: tuple[str, ...] = ("first_seen", "confirmed_on", "window_start", "window_end")
#: Scene id lists: arrays in GeoJSON, STAC and GeoParquet, joined by LIST_SEPARATOR elsewhere.
LIST_FIELDS: tuple[str, ...] = ("evidence_before", "evidence_after")
LIST_SEPARATOR = ","

#: Shapefile (dBase) field names are at most 10 characters. GDAL would truncate them itself,
#: differently for each set of names (``change_typ``, ``confirmed_``, ``window_sta``...);
#: this fixed mapping is documented in docs/export.md so scripts can rely on it.
SHAPEFILE_FIELDS: dict[str, str] = {
    "id": "id",
    "aoi": "aoi",
    "change_type": "chg_type",
    "status": "status",
    "first_seen": "first_seen",
    "confirmed_on": "confirm_on",
    "window_start": "win_start",
    "window_end": "win_end",
    "area_m2": "area_m2",
    "n_pixels": "n_pixels",
    "confidence": "confidence",
    "n_obs": "n_obs",
    "evidence_before": "ev_before",
    "evidence_after": "ev_after",
    "simulated": "simulated",
    "review_verdict": "rv_verdict",
    "review_note": "rv_note",
    "review_source": "rv_source",
    "reviewed_by": "rv_by",
    "reviewed_at": "rv_at",
}

#: The contract's change types, in the order of their class codes.
CHANGE_TYPES: tuple[str, ...] = tuple(CHANGE_CODES)
#: Words for people (legends, balloons).
CHANGE_LABELS: dict[str, str] = {
    "new_construction": "New construction",
    "demolition": "Demolition",
    "rebuilding": "Rebuilding",
    "roof_change": "Roof change",
    "land_clearing": "Land clearing",
}
#: The contract's raster class codes of the change types (0 no change, 6 unknown type,
#: 255 outside the AOI or no data).
CLASS_CODES: dict[str, int] = dict(CHANGE_CODES)


def detection_properties(det: Detection) -> dict[str, Any]:
    """The contract's fields of ``det`` as JSON-ready values (dates as ISO days)."""
    values: dict[str, Any] = {
        "id": det.id,
        "aoi": det.aoi,
        "change_type": det.change_type,
        "status": det.status,
        "first_seen": det.first_seen.isoformat(),
        "confirmed_on": det.confirmed_on.isoformat() if det.confirmed_on else None,
        "window_start": det.window_start.isoformat(),
        "window_end": det.window_end.isoformat(),
        "area_m2": round(float(det.area_m2), 1),
        "n_pixels": int(det.n_pixels),
        "confidence": round(float(det.confidence), 3),
        "n_obs": int(det.n_obs),
        "evidence_before": list(det.evidence_before),
        "evidence_after": list(det.evidence_after),
        "simulated": bool(det.simulated),
    }
    return {name: values[name] for name in DETECTION_FIELDS}


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _review_values(review: Review | None) -> dict[str, Any]:
    if review is None:
        return dict.fromkeys(REVIEW_FIELDS)
    return {
        "review_verdict": review.verdict,
        # An empty note or source means none was given.
        "review_note": review.note or None,
        "review_source": review.source or None,
        "reviewed_by": review.reviewer or None,
        "reviewed_at": _utc(review.reviewed_at),
    }


def review_properties(review: Review | None) -> dict[str, Any]:
    """The review fields as JSON-ready values (``reviewed_at`` ISO 8601 in UTC)."""
    values = _review_values(review)
    if values["reviewed_at"] is not None:
        values["reviewed_at"] = values["reviewed_at"].isoformat(timespec="seconds")
    return values


def export_properties(det: Detection) -> dict[str, Any]:
    """Every exported field of ``det`` as JSON-ready values, in EXPORT_FIELDS order."""
    return {**detection_properties(det), **review_properties(det.review)}


def export_values(det: Detection) -> dict[str, Any]:
    """Every exported field of ``det`` as Python values for typed formats: days as
    ``datetime.date``, ``reviewed_at`` an aware UTC datetime, scene ids as tuples."""
    values = export_properties(det)
    for name in DATE_FIELDS:
        value = getattr(det, name)
        values[name] = value
    values["evidence_before"] = tuple(det.evidence_before)
    values["evidence_after"] = tuple(det.evidence_after)
    values["reviewed_at"] = _review_values(det.review)["reviewed_at"]
    return values
