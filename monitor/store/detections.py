"""Stored detections with their history (``detections``, ``detection_history``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from monitor.models import Detection, DetectionChanges
from monitor.store import rows as _rows
from monitor.store.reviews import ReviewTables

__all__ = ["DetectionTables"]

_DETECTION_UPSERT = (
    "INSERT INTO detections (id, aoi_id, change_type, status, first_seen, confirmed_on, "
    "window_start, window_end, area_m2, n_pixels, confidence, n_obs, evidence_before_json, "
    "evidence_after_json, simulated, geometry_wkt, created_at, updated_at) VALUES (:id, "
    ":aoi_id, :change_type, :status, :first_seen, :confirmed_on, :window_start, :window_end, "
    ":area_m2, :n_pixels, :confidence, :n_obs, :evidence_before_json, :evidence_after_json, "
    ":simulated, :geometry_wkt, :now, :now) ON CONFLICT (id) DO UPDATE SET "
    "change_type = excluded.change_type, status = excluded.status, "
    "first_seen = excluded.first_seen, confirmed_on = excluded.confirmed_on, "
    "window_start = excluded.window_start, window_end = excluded.window_end, "
    "area_m2 = excluded.area_m2, n_pixels = excluded.n_pixels, "
    "confidence = excluded.confidence, n_obs = excluded.n_obs, "
    "evidence_before_json = excluded.evidence_before_json, "
    "evidence_after_json = excluded.evidence_after_json, simulated = excluded.simulated, "
    "geometry_wkt = excluded.geometry_wkt, updated_at = excluded.updated_at"
)


class DetectionTables(ReviewTables):
    """``Store``'s detections, each handed its latest review (hence built on the reviews)."""

    def put_detections(
        self, aoi_id: str, detections: Iterable[Detection], *, run_id: int | None = None
    ) -> DetectionChanges:
        """Make the AOI's stored detections equal ``detections``; return what changed.

        Detections keep their ids across runs (ids derive from content), so a stored
        detection whose status or type differs is updated and its history gets a row; one
        no longer produced is withdrawn (deleted, with a history row saying so).
        """
        now = _rows.to_iso(_rows.utc_now())
        changes: dict[str, list[str]] = {
            k: [] for k in ("new", "confirmed", "rejected", "changed", "withdrawn")
        }
        with self.transaction():
            old = {
                row["id"]: row
                for row in self._execute(
                    "SELECT * FROM detections WHERE aoi_id = ?", (aoi_id,)
                ).fetchall()
            }
            seen: set[str] = set()
            for det in detections:
                if det.aoi != aoi_id:
                    raise ValueError(f"detection {det.id} belongs to AOI {det.aoi}, not {aoi_id}")
                row = _rows.detection_to_row(det)
                seen.add(det.id)
                before = old.get(det.id)
                if before is None:
                    changes["new"].append(det.id)
                    if det.status == "confirmed":
                        changes["confirmed"].append(det.id)
                elif before["status"] != det.status:
                    key = det.status if det.status in ("confirmed", "rejected") else "changed"
                    changes[key].append(det.id)
                elif before["change_type"] != det.change_type:
                    changes["changed"].append(det.id)
                if before is not None and all(before[k] == v for k, v in row.items()):
                    continue
                self._execute(_DETECTION_UPSERT, {**row, "now": now})
                if before is None or (before["status"], before["change_type"]) != (
                    det.status,
                    det.change_type,
                ):
                    self._execute(
                        "INSERT INTO detection_history (detection_id, aoi_id, run_id, status, "
                        "change_type, at) VALUES (?, ?, ?, ?, ?, ?)",
                        (det.id, aoi_id, run_id, det.status, det.change_type, now),
                    )
            for gone in sorted(set(old) - seen):
                changes["withdrawn"].append(gone)
                self._execute("DELETE FROM detections WHERE id = ?", (gone,))
                self._execute(
                    "INSERT INTO detection_history (detection_id, aoi_id, run_id, status, "
                    "change_type, at) VALUES (?, ?, ?, 'withdrawn', ?, ?)",
                    (gone, aoi_id, run_id, old[gone]["change_type"], now),
                )
        return DetectionChanges(**{k: tuple(v) for k, v in changes.items()})

    def detections(
        self,
        *,
        aoi_id: str | None = None,
        status: str | Iterable[str] | None = None,
        since: dt.date | None = None,
    ) -> list[Detection]:
        """Stored detections by AOI, then first-seen date, then id.

        ``status`` is one status or several; ``since`` keeps those first seen on or after it.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if aoi_id is not None:
            clauses.append("aoi_id = ?")
            params.append(aoi_id)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if since is not None:
            clauses.append("first_seen >= ?")
            params.append(since.isoformat())
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._execute(
            f"SELECT * FROM detections {where} ORDER BY aoi_id, first_seen, id", params
        ).fetchall()
        reviews = self.reviews(aoi_id=aoi_id)
        return [
            replace(_rows.detection_from_row(row), review=reviews.get(row["id"])) for row in rows
        ]

    def detection(self, detection_id: str) -> Detection | None:
        """One stored detection with its review, or None."""
        row = self._execute("SELECT * FROM detections WHERE id = ?", (detection_id,)).fetchone()
        if row is None:
            return None
        return replace(_rows.detection_from_row(row), review=self.review(detection_id))

    def detection_counts(self, aoi_id: str) -> dict[str, dict[str, int]]:
        """``{status: {change_type: n}}`` of the AOI's stored detections, without reading them."""
        rows = self._execute(
            "SELECT status, change_type, COUNT(*) AS n FROM detections WHERE aoi_id = ? "
            "GROUP BY status, change_type ORDER BY status, change_type",
            (aoi_id,),
        ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for row in rows:
            counts.setdefault(row["status"], {})[row["change_type"]] = int(row["n"])
        return counts

    def detection_history(
        self, detection_id: str
    ) -> list[tuple[str, str, int | None, dt.datetime]]:
        """``(status, change_type, run_id, at)`` of every change to a detection, oldest first."""
        rows = self._execute(
            "SELECT status, change_type, run_id, at FROM detection_history "
            "WHERE detection_id = ? ORDER BY history_id",
            (detection_id,),
        ).fetchall()
        return [(r["status"], r["change_type"], r["run_id"], _rows.from_iso(r["at"])) for r in rows]
