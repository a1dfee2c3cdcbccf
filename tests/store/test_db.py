"""Store: opening, refusing unusable state, and exact round-trips of the records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box

from monitor.errors import MissingState, StateError
from monitor.store import Store, latest_version
from tests.store.factories import BANGKOK, UTC, make_aoi, make_observation, make_scene

REPO = Path(__file__).resolve().parents[2]


def _raw(state_dir: Path, sql: str) -> list[tuple]:
    """Read the database behind the store's back, as another program would."""
    conn = sqlite3.connect(state_dir / "state.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "state") as opened:
        yield opened


# --- opening --------------------------------------------------------------------------------


def test_open_creates_folder_database_in_wal_with_migration_record(tmp_path: Path) -> None:
    state = tmp_path / "nested" / "state"
    with Store.open(state) as store:
        assert store.schema_version == latest_version() >= 1
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert (state / "state.db").is_file()
    assert _raw(state, "PRAGMA journal_mode")[0][0] == "wal"
    records = _raw(state, "SELECT version, name, applied_at FROM schema_migrations")
    assert [r[0] for r in records] == list(range(1, latest_version() + 1))
    assert records[0][1].startswith("initial")
    assert records[0][2].endswith("Z")


def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
    with Store.open(tmp_path, create=False) as store:
        assert store.schema_version == latest_version()
        assert [a.id for a in store.list_aois()] == ["kk-park"]
    assert len(_raw(tmp_path, "SELECT * FROM schema_migrations")) == latest_version()


def test_missing_state_without_create_is_refused_and_not_made(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="no state directory"):
        Store.open(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(StateError, match="no state database"):
        Store.open(tmp_path / "empty", create=False)
    assert list((tmp_path / "empty").iterdir()) == []


def test_require_refuses_in_the_commands_words_and_creates_nothing(tmp_path: Path) -> None:
    for folder in (tmp_path / "absent", tmp_path / "empty"):
        if folder.name == "empty":
            folder.mkdir()
        assert not Store.exists(folder)
        message = f"{folder}: no state here (run `monitor run` first)"
        with pytest.raises(MissingState) as refused:
            Store.require(folder)
        assert str(refused.value) == message
        with pytest.raises(MissingState) as refused:
            Store.open_existing(folder)
        assert str(refused.value) == message
    assert not (tmp_path / "absent").exists()
    assert list((tmp_path / "empty").iterdir()) == []


def test_open_existing_opens_a_state_that_is_there(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.put_aoi(make_aoi())
    assert Store.exists(tmp_path)
    Store.require(tmp_path)
    with Store.open_existing(tmp_path) as store:
        assert [a.id for a in store.list_aois()] == [make_aoi().id]


def test_uncreatable_state_dir_names_path_and_creates_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    target = blocker / "deeper" / "state"
    with pytest.raises(StateError) as caught:
        Store.open(target)
    assert str(target) in str(caught.value) and "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    assert blocker.read_text() == "not a folder"


def test_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("x")
    with pytest.raises(StateError, match=r"state.* is a file"):
        Store.open(tmp_path / "state")


def test_not_a_database_is_refused_and_never_overwritten(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    junk = b"these are an analyst's notes, not SQLite\n" * 100
    db.write_bytes(junk)
    with pytest.raises(StateError) as caught:
        Store.open(tmp_path)
    assert str(db) in str(caught.value)
    assert db.read_bytes() == junk
    assert not (tmp_path / "state.db-wal").exists()


def test_corrupt_database_after_header_is_a_state_error(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    junk = b"SQLite format 3\x00" + os.urandom(4096)
    db.write_bytes(junk)
    with pytest.raises(StateError, match=str(db)):
        Store.open(tmp_path)
    assert db.read_bytes() == junk


def test_foreign_sqlite_database_is_left_alone(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StateError, match="not the monitor's state"):
        Store.open(tmp_path)
    assert _raw(tmp_path, "SELECT name FROM sqlite_master") == [("notes",)]


# --- AOIs -----------------------------------------------------------------------------------


def test_aoi_round_trip(store: Store) -> None:
    aoi = make_aoi()
    assert store.put_aoi(aoi) is True
    assert store.get_aoi("kk-park") == aoi
    assert store.list_aois() == [aoi]
    assert store.get_aoi("nowhere") is None


def test_put_aoi_detects_geometry_changes_and_keeps_history(store: Store) -> None:
    original = make_aoi()
    assert store.put_aoi(original) is True
    assert store.put_aoi(original) is False
    renamed = dataclasses.replace(original, name="KK Park (Myawaddy)")
    assert store.put_aoi(renamed) is False
    assert store.get_aoi("kk-park").name == "KK Park (Myawaddy)"

    edited = make_aoi(bounds=(98.5430, 16.6230, 98.5530, 16.6310))
    assert edited.geometry_hash != original.geometry_hash
    assert store.put_aoi(edited) is True
    assert store.get_aoi("kk-park") == edited
    assert store.put_aoi(original) is True  # undoing an edit is a change too
    history = store.aoi_versions("kk-park")
    assert [h for h, _, _ in history] == [
        original.geometry_hash,
        edited.geometry_hash,
        original.geometry_hash,
    ]
    assert history[1][1] == edited.grid != original.grid
    assert all(seen.tzinfo is not None for _, _, seen in history)


# --- scenes ---------------------------------------------------------------------------------


def test_scene_round_trip_is_exact(store: Store) -> None:
    scene = make_scene()
    bare = make_scene(
        "S2A_bare",
        footprint=None,
        updated=None,
        cloud_cover=None,
        epsg=None,
        mgrs_tile=None,
        processing_baseline=None,
        item_href=None,
        simulated=True,
        assets={},
    )
    assert store.put_scenes([scene, bare]) == 2
    back = store.get_scene(scene.id)
    assert back == scene
    assert back.footprint.equals_exact(scene.footprint, 0)
    assert back.datetime.utcoffset() == dt.timedelta(0)
    assert store.get_scene("S2A_bare") == bare
    assert store.get_scene("missing") is None


def test_scene_datetimes_are_stored_as_utc_z_and_read_back_aware(
    store: Store, tmp_path: Path
) -> None:
    local = dt.datetime(2025, 8, 1, 6, 30, tzinfo=BANGKOK)  # 2025-07-31 23:30 UTC
    store.put_scenes([make_scene("late", when=local)])
    text, day = _raw(tmp_path / "state", "SELECT datetime, date FROM scenes")[0]
    assert text == "2025-07-31T23:30:00.000000Z" and day == "2025-07-31"
    back = store.get_scene("late")
    assert back.datetime == local and back.datetime.tzinfo == UTC
    day = dt.date(2025, 7, 31)
    assert [s.id for s in store.scenes(since=day, until=day)] == ["late"]
    assert store.scenes(since=dt.date(2025, 8, 1)) == []


def test_naive_datetime_is_refused_and_nothing_written(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.put_scenes([make_scene("ok"), make_scene("naive", when=dt.datetime(2025, 7, 1))])
    assert store.scenes() == []


def test_put_scenes_upserts_and_counts_new(store: Store, tmp_path: Path) -> None:
    first = make_scene("a")
    later = make_scene("b", when=first.datetime + dt.timedelta(days=5))
    assert store.put_scenes([first, later]) == 2
    first_seen = "SELECT first_seen_at FROM scenes WHERE id = 'a'"
    seen_before = _raw(tmp_path / "state", first_seen)
    reprocessed = dataclasses.replace(
        first, processing_baseline="05.12", updated=dt.datetime(2025, 9, 1, tzinfo=UTC)
    )
    assert store.put_scenes([reprocessed]) == 0
    assert store.get_scene("a") == reprocessed
    assert _raw(tmp_path / "state", first_seen) == seen_before
    assert [s.id for s in store.scenes()] == ["a", "b"]
    assert [s.id for s in store.scenes(until=dt.date(2025, 8, 1))] == ["a"]


def test_same_id_in_two_collections(store: Store) -> None:
    store.put_scenes([make_scene("x", collection="sentinel-2-l2a"), make_scene("x")])
    assert store.get_scene("x", "sentinel-2-l2a").collection == "sentinel-2-l2a"
    with pytest.raises(LookupError, match="several collections"):
        store.get_scene("x")
    assert len(store.scenes(collection="sentinel-2-c1-l2a")) == 1


# --- observations ---------------------------------------------------------------------------


def _three_scenes(store: Store) -> list:
    start = dt.datetime(2025, 7, 1, 3, 56, tzinfo=UTC)
    scenes = [make_scene(f"s{i}", when=start + dt.timedelta(days=5 * i)) for i in (2, 0, 1)]
    store.put_aoi(make_aoi())
    store.put_scenes(scenes)
    return scenes


def test_observation_round_trip_ordering_and_filters(store: Store) -> None:
    s2, s0, s1 = _three_scenes(store)
    used = make_observation(s0)
    skipped = make_observation(
        s1, status="skipped", reason="clear 3% < 10%", clear_fraction=0.03, rule=None, attempts=0
    )
    failed = make_observation(s2, status="failed", reason="HTTP 503 on red", clear_fraction=None)
    store.put_observations([failed, used, skipped])
    assert store.observations("kk-park") == [used, skipped, failed]
    assert store.observation("kk-park", "s1") == skipped
    assert store.observation("kk-park", "nope") is None
    assert store.observations("kk-park", status="used") == [used]
    assert store.observations("kk-park", status=("skipped", "failed")) == [skipped, failed]
    assert store.observations("kk-park", since=dt.date(2025, 7, 6)) == [skipped, failed]
    assert store.observations("kk-park", until=dt.date(2025, 7, 6)) == [used, skipped]
    assert store.observations("other") == []
    with pytest.raises(ValueError, match="unknown observation status"):
        store.observations("kk-park", status="done")


def test_observation_upsert_replaces_by_aoi_and_scene(store: Store) -> None:
    _, s0, _ = _three_scenes(store)
    store.put_observations([make_observation(s0, status="failed", reason="timeout", attempts=1)])
    retried = make_observation(s0, status="used", attempts=2)
    store.put_observations([retried])
    assert store.observations("kk-park") == [retried]


def test_observation_of_unknown_scene_writes_nothing(store: Store) -> None:
    _, s0, _ = _three_scenes(store)
    ghost = make_scene("ghost")
    with pytest.raises(ValueError, match="ghost"):
        store.put_observations([make_observation(s0), make_observation(ghost)])
    assert store.observations("kk-park") == []
    with pytest.raises(ValueError, match="status"):
        store.put_observations([make_observation(s0, status="done")])


# --- runs -----------------------------------------------------------------------------------


def test_runs_are_recorded_newest_first(store: Store) -> None:
    assert store.last_run() is None
    first = store.start_run("run", ["--since", "2025-07-01"])
    per_aoi = {
        "kk-park": {"used": np.int32(2), "last": dt.date(2025, 7, 31), "clear": np.float32(0.5)}
    }
    summary = store.finish_run(
        first,
        exit_code=3,
        counts={"scenes": np.int64(4), "used": 2},
        per_aoi=per_aoi,
        errors=["scene s2: HTTP 503"],
    )
    assert summary.run_id == first and summary.exit_code == 3 and summary.command == "run"
    assert summary.counts == {"scenes": 4, "used": 2}
    assert summary.per_aoi == {"kk-park": {"used": 2, "last": "2025-07-31", "clear": 0.5}}
    assert summary.errors == ("scene s2: HTTP 503",)
    assert summary.started_at.tzinfo is not None
    assert summary.started_at <= summary.finished_at

    second = store.start_run("report", [])
    assert second > first
    unfinished = store.last_run()
    assert unfinished.run_id == second and unfinished.finished_at is None
    assert unfinished.exit_code is None
    assert [r.run_id for r in store.runs()] == [second, first]
    assert store.runs(limit=1) == [unfinished]
    assert store.runs()[1] == summary
    with pytest.raises(ValueError, match="no run 999"):
        store.finish_run(999, exit_code=0, counts={}, per_aoi={}, errors=[])


# --- transactions and crashes ---------------------------------------------------------------


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put_aoi(make_aoi())
            store.put_scenes([make_scene()])
            raise RuntimeError("crash in the middle")
    assert store.list_aois() == [] and store.scenes() == []


def test_nested_transaction_inner_error_undoes_only_inner_level(store: Store) -> None:
    with store.transaction():
        store.put_aoi(make_aoi())
        try:
            with store.transaction():
                store.put_scenes([make_scene()])
                raise KeyError("inner")
        except KeyError:
            pass
        with store.transaction():
            store.put_aoi(make_aoi("mae-sot", bounds=(98.56, 16.70, 98.565, 16.705)))
    assert [a.id for a in store.list_aois()] == ["kk-park", "mae-sot"]
    assert store.scenes() == []
    assert not store._conn.in_transaction


def test_kill_mid_transaction_leaves_last_commit(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from monitor.store import Store
        from tests.store.factories import make_aoi, make_scene
        store = Store.open(Path({str(tmp_path)!r}))
        store.put_aoi(make_aoi())
        with store.transaction():
            store.put_scenes([make_scene("half")])
            store.put_aoi(make_aoi("half-aoi"))
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    with Store.open(tmp_path) as store:
        assert [a.id for a in store.list_aois()] == ["kk-park"]
        assert store.scenes() == []
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_store_fixture_geometry_is_small() -> None:
    # Keeps the tests' AOIs within the house limit of 100 x 100 px.
    grid = make_aoi().grid
    assert grid.width <= 100 and grid.height <= 100
    assert box(*make_aoi().geometry.bounds).equals(make_aoi().geometry)
