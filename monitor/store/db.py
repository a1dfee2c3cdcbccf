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

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from monitor.errors import MissingState, StateError
from monitor.store.aois import AoiTables
from monitor.store.detections import DetectionTables
from monitor.store.detector import DetectorStateTable
from monitor.store.migrations import MIGRATIONS, Migration, current_version, migrate
from monitor.store.paths import DB_NAME, ensure_state_dir
from monitor.store.runs import RunTables
from monitor.store.scenes import SceneTables

__all__ = ["Store", "DEFAULT_BUSY_TIMEOUT_S"]

#: How long a write waits for another process's write to finish before failing.
DEFAULT_BUSY_TIMEOUT_S = 30.0

_SQLITE_HEADER = b"SQLite format 3\x00"


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


class Store(AoiTables, SceneTables, DetectorStateTable, DetectionTables, RunTables):
    """The monitor's state: AOIs and their grid history, scenes, observations, runs.

    Open with ``Store.open(state_dir)``; use as a context manager to close it. One ``Store``
    belongs to one thread. The tables' methods come from the classes it is built on, one
    module per group of tables; the connection and its transactions from ``Connection``.
    """

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
    def open_existing(
        cls, state_dir: Path, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S
    ) -> Store:
        """Open the state under ``state_dir`` for a command that needs one already there.

        Raises
        ------
        MissingState
            When nothing has run with this state yet (``Store.require``).
        StateError
            As ``Store.open(state_dir, create=False)``.
        """
        cls.require(state_dir)
        return cls.open(state_dir, create=False, busy_timeout_s=busy_timeout_s)

    @staticmethod
    def exists(state_dir: Path) -> bool:
        """Whether ``state_dir`` holds a state database (without opening or checking it)."""
        return (Path(state_dir) / DB_NAME).exists()

    @staticmethod
    def require(state_dir: Path) -> None:
        """Refuse, in the words every command uses, a ``state_dir`` with no state database.

        Commands that read the state call it where they first need the state, so that
        their own flag checks still come first.

        Raises
        ------
        MissingState
            ``"<state_dir>: no state here (run `monitor run` first)"``.
        """
        if not Store.exists(state_dir):
            raise MissingState(f"{state_dir}: no state here (run `monitor run` first)")

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
