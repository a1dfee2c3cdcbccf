"""The simulated ground before any planted change: one patch of tile 47QMU, drawn once.

A :class:`Ground` is one rectangular patch of tile 47QMU on the 10 m lattice, covering one or
more AOIs plus a margin. It holds the land cover before any planted change
(:mod:`monitor.simulate.land` renders it for any date):

- the Moei, 60-120 m wide (wider in the monsoon), turbid brown-green, meandering along the
  AOIs' east edges (KK Park, Shwe Kokko, Myawaddy on its west bank; Mae Sot 5 km east of
  it), with sandbars, bank gardens and riparian trees;
- a floodplain of irregular field parcels, each with its own crop (rain-fed rice, a second
  irrigated crop, maize, fallow), planting date and tone, some burnt in February-April;
  scattered field trees and tree-shaded villages; forested hills west of the river, shaded
  by the sun of the day; scrub and grass between; asphalt roads and laterite tracks;
- settlements drawn in street blocks (:mod:`monitor.simulate.buildings`), and the airport's
  runway where the ground reaches it.

These are the default world's fixed numbers. A random world (``draw`` of
:mod:`monitor.simulate.groundworld`) keeps the layout drawn here and redraws materials (one
tint per building or patch, ``Ground.variant``) and crop calendars (``Ground.calendar``).
Numpy and scipy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from scipy import ndimage
from scipy.spatial import cKDTree

from monitor.models import Grid
from monitor.simulate import groundworld
from monitor.simulate.buildings import Settlement, draw_settlement
from monitor.simulate.cover import Cover, FieldCrop
from monitor.simulate.geography import (
    RIVER_HALFWIDTH_DRY_M,
    RIVER_HALFWIDTH_WET_M,
    ROADS,
    draw_runway,
    line_distance,
    river_distance,
)
from monitor.simulate.noise import smooth_noise

if TYPE_CHECKING:
    from monitor.simulate.groundworld import FieldCalendar, GroundDraw

__all__ = ["Ground", "build_ground"]

_F32 = npt.NDArray[np.float32]
_U8 = npt.NDArray[np.uint8]


@dataclass(eq=False)
class Ground:
    """One simulated patch of ground on the 10 m lattice of tile 47QMU.

    Arrays are (rows, cols) on ``grid``:
    cover : uint8 :class:`Cover` codes before any planted change.
    height_m : float32 building heights (0 off buildings), for shadows.
    brightness : float32 multiplicative tone (per building, per parcel, slow variation).
    paddy_phase_days : int16 days by which a field parcel runs ahead of its crop calendar.
    river_distance_m : float32 distance from the river's centreline, scaled by the local
        channel width (so it compares with :func:`river_halfwidth_m` everywhere).
    block_angle_deg : orientation of the settlement's street blocks (planted buildings
        follow it).
    texture : float32 unit-variance pixel-scale texture, scaled per cover when rendered.
    tree_fraction : float32 share of the pixel under tree crowns (fields, yards, banks).
    parcel : int32 field parcel of each pixel (-1 off fields); the parcel_* arrays give
        each parcel's crop, calendar shift and burning day (-1: not burnt).
    slope_east, slope_north : float32 terrain gradients (dz/dx, dz/dy) for hill shading.
    variant : uint8 tint of each pixel in a random world (one per building or patch), or
        None in the default world; ``calendar`` the random world's crop calendars.
    """

    id: str
    grid: Grid
    aoi_ids: tuple[str, ...]
    cover: npt.NDArray[np.uint8]
    height_m: npt.NDArray[np.float32]
    brightness: npt.NDArray[np.float32]
    paddy_phase_days: npt.NDArray[np.int16]
    river_distance_m: npt.NDArray[np.float32]
    block_angle_deg: float
    centre_lonlat: tuple[float, float]
    texture: npt.NDArray[np.float32] | None = None
    tree_fraction: npt.NDArray[np.float32] | None = None
    parcel: npt.NDArray[np.int32] | None = None
    parcel_crop: npt.NDArray[np.int8] | None = None
    parcel_phase: npt.NDArray[np.int16] | None = None
    parcel_burn_doy: npt.NDArray[np.int16] | None = None
    slope_east: npt.NDArray[np.float32] | None = None
    slope_north: npt.NDArray[np.float32] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    variant: npt.NDArray[np.uint8] | None = None
    calendar: FieldCalendar | None = None


def _draw_terrain(
    shape: tuple[int, int], river: _F32, side: _F32, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Relief (0 flat to 1 hilly) and the terrain gradients (dz/dx, dz/dy) for hill shading."""
    # Terrain. The Dawna foothills rise west of the river (Myanmar side); the Thai side and
    # the Mae Sot basin stay flat. Forest on the hills, fields on the floodplain.
    west = np.clip((-side * river - 700.0) / 2200.0, 0.0, 1.0)
    # Hills are rougher inland on the Myanmar side; the Thai floodplain is nearly flat.
    roughness = 0.45 + 0.55 * np.clip(-side * river / 1500.0, 0.0, 1.0)
    relief = 0.55 * west + roughness * (
        0.30 * smooth_noise(rng, shape, 45.0) + 0.12 * smooth_noise(rng, shape, 14.0)
    )
    hills = np.clip((relief - 0.35) / 0.5, 0.0, 1.0)
    elevation = 140.0 * hills**1.5 + 25.0 * hills * smooth_noise(rng, shape, 6.0)
    slope_north, slope_east = np.gradient(elevation, 10.0)
    slope_north = -slope_north  # rows run south
    return relief, slope_east, slope_north


def _first_cover(
    relief: npt.NDArray[np.float64], shape: tuple[int, int], rng: np.random.Generator
) -> tuple[_U8, _F32]:
    """Scrub, fields, grass and forest by relief, with ragged edges; and the patch noise."""
    patch = smooth_noise(rng, shape, 9.0)
    edge = 0.07 * smooth_noise(rng, shape, 2.5)  # ragged edges of forest and fields
    cover = np.full(shape, Cover.SCRUB, dtype=np.uint8)
    fields_ok = (relief + edge < 0.30) | ((relief + edge < 0.42) & (patch > -0.3))
    cover[fields_ok] = Cover.PADDY
    cover[(relief >= 0.30) & (relief < 0.55) & (patch > 0.7)] = Cover.GRASS
    cover[relief + edge >= 0.50 + 0.08 * patch] = Cover.FOREST
    return cover, patch


@dataclass(frozen=True, eq=False)
class _Parcels:
    """The field parcels of a ground: each pixel's parcel, each parcel's crop and calendar."""

    parcel: npt.NDArray[np.int32]
    crop: npt.NDArray[np.int8]
    phase: npt.NDArray[np.int16]
    burn_doy: npt.NDArray[np.int16]
    tone: _F32


def _draw_parcels(
    shape: tuple[int, int], rr: _F32, cc: _F32, river: _F32, side: _F32, rng: np.random.Generator
) -> _Parcels:
    """An irregular patchwork of field parcels, each with its crop, planting date, tone and
    maybe a fire."""
    rows, cols = shape
    # Field parcels: an irregular patchwork (nearest of jittered seeds, stretched along the
    # local furrow direction), each with its crop, planting date, tone and maybe a fire.
    spacing = float(rng.uniform(6.5, 8.5))
    angle = math.radians(rng.uniform(0, 180))
    stretch = float(rng.uniform(1.3, 1.9))
    u = (cc * math.cos(angle) + rr * math.sin(angle)) / stretch
    v = -cc * math.sin(angle) + rr * math.cos(angle)
    span_u = np.arange(u.min() - spacing, u.max() + spacing, spacing / 1.0)
    span_v = np.arange(v.min() - spacing, v.max() + spacing, spacing)
    su, sv = np.meshgrid(span_u, span_v)
    seeds = np.column_stack([su.ravel(), sv.ravel()])
    seeds += rng.uniform(-0.45, 0.45, seeds.shape) * spacing
    _, parcel = cKDTree(seeds).query(np.column_stack([u.ravel(), v.ravel()]))
    _, parcel = np.unique(parcel, return_inverse=True)
    parcel = parcel.reshape(shape).astype(np.int32)
    n_parcels = int(parcel.max()) + 1
    # Crops: rain-fed rice everywhere on the floodplain, a second crop near water and town,
    # maize on the Thai uplands, some fallow.
    centre_r = np.bincount(parcel.ravel(), weights=rr.ravel(), minlength=n_parcels)
    count = np.maximum(np.bincount(parcel.ravel(), minlength=n_parcels), 1)
    centre_c = np.bincount(parcel.ravel(), weights=cc.ravel(), minlength=n_parcels)
    pr = np.clip((centre_r / count).astype(int), 0, rows - 1)
    pc = np.clip((centre_c / count).astype(int), 0, cols - 1)
    # Irrigation (a second crop) clusters along the river and around canals and ponds;
    # maize on the drier Thai uplands away from the river.
    irrigated = smooth_noise(rng, shape, 30.0)[pr, pc] + np.where(river[pr, pc] < 700.0, 1.2, 0.0)
    upland = smooth_noise(rng, shape, 40.0)[pr, pc] + np.where(side[pr, pc] > 0, 0.3, -0.3)
    crop_roll = rng.random(n_parcels)
    crop = np.full(n_parcels, FieldCrop.RICE, dtype=np.int8)
    crop[(upland > 0.6) & (crop_roll < 0.75)] = FieldCrop.MAIZE
    crop[(irrigated > 1.0) & (crop_roll < 0.7)] = FieldCrop.DOUBLE
    crop[crop_roll > 0.92] = FieldCrop.FALLOW
    parcel_phase = np.round(rng.normal(0, 14, n_parcels)).astype(np.int16)
    burn = np.where(
        (rng.random(n_parcels) < 0.14) & (crop != FieldCrop.DOUBLE),
        rng.integers(40, 105, n_parcels),
        -1,
    ).astype(np.int16)
    parcel_tone = rng.normal(1.0, 0.07, n_parcels).astype(np.float32)
    return _Parcels(parcel, crop, parcel_phase, burn, parcel_tone)


def _draw_tone(
    shape: tuple[int, int], cover: _U8, parcels: _Parcels, rng: np.random.Generator
) -> tuple[_F32, _F32]:
    """Brightness (slow variation, per parcel on fields) and pixel-scale texture."""
    parcel, parcel_tone = parcels.parcel, parcels.tone
    # Tone: slow variation everywhere, per-parcel on fields; texture at pixel scale.
    brightness = (1.0 + 0.035 * smooth_noise(rng, shape, 20.0)).astype(np.float32)
    brightness = np.where(cover == Cover.PADDY, brightness * parcel_tone[parcel], brightness)
    texture = 0.75 * ndimage.gaussian_filter(
        rng.standard_normal(shape).astype(np.float32), 0.8
    ) * 2.2 + 0.45 * rng.standard_normal(shape).astype(np.float32)
    texture /= max(float(texture.std()), 1e-6)
    return brightness, texture


def _draw_trees(
    shape: tuple[int, int], cover: _U8, river: _F32, bank_m: float, rng: np.random.Generator
) -> _F32:
    """Tree fraction of every pixel: field trees, shrubs, groves, riparian belts."""
    rows, cols = shape
    # Trees: scattered in fields (toddy palms, mango), patchy in scrub, thick along banks.
    tree = np.zeros(shape, dtype=np.float32)
    n_trees = int(rows * cols * 0.012)
    tr = rng.integers(0, rows, n_trees)
    tc = rng.integers(0, cols, n_trees)
    np.add.at(tree, (tr, tc), rng.uniform(0.5, 1.0, n_trees).astype(np.float32))
    tree = ndimage.gaussian_filter(tree, 0.6) * 2.0
    shrubs = np.clip(smooth_noise(rng, shape, 2.0) * 0.25 + 0.15, 0.0, 0.5)
    tree += np.where(cover == Cover.SCRUB, shrubs, 0.0)
    # Groves around temples, graveyards and homesteads: small dense tree islands.
    groves = np.clip((smooth_noise(rng, shape, 2.5) - 1.7) * 1.5, 0.0, 0.9)
    tree += np.where(np.isin(cover, (Cover.PADDY, Cover.SCRUB, Cover.GRASS)), groves, 0.0)
    riparian = np.exp(-(((river - bank_m - 25.0) / 22.0) ** 2)) * np.clip(
        0.7 + 0.4 * smooth_noise(rng, shape, 4.0), 0.0, 1.0
    )
    tree += 0.75 * riparian
    return tree


def _draw_villages(
    shape: tuple[int, int],
    rr: _F32,
    cc: _F32,
    cover: _U8,
    tree: _F32,
    height: _F32,
    brightness: _F32,
    patch: _F32,
    relief: npt.NDArray[np.float64],
    river: _F32,
    bank_m: float,
    rng: np.random.Generator,
) -> None:
    """Villages: clusters of small roofs under trees on the plain, off the hills (in place)."""
    rows, cols = shape
    village_area = rows * cols * 1e-4  # ha
    n_villages = int(rng.poisson(village_area / 120.0))
    if n_villages:
        centres = np.column_stack(
            [rng.uniform(0, rows, n_villages), rng.uniform(0, cols, n_villages)]
        )
        radius = rng.uniform(6.0, 17.0, n_villages)
        dist, which = cKDTree(centres).query(np.column_stack([rr.ravel(), cc.ravel()]))
        inside_village = (
            (dist.reshape(shape) < radius[which].reshape(shape) * (1.0 + 0.25 * patch))
            & (relief < 0.45)
            & (river > bank_m + 60)
        )
        cover[inside_village] = np.where(
            rng.random(int(inside_village.sum())) < 0.6, Cover.GRASS, Cover.SOIL
        ).astype(np.uint8)
        tree[inside_village] += 0.45
        houses = inside_village & (rng.random(shape) < 0.22)
        cover[houses] = rng.choice(
            [Cover.ROOF_TILE, Cover.ROOF_GREY, Cover.ROOF_RED, Cover.ROOF_BLUE],
            size=int(houses.sum()),
            p=[0.35, 0.4, 0.15, 0.1],
        ).astype(np.uint8)
        height[houses] = 5.0
        brightness[houses] *= rng.uniform(0.7, 1.0, int(houses.sum())).astype(np.float32)


def _draw_roads(
    grid: Grid,
    rr: _F32,
    cc: _F32,
    cover: _U8,
    tree: _F32,
    river: _F32,
    side: _F32,
    bank_m: float,
    rng: np.random.Generator,
) -> None:
    """Tracks, bank roads, the highways, the runway (in place)."""
    shape = grid.shape
    rows, cols = shape
    # Laterite tracks across the fields and scrub.
    for _ in range(int(rng.integers(3, 7))):
        r0, c0 = rng.uniform(0, rows), rng.uniform(0, cols)
        heading = rng.uniform(0, math.pi)
        bend = smooth_noise(rng, shape, 40.0) * 6.0
        dist = np.abs((rr - r0) * math.cos(heading) - (cc - c0) * math.sin(heading) + bend)
        cover[(dist < 0.55) & (cover != Cover.FOREST)] = Cover.SOIL

    # Roads along both banks, and those fixed by geography.
    for offset in (330.0, -240.0):
        along_bank = np.abs(side * river - offset) < 7.0
        cover[along_bank & (river > bank_m + 40)] = Cover.ASPHALT
    for points, width in ROADS:
        cover[line_distance(grid, points) < width / 2.0] = Cover.ASPHALT
    draw_runway(grid, cover, tree)


def _draw_banks(
    shape: tuple[int, int],
    cover: _U8,
    tree: _F32,
    height: _F32,
    river: _F32,
    inner_bend: _F32,
    bank_m: float,
    rng: np.random.Generator,
) -> None:
    """The river with its banks (in place)."""
    # The river and its banks last: nothing is built in the channel. Between the dry and
    # the wet channel: sandbars, grassy banks and bank gardens, flooded in the monsoon.
    bank = river < bank_m + 6.0
    strip = smooth_noise(rng, shape, 5.0)
    bar = (inner_bend * 1.6 + 0.5 * strip) > 0.8  # sandbars on the inside of bends
    garden = ~bar & (strip < -1.0)  # dry-season gardens on the silt
    cover[bank] = np.where(
        bar[bank], Cover.SANDBAR, np.where(garden[bank], Cover.SOIL, Cover.GRASS)
    ).astype(np.uint8)
    tree[bank & ~bar] = np.maximum(tree[bank & ~bar], 0.35 * (strip[bank & ~bar] > 0.2))
    cover[river < RIVER_HALFWIDTH_DRY_M - 4.0] = Cover.WATER
    height[bank] = 0.0
    tree[bar | (river < RIVER_HALFWIDTH_DRY_M)] = 0.0


def build_ground(
    ground_id: str,
    grid: Grid,
    settlements: list[Settlement],
    aoi_ids: tuple[str, ...],
    rng: np.random.Generator,
    *,
    draw: GroundDraw | None = None,
) -> Ground:
    """Draw the land cover of one ground before any planted change.

    Parameters
    ----------
    ground_id : name used in file paths and item ids.
    grid : 10 m grid of the ground, snapped to the tile's 20 m lattice.
    settlements : towns and compounds to draw.
    aoi_ids : AOIs this ground serves.
    rng : the ground's own generator.
    draw : the world (None: the fixed world). A random world draws the same layout,
        then its own tints and crop calendars from generators of (draw seed, ground id).
    """
    shape = grid.shape
    rows, cols = shape
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float32)
    river, side, inner_bend = river_distance(grid)
    bank_m = RIVER_HALFWIDTH_WET_M

    relief, slope_east, slope_north = _draw_terrain(shape, river, side, rng)
    cover, patch = _first_cover(relief, shape, rng)
    parcels = _draw_parcels(shape, rr, cc, river, side, rng)
    parcel, crop, parcel_phase, burn = (
        parcels.parcel,
        parcels.crop,
        parcels.phase,
        parcels.burn_doy,
    )
    brightness, texture = _draw_tone(shape, cover, parcels, rng)
    height = np.zeros(shape, dtype=np.float32)
    tree = _draw_trees(shape, cover, river, bank_m, rng)
    _draw_villages(
        shape, rr, cc, cover, tree, height, brightness, patch, relief, river, bank_m, rng
    )
    _draw_roads(grid, rr, cc, cover, tree, river, side, bank_m, rng)

    block_angle = float(settlements[0].angle_deg) if settlements else float(rng.uniform(-30, 30))
    building_ok = river > bank_m + 25.0
    settled = np.zeros(shape, dtype=bool)
    for town in settlements:
        settled |= draw_settlement(
            town, cover, height, brightness, tree, river, building_ok, rr, cc, rng
        )
    # Towns are built on levelled ground: no hill shading inside them.
    level = 1.0 - ndimage.gaussian_filter(settled.astype(np.float32), 4.0) * 1.5
    slope_east = slope_east * np.clip(level, 0.0, 1.0)
    slope_north = slope_north * np.clip(level, 0.0, 1.0)

    _draw_banks(shape, cover, tree, height, river, inner_bend, bank_m, rng)

    to_lonlat = Transformer.from_crs(f"EPSG:{grid.epsg}", "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(grid.left + grid.width * 5.0, grid.top - grid.height * 5.0)
    hilly = bool(np.abs(slope_east).max() > 0.02 or np.abs(slope_north).max() > 0.02)
    ground = Ground(
        id=ground_id,
        grid=grid,
        aoi_ids=aoi_ids,
        cover=cover,
        height_m=height,
        brightness=brightness.astype(np.float32),
        paddy_phase_days=np.where(cover == Cover.PADDY, parcel_phase[parcel], 0).astype(np.int16),
        river_distance_m=river,
        block_angle_deg=block_angle,
        centre_lonlat=(float(lon), float(lat)),
        texture=texture.astype(np.float32),
        tree_fraction=np.clip(tree, 0.0, 0.95).astype(np.float32),
        parcel=parcel,
        parcel_crop=crop,
        parcel_phase=parcel_phase,
        parcel_burn_doy=burn,
        slope_east=slope_east.astype(np.float32) if hilly else None,
        slope_north=slope_north.astype(np.float32) if hilly else None,
    )
    if draw is not None and draw.random:
        ground.variant = groundworld.assign_variants(draw, ground)
        groundworld.vary_heights(draw, ground)
        ground.calendar = groundworld.draw_calendar(draw, ground_id, crop)
    return ground
