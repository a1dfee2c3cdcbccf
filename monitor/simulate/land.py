"""The rendering of a simulated ground: its surface reflectance on any day.

Seasons (:mod:`monitor.simulate.seasons`), tree crowns over fields and yards, texture, hill
shading, the river over its banks in the monsoon, building shadows that follow the sun.
Numpy only.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from monitor.simulate import groundworld
from monitor.simulate.cover import N_COVERS, Cover
from monitor.simulate.geography import river_halfwidth_m
from monitor.simulate.ground import Ground
from monitor.simulate.seasons import class_spectra, parcel_spectra

if TYPE_CHECKING:
    from monitor.simulate.groundworld import GroundDraw

__all__ = ["render_surface", "shadow_fraction"]

#: Pixel-scale texture amplitude per cover (tree crowns, furrows, weathering).
_TEXTURE_AMP = np.zeros(N_COVERS, dtype=np.float32)
for _cover, _amp in {
    Cover.FOREST: 0.09,
    Cover.SCRUB: 0.06,
    Cover.GRASS: 0.045,
    Cover.PADDY: 0.035,
    Cover.SOIL: 0.04,
    Cover.SANDBAR: 0.035,
    Cover.LAWN: 0.03,
    Cover.SITE: 0.04,
    Cover.RUBBLE: 0.06,
    Cover.ROAD: 0.025,
    Cover.ASPHALT: 0.02,
    Cover.WATER: 0.008,
    Cover.POND: 0.01,
    Cover.WALLS: 0.07,
    Cover.DEBRIS: 0.05,
}.items():
    _TEXTURE_AMP[_cover] = _amp
for _cover in (
    Cover.ROOF_BLUE,
    Cover.ROOF_RED,
    Cover.ROOF_WHITE,
    Cover.ROOF_GREY,
    Cover.ROOF_TILE,
    Cover.CONCRETE,
    Cover.BURNT,
):
    _TEXTURE_AMP[_cover] = 0.015
#: Covers under which trees may stand (a pixel blends with forest by its tree fraction).
_UNDER_TREES = np.zeros(N_COVERS, dtype=bool)
_UNDER_TREES[[Cover.SCRUB, Cover.GRASS, Cover.PADDY, Cover.LAWN, Cover.SANDBAR, Cover.SOIL]] = True


def _random_world_reflectance(
    ground: Ground,
    cover: npt.NDArray[np.uint8],
    day: dt.date,
    table: npt.NDArray[np.float32],
    draw: GroundDraw,
) -> npt.NDArray[np.float32]:
    """(bands, rows, cols) reflectance from the random world's table of cover and tint."""
    if ground.variant is None:
        raise ValueError(f"ground {ground.id} was built for the default world, not this draw")
    world = groundworld.world_class_table(draw, table, day)  # (variants, covers, bands)
    flat = np.ascontiguousarray(world.reshape(-1, world.shape[-1]).T)
    index = ground.variant.astype(np.intp) * N_COVERS + cover
    return np.take(flat, index, axis=1)


def _hill_shade(
    ground: Ground, sun_elevation_deg: float, sun_azimuth_deg: float
) -> npt.NDArray[np.float32] | None:
    """Relative illumination of sloping ground (1 on the flat), damped for canopy."""
    if ground.slope_east is None or ground.slope_north is None:
        return None
    zenith = math.radians(90.0 - max(sun_elevation_deg, 10.0))
    azimuth = math.radians(sun_azimuth_deg)
    sx = math.sin(zenith) * math.sin(azimuth)
    sy = math.sin(zenith) * math.cos(azimuth)
    sz = math.cos(zenith)
    p, q = ground.slope_east, ground.slope_north
    cos_i = (-p * sx - q * sy + sz) / np.sqrt(1.0 + p * p + q * q)
    ratio = np.clip(cos_i / sz, 0.25, 1.6)
    return (1.0 + 0.7 * (ratio - 1.0)).astype(np.float32)


def shadow_fraction(
    height_m: npt.NDArray[np.float32],
    sun_elevation_deg: float,
    sun_azimuth_deg: float,
    res_m: float,
) -> npt.NDArray[np.float32]:
    """Share of each pixel in the shadow of a building, for the sun at the given angles."""
    if not height_m.any():
        return np.zeros(height_m.shape, dtype=np.float32)
    tan_elev = math.tan(math.radians(max(sun_elevation_deg, 5.0)))
    longest_px = float(height_m.max()) / tan_elev / res_m
    # Shadows fall away from the sun: azimuth is clockwise from north, rows grow southwards.
    away = math.radians(sun_azimuth_deg + 180.0)
    d_col, d_row = math.sin(away), -math.cos(away)
    shadow = np.zeros(height_m.shape, dtype=np.float32)
    reach_px = height_m / tan_elev / res_m
    steps = int(math.ceil(longest_px))
    rows, cols = height_m.shape
    for k in range(1, steps + 1):
        dr, dc = int(round(d_row * k)), int(round(d_col * k))
        if abs(dr) >= rows or abs(dc) >= cols:
            break
        # Shift without wrapping: a building at one edge never shades the opposite edge.
        src = reach_px[max(-dr, 0) : rows - max(dr, 0), max(-dc, 0) : cols - max(dc, 0)]
        dst = shadow[max(dr, 0) : rows - max(-dr, 0), max(dc, 0) : cols - max(-dc, 0)]
        np.maximum(dst, np.clip(src - (k - 1), 0.0, 1.0), out=dst)
    shadow[height_m > 0] = 0.0  # roofs are lit
    return shadow


def render_surface(
    ground: Ground,
    cover: npt.NDArray[np.uint8],
    height_m: npt.NDArray[np.float32],
    day: dt.date,
    sun_elevation_deg: float,
    sun_azimuth_deg: float,
    *,
    draw: GroundDraw | None = None,
    red_edge: bool = False,
) -> npt.NDArray[np.float32]:
    """Surface reflectance of the ground on ``day``: float32 (6, rows, cols), bands as cover.BANDS.

    ``cover`` and ``height_m`` are the ground's state on that day (planted changes applied).
    ``draw``: the world the ground was built with (None: the fixed world). ``red_edge``:
    (10, rows, cols), B05 B06 B07 B8A after the six; every step below works band by band,
    so the six are the same either way and the red edge mixes as they do.
    """
    table = class_spectra(day, red_edge=red_edge)
    random_world = draw is not None and draw.random
    if draw is not None and random_world:
        refl = _random_world_reflectance(ground, cover, day, table, draw)
    else:
        refl = np.take(np.ascontiguousarray(table.T), cover, axis=1)  # (6, rows, cols)
    fields = cover == Cover.PADDY
    if fields.any() and ground.parcel is not None:
        per_parcel = parcel_spectra(ground, day, draw if random_world else None, red_edge=red_edge)
        refl[:, fields] = per_parcel.T[:, ground.parcel[fields]]
    if ground.tree_fraction is not None:
        under = _UNDER_TREES[cover] & (ground.tree_fraction > 0.01)
        if under.any():
            share = ground.tree_fraction[under]
            crowns = table[Cover.FOREST][:, None]
            refl[:, under] += share[None] * (crowns - refl[:, under])
    tone = ground.brightness
    if ground.texture is not None:
        tone = tone * (1.0 + _TEXTURE_AMP[cover] * ground.texture)
    shade = _hill_shade(ground, sun_elevation_deg, sun_azimuth_deg)
    if shade is not None:
        tone = tone * shade
    refl *= tone[None]
    # The river rises over its banks: blend water in by the share of the pixel flooded.
    halfwidth = river_halfwidth_m(day)
    flooded = np.clip((halfwidth - ground.river_distance_m) / ground.grid.res_m + 0.5, 0.0, 1.0)
    wet = flooded > 0
    if wet.any():
        ripple = ground.texture[wet] if ground.texture is not None else 0.0
        # Shallow, silty water near the banks is lighter; turbidity drifts along the river.
        depth = np.clip((halfwidth - ground.river_distance_m[wet]) / 18.0, 0.0, 1.0)
        murk = ground.brightness[wet] * (1.0 + 0.22 * (1.0 - depth)) + 0.01 * ripple
        water = table[Cover.WATER][:, None] * murk[None]
        f = flooded[wet][None]
        refl[:, wet] = refl[:, wet] * (1.0 - f) + water * f
    shadow = shadow_fraction(height_m, sun_elevation_deg, sun_azimuth_deg, ground.grid.res_m)
    # Shade keeps the diffuse sky light: about a third of the direct-lit reflectance.
    refl *= (1.0 - 0.68 * shadow)[None]
    return refl.astype(np.float32, copy=False)
