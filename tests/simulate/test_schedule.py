"""Overpasses and the border's weather."""

from __future__ import annotations

import datetime as dt

import numpy as np

from monitor.simulate.schedule import acquisition_schedule, draw_weather, sun_angles


def test_schedule_has_five_day_revisit_and_a_third_satellite_in_2025() -> None:
    acqs = acquisition_schedule(dt.date(2023, 7, 1), dt.date(2026, 6, 30))
    in_2024 = [a for a in acqs if a.date.year == 2024]
    in_2025 = [a for a in acqs if a.date.year == 2025]
    assert 70 <= len(in_2024) <= 75  # every 5 days
    assert {a.platform for a in in_2024} == {"sentinel-2a", "sentinel-2b"}
    assert "sentinel-2c" in {a.platform for a in in_2025}
    assert len(in_2025) > len(in_2024) + 20
    assert len({a.index for a in acqs}) == len(acqs)
    # Same date, same index whatever the range asked.
    later = acquisition_schedule(dt.date(2025, 1, 1), dt.date(2025, 3, 1))
    assert {a.index for a in later} <= {a.index for a in acqs}


def test_monsoon_mostly_cloudy_dry_season_mostly_clear() -> None:
    def cloud(months: set[int]) -> np.ndarray:
        values = []
        for seed in range(300):
            rng = np.random.default_rng(seed)
            for month in months:
                values.append(draw_weather(rng, dt.date(2024, month, 15)).cloud_fraction)
        return np.array(values)

    monsoon, dry = cloud({6, 7, 8, 9}), cloud({11, 12, 1, 2, 3})
    assert monsoon.mean() > 0.75 and (monsoon > 0.5).mean() > 0.75
    assert dry.mean() < 0.2 and (dry < 0.3).mean() > 0.7


def test_haze_belongs_to_the_burning_season() -> None:
    rng = np.random.default_rng(0)
    march = [draw_weather(rng, dt.date(2025, 3, 10)).haze > 0 for _ in range(300)]
    august = [draw_weather(rng, dt.date(2025, 8, 10)).haze > 0 for _ in range(300)]
    assert np.mean(march) > 0.7 and not any(august)


def test_sun_is_lower_and_further_south_in_december() -> None:
    dec = sun_angles(dt.datetime(2024, 12, 21, 3, 56, tzinfo=dt.UTC), 16.63, 98.56)
    jun = sun_angles(dt.datetime(2024, 6, 21, 3, 56, tzinfo=dt.UTC), 16.63, 98.56)
    assert 40 < dec[0] < 50 and 140 < dec[1] < 160
    assert jun[0] > 60 and jun[1] < 90
