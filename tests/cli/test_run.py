"""``monitor run`` on a small simulated archive: local files, HTTP, faults and retries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import SHORT_PERIOD, SimArchive, link_tree, run_cli, status_json


def _run(stac: str | Path, aoi: Path, state: Path) -> int:
    return run_cli(
        [
            "run",
            "--stac",
            stac,
            "--aoi",
            aoi,
            "--state-dir",
            state,
            "--reports-dir",
            state.parent / "reports",
            "--since",
            SHORT_PERIOD[0],
            "--until",
            SHORT_PERIOD[1],
        ]
    )


def test_run_reads_every_scene_once(
    east_archive: SimArchive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    aoi = east_archive.aoi_files["east-test"]
    assert _run(east_archive.sim, aoi, state) == 0
    out = capsys.readouterr().out
    assert "used" in out
    report = status_json(state, capsys)
    [entry] = report["aois"]
    n_items = len(east_archive.items(*SHORT_PERIOD))
    assert n_items > 5
    assert entry["scenes_used"] + entry["scenes_skipped"] == n_items
    assert entry["scenes_failed"] == 0 and entry["simulated"] is True
    assert report["last_run"]["exit_code"] == 0
    assert report["last_run"]["counts"]["new"] == n_items

    # Nothing new: the second run reads no scene and says so.
    assert _run(east_archive.sim, aoi, state) == 0
    assert "0 new" in capsys.readouterr().out
    assert status_json(state, capsys)["last_run"]["counts"]["new"] == 0


@pytest.mark.slow
def test_failed_scene_is_recorded_and_retried_next_run(
    east_archive: SimArchive,
    cog_server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITOR_HTTP_RETRIES", "0")  # fail fast: the fault is for good
    link_tree(east_archive.sim, cog_server.root / "sim")
    collection_url = cog_server.url_for(cog_server.root / "sim" / "collection.json")
    state = cog_server.root / "state"
    aoi = east_archive.aoi_files["east-test"]
    victim = sorted(item["id"] for item in east_archive.items(*SHORT_PERIOD))[2]
    # Every request for one scene's red band fails with HTTP 500, for good.
    cog_server.fault("500", f"*{victim}/B04.tif", times=None)
    assert _run(collection_url, aoi, state) == 3
    captured = capsys.readouterr()
    assert "failed" in captured.out and victim in captured.out
    entry = status_json(state, capsys)["aois"][0]
    assert entry["scenes_failed"] == 1
    assert not list((state / "chips").rglob(f"{victim}.npz")), "nothing half-written"

    # The server recovers: the next run retries only the failed scene.
    cog_server.server.clear_faults()
    cog_server.clear_log()
    assert _run(collection_url, aoi, state) == 0
    entry = status_json(state, capsys)["aois"][0]
    assert entry["scenes_failed"] == 0
    tif_paths = {r.path for r in cog_server.log if r.path.endswith(".tif")}
    assert tif_paths and all(victim in p for p in tif_paths)
