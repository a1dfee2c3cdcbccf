"""Ordered schema migrations of the state database.

``MIGRATIONS`` lists ``(version, name, step)`` in ascending version order; ``step`` is SQL text
(one or more statements) or a callable taking the ``sqlite3.Connection``. Table
``schema_migrations(version, name, applied_at)`` records what has run. ``migrate`` applies each
missing migration in ONE transaction together with its record (``BEGIN IMMEDIATE`` ...
``COMMIT``): a failure rolls back both, so the database stays at the previous version with no
half-made table (SQLite's DDL is transactional).

Adding a table in a later issue
-------------------------------
Append one entry; never edit or reorder an entry that has shipped, since databases in the field
already recorded it::

    MIGRATIONS.append((2, "detections", '''
        CREATE TABLE detections (
            id TEXT PRIMARY KEY,
            aoi_id TEXT NOT NULL REFERENCES aois(id),
            ...
        );
        CREATE INDEX detections_aoi ON detections (aoi_id, first_seen);
    '''))

(or add the tuple inside the list literal below). Rules for a step:

- Statements run one by one through ``execute`` (``executescript`` would COMMIT on its own and
  break the one-transaction guarantee); split on ``;`` with ``sqlite3.complete_statement``, so
  triggers and string literals holding ``;`` are fine.
- No ``BEGIN``/``COMMIT``/``VACUUM`` and no ``PRAGMA journal_mode``/``foreign_keys``: those
  cannot run inside a transaction. A table rebuild (SQLite's ALTER is limited) runs with
  foreign keys still on: create ``new_x``, copy, drop ``x``, rename ``new_x`` to ``x``, in that
  order, and make sure no row is orphaned.
- A callable step gets the connection inside the open transaction and must not commit.
- Store datetimes as the store does: fixed-width ISO 8601 UTC ending in ``Z``.

Then give ``Store`` the methods that read and write the new table, converting rows to
``monitor.models`` dataclasses at the edge. A database written by a newer monitor (a version
above the last one listed here) is refused with ``StateError``; it is never downgraded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.errors import StateError
from monitor.store.rows import to_iso, utc_now

__all__ = [
    "Migration",
    "MIGRATIONS",
    "latest_version",
    "current_version",
    "migrate",
    "split_statements",
]

#: ``(version, name, step)``; step is SQL text or ``callable(conn)``.
Migration = tuple[int, str, "str | Callable[[sqlite3.Connection], None]"]

_V1_INITIAL = """
CREATE TABLE aois (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT,
    description TEXT,
    sources_json TEXT NOT NULL DEFAULT '[]',
    geometry_geojson TEXT NOT NULL,
    geometry_hash TEXT NOT NULL,
    -- {"epsg", "left", "top", "width", "height", "res_m"}
    grid_json TEXT NOT NULL,
    path TEXT,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row each time an AOI's outline (hence its grid) changes, oldest first; the same hash may
-- come back when an edit is undone.
CREATE TABLE aoi_versions (
    version_id INTEGER PRIMARY KEY,
    aoi_id TEXT NOT NULL REFERENCES aois(id) ON DELETE CASCADE,
    geometry_hash TEXT NOT NULL,
    grid_json TEXT NOT NULL,
    first_seen_at TEXT NOT NULL
);
CREATE INDEX aoi_versions_aoi ON aoi_versions (aoi_id, version_id);

-- STAC item ids are unique within a collection only, so the key holds both.
CREATE TABLE scenes (
    id TEXT NOT NULL,
    collection TEXT NOT NULL,
    datetime TEXT NOT NULL,
    date TEXT NOT NULL,
    platform TEXT NOT NULL,
    acquisition TEXT NOT NULL,
    mgrs_tile TEXT,
    epsg INTEGER,
    processing_baseline TEXT,
    cloud_cover REAL,
    assets_json TEXT NOT NULL,
    rule_json TEXT NOT NULL,
    simulated INTEGER NOT NULL DEFAULT 0,
    item_href TEXT,
    source TEXT NOT NULL DEFAULT '',
    footprint_wkt TEXT,
    updated TEXT,
    first_seen_at TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (id, collection)
);
CREATE INDEX scenes_date ON scenes (date);
CREATE INDEX scenes_acquisition ON scenes (acquisition);

CREATE TABLE observations (
    aoi_id TEXT NOT NULL REFERENCES aois(id) ON DELETE CASCADE,
    scene_id TEXT NOT NULL,
    acquisition TEXT NOT NULL,
    datetime TEXT NOT NULL,
    collection TEXT NOT NULL,
    -- pending, used, skipped, failed: checked in Python so a later status needs no rebuild
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    clear_fraction REAL,
    rule_json TEXT,
    simulated INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (aoi_id, scene_id),
    FOREIGN KEY (scene_id, collection) REFERENCES scenes (id, collection)
);
CREATE INDEX observations_aoi_datetime ON observations (aoi_id, datetime);
CREATE INDEX observations_aoi_acquisition ON observations (aoi_id, acquisition);
CREATE INDEX observations_scene ON observations (scene_id, collection);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    argv_json TEXT NOT NULL DEFAULT '[]',
    started_at TEXT NOT NULL,
    finished_at TEXT,
    exit_code INTEGER,
    counts_json TEXT NOT NULL DEFAULT '{}',
    per_aoi_json TEXT NOT NULL DEFAULT '{}',
    errors_json TEXT NOT NULL DEFAULT '[]',
    host TEXT,
    pid INTEGER
);
"""

_V2_DETECTION = """
-- One row per AOI: the detector's per-pixel state after the scenes it has seen, saved
-- atomically with the observations and detections of the same scenes.
CREATE TABLE detector_state (
    aoi_id TEXT PRIMARY KEY REFERENCES aois(id) ON DELETE CASCADE,
    geometry_hash TEXT NOT NULL,
    detector_version TEXT NOT NULL,
    params_json TEXT NOT NULL,
    last_datetime TEXT,
    n_scenes INTEGER NOT NULL,
    -- numpy .npz (compressed) of the state's arrays, and its sha256 to catch corruption.
    arrays BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE detections (
    id TEXT PRIMARY KEY,
    aoi_id TEXT NOT NULL REFERENCES aois(id) ON DELETE CASCADE,
    change_type TEXT NOT NULL,
    status TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    confirmed_on TEXT,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    area_m2 REAL NOT NULL,
    n_pixels INTEGER NOT NULL,
    confidence REAL NOT NULL,
    n_obs INTEGER NOT NULL,
    evidence_before_json TEXT NOT NULL,
    evidence_after_json TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    -- EPSG:4326
    geometry_wkt TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX detections_aoi ON detections (aoi_id, first_seen);
CREATE INDEX detections_status ON detections (status);

-- Every status or type a detection has had, and the run that set it.
CREATE TABLE detection_history (
    history_id INTEGER PRIMARY KEY,
    detection_id TEXT NOT NULL,
    aoi_id TEXT NOT NULL,
    run_id INTEGER,
    status TEXT NOT NULL,
    change_type TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX detection_history_id ON detection_history (detection_id, history_id);
"""

_V3_COVERAGE = """
-- What the detector can speak for, derived from the state when it is stored (modelled share,
-- periods without a clear observation), so `monitor status` need not load the arrays.
ALTER TABLE detector_state ADD COLUMN coverage_json TEXT NOT NULL DEFAULT '{}';
"""

_V4_POST_RUN = """
-- Post-run steps owed to the analyst, written in the same transaction as the detections they
-- follow from, so a run killed before its exports or alerts leaves them owed, not lost.
CREATE TABLE pending_steps (
    step TEXT PRIMARY KEY,     -- 'exports'
    run_id INTEGER,            -- the run that made the step owed
    at TEXT NOT NULL
);

-- Alert events not yet written to an alerts file (the transactional outbox).
CREATE TABLE alert_outbox (
    seq INTEGER PRIMARY KEY,
    run_id INTEGER,
    kind TEXT NOT NULL,
    detection_json TEXT NOT NULL,  -- the record as told (a withdrawn one is no longer stored)
    previous_status TEXT,
    previous_change_type TEXT
);
"""

_V5_REVIEWS_CLAIMS = """
-- Analysts' verdicts on detections (monitor review), every one kept: the latest per detection
-- is its review. Keyed by the stable detection id, with no foreign key, so a review survives
-- re-runs and rebuilds (and a detection withdrawn and produced again finds its review).
CREATE TABLE reviews (
    review_id INTEGER PRIMARY KEY,
    detection_id TEXT NOT NULL,
    aoi_id TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('verified', 'false_alarm', 'unsure')),
    reviewer TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reviews_detection ON reviews (detection_id, review_id);

-- Claim checks (monitor claim): the claim as given and what the evidence supported, kept so
-- the AOI's report shows them.
CREATE TABLE claims (
    claim_id INTEGER PRIMARY KEY,
    aoi_id TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    claim_json TEXT NOT NULL,
    result_json TEXT NOT NULL
);
CREATE INDEX claims_aoi ON claims (aoi_id, claim_id);
"""

MIGRATIONS: list[Migration] = [
    (1, "initial: aois, aoi_versions, scenes, observations, runs", _V1_INITIAL),
    (2, "detection: detector_state, detections, detection_history", _V2_DETECTION),
    (3, "detector_state.coverage_json", _V3_COVERAGE),
    (4, "post-run outbox: pending_steps, alert_outbox", _V4_POST_RUN),
    (5, "analyst reviews and claim checks", _V5_REVIEWS_CLAIMS),
]

_CREATE_RECORD_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


def split_statements(sql: str) -> list[str]:
    """Split SQL text into complete statements, keeping ``;`` inside literals and triggers.

    Text after the last complete statement that is only whitespace or comments is dropped;
    anything else left over is an error, so a typo cannot silently skip a statement.
    """
    statements: list[str] = []
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    leftover = pending[:-1]  # the ";" the loop added after the final piece
    if _strip_comments(leftover).strip():
        raise ValueError(
            f"incomplete SQL statement at the end of a migration: {leftover.strip()[:60]!r}"
        )
    # A bare ";" (say, after a comment) is a complete statement with nothing in it.
    return [s for s in statements if _strip_comments(s).strip(" \t\r\n;")]


def _strip_comments(sql: str) -> str:
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return "\n".join(lines)


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """The schema version this code writes: the last migration's, or 0 with none."""
    return migrations[-1][0] if migrations else 0


def current_version(conn: sqlite3.Connection) -> int:
    """The highest version recorded in ``schema_migrations``; 0 when the table is absent."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _check_order(migrations: Sequence[Migration]) -> None:
    versions = [m[0] for m in migrations]
    ascending = all(a < b for a, b in zip(versions, versions[1:], strict=False))
    if not ascending or (versions and versions[0] < 1):
        # A programming error, not a user's: fail loudly with the offending list.
        raise ValueError(f"migration versions must be positive and strictly ascending: {versions}")


def _run_step(conn: sqlite3.Connection, step: str | Callable[[sqlite3.Connection], None]) -> None:
    if callable(step):
        step(conn)
        return
    for statement in split_statements(step):
        conn.execute(statement)


def migrate(
    conn: sqlite3.Connection, where: str | Path, migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Bring the database up to the last of ``migrations``; return the resulting version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) with no open transaction.
    ``where`` names the database in messages. Each migration runs under ``BEGIN IMMEDIATE``
    with its ``schema_migrations`` record and the version is re-read inside that transaction,
    so two processes opening a fresh state at once apply each migration once.

    Raises
    ------
    StateError
        The database is newer than ``migrations`` know, or a migration failed (the database
        is then left at the version before it).
    """
    _check_order(migrations)
    if conn.in_transaction:
        raise RuntimeError("migrate() needs a connection with no open transaction")
    latest = latest_version(migrations)

    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_CREATE_RECORD_TABLE)
        version = current_version(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if version > latest:
        raise StateError(
            f"{where} was written by a newer monitor (schema {version} > {latest}); "
            "upgrade monitor to use it"
        )

    for number, name, step in migrations:
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while this one waited for the write lock.
            version = current_version(conn)
            if number <= version:
                conn.execute("COMMIT")
                continue
            _run_step(conn, step)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, to_iso(utc_now())),
            )
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, Exception) and not isinstance(exc, StateError):
                raise StateError(
                    f"{where}: schema migration {number} ({name}) failed and was rolled back: {exc}"
                ) from exc
            raise
        version = number
    return version
