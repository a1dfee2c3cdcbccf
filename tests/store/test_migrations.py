"""Migrations: ordered, one transaction each with their record, never downgraded."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from monitor.errors import StateError
from monitor.store import MIGRATIONS, Store, latest_version
from monitor.store.migrations import migrate, split_statements


def _tables(state_dir: Path) -> set[str]:
    conn = sqlite3.connect(state_dir / "state.db")
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_migration_from_empty_makes_every_table(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        assert store.schema_version == latest_version(MIGRATIONS)
    assert {
        "schema_migrations",
        "aois",
        "aoi_versions",
        "scenes",
        "observations",
        "runs",
    } <= _tables(tmp_path)


def test_appended_migrations_apply_in_order_with_records(tmp_path: Path) -> None:
    Store.open(tmp_path).close()

    def add_index(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE INDEX later_notes_detection ON later_notes (detection_id)")

    n = latest_version()
    later = [
        *MIGRATIONS,
        (
            n + 1,
            "later notes",
            "CREATE TABLE later_notes (detection_id TEXT, verdict TEXT, "
            "note TEXT DEFAULT 'a; b');\n-- trailing comment\n",
        ),
        (n + 2, "later notes index", add_index),
    ]
    with Store.open(tmp_path, migrations=later) as store:
        assert store.schema_version == n + 2
        names = store._conn.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall()
    assert [tuple(r) for r in names][n:] == [(n + 1, "later notes"), (n + 2, "later notes index")]
    assert "later_notes" in _tables(tmp_path)


@pytest.mark.parametrize(
    "bad_step",
    [
        "CREATE TABLE half_made (x INTEGER); INSERT INTO no_such_table VALUES (1)",
        lambda conn: (
            conn.execute("CREATE TABLE half_made (x INTEGER)"),
            (_ for _ in ()).throw(RuntimeError("step blew up")),
        ),
    ],
)
def test_failing_migration_leaves_version_and_no_partial_table(tmp_path: Path, bad_step) -> None:
    with Store.open(tmp_path) as store:
        store._conn.execute("PRAGMA user_version")  # opened and migrated to the latest
    failing = [*MIGRATIONS, (latest_version() + 1, "breaks", bad_step)]
    with pytest.raises(StateError, match=r"migration \d+ \(breaks\) failed and was rolled back"):
        Store.open(tmp_path, migrations=failing)
    assert "half_made" not in _tables(tmp_path)
    with Store.open(tmp_path) as store:
        assert store.schema_version == latest_version()


def test_failure_in_first_migration_leaves_empty_schema(tmp_path: Path) -> None:
    broken_first = [(1, "initial", "CREATE TABLE aois (id TEXT); CREATE TABLE aois (id TEXT)")]
    with pytest.raises(StateError, match="migration 1"):
        Store.open(tmp_path, migrations=broken_first)
    assert _tables(tmp_path) == {"schema_migrations"}


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    newer = [*MIGRATIONS, (latest_version() + 1, "from the future", "CREATE TABLE future (x)")]
    Store.open(tmp_path, migrations=newer).close()
    before = (tmp_path / "state.db").read_bytes()
    with pytest.raises(StateError) as caught:
        Store.open(tmp_path)
    message = str(caught.value)
    assert "was written by a newer monitor" in message
    assert f"(schema {latest_version() + 1} > {latest_version()})" in message
    assert str(tmp_path / "state.db") in message
    assert (tmp_path / "state.db").read_bytes() == before


def test_migrations_must_ascend(tmp_path: Path) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    with pytest.raises(ValueError, match="ascending"):
        migrate(conn, "memory", [(2, "b", "SELECT 1"), (1, "a", "SELECT 1")])


def test_split_statements_keeps_literals_and_triggers() -> None:
    sql = """
        CREATE TABLE t (x TEXT DEFAULT 'semi;colon');  -- comment; with semicolon
        CREATE TRIGGER t_touch AFTER INSERT ON t BEGIN
            UPDATE t SET x = 'a;b' WHERE rowid = new.rowid;
        END;
        ;
    """
    statements = split_statements(sql)
    assert len(statements) == 2
    assert "CREATE TRIGGER" in statements[1] and statements[1].endswith("END;")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    conn.execute("INSERT INTO t DEFAULT VALUES")
    assert conn.execute("SELECT x FROM t").fetchall() == [("a;b",)]
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE a (x); CREATE TABLE b (y DEFAULT 'unclosed)")


def _open_and_report(state_dir: str, queue) -> None:
    try:
        with Store.open(Path(state_dir)) as store:
            queue.put(store.schema_version)
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(repr(exc))


def test_concurrent_first_open_migrates_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_open_and_report, args=(str(tmp_path), queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == [latest_version()] * 4
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == latest_version()
    conn.close()
