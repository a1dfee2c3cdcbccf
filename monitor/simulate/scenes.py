"""The scenes of every acquisition written out: each ground's COGs, its STAC item, its record.

One acquisition draws its sky once (weather, swath edge, tile cloud cover) and every ground
of the archive is observed under it, like the neighbouring tiles of one datatake. The
acquisitions are written in worker processes when there are enough of them.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import box

from monitor.models import Grid
from monitor.simulate.changes import state_at
from monitor.simulate.cogs import write_cog
from monitor.simulate.grounds import GroundPlan, to_lonlat
from monitor.simulate.land import render_surface
from monitor.simulate.rededge import RED_EDGE_KEYS
from monitor.simulate.schedule import Acquisition, Weather, sun_angles
from monitor.simulate.sensor import SWATH_EDGE_RATE, Observed, SceneError, observe
from monitor.simulate.skyworld import seed_words
from monitor.simulate.stac import ASSET_FILES, item_id, make_item, write_json
from monitor.simulate.world import World

__all__ = ["ItemRecord", "write_acquisitions"]


class ItemRecord(TypedDict):
    """What the archive keeps of each item it wrote, for the collection, marker, quicklook."""

    id: str
    datetime: str
    ground: str
    bytes: int
    bbox: list[float]
    wrong_flag: bool
    cloud_fraction: float
    slipped: bool
    haze: float
    misclassified: dict[str, int | float | str] | None


#: A swath edge: (x at y=1.85e6, slope dx/dy, side of the edge without data).
_Swath = tuple[float, float, int]


@dataclass(frozen=True)
class _Sky:
    """What one acquisition draws once for every ground: its weather, SCL's scene error, the
    swath edge, the tile's cloud cover."""

    weather: Weather
    scene_error: SceneError | None
    swath: _Swath | None
    tile_cloud: float


def _swath_nodata(rng: np.random.Generator, x_range: tuple[float, float]) -> _Swath | None:
    """A swath edge for this acquisition: (x at y=1.85e6, slope dx/dy, side) or None."""
    if rng.random() >= SWATH_EDGE_RATE:
        return None
    x0 = float(rng.uniform(*x_range))
    # Descending-orbit swath edges run about 12 degrees off north-south.
    return x0, math.tan(math.radians(12.0)), 1 if rng.random() < 0.5 else -1


def _draw_sky(acq: Acquisition, world: World, x_range: tuple[float, float]) -> _Sky:
    """The acquisition's sky, drawn from its own generator in a fixed order."""
    sky = world.sky
    acq_rng = np.random.default_rng(sky.stream("sky", acq.index))
    weather = sky.weather(acq_rng, acq.date)
    # Drawn from generators of its own: the default world (none) consumes nothing here.
    scene_error = sky.scene_error(acq.index, acq.date, weather)
    swath = _swath_nodata(acq_rng, x_range)
    tile_cloud = float(np.clip(weather.cloud_fraction * 100 + acq_rng.normal(0, 4), 0, 100))
    return _Sky(weather=weather, scene_error=scene_error, swath=swath, tile_cloud=tile_cloud)


def _swath_cut(
    grid: Grid, swath: _Swath | None
) -> tuple[npt.NDArray[np.bool_] | None, shapely.Geometry] | None:
    """The pixels a swath edge leaves without data and the data footprint (ground CRS);
    None when the edge leaves the whole ground without data."""
    footprint = box(*grid.bounds)
    if swath is None:
        return None, footprint
    x0, slope, side = swath
    xs = grid.left + (np.arange(grid.width) + 0.5) * 10
    ys = grid.top - (np.arange(grid.height) + 0.5) * 10
    edge = x0 + (ys[:, None] - 1.85e6) * slope
    nodata = (side * (xs[None, :] - edge)) > 0
    if nodata.all():
        return None
    if nodata.any():
        far = 1e6
        y_lo, y_hi = grid.bottom - 10, grid.top + 10
        line = [(x0 + (y_lo - 1.85e6) * slope, y_lo), (x0 + (y_hi - 1.85e6) * slope, y_hi)]
        keep = shapely.Polygon(
            line + [(line[1][0] - side * far, y_hi), (line[0][0] - side * far, y_lo)]
        )
        footprint = footprint.intersection(keep)
    return nodata, footprint


def _write_assets(
    asset_dir: Path, item: str, seen: Observed, grid: Grid
) -> tuple[int, dict[str, str]]:
    """Every band's COG of one item: the bytes written, the hrefs by asset key."""
    grid20 = Grid(
        epsg=grid.epsg,
        left=grid.left,
        top=grid.top,
        width=grid.width // 2,
        height=grid.height // 2,
        res_m=20.0,
    )
    size = 0
    hrefs = {}
    layers = {
        "blue": seen.bands10[0],
        "green": seen.bands10[1],
        "red": seen.bands10[2],
        "nir": seen.bands10[3],
        "swir16": seen.bands20[0],
        "swir22": seen.bands20[1],
        "scl": seen.scl,
    }
    if seen.red_edge20 is not None:
        layers.update(zip(RED_EDGE_KEYS, seen.red_edge20, strict=True))
    for key, array in layers.items():
        name = ASSET_FILES[key][0]
        size += write_cog(
            asset_dir / f"{name}.tif",
            array,
            grid if key in ("blue", "green", "red", "nir") else grid20,
            resampling="NEAREST" if key == "scl" else "AVERAGE",
        )
        hrefs[key] = f"../assets/{item}/{name}.tif"
    return size, hrefs


def _record(
    item: str,
    acq: Acquisition,
    ground_id: str,
    size: int,
    bbox: list[float],
    wrong_flag: bool,
    seen: Observed,
    drawn: _Sky,
) -> ItemRecord:
    """What the archive keeps of one item it wrote."""
    scene_error = drawn.scene_error
    return {
        "id": item,
        "datetime": acq.datetime.isoformat(),
        "ground": ground_id,
        "bytes": size,
        "bbox": bbox,
        "wrong_flag": wrong_flag,
        "cloud_fraction": seen.cloud_fraction,
        "slipped": seen.slipped,
        "haze": drawn.weather.haze,
        "misclassified": (
            None
            if scene_error is None
            else {
                "scl_class": scene_error.scl_class,
                "degradation": scene_error.degradation,
                "share": round(seen.misclassified_share, 4),
            }
        ),
    }


def _simulate_scene(
    acq: Acquisition,
    plan: GroundPlan,
    single_ground: bool,
    out_dir: Path,
    seed: int,
    style: str,
    wrong_flag: bool,
    world: World,
    drawn: _Sky,
    red_edge: bool,
) -> ItemRecord | None:
    """Write one ground's COGs and item for one acquisition; None when the swath misses it."""
    sky = world.sky
    ground = plan.ground
    grid = ground.grid
    lon, lat = ground.centre_lonlat
    elevation, azimuth = sun_angles(acq.datetime, lat, lon)
    cover, height = state_at(ground, plan.changes, acq.date, draw=world.ground)
    surface = render_surface(
        ground,
        cover,
        height,
        acq.date,
        elevation,
        azimuth,
        draw=world.ground,
        red_edge=red_edge,
    )
    cut = _swath_cut(grid, drawn.swath)
    if cut is None:
        return None
    nodata, footprint = cut
    rng = np.random.default_rng(sky.stream("scene", acq.index, ground.id))
    error_rng = (
        None
        if drawn.scene_error is None
        else np.random.default_rng(seed_words(seed, "sky", "scene-error", acq.index, ground.id))
    )
    # The red edge's wobble and noise: a stream of its own, so no draw of the six bands moves.
    red_edge_rng = (
        np.random.default_rng(sky.stream("red-edge", "scene", acq.index, ground.id))
        if red_edge
        else None
    )
    seen = observe(
        surface,
        drawn.weather,
        rng,
        sun_elevation_deg=elevation,
        sun_azimuth_deg=azimuth,
        offset_in_pixels=style == "c1" or wrong_flag,
        nodata=nodata,
        params=sky.sensor,
        band_gain=sky.band_gain(acq.platform),
        scene_error=drawn.scene_error,
        scene_error_rng=error_rng,
        red_edge_rng=red_edge_rng,
    )
    item = item_id(acq, style, ground.id, single_ground)
    asset_dir = out_dir / "assets" / item
    asset_dir.mkdir(parents=True, exist_ok=True)
    size, hrefs = _write_assets(asset_dir, item, seen, grid)
    ring = list(to_lonlat(grid.epsg).itransform(list(footprint.exterior.coords)))
    document = make_item(
        item=item,
        style=style,
        acquisition=acq,
        ground_grid=grid,
        footprint_lonlat=ring,
        asset_hrefs=hrefs,
        cloud_cover=drawn.tile_cloud,
        nodata_percent=100.0 * seen.nodata_fraction,
        sun_elevation=elevation,
        sun_azimuth=azimuth,
        boa_offset_applied=True if style == "l2a" else None,
        ground_id=ground.id,
        aoi_ids=plan.ground.aoi_ids,
    )
    size += write_json(out_dir / "items" / f"{item}.json", document)
    return _record(item, acq, ground.id, size, document["bbox"], wrong_flag, seen, drawn)


def _simulate_acquisition(
    acq: Acquisition,
    plans: Sequence[GroundPlan],
    out_dir: Path,
    seed: int,
    style: str,
    wrong_flag: bool,
    x_range: tuple[float, float],
    world: World,
    red_edge: bool,
) -> list[ItemRecord]:
    """Write every ground's COGs and item for one acquisition (with the red-edge bands when
    ``red_edge``); return item records."""
    drawn = _draw_sky(acq, world, x_range)
    records: list[ItemRecord] = []
    for plan in plans:
        record = _simulate_scene(
            acq, plan, len(plans) == 1, out_dir, seed, style, wrong_flag, world, drawn, red_edge
        )
        if record is not None:
            records.append(record)
    return records


_WORKER: dict[str, Any] = {}


def _init_worker(
    plans: Sequence[GroundPlan],
    out_dir: Path,
    seed: int,
    style: str,
    x_range: tuple[float, float],
    world: World,
    red_edge: bool,
) -> None:
    """Keep what every acquisition of this worker process shares."""
    _WORKER.update(
        plans=plans,
        out_dir=out_dir,
        seed=seed,
        style=style,
        x_range=x_range,
        world=world,
        red_edge=red_edge,
    )


def _worker_job(job: tuple[Acquisition, bool]) -> list[ItemRecord]:
    """One acquisition in a worker process."""
    acq, wrong_flag = job
    w = _WORKER
    return _simulate_acquisition(
        acq,
        w["plans"],
        w["out_dir"],
        w["seed"],
        w["style"],
        wrong_flag,
        w["x_range"],
        w["world"],
        w["red_edge"],
    )


def write_acquisitions(
    jobs: list[tuple[Acquisition, bool]],
    plans: list[GroundPlan],
    out_dir: Path,
    seed: int,
    style: str,
    drawn: World,
    n_workers: int,
    say: Callable[[str], None],
    red_edge: bool = True,
) -> list[ItemRecord]:
    """Every acquisition's item and COGs, in worker processes when there are enough; the
    item records sorted by time."""
    x_range = (min(p.ground.grid.left for p in plans), max(p.ground.grid.right for p in plans))
    records: list[ItemRecord] = []
    if n_workers > 1 and len(jobs) > 4:
        # Worker processes (forked, so the grounds are inherited rather than pickled): numpy
        # and GDAL's DEFLATE both hold the GIL long enough that threads barely overlap.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            max_workers=n_workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(plans, out_dir, seed, style, x_range, drawn, red_edge),
        ) as pool:
            for done, batch in enumerate(pool.map(_worker_job, jobs, chunksize=4), start=1):
                records.extend(batch)
                if done % 25 == 0 or done == len(jobs):
                    say(f"acquisitions {done}/{len(jobs)}")
    else:
        for done, (acq, wrong_flag) in enumerate(jobs, start=1):
            records.extend(
                _simulate_acquisition(
                    acq, plans, out_dir, seed, style, wrong_flag, x_range, drawn, red_edge
                )
            )
            if done % 25 == 0 or done == len(jobs):
                say(f"acquisitions {done}/{len(jobs)}")
    records.sort(key=lambda r: (r["datetime"], r["id"]))
    return records
