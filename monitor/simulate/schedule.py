"""The overpass schedule of tile 47QMU: when Sentinel-2 passes, its sky, where the sun is.

The schedule imitates the real constellation over the Moei valley: Sentinel-2A and 2B on one
relative orbit, 10 days each and 5 days apart; Sentinel-2C takes 2A's slot from late January 2025
and 2A keeps flying in an extended campaign from March 2025, two days after 2C, so 2025-26
has three satellites. Weather follows the border's climate: the south-west monsoon leaves
June-September mostly overcast, November-March mostly clear, and the burning season fills
February-April with smoke haze that the scene classification does not flag.

Standard library and numpy only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TILE",
    "RELATIVE_ORBIT",
    "OVERPASS_UTC",
    "MONTHLY_CLOUD_MEAN",
    "MONTHLY_HAZE_PROBABILITY",
    "CIRRUS_PROBABILITY_WET",
    "CIRRUS_PROBABILITY_DRY",
    "Acquisition",
    "Weather",
    "acquisition_schedule",
    "draw_weather",
    "sun_angles",
    "processing_baseline",
]

#: The MGRS tile every simulated item belongs to.
TILE = "47QMU"
#: Relative orbit serving the tile in the simulation (one orbit: no tile-overlap duplicates).
RELATIVE_ORBIT = 104
#: Overpass time (UTC) over the Moei valley: about 10:30 local solar time at 98.5 E.
OVERPASS_UTC = dt.time(3, 56, 21)

# First acquisition of each satellite on the shared 10-day cycle, and its absolute orbit then.
# S2B's reference is anchored near a real S2B absolute orbit count of mid-2025; the others
# are consistent guesses (their values only appear inside ids and datatake strings).
_CYCLE_DAYS = 10
_ORBITS_PER_CYCLE = 143
_SATELLITES: tuple[tuple[str, dt.date, dt.date | None, int], ...] = (
    # platform, first date on the cycle, last date (None: still flying), abs. orbit at first
    ("sentinel-2b", dt.date(2023, 7, 3), None, 32920),
    ("sentinel-2a", dt.date(2023, 7, 8), dt.date(2025, 1, 20), 42000),
    ("sentinel-2c", dt.date(2025, 1, 28), None, 1950),
    ("sentinel-2a", dt.date(2025, 3, 21), None, 50690),
)

#: Mean tile cloud fraction per calendar month (Jan..Dec) over Mae Sot / Myawaddy, read off
#: the MODIS cloud climatology of the Moei valley: monsoon June-September 80-90 %,
#: November-March 10-20 %, transition months in between.
MONTHLY_CLOUD_MEAN: tuple[float, ...] = (
    0.12,
    0.13,
    0.18,
    0.30,
    0.55,
    0.80,
    0.88,
    0.88,
    0.80,
    0.50,
    0.22,
    0.13,
)
#: Beta concentration of the per-scene cloud fraction: low enough that a month mixes clear and
#: overcast scenes, as real ones do (a Beta(mean*k, (1-mean)*k) draw).
CLOUD_CONCENTRATION = 2.2
#: Chance that a scene carries burning-season smoke haze, per month (Jan..Dec). SCL never
#: flags it: it is the main reason "clear" pixels are not clear in February-April.
MONTHLY_HAZE_PROBABILITY: tuple[float, ...] = (
    0.25,
    0.65,
    0.85,
    0.65,
    0.15,
    0.0,
    0.0,
    0.0,
    0.0,
    0.05,
    0.10,
    0.20,
)
#: Chance of thin cirrus over the scene in the wet (May-October) and dry months.
CIRRUS_PROBABILITY_WET = 0.30
CIRRUS_PROBABILITY_DRY = 0.10


@dataclass(frozen=True)
class Acquisition:
    """One overpass of the tile.

    ``index`` orders acquisitions in time and seeds everything drawn for this overpass, so a
    shorter date range yields the same pixels for the dates it keeps.
    """

    index: int
    platform: str
    datetime: dt.datetime
    absolute_orbit: int
    relative_orbit: int = RELATIVE_ORBIT

    @property
    def date(self) -> dt.date:
        return self.datetime.date()

    @property
    def short_platform(self) -> str:
        """``S2A``, ``S2B`` or ``S2C``."""
        return "S2" + self.platform[-1].upper()


@dataclass(frozen=True)
class Weather:
    """The sky of one acquisition.

    cloud_fraction : share of the tile under cloud (0-1), before thresholding the cloud field.
    haze : smoke aerosol strength 0-1 (0: none); never flagged by SCL.
    cirrus : thin cirrus strength 0-1 (0: none).
    cloud_height_m : height of the cloud layer, which sets how far shadows fall.
    """

    cloud_fraction: float
    haze: float
    cirrus: float
    cloud_height_m: float


def processing_baseline(day: dt.date) -> str:
    """The L2A processing baseline ESA used on ``day`` (05.09 to 05.11 over 2023-2026)."""
    if day < dt.date(2023, 12, 13):
        return "05.09"
    if day < dt.date(2024, 7, 23):
        return "05.10"
    return "05.11"


def acquisition_schedule(start: dt.date, end: dt.date) -> list[Acquisition]:
    """Every overpass of the tile from ``start`` to ``end`` (inclusive), in time order.

    The index of an acquisition is its position in the full schedule counted from a fixed
    epoch, not from ``start``: the same date always gets the same index and so the same sky.
    """
    epoch = dt.date(2015, 7, 1)
    found: list[tuple[dt.datetime, str, int]] = []
    for platform, first, last, orbit0 in _SATELLITES:
        # Walk the 10-day cycle both ways from the satellite's reference date.
        first_cycle = math.ceil((max(start, dt.date(2015, 7, 1)) - first).days / _CYCLE_DAYS)
        k = first_cycle
        while True:
            day = first + dt.timedelta(days=k * _CYCLE_DAYS)
            if day > end or (last is not None and day > last):
                break
            # A satellite's earlier history (before its first listed date) belongs to another
            # entry of the table or did not exist.
            if day >= start and day >= first:
                # The overpass drifts by a few seconds from one cycle to the next.
                seconds = (k * 7) % 23
                when = dt.datetime.combine(day, OVERPASS_UTC, tzinfo=dt.UTC)
                found.append(
                    (when + dt.timedelta(seconds=seconds), platform, orbit0 + k * _ORBITS_PER_CYCLE)
                )
            k += 1
    found.sort()
    return [
        Acquisition(
            index=(when.date() - epoch).days * 4 + _platform_slot(platform),
            platform=platform,
            datetime=when,
            absolute_orbit=orbit,
        )
        for when, platform, orbit in found
    ]


def _platform_slot(platform: str) -> int:
    return {"sentinel-2a": 0, "sentinel-2b": 1, "sentinel-2c": 2}[platform]


def draw_weather(rng: np.random.Generator, day: dt.date) -> Weather:
    """Draw the sky of one acquisition from the month's climate.

    Parameters
    ----------
    rng : the acquisition's own generator (seeded from the simulation seed and the
        acquisition index), so the sky does not depend on which other dates are simulated.
    day : acquisition date.
    """
    month = day.month - 1
    mean = MONTHLY_CLOUD_MEAN[month]
    cloud = float(rng.beta(mean * CLOUD_CONCENTRATION, (1.0 - mean) * CLOUD_CONCENTRATION))
    # Beta draws pile up just above 0 in the dry season: call those clear, as SCL would.
    if cloud < 0.02:
        cloud = 0.0
    haze = float(rng.uniform(0.25, 1.0)) if rng.random() < MONTHLY_HAZE_PROBABILITY[month] else 0.0
    wet = 4 <= month <= 9
    cirrus_p = CIRRUS_PROBABILITY_WET if wet else CIRRUS_PROBABILITY_DRY
    cirrus = float(rng.uniform(0.2, 1.0)) if rng.random() < cirrus_p else 0.0
    # Monsoon cumulus sit lower than dry-season cloud.
    height = float(rng.uniform(800.0, 2000.0) if wet else rng.uniform(1500.0, 3500.0))
    return Weather(cloud_fraction=cloud, haze=haze, cirrus=cirrus, cloud_height_m=height)


def sun_angles(when: dt.datetime, lat_deg: float, lon_deg: float) -> tuple[float, float]:
    """Solar (elevation, azimuth) in degrees at ``when`` (UTC) for a point on the ground.

    Low-precision almanac (declination and equation of time from the day angle), good to
    about half a degree: plenty to cast building and cloud shadows.
    """
    day_of_year = when.timetuple().tm_yday
    gamma = 2.0 * math.pi / 365.0 * (day_of_year - 1 + (when.hour - 12) / 24.0)
    equation_of_time = 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )
    declination = (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )
    minutes = when.hour * 60 + when.minute + when.second / 60.0
    solar_minutes = minutes + equation_of_time + 4.0 * lon_deg
    hour_angle = math.radians(solar_minutes / 4.0 - 180.0)
    lat = math.radians(lat_deg)
    cos_zenith = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(
        declination
    ) * math.cos(hour_angle)
    zenith = math.acos(max(-1.0, min(1.0, cos_zenith)))
    # Azimuth clockwise from north.
    azimuth = (
        math.degrees(
            math.atan2(
                math.sin(hour_angle),
                math.cos(hour_angle) * math.sin(lat) - math.tan(declination) * math.cos(lat),
            )
        )
        + 180.0
    )
    return 90.0 - math.degrees(zenith), azimuth % 360.0
