"""``monitor run`` on a small simulated archive: local files, HTTP, faults and retries."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from monitor.aoi import aoi_from_geojson
from monitor.cli.main import main
from monitor.simulate import simulate_archive

#: About 88 x 90 px inside KK Park: the size limit of test AOIs is 100 x 100 px.
SMALL_AOI = {"type": "Feature", "properties": {"id": "small-kk", "name": "Small <KK>"},
             "geometry": {"type": "Polygon", "coordinates": [[
                 [98.560, 16.625], [98.568, 16.625], [98.568, 16.633], [98.560, 16.633],
                 [98.560, 16.625]]]}}
SINCE, UNTIL = "2025-01-01", "2025-02-28"


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated c1-style archive of the small AOI over two dry-season months."""
    folder = tmp_path_factory.mktemp("archive")
    aoi_file = folder / "small-kk.geojson"
    aoi_file.write_text(json.dumps(SMALL_AOI))
    aoi = aoi_from_geojson(SMALL_AOI, where=str(aoi_file), path=str(aoi_file))
    simulate_archive([aoi], folder / "sim", seed=3, style="c1",
                     start=dt.date.fromisoformat(SINCE), end=dt.date.fromisoformat(UNTIL),
                     workers=1)
    return folder


def _status(state: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["status", "--json", "--state-dir", str(state)]) == 0
    return json.loads(capsys.readouterr().out)


def _run(stac: str, aoi: Path, state: Path) -> int:
    return main(["run", "--stac", stac, "--aoi", str(aoi), "--state-dir", str(state),
                 "--since", SINCE, "--until", UNTIL])


def test_run_reads_every_scene_once(small_archive: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    aoi = small_archive / "small-kk.geojson"
    assert _run(str(small_archive / "sim"), aoi, state) == 0
    out = capsys.readouterr().out
    assert "used" in out
    report = _status(state, capsys)
    [entry] = report["aois"]
    n_items = len(list((small_archive / "sim" / "items").glob("*.json")))
    assert entry["scenes_used"] + entry["scenes_skipped"] == n_items
    assert entry["scenes_failed"] == 0 and entry["simulated"] is True
    assert report["last_run"]["exit_code"] == 0
    assert report["last_run"]["counts"]["new"] == n_items

    # Nothing new: the second run reads no scene and says so.
    assert _run(str(small_archive / "sim"), aoi, state) == 0
    assert "0 new" in capsys.readouterr().out
    assert _status(state, capsys)["last_run"]["counts"]["new"] == 0


@pytest.mark.slow
def test_failed_scene_is_recorded_and_retried_next_run(
        small_archive: Path, cog_server: Any, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_HTTP_RETRIES", "1")  # fail fast: the fault is for good
    shutil.copytree(small_archive / "sim", cog_server.root / "sim")
    collection_url = cog_server.url_for(cog_server.root / "sim" / "collection.json")
    state = cog_server.root / "state"
    aoi = small_archive / "small-kk.geojson"
    victim = sorted(p.stem for p in (small_archive / "sim" / "items").glob("*.json"))[2]
    # Every request for one scene's red band fails with HTTP 500, for good.
    cog_server.fault("500", f"*{victim}/B04.tif", times=None)
    assert _run(collection_url, aoi, state) == 3
    captured = capsys.readouterr()
    assert "failed" in captured.out and victim in captured.out
    entry = _status(state, capsys)["aois"][0]
    assert entry["scenes_failed"] == 1
    assert not list((state / "chips").rglob(f"{victim}.npz")), "nothing half-written"

    # The server recovers: the next run retries only the failed scene.
    cog_server.server.clear_faults()
    cog_server.clear_log()
    assert _run(collection_url, aoi, state) == 0
    entry = _status(state, capsys)["aois"][0]
    assert entry["scenes_failed"] == 0
    tif_paths = {r.path for r in cog_server.log if r.path.endswith(".tif")}
    assert tif_paths and all(victim in p for p in tif_paths)
