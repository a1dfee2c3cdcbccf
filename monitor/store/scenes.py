"""Stored scenes with their per-AOI observations (``scenes``, ``observations``)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from typing import get_args

from monitor.models import Observation, ObservationStatus, Scene
from monitor.store import rows as _rows
from monitor.store.connection import Connection

__all__ = ["SceneTables"]

_STATUSES: frozenset[str] = frozenset(get_args(ObservationStatus))

_SCENE_COLUMNS = (
    "id",
    "collection",
    "datetime",
    "date",
    "platform",
    "acquisition",
    "mgrs_tile",
    "epsg",
    "processing_baseline",
    "cloud_cover",
    "assets_json",
    "rule_json",
    "simulated",
    "item_href",
    "source",
    "footprint_wkt",
    "updated",
)
_OBSERVATION_COLUMNS = (
    "aoi_id",
    "scene_id",
    "acquisition",
    "datetime",
    "collection",
    "status",
    "reason",
    "clear_fraction",
    "rule_json",
    "simulated",
    "attempts",
)


def _upsert_sql(
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    extra_insert: Sequence[str],
    extra_update: Sequence[str],
) -> str:
    """``INSERT ... ON CONFLICT(key) DO UPDATE`` over named parameters.

    ``extra_insert`` columns are set only on insert (first-seen times), ``extra_update`` on
    both (last-stored times).
    """
    all_columns = [*columns, *extra_insert, *extra_update]
    updates = [c for c in (*columns, *extra_update) if c not in key]
    return (
        f"INSERT INTO {table} ({', '.join(all_columns)}) "
        f"VALUES ({', '.join(':' + c for c in all_columns)}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in updates)
    )


_SCENE_UPSERT = _upsert_sql(
    "scenes", _SCENE_COLUMNS, ("id", "collection"), ("first_seen_at",), ("stored_at",)
)
_OBSERVATION_UPSERT = _upsert_sql(
    "observations", _OBSERVATION_COLUMNS, ("aoi_id", "scene_id"), (), ("updated_at",)
)


def _as_day(value: dt.date) -> dt.date:
    # A datetime given as a day bound means its UTC day.
    if isinstance(value, dt.datetime):
        return value.astimezone(_rows.UTC).date() if value.tzinfo else value.date()
    return value


class SceneTables(Connection):
    """``Store``'s scenes (one row per item and collection) and what each AOI made of them."""

    def put_scenes(self, scenes: Iterable[Scene]) -> int:
        """Insert or update scenes by (id, collection), in one transaction.

        Returns
        -------
        int
            How many of them were not stored before (``first_seen_at`` is kept for the others).
        """
        now = _rows.to_iso(_rows.utc_now())
        new = 0
        with self.transaction():
            for scene in scenes:
                row = _rows.scene_to_row(scene)
                known = self._execute(
                    "SELECT 1 FROM scenes WHERE id = ? AND collection = ?",
                    (scene.id, scene.collection),
                ).fetchone()
                new += known is None
                self._execute(_SCENE_UPSERT, {**row, "first_seen_at": now, "stored_at": now})
        return new

    def get_scene(self, scene_id: str, collection: str | None = None) -> Scene | None:
        """The stored scene ``scene_id`` (in ``collection`` when given), or None.

        Raises
        ------
        LookupError
            Without ``collection``, when two collections hold an item of that id.
        """
        if collection is None:
            rows = self._execute(
                "SELECT * FROM scenes WHERE id = ? ORDER BY collection", (scene_id,)
            ).fetchall()
        else:
            rows = self._execute(
                "SELECT * FROM scenes WHERE id = ? AND collection = ?", (scene_id, collection)
            ).fetchall()
        if len(rows) > 1:
            names = ", ".join(r["collection"] for r in rows)
            raise LookupError(
                f"scene {scene_id} is in several collections ({names}); pass collection="
            )
        return _rows.scene_from_row(rows[0]) if rows else None

    def scenes(
        self,
        since: dt.date | None = None,
        until: dt.date | None = None,
        *,
        collection: str | None = None,
    ) -> list[Scene]:
        """Stored scenes whose UTC day lies in ``[since, until]``, by datetime then id."""
        clauses, params = [], []
        if since is not None:
            clauses.append("date >= ?")
            params.append(_as_day(since).isoformat())
        if until is not None:
            clauses.append("date <= ?")
            params.append(_as_day(until).isoformat())
        if collection is not None:
            clauses.append("collection = ?")
            params.append(collection)
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        rows = self._execute(
            f"SELECT * FROM scenes {where}ORDER BY datetime, id, collection", params
        ).fetchall()
        return [_rows.scene_from_row(row) for row in rows]

    def put_observations(self, observations: Iterable[Observation]) -> None:
        """Insert or replace observations by (aoi_id, scene_id), in one transaction.

        Raises
        ------
        ValueError
            An unknown status, or an observation whose AOI or scene is not stored (store them
            with ``put_aoi``/``put_scenes`` first); nothing is written then.
        """
        now = _rows.to_iso(_rows.utc_now())
        with self.transaction():
            for obs in observations:
                if obs.status not in _STATUSES:
                    raise ValueError(
                        f"observation {obs.aoi_id}/{obs.scene_id}: status "
                        f"{obs.status!r} is not one of {sorted(_STATUSES)}"
                    )
                try:
                    self._execute(
                        _OBSERVATION_UPSERT, {**_rows.observation_to_row(obs), "updated_at": now}
                    )
                except sqlite3.IntegrityError as exc:
                    raise ValueError(
                        f"observation {obs.aoi_id}/{obs.scene_id}: AOI {obs.aoi_id!r} or scene "
                        f"{obs.scene_id!r} in {obs.collection!r} is not stored ({exc})"
                    ) from None

    def observations(
        self,
        aoi_id: str,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        status: str | Iterable[str] | None = None,
    ) -> list[Observation]:
        """The AOI's observations ordered by datetime (then scene id).

        ``since``/``until`` are inclusive UTC days (a ``datetime`` is an exact inclusive
        instant); ``status`` is one status or several.
        """
        clauses, params = ["aoi_id = ?"], [aoi_id]
        if since is not None:
            text, _ = _rows.bound_iso(since, upper=False)
            clauses.append("datetime >= ?")
            params.append(text)
        if until is not None:
            text, strict = _rows.bound_iso(until, upper=True)
            clauses.append("datetime < ?" if strict else "datetime <= ?")
            params.append(text)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            unknown = set(wanted) - _STATUSES
            if unknown:
                raise ValueError(
                    f"unknown observation status {sorted(unknown)}; known: {sorted(_STATUSES)}"
                )
            clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        rows = self._execute(
            f"SELECT * FROM observations WHERE {' AND '.join(clauses)} ORDER BY datetime, scene_id",
            params,
        ).fetchall()
        return [_rows.observation_from_row(row) for row in rows]

    def observation(self, aoi_id: str, scene_id: str) -> Observation | None:
        """The observation of ``scene_id`` for ``aoi_id``, or None."""
        row = self._execute(
            "SELECT * FROM observations WHERE aoi_id = ? AND scene_id = ?", (aoi_id, scene_id)
        ).fetchone()
        return None if row is None else _rows.observation_from_row(row)
