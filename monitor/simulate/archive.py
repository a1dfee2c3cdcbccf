"""The simulated archive on disk: grounds, planted changes, every acquisition, the truth.

Layout of the output folder (one call, one collection)::

    DIR/simulation.json            marker: parameters, completeness, wrongly flagged items
    DIR/collection.json            static STAC collection linking every item
    DIR/items/<item id>.json       one item per acquisition and ground
    DIR/assets/<item id>/B02.tif   COGs: B02 B03 B04 B08 (10 m), B05 B06 B07 B8A B11 B12 SCL (20 m)
    DIR/truth.geojson              every planted change (EPSG:4326)
    DIR/truth/<aoi id>.tif         class codes on each AOI's grid; DIR/truth.tif = first AOI's
    DIR/quicklook.png              with quicklook=True

AOIs whose grids lie within 1 km of each other share one simulated ground (kk-park-east is
read from kk-park's ground, not simulated twice); AOIs farther apart get their own ground and
COG set, and their items behave like the neighbouring tiles of one datatake: same
acquisition, different footprint, the ground's name appended to the item id. The grounds are
drawn in :mod:`monitor.simulate.grounds`, the acquisitions written in
:mod:`monitor.simulate.scenes`, the truth in :mod:`monitor.simulate.truth`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry import box

from monitor import __version__
from monitor.aoi.grid import grid_for_geometry
from monitor.errors import AoiError, ConfigError, StateError
from monitor.models import Aoi
from monitor.simulate.changes import SCENARIOS
from monitor.simulate.grounds import (
    DEMO_BOXES,
    MARGIN_M,
    TILE_EPSG,
    GroundPlan,
    group_aois,
    plan_ground,
)
from monitor.simulate.quicklook import write_quicklook
from monitor.simulate.scenes import ItemRecord, write_acquisitions
from monitor.simulate.schedule import TILE, Acquisition, acquisition_schedule
from monitor.simulate.skyworld import SkyDraw
from monitor.simulate.stac import make_collection, write_json
from monitor.simulate.truth import write_truth
from monitor.simulate.world import World, draw_world

__all__ = [
    "MARKER",
    "MARGIN_M",
    "WRONG_FLAGS_PER_YEAR",
    "TILE_BOUNDS",
    "SimulationResult",
    "simulate_archive",
    "demo_aois",
]

#: The marker file that makes a folder recognisably a simulation.
MARKER = "simulation.json"
_MARKER_FORMAT = 1
#: Version of what the simulator draws. Bump it with any change that alters the output for
#: a given seed: a folder holding an earlier version's output is then simulated again
#: (``monitor demo`` also forgets what it derived from it).
SIMULATOR_VERSION = 3
#: Style ``l2a``: items per year whose flag says the offset was removed while the pixels keep
#: +1000 (Earth Search has shipped such items; the imagery stage must catch them).
WRONG_FLAGS_PER_YEAR = 2
#: Tile 47QMU's extent in EPSG:32647 (left, bottom, right, top).
TILE_BOUNDS = (399960.0, 1790220.0, 509760.0, 1900020.0)


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate_archive` wrote.

    ``truth_tif`` is the first AOI's truth raster; ``truth_tifs`` gives every AOI's.
    ``reused`` says an identical earlier simulation was found and nothing was written
    (``seconds`` is then 0-ish).
    """

    out_dir: Path
    collection_path: Path
    truth_geojson: Path
    truth_tif: Path
    n_items: int
    n_changes: int
    bytes_written: int
    seconds: float
    truth_tifs: Mapping[str, Path] = field(default_factory=dict)
    quicklook: Path | None = None
    reused: bool = False


def demo_aois() -> list[Aoi]:
    """The four demo AOIs as boxes (kk-park, kk-park-east, shwe-kokko, mae-sot)."""
    out = []
    for aoi_id, (bounds, name, kind) in DEMO_BOXES.items():
        geometry = box(*bounds)
        out.append(
            Aoi(
                id=aoi_id,
                name=name,
                geometry=geometry,
                geometry_hash=hashlib.sha256(shapely.to_wkb(geometry)).hexdigest(),
                grid=grid_for_geometry(geometry),
                kind=kind,
            )
        )
    return out


def _check_inputs(
    aois: Sequence[Aoi], style: str, start: dt.date, end: dt.date, scenario: str | None
) -> None:
    if style not in ("l2a", "c1"):
        raise ConfigError(f"unknown simulation style {style!r}: expected 'l2a' or 'c1'")
    if not start < end:
        raise ConfigError(
            f"simulation dates in the wrong order: start {start} is not before end {end}"
        )
    if scenario is not None and scenario not in SCENARIOS:
        raise ConfigError(
            f"unknown simulation scenario {scenario!r}: expected one of {', '.join(SCENARIOS)}"
        )
    if not aois:
        raise AoiError("no AOI given to simulate")
    left, bottom, right, top = TILE_BOUNDS
    for aoi in aois:
        g = aoi.grid
        if (
            g.epsg != TILE_EPSG
            or g.left - MARGIN_M < left
            or g.right + MARGIN_M > right
            or g.bottom - MARGIN_M < bottom
            or g.top + MARGIN_M > top
        ):
            raise AoiError(
                f"AOI {aoi.id} ({aoi.path or 'given in code'}) lies outside "
                f"Sentinel-2 tile {TILE}, the only tile the simulator draws"
            )


def _params(
    aois: Sequence[Aoi],
    seed: int,
    style: str,
    start: dt.date,
    end: dt.date,
    scenario: str | None,
    world: str,
) -> dict[str, Any]:
    return {
        "seed": seed,
        "style": style,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "scenario": scenario,
        "world": world,
        "monitor_version": __version__,
        "simulator_version": SIMULATOR_VERSION,
        "aois": [[a.id, a.geometry_hash, a.kind] for a in aois],
    }


def _prepare_out_dir(
    out_dir: Path, params: dict[str, Any], overwrite: bool
) -> dict[str, Any] | None:
    """Check the folder; return the earlier marker when it holds this very simulation."""
    marker = out_dir / MARKER
    if out_dir.exists() and not out_dir.is_dir():
        raise StateError(f"simulation output {out_dir} exists and is not a folder")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        out_dir.mkdir(parents=True, exist_ok=True)
        return None
    earlier: dict[str, Any] | None = None
    if marker.is_file():
        try:
            earlier = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            earlier = None
    if earlier is None or earlier.get("format") != _MARKER_FORMAT:
        if not overwrite:
            raise StateError(
                f"output folder {out_dir} exists and is not a simulation "
                f"(no {MARKER}); pass --overwrite to write into it anyway"
            )
        return None
    # A marker written before worlds existed holds the default world.
    earlier_params = {"world": "default", **(earlier.get("params") or {})}
    if earlier.get("complete") and earlier_params == params:
        return earlier
    if earlier.get("complete") and not overwrite:
        raise StateError(
            f"output folder {out_dir} holds a different simulation; pass --overwrite to replace it"
        )
    # Our own earlier (or unfinished) output: clear what we wrote before writing again.
    for name in ("items", "assets", "truth"):
        if (out_dir / name).is_dir():
            shutil.rmtree(out_dir / name)
    return None


def _wrongly_flagged(
    acquisitions: Sequence[Acquisition], start: dt.date, end: dt.date, sky: SkyDraw
) -> set[int]:
    """Indices of the acquisitions whose l2a items carry a wrong offset flag.

    Chosen among mostly clear acquisitions, so the pixels can betray them.
    """
    years = (end - start).days / 365.25
    count = max(1, int(round(WRONG_FLAGS_PER_YEAR * years)))
    clear = []
    for acq in acquisitions:
        weather = sky.weather(np.random.default_rng(sky.stream("sky", acq.index)), acq.date)
        if weather.cloud_fraction < 0.4:
            clear.append(acq.index)
    if not clear:
        return set()
    rng = np.random.default_rng(sky.stream("wrong-flags"))
    return set(int(i) for i in rng.choice(clear, size=min(count, len(clear)), replace=False))


def _write_collection(
    out_dir: Path,
    records: list[ItemRecord],
    acquisitions: Sequence[Acquisition],
    style: str,
    start: dt.date,
    end: dt.date,
    seed: int,
    world: str,
) -> int:
    """``collection.json`` linking every item; the bytes written."""
    bbox = (
        [
            min(r["bbox"][0] for r in records),
            min(r["bbox"][1] for r in records),
            max(r["bbox"][2] for r in records),
            max(r["bbox"][3] for r in records),
        ]
        if records
        else [0, 0, 0, 0]
    )
    first = (
        acquisitions[0].datetime if acquisitions else dt.datetime.combine(start, dt.time(), dt.UTC)
    )
    last = (
        acquisitions[-1].datetime if acquisitions else dt.datetime.combine(end, dt.time(), dt.UTC)
    )
    collection = make_collection(
        style, [f"./items/{r['id']}.json" for r in records], bbox, first, last, seed, world=world
    )
    return write_json(out_dir / "collection.json", collection)


def _summary(
    out_dir: Path,
    records: list[ItemRecord],
    features: list[dict[str, Any]],
    bytes_written: int,
    seconds: float,
    truth_tifs: dict[str, Path],
    first: str,
    quicklook_path: Path | None,
    plans: list[GroundPlan],
    drawn: World,
    start: dt.date,
    end: dt.date,
) -> dict[str, Any]:
    """What the completed marker records of a simulation."""
    return {
        "complete": True,
        "n_items": len(records),
        "n_changes": len(features),
        "bytes_written": bytes_written,
        "seconds": round(seconds, 2),
        "truth_tifs": {k: str(v.relative_to(out_dir)) for k, v in truth_tifs.items()},
        "first_aoi": first,
        "quicklook": "quicklook.png" if quicklook_path else None,
        "grounds": {
            p.ground.id: {
                "aois": list(p.ground.aoi_ids),
                "grid": list(p.ground.grid.bounds),
                "shape": list(p.ground.grid.shape),
            }
            for p in plans
        },
        "wrongly_flagged_items": [r["id"] for r in records if r["wrong_flag"]],
        "slipped_items": [r["id"] for r in records if r["slipped"]],
        "misclassified_items": {
            r["id"]: r["misclassified"] for r in records if r["misclassified"] is not None
        },
        "world": {
            **drawn.to_json(),
            "sky": drawn.sky.to_json(years=range(start.year, end.year + 1)),
        },
    }


def simulate_archive(
    aois: Sequence[Aoi],
    out_dir: Path,
    *,
    seed: int = 0,
    style: Literal["l2a", "c1"] = "c1",
    start: dt.date = dt.date(2023, 7, 1),
    end: dt.date = dt.date(2026, 6, 30),
    quicklook: bool = False,
    overwrite: bool = False,
    scenario: str | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    world: str = "default",
    red_edge: bool = True,
) -> SimulationResult:
    """Write a simulated Sentinel-2 archive of ``aois`` with the truth of every planted change.

    Parameters
    ----------
    aois : areas to simulate (all inside tile 47QMU); the first one's truth is ``truth_tif``.
    out_dir : output folder; created if needed. A folder that exists, is not empty and holds
        no simulation is refused unless ``overwrite``; an identical earlier simulation is
        reused as it is; a different one is replaced only with ``overwrite``.
    seed : everything drawn derives from it: the same seed gives byte-identical rasters.
    style : ``c1`` (pixels keep +1000, like ``sentinel-2-c1-l2a``) or ``l2a`` (offset
        removed and flagged, like ``sentinel-2-l2a``, except WRONG_FLAGS_PER_YEAR items).
    start, end : first and last day of the archive.
    quicklook : also write ``quicklook.png``.
    scenario : plant this scenario in every AOI instead of choosing by AOI id
        (see :mod:`monitor.simulate.changes`).
    progress : called with short progress lines.
    workers : processes writing acquisitions (default: up to 2; 1 runs in this process).
    world : ``default`` (the fixed world: the same seed gives the same bytes) or ``random`` (a
        ground and sky drawn for the seed, see :mod:`monitor.simulate.world`). Recorded in
        the marker's parameters: a different world is a different simulation.
    red_edge : also write the red-edge bands B05 B06 B07 B8A (every other file is the same
        bytes either way). Recorded in the marker's parameters.

    Raises
    ------
    ConfigError : unknown style, scenario or world, dates in the wrong order.
    AoiError : no AOI, or an AOI outside tile 47QMU.
    StateError : the output folder is not a simulation (or another one) and no ``overwrite``.
    """
    started = time.perf_counter()
    aois = list(aois)
    _check_inputs(aois, style, start, end, scenario)
    drawn = draw_world(world, seed)
    out_dir = Path(out_dir)
    params = _params(aois, seed, style, start, end, scenario, world) | {"red_edge": red_edge}
    earlier = _prepare_out_dir(out_dir, params, overwrite)
    if earlier is not None:
        return _result_from_marker(out_dir, earlier, time.perf_counter() - started)
    say = progress or (lambda _line: None)
    marker = {"format": _MARKER_FORMAT, "complete": False, "params": params}
    write_json(out_dir / MARKER, marker)

    plans = _plan_grounds(aois, seed, start, end, scenario, drawn, say)
    written = _write_outputs(
        out_dir,
        aois,
        plans,
        seed,
        style,
        (start, end),
        world,
        drawn,
        quicklook,
        workers,
        say,
        red_edge,
    )
    return _complete(out_dir, marker, written, aois[0].id, plans, drawn, start, end, started, say)


def _plan_grounds(
    aois: Sequence[Aoi],
    seed: int,
    start: dt.date,
    end: dt.date,
    scenario: str | None,
    drawn: World,
    say: Callable[[str], None],
) -> list[GroundPlan]:
    """Every ground of the simulation with its planted changes, announced through ``say``."""
    groups = group_aois(aois)
    plans = [
        plan_ground(i, members, seed, start, end, scenario, drawn.ground)
        for i, members in enumerate(groups)
    ]
    say(
        f"{len(plans)} ground(s): "
        + ", ".join(
            f"{p.ground.id} {p.ground.grid.width}x{p.ground.grid.height} px, "
            f"{len(p.changes)} changes"
            for p in plans
        )
    )
    return plans


@dataclass(frozen=True)
class _Written:
    """What a simulation wrote: item records, truth features, truth rasters, quicklook, bytes."""

    records: list[ItemRecord]
    features: list[dict[str, Any]]
    truth_tifs: dict[str, Path]
    quicklook: Path | None
    bytes_written: int


def _write_outputs(
    out_dir: Path,
    aois: Sequence[Aoi],
    plans: list[GroundPlan],
    seed: int,
    style: str,
    period: tuple[dt.date, dt.date],
    world: str,
    drawn: World,
    quicklook: bool,
    workers: int | None,
    say: Callable[[str], None],
    red_edge: bool,
) -> _Written:
    """Write the items with their COGs, the collection, the truth and the quicklook."""
    start, end = period
    acquisitions = acquisition_schedule(start, end)
    wrong = _wrongly_flagged(acquisitions, start, end, drawn.sky) if style == "l2a" else set()
    (out_dir / "items").mkdir(exist_ok=True)
    (out_dir / "assets").mkdir(exist_ok=True)
    jobs = [(acq, acq.index in wrong) for acq in acquisitions]
    n_workers = workers or min(2, os.cpu_count() or 1)
    records = write_acquisitions(
        jobs, plans, out_dir, seed, style, drawn, n_workers, say, red_edge=red_edge
    )

    bytes_written = sum(r["bytes"] for r in records)
    bytes_written += _write_collection(
        out_dir, records, acquisitions, style, start, end, seed, world
    )
    first = aois[0].id
    features, truth_tifs, truth_bytes = write_truth(out_dir, plans, first)
    bytes_written += truth_bytes

    quicklook_path = None
    if quicklook:
        first_ground = next(p.ground.id for p in plans if first in p.ground.aoi_ids)
        quicklook_path = write_quicklook(
            out_dir, first_ground, records, features, out_dir / "quicklook.png", style=style
        )
        bytes_written += quicklook_path.stat().st_size
    return _Written(records, features, truth_tifs, quicklook_path, bytes_written)


def _complete(
    out_dir: Path,
    marker: dict[str, Any],
    written: _Written,
    first: str,
    plans: list[GroundPlan],
    drawn: World,
    start: dt.date,
    end: dt.date,
    started: float,
    say: Callable[[str], None],
) -> SimulationResult:
    """Mark the simulation complete in its marker, say what was written, return the result."""
    seconds = time.perf_counter() - started
    marker.update(
        _summary(
            out_dir,
            written.records,
            written.features,
            written.bytes_written,
            seconds,
            written.truth_tifs,
            first,
            written.quicklook,
            plans,
            drawn,
            start,
            end,
        )
    )
    write_json(out_dir / MARKER, marker)
    say(
        f"wrote {len(written.records)} items, {len(written.features)} planted changes, "
        f"{written.bytes_written / 1e6:.0f} MB in {seconds:.0f} s"
    )
    return SimulationResult(
        out_dir=out_dir,
        collection_path=out_dir / "collection.json",
        truth_geojson=out_dir / "truth.geojson",
        truth_tif=out_dir / "truth.tif",
        n_items=len(written.records),
        n_changes=len(written.features),
        bytes_written=written.bytes_written,
        seconds=seconds,
        truth_tifs=written.truth_tifs,
        quicklook=written.quicklook,
    )


def _result_from_marker(out_dir: Path, marker: dict[str, Any], seconds: float) -> SimulationResult:
    """The result of an identical earlier simulation, read from its marker."""
    truth_tifs = {k: out_dir / v for k, v in marker.get("truth_tifs", {}).items()}
    return SimulationResult(
        out_dir=out_dir,
        collection_path=out_dir / "collection.json",
        truth_geojson=out_dir / "truth.geojson",
        truth_tif=out_dir / "truth.tif",
        n_items=int(marker.get("n_items", 0)),
        n_changes=int(marker.get("n_changes", 0)),
        bytes_written=int(marker.get("bytes_written", 0)),
        seconds=seconds,
        truth_tifs=truth_tifs,
        quicklook=out_dir / marker["quicklook"] if marker.get("quicklook") else None,
        reused=True,
    )
