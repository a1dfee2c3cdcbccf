"""The sky of one simulated world: climate, seasons, sensor, SCL difficulty, per seed.

The default world is the one the detector was tuned on: every number is the constant of
``schedule`` and ``sensor`` and its draws are exactly the ones the simulator made before
worlds existed. A random world (``monitor simulate --world random``) draws, per seed, its
own values from the distributions below, each documented with its reason in
``docs/simulator.md`` ("Randomised world: the sky"):

- the monthly cloud means, perturbed on the logit scale, and the Beta concentration;
- per year, the monsoon's onset and end shifted by up to three weeks, and the burning
  season's haze shifted, more or less frequent, stronger or weaker;
- the SCL error rates (cloud-edge alpha, shadow miss, cirrus flag, bright roofs as cloud);
- scenes SCL gets wrong as a whole (most of the ground dark, shadow, water or unclassified
  while the pixels are darkened, hazy or veiled and not flagged cloud), a few a year, most
  of them in November-February;
- a fixed per-band gain of each satellite (S2A, S2B, S2C), the misregistration and slip
  rate, the gain and offset wobble.

Every draw comes from a generator of its own, seeded from (seed, "sky", ...) words that no
default-world stream uses, so the default world's streams are untouched. Numpy only.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.simulate.schedule import (
    CIRRUS_PROBABILITY_DRY,
    CIRRUS_PROBABILITY_WET,
    CLOUD_CONCENTRATION,
    MONTHLY_CLOUD_MEAN,
    MONTHLY_HAZE_PROBABILITY,
    Weather,
    draw_weather,
)
from monitor.simulate.sensor import DEFAULT_SENSOR, SceneError, SensorParams

__all__ = [
    "PLATFORMS",
    "MONTHLY_CLOUD_LOGIT_SIGMA",
    "CLOUD_CONCENTRATION_RANGE",
    "SEASON_SHIFT_SIGMA_DAYS",
    "SEASON_SHIFT_MAX_DAYS",
    "HAZE_PROBABILITY_FACTOR_RANGE",
    "HAZE_STRENGTH_FACTOR_RANGE",
    "SENSOR_RANGES",
    "PLATFORM_GAIN_SIGMA",
    "PLATFORM_GAIN_MAX",
    "MISCLASSIFIED_SCENES_PER_YEAR_RANGE",
    "MISCLASSIFIED_MONTH_WEIGHT",
    "SkyYear",
    "SkyDraw",
    "default_sky_draw",
    "random_sky_draw",
    "seed_words",
]

#: The satellites of the schedule; each has its own radiometric gains in a random world.
PLATFORMS: tuple[str, ...] = ("sentinel-2a", "sentinel-2b", "sentinel-2c")
#: 1 sigma of the per-month perturbation of the cloud mean, on the logit scale (0.3 moves
#: 0.88 to 0.85-0.91 and 0.50 to 0.43-0.57 at 1 sigma).
MONTHLY_CLOUD_LOGIT_SIGMA = 0.3
#: Uniform range of the Beta concentration of the per-scene cloud fraction.
CLOUD_CONCENTRATION_RANGE = (1.6, 3.0)
#: 1 sigma (days) of the yearly shift of the monsoon's onset, of its end and of the
#: burning season; each shift is clipped to +-SEASON_SHIFT_MAX_DAYS.
SEASON_SHIFT_SIGMA_DAYS = 9.0
SEASON_SHIFT_MAX_DAYS = 21.0
#: Uniform ranges of a year's factor on the haze probability and on the haze strength.
HAZE_PROBABILITY_FACTOR_RANGE = (0.6, 1.3)
HAZE_STRENGTH_FACTOR_RANGE = (0.6, 1.4)
#: Uniform range of each sensor and SCL number of a random world (see ``sensor``).
SENSOR_RANGES: dict[str, tuple[float, float]] = {
    "misregistration_sigma_px": (0.10, 0.35),
    "slip_rate": (0.0, 0.05),
    "gain_wobble_sigma": (0.008, 0.025),
    "offset_wobble_sigma": (0.001, 0.004),
    "scl_cloud_edge_alpha": (0.25, 0.50),
    "shadow_miss_rate": (0.20, 0.50),
    "cirrus_flag_rate": (0.30, 0.70),
    "bright_roof_cloud_rate": (0.15, 0.45),
}
#: 1 sigma of a satellite's fixed per-band gain, clipped to 1 +- PLATFORM_GAIN_MAX.
PLATFORM_GAIN_SIGMA = 0.01
PLATFORM_GAIN_MAX = 0.02
#: Uniform range of the number of scenes a year SCL gets wrong as a whole (at the 5-day
#: revisit of two satellites; a third satellite adds its own).
MISCLASSIFIED_SCENES_PER_YEAR_RANGE = (2.0, 6.0)
#: Relative weight of a month (Jan..Dec) for such scenes: low winter sun, long hill shade.
MISCLASSIFIED_MONTH_WEIGHT: tuple[float, ...] = (
    3.0,
    2.0,
    1.0,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    1.0,
    2.0,
    3.0,
)
# Acquisitions per month at the 5-day revisit of two satellites.
_ACQUISITIONS_PER_MONTH = 365.25 / 5.0 / 12.0
# A misclassified scene: share of the ground, strength by degradation, the class SCL picks.
_MISCLASSIFIED_SHARE = (0.6, 0.95)
_DEGRADATION_STRENGTH: dict[str, tuple[float, float]] = {
    "dark": (0.25, 0.50),  # share of the light lost
    "haze": (0.5, 1.2),  # haze strength on top of the scene's own (sensor's haze units)
    "veil": (0.10, 0.25),  # opacity of thin cloud, below SCL's cloud test
}
_CLASS_WEIGHTS: dict[str, tuple[tuple[int, float], ...]] = {
    "dark": ((2, 0.45), (3, 0.30), (6, 0.25)),
    "haze": ((7, 0.60), (2, 0.25), (6, 0.15)),
    "veil": ((7, 0.60), (2, 0.25), (6, 0.15)),
}
# Day of year (0-based) from which the monsoon's end shift applies instead of its onset
# shift (1 August, 31 July in leap years): July-August are overcast either way, so the
# switch shows no seam.
_END_SHIFT_FROM_DAY = 212
_DAYS_PER_MONTH = 365.25 / 12.0


def seed_words(*parts: object) -> list[int]:
    """Stable integer words for numpy's SeedSequence from mixed parts (str hashed by crc32)."""
    return [p if isinstance(p, int) else zlib.crc32(str(p).encode()) for p in parts]


@dataclass(frozen=True)
class SkyYear:
    """One year's seasons: shifts in days (positive = later) and haze factors."""

    monsoon_onset_shift_days: float = 0.0
    monsoon_end_shift_days: float = 0.0
    haze_shift_days: float = 0.0
    haze_probability_factor: float = 1.0
    haze_strength_factor: float = 1.0

    def to_json(self) -> dict[str, float]:
        return {key: round(float(value), 4) for key, value in self.__dict__.items()}


@dataclass(frozen=True)
class SkyDraw:
    """The sky of one world. ``kind`` "default" reproduces the tuned world draw for draw."""

    kind: str
    seed: int
    monthly_cloud_mean: tuple[float, ...] = MONTHLY_CLOUD_MEAN
    cloud_concentration: float = CLOUD_CONCENTRATION
    sensor: SensorParams = DEFAULT_SENSOR
    #: (platform, per-band gain B02 B03 B04 B08 B11 B12); empty in the default world.
    platform_gains: tuple[tuple[str, tuple[float, ...]], ...] = ()
    misclassified_scenes_per_year: float = 0.0

    @property
    def randomised(self) -> bool:
        return self.kind == "random"

    def stream(self, *parts: object) -> list[int]:
        """Seed words of a per-acquisition stream (weather, scene, wrong flags).

        The default world's are the simulator's old ones, (seed, *parts); a random world's
        are its own, so its clouds, shifts and noise are not the default world's of the
        same seed.
        """
        if not self.randomised:
            return seed_words(self.seed, *parts)
        return seed_words(self.seed, "random-world", *parts)

    def season(self, year: int) -> SkyYear:
        """The seasons of ``year`` (drawn from its own generator: any year, any order)."""
        if not self.randomised:
            return SkyYear()
        rng = np.random.default_rng(seed_words(self.seed, "sky", "season", year))

        def shift() -> float:
            return float(
                np.clip(
                    rng.normal(0.0, SEASON_SHIFT_SIGMA_DAYS),
                    -SEASON_SHIFT_MAX_DAYS,
                    SEASON_SHIFT_MAX_DAYS,
                )
            )

        onset, end, haze = shift(), shift(), shift()
        return SkyYear(
            monsoon_onset_shift_days=onset,
            monsoon_end_shift_days=end,
            haze_shift_days=haze,
            haze_probability_factor=float(rng.uniform(*HAZE_PROBABILITY_FACTOR_RANGE)),
            haze_strength_factor=float(rng.uniform(*HAZE_STRENGTH_FACTOR_RANGE)),
        )

    def climate_day(self, day: dt.date) -> float:
        """The day of the climatological year ``day`` behaves like (0-365), monsoon shifted.

        A monsoon that starts 10 days late makes 10 June look like 31 May.
        """
        season = self.season(day.year)
        doy = day.timetuple().tm_yday - 1
        shift = (
            season.monsoon_onset_shift_days
            if doy < _END_SHIFT_FROM_DAY
            else season.monsoon_end_shift_days
        )
        return (doy - shift) % 365.25

    def cloud_mean(self, day: dt.date) -> float:
        """Mean cloud fraction on ``day``: the month's in the default world; in a random one
        the perturbed monthly means interpolated between mid-months, monsoon shifted."""
        if not self.randomised:
            return self.monthly_cloud_mean[day.month - 1]
        return _periodic_interp(self.climate_day(day), self.monthly_cloud_mean)

    def haze_probability(self, day: dt.date) -> float:
        """Chance of burning-season haze on ``day``."""
        if not self.randomised:
            return MONTHLY_HAZE_PROBABILITY[day.month - 1]
        season = self.season(day.year)
        doy = day.timetuple().tm_yday - 1
        base = _periodic_interp(doy - season.haze_shift_days, MONTHLY_HAZE_PROBABILITY)
        return float(min(0.95, base * season.haze_probability_factor))

    def weather(self, rng: np.random.Generator, day: dt.date) -> Weather:
        """The sky of one acquisition; the default world is ``schedule.draw_weather``.

        A random world draws in the same order from the same generator, from its own
        climate: cloud share, haze, cirrus, cloud height.
        """
        if not self.randomised:
            return draw_weather(rng, day)
        mean = self.cloud_mean(day)
        k = self.cloud_concentration
        cloud = float(rng.beta(mean * k, (1.0 - mean) * k))
        if cloud < 0.02:
            cloud = 0.0
        strength = self.season(day.year).haze_strength_factor
        haze = (
            float(rng.uniform(0.25, 1.0)) * strength
            if rng.random() < self.haze_probability(day)
            else 0.0
        )
        month = int(self.climate_day(day) // _DAYS_PER_MONTH) % 12
        wet = 4 <= month <= 9
        cirrus_p = CIRRUS_PROBABILITY_WET if wet else CIRRUS_PROBABILITY_DRY
        cirrus = float(rng.uniform(0.2, 1.0)) if rng.random() < cirrus_p else 0.0
        height = float(rng.uniform(800.0, 2000.0) if wet else rng.uniform(1500.0, 3500.0))
        return Weather(cloud_fraction=cloud, haze=haze, cirrus=cirrus, cloud_height_m=height)

    def misclassified_probability(self, day: dt.date) -> float:
        """Chance that SCL gets an acquisition on ``day`` wrong as a whole."""
        if not self.randomised or self.misclassified_scenes_per_year <= 0:
            return 0.0
        weight = MISCLASSIFIED_MONTH_WEIGHT[day.month - 1]
        per_weight = self.misclassified_scenes_per_year / (
            sum(MISCLASSIFIED_MONTH_WEIGHT) * _ACQUISITIONS_PER_MONTH
        )
        return min(1.0, weight * per_weight)

    def scene_error(
        self, acquisition_index: int, day: dt.date, weather: Weather
    ) -> SceneError | None:
        """Whether SCL gets this acquisition wrong as a whole, and how (None: it does not).

        The degradation follows the scene's conditions: darkening in the low-sun months,
        haze when the scene is hazy, a veil of thin cloud under cirrus or broken cloud.
        """
        probability = self.misclassified_probability(day)
        if probability <= 0.0:
            return None
        rng = np.random.default_rng(seed_words(self.seed, "sky", "scene-error", acquisition_index))
        if rng.random() >= probability:
            return None
        winter = day.month in (11, 12, 1, 2)
        broken = weather.cirrus > 0 or 0.05 < weather.cloud_fraction < 0.6
        weights = np.array([1.0 + 2.0 * winter, 1.0 + 3.0 * (weather.haze > 0), 1.0 + 3.0 * broken])
        degradation = ("dark", "haze", "veil")[int(rng.choice(3, p=weights / weights.sum()))]
        classes, class_weights = zip(*_CLASS_WEIGHTS[degradation], strict=True)
        scl_class = int(classes[int(rng.choice(len(classes), p=np.array(class_weights)))])
        return SceneError(
            scl_class=scl_class,
            degradation=degradation,
            strength=float(rng.uniform(*_DEGRADATION_STRENGTH[degradation])),
            share=float(rng.uniform(*_MISCLASSIFIED_SHARE)),
        )

    def band_gain(self, platform: str) -> tuple[float, ...] | None:
        """The satellite's fixed per-band gain (None in the default world)."""
        return dict(self.platform_gains).get(platform)

    def to_json(self, years: range | None = None) -> dict[str, Any]:
        """The draw as JSON; ``years`` adds those years' seasons."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "monthly_cloud_mean": [round(m, 4) for m in self.monthly_cloud_mean],
            "cloud_concentration": round(self.cloud_concentration, 4),
            "sensor": self.sensor.to_json(),
            "platform_gains": {p: [round(g, 5) for g in gains] for p, gains in self.platform_gains},
            "misclassified_scenes_per_year": round(self.misclassified_scenes_per_year, 3),
        }
        if years is not None:
            out["seasons"] = {str(y): self.season(y).to_json() for y in years}
        return out


def _periodic_interp(day_of_year: float, monthly: tuple[float, ...]) -> float:
    """Monthly values placed at mid-month, interpolated linearly around the year."""
    nodes = (np.arange(12) + 0.5) * _DAYS_PER_MONTH
    return float(np.interp(day_of_year % 365.25, nodes, monthly, period=365.25))


def default_sky_draw(seed: int = 0) -> SkyDraw:
    """The tuned world's sky: the module constants, no misclassified scenes, equal satellites."""
    return SkyDraw(kind="default", seed=seed)


def random_sky_draw(seed: int) -> SkyDraw:
    """A sky drawn for ``seed`` from the documented distributions."""
    rng = np.random.default_rng(seed_words(seed, "sky", "world"))
    logits = np.log(np.asarray(MONTHLY_CLOUD_MEAN) / (1.0 - np.asarray(MONTHLY_CLOUD_MEAN)))
    logits = logits + rng.normal(0.0, MONTHLY_CLOUD_LOGIT_SIGMA, 12)
    monthly = tuple(float(1.0 / (1.0 + math.exp(-v))) for v in logits)
    concentration = float(rng.uniform(*CLOUD_CONCENTRATION_RANGE))
    sensor = SensorParams(
        **{name: float(rng.uniform(lo, hi)) for name, (lo, hi) in SENSOR_RANGES.items()}
    )
    gains = tuple(
        (
            platform,
            tuple(
                float(g)
                for g in 1.0
                + np.clip(
                    rng.normal(0.0, PLATFORM_GAIN_SIGMA, 6), -PLATFORM_GAIN_MAX, PLATFORM_GAIN_MAX
                )
            ),
        )
        for platform in PLATFORMS
    )
    per_year = float(rng.uniform(*MISCLASSIFIED_SCENES_PER_YEAR_RANGE))
    return SkyDraw(
        kind="random",
        seed=seed,
        monthly_cloud_mean=monthly,
        cloud_concentration=concentration,
        sensor=sensor,
        platform_gains=gains,
        misclassified_scenes_per_year=per_year,
    )
