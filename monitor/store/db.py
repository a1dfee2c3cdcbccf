"""The state database: ``<state_dir>/state.db``, SQLite in WAL mode.

``Store`` is the only holder of a ``sqlite3`` connection in the monitor; everything it returns
is a ``monitor.models`` dataclass. The connection runs in autocommit mode
(``isolation_level=None``) and every write goes through ``Store.transaction()``
(``BEGIN IMMEDIATE`` ... ``COMMIT``), so a crash, even ``kill -9``, leaves the database at its
last commit and never half of a logical change. Foreign keys are on and a busy timeout lets
a short write of another process (``monitor review`` during a run) wait instead of failing.

Example
-------
>>> with Store.open(Path("imagery")) as store:            # doctest: +SKIP
...     changed = store.put_aoi(aoi)
...     store.put_scenes(scenes)
...     store.put_observations(observations)
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, get_args

from monitor.errors import StateError
from monitor.models import (
    AlertEvent,
    Aoi,
    ClaimRecord,
    Detection,
    DetectionChanges,
    DetectorSnapshot,
    Grid,
    Observation,
    ObservationStatus,
    Review,
    RunSummary,
    Scene,
)
from monitor.store import rows as _rows
from monitor.store._paths import DB_NAME, ensure_state_dir
from monitor.store.migrations import MIGRATIONS, Migration, current_version, migrate

__all__ = ["Store", "DEFAULT_BUSY_TIMEOUT_S"]

#: How long a write waits for another process's write to finish before failing.
DEFAULT_BUSY_TIMEOUT_S = 30.0

_SQLITE_HEADER = b"SQLite format 3\x00"
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


def _check_database_file(db_path: Path) -> None:
    """Refuse a state.db that is not a regular file or not SQLite, before SQLite touches it."""
    try:
        if not db_path.is_file():
            raise StateError(f"{db_path}: the state database is not a regular file")
        with db_path.open("rb") as fh:
            header = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StateError(f"{db_path}: cannot read the state database: {exc.strerror}") from None
    # An empty file is what SQLite itself leaves when creation was interrupted: a new database.
    if header and header != _SQLITE_HEADER:
        raise StateError(
            f"{db_path}: not a SQLite database (left untouched; move it aside to start a new state)"
        )


class Store:
    """The monitor's state: AOIs and their grid history, scenes, observations, runs.

    Open with ``Store.open(state_dir)``; use as a context manager to close it. One ``Store``
    belongs to one thread.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        # Use Store.open(): it checks the folder and file and migrates first.
        self._conn = conn
        self._conn.row_factory = sqlite3.Row
        self.path = path
        self._depth = 0

    # --- opening and closing ------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        state_dir: Path,
        *,
        create: bool = True,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> Store:
        """Open (and when ``create``, make) the state under ``state_dir`` and migrate it.

        Parameters
        ----------
        state_dir
            Folder holding ``state.db``; created with its parents when ``create`` is true.
        create
            False to require an existing state (for commands that only read it).
        busy_timeout_s
            How long a write waits for another process's write lock.
        migrations
            The schema steps to apply; tests pass their own, others keep the default.

        Raises
        ------
        StateError
            Naming the path: the folder is a file, cannot be created or written, the database
            is missing (``create=False``), not SQLite, not the monitor's, corrupt, or was
            written by a newer monitor. Nothing is created or changed in these cases.
        """
        folder = ensure_state_dir(Path(state_dir), create=create)
        db_path = folder / DB_NAME
        if db_path.exists() or db_path.is_symlink():
            _check_database_file(db_path)
        elif not create:
            raise StateError(
                f"{db_path}: no state database here (nothing has run with this state yet)"
            )
        try:
            conn = sqlite3.connect(os.fspath(db_path), timeout=busy_timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(f"{db_path}: cannot open the state database: {exc}") from None
        try:
            store = cls._configure_and_migrate(conn, db_path, busy_timeout_s, migrations)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _configure_and_migrate(
        cls,
        conn: sqlite3.Connection,
        db_path: Path,
        busy_timeout_s: float,
        migrations: Sequence[Migration],
    ) -> Store:
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            # Reading the schema is the first real read: a corrupt file fails here, unchanged.
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if tables and "schema_migrations" not in tables:
                raise StateError(
                    f"{db_path}: a SQLite database, but not the monitor's state "
                    f"(tables {', '.join(sorted(tables)[:5])}); left untouched"
                )
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StateError(
                    f"{db_path}: cannot switch the state database to WAL mode "
                    f"(got {mode}); is the folder on a network share?"
                )
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn, db_path, migrations)
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{db_path}: cannot use the state database: {exc}") from None
        return cls(conn, db_path)

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL when the last one closes)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def state_dir(self) -> Path:
        return self.path.parent

    @property
    def schema_version(self) -> int:
        """The highest migration recorded in the database."""
        with self._errors("reading the schema version"):
            return current_version(self._conn)

    # --- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite's own failures (locked, corrupt, disk full) into one-line StateErrors."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{self.path}: {doing}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic change: ``BEGIN IMMEDIATE`` ... ``COMMIT``, ``ROLLBACK`` on any error.

        Re-entrant: only the outermost level begins and commits. An inner level is a
        SAVEPOINT, so an error raised inside it undoes just that level's writes; if the caller
        lets the error propagate, the outer level rolls back everything.
        """
        depth = self._depth
        savepoint = f"store_level_{depth}"
        with self._errors("starting a transaction"):
            self._conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            with self._errors("rolling back"):
                if depth == 0:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO {savepoint}")
                    self._conn.execute(f"RELEASE {savepoint}")
            raise
        self._depth -= 1
        try:
            with self._errors("committing"):
                self._conn.execute("COMMIT" if depth == 0 else f"RELEASE {savepoint}")
        except BaseException:
            if depth == 0 and self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        with self._errors("querying"):
            return self._conn.execute(sql, params)

    # --- AOIs ---------------------------------------------------------------------------------

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

    # --- scenes -------------------------------------------------------------------------------

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

    # --- observations -------------------------------------------------------------------------

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

    # --- detector state -----------------------------------------------------------------------

    def put_detector_state(self, snapshot: DetectorSnapshot) -> None:
        """Store (replace) the AOI's detector state; the AOI must be stored.

        Call it inside the same ``transaction()`` as the observations and detections of the
        scenes the state has seen, so a crash leaves all three at the same scene.
        """
        import hashlib

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
        import hashlib

        if not with_arrays:
            row = self._execute(
                "SELECT aoi_id, geometry_hash, detector_version, params_json, last_datetime, "
                "n_scenes, coverage_json FROM detector_state WHERE aoi_id = ?",
                (aoi_id,),
            ).fetchone()
            if row is None:
                return None
            return DetectorSnapshot(
                aoi_id=row["aoi_id"],
                geometry_hash=row["geometry_hash"],
                detector_version=row["detector_version"],
                params=_rows.loads(row["params_json"]) or {},
                last_datetime=_rows.from_iso_or_none(row["last_datetime"]),
                n_scenes=int(row["n_scenes"]),
                arrays={},
                coverage=_rows.loads(row["coverage_json"]) or {},
            )
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
        return DetectorSnapshot(
            aoi_id=row["aoi_id"],
            geometry_hash=row["geometry_hash"],
            detector_version=row["detector_version"],
            params=_rows.loads(row["params_json"]) or {},
            last_datetime=_rows.from_iso_or_none(row["last_datetime"]),
            n_scenes=int(row["n_scenes"]),
            arrays=_rows.arrays_from_blob(blob),
            coverage=_rows.loads(row["coverage_json"]) or {},
        )

    def delete_detector_state(self, aoi_id: str) -> None:
        """Forget the AOI's detector state and detections (before a rebuild)."""
        with self.transaction():
            self._execute("DELETE FROM detector_state WHERE aoi_id = ?", (aoi_id,))
            self._execute("DELETE FROM detections WHERE aoi_id = ?", (aoi_id,))

    # --- detections -----------------------------------------------------------------------------

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

    # --- analysts' reviews and claim checks ----------------------------------------------------

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
        return {row["detection_id"]: _review_from_row(row) for row in rows}

    def review(self, detection_id: str) -> Review | None:
        """The latest review of a detection, or None."""
        history = self.review_history(detection_id)
        return history[-1] if history else None

    def review_history(self, detection_id: str) -> list[Review]:
        """Every review of a detection, oldest first."""
        rows = self._execute(
            "SELECT * FROM reviews WHERE detection_id = ? ORDER BY review_id", (detection_id,)
        ).fetchall()
        return [_review_from_row(row) for row in rows]

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

    # --- what a run still owes: exports and alerts ---------------------------------------------

    def mark_pending(self, step: str, run_id: int | None) -> None:
        """Record that ``step`` (``"exports"``) is owed; call in the transaction that stores
        what makes it owed, so a kill before the step leaves it owed for the next run."""
        with self.transaction():
            self._execute(
                "INSERT INTO pending_steps (step, run_id, at) VALUES (?, ?, ?) "
                "ON CONFLICT (step) DO UPDATE SET run_id = excluded.run_id, "
                "at = excluded.at",
                (step, run_id, _rows.to_iso(_rows.utc_now())),
            )

    def pending(self, step: str) -> bool:
        """Whether ``step`` is owed (marked and not cleared since)."""
        row = self._execute("SELECT 1 FROM pending_steps WHERE step = ?", (step,)).fetchone()
        return row is not None

    def clear_pending(self, step: str) -> None:
        """``step`` was done: nothing of it is owed any more."""
        with self.transaction():
            self._execute("DELETE FROM pending_steps WHERE step = ?", (step,))

    def queue_alerts(self, run_id: int | None, events: Iterable[AlertEvent]) -> int:
        """Put alert events in the outbox (in the detections' transaction); return how many."""
        n = 0
        with self.transaction():
            for event in events:
                row = _rows.detection_to_row(event.detection)
                self._execute(
                    "INSERT INTO alert_outbox (run_id, kind, detection_json, previous_status, "
                    "previous_change_type) VALUES (?, ?, ?, ?, ?)",
                    (
                        run_id,
                        event.kind,
                        _rows.dumps(row),
                        event.previous_status,
                        event.previous_change_type,
                    ),
                )
                n += 1
        return n

    def queued_alerts(self) -> list[tuple[int, int | None, AlertEvent]]:
        """The outbox, oldest first: ``(seq, run_id, event)``; ``seq`` for ``clear_alerts``."""
        rows = self._execute("SELECT * FROM alert_outbox ORDER BY seq").fetchall()
        return [
            (
                int(r["seq"]),
                r["run_id"],
                AlertEvent(
                    r["kind"],
                    _rows.detection_from_row(_rows.loads(r["detection_json"])),
                    r["previous_status"],
                    r["previous_change_type"],
                ),
            )
            for r in rows
        ]

    def clear_alerts(self, up_to_seq: int) -> None:
        """Empty the outbox up to ``up_to_seq`` (the events were written to an alerts file)."""
        with self.transaction():
            self._execute("DELETE FROM alert_outbox WHERE seq <= ?", (int(up_to_seq),))

    # --- runs ---------------------------------------------------------------------------------

    def start_run(self, command: str, argv: Sequence[str]) -> int:
        """Record the start of a run (time, host, pid); return its id for ``finish_run``.

        A run that never finishes (killed) keeps ``finished_at`` and ``exit_code`` None.
        """
        with self.transaction():
            cursor = self._execute(
                "INSERT INTO runs (command, argv_json, started_at, host, pid) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    command,
                    _rows.dumps([str(a) for a in argv]),
                    _rows.to_iso(_rows.utc_now()),
                    socket.gethostname(),
                    os.getpid(),
                ),
            )
            run_id = cursor.lastrowid
        assert run_id is not None
        return int(run_id)

    def finish_run(
        self,
        run_id: int,
        *,
        exit_code: int,
        counts: Mapping[str, int],
        per_aoi: Mapping[str, Mapping[str, Any]],
        errors: Sequence[str],
    ) -> RunSummary:
        """Record how run ``run_id`` ended and return its summary.

        ``per_aoi`` values are stored as JSON: numpy scalars, dates and paths become plain
        numbers and strings.

        Raises
        ------
        ValueError
            No run ``run_id`` was started in this state.
        """
        with self.transaction():
            cursor = self._execute(
                "UPDATE runs SET finished_at = ?, exit_code = ?, counts_json = ?, "
                "per_aoi_json = ?, "
                "errors_json = ? WHERE id = ?",
                (
                    _rows.to_iso(_rows.utc_now()),
                    int(exit_code),
                    _rows.dumps({str(k): int(v) for k, v in counts.items()}),
                    _rows.dumps({str(k): dict(v) for k, v in per_aoi.items()}),
                    _rows.dumps([str(e) for e in errors]),
                    run_id,
                ),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"{self.path}: no run {run_id} to finish")
        summary = self._run(run_id)
        assert summary is not None
        return summary

    def _run(self, run_id: int) -> RunSummary | None:
        row = self._execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else _run_from_row(row)

    def last_run(self) -> RunSummary | None:
        """The most recently started run (finished or not), or None."""
        runs = self.runs(limit=1)
        return runs[0] if runs else None

    def runs(self, limit: int = 20) -> list[RunSummary]:
        """The last ``limit`` runs, newest first."""
        rows = self._execute(
            "SELECT * FROM runs ORDER BY id DESC LIMIT ?", (int(limit),)
        ).fetchall()
        return [_run_from_row(row) for row in rows]


def _review_from_row(row: Mapping[str, Any]) -> Review:
    return Review(
        detection_id=row["detection_id"],
        verdict=row["verdict"],
        reviewer=row["reviewer"],
        reviewed_at=_rows.from_iso(row["reviewed_at"]),
        note=row["note"],
        source=row["source"],
    )


def _as_day(value: dt.date) -> dt.date:
    # A datetime given as a day bound means its UTC day.
    if isinstance(value, dt.datetime):
        return value.astimezone(_rows.UTC).date() if value.tzinfo else value.date()
    return value


def _run_from_row(row: Mapping[str, Any]) -> RunSummary:
    return RunSummary(
        run_id=int(row["id"]),
        command=row["command"],
        started_at=_rows.from_iso(row["started_at"]),
        finished_at=_rows.from_iso_or_none(row["finished_at"]),
        exit_code=row["exit_code"],
        counts={k: int(v) for k, v in _rows.loads(row["counts_json"]).items()},
        per_aoi=_rows.loads(row["per_aoi_json"]),
        errors=tuple(_rows.loads(row["errors_json"])),
    )
