"""Stored AOIs: each outline with its grid history (``aois``, ``aoi_versions``)."""

from __future__ import annotations

import datetime as dt

from monitor.models import Aoi, Grid
from monitor.store import rows as _rows
from monitor.store.connection import Connection

__all__ = ["AoiTables"]


class AoiTables(Connection):
    """``Store``'s AOIs: an edited outline is a new version with its own grid."""

    def put_aoi(self, aoi: Aoi) -> bool:
        """Store or update ``aoi``; True when it is new or its outline (hence grid) changed.

        A changed ``geometry_hash`` or grid appends a row to the AOI's version history
        (``aoi_versions``); name, description and other properties are simply updated.
        Storing an identical AOI writes nothing.
        """
        row = _rows.aoi_to_row(aoi)
        now = _rows.to_iso(_rows.utc_now())
        with self.transaction():
            old = self._execute("SELECT * FROM aois WHERE id = ?", (aoi.id,)).fetchone()
            if old is None:
                self._execute(
                    "INSERT INTO aois (id, name, kind, description, sources_json, "
                    "geometry_geojson, geometry_hash, grid_json, path, added_at, updated_at) "
                    "VALUES (:id, :name, :kind, :description, :sources_json, :geometry_geojson, "
                    ":geometry_hash, :grid_json, :path, :now, :now)",
                    {**row, "now": now},
                )
                geometry_changed = True
            else:
                geometry_changed = (
                    old["geometry_hash"] != row["geometry_hash"]
                    or _rows.grid_from_json(old["grid_json"]) != aoi.grid
                )
                if any(old[key] != value for key, value in row.items()):
                    self._execute(
                        "UPDATE aois SET name = :name, kind = :kind, description = :description, "
                        "sources_json = :sources_json, geometry_geojson = :geometry_geojson, "
                        "geometry_hash = :geometry_hash, grid_json = :grid_json, path = :path, "
                        "updated_at = :now WHERE id = :id",
                        {**row, "now": now},
                    )
            if geometry_changed:
                self._execute(
                    "INSERT INTO aoi_versions (aoi_id, geometry_hash, grid_json, first_seen_at) "
                    "VALUES (?, ?, ?, ?)",
                    (aoi.id, row["geometry_hash"], row["grid_json"], now),
                )
        return geometry_changed

    def get_aoi(self, aoi_id: str) -> Aoi | None:
        """The stored AOI ``aoi_id``, or None."""
        row = self._execute("SELECT * FROM aois WHERE id = ?", (aoi_id,)).fetchone()
        return None if row is None else _rows.aoi_from_row(row)

    def list_aois(self) -> list[Aoi]:
        """Every stored AOI, by id."""
        rows = self._execute("SELECT * FROM aois ORDER BY id").fetchall()
        return [_rows.aoi_from_row(row) for row in rows]

    def aoi_versions(self, aoi_id: str) -> list[tuple[str, Grid, dt.datetime]]:
        """The AOI's outline history, oldest first: ``(geometry_hash, grid, first_seen_at)``."""
        rows = self._execute(
            "SELECT geometry_hash, grid_json, first_seen_at FROM aoi_versions "
            "WHERE aoi_id = ? ORDER BY version_id",
            (aoi_id,),
        ).fetchall()
        return [
            (
                r["geometry_hash"],
                _rows.grid_from_json(r["grid_json"]),
                _rows.from_iso(r["first_seen_at"]),
            )
            for r in rows
        ]
