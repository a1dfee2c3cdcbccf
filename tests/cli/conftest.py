"""Simulated archives shared by the CLI tests of ``monitor run`` (and its crash and fault tests).

Simulating an archive costs seconds to tens of seconds, so each is built once per session
and shared; tests must treat them as read-only (copy or hard-link them to serve or alter).

``east_archive``
    The ``east-test`` AOI (88 x 90 px in KK Park's eastern section) from 2024-07-01 to
    2026-01-31 with the ``kk-park-east`` scenario: the October-December 2025 demolitions are
    planted, so a run over the whole period confirms detections. A two-month window of it
    (``SHORT_PERIOD``) is a quick run of about 18 scenes.
``east_reference``
    One uninterrupted ``monitor run`` over the whole ``east_archive``: what crashed,
    incremental or faulty runs must end up equal to.
``pair_archive``
    Two AOIs about 9 km apart (``east-test`` and ``mae-test``) over ``SHORT_PERIOD``: each
    gets its own simulated ground and items (``<scene id>_<ground>``), so faults can hit one
    AOI's scenes and not the other's.

The helpers (``run_cli``, ``export_all``, ``status_json``) call the CLI in this process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.aoi import aoi_from_geojson
from monitor.cli.main import main
from monitor.simulate import simulate_archive

__all__ = [
    "EAST_AOI",
    "MAE_AOI",
    "FULL_PERIOD",
    "SHORT_PERIOD",
    "SimArchive",
    "RunState",
    "build_archive",
    "link_tree",
    "run_cli",
    "export_all",
    "status_json",
]

#: 88 x 90 px inside KK Park's eastern section, where the simulator plants the
#: October-December 2025 demolitions (test AOIs stay within 100 x 100 px).
EAST_AOI: dict[str, Any] = {
    "type": "Feature",
    "properties": {"id": "east-test", "name": "East <test>"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [98.566, 16.624],
                [98.574, 16.624],
                [98.574, 16.632],
                [98.566, 16.632],
                [98.566, 16.624],
            ]
        ],
    },
}
#: A patch of Mae Sot, about 9 km north of EAST_AOI: far enough for a ground of its own.
MAE_AOI: dict[str, Any] = {
    "type": "Feature",
    "properties": {"id": "mae-test", "name": "Mae Sot test"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [98.570, 16.705],
                [98.578, 16.705],
                [98.578, 16.713],
                [98.570, 16.713],
                [98.570, 16.705],
            ]
        ],
    },
}

#: The planted demolitions need a year of history before them to be confirmed.
FULL_PERIOD = ("2024-07-01", "2026-01-31")
#: Two dry-season months: mostly clear scenes, a run of seconds.
SHORT_PERIOD = ("2025-01-01", "2025-02-28")


@dataclass(frozen=True)
class SimArchive:
    """A simulated static archive and the AOI files it was simulated for.

    Attributes
    ----------
    folder : the folder holding ``<aoi id>.geojson`` files and ``sim/``.
    sim : the static collection's folder (``sim/collection.json``, ``items/``, ``assets/``).
    aoi_files : AOI id -> its GeoJSON file.
    period : first and last simulated day (ISO).
    """

    folder: Path
    sim: Path
    aoi_files: dict[str, Path]
    period: tuple[str, str]

    def items(self, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
        """The archive's STAC items sensed on UTC days ``since`` to ``until``, by id."""
        first, last = since or self.period[0], until or self.period[1]
        found = []
        for path in sorted((self.sim / "items").glob("*.json")):
            item = json.loads(path.read_text())
            if first <= item["properties"]["datetime"][:10] <= last:
                found.append(item)
        return found


@dataclass(frozen=True)
class RunState:
    """The state and reports folders of a finished run."""

    state: Path
    reports: Path


def build_archive(
    folder: Path,
    features: Sequence[dict[str, Any]],
    *,
    seed: int,
    period: tuple[str, str],
    scenario: str | None = None,
) -> SimArchive:
    """Write the AOI files of ``features`` into ``folder`` and simulate ``folder/sim``."""
    folder.mkdir(parents=True, exist_ok=True)
    aois, files = [], {}
    for feature in features:
        aoi_id = feature["properties"]["id"]
        path = folder / f"{aoi_id}.geojson"
        path.write_text(json.dumps(feature))
        aois.append(aoi_from_geojson(feature, where=str(path), path=str(path)))
        files[aoi_id] = path
    simulate_archive(
        aois,
        folder / "sim",
        seed=seed,
        style="c1",
        start=dt.date.fromisoformat(period[0]),
        end=dt.date.fromisoformat(period[1]),
        scenario=scenario,
    )
    return SimArchive(folder, folder / "sim", files, period)


def link_tree(source: Path, target: Path) -> Path:
    """Copy a folder tree with hard links (no data copied); plain copies across devices."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)
    return target


def run_cli(args: Sequence[str | os.PathLike[str]]) -> int:
    """``monitor ARGS`` in this process; its exit code."""
    return main([str(a) for a in args])


def export_all(state: Path, out: Path) -> list[dict[str, Any]]:
    """Every stored detection (``export --status all``), all properties and the geometry."""
    assert (
        run_cli(
            [
                "export",
                "--format",
                "geojson",
                "--status",
                "all",
                "--out",
                out,
                "--state-dir",
                state,
                "--overwrite",
            ]
        )
        == 0
    )
    return [
        f["properties"] | {"geometry": f["geometry"]}
        for f in json.loads(out.read_text())["features"]
    ]


def status_json(state: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``monitor status --json`` of ``state``, parsed."""
    capsys.readouterr()
    assert run_cli(["status", "--json", "--state-dir", state]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


@pytest.fixture(scope="session")
def east_archive(tmp_path_factory: pytest.TempPathFactory) -> SimArchive:
    """``east-test`` over FULL_PERIOD with the kk-park-east demolitions planted."""
    return build_archive(
        tmp_path_factory.mktemp("east"),
        [EAST_AOI],
        seed=5,
        period=FULL_PERIOD,
        scenario="kk-park-east",
    )


@pytest.fixture(scope="session")
def east_reference(east_archive: SimArchive, tmp_path_factory: pytest.TempPathFactory) -> RunState:
    """One uninterrupted run over the whole east archive (exit 0), with its exports."""
    folder = tmp_path_factory.mktemp("east-reference")
    done = RunState(folder / "state", folder / "reports")
    assert (
        run_cli(
            [
                "run",
                "--stac",
                east_archive.sim,
                "--aoi",
                east_archive.aoi_files["east-test"],
                "--state-dir",
                done.state,
                "--reports-dir",
                done.reports,
                "--since",
                FULL_PERIOD[0],
                "--until",
                FULL_PERIOD[1],
            ]
        )
        == 0
    )
    return done


@pytest.fixture(scope="session")
def pair_archive(tmp_path_factory: pytest.TempPathFactory) -> SimArchive:
    """``east-test`` and ``mae-test``, each on its own ground, over SHORT_PERIOD."""
    return build_archive(
        tmp_path_factory.mktemp("pair"), [EAST_AOI, MAE_AOI], seed=3, period=SHORT_PERIOD
    )
