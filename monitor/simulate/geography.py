"""The fixed geography of the border: the Moei's course, the highways, Mae Sot's runway.

Fixed by geography, not by the seed, so neighbouring grounds join up.
"""

from __future__ import annotations

import datetime as dt
import functools
import math

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from scipy import ndimage
from scipy.spatial import cKDTree

from monitor.models import Grid
from monitor.simulate.cover import Cover

__all__ = [
    "RIVER_HALFWIDTH_DRY_M",
    "RIVER_HALFWIDTH_WET_M",
    "ROADS",
    "draw_runway",
    "line_distance",
    "river_distance",
    "river_halfwidth_m",
]

# The Moei's centreline (lat, lon), south to north (it flows north to the Salween). It
# follows the east edges of the KK Park, Myawaddy and Shwe Kokko outlines about 50 m out
# (their west bank), and passes 2-3 km west of Mae Sot. Fixed by geography, not by the seed,
# so neighbouring grounds join up.
_RIVER_CONTROL: tuple[tuple[float, float], ...] = (
    (16.560, 98.590),
    (16.585, 98.586),
    (16.603, 98.583),
    (16.615, 98.5800),
    (16.620, 98.5805),
    (16.625, 98.5812),
    (16.630, 98.5800),
    (16.635, 98.5776),
    (16.640, 98.5750),
    (16.6435, 98.5710),
    (16.648, 98.5645),
    (16.655, 98.5560),
    (16.664, 98.5440),
    (16.673, 98.5300),
    (16.680, 98.5300),
    (16.688, 98.5312),
    (16.695, 98.5292),
    (16.702, 98.5270),
    (16.708, 98.5232),
    (16.716, 98.5200),
    (16.730, 98.5225),
    (16.752, 98.5290),
    (16.775, 98.5335),
    (16.793, 98.5355),
    (16.801, 98.5395),
    (16.808, 98.5425),
    (16.817, 98.5452),
    (16.825, 98.5462),
    (16.833, 98.5432),
    (16.840, 98.5412),
    (16.846, 98.5365),
    (16.860, 98.5340),
    (16.900, 98.5400),
)
#: Half-width of the Moei at the driest (March) and fullest (late August) time, metres:
#: 70-120 m from bank to bank.
RIVER_HALFWIDTH_DRY_M = 36.0
RIVER_HALFWIDTH_WET_M = 60.0

# Roads fixed by geography, (lat, lon) polylines and width in metres: Asian Highway 1 from
# the Friendship Bridge through Mae Sot, and Mae Sot's ring road.
ROADS: tuple[tuple[tuple[tuple[float, float], ...], float], ...] = (
    (
        (
            (16.7005, 98.5210),
            (16.7045, 98.5380),
            (16.7085, 98.5540),
            (16.7115, 98.5680),
            (16.7135, 98.5800),
            (16.7160, 98.5950),
            (16.7210, 98.6200),
        ),
        20.0,
    ),
    (
        (
            (16.6900, 98.5600),
            (16.7000, 98.5580),
            (16.7150, 98.5560),
            (16.7300, 98.5620),
            (16.7380, 98.5800),
            (16.7330, 98.5980),
            (16.7150, 98.6050),
            (16.6960, 98.5990),
            (16.6880, 98.5800),
            (16.6900, 98.5600),
        ),
        14.0,
    ),
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


def _pixel_centres(grid: Grid) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    xs = grid.left + (np.arange(grid.width) + 0.5) * grid.res_m
    ys = grid.top - (np.arange(grid.height) + 0.5) * grid.res_m
    return xs, ys


def _polyline_utm(
    points_latlon: tuple[tuple[float, float], ...], epsg: int, step_m: float
) -> npt.NDArray[np.float64]:
    """A (lat, lon) polyline in UTM, resampled every ``step_m`` along its length."""
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    xs, ys = to_utm.transform([p[1] for p in points_latlon], [p[0] for p in points_latlon])
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    along = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))])
    fine = np.arange(0.0, along[-1], step_m)
    return np.column_stack([np.interp(fine, along, xs), np.interp(fine, along, ys)])


def _nearest_on_line(
    line: npt.NDArray[np.float64], queries: npt.NDArray[np.float64], fine_within_m: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
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
def river_distance(
    grid: Grid,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
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
    near = (
        (x > grid.left - pad)
        & (x < grid.right + pad)
        & (y > grid.bottom - pad)
        & (y < grid.top + pad)
    )
    if not near.any():
        return (
            np.full(grid.shape, 1.0e5, dtype=np.float32),
            np.ones(grid.shape, dtype=np.float32),
            np.zeros(grid.shape, dtype=np.float32),
        )
    # Curvature (1/m, positive turning left) of the meandering line, smoothed over ~150 m.
    heading = np.unwrap(np.arctan2(np.gradient(y), np.gradient(x)))
    curvature = ndimage.gaussian_filter1d(np.gradient(heading, s), 40.0)
    x, y, tx, ty, s, curvature = x[near], y[near], tx[near], ty[near], s[near], curvature[near]
    xs, ys = _pixel_centres(grid)
    xx, yy = np.meshgrid(xs, ys)
    distance, nearest = _nearest_on_line(
        np.column_stack([x, y]), np.column_stack([xx.ravel(), yy.ravel()]), 800.0
    )
    # East of a north-flowing river is to its right: cross(tangent, offset) < 0.
    cross = tx[nearest] * (yy.ravel() - y[nearest]) - ty[nearest] * (xx.ravel() - x[nearest])
    side = np.where(cross < 0, 1.0, -1.0).reshape(grid.shape).astype(np.float32)
    # The channel narrows and widens along its course by up to a fifth.
    width = 1.0 + 0.16 * np.sin(s / 1100.0 + 0.4) + 0.07 * np.sin(s / 420.0 + 1.9)
    scaled = (distance / width[nearest]).reshape(grid.shape).astype(np.float32)
    # The inside of a bend lies to the left of a left turn: east (+1) is the right side.
    inner = np.clip(-side.ravel() * curvature[nearest] * 900.0, 0.0, 1.0)
    return scaled, side, inner.reshape(grid.shape).astype(np.float32)


def line_distance(
    grid: Grid, points_latlon: tuple[tuple[float, float], ...]
) -> npt.NDArray[np.float32]:
    """Distance (m) of every pixel from a (lat, lon) polyline."""
    line = _polyline_utm(points_latlon, grid.epsg, 4.0)
    near = (
        (line[:, 0] > grid.left - 200)
        & (line[:, 0] < grid.right + 200)
        & (line[:, 1] > grid.bottom - 200)
        & (line[:, 1] < grid.top + 200)
    )
    if not near.any():
        return np.full(grid.shape, 1.0e5, dtype=np.float32)
    xs, ys = _pixel_centres(grid)
    xx, yy = np.meshgrid(xs, ys)
    distance, _ = _nearest_on_line(line[near], np.column_stack([xx.ravel(), yy.ravel()]), 300.0)
    return distance.reshape(grid.shape).astype(np.float32)


def draw_runway(grid: Grid, cover: npt.NDArray[np.uint8], tree: npt.NDArray[np.float32]) -> None:
    """Mae Sot's runway, its mown strips and apron, where the ground reaches them."""
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{grid.epsg}", always_xy=True)
    x0, y0 = to_utm.transform(_RUNWAY_CENTRE[1], _RUNWAY_CENTRE[0])
    half = _RUNWAY_LENGTH_M / 2.0
    if (
        x0 + half + 200 < grid.left
        or x0 - half - 200 > grid.right
        or y0 + 300 < grid.bottom
        or y0 - 300 > grid.top
    ):
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
