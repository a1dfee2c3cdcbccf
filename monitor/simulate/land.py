"""The simulated ground: land cover, its seasons, buildings and their shadows.

A :class:`Ground` is one rectangular patch of tile 47QMU on the 10 m lattice, covering one or
more AOIs plus a margin. It holds the land cover before any planted change and renders
surface reflectance for any date:

- the Moei, 60-120 m wide (wider in the monsoon), turbid brown-green, meandering along the
  AOIs' east edges (KK Park, Shwe Kokko, Myawaddy on its west bank; Mae Sot 5 km east of
  it), with sandbars, bank gardens and riparian trees;
- a floodplain of irregular field parcels, each with its own crop (rain-fed rice, a second
  irrigated crop, maize, fallow), planting date and tone, some burnt in February-April;
  scattered field trees and tree-shaded villages; forested hills west of the river, shaded
  by the sun of the day; scrub and grass between; asphalt roads and laterite tracks;
- settlements drawn in street blocks: a *compound* (KK Park: large dormitory and office
  halls 20-60 m long in blue and red coated steel, white metal and concrete, concrete
  yards, a road grid), a *city* (Shwe Kokko: towers, halls, villas, lawns) or a *town*
  (Mae Sot: dense small roofs among trees, markets, and the airport's runway where the
  ground reaches it);
- building shadows that follow the sun.

Reflectances are typical published values for the six bands the monitor reads (B02 B03 B04
B08 B11 B12), from field and library spectra of tropical forest, rice paddies through their
cycle, maize, laterite soil, turbid river water, asphalt, concrete and painted metal roofs
(USGS splib07 / ECOSTRESS library spectra convolved to Sentinel-2 bands, and Sentinel-2
phenology studies of mainland South-East Asia). Numpy and scipy only.

These are the default world's fixed numbers. A random world (``draw`` of
:mod:`monitor.simulate.groundworld`) keeps the layout drawn here and redraws materials (one
tint per building or patch, ``Ground.variant``) and crop calendars (``Ground.calendar``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from scipy import ndimage
from scipy.spatial import cKDTree

from monitor.models import Grid

if TYPE_CHECKING:
    from monitor.simulate.groundworld import FieldCalendar, GroundDraw

__all__ = [
    "BANDS",
    "Cover",
    "FieldCrop",
    "ROOF_COVERS",
    "VEGETATED_COVERS",
    "RIVER_HALFWIDTH_DRY_M",
    "RIVER_HALFWIDTH_WET_M",
    "Ground",
    "Settlement",
    "build_ground",
    "class_spectra",
    "render_surface",
    "river_distance",
    "river_halfwidth_m",
]

#: Band order of every reflectance array here: B02 B03 B04 B08 B11 B12.
BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")


class Cover(IntEnum):
    """Land-cover classes of the simulated ground (uint8 codes, internal to the simulator)."""

    WATER = 1
    FOREST = 2
    SCRUB = 3
    PADDY = 4      # a field parcel: its crop and calendar come from the parcel
    SOIL = 5
    ROAD = 6       # concrete or gravel street
    ROOF_BLUE = 7
    ROOF_RED = 8
    ROOF_WHITE = 9
    ROOF_GREY = 10
    CONCRETE = 11
    RUBBLE = 12
    SITE = 13
    GRASS = 14
    SANDBAR = 15
    BURNT = 16
    ASPHALT = 17   # highways, runway
    ROOF_TILE = 18  # orange-brown tile and painted roofs of houses and villas
    LAWN = 19      # watered lawns and sports fields
    POND = 20      # fish ponds and ornamental lakes
    WALLS = 21     # a roofless shell: rubble inside standing walls (random world)
    DEBRIS = 22    # a grey roof fallen in: debris of the same material (random world)


class FieldCrop(IntEnum):
    """What a field parcel grows (its seasonal keyframes)."""

    RICE = 0       # rain-fed lowland rice, one crop
    DOUBLE = 1     # rice, then an irrigated dry-season crop
    MAIZE = 2      # upland maize, the Tak province staple
    FALLOW = 3     # grassy fallow


ROOF_COVERS: frozenset[int] = frozenset(
    {Cover.ROOF_BLUE, Cover.ROOF_RED, Cover.ROOF_WHITE, Cover.ROOF_GREY, Cover.CONCRETE,
     Cover.BURNT, Cover.ROOF_TILE}
)
VEGETATED_COVERS: frozenset[int] = frozenset({Cover.FOREST, Cover.SCRUB, Cover.GRASS})

_N_COVERS = max(Cover) + 1

# Seasonal keyframes: (day of year, reflectance B02 B03 B04 B08 B11 B12). Between keyframes
# reflectance is interpolated linearly, wrapping over the new year.
_KEYFRAMES: dict[int, list[tuple[int, tuple[float, ...]]]] = {
    # Turbid Moei: olive and clearer in the dry season, brown with sediment in the monsoon.
    Cover.WATER: [(40, (0.040, 0.057, 0.048, 0.029, 0.010, 0.007)),
                  (120, (0.044, 0.062, 0.058, 0.034, 0.012, 0.008)),
                  (225, (0.062, 0.088, 0.100, 0.070, 0.019, 0.012)),
                  (300, (0.054, 0.080, 0.080, 0.050, 0.015, 0.010))],
    # Mixed deciduous forest on the foothills: leaf-off and dusty in March-April.
    Cover.FOREST: [(30, (0.026, 0.050, 0.034, 0.270, 0.170, 0.085)),
                   (100, (0.036, 0.058, 0.058, 0.225, 0.215, 0.125)),
                   (180, (0.022, 0.047, 0.027, 0.310, 0.155, 0.068)),
                   (260, (0.020, 0.045, 0.024, 0.330, 0.148, 0.063))],
    # Scrub and fallow: green in the rains, straw-coloured and bright in SWIR when dry.
    Cover.SCRUB: [(30, (0.048, 0.072, 0.085, 0.230, 0.265, 0.185)),
                  (95, (0.062, 0.086, 0.115, 0.215, 0.305, 0.230)),
                  (190, (0.032, 0.062, 0.045, 0.290, 0.210, 0.105)),
                  (270, (0.030, 0.060, 0.040, 0.310, 0.200, 0.100))],
    Cover.GRASS: [(30, (0.052, 0.078, 0.088, 0.225, 0.265, 0.185)),
                  (95, (0.062, 0.085, 0.110, 0.205, 0.295, 0.215)),
                  (190, (0.035, 0.070, 0.050, 0.285, 0.200, 0.100)),
                  (270, (0.033, 0.068, 0.045, 0.300, 0.195, 0.095))],
    Cover.LAWN: [(40, (0.040, 0.074, 0.062, 0.280, 0.235, 0.140)),
                 (100, (0.048, 0.078, 0.078, 0.250, 0.260, 0.170)),
                 (220, (0.030, 0.068, 0.040, 0.360, 0.195, 0.090))],
    # Laterite soil darkens when wet.
    Cover.SOIL: [(60, (0.085, 0.112, 0.160, 0.240, 0.325, 0.270)),
                 (220, (0.068, 0.092, 0.130, 0.200, 0.265, 0.215))],
    Cover.SANDBAR: [(60, (0.115, 0.135, 0.160, 0.215, 0.290, 0.250)),
                    (220, (0.085, 0.105, 0.125, 0.175, 0.225, 0.185))],
    Cover.POND: [(60, (0.040, 0.066, 0.050, 0.040, 0.014, 0.009)),
                 (220, (0.044, 0.078, 0.060, 0.055, 0.016, 0.010))],
}
# Surfaces without a season.
_CONSTANT: dict[int, tuple[float, ...]] = {
    Cover.ROAD: (0.105, 0.115, 0.125, 0.155, 0.190, 0.170),
    Cover.ASPHALT: (0.068, 0.074, 0.080, 0.098, 0.118, 0.108),
    Cover.ROOF_BLUE: (0.185, 0.150, 0.090, 0.190, 0.150, 0.115),
    Cover.ROOF_RED: (0.075, 0.075, 0.150, 0.240, 0.260, 0.210),
    Cover.ROOF_WHITE: (0.420, 0.440, 0.450, 0.470, 0.400, 0.330),
    Cover.ROOF_GREY: (0.175, 0.185, 0.195, 0.225, 0.235, 0.205),
    Cover.ROOF_TILE: (0.070, 0.088, 0.160, 0.255, 0.290, 0.235),
    Cover.CONCRETE: (0.170, 0.185, 0.200, 0.235, 0.275, 0.250),
    Cover.RUBBLE: (0.150, 0.160, 0.180, 0.210, 0.270, 0.240),
    Cover.SITE: (0.110, 0.135, 0.175, 0.225, 0.310, 0.280),
    Cover.BURNT: (0.040, 0.040, 0.045, 0.060, 0.070, 0.060),
    # Only a random world plants these; kept here so every cover has a default spectrum.
    Cover.WALLS: (0.125, 0.133, 0.151, 0.179, 0.223, 0.200),
    Cover.DEBRIS: (0.160, 0.174, 0.188, 0.221, 0.259, 0.235),
}

# Field crops: keyframes (day of year, B02..B12) of each crop's calendar.
_STUBBLE = (0.070, 0.090, 0.115, 0.200, 0.290, 0.230)
_FIELD_KEYFRAMES: dict[int, list[tuple[int, tuple[float, ...]]]] = {
    # Stubble Nov-May, ploughed in June, flooded July, green August-October, golden in
    # November.
    FieldCrop.RICE: [(1, _STUBBLE),
                     (105, (0.080, 0.100, 0.135, 0.205, 0.310, 0.255)),
                     (160, (0.056, 0.073, 0.092, 0.150, 0.195, 0.145)),
                     (190, (0.048, 0.064, 0.058, 0.085, 0.055, 0.032)),
                     (222, (0.040, 0.068, 0.050, 0.190, 0.110, 0.060)),
                     (258, (0.030, 0.070, 0.040, 0.380, 0.200, 0.090)),
                     (290, (0.032, 0.066, 0.042, 0.390, 0.210, 0.100)),
                     (315, (0.055, 0.085, 0.095, 0.280, 0.270, 0.175)),
                     (335, (0.068, 0.088, 0.112, 0.210, 0.285, 0.225))],
    # The same monsoon rice, then an irrigated crop green January-March.
    FieldCrop.DOUBLE: [(1, (0.040, 0.070, 0.055, 0.300, 0.200, 0.100)),
                       (60, (0.032, 0.070, 0.042, 0.370, 0.205, 0.095)),
                       (100, (0.065, 0.088, 0.105, 0.230, 0.275, 0.210)),
                       (160, (0.056, 0.073, 0.092, 0.150, 0.195, 0.145)),
                       (190, (0.048, 0.064, 0.058, 0.085, 0.055, 0.032)),
                       (222, (0.040, 0.068, 0.050, 0.190, 0.110, 0.060)),
                       (258, (0.030, 0.070, 0.040, 0.380, 0.200, 0.090)),
                       (305, (0.050, 0.082, 0.088, 0.290, 0.260, 0.170)),
                       (335, (0.052, 0.070, 0.070, 0.140, 0.150, 0.110))],
    # Bare red soil December-May, sown with the first rains, green July-September.
    FieldCrop.MAIZE: [(60, (0.085, 0.108, 0.150, 0.230, 0.320, 0.270)),
                      (150, (0.075, 0.095, 0.128, 0.210, 0.290, 0.240)),
                      (205, (0.032, 0.066, 0.042, 0.360, 0.220, 0.100)),
                      (250, (0.030, 0.064, 0.040, 0.380, 0.215, 0.098)),
                      (290, (0.060, 0.082, 0.092, 0.265, 0.285, 0.195)),
                      (320, (0.078, 0.098, 0.125, 0.225, 0.305, 0.245))],
    FieldCrop.FALLOW: [(30, (0.055, 0.080, 0.095, 0.225, 0.275, 0.195)),
                       (95, (0.066, 0.090, 0.120, 0.210, 0.305, 0.235)),
                       (200, (0.036, 0.066, 0.050, 0.285, 0.215, 0.110)),
                       (280, (0.034, 0.064, 0.046, 0.300, 0.205, 0.105))],
}
#: A burnt field: black ash over stubble (February-April burning).
_BURNT_FIELD = np.array([0.034, 0.038, 0.043, 0.070, 0.095, 0.088], dtype=np.float32)

#: Pixel-scale texture amplitude per cover (tree crowns, furrows, weathering).
_TEXTURE_AMP = np.zeros(_N_COVERS, dtype=np.float32)
for _cover, _amp in {Cover.FOREST: 0.09, Cover.SCRUB: 0.06, Cover.GRASS: 0.045,
                     Cover.PADDY: 0.035, Cover.SOIL: 0.04, Cover.SANDBAR: 0.035,
                     Cover.LAWN: 0.03, Cover.SITE: 0.04, Cover.RUBBLE: 0.06,
                     Cover.ROAD: 0.025, Cover.ASPHALT: 0.02, Cover.WATER: 0.008,
                     Cover.POND: 0.01, Cover.WALLS: 0.07, Cover.DEBRIS: 0.05}.items():
    _TEXTURE_AMP[_cover] = _amp
for _cover in (Cover.ROOF_BLUE, Cover.ROOF_RED, Cover.ROOF_WHITE, Cover.ROOF_GREY,
               Cover.ROOF_TILE, Cover.CONCRETE, Cover.BURNT):
    _TEXTURE_AMP[_cover] = 0.015
#: Covers under which trees may stand (a pixel blends with forest by its tree fraction).
_UNDER_TREES = np.zeros(_N_COVERS, dtype=bool)
_UNDER_TREES[[Cover.SCRUB, Cover.GRASS, Cover.PADDY, Cover.LAWN, Cover.SANDBAR, Cover.SOIL]] = True

# The Moei's centreline (lat, lon), south to north (it flows north to the Salween). It
# follows the east edges of the KK Park, Myawaddy and Shwe Kokko outlines about 50 m out
# (their west bank), and passes 2-3 km west of Mae Sot. Fixed by geography, not by the seed,
# so neighbouring grounds join up.
_RIVER_CONTROL: tuple[tuple[float, float], ...] = (
    (16.560, 98.590), (16.585, 98.586), (16.603, 98.583), (16.615, 98.5800),
    (16.620, 98.5805), (16.625, 98.5812), (16.630, 98.5800), (16.635, 98.5776),
    (16.640, 98.5750), (16.6435, 98.5710), (16.648, 98.5645), (16.655, 98.5560),
    (16.664, 98.5440), (16.673, 98.5300), (16.680, 98.5300), (16.688, 98.5312),
    (16.695, 98.5292), (16.702, 98.5270), (16.708, 98.5232), (16.716, 98.5200),
    (16.730, 98.5225), (16.752, 98.5290), (16.775, 98.5335), (16.793, 98.5355),
    (16.801, 98.5395), (16.808, 98.5425), (16.817, 98.5452), (16.825, 98.5462),
    (16.833, 98.5432), (16.840, 98.5412), (16.846, 98.5365), (16.860, 98.5340),
    (16.900, 98.5400),
)
#: Half-width of the Moei at the driest (March) and fullest (late August) time, metres:
#: 70-120 m from bank to bank.
RIVER_HALFWIDTH_DRY_M = 36.0
RIVER_HALFWIDTH_WET_M = 60.0

# Roads fixed by geography, (lat, lon) polylines and width in metres: Asian Highway 1 from
# the Friendship Bridge through Mae Sot, and Mae Sot's ring road.
_ROADS: tuple[tuple[tuple[tuple[float, float], ...], float], ...] = (
    (((16.7005, 98.5210), (16.7045, 98.5380), (16.7085, 98.5540), (16.7115, 98.5680),
      (16.7135, 98.5800), (16.7160, 98.5950), (16.7210, 98.6200)), 20.0),
    (((16.6900, 98.5600), (16.7000, 98.5580), (16.7150, 98.5560), (16.7300, 98.5620),
      (16.7380, 98.5800), (16.7330, 98.5980), (16.7150, 98.6050), (16.6960, 98.5990),
      (16.6880, 98.5800), (16.6900, 98.5600)), 14.0),
)
# Mae Sot airport (VTPM): reference point 16 41 59.4 N, 98 32 36.5 E, runway 09/27,
# 2,100 m x 45 m since the 2018 extension.
_RUNWAY_CENTRE = (16.69983, 98.54348)
_RUNWAY_LENGTH_M, _RUNWAY_WIDTH_M = 2100.0, 45.0


def river_halfwidth_m(day: dt.date) -> float:
    """Half-width of the river on ``day``: narrowest in March, widest in late August."""
    doy = day.timetuple().tm_yday
    wetness = 0.5 + 0.5 * math.cos(2.0 * math.pi * (doy - 240) / 365.0)
    return RIVER_HALFWIDTH_DRY_M + (RIVER_HALFWIDTH_WET_M - RIVER_HALFWIDTH_DRY_M) * wetness**2


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


def _interp_keyframes(frames: list[tuple[int, tuple[float, ...]]],
                      doy: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float32]:
    """Periodic linear interpolation of keyframes at ``doy``: (..., 6) float32."""
    days = np.array([d for d, _ in frames], dtype=float)
    values = np.array([v for _, v in frames], dtype=float)
    days_p = np.concatenate([days[-1:] - 365, days, days[:1] + 365])
    values_p = np.concatenate([values[-1:], values, values[:1]])
    doy = np.asarray(doy, dtype=float)
    return np.stack([np.interp(doy, days_p, values_p[:, b]) for b in range(len(BANDS))],
                    axis=-1).astype(np.float32)


def class_spectra(day: dt.date, phase_days: int = 0) -> npt.NDArray[np.float32]:
    """Reflectance of every cover class on ``day``: float32 (n_classes, 6).

    ``phase_days`` shifts the seasonal calendar. Fields (``PADDY``) get the rain-fed rice
    calendar here; :func:`render_surface` gives each parcel its own crop.
    """
    doy = (day.timetuple().tm_yday + phase_days - 1) % 365 + 1
    table = np.zeros((_N_COVERS, len(BANDS)), dtype=np.float32)
    for cover, frames in _KEYFRAMES.items():
        table[cover] = _interp_keyframes(frames, doy)
    table[Cover.PADDY] = _interp_keyframes(_FIELD_KEYFRAMES[FieldCrop.RICE], doy)
    for cover, value in _CONSTANT.items():
        table[cover] = value
    return table


def _random_world_reflectance(ground: Ground, cover: npt.NDArray[np.uint8], day: dt.date,
                              table: npt.NDArray[np.float32], draw: GroundDraw
                              ) -> npt.NDArray[np.float32]:
    """(6, rows, cols) reflectance from the random world's table of cover and tint."""
    from monitor.simulate import groundworld

    if ground.variant is None:
        raise ValueError(f"ground {ground.id} was built for the default world, not this draw")
    world = groundworld.world_class_table(draw, table, day)  # (variants, covers, 6)
    flat = np.ascontiguousarray(world.reshape(-1, len(BANDS)).T)
    index = ground.variant.astype(np.intp) * _N_COVERS + cover
    return np.take(flat, index, axis=1)


def _parcel_spectra(ground: Ground, day: dt.date, draw: GroundDraw | None = None
                    ) -> npt.NDArray[np.float32]:
    """Reflectance of every field parcel on ``day``: float32 (n_parcels, 6)."""
    if draw is not None and ground.calendar is not None:
        from monitor.simulate import groundworld

        doy = day.timetuple().tm_yday
        fallow = _interp_keyframes(_FIELD_KEYFRAMES[FieldCrop.FALLOW], doy)
        return groundworld.world_parcel_spectra(draw, ground, day, fallow)
    assert ground.parcel_crop is not None and ground.parcel_phase is not None
    assert ground.parcel_burn_doy is not None
    doy_today = day.timetuple().tm_yday
    doy = (doy_today + ground.parcel_phase.astype(float) - 1) % 365 + 1
    out = np.empty((ground.parcel_crop.size, len(BANDS)), dtype=np.float32)
    for crop, frames in _FIELD_KEYFRAMES.items():
        which = ground.parcel_crop == crop
        if which.any():
            out[which] = _interp_keyframes(frames, doy[which])
    # Stubble burning: black for about three weeks, then the ash fades over a month. The
    # day moves by up to ten days from one year to the next.
    burn = ground.parcel_burn_doy.astype(float)
    burnt = burn > 0
    if burnt.any():
        year_shift = ((day.year * 7 + np.arange(burn.size)) % 21) - 10
        since = doy_today - (burn + year_shift)
        weight = np.where(since < 0, 0.0, np.where(since < 20, 0.85,
                          np.clip(0.85 - (since - 20) * 0.85 / 35.0, 0.0, 0.85)))
        weight = np.where(burnt, weight, 0.0).astype(np.float32)[:, None]
        out = out * (1.0 - weight) + _BURNT_FIELD[None, :] * weight
    return out


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float
                  ) -> npt.NDArray[np.float32]:
    """Gaussian-filtered white noise rescaled to zero mean and unit deviation.

    Large scales are drawn on a coarser lattice and zoomed up (same statistics, a fraction
    of the filtering cost).
    """
    step = max(1, int(sigma_px // 4))
    small = (shape[0] // step + 3, shape[1] // step + 3)
    field_ = ndimage.gaussian_filter(rng.standard_normal(small).astype(np.float32),
                                     sigma_px / step, mode="wrap")
    if step > 1:
        field_ = ndimage.zoom(field_, step, order=1)
    field_ = field_[:shape[0], :shape[1]]
    field_ = field_ - field_.mean()
    std = float(field_.std())
    return (field_ / std if std > 0 else field_).astype(np.float32)


def _pixel_centres(grid: Grid) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    xs = grid.left + (np.arange(grid.width) + 0.5) * grid.res_m
    ys = grid.top - (np.arange(grid.height) + 0.5) * grid.res_m
    return xs, ys


def _polyline_utm(points_latlon: tuple[tuple[float, float], ...], epsg: int, step_m: float
                  ) -> npt.NDArray[np.float64]:
    """A (lat, lon) polyline in UTM, resampled every ``step_m`` along its length."""
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    xs, ys = to_utm.transform([p[1] for p in points_latlon], [p[0] for p in points_latlon])
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    along = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))])
    fine = np.arange(0.0, along[-1], step_m)
    return np.column_stack([np.interp(fine, along, xs), np.interp(fine, along, ys)])


def _nearest_on_line(line: npt.NDArray[np.float64], queries: npt.NDArray[np.float64],
                     fine_within_m: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Distance to and index of the nearest point of a densely sampled line.

    Far queries are answered from every 25th point (a k-d tree answers a point far from a
    long thin line slowly, and there the coarse answer is within a few metres); queries
    within ``fine_within_m`` of it are answered again from the full line.
    """
    coarse = np.arange(0, len(line), 25)
    distance, index = cKDTree(line[coarse]).query(queries)
    index = coarse[index]
    close = distance < fine_within_m
    if close.any():
        distance[close], index[close] = cKDTree(line).query(queries[close])
    return distance, index


@functools.lru_cache(maxsize=8)
def river_distance(grid: Grid) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32],
                                       npt.NDArray[np.float32]]:
    """Width-scaled distance (m) of every pixel from the Moei, the side (+1 east), and how
    much the nearest bank is the inside of a bend (0-1), where sandbars build up.

    Cached per grid (planning and drawing a ground both ask); callers must not modify the
    arrays returned.
    """
    from scipy.interpolate import CubicSpline

    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{grid.epsg}", always_xy=True)
    cx, cy = to_utm.transform([p[1] for p in _RIVER_CONTROL], [p[0] for p in _RIVER_CONTROL])
    cx, cy = np.asarray(cx), np.asarray(cy)
    chord = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(cx), np.diff(cy)))])
    spline_x, spline_y = CubicSpline(chord, cx), CubicSpline(chord, cy)
    s = np.arange(0.0, chord[-1], 4.0)
    x, y = spline_x(s), spline_y(s)
    tx, ty = spline_x(s, 1), spline_y(s, 1)
    norm = np.hypot(tx, ty)
    tx, ty = tx / norm, ty / norm
    # Small meanders on top of the control points' bends (the points hold the big ones).
    wiggle = 14.0 * np.sin(s / 330.0 + 0.7) + 8.0 * np.sin(s / 140.0 + 2.1)
    x, y = x + wiggle * ty, y - wiggle * tx
    # Only the stretch near this ground matters.
    pad = 6000.0
    near = ((x > grid.left - pad) & (x < grid.right + pad)
            & (y > grid.bottom - pad) & (y < grid.top + pad))
    if not near.any():
        return (np.full(grid.shape, 1.0e5, dtype=np.float32),
                np.ones(grid.shape, dtype=np.float32), np.zeros(grid.shape, dtype=np.float32))
    # Curvature (1/m, positive turning left) of the meandering line, smoothed over ~150 m.
    heading = np.unwrap(np.arctan2(np.gradient(y), np.gradient(x)))
    curvature = ndimage.gaussian_filter1d(np.gradient(heading, s), 40.0)
    x, y, tx, ty, s, curvature = x[near], y[near], tx[near], ty[near], s[near], curvature[near]
    xs, ys = _pixel_centres(grid)
    xx, yy = np.meshgrid(xs, ys)
    distance, nearest = _nearest_on_line(np.column_stack([x, y]),
                                         np.column_stack([xx.ravel(), yy.ravel()]), 800.0)
    # East of a north-flowing river is to its right: cross(tangent, offset) < 0.
    cross = tx[nearest] * (yy.ravel() - y[nearest]) - ty[nearest] * (xx.ravel() - x[nearest])
    side = np.where(cross < 0, 1.0, -1.0).reshape(grid.shape).astype(np.float32)
    # The channel narrows and widens along its course by up to a fifth.
    width = 1.0 + 0.16 * np.sin(s / 1100.0 + 0.4) + 0.07 * np.sin(s / 420.0 + 1.9)
    scaled = (distance / width[nearest]).reshape(grid.shape).astype(np.float32)
    # The inside of a bend lies to the left of a left turn: east (+1) is the right side.
    inner = np.clip(-side.ravel() * curvature[nearest] * 900.0, 0.0, 1.0)
    return scaled, side, inner.reshape(grid.shape).astype(np.float32)


def _line_distance(grid: Grid, points_latlon: tuple[tuple[float, float], ...]
                   ) -> npt.NDArray[np.float32]:
    """Distance (m) of every pixel from a (lat, lon) polyline."""
    line = _polyline_utm(points_latlon, grid.epsg, 4.0)
    near = ((line[:, 0] > grid.left - 200) & (line[:, 0] < grid.right + 200)
            & (line[:, 1] > grid.bottom - 200) & (line[:, 1] < grid.top + 200))
    if not near.any():
        return np.full(grid.shape, 1.0e5, dtype=np.float32)
    xs, ys = _pixel_centres(grid)
    xx, yy = np.meshgrid(xs, ys)
    distance, _ = _nearest_on_line(line[near], np.column_stack([xx.ravel(), yy.ravel()]), 300.0)
    return distance.reshape(grid.shape).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Settlement:
    """A settlement to draw on a ground.

    kind : ``compound`` (KK Park-like), ``city`` (Shwe Kokko-like) or ``town`` (Mae Sot).
    mask : bool (rows, cols) on the ground grid: where it may build (its AOI).
    angle_deg : orientation of its street grid.
    reserve : bool (rows, cols), kept unbuilt (KK Park's 2025 new area), or None.
    """

    kind: str
    mask: npt.NDArray[np.bool_]
    angle_deg: float
    reserve: npt.NDArray[np.bool_] | None = None


def build_ground(ground_id: str, grid: Grid, settlements: list[Settlement],
                 aoi_ids: tuple[str, ...], rng: np.random.Generator, *,
                 draw: GroundDraw | None = None) -> Ground:
    """Draw the land cover of one ground before any planted change.

    Parameters
    ----------
    ground_id : name used in file paths and item ids.
    grid : 10 m grid of the ground, snapped to the tile's 20 m lattice.
    settlements : towns and compounds to draw.
    aoi_ids : AOIs this ground serves.
    rng : the ground's own generator.
    draw : the world (None: today's fixed world). A random world draws the same layout,
        then its own tints and crop calendars from generators of (draw seed, ground id).
    """
    shape = grid.shape
    rows, cols = shape
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float32)
    river, side, inner_bend = river_distance(grid)
    bank_m = RIVER_HALFWIDTH_WET_M

    # Terrain. The Dawna foothills rise west of the river (Myanmar side); the Thai side and
    # the Mae Sot basin stay flat. Forest on the hills, fields on the floodplain.
    west = np.clip((-side * river - 700.0) / 2200.0, 0.0, 1.0)
    # Hills are rougher inland on the Myanmar side; the Thai floodplain is nearly flat.
    roughness = 0.45 + 0.55 * np.clip(-side * river / 1500.0, 0.0, 1.0)
    relief = (0.55 * west + roughness * (0.30 * _smooth_noise(rng, shape, 45.0)
                                         + 0.12 * _smooth_noise(rng, shape, 14.0)))
    hills = np.clip((relief - 0.35) / 0.5, 0.0, 1.0)
    elevation = 140.0 * hills ** 1.5 + 25.0 * hills * _smooth_noise(rng, shape, 6.0)
    slope_north, slope_east = np.gradient(elevation, 10.0)
    slope_north = -slope_north  # rows run south

    patch = _smooth_noise(rng, shape, 9.0)
    edge = 0.07 * _smooth_noise(rng, shape, 2.5)  # ragged edges of forest and fields
    cover = np.full(shape, Cover.SCRUB, dtype=np.uint8)
    fields_ok = (relief + edge < 0.30) | ((relief + edge < 0.42) & (patch > -0.3))
    cover[fields_ok] = Cover.PADDY
    cover[(relief >= 0.30) & (relief < 0.55) & (patch > 0.7)] = Cover.GRASS
    cover[relief + edge >= 0.50 + 0.08 * patch] = Cover.FOREST

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
    irrigated = _smooth_noise(rng, shape, 30.0)[pr, pc] + np.where(river[pr, pc] < 700.0, 1.2, 0.0)
    upland = _smooth_noise(rng, shape, 40.0)[pr, pc] + np.where(side[pr, pc] > 0, 0.3, -0.3)
    crop_roll = rng.random(n_parcels)
    crop = np.full(n_parcels, FieldCrop.RICE, dtype=np.int8)
    crop[(upland > 0.6) & (crop_roll < 0.75)] = FieldCrop.MAIZE
    crop[(irrigated > 1.0) & (crop_roll < 0.7)] = FieldCrop.DOUBLE
    crop[crop_roll > 0.92] = FieldCrop.FALLOW
    parcel_phase = np.round(rng.normal(0, 14, n_parcels)).astype(np.int16)
    burn = np.where((rng.random(n_parcels) < 0.14) & (crop != FieldCrop.DOUBLE),
                    rng.integers(40, 105, n_parcels), -1).astype(np.int16)
    parcel_tone = rng.normal(1.0, 0.07, n_parcels).astype(np.float32)

    # Tone: slow variation everywhere, per-parcel on fields; texture at pixel scale.
    brightness = (1.0 + 0.035 * _smooth_noise(rng, shape, 20.0)).astype(np.float32)
    brightness = np.where(cover == Cover.PADDY, brightness * parcel_tone[parcel], brightness)
    texture = (0.75 * ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 0.8)
               * 2.2 + 0.45 * rng.standard_normal(shape).astype(np.float32))
    texture /= max(float(texture.std()), 1e-6)
    height = np.zeros(shape, dtype=np.float32)

    # Trees: scattered in fields (toddy palms, mango), patchy in scrub, thick along banks.
    tree = np.zeros(shape, dtype=np.float32)
    n_trees = int(rows * cols * 0.012)
    tr = rng.integers(0, rows, n_trees)
    tc = rng.integers(0, cols, n_trees)
    np.add.at(tree, (tr, tc), rng.uniform(0.5, 1.0, n_trees).astype(np.float32))
    tree = ndimage.gaussian_filter(tree, 0.6) * 2.0
    shrubs = np.clip(_smooth_noise(rng, shape, 2.0) * 0.25 + 0.15, 0.0, 0.5)
    tree += np.where(cover == Cover.SCRUB, shrubs, 0.0)
    # Groves around temples, graveyards and homesteads: small dense tree islands.
    groves = np.clip((_smooth_noise(rng, shape, 2.5) - 1.7) * 1.5, 0.0, 0.9)
    tree += np.where(np.isin(cover, (Cover.PADDY, Cover.SCRUB, Cover.GRASS)), groves, 0.0)
    riparian = np.exp(-(((river - bank_m - 25.0) / 22.0) ** 2)) * np.clip(
        0.7 + 0.4 * _smooth_noise(rng, shape, 4.0), 0.0, 1.0)
    tree += 0.75 * riparian

    # Villages: clusters of small roofs under trees on the plain, off the hills.
    village_area = rows * cols * 1e-4  # ha
    n_villages = int(rng.poisson(village_area / 120.0))
    if n_villages:
        centres = np.column_stack([rng.uniform(0, rows, n_villages),
                                   rng.uniform(0, cols, n_villages)])
        radius = rng.uniform(6.0, 17.0, n_villages)
        dist, which = cKDTree(centres).query(np.column_stack([rr.ravel(), cc.ravel()]))
        inside_village = (dist.reshape(shape) < radius[which].reshape(shape)
                          * (1.0 + 0.25 * patch)) & (relief < 0.45) & (river > bank_m + 60)
        cover[inside_village] = np.where(rng.random(int(inside_village.sum())) < 0.6,
                                         Cover.GRASS, Cover.SOIL).astype(np.uint8)
        tree[inside_village] += 0.45
        houses = inside_village & (rng.random(shape) < 0.22)
        cover[houses] = rng.choice([Cover.ROOF_TILE, Cover.ROOF_GREY, Cover.ROOF_RED,
                                    Cover.ROOF_BLUE], size=int(houses.sum()),
                                   p=[0.35, 0.4, 0.15, 0.1]).astype(np.uint8)
        height[houses] = 5.0
        brightness[houses] *= rng.uniform(0.7, 1.0, int(houses.sum())).astype(np.float32)

    # Laterite tracks across the fields and scrub.
    for _ in range(int(rng.integers(3, 7))):
        r0, c0 = rng.uniform(0, rows), rng.uniform(0, cols)
        heading = rng.uniform(0, math.pi)
        bend = _smooth_noise(rng, shape, 40.0) * 6.0
        dist = np.abs((rr - r0) * math.cos(heading) - (cc - c0) * math.sin(heading) + bend)
        cover[(dist < 0.55) & (cover != Cover.FOREST)] = Cover.SOIL

    # Roads along both banks, and those fixed by geography.
    for offset in (330.0, -240.0):
        along_bank = np.abs(side * river - offset) < 7.0
        cover[along_bank & (river > bank_m + 40)] = Cover.ASPHALT
    for points, width in _ROADS:
        cover[_line_distance(grid, points) < width / 2.0] = Cover.ASPHALT
    _draw_runway(grid, cover, tree)

    block_angle = float(settlements[0].angle_deg) if settlements else float(rng.uniform(-30, 30))
    building_ok = river > bank_m + 25.0
    settled = np.zeros(shape, dtype=bool)
    for town in settlements:
        settled |= _draw_settlement(town, cover, height, brightness, tree, river, building_ok,
                                    rr, cc, rng)
    # Towns are built on levelled ground: no hill shading inside them.
    level = 1.0 - ndimage.gaussian_filter(settled.astype(np.float32), 4.0) * 1.5
    slope_east = slope_east * np.clip(level, 0.0, 1.0)
    slope_north = slope_north * np.clip(level, 0.0, 1.0)

    # The river and its banks last: nothing is built in the channel. Between the dry and
    # the wet channel: sandbars, grassy banks and bank gardens, flooded in the monsoon.
    bank = river < bank_m + 6.0
    strip = _smooth_noise(rng, shape, 5.0)
    bar = (inner_bend * 1.6 + 0.5 * strip) > 0.8  # sandbars on the inside of bends
    garden = ~bar & (strip < -1.0)                # dry-season gardens on the silt
    cover[bank] = np.where(bar[bank], Cover.SANDBAR,
                           np.where(garden[bank], Cover.SOIL, Cover.GRASS)).astype(np.uint8)
    tree[bank & ~bar] = np.maximum(tree[bank & ~bar], 0.35 * (strip[bank & ~bar] > 0.2))
    cover[river < RIVER_HALFWIDTH_DRY_M - 4.0] = Cover.WATER
    height[bank] = 0.0
    tree[bar | (river < RIVER_HALFWIDTH_DRY_M)] = 0.0

    to_lonlat = Transformer.from_crs(f"EPSG:{grid.epsg}", "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(grid.left + grid.width * 5.0, grid.top - grid.height * 5.0)
    hilly = bool(np.abs(slope_east).max() > 0.02 or np.abs(slope_north).max() > 0.02)
    ground = Ground(
        id=ground_id, grid=grid, aoi_ids=aoi_ids, cover=cover, height_m=height,
        brightness=brightness.astype(np.float32),
        paddy_phase_days=np.where(cover == Cover.PADDY, parcel_phase[parcel], 0).astype(np.int16),
        river_distance_m=river, block_angle_deg=block_angle,
        centre_lonlat=(float(lon), float(lat)), texture=texture.astype(np.float32),
        tree_fraction=np.clip(tree, 0.0, 0.95).astype(np.float32), parcel=parcel,
        parcel_crop=crop, parcel_phase=parcel_phase, parcel_burn_doy=burn,
        slope_east=slope_east.astype(np.float32) if hilly else None,
        slope_north=slope_north.astype(np.float32) if hilly else None,
    )
    if draw is not None and draw.random:
        from monitor.simulate import groundworld

        ground.variant = groundworld.assign_variants(draw, ground)
        groundworld.vary_heights(draw, ground)
        ground.calendar = groundworld.draw_calendar(draw, ground_id, crop)
    return ground


def _draw_runway(grid: Grid, cover: npt.NDArray[np.uint8], tree: npt.NDArray[np.float32]) -> None:
    """Mae Sot's runway, its mown strips and apron, where the ground reaches them."""
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{grid.epsg}", always_xy=True)
    x0, y0 = to_utm.transform(_RUNWAY_CENTRE[1], _RUNWAY_CENTRE[0])
    half = _RUNWAY_LENGTH_M / 2.0
    if x0 + half + 200 < grid.left or x0 - half - 200 > grid.right \
            or y0 + 300 < grid.bottom or y0 - 300 > grid.top:
        return
    xs, ys = _pixel_centres(grid)
    dx = np.abs(xs - x0)[None, :]
    dy = (ys - y0)[:, None]
    along = dx < half
    strip = along & (np.abs(dy) < 75.0)
    cover[strip] = Cover.LAWN
    tree[strip] = 0.0
    cover[along & (np.abs(dy) < _RUNWAY_WIDTH_M / 2.0)] = Cover.ASPHALT
    # Apron and terminal south of the runway's middle.
    apron = (np.abs(xs - x0 - 150.0)[None, :] < 90.0) & (dy < -95.0) & (dy > -180.0)
    cover[apron] = Cover.CONCRETE
    terminal = (np.abs(xs - x0 - 150.0)[None, :] < 60.0) & (dy < -185.0) & (dy > -215.0)
    cover[terminal] = Cover.ROOF_GREY


@dataclass(frozen=True)
class _BlockType:
    """How one kind of street block is filled."""

    weight: float
    lots_u: tuple[int, ...]          # lots along the block's long side
    lots_v: tuple[int, ...]
    margin_px: tuple[float, float]   # gap between a building and its lot's edge
    p_building: float
    roofs: tuple[tuple[int, float], ...]
    height_m: tuple[float, float]
    yard: tuple[tuple[int, float], ...]
    trees: float                     # tree fraction in the yards


_STYLES: dict[str, dict[str, Any]] = {
    # KK Park: 120 x 100 m blocks between concrete roads, filled with long dormitory and
    # office halls, a few big sheds, concrete yards, some open and green blocks.
    "compound": {
        "block": (13.0, 10.0), "street": 1.6, "main_every": 4,
        "types": (
            _BlockType(0.46, (2, 2, 3), (2,), (0.4, 1.0), 0.93,
                       ((Cover.ROOF_BLUE, 0.34), (Cover.ROOF_WHITE, 0.2), (Cover.ROOF_RED, 0.14),
                        (Cover.ROOF_GREY, 0.16), (Cover.CONCRETE, 0.16)), (9.0, 24.0),
                       ((Cover.CONCRETE, 0.6), (Cover.ROAD, 0.2), (Cover.SOIL, 0.1),
                        (Cover.GRASS, 0.1)), 0.03),
            _BlockType(0.2, (1, 2), (1, 2), (0.6, 1.5), 0.95,
                       ((Cover.ROOF_BLUE, 0.35), (Cover.ROOF_WHITE, 0.3), (Cover.ROOF_GREY, 0.2),
                        (Cover.ROOF_RED, 0.15)), (10.0, 30.0),
                       ((Cover.CONCRETE, 0.7), (Cover.ROAD, 0.3)), 0.0),
            _BlockType(0.14, (3, 4), (2, 3), (0.4, 1.0), 0.8,
                       ((Cover.ROOF_BLUE, 0.3), (Cover.ROOF_RED, 0.25), (Cover.ROOF_GREY, 0.25),
                        (Cover.ROOF_WHITE, 0.2)), (6.0, 15.0),
                       ((Cover.CONCRETE, 0.5), (Cover.SOIL, 0.3), (Cover.GRASS, 0.2)), 0.08),
            _BlockType(0.08, (1,), (1,), (1.0, 2.0), 0.25,
                       ((Cover.ROOF_WHITE, 0.5), (Cover.ROOF_BLUE, 0.5)), (8.0, 15.0),
                       ((Cover.CONCRETE, 0.35), (Cover.SITE, 0.3), (Cover.LAWN, 0.25),
                        (Cover.POND, 0.1)), 0.05),
            _BlockType(0.04, (1,), (1,), (1.0, 2.0), 0.0,
                       ((Cover.ROOF_WHITE, 1.0),), (8.0, 10.0),
                       ((Cover.GRASS, 0.5), (Cover.SCRUB, 0.3), (Cover.SOIL, 0.2)), 0.2),
        ),
    },
    # Shwe Kokko: a new city of towers, halls, villas on lawns and landscaped parks.
    "city": {
        "block": (14.0, 11.0), "street": 1.8, "main_every": 3,
        "types": (
            _BlockType(0.22, (2,), (1, 2), (1.0, 2.2), 0.9,
                       ((Cover.CONCRETE, 0.35), (Cover.ROOF_WHITE, 0.3), (Cover.ROOF_GREY, 0.2),
                        (Cover.ROOF_BLUE, 0.15)), (30.0, 75.0),
                       ((Cover.CONCRETE, 0.5), (Cover.LAWN, 0.3), (Cover.ROAD, 0.2)), 0.08),
            _BlockType(0.22, (1, 2), (1, 2), (0.6, 1.4), 0.95,
                       ((Cover.ROOF_WHITE, 0.3), (Cover.ROOF_BLUE, 0.25), (Cover.ROOF_GREY, 0.25),
                        (Cover.ROOF_RED, 0.2)), (10.0, 25.0),
                       ((Cover.CONCRETE, 0.6), (Cover.ROAD, 0.2), (Cover.LAWN, 0.2)), 0.03),
            _BlockType(0.3, (4, 5), (3, 4), (0.4, 0.9), 0.85,
                       ((Cover.ROOF_TILE, 0.4), (Cover.ROOF_RED, 0.25), (Cover.ROOF_GREY, 0.2),
                        (Cover.ROOF_WHITE, 0.15)), (6.0, 12.0),
                       ((Cover.LAWN, 0.6), (Cover.CONCRETE, 0.25), (Cover.GRASS, 0.15)), 0.25),
            _BlockType(0.16, (1,), (1,), (1.0, 2.0), 0.15,
                       ((Cover.ROOF_WHITE, 1.0),), (6.0, 10.0),
                       ((Cover.LAWN, 0.5), (Cover.SITE, 0.25), (Cover.POND, 0.1),
                        (Cover.GRASS, 0.15)), 0.3),
            _BlockType(0.1, (1,), (1,), (1.0, 2.0), 0.0,
                       ((Cover.ROOF_WHITE, 1.0),), (6.0, 10.0),
                       ((Cover.GRASS, 0.4), (Cover.SCRUB, 0.4), (Cover.SOIL, 0.2)), 0.25),
        ),
    },
    # Mae Sot: small blocks of shophouses and houses under trees, markets and warehouses,
    # temples and schools in their grounds.
    "town": {
        "block": (9.0, 7.0), "street": 0.8, "main_every": 5,
        "types": (
            _BlockType(0.55, (3, 4), (2, 3), (0.1, 0.45), 0.88,
                       ((Cover.ROOF_GREY, 0.32), (Cover.ROOF_TILE, 0.26), (Cover.ROOF_RED, 0.18),
                        (Cover.ROOF_WHITE, 0.08), (Cover.ROOF_BLUE, 0.08), (Cover.CONCRETE, 0.08)),
                       (5.0, 12.0),
                       ((Cover.SOIL, 0.25), (Cover.GRASS, 0.55), (Cover.CONCRETE, 0.2)), 0.5),
            _BlockType(0.2, (2, 3), (1, 2), (0.3, 0.8), 0.8,
                       ((Cover.ROOF_GREY, 0.35), (Cover.ROOF_WHITE, 0.2), (Cover.ROOF_BLUE, 0.15),
                        (Cover.ROOF_RED, 0.15), (Cover.CONCRETE, 0.15)), (6.0, 14.0),
                       ((Cover.CONCRETE, 0.5), (Cover.SOIL, 0.3), (Cover.GRASS, 0.2)), 0.15),
            _BlockType(0.18, (1,), (1,), (1.2, 2.5), 0.35,
                       ((Cover.ROOF_WHITE, 0.3), (Cover.ROOF_RED, 0.4), (Cover.ROOF_TILE, 0.3)),
                       (6.0, 14.0), ((Cover.GRASS, 0.5), (Cover.LAWN, 0.3), (Cover.SOIL, 0.2)),
                       0.55),
            _BlockType(0.07, (1,), (1,), (1.0, 2.0), 0.0,
                       ((Cover.ROOF_GREY, 1.0),), (5.0, 8.0),
                       ((Cover.GRASS, 0.5), (Cover.SCRUB, 0.3), (Cover.POND, 0.2)), 0.6),
        ),
    },
}


def _choose(rng: np.random.Generator, options: tuple[tuple[int, float], ...], n: int
            ) -> npt.NDArray[np.uint8]:
    values = np.array([o[0] for o in options], dtype=np.uint8)
    weights = np.array([o[1] for o in options], dtype=float)
    return values[rng.choice(values.size, size=n, p=weights / weights.sum())]


def _settlement_density(town: Settlement, river: npt.NDArray[np.float32],
                        rr: npt.NDArray[np.float32], cc: npt.NDArray[np.float32],
                        rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Chance that a street block is built, per pixel: high in the core, ragged edges."""
    shape = town.mask.shape
    ragged = _smooth_noise(rng, shape, 7.0)
    inside = ndimage.gaussian_filter(town.mask.astype(np.float32), 3.0)
    if town.kind == "town":
        rows, cols = np.nonzero(town.mask)
        r0, c0 = rows.mean(), cols.mean()
        extent = math.sqrt(rows.size / math.pi)
        dist = np.hypot(rr - r0, cc - c0) / max(extent, 1.0)
        # A town spills past its outline: suburbs thin out with distance, raggedly.
        density = np.clip(1.5 - 1.25 * dist + 0.35 * ragged, 0.0, 1.0)
    else:
        # Compounds and the new city crowd the west bank and thin out inland.
        riverward = np.clip(1.25 - river / 2600.0, 0.6, 1.0)
        density = np.clip(riverward * (1.1 + 0.25 * ragged) * np.clip(inside * 1.6 - 0.3, 0, 1),
                          0.0, 1.0)
    if town.reserve is not None:
        density[ndimage.binary_dilation(town.reserve, iterations=2)] = 0.0
    return density.astype(np.float32)


def _draw_settlement(town: Settlement, cover: npt.NDArray[np.uint8],
                     height: npt.NDArray[np.float32], brightness: npt.NDArray[np.float32],
                     tree: npt.NDArray[np.float32], river: npt.NDArray[np.float32],
                     building_ok: npt.NDArray[np.bool_], rr: npt.NDArray[np.float32],
                     cc: npt.NDArray[np.float32], rng: np.random.Generator
                     ) -> npt.NDArray[np.bool_]:
    """Draw a settlement's street blocks, yards and buildings (all vectorised); return the
    pixels it occupies."""
    style = _STYLES.get(town.kind, _STYLES["town"])
    block_u, block_v = style["block"]
    street_w = style["street"]
    density = _settlement_density(town, river, rr, cc, rng)
    angle = math.radians(town.angle_deg)
    u = cc * math.cos(angle) + rr * math.sin(angle)
    v = -cc * math.sin(angle) + rr * math.cos(angle)
    # An irregular street grid: every row and column of blocks has its own width.
    def lattice(coord: npt.NDArray[np.float32], size: float
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float64]]:
        n = int((coord.max() - coord.min()) / (0.7 * size)) + 3
        widths = size * rng.uniform(0.75, 1.3, n)
        edges = coord.min() - size + np.concatenate([[0.0], np.cumsum(widths)])
        index = np.clip(np.searchsorted(edges, coord, side="right") - 1, 0, n - 1)
        return index.astype(np.int64), (coord - edges[index]).astype(np.float32), widths

    bu, lu, widths_u = lattice(u, block_u)  # block index and position inside it, pixels
    bv, lv, widths_v = lattice(v, block_v)
    nbu, nbv = widths_u.size, widths_v.size
    block = (bu * nbv + bv).astype(np.int64)
    n_blocks = nbu * nbv
    count = np.maximum(np.bincount(block.ravel(), minlength=n_blocks), 1)
    block_density = np.bincount(block.ravel(), weights=density.ravel(), minlength=n_blocks) / count
    built_block = rng.random(n_blocks) < block_density * 1.08
    region = town.mask if town.kind != "town" else np.ones_like(town.mask)
    built = built_block[block] & (density > 0.05) & building_ok & region
    # Land inside the settlement is cleared of forest even where no block is built yet.
    within = (density > 0.12) & building_ok & region
    cleared = within & (cover == Cover.FOREST)
    cover[cleared] = Cover.SCRUB
    tree[cleared] += 0.3
    # Streets run along the blocks' near edges (u and v): a street is laid where the block
    # on either side of it is built. Main roads every few blocks are wider and asphalt.
    grid_built = built_block.reshape(nbu, nbv)
    before_u = np.zeros_like(grid_built)
    before_u[1:, :] = grid_built[:-1, :]
    before_v = np.zeros_like(grid_built)
    before_v[:, 1:] = grid_built[:, :-1]
    serve_u = (grid_built | before_u).ravel()[block]
    serve_v = (grid_built | before_v).ravel()[block]
    main_u = (bu % style["main_every"]) == 0
    main_v = (bv % style["main_every"]) == 0
    street = ((lu < street_w) & serve_u) | ((lv < street_w) & serve_v)
    main = ((lu < street_w * 1.6) & main_u & serve_u) | ((lv < street_w * 1.6) & main_v & serve_v)
    # Compounds pour concrete roads; a town's lanes are dark asphalt half hidden by trees.
    cover[within & street] = Cover.ROAD if town.kind != "town" else Cover.ASPHALT
    cover[within & main] = Cover.ASPHALT
    tree[within & (street | main)] *= 0.3

    types = style["types"]
    type_weights = np.array([t.weight for t in types])
    block_type = rng.choice(len(types), size=n_blocks, p=type_weights / type_weights.sum())
    # Per block: lots along u and v; per lot: presence, margins, roof, height, tone.
    lots_u = np.zeros(n_blocks, dtype=np.int64)
    lots_v = np.zeros(n_blocks, dtype=np.int64)
    yard = np.zeros(n_blocks, dtype=np.uint8)
    yard_trees = np.zeros(n_blocks, dtype=np.float32)
    n_lots = n_blocks * 25
    lot_present = np.zeros(n_lots, dtype=bool)
    lot_roof = np.zeros(n_lots, dtype=np.uint8)
    lot_height = np.zeros(n_lots, dtype=np.float32)
    margins = np.zeros((4, n_lots), dtype=np.float32)
    lot_type = np.repeat(block_type, 25)
    for k, kind in enumerate(types):
        mine = block_type == k
        lots_u[mine] = rng.choice(kind.lots_u, size=int(mine.sum()))
        lots_v[mine] = rng.choice(kind.lots_v, size=int(mine.sum()))
        yard[mine] = _choose(rng, kind.yard, int(mine.sum()))
        yard_trees[mine] = kind.trees
        lots = lot_type == k
        n = int(lots.sum())
        lot_present[lots] = rng.random(n) < kind.p_building
        lot_roof[lots] = _choose(rng, kind.roofs, n)
        lot_height[lots] = rng.uniform(*kind.height_m, n)
        margins[:, lots] = rng.uniform(*kind.margin_px, (4, n))
    lot_tone = rng.normal(1.0, 0.08, n_lots).astype(np.float32)

    in_yard = built & ~street & ~main
    cover[in_yard] = yard[block][in_yard]
    tree[in_yard] = tree[in_yard] * 0.2 + yard_trees[block][in_yard] * np.clip(
        1.0 + 0.8 * _smooth_noise(rng, cover.shape, 1.5)[in_yard], 0.0, 2.0)
    # Lot coordinates inside the block (past the street).
    span_u = (widths_u[bu] - street_w).astype(np.float32)
    span_v = (widths_v[bv] - street_w).astype(np.float32)
    iu = np.clip((lu - street_w) / span_u, 0.0, 0.9999)
    iv = np.clip((lv - street_w) / span_v, 0.0, 0.9999)
    nu, nv = lots_u[block], lots_v[block]
    ku, kv = np.floor(iu * nu), np.floor(iv * nv)
    fu, fv = iu * nu - ku, iv * nv - kv
    size_u, size_v = span_u / nu, span_v / nv
    lot = block * 25 + (kv * 5 + ku).astype(np.int64)
    m = margins[:, lot]
    on = (in_yard & lot_present[lot]
          & (fu * size_u >= m[0]) & ((1.0 - fu) * size_u >= m[1])
          & (fv * size_v >= m[2]) & ((1.0 - fv) * size_v >= m[3]))
    cover[on] = lot_roof[lot][on]
    height[on] = lot_height[lot][on]
    brightness[on] = brightness[on] * lot_tone[lot][on]
    tree[on] = 0.0
    return within


def _hill_shade(ground: Ground, sun_elevation_deg: float, sun_azimuth_deg: float
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


def _shadow_fraction(height_m: npt.NDArray[np.float32], sun_elevation_deg: float,
                     sun_azimuth_deg: float, res_m: float) -> npt.NDArray[np.float32]:
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
        src = reach_px[max(-dr, 0):rows - max(dr, 0), max(-dc, 0):cols - max(dc, 0)]
        dst = shadow[max(dr, 0):rows - max(-dr, 0), max(dc, 0):cols - max(-dc, 0)]
        np.maximum(dst, np.clip(src - (k - 1), 0.0, 1.0), out=dst)
    shadow[height_m > 0] = 0.0  # roofs are lit
    return shadow


def render_surface(ground: Ground, cover: npt.NDArray[np.uint8],
                   height_m: npt.NDArray[np.float32], day: dt.date,
                   sun_elevation_deg: float, sun_azimuth_deg: float, *,
                   draw: GroundDraw | None = None) -> npt.NDArray[np.float32]:
    """Surface reflectance of the ground on ``day``: float32 (6, rows, cols), bands as BANDS.

    ``cover`` and ``height_m`` are the ground's state on that day (planted changes applied).
    ``draw``: the world the ground was built with (None: today's fixed world).
    """
    table = class_spectra(day)
    random_world = draw is not None and draw.random
    if draw is not None and random_world:
        refl = _random_world_reflectance(ground, cover, day, table, draw)
    else:
        refl = np.take(np.ascontiguousarray(table.T), cover, axis=1)  # (6, rows, cols)
    fields = cover == Cover.PADDY
    if fields.any() and ground.parcel is not None:
        per_parcel = _parcel_spectra(ground, day, draw if random_world else None)
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
    shadow = _shadow_fraction(height_m, sun_elevation_deg, sun_azimuth_deg, ground.grid.res_m)
    # Shade keeps the diffuse sky light: about a third of the direct-lit reflectance.
    refl *= (1.0 - 0.68 * shadow)[None]
    return refl.astype(np.float32, copy=False)
