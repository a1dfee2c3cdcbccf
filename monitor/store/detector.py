"""The detector's stored state per AOI: parameters, coverage, the per-pixel arrays' blob."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from monitor.errors import StateError
from monitor.models import DetectorSnapshot
from monitor.store import rows as _rows
from monitor.store.connection import Connection

__all__ = ["DetectorStateTable"]


class DetectorStateTable(Connection):
    """``Store``'s ``detector_state``: one snapshot per AOI, its arrays checked by sha256."""

    def put_detector_state(self, snapshot: DetectorSnapshot) -> None:
        """Store (replace) the AOI's detector state; the AOI must be stored.

        Call it inside the same ``transaction()`` as the observations and detections of the
        scenes the state has seen, so a crash leaves all three at the same scene.
        """
        blob = _rows.arrays_to_blob(snapshot.arrays)
        with self.transaction():
            self._execute(
                "INSERT INTO detector_state (aoi_id, geometry_hash, detector_version, "
                "params_json, last_datetime, n_scenes, arrays, sha256, updated_at, "
                "coverage_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (aoi_id) DO UPDATE SET "
                "geometry_hash = excluded.geometry_hash, "
                "detector_version = excluded.detector_version, "
                "params_json = excluded.params_json, last_datetime = excluded.last_datetime, "
                "n_scenes = excluded.n_scenes, arrays = excluded.arrays, "
                "sha256 = excluded.sha256, updated_at = excluded.updated_at, "
                "coverage_json = excluded.coverage_json",
                (
                    snapshot.aoi_id,
                    snapshot.geometry_hash,
                    snapshot.detector_version,
                    _rows.dumps(dict(snapshot.params)),
                    _rows.to_iso_or_none(snapshot.last_datetime),
                    int(snapshot.n_scenes),
                    blob,
                    hashlib.sha256(blob).hexdigest(),
                    _rows.to_iso(_rows.utc_now()),
                    _rows.dumps(dict(snapshot.coverage)),
                ),
            )

    def get_detector_state(
        self, aoi_id: str, *, with_arrays: bool = True
    ) -> DetectorSnapshot | None:
        """The AOI's stored detector state, or None.

        ``with_arrays=False`` leaves the per-pixel arrays unread (``arrays`` is empty): what
        a run with nothing new needs to see that it has nothing to do.

        Raises
        ------
        StateError
            The stored arrays do not match their checksum (never used: rebuild the AOI).
        """
        if not with_arrays:
            row = self._execute(
                "SELECT aoi_id, geometry_hash, detector_version, params_json, last_datetime, "
                "n_scenes, coverage_json FROM detector_state WHERE aoi_id = ?",
                (aoi_id,),
            ).fetchone()
            if row is None:
                return None
            return _snapshot(row, {})
        row = self._execute("SELECT * FROM detector_state WHERE aoi_id = ?", (aoi_id,)).fetchone()
        if row is None:
            return None
        blob = bytes(row["arrays"])
        if hashlib.sha256(blob).hexdigest() != row["sha256"]:
            raise StateError(
                f"{self.path}: detector state of AOI {aoi_id} is corrupt "
                "(checksum mismatch); run `monitor rebuild --aoi "
                f"{aoi_id}`"
            )
        return _snapshot(row, _rows.arrays_from_blob(blob))


def _snapshot(row: sqlite3.Row, arrays: dict[str, Any]) -> DetectorSnapshot:
    """The snapshot a ``detector_state`` row holds, with ``arrays`` (empty: not read)."""
    return DetectorSnapshot(
        aoi_id=row["aoi_id"],
        geometry_hash=row["geometry_hash"],
        detector_version=row["detector_version"],
        params=_rows.loads(row["params_json"]) or {},
        last_datetime=_rows.from_iso_or_none(row["last_datetime"]),
        n_scenes=int(row["n_scenes"]),
        arrays=arrays,
        coverage=_rows.loads(row["coverage_json"]) or {},
    )
