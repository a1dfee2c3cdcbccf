"""The state database's connection: atomic changes over one SQLite connection.

``Connection`` is what every table group of ``Store`` builds on: the connection itself (in
autocommit mode, ``isolation_level=None``), ``transaction()`` (``BEGIN IMMEDIATE`` ...
``COMMIT``, a SAVEPOINT when nested) and the turning of SQLite's own failures into one-line
``StateError``s. Opening, migrating and closing are ``Store``'s (``monitor.store.db``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.errors import StateError

__all__ = ["Connection"]


class Connection:
    """One SQLite connection to ``state.db`` with its transactions; one thread's."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        # Use Store.open(): it checks the folder and file and migrates first.
        self._conn = conn
        self._conn.row_factory = sqlite3.Row
        self.path = path
        self._depth = 0

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
