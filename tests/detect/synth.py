"""A small synthetic archive for the detector's unit tests: pure numpy, seeded, fast.

A 48 x 48 pixel patch with forest, a paddy that floods and greens each year, scrub that
dries out, bare soil, a river that widens in the monsoon, and blocks of blue, white and red
roofs. Scenes come every 5 days; clouds (masked) are common in the monsoon. Each distractor
is switched on by its own flag so a test can show that it alone raises no alarm, and
changes are planted with :class:`Planted`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.models import Grid

# Covers of the patch.
FOREST, PADDY, SCRUB, SOIL, WATER, ROOF_BLUE, ROOF_WHITE, ROOF_RED, SITE, RUBBLE, GREY_RUBBLE = (
    range(11)
)
ROOFS = (ROOF_BLUE, ROOF_WHITE, ROOF_RED)

_KEYS: dict[int, list[tuple[int, tuple[float, ...]]]] = {
    FOREST: [
        (30, (0.028, 0.052, 0.038, 0.27, 0.18, 0.09)),
        (100, (0.036, 0.06, 0.058, 0.235, 0.21, 0.12)),
        (200, (0.022, 0.048, 0.028, 0.31, 0.16, 0.07)),
        (290, (0.021, 0.046, 0.026, 0.32, 0.155, 0.066)),
    ],
    PADDY: [
        (1, (0.07, 0.09, 0.12, 0.19, 0.28, 0.22)),
        (105, (0.08, 0.10, 0.14, 0.20, 0.30, 0.25)),
        (160, (0.06, 0.08, 0.10, 0.16, 0.20, 0.15)),
        (186, (0.05, 0.068, 0.06, 0.08, 0.05, 0.03)),
        (222, (0.04, 0.068, 0.05, 0.18, 0.10, 0.06)),
        (258, (0.03, 0.07, 0.04, 0.38, 0.20, 0.09)),
        (288, (0.03, 0.065, 0.04, 0.40, 0.21, 0.10)),
        (314, (0.05, 0.08, 0.09, 0.28, 0.26, 0.17)),
        (335, (0.07, 0.09, 0.12, 0.20, 0.28, 0.22)),
    ],
    SCRUB: [
        (30, (0.05, 0.075, 0.09, 0.23, 0.27, 0.19)),
        (95, (0.065, 0.09, 0.12, 0.21, 0.31, 0.23)),
        (190, (0.032, 0.062, 0.045, 0.29, 0.21, 0.105)),
        (270, (0.03, 0.06, 0.04, 0.31, 0.20, 0.10)),
    ],
    SOIL: [
        (60, (0.085, 0.115, 0.165, 0.245, 0.33, 0.275)),
        (220, (0.07, 0.095, 0.135, 0.205, 0.27, 0.22)),
    ],
    WATER: [
        (30, (0.045, 0.06, 0.05, 0.025, 0.012, 0.008)),
        (225, (0.07, 0.10, 0.11, 0.06, 0.02, 0.012)),
    ],
}
_CONST: dict[int, tuple[float, ...]] = {
    ROOF_BLUE: (0.17, 0.14, 0.08, 0.16, 0.12, 0.09),
    ROOF_WHITE: (0.45, 0.47, 0.48, 0.50, 0.42, 0.35),
    ROOF_RED: (0.07, 0.07, 0.15, 0.24, 0.25, 0.20),
    SITE: (0.12, 0.14, 0.17, 0.22, 0.30, 0.27),
    RUBBLE: (0.15, 0.16, 0.18, 0.21, 0.27, 0.24),
    # Concrete debris as grey as a metal roof: on its own it reads as a new grey roof.
    GREY_RUBBLE: (0.17, 0.18, 0.19, 0.23, 0.24, 0.21),
}

GRID = Grid(epsg=32647, left=440000.0, top=1850000.0, width=48, height=48, res_m=10.0)


def spectrum(cover: int, day_of_year: int) -> npt.NDArray[np.float32]:
    """Reflectance (6,) of a cover on a day of the year."""
    if cover in _CONST:
        return np.array(_CONST[cover], dtype=np.float32)
    keys = _KEYS[cover]
    doys = np.array([k[0] for k in keys] + [keys[0][0] + 365])
    values = np.array([k[1] for k in keys] + [keys[0][1]], dtype=np.float32)
    d = day_of_year if day_of_year >= doys[0] else day_of_year + 365
    return np.array([np.interp(d, doys, values[:, b]) for b in range(6)], dtype=np.float32)


@dataclass(frozen=True)
class Planted:
    """A change: from ``day`` the pixels of ``window`` hold ``cover``; optional later step."""

    rows: slice
    cols: slice
    day: dt.date
    cover: int
    then_day: dt.date | None = None
    then_cover: int | None = None
    before: int | None = None  # rewrite the before-cover too (e.g. a roof to demolish)


@dataclass
class SynthConfig:
    """Which distractors are on. Defaults: a clean archive, clouds masked correctly."""

    seed: int = 0
    start: dt.date = dt.date(2020, 1, 3)
    end: dt.date = dt.date(2022, 12, 31)
    step_days: int = 5
    haze_days: tuple[dt.date, ...] = ()
    haze_strength: float = 1.0
    scl_miss_days: tuple[dt.date, ...] = ()  # an unmasked cloud blob (and its shadow)
    bright_roofs_cloud_rate: float = 0.0  # share of scenes with white roofs masked
    subpixel_sigma: float = 0.0  # per-scene random shift, px
    slip_days: tuple[dt.date, ...] = ()  # scenes shifted by one whole pixel
    wobble_gain: float = 0.0  # per-scene per-band gain sigma
    wobble_offset: float = 0.0
    offset_days: tuple[dt.date, ...] = ()  # scenes with a mis-set +0.1 offset
    noise: float = 0.0015
    planted: list[Planted] = field(default_factory=list)
    monsoon_clear: float = 0.35
    dry_clear: float = 0.85
    size: int = 48  # rows = cols; the layout scales with it
    # The paddy's harvest as a step (green rice to stubble from one day to the next) on day
    # of year 300 plus the shift of that year (one per year from ``start``'s; 0 after).
    harvest_shifts: tuple[int, ...] | None = None
    # Scenes SCL gets wrong as a whole: most of the patch called dark area (2), the pixels
    # darkened unevenly (low sun, hill shade) and veiled (haze), nothing masked. With them
    # on, every scene carries an SCL array (4 vegetation, 6 river, 9 masked cloud).
    doubtful_days: tuple[dt.date, ...] = ()


def base_cover(size: int = 48) -> npt.NDArray[np.int8]:
    """The patch's cover before any planted change (rows, cols)."""
    cover = np.full((size, size), FOREST, dtype=np.int8)
    k = size / 48
    cover[:, int(30 * k) :] = PADDY
    cover[int(28 * k) :, : int(18 * k)] = SCRUB
    cover[int(40 * k) :, int(18 * k) : int(30 * k)] = SOIL
    cover[4:8, 4:10] = ROOF_BLUE
    cover[4:8, 13:17] = ROOF_WHITE
    cover[10:13, 4:9] = ROOF_RED
    cover[10:14, 12:18] = ROOF_BLUE
    cover[18:21, 20:24] = ROOF_WHITE
    return cover


def _cover_on(day: dt.date, planted: list[Planted], size: int) -> npt.NDArray[np.int8]:
    cover = base_cover(size)
    for p in planted:
        if p.before is not None:
            cover[p.rows, p.cols] = p.before
    for p in planted:
        if day >= p.day:
            cover[p.rows, p.cols] = p.cover
        if p.then_day is not None and p.then_cover is not None and day >= p.then_day:
            cover[p.rows, p.cols] = p.then_cover
    return cover


def _river_mask(doy: int, size: int) -> npt.NDArray[np.bool_]:
    half = 1.5 + 1.5 * max(0.0, np.sin(2 * np.pi * (doy - 150) / 365))  # wider Jun-Oct
    cols = np.arange(size)
    centre = 26 * size / 48 + 2 * np.sin(np.arange(size) / 8.0)
    return np.abs(cols[None, :] - centre[:, None]) <= half


GREEN_RICE = (0.03, 0.065, 0.04, 0.40, 0.21, 0.10)
STUBBLE = (0.07, 0.09, 0.12, 0.20, 0.28, 0.22)


def _abrupt_paddy(doy: int, harvest_doy: int) -> npt.NDArray[np.float32]:
    """The paddy with its harvest as a step on ``harvest_doy`` (green before, stubble after)."""
    if 250 <= doy < harvest_doy:
        return np.array(GREEN_RICE, dtype=np.float32)
    if doy >= harvest_doy or doy < 30:
        return np.array(STUBBLE, dtype=np.float32)
    return spectrum(PADDY, doy)


def render(
    day: dt.date, planted: list[Planted], size: int = 48, harvest_doy: int | None = None
) -> npt.NDArray[np.float32]:
    """Noise-free surface reflectance (6, rows, cols) on ``day``."""
    doy = day.timetuple().tm_yday
    cover = _cover_on(day, planted, size)
    river = _river_mask(doy, size) & ~np.isin(cover, ROOFS + (SITE, RUBBLE, GREY_RUBBLE))
    cover = np.where(river, WATER, cover)
    out = np.zeros((6, size, size), dtype=np.float32)
    for c in np.unique(cover):
        if c == PADDY and harvest_doy is not None:
            out[:, cover == c] = _abrupt_paddy(doy, harvest_doy)[:, None]
        else:
            out[:, cover == c] = spectrum(int(c), doy)[:, None]
    return out


def _harvest_doy(config: SynthConfig, day: dt.date) -> int | None:
    if config.harvest_shifts is None:
        return None
    # The harvest of the turn of the year belongs to the year it began in.
    year = day.year - config.start.year - (1 if day.timetuple().tm_yday < 30 else 0)
    shifts = config.harvest_shifts
    return 300 + (shifts[year] if 0 <= year < len(shifts) else 0)


def truth_mask(config: SynthConfig) -> npt.NDArray[np.bool_]:
    """Pixels some planted change touches (rows, cols)."""
    mask = np.zeros((config.size, config.size), dtype=bool)
    for p in config.planted:
        mask[p.rows, p.cols] = True
    return mask


Scene = tuple[
    npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.uint8] | None, dt.date, str
]


def scenes(config: SynthConfig) -> list[Scene]:
    """The archive: (reflectance NaN-masked, valid, scl or None, date, scene id) per scene."""
    rng = np.random.default_rng(config.seed)
    out = []
    day = config.start
    while day <= config.end:
        surface = render(day, config.planted, config.size, _harvest_doy(config, day))
        seen = np.empty_like(surface)
        shift = rng.normal(0.0, config.subpixel_sigma, 2) if config.subpixel_sigma else np.zeros(2)
        if day in config.slip_days:
            shift = shift + np.array([1.0, 0.0])
        for b in range(6):
            blurred = ndimage.gaussian_filter(surface[b], 0.45, mode="nearest")
            seen[b] = (
                ndimage.shift(blurred, shift, order=1, mode="nearest") if shift.any() else blurred
            )
        if day in config.haze_days:
            path = np.array([0.055, 0.04, 0.028, 0.012, 0.004, 0.002], dtype=np.float32)
            loss = np.array([0.12, 0.09, 0.07, 0.04, 0.015, 0.01], dtype=np.float32)
            field_ = (
                1.0 + 0.25 * ndimage.gaussian_filter(rng.standard_normal(seen.shape[1:]), 8) * 8
            )
            s = config.haze_strength * field_
            seen = seen * (1 - loss[:, None, None] * s) + path[:, None, None] * s
        gain = 1.0 + rng.normal(0, config.wobble_gain, 6) if config.wobble_gain else np.ones(6)
        offset = rng.normal(0, config.wobble_offset, 6) if config.wobble_offset else np.zeros(6)
        seen = seen * gain[:, None, None].astype(np.float32) + offset[:, None, None].astype(
            np.float32
        )
        seen = seen + rng.normal(0, config.noise, seen.shape).astype(np.float32)
        if day in config.offset_days:
            seen = seen + np.float32(0.1)
        monsoon = 5 <= day.month <= 10
        p_clear = config.monsoon_clear if monsoon else config.dry_clear
        valid = np.ones(seen.shape[1:], dtype=bool)
        if rng.random() > p_clear:
            # A cloudy scene: most of the patch masked (correctly, by SCL).
            cloud = ndimage.gaussian_filter(rng.standard_normal(valid.shape), 6) > -0.05
            valid &= ~cloud
        if day in config.scl_miss_days:
            blob = ndimage.gaussian_filter(rng.standard_normal(valid.shape), 4)
            alpha = np.clip((blob - 0.05) * 8, 0, 0.6).astype(np.float32)
            cloud_spec = np.array([0.5, 0.5, 0.5, 0.5, 0.36, 0.25], dtype=np.float32)
            seen = seen * (1 - alpha) + cloud_spec[:, None, None] * alpha
            shadow = np.roll(alpha, (5, 5), axis=(0, 1))
            seen = seen * (1 - 0.6 * shadow)
        if config.bright_roofs_cloud_rate and rng.random() < config.bright_roofs_cloud_rate:
            valid &= ~(seen[0] > 0.3)
        scl = None
        if config.doubtful_days:
            scl = np.where(valid, 4, 9).astype(np.uint8)
            scl[valid & _river_mask(day.timetuple().tm_yday, config.size)] = 6
            if day in config.doubtful_days:
                # Low sun and hill shade darken the patch unevenly; a haze veils it.
                # The same slopes each time (a fixed terrain), as deep as low sun makes them.
                slopes = ndimage.gaussian_filter(
                    np.random.default_rng(config.seed + 1).standard_normal(valid.shape), 4
                )
                shaded = slopes > np.quantile(slopes, 0.8)
                veil = np.array([0.06, 0.05, 0.04, 0.03, 0.02, 0.015], dtype=np.float32)
                seen = np.where(shaded[None], seen * np.float32(0.45), seen) + veil[:, None, None]
                scl[valid & (rng.random(valid.shape) < 0.85)] = 2
        refl = seen.astype(np.float32)
        refl[:, ~valid] = np.nan
        out.append((refl, valid, scl, day, f"SYN_{day:%Y%m%d}"))
        day += dt.timedelta(days=config.step_days)
    return out
