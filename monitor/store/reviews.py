"""What analysts record: reviews of detections, claim checks (``reviews``, ``claims``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from monitor.models import ClaimRecord, Review
from monitor.store import rows as _rows
from monitor.store.connection import Connection

__all__ = ["ReviewTables"]


class ReviewTables(Connection):
    """``Store``'s analysts' verdicts (every one kept, the latest counts) and claim checks."""

    def put_review(self, review: Review, aoi_id: str) -> None:
        """Record an analyst's verdict; the latest one per detection is its review. Earlier
        ones are kept (who said what, when)."""
        with self.transaction():
            self._execute(
                "INSERT INTO reviews (detection_id, aoi_id, verdict, reviewer, reviewed_at, "
                "note, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    review.detection_id,
                    aoi_id,
                    review.verdict,
                    review.reviewer,
                    _rows.to_iso(review.reviewed_at),
                    review.note,
                    review.source,
                ),
            )

    def reviews(self, *, aoi_id: str | None = None) -> dict[str, Review]:
        """The latest review of each reviewed detection (of one AOI, or all)."""
        where, params = ("WHERE aoi_id = ?", (aoi_id,)) if aoi_id is not None else ("", ())
        rows = self._execute(f"SELECT * FROM reviews {where} ORDER BY review_id", params).fetchall()
        return {row["detection_id"]: _rows.review_from_row(row) for row in rows}

    def review(self, detection_id: str) -> Review | None:
        """The latest review of a detection, or None."""
        history = self.review_history(detection_id)
        return history[-1] if history else None

    def review_history(self, detection_id: str) -> list[Review]:
        """Every review of a detection, oldest first."""
        rows = self._execute(
            "SELECT * FROM reviews WHERE detection_id = ? ORDER BY review_id", (detection_id,)
        ).fetchall()
        return [_rows.review_from_row(row) for row in rows]

    def put_claim(
        self,
        aoi_id: str,
        checked_at: dt.datetime,
        claim: Mapping[str, Any],
        result: Mapping[str, Any],
    ) -> int:
        """Store a claim check (plain JSON data); return its id."""
        with self.transaction():
            cur = self._execute(
                "INSERT INTO claims (aoi_id, checked_at, claim_json, result_json) "
                "VALUES (?, ?, ?, ?)",
                (
                    aoi_id,
                    _rows.to_iso(checked_at),
                    _rows.dumps(dict(claim)),
                    _rows.dumps(dict(result)),
                ),
            )
            return int(cur.lastrowid or 0)

    def claims(self, aoi_id: str | None = None) -> list[ClaimRecord]:
        """Stored claim checks, oldest first (of one AOI, or all)."""
        where, params = ("WHERE aoi_id = ?", (aoi_id,)) if aoi_id is not None else ("", ())
        rows = self._execute(f"SELECT * FROM claims {where} ORDER BY claim_id", params).fetchall()
        return [
            ClaimRecord(
                id=int(r["claim_id"]),
                aoi_id=r["aoi_id"],
                checked_at=_rows.from_iso(r["checked_at"]),
                claim=_rows.loads(r["claim_json"]) or {},
                result=_rows.loads(r["result_json"]) or {},
            )
            for r in rows
        ]
