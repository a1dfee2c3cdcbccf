"""Simulated worlds in the archive: the default world unchanged, the random world recorded,
reproducible per seed, refused over another world without overwrite; ``--world`` on the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from shapely.geometry import box

from monitor.aoi.grid import grid_for_geometry
from monitor.cli.main import main
from monitor.errors import ConfigError, StateError
from monitor.models import Aoi
from monitor.simulate import MARKER, simulate_archive
from monitor.simulate.world import WORLD_KINDS, draw_world

#: Digests of the tiny archive below as written before worlds existed (commit 31a0f82):
#: every item's JSON, every asset's decoded pixels, truth.geojson and truth.tif's pixels.
#: Decoded pixels rather than file bytes, so a GDAL encoder change does not move them.
HEAD_DIGESTS = {
    "c1": "8115b0fbf1607852a8191033f6fc304d302690a8d78c4abb9ceabe53371a7e41",
    "l2a": "d5a1d148918ac80b84f90ee6eeb8dfb0c9bc4b040e4891b38ba34962ac1e14e7",
}
#: 2025-01-10..04-20: S2C's arrival, S2A's return, the burning season, a wrong l2a flag.
PIN_PERIOD = dt.date(2025, 1, 10), dt.date(2025, 4, 20)
#: Winter: low sun, where a random world puts most of its misclassified scenes.
WINTER = dt.date(2024, 11, 15), dt.date(2025, 1, 15)


def tiny_aoi() -> Aoi:
    """40 x 50 px in KK Park's eastern section."""
    geometry = box(98.566, 16.626, 98.5705, 16.6295)
    return Aoi(
        id="kk-park-east",
        name="tiny",
        geometry=geometry,
        geometry_hash=hashlib.sha256(shapely.to_wkb(geometry)).hexdigest(),
        grid=grid_for_geometry(geometry),
        kind="compound",
    )


#: Files and asset keys of the red-edge bands, written after the digests were taken.
RED_EDGE_FILES = {"B05.tif", "B06.tif", "B07.tif", "B8A.tif"}
RED_EDGE_KEYS = ("rededge1", "rededge2", "rededge3", "nir08")


def without_red_edge(item_json: str) -> bytes:
    """An item's JSON as written before the red edge: its other assets and fields, as bytes."""
    document = json.loads(item_json)
    for key in RED_EDGE_KEYS:
        document["assets"].pop(key, None)
    return json.dumps(document, indent=1).encode("utf-8")


def digest(out: Path) -> str:
    """Every file of the archive but the red edge's (items without their red-edge assets)."""
    h = hashlib.sha256()
    for item in sorted((out / "items").glob("*.json")):
        h.update(without_red_edge(item.read_text(encoding="utf-8")))
        tifs = (out / "assets" / item.stem).glob("*.tif")
        for tif in sorted(t for t in tifs if t.name not in RED_EDGE_FILES):
            with rasterio.open(tif) as dataset:
                h.update(dataset.read(1).tobytes())
    h.update((out / "truth.geojson").read_bytes())
    with rasterio.open(out / "truth.tif") as dataset:
        h.update(dataset.read(1).tobytes())
    return h.hexdigest()


def _marker(out: Path) -> dict:
    return json.loads((out / MARKER).read_text())


@pytest.mark.parametrize("style, explicit", [("c1", False), ("l2a", True)])
def test_default_world_is_byte_identical_to_before(
    tmp_path: Path, style: str, explicit: bool
) -> None:
    extra = {"world": "default"} if explicit else {}
    simulate_archive(
        [tiny_aoi()],
        tmp_path,
        seed=4,
        style=style,
        start=PIN_PERIOD[0],
        end=PIN_PERIOD[1],
        workers=1,
        **extra,
    )
    assert digest(tmp_path) == HEAD_DIGESTS[style]
    marker = _marker(tmp_path)
    assert marker["params"]["world"] == "default"
    assert marker["world"]["kind"] == "default" and marker["misclassified_items"] == {}
    collection = json.loads((tmp_path / "collection.json").read_text())
    assert "monitor:world" not in collection and "world" not in collection["title"]


@pytest.fixture(scope="module")
def random_winter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("random-winter")
    simulate_archive(
        [tiny_aoi()], out, seed=4, start=WINTER[0], end=WINTER[1], world="random", workers=2
    )
    return out


def test_random_world_same_seed_same_bytes_other_seed_or_world_differs(
    random_winter: Path, tmp_path: Path
) -> None:
    kwargs = dict(start=WINTER[0], end=WINTER[1], workers=1)
    again = tmp_path / "again"
    simulate_archive([tiny_aoi()], again, seed=4, world="random", **kwargs)
    assert digest(again) == digest(random_winter)
    assert _marker(again)["world"] == _marker(random_winter)["world"]
    other = tmp_path / "other"
    simulate_archive([tiny_aoi()], other, seed=5, world="random", **kwargs)
    default = tmp_path / "default"
    simulate_archive([tiny_aoi()], default, seed=4, **kwargs)
    assert len({digest(random_winter), digest(other), digest(default)}) == 3
    assert _marker(other)["world"]["sky"] != _marker(random_winter)["world"]["sky"]


def test_random_world_is_recorded(random_winter: Path) -> None:
    marker = _marker(random_winter)
    assert marker["params"]["world"] == "random"
    world = marker["world"]
    assert world["kind"] == "random" and world["seed"] == 4
    assert world["sky"]["kind"] == "random"
    assert set(world["sky"]["seasons"]) == {"2024", "2025"}
    assert set(world["sky"]["platform_gains"]) == {"sentinel-2a", "sentinel-2b", "sentinel-2c"}
    assert "ground" in world
    collection = json.loads((random_winter / "collection.json").read_text())
    assert collection["monitor:world"] == "random" and "random world" in collection["title"]


def test_misclassified_scenes_in_the_archive(random_winter: Path) -> None:
    """Items the marker lists as misclassified: most of what SCL does not call cloud is in
    the recorded class (real cloud is still flagged 8/9)."""
    misclassified = _marker(random_winter)["misclassified_items"]
    assert misclassified, "seed 4 draws ~5.8 a year, most of them in winter"
    for item_id, what in misclassified.items():
        with rasterio.open(random_winter / "assets" / item_id / "SCL.tif") as dataset:
            scl = dataset.read(1)
        assert what["scl_class"] in (2, 3, 6, 7)
        assert what["degradation"] in ("dark", "haze", "veil")
        # The recorded share (4 decimals) is the cells put in the class; the class's own
        # pixels elsewhere (a dark roof, the river) may add a little.
        assert float((scl == what["scl_class"]).mean()) >= what["share"] - 1e-4
        not_cloud = ~np.isin(scl, (0, 8, 9))
        assert float((scl[not_cloud] == what["scl_class"]).mean()) > 0.5


def test_world_change_is_refused_without_overwrite(tmp_path: Path) -> None:
    kwargs = dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 20), workers=1)
    simulate_archive([tiny_aoi()], tmp_path, **kwargs)
    with pytest.raises(StateError, match="different simulation"):
        simulate_archive([tiny_aoi()], tmp_path, world="random", **kwargs)
    replaced = simulate_archive([tiny_aoi()], tmp_path, world="random", overwrite=True, **kwargs)
    assert not replaced.reused and _marker(tmp_path)["params"]["world"] == "random"
    assert simulate_archive([tiny_aoi()], tmp_path, world="random", **kwargs).reused


def test_marker_without_world_means_default(tmp_path: Path) -> None:
    kwargs = dict(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 20), workers=1)
    simulate_archive([tiny_aoi()], tmp_path, **kwargs)
    marker = _marker(tmp_path)
    del marker["params"]["world"]  # as written before worlds existed
    (tmp_path / MARKER).write_text(json.dumps(marker))
    assert simulate_archive([tiny_aoi()], tmp_path, world="default", **kwargs).reused
    with pytest.raises(StateError, match="different simulation"):
        simulate_archive([tiny_aoi()], tmp_path, world="random", **kwargs)


def test_unknown_world_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown simulated world") as info:
        simulate_archive([tiny_aoi()], tmp_path / "out", world="mars")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError):
        draw_world("Random", 0)


def test_draw_world() -> None:
    assert WORLD_KINDS == ("default", "random")
    default = draw_world("default", 3)
    assert not default.sky.randomised and not default.ground.random
    random = draw_world("random", 3)
    assert random.sky.randomised and random.ground.random
    assert random == draw_world("random", 3) and random != draw_world("random", 4)
    assert json.loads(json.dumps(random.to_json()))["kind"] == "random"


AOI_FILE = {
    "type": "Feature",
    "properties": {"id": "world-test", "name": "World test"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [98.566, 16.626],
                [98.5705, 16.626],
                [98.5705, 16.6295],
                [98.566, 16.6295],
                [98.566, 16.626],
            ]
        ],
    },
}


def _cli(tmp_path: Path, *extra: str) -> int:
    aoi_dir = tmp_path / "aoi"
    aoi_dir.mkdir(exist_ok=True)
    (aoi_dir / "world-test.geojson").write_text(json.dumps(AOI_FILE))
    return main(
        [
            "simulate",
            "--aoi-dir",
            str(aoi_dir),
            "--state-dir",
            str(tmp_path / "state"),
            "--out",
            str(tmp_path / "sim"),
            "--start",
            "2025-01-01",
            "--end",
            "2025-01-15",
            *extra,
        ]
    )


def test_cli_world_random(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(tmp_path, "--world", "random", "--seed", "2") == 0
    assert "random world" in capsys.readouterr().out
    marker = _marker(tmp_path / "sim")
    assert marker["params"]["world"] == "random" and marker["params"]["seed"] == 2
    # Default world by default; a changed world is refused like any other parameter.
    assert _cli(tmp_path, "--seed", "2") == 1
    err = capsys.readouterr().err
    assert "different simulation" in err and len(err.strip().splitlines()) == 1


def test_cli_bad_world_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(tmp_path, "--world", "randm") == 1
    err = capsys.readouterr().err
    assert err.startswith("monitor: error:") and "--world" in err and "random" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "sim").exists()


def test_cli_help_names_the_worlds() -> None:
    from click.testing import CliRunner

    from monitor.cli.main import cli

    result = CliRunner().invoke(cli, ["simulate", "--help"])
    assert result.exit_code == 0 and "--world" in result.output
    assert "[default|random]" in result.output
    assert np.all([kind in result.output for kind in WORLD_KINDS])
