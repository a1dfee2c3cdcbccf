"""A randomised ground: per seed, the simulator draws its own materials, crops, buildings.

The detector must not learn one fixed world. A :class:`GroundDraw` holds everything about
the ground that a random world redraws; :func:`default_ground_draw` is the fixed world
(the ground and its planted changes then take the default code paths, with no extra
random draws), :func:`random_ground_draw` draws a world from the distributions below, from
its own generator ``np.random.default_rng([seed, GROUND_STREAM])``.

What a random world varies (docs/simulator.md, "Randomised world: the ground"):

- material spectra: a per-seed factor per material and band (a brightness factor times a
  per-band factor), and per building, parcel or patch a further per-band factor, around
  base spectra of this module's own (:data:`BASE_SPECTRA`, band means B02 B03 B04 B08 B11
  B12 of library spectra: USGS splib07 and ECOSTRESS man-made materials and soils, ESA's
  Sentinel-2 reflectance of rice and maize through their cycle);
- crop calendars per field and year (planting and harvest within +-30 days of the base
  calendar), an abrupt harvest (green or ripe to stubble in a few days), a share of fields
  burnt in February-April, a share left fallow in a year;
- planted buildings: sizes 200-20,000 m2, orientation, storeys, roof material;
- staged construction (site, slab/frame, roof) and five kinds of demolition.

Per-object values (a building's tint, a parcel's calendar) come from generators seeded from
(seed, ground id), never from the default world's streams.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from monitor.simulate import rededge
from monitor.simulate.cover import ROOF_COVERS, Cover, FieldCrop
from monitor.simulate.rededge import EdgeCoefficients, EdgeShape

if TYPE_CHECKING:
    from monitor.simulate.ground import Ground

__all__ = [
    "BASE_SPECTRA",
    "DEMOLITION_KINDS",
    "GROUND_STREAM",
    "MATERIAL_FACTOR_BOUNDS",
    "N_VARIANTS",
    "ROOF_MATERIALS",
    "WORLD_SIZE_BINS_PX",
    "FieldCalendar",
    "GroundDraw",
    "default_ground_draw",
    "random_ground_draw",
]

#: Second word of the random world's seed sequence ("grnd"): its own stream.
GROUND_STREAM = 0x67726E64
#: Third word of the seed sequence of the red edge's per-seed shapes ("redg"): a stream of
#: its own, so no draw of the six bands moves.
RED_EDGE_STREAM = 0x72656467
#: Tints per material: each building, parcel or patch of ground takes one of them.
N_VARIANTS = 16
#: Harness bins in pixels for a random world: 200-399, 400-899, 900-1,999, 2,000-20,000 m2.
WORLD_SIZE_BINS_PX: tuple[tuple[int, int], ...] = ((2, 3), (4, 8), (9, 19), (20, 200))
#: Every factor applied to a base spectrum (seed and object together) lies within these.
MATERIAL_FACTOR_BOUNDS = (0.75, 1.0 / 0.75)

# Base reflectance, B02 B03 B04 B08 B11 B12: band means of library spectra convolved with
# the Sentinel-2A spectral response. Roofs: ECOSTRESS man-made materials (painted and
# galvanised sheet metal, concrete, terracotta tile) and USGS splib07 chapter A; roads
# and rubble: splib07 asphalt and construction concrete, weathered; soils: ECOSTRESS
# oxisol (laterite) and entisol (grey alluvium), splib07 quartz sand; crops: Sentinel-2
# rice and maize reflectance through the season in mainland South-East Asia.
BASE_SPECTRA: dict[str, tuple[float, ...]] = {
    "roof_blue": (0.175, 0.140, 0.085, 0.205, 0.160, 0.120),
    "roof_red": (0.070, 0.072, 0.165, 0.265, 0.275, 0.220),
    "roof_white": (0.450, 0.470, 0.480, 0.500, 0.420, 0.350),
    "roof_grey": (0.195, 0.205, 0.215, 0.240, 0.250, 0.225),
    "concrete": (0.190, 0.210, 0.230, 0.265, 0.305, 0.280),
    "tile": (0.080, 0.100, 0.190, 0.280, 0.320, 0.270),
    "road": (0.115, 0.125, 0.135, 0.165, 0.205, 0.185),
    "asphalt": (0.060, 0.066, 0.072, 0.090, 0.112, 0.102),
    "rubble": (0.140, 0.152, 0.172, 0.205, 0.262, 0.240),
    "burnt_roof": (0.038, 0.040, 0.046, 0.062, 0.075, 0.066),
    "laterite": (0.072, 0.102, 0.172, 0.250, 0.340, 0.290),
    "alluvium": (0.092, 0.112, 0.132, 0.182, 0.262, 0.230),
    "sand": (0.140, 0.170, 0.210, 0.270, 0.360, 0.320),
    "stubble": (0.072, 0.092, 0.120, 0.210, 0.300, 0.240),
    "ploughed": (0.058, 0.074, 0.094, 0.148, 0.190, 0.150),
    "flooded": (0.050, 0.066, 0.060, 0.082, 0.050, 0.030),
    "rice_green": (0.030, 0.070, 0.040, 0.380, 0.200, 0.090),
    "rice_ripe": (0.060, 0.090, 0.102, 0.272, 0.272, 0.180),
    "maize_green": (0.032, 0.066, 0.041, 0.370, 0.220, 0.100),
    "maize_dry": (0.072, 0.092, 0.122, 0.240, 0.310, 0.250),
    "fallow_green": (0.035, 0.066, 0.050, 0.290, 0.212, 0.110),
    "fallow_dry": (0.066, 0.090, 0.120, 0.212, 0.302, 0.232),
    "ash": (0.034, 0.038, 0.043, 0.070, 0.095, 0.088),
}
#: How each material runs from red to NIR (its red edge, :mod:`monitor.simulate.rededge`).
MATERIAL_EDGE_SHAPES: dict[str, EdgeShape] = {
    **{m: EdgeShape.FLAT for m in BASE_SPECTRA},
    **{m: EdgeShape.SOIL for m in ("laterite", "alluvium", "sand", "ploughed")},
    **{
        m: EdgeShape.VEGETATION
        for m in (
            "stubble",
            "flooded",
            "rice_green",
            "rice_ripe",
            "maize_green",
            "maize_dry",
            "fallow_green",
            "fallow_dry",
        )
    },
}
#: Roof materials of planted buildings (cover codes), drawn by the world's roof mix.
ROOF_MATERIALS: dict[str, int] = {
    "roof_blue": Cover.ROOF_BLUE,
    "roof_red": Cover.ROOF_RED,
    "roof_white": Cover.ROOF_WHITE,
    "roof_grey": Cover.ROOF_GREY,
    "concrete": Cover.CONCRETE,
    "tile": Cover.ROOF_TILE,
}
#: flattened (rubble left), cleared (rubble then soil), roof_off (walls left), partial
#: (part of the footprint, by machinery), same_material (a grey roof to grey debris).
DEMOLITION_KINDS: tuple[str, ...] = ("flattened", "cleared", "roof_off", "partial", "same_material")
# Which base spectrum each cover takes in a random world; soils pick per patch among the
# three soil bases. Covers missing here keep the default keyframes (vegetation, water).
_COVER_MATERIAL: dict[int, str] = {
    Cover.ROOF_BLUE: "roof_blue",
    Cover.ROOF_RED: "roof_red",
    Cover.ROOF_WHITE: "roof_white",
    Cover.ROOF_GREY: "roof_grey",
    Cover.CONCRETE: "concrete",
    Cover.ROOF_TILE: "tile",
    Cover.ROAD: "road",
    Cover.ASPHALT: "asphalt",
    Cover.RUBBLE: "rubble",
    Cover.BURNT: "burnt_roof",
    Cover.SANDBAR: "sand",
}
_SOILS = ("laterite", "alluvium", "sand")


@dataclass(frozen=True)
class GroundDraw:
    """Everything about the ground that a random world redraws.

    ``seed`` None is the fixed world (every other field is then unused).
    material_factor : per material (a :data:`BASE_SPECTRA` key), the per-seed factor of
        each band (brightness times a per-band factor).
    object_spread : half-width of the log-uniform per-band factor of each building, parcel
        or patch (on top of the per-seed factor; the product is clipped to
        :data:`MATERIAL_FACTOR_BOUNDS`).
    soil_mix : weights of laterite, grey alluvium and sand among bare soil patches.
    roof_mix : weights of the roof materials of planted buildings.
    storeys_mean : mean storeys of a planted building (1 + Poisson, at most 8; 3.1 m each).
    free_orientation_share : share of planted buildings turned at random (the rest follow
        the street grid within 5 degrees).
    planting_field_sd_days, planting_year_sd_days : spread of planting dates between fields
        and between years (the sum clipped to +-30 days).
    harvest_days : days a harvest takes (green or ripe to stubble).
    burn_share : share of rice and maize fields burnt in a year (February-April).
    fallow_share : share of fields left fallow in a year.
    frame_days, roof_days : ranges of days from clearing to slab/frame and frame to roof.
    demolition_mix : weights of :data:`DEMOLITION_KINDS`.
    """

    seed: int | None = None
    material_factor: tuple[tuple[str, tuple[float, ...]], ...] = ()
    object_spread: float = 0.0
    soil_mix: tuple[float, float, float] = (1.0, 0.0, 0.0)
    roof_mix: tuple[tuple[str, float], ...] = ()
    storeys_mean: float = 0.0
    free_orientation_share: float = 0.0
    planting_field_sd_days: float = 0.0
    planting_year_sd_days: float = 0.0
    harvest_days: int = 0
    burn_share: float = 0.0
    fallow_share: float = 0.0
    frame_days: tuple[int, int] = (0, 0)
    roof_days: tuple[int, int] = (0, 0)
    demolition_mix: tuple[tuple[str, float], ...] = ()

    @property
    def random(self) -> bool:
        return self.seed is not None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["world"] = "random" if self.random else "default"
        out["material_factor"] = {k: [round(v, 4) for v in f] for k, f in self.material_factor}
        out["roof_mix"] = {k: round(w, 4) for k, w in self.roof_mix}
        out["demolition_mix"] = {k: round(w, 4) for k, w in self.demolition_mix}
        return out

    def factor_of(self, material: str) -> npt.NDArray[np.float32]:
        return np.asarray(dict(self.material_factor)[material], dtype=np.float32)


def default_ground_draw() -> GroundDraw:
    """Today's fixed world."""
    return GroundDraw()


def random_ground_draw(seed: int) -> GroundDraw:
    """A world of its own for ``seed`` (see the module docstring for the distributions)."""
    rng = np.random.default_rng([int(seed), GROUND_STREAM])
    factors = []
    for material in BASE_SPECTRA:
        brightness = math.exp(rng.uniform(math.log(0.88), math.log(1 / 0.88)))
        bands = np.exp(rng.uniform(math.log(0.92), math.log(1 / 0.92), 6))
        factors.append((material, tuple(round(float(brightness * b), 5) for b in bands)))
    roof_weights = rng.dirichlet(np.full(len(ROOF_MATERIALS), 2.0))
    demolition_weights = rng.dirichlet(np.full(len(DEMOLITION_KINDS), 3.0))
    soil = rng.dirichlet((3.0, 2.0, 1.0))
    return GroundDraw(
        seed=int(seed),
        material_factor=tuple(factors),
        object_spread=float(rng.uniform(0.04, 0.10)),
        soil_mix=(float(soil[0]), float(soil[1]), float(soil[2])),
        roof_mix=tuple((m, float(w)) for m, w in zip(ROOF_MATERIALS, roof_weights, strict=True)),
        storeys_mean=float(rng.uniform(1.0, 3.5)),
        free_orientation_share=float(rng.uniform(0.0, 0.4)),
        planting_field_sd_days=float(rng.uniform(6.0, 16.0)),
        planting_year_sd_days=float(rng.uniform(4.0, 12.0)),
        harvest_days=int(rng.integers(1, 5)),
        burn_share=float(rng.uniform(0.05, 0.35)),
        fallow_share=float(rng.uniform(0.02, 0.15)),
        frame_days=(int(rng.integers(10, 25)), int(rng.integers(40, 90))),
        roof_days=(int(rng.integers(10, 25)), int(rng.integers(50, 120))),
        demolition_mix=tuple(
            (k, float(w)) for k, w in zip(DEMOLITION_KINDS, demolition_weights, strict=True)
        ),
    )


def world_rng(draw: GroundDraw, ground_id: str, purpose: int) -> np.random.Generator:
    """A generator of the random world for one ground and purpose (never a default stream)."""
    assert draw.seed is not None
    return np.random.default_rng(
        [draw.seed, GROUND_STREAM, zlib.crc32(ground_id.encode()), purpose]
    )


@functools.lru_cache(maxsize=32)
def _object_factors(draw: GroundDraw) -> npt.NDArray[np.float32]:
    """(N_VARIANTS, n materials, 6) per-object factors times the per-seed factors, clipped."""
    assert draw.seed is not None
    rng = np.random.default_rng([draw.seed, GROUND_STREAM, 1])
    spread = draw.object_spread
    per_object = np.exp(rng.uniform(-spread, spread, (N_VARIANTS, len(BASE_SPECTRA), 6)))
    seed_level = np.array([draw.factor_of(m) for m in BASE_SPECTRA])
    lo, hi = MATERIAL_FACTOR_BOUNDS
    return np.clip(per_object * seed_level[None], lo, hi).astype(np.float32)


@functools.lru_cache(maxsize=32)
def _material_edges(draw: GroundDraw) -> dict[str, EdgeCoefficients]:
    """Each material's red-edge shapes for this seed: the default ones, jittered."""
    assert draw.seed is not None
    rng = np.random.default_rng([draw.seed, GROUND_STREAM, RED_EDGE_STREAM])
    return {material: rededge.jittered_edge(rng) for material in BASE_SPECTRA}


def material_spectrum(
    draw: GroundDraw,
    material: str,
    variant: int | npt.NDArray[np.int_],
    *,
    red_edge: bool = False,
) -> npt.NDArray[np.float32]:
    """The random world's reflectance of ``material`` for one variant (or an array of them).

    (..., 6); with ``red_edge`` (..., 10): B05 B06 B07 B8A derived from the six drawn bands
    with the material's shape of this seed (the six are the same either way).
    """
    index = list(BASE_SPECTRA).index(material)
    base = np.asarray(BASE_SPECTRA[material], dtype=np.float32)
    spectrum = base * _object_factors(draw)[variant, index]
    if not red_edge:
        return spectrum
    shape, edge_shapes = MATERIAL_EDGE_SHAPES[material], _material_edges(draw)[material]
    edge = rededge.red_edge(spectrum, shape, edge_shapes)
    return np.concatenate([spectrum, edge], axis=-1)


def _soil_of_variant(draw: GroundDraw) -> npt.NDArray[np.int64]:
    """Which soil base (index into _SOILS) each variant of bare soil shows."""
    rng = np.random.default_rng([int(draw.seed or 0), GROUND_STREAM, 2])
    weights = np.asarray(draw.soil_mix, dtype=float)
    return rng.choice(len(_SOILS), size=N_VARIANTS, p=weights / weights.sum())


def wetness(day: dt.date) -> float:
    """0 in the dry season, 1 at the monsoon's height (late August)."""
    doy = day.timetuple().tm_yday
    return float((0.5 + 0.5 * math.cos(2.0 * math.pi * (doy - 240) / 365.0)) ** 2)


def world_class_table(
    draw: GroundDraw, default_table: npt.NDArray[np.float32], day: dt.date
) -> npt.NDArray[np.float32]:
    """(N_VARIANTS, n covers, bands) reflectance of every cover and variant on ``day``.

    Covers without a random-world material (vegetation, water) keep ``default_table``
    (n covers, 6, or 10 with the red edge). Bare soils darken by up to a fifth when wet.
    """
    table = np.repeat(default_table[None], N_VARIANTS, axis=0)
    variants = np.arange(N_VARIANTS)
    with_edge = default_table.shape[-1] > 6
    for cover, material in _COVER_MATERIAL.items():
        table[:, cover] = material_spectrum(draw, material, variants, red_edge=with_edge)
    soils = np.stack(
        [material_spectrum(draw, s, variants, red_edge=with_edge) for s in _SOILS]
    )  # (3, K, bands)
    soil = soils[_soil_of_variant(draw), variants]
    damp = 1.0 - 0.2 * wetness(day)
    table[:, Cover.SOIL] = soil * damp
    table[:, Cover.SITE] = soil * (1.0 - 0.1 * wetness(day))  # compacted, drains fast
    # Roofless shells: rubble inside, wall tops and the walls' shade.
    table[:, Cover.WALLS] = 0.55 * table[:, Cover.RUBBLE] + 0.45 * 0.6 * table[:, Cover.CONCRETE]
    table[:, Cover.DEBRIS] = 0.94 * table[:, Cover.CONCRETE]
    return table.astype(np.float32)


@dataclass(eq=False)
class FieldCalendar:
    """Per parcel and year (``first_year`` on): planting and harvest shifts, burning, fallow.

    Arrays are (n_parcels, n_years, 2 seasons). Shifts are days from the crop's base
    calendar, within +-30; ``burn_doy`` is the day of the year a field burns (-1: not).
    """

    first_year: int
    plant_shift: npt.NDArray[np.int16]
    harvest_shift: npt.NDArray[np.int16]
    burn_doy: npt.NDArray[np.int16]
    fallow: npt.NDArray[np.bool_]
    tint: npt.NDArray[np.float32]  # (n_parcels, 6) per-parcel factor
    harvest_days: int


# Base calendars, day of the year: (planting or transplanting, harvest) per season. Rain-fed
# rice transplanted mid July, harvested mid November; the irrigated second crop from late
# December to early April; maize sown with the first rains, harvested in October.
_SEASONS: dict[int, tuple[tuple[int, int], ...]] = {
    FieldCrop.RICE: ((196, 320),),
    FieldCrop.DOUBLE: ((196, 315), (358, 463)),
    FieldCrop.MAIZE: ((150, 290),),
    FieldCrop.FALLOW: (),
}
_FIRST_YEAR, _N_YEARS = 2015, 20


def draw_calendar(draw: GroundDraw, ground_id: str, crop: npt.NDArray[np.int8]) -> FieldCalendar:
    """Each parcel's calendar for every year: field-to-field and year-to-year shifts."""
    rng = world_rng(draw, ground_id, 3)
    n = crop.size
    shape = (n, _N_YEARS, 2)
    field_shift = rng.normal(0.0, draw.planting_field_sd_days, (n, 1, 1))
    year_shift = rng.normal(0.0, draw.planting_year_sd_days, (1, _N_YEARS, 1))
    own = rng.normal(0.0, 4.0, shape)
    plant = np.clip(np.round(field_shift + year_shift + own), -30, 30)
    harvest = np.clip(np.round(plant + rng.normal(0.0, 7.0, shape)), -30, 30)
    burnable = (crop == FieldCrop.RICE) | (crop == FieldCrop.MAIZE)
    burnt = (rng.random((n, _N_YEARS)) < draw.burn_share) & burnable[:, None]
    burn_doy = np.where(burnt, rng.integers(32, 121, (n, _N_YEARS)), -1)
    fallow = rng.random(shape) < draw.fallow_share
    spread = draw.object_spread
    tint = np.exp(rng.uniform(-spread, spread, (n, 6)))
    return FieldCalendar(
        _FIRST_YEAR,
        plant.astype(np.int16),
        harvest.astype(np.int16),
        burn_doy.astype(np.int16),
        fallow,
        tint.astype(np.float32),
        max(int(draw.harvest_days), 1),
    )


def _ramp(
    t: npt.NDArray[np.float64],
    a: float | npt.NDArray[np.float64],
    b: float | npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    return np.clip((t - a) / np.maximum(np.asarray(b) - a, 1e-6), 0.0, 1.0)[:, None]


def _current_season(
    calendar: FieldCalendar, crop: npt.NDArray[np.int8], day: dt.date
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]
]:
    """Days since planting and the harvest day (relative to planting) of each parcel's
    latest season to have begun (its ploughing, 20 days before planting), and whether that
    season was left fallow and is a second (irrigated) crop."""
    n = crop.size
    today = day.toordinal()
    since = np.full(n, 9999.0)
    harvest = np.full(n, 0.0)
    fallow = np.ones(n, dtype=bool)
    second = np.zeros(n, dtype=bool)
    for kind, seasons in _SEASONS.items():
        which = np.flatnonzero(crop == kind)
        if which.size == 0:
            continue
        for year in (day.year - 1, day.year):
            y = min(max(year - calendar.first_year, 0), calendar.plant_shift.shape[1] - 1)
            jan1 = dt.date(year, 1, 1).toordinal() - 1
            for s, (plant_doy, harvest_doy) in enumerate(seasons):
                plant_shift = calendar.plant_shift[which, y, s].astype(np.int64)
                plant = jan1 + plant_doy + plant_shift
                t = today - plant
                newer = (t >= -20) & (t < since[which])
                idx = which[newer]
                since[idx] = t[newer]
                harvest[idx] = (
                    harvest_doy
                    + calendar.harvest_shift[which, y, s].astype(np.int64)
                    - plant_doy
                    - plant_shift
                )[newer]
                fallow[idx] = calendar.fallow[which, y, s][newer]
                second[idx] = s == 1
    return since, harvest, fallow, second


def world_parcel_spectra(
    draw: GroundDraw, ground: Ground, day: dt.date, fallow_frames: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Reflectance of every field parcel on ``day`` in a random world: (n_parcels, bands).

    Stages after planting day 0 (rice): ploughed from day -20, flooded 0-15, greening to
    day 70, green, ripening over the last 25 days (to half green, half golden), then an
    abrupt harvest to stubble within ``harvest_days``; maize is sown on dry soil and dries
    before its harvest. Fallow
    seasons follow ``fallow_frames`` (the default fallow keyframes on that day); ten of them
    (the red edge after the six) give ten bands, the six the same either way.
    """
    calendar = ground.calendar
    assert calendar is not None and ground.parcel_crop is not None
    crop = ground.parcel_crop
    with_edge = fallow_frames.shape[-1] > 6
    spec = {m: material_spectrum(draw, m, 0, red_edge=with_edge) for m in BASE_SPECTRA}
    t, h, fallow, _ = _current_season(calendar, crop, day)
    maize = (crop == FieldCrop.MAIZE)[:, None]
    stubble = np.where(maize, 0.6 * spec["maize_dry"] + 0.4 * spec["laterite"], spec["stubble"])
    green = np.where(maize, spec["maize_green"], spec["rice_green"])
    # Rice is cut while its canopy is still half green (NDVI ~0.6); maize dries on the stalk.
    ripe = np.where(maize, spec["maize_dry"], 0.5 * spec["rice_green"] + 0.5 * spec["rice_ripe"])
    start = np.where(maize, spec["laterite"], spec["flooded"])
    ploughed = np.where(maize, spec["laterite"], spec["ploughed"])
    out = stubble + (ploughed - stubble) * _ramp(t, -20, -15)
    out = out + (start - out) * _ramp(t, -3, 0)
    out = out + (green - out) * _ramp(t, 15, 70)
    out = out + (ripe - out) * _ramp(t, h - 25, h)
    out = out + (stubble - out) * _ramp(t, h, h + calendar.harvest_days)
    # A season left fallow: grass comes up over the stubble within six weeks.
    out = np.where(
        (fallow & (t >= -20))[:, None],
        stubble + (fallow_frames[None] - stubble) * _ramp(t, -20, 20),
        out,
    )
    out = np.where((crop == FieldCrop.FALLOW)[:, None], fallow_frames[None], out)
    # Stubble burning in February-April: black for three weeks, fading over a month.
    y = min(max(day.year - calendar.first_year, 0), calendar.burn_doy.shape[1] - 1)
    burn = calendar.burn_doy[:, y].astype(float)
    since = day.timetuple().tm_yday - burn
    weight = np.where(
        (burn < 0) | (since < 0),
        0.0,
        np.where(since < 20, 0.9, np.clip(0.9 - (since - 20) * 0.9 / 35.0, 0, 0.9)),
    )
    out = out * (1.0 - weight[:, None]) + spec["ash"][None] * weight[:, None]
    tint = calendar.tint
    if with_edge:
        tint = np.concatenate([tint, rededge.red_edge_tint(tint)], axis=-1)
    return (out * tint).astype(np.float32)


def harvest_day(ground: Ground, parcel: int, year: int, season: int = 0) -> dt.date | None:
    """The day a parcel's crop of ``year`` is harvested (None: fallow crop or season)."""
    calendar = ground.calendar
    assert calendar is not None and ground.parcel_crop is not None
    seasons = _SEASONS[int(ground.parcel_crop[parcel])]
    if season >= len(seasons):
        return None
    y = min(max(year - calendar.first_year, 0), calendar.plant_shift.shape[1] - 1)
    if calendar.fallow[parcel, y, season]:
        return None
    doy = seasons[season][1] + int(calendar.harvest_shift[parcel, y, season])
    return dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)


def vary_heights(draw: GroundDraw, ground: Ground) -> None:
    """Scale each settlement building's height (its shadow's length) by its own factor,
    log-uniform in [0.6, 1.6]: the default world's height ranges are not learnt either."""
    from scipy import ndimage

    rng = world_rng(draw, ground.id, 6)
    labels, n = ndimage.label(ground.height_m > 0)
    factor = np.exp(rng.uniform(math.log(0.6), math.log(1.6), n + 1)).astype(np.float32)
    ground.height_m *= np.where(labels > 0, factor[labels], 1.0).astype(np.float32)


def assign_variants(draw: GroundDraw, ground: Ground) -> npt.NDArray[np.uint8]:
    """Each pixel's tint: one per building (connected roof), else per patch of ~60 m."""
    from scipy import ndimage

    rng = world_rng(draw, ground.id, 4)
    labels, n = ndimage.label(np.isin(ground.cover, list(ROOF_COVERS)))
    per_building = rng.integers(0, N_VARIANTS, n + 1)
    noise = ndimage.gaussian_filter(rng.standard_normal(ground.grid.shape), 6.0)
    ranks = np.argsort(np.argsort(noise.ravel())).reshape(noise.shape)
    patches = (ranks * N_VARIANTS // max(noise.size, 1)).astype(np.int64)
    # Shuffle patch levels so neighbouring patches do not step through tints in order.
    patches = rng.permutation(N_VARIANTS)[patches]
    return np.where(labels > 0, per_building[labels], patches).astype(np.uint8)
