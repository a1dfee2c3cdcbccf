"""The sky of a random world: drawn per seed within its documented ranges, the default world
untouched, misclassified scenes at their rate and doing what they say, satellite gains."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from monitor.simulate.schedule import Weather, acquisition_schedule, draw_weather
from monitor.simulate.sensor import (
    BOA_ADD_OFFSET,
    DEFAULT_SENSOR,
    SCENE_ERROR_CLASSES,
    SceneError,
    SensorParams,
    observe,
)
from monitor.simulate.skyworld import (
    MISCLASSIFIED_MONTH_WEIGHT,
    MISCLASSIFIED_SCENES_PER_YEAR_RANGE,
    PLATFORM_GAIN_MAX,
    PLATFORMS,
    SEASON_SHIFT_MAX_DAYS,
    SENSOR_RANGES,
    default_sky_draw,
    random_sky_draw,
    seed_words,
)

CLEAR = Weather(cloud_fraction=0.0, haze=0.0, cirrus=0.0, cloud_height_m=2000.0)


def test_default_sky_is_the_tuned_one() -> None:
    sky = default_sky_draw(7)
    assert not sky.randomised and sky.sensor == DEFAULT_SENSOR
    assert sky.band_gain("sentinel-2a") is None
    for i, day in enumerate(dt.date(2024, 1, 3) + dt.timedelta(days=9 * k) for k in range(60)):
        assert sky.weather(np.random.default_rng(i), day) == draw_weather(
            np.random.default_rng(i), day
        )
        assert sky.misclassified_probability(day) == 0.0
        assert sky.scene_error(i, day, CLEAR) is None


def test_random_skies_differ_by_seed_and_repeat_for_a_seed() -> None:
    skies = [random_sky_draw(seed) for seed in range(20)]
    assert random_sky_draw(3) == skies[3]
    assert len({sky.sensor for sky in skies}) == 20
    assert len({sky.monthly_cloud_mean for sky in skies}) == 20
    for sky in skies:
        assert sky.randomised
        for name, (low, high) in SENSOR_RANGES.items():
            assert low <= getattr(sky.sensor, name) <= high, name
        low, high = MISCLASSIFIED_SCENES_PER_YEAR_RANGE
        assert low <= sky.misclassified_scenes_per_year <= high
        # The monsoon stays the monsoon: perturbed means keep their order of magnitude.
        means = np.array(sky.monthly_cloud_mean)
        assert means[5:9].min() > 0.6 and means[[0, 1, 11]].max() < 0.3
    spread = np.array([sky.sensor.misregistration_sigma_px for sky in skies])
    assert spread.max() - spread.min() > 0.1


def test_monsoon_onset_and_end_shift_within_three_weeks() -> None:
    shifts = []
    for seed in range(30):
        sky = random_sky_draw(seed)
        for year in range(2023, 2027):
            season = sky.season(year)
            assert season == sky.season(year)  # any year, any order
            shifts += [
                season.monsoon_onset_shift_days,
                season.monsoon_end_shift_days,
                season.haze_shift_days,
            ]
    shifts_arr = np.array(shifts)
    assert np.abs(shifts_arr).max() <= SEASON_SHIFT_MAX_DAYS
    assert 6.0 < shifts_arr.std() < 12.0 and np.abs(shifts_arr).max() > 14.0


def test_a_late_onset_delays_the_clouds() -> None:
    """With the onset shifted by s days, day d's cloud mean is that of day d - s unshifted."""
    sky = random_sky_draw(11)
    onset = sky.season(2025).monsoon_onset_shift_days
    assert abs(onset) > 1.0
    day = dt.date(2025, 5, 20)
    nodes = (np.arange(12) + 0.5) * 365.25 / 12
    doy = day.timetuple().tm_yday - 1
    expected = float(np.interp(doy - onset, nodes, sky.monthly_cloud_mean, period=365.25))
    assert sky.cloud_mean(day) == pytest.approx(expected, abs=1e-9)
    # Late onset: less cloud on 20 May than the unshifted climatology (the means rise then).
    unshifted = float(np.interp(doy, nodes, sky.monthly_cloud_mean, period=365.25))
    assert (sky.cloud_mean(day) < unshifted) == (onset > 0)


def test_random_weather_keeps_its_seasons() -> None:
    sky = random_sky_draw(2)
    rng = np.random.default_rng(0)
    monsoon = [sky.weather(rng, dt.date(2025, 8, 1 + k % 28)).cloud_fraction for k in range(400)]
    dry = [sky.weather(rng, dt.date(2025, 1, 1 + k % 28)).cloud_fraction for k in range(400)]
    assert np.mean(monsoon) > 0.7 and np.mean(dry) < 0.25
    haze_march = [sky.weather(rng, dt.date(2025, 3, 10)).haze > 0 for _ in range(300)]
    haze_august = [sky.weather(rng, dt.date(2025, 8, 10)).haze > 0 for _ in range(300)]
    assert np.mean(haze_march) > 0.4 and not any(haze_august)


def test_misclassified_scenes_come_at_the_drawn_rate() -> None:
    sky = random_sky_draw(5)
    per_year = sky.misclassified_scenes_per_year
    # A year at the 5-day revisit of two satellites holds per_year of them on average.
    acquisitions_per_month = 365.25 / 5 / 12
    expected = sum(
        sky.misclassified_probability(dt.date(2025, m, 15)) * acquisitions_per_month
        for m in range(1, 13)
    )
    assert expected == pytest.approx(per_year)
    winter = sum(MISCLASSIFIED_MONTH_WEIGHT[m - 1] for m in (11, 12, 1, 2))
    assert winter / sum(MISCLASSIFIED_MONTH_WEIGHT) > 0.6
    # Drawn per acquisition at that probability.
    for day in (dt.date(2025, 12, 20), dt.date(2025, 7, 20)):
        p = sky.misclassified_probability(day)
        n = 6000
        hits = sum(sky.scene_error(index, day, CLEAR) is not None for index in range(n))
        assert abs(hits - n * p) < 4.5 * math.sqrt(n * p * (1 - p)) + 1
    # Over the real schedule of 2024-07..2025-06 (two satellites, then three).
    acquisitions = acquisition_schedule(dt.date(2024, 7, 1), dt.date(2025, 6, 30))
    counts = []
    for seed in range(40):
        sky = random_sky_draw(seed)
        counts.append(
            sum(sky.scene_error(a.index, a.date, CLEAR) is not None for a in acquisitions)
            / sky.misclassified_scenes_per_year
        )
    # 84 acquisitions that year, 73 at the 5-day revisit: 1.06x; S2A's return adds more.
    assert 0.9 < np.mean(counts) < 1.5


def test_scene_errors_follow_the_scene() -> None:
    sky = random_sky_draw(1)
    hazy = Weather(cloud_fraction=0.0, haze=0.8, cirrus=0.0, cloud_height_m=2000.0)
    found = {"dark": 0, "haze": 0, "veil": 0}
    for index in range(4000):
        error = sky.scene_error(index, dt.date(2025, 3, 10), hazy)
        if error is not None:
            found[error.degradation] += 1
            assert error.scl_class in SCENE_ERROR_CLASSES
            assert 0.6 <= error.share <= 0.95
    assert found["haze"] > found["dark"] and found["haze"] > found["veil"]


def _surface(rows: int = 60, cols: int = 60) -> np.ndarray:
    """Vegetation with texture: B02 B03 B04 B08 B11 B12."""
    rng = np.random.default_rng(0)
    base = np.array([0.04, 0.07, 0.05, 0.30, 0.18, 0.09], dtype=np.float32)
    return (base[:, None, None] * (1 + 0.1 * rng.standard_normal((6, rows, cols)))).astype(
        np.float32
    )


def _observe(error: SceneError | None, offset_in_pixels: bool = False, **kwargs) -> object:
    """The same clear scene (same generator), with ``error`` drawn from its own generator."""
    kwargs.setdefault("scene_error_rng", np.random.default_rng(9) if error else None)
    return observe(
        _surface(),
        CLEAR,
        np.random.default_rng(5),
        sun_elevation_deg=45.0,
        sun_azimuth_deg=150.0,
        offset_in_pixels=offset_in_pixels,
        scene_error=error,
        **kwargs,
    )


@pytest.mark.parametrize(
    "scl_class, degradation, strength",
    [
        (2, "dark", 0.4),
        (3, "dark", 0.3),
        (6, "dark", 0.45),
        (7, "haze", 1.0),
        (7, "veil", 0.2),
        (2, "veil", 0.15),
    ],
)
def test_a_misclassified_scene_is_wrong_as_a_whole(
    scl_class: int, degradation: str, strength: float
) -> None:
    error = SceneError(scl_class=scl_class, degradation=degradation, strength=strength, share=0.8)
    clean, wrong = _observe(None), _observe(error)
    # SCL: the clean scene is vegetation; most of the misclassified one is in the class,
    # and none of it is flagged cloud or cirrus.
    assert (clean.scl == 4).mean() > 0.95
    assert (wrong.scl == scl_class).mean() >= 0.75
    assert wrong.misclassified_share == pytest.approx((wrong.scl == scl_class).mean(), abs=0.02)
    assert not np.isin(wrong.scl, (8, 9, 10)).any()
    # Pixels: degraded where the class is, as the degradation says; untouched elsewhere.
    region = np.repeat(np.repeat(wrong.scl == scl_class, 2, axis=0), 2, axis=1)
    before = clean.bands10.astype(np.float64)
    after = wrong.bands10.astype(np.float64)
    ratio = after[:, region].mean(axis=1) / before[:, region].mean(axis=1)
    if degradation == "dark":
        assert np.all(ratio < 1.0 - 0.6 * strength)
    else:  # haze and veil brighten the dark visible bands and wash out the vegetation

        def ndvi(bands: np.ndarray) -> float:
            red, nir = bands[2, region].mean(), bands[3, region].mean()
            return float((nir - red) / (nir + red))

        assert ratio[0] > 1.2 and ndvi(after) < ndvi(before) - 0.05
    far = ~np.repeat(np.repeat(_dilated(wrong.scl == scl_class), 2, axis=0), 2, axis=1)
    if far.any():
        assert np.abs(after[:, far] - before[:, far]).max() == 0


def _dilated(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=3)


def test_a_scene_error_leaves_the_rest_of_the_scene_as_it_was() -> None:
    """Its own generator: shift, slip, wobble and noise are those of the scene without it."""
    error = SceneError(scl_class=2, degradation="dark", strength=0.3, share=0.6)
    clean, wrong = _observe(None), _observe(error)
    assert clean.shift_px == wrong.shift_px and clean.slipped == wrong.slipped
    with pytest.raises(ValueError, match="generator"):
        _observe(error, scene_error_rng=None)
    with pytest.raises(ValueError):
        SceneError(scl_class=8, degradation="dark", strength=0.3, share=0.6)


def test_satellite_gains_are_applied_per_band() -> None:
    sky = random_sky_draw(8)
    gains = {platform: np.array(sky.band_gain(platform)) for platform in PLATFORMS}
    for gain in gains.values():
        assert np.all(np.abs(gain - 1.0) <= PLATFORM_GAIN_MAX + 1e-12)
    assert not np.allclose(gains["sentinel-2a"], gains["sentinel-2b"])
    base = _observe(None)
    for platform, gain in gains.items():
        seen = _observe(None, band_gain=tuple(gain))
        ratio10 = seen.bands10.mean(axis=(1, 2)) / base.bands10.mean(axis=(1, 2))
        ratio20 = seen.bands20.mean(axis=(1, 2)) / base.bands20.mean(axis=(1, 2))
        np.testing.assert_allclose(
            np.concatenate([ratio10, ratio20]), gain, atol=2e-3, err_msg=platform
        )
    # With the offset stored, the gain applies to reflectance, not to the +1000.
    offset = _observe(None, offset_in_pixels=True, band_gain=tuple(gains["sentinel-2c"]))
    ratio = (offset.bands10.mean(axis=(1, 2)) - BOA_ADD_OFFSET) / base.bands10.mean(axis=(1, 2))
    np.testing.assert_allclose(ratio, gains["sentinel-2c"][:4], atol=2e-3)


def test_sensor_params_change_the_scene() -> None:
    """A world's misregistration and SCL rates reach the pixels (same draws, other sizes)."""
    wide = SensorParams(misregistration_sigma_px=0.35, slip_rate=0.0)
    narrow = SensorParams(misregistration_sigma_px=0.10, slip_rate=0.0)
    a, b = _observe(None, params=wide), _observe(None, params=narrow)
    assert a.shift_px == pytest.approx(tuple(3.5 * s for s in b.shift_px))
    assert SensorParams().to_json()["scl_cloud_edge_alpha"] == DEFAULT_SENSOR.scl_cloud_edge_alpha


def test_random_world_streams_are_its_own() -> None:
    """The default world keeps the simulator's old seed words; a random one has its own."""
    assert default_sky_draw(3).stream("scene", 5, "kk-park") == seed_words(3, "scene", 5, "kk-park")
    assert random_sky_draw(3).stream("scene", 5, "kk-park") != seed_words(3, "scene", 5, "kk-park")
