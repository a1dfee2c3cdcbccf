"""The simulated archive on disk: grounds, planted changes, every acquisition, the truth.

Layout of the output folder (one call, one collection)::

    DIR/simulation.json            marker: parameters, completeness, wrongly flagged items
    DIR/collection.json            static STAC collection linking every item
    DIR/items/<item id>.json       one item per acquisition and ground
    DIR/assets/<item id>/B02.tif   COGs: B02 B03 B04 B08 (10 m), B11 B12 SCL (20 m)
    DIR/truth.geojson              every planted change (EPSG:4326)
    DIR/truth/<aoi id>.tif         class codes on each AOI's grid; DIR/truth.tif = first AOI's
    DIR/quicklook.png              with quicklook=True

AOIs whose grids lie within 1 km of each other share one simulated ground (kk-park-east is
read from kk-park's ground, not simulated twice); AOIs farther apart get their own ground and
COG set, and their items behave like the neighbouring tiles of one datatake: same
acquisition, different footprint, the ground's name appended to the item id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box, mapping

from monitor import __version__
from monitor.aoi.grid import grid_for_geometry, grid_mask
from monitor.errors import AoiError, ConfigError, StateError
from monitor.models import Aoi, Grid
from monitor.simulate.buildings import Settlement
from monitor.simulate.changes import (
    SCENARIOS,
    PlantedChange,
    plan_changes,
    plant_changes,
    state_at,
)
from monitor.simulate.cogs import write_cog, write_geotiff
from monitor.simulate.geography import RIVER_HALFWIDTH_WET_M, river_distance
from monitor.simulate.ground import Ground, build_ground
from monitor.simulate.groundworld import GroundDraw
from monitor.simulate.land import render_surface
from monitor.simulate.quicklook import write_quicklook
from monitor.simulate.schedule import TILE, Acquisition, acquisition_schedule, sun_angles
from monitor.simulate.sensor import SWATH_EDGE_RATE, observe
from monitor.simulate.skyworld import SkyDraw
from monitor.simulate.skyworld import seed_words as _seed_of
from monitor.simulate.stac import ASSET_FILES, item_id, make_collection, make_item, write_json
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
SIMULATOR_VERSION = 2
#: Margin around the AOIs' grids, metres: misregistration and blur never leave the raster.
MARGIN_M = 100.0
#: Style ``l2a``: items per year whose flag says the offset was removed while the pixels keep
#: +1000 (Earth Search has shipped such items; the imagery stage must catch them).
WRONG_FLAGS_PER_YEAR = 2
#: Tile 47QMU's extent in EPSG:32647 (left, bottom, right, top).
TILE_BOUNDS = (399960.0, 1790220.0, 509760.0, 1900020.0)
_TILE_EPSG = 32647
#: Boxes of the demo AOIs (lon/lat), used by :func:`demo_aois` when no AOI files are at hand.
_DEMO_BOXES: dict[str, tuple[tuple[float, float, float, float], str, str]] = {
    "kk-park": ((98.545, 16.615, 98.580, 16.645), "KK Park", "compound"),
    "kk-park-east": ((98.560, 16.620, 98.578, 16.636), "KK Park, eastern section", "compound"),
    "shwe-kokko": ((98.515, 16.800, 98.545, 16.845), "Shwe Kokko", "compound"),
    "mae-sot": ((98.550, 16.690, 98.600, 16.735), "Mae Sot", "control"),
}
_EAST_BOX = _DEMO_BOXES["kk-park-east"][0]


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
    for aoi_id, (bounds, name, kind) in _DEMO_BOXES.items():
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


@dataclass(eq=False)
class _GroundPlan:
    ground: Ground
    number: int
    aois: list[Aoi]
    aoi_masks: dict[str, npt.NDArray[np.bool_]]
    changes: list[PlantedChange]


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
            g.epsg != _TILE_EPSG
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


def _group_aois(aois: Sequence[Aoi]) -> list[list[Aoi]]:
    """AOIs whose grids come within 1 km of each other share a ground."""
    groups: list[list[Aoi]] = []
    boxes: list[tuple[float, float, float, float]] = []
    for aoi in sorted(aois, key=lambda a: -(a.grid.width * a.grid.height)):
        g = aoi.grid
        joined = None
        for i, (w, b, r, t) in enumerate(boxes):
            if (
                g.left < r + 1000
                and g.right > w - 1000
                and g.bottom < t + 1000
                and g.top > b - 1000
            ):
                joined = i
                break
        if joined is None:
            groups.append([aoi])
            boxes.append(g.bounds)
        else:
            groups[joined].append(aoi)
            w, b, r, t = boxes[joined]
            boxes[joined] = (min(w, g.left), min(b, g.bottom), max(r, g.right), max(t, g.top))
    return groups


def _ground_grid(aois: Sequence[Aoi]) -> Grid:
    left = min(a.grid.left for a in aois) - MARGIN_M
    bottom = min(a.grid.bottom for a in aois) - MARGIN_M
    right = max(a.grid.right for a in aois) + MARGIN_M
    top = max(a.grid.top for a in aois) + MARGIN_M
    # The tile's 20 m lattice: origin 399960 E, 1900020 N are multiples of 20 m.
    left, bottom = math.floor(left / 20) * 20, math.floor(bottom / 20) * 20
    right, top = math.ceil(right / 20) * 20, math.ceil(top / 20) * 20
    return Grid(
        epsg=_TILE_EPSG,
        left=float(left),
        top=float(top),
        width=int(round((right - left) / 10)),
        height=int(round((top - bottom) / 10)),
    )


def _scenario_for(aoi: Aoi) -> str:
    if aoi.id.startswith("kk-park-east"):
        return "kk-park-east"
    if aoi.id.startswith("kk-park"):
        return "kk-park"
    if aoi.id.startswith("shwe-kokko"):
        return "shwe-kokko"
    return "growth"


def _nested_in(aoi: Aoi, others: Sequence[Aoi]) -> Aoi | None:
    for other in others:
        if other is not aoi and other.geometry.area > aoi.geometry.area:
            inter = other.geometry.intersection(aoi.geometry).area
            if inter >= 0.9 * aoi.geometry.area:
                return other
    return None


def _settlement_kind(aoi: Aoi) -> str:
    """How an AOI's settlement is drawn: KK Park-like compound, Shwe Kokko-like city, town."""
    if aoi.id.startswith("shwe-kokko"):
        return "city"
    kind = aoi.kind or ("compound" if _scenario_for(aoi) != "growth" else "town")
    return "compound" if kind == "compound" else "town"


def _new_area(
    inside: npt.NDArray[np.bool_],
    east: npt.NDArray[np.bool_],
    buildable: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """KK Park's 2025 new area: an irregular tract in the AOI's north-west, left unbuilt
    (fields and scrub) until the planted constructions of 2025 go up in it."""
    from scipy import ndimage

    rows, cols = np.nonzero(inside)
    if rows.size == 0:
        return inside
    r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
    rr, cc = np.mgrid[0 : inside.shape[0], 0 : inside.shape[1]].astype(np.float32)
    centre_r = r0 + 0.30 * (r1 - r0)
    centre_c = c0 + 0.30 * (c1 - c0)
    radius_r, radius_c = 0.24 * (r1 - r0), 0.22 * (c1 - c0)
    wobble = ndimage.gaussian_filter(rng.standard_normal(inside.shape).astype(np.float32), 9.0)
    wobble /= max(float(wobble.std()), 1e-6)
    blob = ((rr - centre_r) / max(radius_r, 1.0)) ** 2 + ((cc - centre_c) / max(radius_c, 1.0)) ** 2
    away_from_east = ~ndimage.binary_dilation(east, iterations=4)
    area = (blob < 1.0 + 0.35 * wobble) & inside & away_from_east & buildable
    return area if area.sum() > 200 else inside


def _plan_ground(
    number: int,
    members: list[Aoi],
    seed: int,
    start: dt.date,
    end: dt.date,
    scenario: str | None,
    ground_draw: GroundDraw | None = None,
) -> _GroundPlan:
    from scipy import ndimage

    grid = _ground_grid(members)
    ground_id = members[0].id
    rng = np.random.default_rng(_seed_of(seed, "ground", ground_id))
    aoi_masks = {a.id: grid_mask(a.geometry, grid) for a in members}
    east_aoi = next((a for a in members if a.id.startswith("kk-park-east")), None)
    buildable = river_distance(grid)[0] > RIVER_HALFWIDTH_WET_M + 40.0

    # Where each AOI's changes may go: inside it, its eastern section, KK Park's new area.
    regions: dict[tuple[str, str], npt.NDArray[np.bool_]] = {}
    chosen_for: dict[str, str] = {}
    reserve = np.zeros(grid.shape, dtype=bool)
    for aoi in members:
        parent = _nested_in(aoi, members)
        chosen = scenario or _scenario_for(aoi)
        if (
            parent is not None
            and scenario is None
            and _scenario_for(parent) == "kk-park"
            and chosen == "kk-park-east"
        ):
            continue  # the parent's scenario plants the eastern demolitions here
        if parent is not None and chosen == "growth":
            continue  # ordinary growth is planted once, by the enclosing AOI
        chosen_for[aoi.id] = chosen
        inside = ndimage.binary_erosion(aoi_masks[aoi.id], iterations=2)
        regions[(aoi.id, "aoi")] = inside
        if east_aoi is not None and east_aoi is not aoi:
            east = inside & aoi_masks[east_aoi.id]
        else:
            east = inside & grid_mask(box(*_EAST_BOX), grid)
        regions[(aoi.id, "east")] = east if east.sum() > 200 else inside
        if chosen == "kk-park":
            area = _new_area(
                inside,
                regions[(aoi.id, "east")],
                buildable,
                np.random.default_rng(_seed_of(seed, "new-area", aoi.id)),
            )
            regions[(aoi.id, "new-area")] = area
            if area is not inside:
                reserve |= area
    # The settlements: one per AOI not nested in another, the new area kept open.
    settlements = []
    for aoi in members:
        if _nested_in(aoi, members) is None:
            kind = _settlement_kind(aoi)
            spread = 8.0 if kind == "town" else 20.0
            settlements.append(
                Settlement(
                    kind=kind,
                    mask=aoi_masks[aoi.id],
                    angle_deg=float(rng.uniform(-spread, spread)),
                    reserve=reserve if reserve.any() else None,
                )
            )
    ground = build_ground(
        ground_id, grid, settlements, tuple(a.id for a in members), rng, draw=ground_draw
    )

    plans = []
    for aoi in members:
        if aoi.id not in chosen_for:
            continue
        plan_rng = np.random.default_rng(_seed_of(seed, "plan", aoi.id))
        plans += plan_changes(
            aoi.id,
            chosen_for[aoi.id],
            float(aoi_masks[aoi.id].sum()) * 1e-4,
            start,
            end,
            plan_rng,
            has_east=east_aoi is not None,
            draw=ground_draw,
        )
    planted = plant_changes(
        ground,
        plans,
        regions,
        aoi_masks,
        np.random.default_rng(_seed_of(seed, "plant", ground_id)),
        draw=ground_draw,
    )
    return _GroundPlan(
        ground=ground, number=number, aois=members, aoi_masks=aoi_masks, changes=planted
    )


def _to_lonlat(epsg: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)


def _swath_nodata(
    rng: np.random.Generator, x_range: tuple[float, float]
) -> tuple[float, float, int] | None:
    """A swath edge for this acquisition: (x at y=1.85e6, slope dx/dy, side) or None."""
    if rng.random() >= SWATH_EDGE_RATE:
        return None
    x0 = float(rng.uniform(*x_range))
    # Descending-orbit swath edges run about 12 degrees off north-south.
    return x0, math.tan(math.radians(12.0)), 1 if rng.random() < 0.5 else -1


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


def _simulate_acquisition(
    acq: Acquisition,
    plans: Sequence[_GroundPlan],
    out_dir: Path,
    seed: int,
    style: str,
    wrong_flag: bool,
    x_range: tuple[float, float],
    world: World,
) -> list[ItemRecord]:
    """Write every ground's COGs and item for one acquisition; return item records."""
    sky = world.sky
    acq_rng = np.random.default_rng(sky.stream("sky", acq.index))
    weather = sky.weather(acq_rng, acq.date)
    # Drawn from generators of its own: the default world (none) consumes nothing here.
    scene_error = sky.scene_error(acq.index, acq.date, weather)
    swath = _swath_nodata(acq_rng, x_range)
    tile_cloud = float(np.clip(weather.cloud_fraction * 100 + acq_rng.normal(0, 4), 0, 100))
    offset_in_pixels = style == "c1" or wrong_flag
    records: list[ItemRecord] = []
    for plan in plans:
        ground = plan.ground
        grid = ground.grid
        lon, lat = ground.centre_lonlat
        elevation, azimuth = sun_angles(acq.datetime, lat, lon)
        cover, height = state_at(ground, plan.changes, acq.date, draw=world.ground)
        surface = render_surface(
            ground, cover, height, acq.date, elevation, azimuth, draw=world.ground
        )
        footprint = box(*grid.bounds)
        nodata = None
        if swath is not None:
            x0, slope, side = swath
            xs = grid.left + (np.arange(grid.width) + 0.5) * 10
            ys = grid.top - (np.arange(grid.height) + 0.5) * 10
            edge = x0 + (ys[:, None] - 1.85e6) * slope
            nodata = (side * (xs[None, :] - edge)) > 0
            if nodata.all():
                continue
            if nodata.any():
                far = 1e6
                y_lo, y_hi = grid.bottom - 10, grid.top + 10
                line = [(x0 + (y_lo - 1.85e6) * slope, y_lo), (x0 + (y_hi - 1.85e6) * slope, y_hi)]
                keep = shapely.Polygon(
                    line + [(line[1][0] - side * far, y_hi), (line[0][0] - side * far, y_lo)]
                )
                footprint = footprint.intersection(keep)
        rng = np.random.default_rng(sky.stream("scene", acq.index, ground.id))
        error_rng = (
            None
            if scene_error is None
            else np.random.default_rng(_seed_of(seed, "sky", "scene-error", acq.index, ground.id))
        )
        seen = observe(
            surface,
            weather,
            rng,
            sun_elevation_deg=elevation,
            sun_azimuth_deg=azimuth,
            offset_in_pixels=offset_in_pixels,
            nodata=nodata,
            params=sky.sensor,
            band_gain=sky.band_gain(acq.platform),
            scene_error=scene_error,
            scene_error_rng=error_rng,
        )
        item = item_id(acq, style, ground.id, len(plans) == 1)
        asset_dir = out_dir / "assets" / item
        asset_dir.mkdir(parents=True, exist_ok=True)
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
        for key, array in layers.items():
            name = ASSET_FILES[key][0]
            size += write_cog(
                asset_dir / f"{name}.tif",
                array,
                grid20 if key in ("swir16", "swir22", "scl") else grid,
                resampling="NEAREST" if key == "scl" else "AVERAGE",
            )
            hrefs[key] = f"../assets/{item}/{name}.tif"
        ring = list(_to_lonlat(grid.epsg).itransform(list(footprint.exterior.coords)))
        document = make_item(
            item=item,
            style=style,
            acquisition=acq,
            ground_grid=grid,
            footprint_lonlat=ring,
            asset_hrefs=hrefs,
            cloud_cover=tile_cloud,
            nodata_percent=100.0 * seen.nodata_fraction,
            sun_elevation=elevation,
            sun_azimuth=azimuth,
            boa_offset_applied=True if style == "l2a" else None,
            ground_id=ground.id,
            aoi_ids=plan.ground.aoi_ids,
        )
        size += write_json(out_dir / "items" / f"{item}.json", document)
        records.append(
            {
                "id": item,
                "datetime": acq.datetime.isoformat(),
                "ground": ground.id,
                "bytes": size,
                "bbox": document["bbox"],
                "wrong_flag": wrong_flag,
                "cloud_fraction": seen.cloud_fraction,
                "slipped": seen.slipped,
                "haze": weather.haze,
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
        )
    return records


_WORKER: dict[str, Any] = {}


def _init_worker(
    plans: Sequence[_GroundPlan],
    out_dir: Path,
    seed: int,
    style: str,
    x_range: tuple[float, float],
    world: World,
) -> None:
    _WORKER.update(
        plans=plans, out_dir=out_dir, seed=seed, style=style, x_range=x_range, world=world
    )


def _worker_job(job: tuple[Acquisition, bool]) -> list[ItemRecord]:
    acq, wrong_flag = job
    w = _WORKER
    return _simulate_acquisition(
        acq, w["plans"], w["out_dir"], w["seed"], w["style"], wrong_flag, w["x_range"], w["world"]
    )


def _truth_features(plan: _GroundPlan) -> list[dict[str, Any]]:
    from rasterio import features

    grid = plan.ground.grid
    to_ll = _to_lonlat(grid.epsg)
    out = []
    for change in plan.changes:
        transform = Affine(
            10.0, 0.0, grid.left + change.col0 * 10.0, 0.0, -10.0, grid.top - change.row0 * 10.0
        )
        shapes = [
            shapely.geometry.shape(geom)
            for geom, value in features.shapes(
                change.mask.astype(np.uint8), mask=change.mask, transform=transform
            )
            if value == 1
        ]
        utm = shapely.union_all(shapes)
        lonlat = shapely.transform(
            utm, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1]))
        )
        out.append(
            {
                "type": "Feature",
                "id": change.id,
                "geometry": mapping(lonlat),
                "properties": {
                    "id": change.id,
                    "change_type": change.change_type,
                    "start": change.start.isoformat(),
                    "end": change.end.isoformat(),
                    "area_m2": float(change.n_pixels * 100.0),
                    "n_pixels": change.n_pixels,
                    "aois": list(change.aoi_ids),
                    "ground": change.ground_id,
                    "tag": change.tag,
                    "class_code": change.code,
                    "simulated": True,
                    # A random world's stages, materials and kinds (none in the default world).
                    **({"extra": change.extra} if change.extra else {}),
                },
            }
        )
    return out


def _truth_raster(plan: _GroundPlan, aoi: Aoi) -> npt.NDArray[np.uint8]:
    """Class codes on the AOI's grid: 0 no change, 1-5 the change type, 255 outside."""
    ground_grid = plan.ground.grid
    full = np.zeros(ground_grid.shape, dtype=np.uint8)
    for change in plan.changes:
        rows, cols = change.window()
        full[rows, cols] = np.where(change.mask, change.code, full[rows, cols])
    r0 = int(round((ground_grid.top - aoi.grid.top) / 10))
    c0 = int(round((aoi.grid.left - ground_grid.left) / 10))
    out = full[r0 : r0 + aoi.grid.height, c0 : c0 + aoi.grid.width].copy()
    out[~grid_mask(aoi.geometry, aoi.grid)] = 255
    return out


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


def _write_acquisitions(
    jobs: list[tuple[Acquisition, bool]],
    plans: list[_GroundPlan],
    out_dir: Path,
    seed: int,
    style: str,
    drawn: World,
    n_workers: int,
    say: Callable[[str], None],
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
            initargs=(plans, out_dir, seed, style, x_range, drawn),
        ) as pool:
            for done, batch in enumerate(pool.map(_worker_job, jobs, chunksize=4), start=1):
                records.extend(batch)
                if done % 25 == 0 or done == len(jobs):
                    say(f"acquisitions {done}/{len(jobs)}")
    else:
        for done, (acq, wrong_flag) in enumerate(jobs, start=1):
            records.extend(
                _simulate_acquisition(acq, plans, out_dir, seed, style, wrong_flag, x_range, drawn)
            )
            if done % 25 == 0 or done == len(jobs):
                say(f"acquisitions {done}/{len(jobs)}")
    records.sort(key=lambda r: (r["datetime"], r["id"]))
    return records


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


def _write_truth(
    out_dir: Path, plans: list[_GroundPlan], first: str
) -> tuple[list[dict[str, Any]], dict[str, Path], int]:
    """``truth.geojson``, ``truth/<aoi>.tif`` per AOI, ``truth.tif`` (the first AOI's): the
    features, the rasters by AOI id, the bytes written."""
    features = [f for p in plans for f in _truth_features(p)]
    truth_doc = {
        "type": "FeatureCollection",
        "name": "planted changes (SIMULATED)",
        "features": features,
    }
    bytes_written = write_json(out_dir / "truth.geojson", truth_doc)
    (out_dir / "truth").mkdir(exist_ok=True)
    truth_tifs: dict[str, Path] = {}
    for plan in plans:
        for aoi in plan.aois:
            path = out_dir / "truth" / f"{aoi.id}.tif"
            bytes_written += write_geotiff(path, _truth_raster(plan, aoi), aoi.grid, nodata=255)
            truth_tifs[aoi.id] = path
    shutil.copyfile(truth_tifs[first], out_dir / ".truth.tif.tmp")
    os.replace(out_dir / ".truth.tif.tmp", out_dir / "truth.tif")
    bytes_written += (out_dir / "truth.tif").stat().st_size
    return features, truth_tifs, bytes_written


def _summary(
    out_dir: Path,
    records: list[ItemRecord],
    features: list[dict[str, Any]],
    bytes_written: int,
    seconds: float,
    truth_tifs: dict[str, Path],
    first: str,
    quicklook_path: Path | None,
    plans: list[_GroundPlan],
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
    params = _params(aois, seed, style, start, end, scenario, world)
    earlier = _prepare_out_dir(out_dir, params, overwrite)
    if earlier is not None:
        return _result_from_marker(out_dir, earlier, time.perf_counter() - started)
    say = progress or (lambda _line: None)
    marker = {"format": _MARKER_FORMAT, "complete": False, "params": params}
    write_json(out_dir / MARKER, marker)

    groups = _group_aois(aois)
    plans = [
        _plan_ground(i, members, seed, start, end, scenario, drawn.ground)
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
    acquisitions = acquisition_schedule(start, end)
    wrong = _wrongly_flagged(acquisitions, start, end, drawn.sky) if style == "l2a" else set()
    (out_dir / "items").mkdir(exist_ok=True)
    (out_dir / "assets").mkdir(exist_ok=True)
    jobs = [(acq, acq.index in wrong) for acq in acquisitions]
    records = _write_acquisitions(
        jobs, plans, out_dir, seed, style, drawn, workers or min(2, os.cpu_count() or 1), say
    )

    bytes_written = sum(r["bytes"] for r in records)
    bytes_written += _write_collection(
        out_dir, records, acquisitions, style, start, end, seed, world
    )
    first = aois[0].id
    features, truth_tifs, truth_bytes = _write_truth(out_dir, plans, first)
    bytes_written += truth_bytes

    quicklook_path = None
    if quicklook:
        first_ground = next(p.ground.id for p in plans if first in p.ground.aoi_ids)
        quicklook_path = write_quicklook(
            out_dir, first_ground, records, features, out_dir / "quicklook.png", style=style
        )
        bytes_written += quicklook_path.stat().st_size

    seconds = time.perf_counter() - started
    marker.update(
        _summary(
            out_dir,
            records,
            features,
            bytes_written,
            seconds,
            truth_tifs,
            first,
            quicklook_path,
            plans,
            drawn,
            start,
            end,
        )
    )
    write_json(out_dir / MARKER, marker)
    say(
        f"wrote {len(records)} items, {len(features)} planted changes, "
        f"{bytes_written / 1e6:.0f} MB in {seconds:.0f} s"
    )
    return SimulationResult(
        out_dir=out_dir,
        collection_path=out_dir / "collection.json",
        truth_geojson=out_dir / "truth.geojson",
        truth_tif=out_dir / "truth.tif",
        n_items=len(records),
        n_changes=len(features),
        bytes_written=bytes_written,
        seconds=seconds,
        truth_tifs=truth_tifs,
        quicklook=quicklook_path,
    )


def _result_from_marker(out_dir: Path, marker: dict[str, Any], seconds: float) -> SimulationResult:
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
