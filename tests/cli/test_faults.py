"""Faults on the way to the imagery and the catalog: ``monitor run`` completes what it can,
records what failed, exits 3, and the next run (servers healthy) retries only that.

COG faults come from ``cog_server`` (500, connection reset, truncated body, stall longer
than ``MONITOR_HTTP_TIMEOUT_S``, 404). Catalog faults: a static catalog served by the same
server whose collection or item requests fail, and the real STAC API (``stac_api``) behind
``tests/servers/fault_proxy.py`` failing or stalling ``/search``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.store import Store
from tests.cli.conftest import SHORT_PERIOD, SimArchive, link_tree, run_cli, status_json
from tests.servers.fault_proxy import FaultProxyProcess

pytestmark = pytest.mark.slow

_LAUNCH = "import sys; from monitor.cli.main import main; sys.exit(main())"
#: GDAL's and requests' timeout: a stall of STALL_S outlives it.
TIMEOUT_S = "1"
STALL_S = 4.0


@pytest.fixture(autouse=True)
def _fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """One try per HTTP request and a short timeout: the faults below last, so retries
    would only make the tests slow (the retries themselves are tested in catalog/imagery)."""
    monkeypatch.setenv("MONITOR_HTTP_TIMEOUT_S", TIMEOUT_S)
    monkeypatch.setenv("MONITOR_HTTP_RETRIES", "0")


def _run(
    stac: str | Path, archive: SimArchive, state: Path, aois: tuple[str, ...] = ("east-test",)
) -> int:
    args: list[Any] = [
        "run",
        "--stac",
        stac,
        "--state-dir",
        state,
        "--reports-dir",
        state.parent / "reports",
        "--since",
        SHORT_PERIOD[0],
        "--until",
        SHORT_PERIOD[1],
    ]
    for aoi in aois:
        args += ["--aoi", archive.aoi_files[aoi]]
    return run_cli(args)


def _run_process(
    stac: str | Path, archive: SimArchive, state: Path, aois: tuple[str, ...] = ("east-test",)
) -> int:
    """``monitor run`` in a new process, as cron runs it (the environment passed on)."""
    repo = Path(__file__).resolve().parents[2]
    args = [
        "run",
        "--stac",
        str(stac),
        "--state-dir",
        str(state),
        "--reports-dir",
        str(state.parent / "reports"),
        "--since",
        SHORT_PERIOD[0],
        "--until",
        SHORT_PERIOD[1],
    ]
    for aoi in aois:
        args += ["--aoi", str(archive.aoi_files[aoi])]
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCH, *args],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode


def _served(archive: SimArchive, cog_server: Any) -> str:
    """Serve the archive (hard links) from the COG server; the collection's URL."""
    link_tree(archive.sim, cog_server.root / "sim")
    return str(cog_server.url_for(cog_server.root / "sim" / "collection.json"))


def _ground_items(archive: SimArchive, aoi_id: str) -> list[str]:
    """Ids of the items simulated on ``aoi_id``'s ground, by date."""
    return sorted(i["id"] for i in archive.items() if i["id"].endswith(f"_{aoi_id}"))


def _observed(state: Path, aoi_id: str) -> dict[str, tuple[Any, ...]]:
    """What became of each scene: status, clear fraction, rule (not attempts or reasons,
    which tell the story of the retries)."""
    with Store.open(state, create=False) as store:
        return {
            o.scene_id: (o.status, o.clear_fraction, o.rule and o.rule.label)
            for o in store.observations(aoi_id)
        }


@pytest.fixture(scope="module")
def clean_pair(pair_archive: SimArchive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state of a run over both AOIs of the pair archive without any fault."""
    state = tmp_path_factory.mktemp("clean-pair") / "state"
    assert _run(pair_archive.sim, pair_archive, state, ("east-test", "mae-test")) == 0
    return state


# --------------------------------------------------------------------------- COG faults


def test_cog_faults_are_recorded_and_retried_next_run(
    pair_archive: SimArchive, clean_pair: Path, cog_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _served(pair_archive, cog_server)
    state = cog_server.root / "state"
    scenes = _ground_items(pair_archive, "east-test")
    kinds = ("500", "reset", "truncate", "stall")
    victims = dict(zip(kinds, scenes[1::3], strict=False))
    assert len(victims) == len(kinds)
    for kind, scene in victims.items():
        # Every request for any file of that scene, for good (until cleared).
        cog_server.fault(kind, f"*/assets/{scene}/*", times=None, delay_s=STALL_S)

    assert _run(url, pair_archive, state) == 3
    out = capsys.readouterr().out
    assert all(scene in out for scene in victims.values()), out
    report = status_json(state, capsys)
    [entry] = report["aois"]
    assert entry["scenes_failed"] == len(victims)
    assert {f["scene_id"] for f in entry["failed"]} == set(victims.values())
    assert all(f["reason"] and f["attempts"] == 1 for f in entry["failed"])
    assert report["last_run"]["exit_code"] == 3
    assert report["last_run"]["counts"]["failed"] == len(victims)
    assert any("failed" in e for e in report["last_run"]["errors"])
    # Everything else was read and recorded as an unfaulted run records it.
    clean = _observed(clean_pair, "east-test")
    got = _observed(state, "east-test")
    assert {k: v for k, v in got.items() if k not in victims.values()} == {
        k: v for k, v in clean.items() if k not in victims.values()
    }
    assert not [p for v in victims.values() for p in (state / "chips").rglob(f"{v}.*")], (
        "a failed read leaves nothing in the cache"
    )

    # The server recovers: only the failed scenes are read again, and all is as if no
    # fault had ever happened.
    cog_server.server.clear_faults()
    cog_server.clear_log()
    assert _run(url, pair_archive, state) == 0
    asked = {
        r.path.split("/assets/")[1].split("/")[0] for r in cog_server.log if "/assets/" in r.path
    }
    assert asked == set(victims.values())
    report = status_json(state, capsys)
    assert report["aois"][0]["scenes_failed"] == 0 and report["last_run"]["exit_code"] == 0
    assert _observed(state, "east-test") == clean


def test_one_aoi_whose_scenes_all_fail_does_not_stop_the_other(
    pair_archive: SimArchive, clean_pair: Path, cog_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _served(pair_archive, cog_server)
    state = cog_server.root / "state"
    both = ("mae-test", "east-test")  # the failing AOI first
    # Every file of the mae-test ground answers 404 (an asset gone upstream, for now).
    cog_server.fault("404", "*_mae-test/*", times=None)
    assert _run(url, pair_archive, state, both) == 3
    report = status_json(state, capsys)
    by_id = {a["id"]: a for a in report["aois"]}
    n_mae = len(_ground_items(pair_archive, "mae-test"))
    assert by_id["mae-test"]["scenes_used"] == 0
    assert by_id["mae-test"]["scenes_failed"] >= n_mae - 2  # all but duplicates
    assert by_id["east-test"]["scenes_failed"] == 0
    assert _observed(state, "east-test") == _observed(clean_pair, "east-test")
    assert report["last_run"]["per_aoi"]["east-test"]["status"] == "ok"
    assert any(e.startswith("mae-test") for e in report["last_run"]["errors"])

    # The next run, as cron starts it: a new process.
    cog_server.server.clear_faults()
    cog_server.clear_log()
    assert _run_process(url, pair_archive, state, both) == 0
    assert not [r for r in cog_server.log if "_east-test/" in r.path], (
        "east-test was complete: nothing of it is read again"
    )
    assert _observed(state, "mae-test") == _observed(clean_pair, "mae-test")


def test_a_404_scene_is_asked_again_by_the_next_run_in_the_same_process(
    pair_archive: SimArchive, cog_server: Any
) -> None:
    url = _served(pair_archive, cog_server)
    state = cog_server.root / "state"
    victim = _ground_items(pair_archive, "east-test")[1]
    cog_server.fault("404", f"*/assets/{victim}/*", times=None)
    assert _run(url, pair_archive, state) == 3
    cog_server.server.clear_faults()
    cog_server.clear_log()
    code = _run(url, pair_archive, state)
    assert [r for r in cog_server.log if f"/assets/{victim}/" in r.path], (
        "the next run did not ask the server for the scene that failed"
    )
    assert code == 0


# --------------------------------------------------------------------------- static catalog


@pytest.mark.parametrize(
    ("kind", "where"),
    [
        ("500", "collection.json"),
        ("stall", "collection.json"),
        ("500", "item"),
        ("reset", "item"),
    ],
)
def test_static_catalog_faults_exit_3_and_the_next_run_succeeds(
    pair_archive: SimArchive,
    clean_pair: Path,
    cog_server: Any,
    kind: str,
    where: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = _served(pair_archive, cog_server)
    state = cog_server.root / "state"
    glob = (
        "*/sim/collection.json"
        if where == "collection.json"
        else f"*/items/{_ground_items(pair_archive, 'east-test')[2]}.json"
    )
    cog_server.fault(kind, glob, times=None, delay_s=STALL_S)
    assert _run(url, pair_archive, state) == 3  # not 1: a passing fault, not bad input
    err = capsys.readouterr().err
    assert "Traceback" not in err
    report = status_json(state, capsys)
    last = report["last_run"]
    assert last["exit_code"] == 3 and last["finished_at"]
    assert last["errors"] and last["per_aoi"]["east-test"]["status"] == "failed"

    cog_server.server.clear_faults()
    assert _run(url, pair_archive, state) == 0
    report = status_json(state, capsys)
    assert report["last_run"]["exit_code"] == 0
    assert _observed(state, "east-test") == _observed(clean_pair, "east-test")


# --------------------------------------------------------------------------- STAC API


@pytest.fixture(scope="module")
def api_collection(stac_api: Any, pair_archive: SimArchive) -> str:
    """The pair archive loaded into the session's STAC API, assets as absolute paths."""
    collection = "fault-test-pair"
    items = []
    for item in pair_archive.items():
        for asset in item["assets"].values():
            asset["href"] = str((pair_archive.sim / "items" / asset["href"]).resolve())
        item["links"] = []
        items.append(item)
    stac_api.load({"id": collection, "description": "pair archive for fault tests"}, items)
    return collection


@pytest.mark.parametrize(
    ("kind", "contains", "failing"),
    [
        ("500", None, ("east-test", "mae-test")),
        ("stall", None, ("east-test", "mae-test")),
        ("reset", None, ("east-test", "mae-test")),
        # Only the searches of mae-test's bbox (latitudes 16.70-16.72; east-test's are 16.62).
        ("500", "16.7", ("mae-test",)),
    ],
)
def test_stac_api_search_faults_exit_3_and_the_next_run_succeeds(
    stac_api: Any,
    api_collection: str,
    pair_archive: SimArchive,
    clean_pair: Path,
    fault_proxy: Callable[[str], FaultProxyProcess],
    tmp_path: Path,
    kind: str,
    contains: str | None,
    failing: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy = fault_proxy(stac_api.url)
    state = tmp_path / "state"
    both = ("east-test", "mae-test")

    def run() -> int:
        return run_cli(
            [
                "run",
                "--stac",
                proxy.url,
                "--collection",
                api_collection,
                "--state-dir",
                state,
                "--reports-dir",
                tmp_path / "reports",
                "--aoi",
                pair_archive.aoi_files["east-test"],
                "--aoi",
                pair_archive.aoi_files["mae-test"],
                "--since",
                SHORT_PERIOD[0],
                "--until",
                SHORT_PERIOD[1],
            ]
        )

    proxy.fault(kind, "*/search", times=None, delay_s=STALL_S, contains=contains)
    assert run() == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert any(r.fault == kind for r in proxy.log), "the fault was injected"
    report = status_json(state, capsys)
    last = report["last_run"]
    assert last["exit_code"] == 3 and last["finished_at"]
    for aoi_id in both:
        assert last["per_aoi"][aoi_id]["status"] == ("failed" if aoi_id in failing else "ok")
    assert all(any(e.startswith(a) for e in last["errors"]) for a in failing), last["errors"]
    for aoi_id in set(both) - set(failing):
        assert _observed(state, aoi_id) == _observed(clean_pair, aoi_id)

    proxy.clear_faults()
    assert run() == 0
    report = status_json(state, capsys)
    assert report["last_run"]["exit_code"] == 0
    for aoi_id in both:
        assert _observed(state, aoi_id) == _observed(clean_pair, aoi_id)


# --------------------------------------------------------------------------- the lock


def test_second_run_exits_75_naming_the_holder_and_a_stale_lock_is_taken_over(
    pair_archive: SimArchive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    repo = Path(__file__).resolve().parents[2]
    state = tmp_path / "state"
    hold = (
        "import sys, pathlib; from monitor.store import state_lock\n"
        "with state_lock(pathlib.Path(sys.argv[1]), 'monitor run'):\n"
        "    print('locked', flush=True); sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(state)],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        capsys.readouterr()
        assert _run(pair_archive.sim, pair_archive, state) == 75
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert "another run holds the lock: monitor run" in err and f"pid {holder.pid}" in err
        holder.send_signal(signal.SIGKILL)  # dies holding it: the lock file stays behind
    finally:
        holder.kill()
        holder.wait(10)
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()
    assert json.loads((state / "monitor.lock").read_text())["pid"] == holder.pid
    assert _run(pair_archive.sim, pair_archive, state) == 0
    assert status_json(state, capsys)["last_run"]["exit_code"] == 0
