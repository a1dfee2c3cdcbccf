"""The seasons of the simulated ground: each cover's reflectance through the year.

Keyframes are typical published values for the six bands, from field and library spectra
of tropical forest, rice paddies through their cycle, maize, laterite soil, turbid river
water, asphalt, concrete and painted metal roofs (USGS splib07 / ECOSTRESS library spectra
convolved to Sentinel-2 bands, and Sentinel-2 phenology studies of mainland South-East
Asia). A random world redraws the field calendars (:mod:`monitor.simulate.groundworld`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from monitor.simulate import groundworld, rededge
from monitor.simulate.cover import BANDS, N_COVERS, Cover, FieldCrop
from monitor.simulate.rededge import EdgeShape

if TYPE_CHECKING:
    from monitor.simulate.ground import Ground
    from monitor.simulate.groundworld import GroundDraw

__all__ = ["COVER_EDGE_SHAPES", "class_spectra", "interp_keyframes", "parcel_spectra"]

# Seasonal keyframes: (day of year, reflectance B02 B03 B04 B08 B11 B12). Between keyframes
# reflectance is interpolated linearly, wrapping over the new year.
_KEYFRAMES: dict[int, list[tuple[int, tuple[float, ...]]]] = {
    # Turbid Moei: olive and clearer in the dry season, brown with sediment in the monsoon.
    Cover.WATER: [
        (40, (0.040, 0.057, 0.048, 0.029, 0.010, 0.007)),
        (120, (0.044, 0.062, 0.058, 0.034, 0.012, 0.008)),
        (225, (0.062, 0.088, 0.100, 0.070, 0.019, 0.012)),
        (300, (0.054, 0.080, 0.080, 0.050, 0.015, 0.010)),
    ],
    # Mixed deciduous forest on the foothills: leaf-off and dusty in March-April.
    Cover.FOREST: [
        (30, (0.026, 0.050, 0.034, 0.270, 0.170, 0.085)),
        (100, (0.036, 0.058, 0.058, 0.225, 0.215, 0.125)),
        (180, (0.022, 0.047, 0.027, 0.310, 0.155, 0.068)),
        (260, (0.020, 0.045, 0.024, 0.330, 0.148, 0.063)),
    ],
    # Scrub and fallow: green in the rains, straw-coloured and bright in SWIR when dry.
    Cover.SCRUB: [
        (30, (0.048, 0.072, 0.085, 0.230, 0.265, 0.185)),
        (95, (0.062, 0.086, 0.115, 0.215, 0.305, 0.230)),
        (190, (0.032, 0.062, 0.045, 0.290, 0.210, 0.105)),
        (270, (0.030, 0.060, 0.040, 0.310, 0.200, 0.100)),
    ],
    Cover.GRASS: [
        (30, (0.052, 0.078, 0.088, 0.225, 0.265, 0.185)),
        (95, (0.062, 0.085, 0.110, 0.205, 0.295, 0.215)),
        (190, (0.035, 0.070, 0.050, 0.285, 0.200, 0.100)),
        (270, (0.033, 0.068, 0.045, 0.300, 0.195, 0.095)),
    ],
    Cover.LAWN: [
        (40, (0.040, 0.074, 0.062, 0.280, 0.235, 0.140)),
        (100, (0.048, 0.078, 0.078, 0.250, 0.260, 0.170)),
        (220, (0.030, 0.068, 0.040, 0.360, 0.195, 0.090)),
    ],
    # Laterite soil darkens when wet.
    Cover.SOIL: [
        (60, (0.085, 0.112, 0.160, 0.240, 0.325, 0.270)),
        (220, (0.068, 0.092, 0.130, 0.200, 0.265, 0.215)),
    ],
    Cover.SANDBAR: [
        (60, (0.115, 0.135, 0.160, 0.215, 0.290, 0.250)),
        (220, (0.085, 0.105, 0.125, 0.175, 0.225, 0.185)),
    ],
    Cover.POND: [
        (60, (0.040, 0.066, 0.050, 0.040, 0.014, 0.009)),
        (220, (0.044, 0.078, 0.060, 0.055, 0.016, 0.010)),
    ],
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
    FieldCrop.RICE: [
        (1, _STUBBLE),
        (105, (0.080, 0.100, 0.135, 0.205, 0.310, 0.255)),
        (160, (0.056, 0.073, 0.092, 0.150, 0.195, 0.145)),
        (190, (0.048, 0.064, 0.058, 0.085, 0.055, 0.032)),
        (222, (0.040, 0.068, 0.050, 0.190, 0.110, 0.060)),
        (258, (0.030, 0.070, 0.040, 0.380, 0.200, 0.090)),
        (290, (0.032, 0.066, 0.042, 0.390, 0.210, 0.100)),
        (315, (0.055, 0.085, 0.095, 0.280, 0.270, 0.175)),
        (335, (0.068, 0.088, 0.112, 0.210, 0.285, 0.225)),
    ],
    # The same monsoon rice, then an irrigated crop green January-March.
    FieldCrop.DOUBLE: [
        (1, (0.040, 0.070, 0.055, 0.300, 0.200, 0.100)),
        (60, (0.032, 0.070, 0.042, 0.370, 0.205, 0.095)),
        (100, (0.065, 0.088, 0.105, 0.230, 0.275, 0.210)),
        (160, (0.056, 0.073, 0.092, 0.150, 0.195, 0.145)),
        (190, (0.048, 0.064, 0.058, 0.085, 0.055, 0.032)),
        (222, (0.040, 0.068, 0.050, 0.190, 0.110, 0.060)),
        (258, (0.030, 0.070, 0.040, 0.380, 0.200, 0.090)),
        (305, (0.050, 0.082, 0.088, 0.290, 0.260, 0.170)),
        (335, (0.052, 0.070, 0.070, 0.140, 0.150, 0.110)),
    ],
    # Bare red soil December-May, sown with the first rains, green July-September.
    FieldCrop.MAIZE: [
        (60, (0.085, 0.108, 0.150, 0.230, 0.320, 0.270)),
        (150, (0.075, 0.095, 0.128, 0.210, 0.290, 0.240)),
        (205, (0.032, 0.066, 0.042, 0.360, 0.220, 0.100)),
        (250, (0.030, 0.064, 0.040, 0.380, 0.215, 0.098)),
        (290, (0.060, 0.082, 0.092, 0.265, 0.285, 0.195)),
        (320, (0.078, 0.098, 0.125, 0.225, 0.305, 0.245)),
    ],
    FieldCrop.FALLOW: [
        (30, (0.055, 0.080, 0.095, 0.225, 0.275, 0.195)),
        (95, (0.066, 0.090, 0.120, 0.210, 0.305, 0.235)),
        (200, (0.036, 0.066, 0.050, 0.285, 0.215, 0.110)),
        (280, (0.034, 0.064, 0.046, 0.300, 0.205, 0.105)),
    ],
}
#: A burnt field: black ash over stubble (February-April burning).
_BURNT_FIELD = np.array([0.034, 0.038, 0.043, 0.070, 0.095, 0.088], dtype=np.float32)

#: How each cover runs from red to NIR (:mod:`monitor.simulate.rededge`); fields follow
#: their crop's stage instead (``_FIELD_SOIL_DAYS``).
COVER_EDGE_SHAPES: dict[int, EdgeShape] = {
    Cover.WATER: EdgeShape.WATER,
    Cover.POND: EdgeShape.WATER,
    Cover.FOREST: EdgeShape.VEGETATION,
    Cover.SCRUB: EdgeShape.VEGETATION,
    Cover.GRASS: EdgeShape.VEGETATION,
    Cover.LAWN: EdgeShape.VEGETATION,
    Cover.PADDY: EdgeShape.VEGETATION,
    Cover.SOIL: EdgeShape.SOIL,
    Cover.SANDBAR: EdgeShape.SOIL,
    Cover.SITE: EdgeShape.SOIL,
    **{cover: EdgeShape.FLAT for cover in _CONSTANT if cover != Cover.SITE},
}
# Keyframes of the field calendars that show bare soil (ploughed, or red soil before
# maize); the others are crop canopy from green to senescent stubble.
_FIELD_SOIL_DAYS: dict[int, frozenset[int]] = {
    FieldCrop.RICE: frozenset({160}),
    FieldCrop.DOUBLE: frozenset({160}),
    FieldCrop.MAIZE: frozenset({60, 150}),
    FieldCrop.FALLOW: frozenset(),
}


def _with_edge(value: tuple[float, ...], shape: EdgeShape) -> tuple[float, ...]:
    """A six-band spectrum followed by its red edge (B05 B06 B07 B8A): ten values."""
    return tuple(value) + tuple(float(v) for v in rededge.red_edge(value, shape))


# The same keyframes with the red edge appended to every spectrum (ten bands): the first
# six are the very numbers above, so whatever reads six bands sees what it always saw.
_KEYFRAMES_RE = {
    cover: [(d, _with_edge(v, COVER_EDGE_SHAPES[cover])) for d, v in frames]
    for cover, frames in _KEYFRAMES.items()
}
_CONSTANT_RE = {cover: _with_edge(v, COVER_EDGE_SHAPES[cover]) for cover, v in _CONSTANT.items()}
_FIELD_KEYFRAMES_RE = {
    crop: [
        (
            d,
            _with_edge(v, EdgeShape.SOIL if d in _FIELD_SOIL_DAYS[crop] else EdgeShape.VEGETATION),
        )
        for d, v in frames
    ]
    for crop, frames in _FIELD_KEYFRAMES.items()
}
_BURNT_FIELD_RE = np.asarray(_with_edge(tuple(_BURNT_FIELD), EdgeShape.FLAT), dtype=np.float32)


def interp_keyframes(
    frames: list[tuple[int, tuple[float, ...]]], doy: npt.NDArray[np.float64] | float
) -> npt.NDArray[np.float32]:
    """Periodic linear interpolation of keyframes at ``doy``: (..., n bands) float32."""
    days = np.array([d for d, _ in frames], dtype=float)
    values = np.array([v for _, v in frames], dtype=float)
    days_p = np.concatenate([days[-1:] - 365, days, days[:1] + 365])
    values_p = np.concatenate([values[-1:], values, values[:1]])
    doy = np.asarray(doy, dtype=float)
    return np.stack(
        [np.interp(doy, days_p, values_p[:, b]) for b in range(values.shape[1])], axis=-1
    ).astype(np.float32)


def class_spectra(
    day: dt.date, phase_days: int = 0, *, red_edge: bool = False
) -> npt.NDArray[np.float32]:
    """Reflectance of every cover class on ``day``: float32 (n_classes, 6).

    ``phase_days`` shifts the seasonal calendar. Fields (``PADDY``) get the rain-fed rice
    calendar here; :func:`render_surface` gives each parcel its own crop. ``red_edge``: ten
    bands, B05 B06 B07 B8A after the six (which are the same either way).
    """
    doy = (day.timetuple().tm_yday + phase_days - 1) % 365 + 1
    keyframes = _KEYFRAMES_RE if red_edge else _KEYFRAMES
    constant = _CONSTANT_RE if red_edge else _CONSTANT
    fields = _FIELD_KEYFRAMES_RE if red_edge else _FIELD_KEYFRAMES
    table = np.zeros((N_COVERS, len(BANDS) + 4 * red_edge), dtype=np.float32)
    for cover, frames in keyframes.items():
        table[cover] = interp_keyframes(frames, doy)
    table[Cover.PADDY] = interp_keyframes(fields[FieldCrop.RICE], doy)
    for cover, value in constant.items():
        table[cover] = value
    return table


def parcel_spectra(
    ground: Ground, day: dt.date, draw: GroundDraw | None = None, *, red_edge: bool = False
) -> npt.NDArray[np.float32]:
    """Reflectance of every field parcel on ``day``: float32 (n_parcels, 6), or ten bands
    with ``red_edge`` (B05 B06 B07 B8A after the six, which are the same either way)."""
    field_keyframes = _FIELD_KEYFRAMES_RE if red_edge else _FIELD_KEYFRAMES
    burnt_field = _BURNT_FIELD_RE if red_edge else _BURNT_FIELD
    if draw is not None and ground.calendar is not None:
        doy = day.timetuple().tm_yday
        fallow = interp_keyframes(field_keyframes[FieldCrop.FALLOW], doy)
        return groundworld.world_parcel_spectra(draw, ground, day, fallow)
    assert ground.parcel_crop is not None and ground.parcel_phase is not None
    assert ground.parcel_burn_doy is not None
    doy_today = day.timetuple().tm_yday
    doy = (doy_today + ground.parcel_phase.astype(float) - 1) % 365 + 1
    out = np.empty((ground.parcel_crop.size, len(burnt_field)), dtype=np.float32)
    for crop, frames in field_keyframes.items():
        which = ground.parcel_crop == crop
        if which.any():
            out[which] = interp_keyframes(frames, doy[which])
    # Stubble burning: black for about three weeks, then the ash fades over a month. The
    # day moves by up to ten days from one year to the next.
    burn = ground.parcel_burn_doy.astype(float)
    burnt = burn > 0
    if burnt.any():
        year_shift = ((day.year * 7 + np.arange(burn.size)) % 21) - 10
        since = doy_today - (burn + year_shift)
        weight = np.where(
            since < 0,
            0.0,
            np.where(since < 20, 0.85, np.clip(0.85 - (since - 20) * 0.85 / 35.0, 0.0, 0.85)),
        )
        weight = np.where(burnt, weight, 0.0).astype(np.float32)[:, None]
        out = out * (1.0 - weight) + burnt_field[None, :] * weight
    return out
