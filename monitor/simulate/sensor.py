"""From surface reflectance to what Earth Search serves: sky, sensor, L2A processing.

One acquisition over one ground: the surface is blurred by the sensor's point spread, shifted
by the scene's misregistration (sub-pixel, with an occasional one-pixel slip), seen through
smoke haze, thin cirrus and cumulus with their shadows, wobbled radiometrically per scene,
noised per pixel, averaged to 20 m for SWIR and the red edge, quantised to uint16 with or
without baseline 04.00's +1000, and classified into an SCL layer that makes the errors real
SCL makes.

The constants below fix the difficulty of the simulated archive; ``docs/simulator.md`` gives
the reason for each value. Changing one later needs a reason written there. Numpy and scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.simulate.schedule import Weather

__all__ = [
    "NOISE_SIGMA",
    "RED_EDGE_NOISE_SIGMA",
    "PSF_SIGMA_PX",
    "MISREGISTRATION_SIGMA_PX",
    "SLIP_RATE",
    "GAIN_WOBBLE_SIGMA",
    "OFFSET_WOBBLE_SIGMA",
    "SCL_CLOUD_EDGE_ALPHA",
    "SHADOW_MISS_RATE",
    "CIRRUS_FLAG_RATE",
    "BRIGHT_ROOF_CLOUD_RATE",
    "SWATH_EDGE_RATE",
    "BOA_ADD_OFFSET",
    "SensorParams",
    "DEFAULT_SENSOR",
    "SceneError",
    "SCENE_ERROR_CLASSES",
    "Observed",
    "observe",
]

#: Per-pixel noise (reflectance units, 1 sigma) of B02 B03 B04 B08 B11 B12 after L2A.
NOISE_SIGMA: tuple[float, ...] = (0.0006, 0.0005, 0.0005, 0.0008, 0.0006, 0.0006)
#: Per-pixel noise of the red-edge bands B05 B06 B07 B8A (20 m, like B11 and B12).
RED_EDGE_NOISE_SIGMA: tuple[float, ...] = (0.0006, 0.0006, 0.0006, 0.0006)
#: Gaussian sigma (10 m pixels) of the point spread: edges of a building spill into neighbours.
PSF_SIGMA_PX = 0.45
#: Per-scene misregistration, each axis, 1 sigma, in 10 m pixels.
MISREGISTRATION_SIGMA_PX = 0.2
#: Share of scenes that slip by a whole pixel on top of the sub-pixel error.
SLIP_RATE = 0.02
#: Per-scene, per-band gain and offset wobble (atmospheric correction, BRDF), 1 sigma.
GAIN_WOBBLE_SIGMA = 0.015
OFFSET_WOBBLE_SIGMA = 0.002
#: SCL calls a pixel cloud only where cloud covers at least this share of it: thinner cloud
#: edges pass as clear.
SCL_CLOUD_EDGE_ALPHA = 0.35
#: Share of cloud-shadow pixels that SCL fails to flag.
SHADOW_MISS_RATE = 0.35
#: Share of cirrus scenes in which SCL flags the cirrus (class 10); otherwise it passes as clear.
CIRRUS_FLAG_RATE = 0.5
#: Share of scenes in which SCL calls bright (white metal, concrete) roofs cloud.
BRIGHT_ROOF_CLOUD_RATE = 0.3
#: Share of acquisitions cut by a swath (datastrip) edge, leaving nodata over part of a ground.
SWATH_EDGE_RATE = 0.04
#: Baseline 04.00's offset in digital numbers (reflectance = (DN - 1000) / 10000).
BOA_ADD_OFFSET = 1000

# Per band B02 B03 B04 B08 B11 B12, then the red edge B05 B06 B07 B8A (a surface of six
# bands uses the first six). Smoke haze: additive path reflectance and transmission loss at
# full strength, falling with wavelength (the red edge between red and NIR).
_HAZE_PATH = np.array(
    [0.055, 0.040, 0.028, 0.012, 0.004, 0.002, 0.022, 0.018, 0.015, 0.011], dtype=np.float32
)
_HAZE_LOSS = np.array(
    [0.12, 0.09, 0.07, 0.04, 0.015, 0.010, 0.060, 0.052, 0.046, 0.038], dtype=np.float32
)
# Cloud top reflectance relative to the visible, per band (ice/water absorb in SWIR).
_CLOUD_SHAPE = np.array([1.0, 1.0, 1.0, 1.0, 0.72, 0.50, 1.0, 1.0, 1.0, 1.0], dtype=np.float32)
_CIRRUS_SHAPE = np.array([1.0, 1.0, 1.0, 0.95, 0.60, 0.40, 1.0, 0.98, 0.97, 0.95], dtype=np.float32)
# Where the red-edge bands lie between red (0) and NIR (1): a satellite's gain for them is
# interpolated between its red and NIR gains.
_RED_EDGE_POSITION = np.array([0.226, 0.424, 0.667, 1.0])
_COARSE = 8  # cloud fields are drawn at 80 m and interpolated
# A veil of thin cloud over a misclassified scene: its top's reflectance relative to a cumulus
# top; too thin for SCL's cloud test, so it is never flagged.
_VEIL_TOP = 0.40

#: The SCL classes a whole misclassified scene is put in: dark area, cloud shadow, water,
#: unclassified.
SCENE_ERROR_CLASSES: tuple[int, ...] = (2, 3, 6, 7)


@dataclass(frozen=True)
class SensorParams:
    """The difficulty of the sensor and of SCL, one world's worth.

    The defaults are the module constants (the default world); ``skyworld`` draws others
    per seed for the random world. See ``docs/simulator.md`` for every value's reason.
    """

    misregistration_sigma_px: float = MISREGISTRATION_SIGMA_PX
    slip_rate: float = SLIP_RATE
    gain_wobble_sigma: float = GAIN_WOBBLE_SIGMA
    offset_wobble_sigma: float = OFFSET_WOBBLE_SIGMA
    scl_cloud_edge_alpha: float = SCL_CLOUD_EDGE_ALPHA
    shadow_miss_rate: float = SHADOW_MISS_RATE
    cirrus_flag_rate: float = CIRRUS_FLAG_RATE
    bright_roof_cloud_rate: float = BRIGHT_ROOF_CLOUD_RATE

    def to_json(self) -> dict[str, float]:
        return {key: round(value, 6) for key, value in asdict(self).items()}


#: The default world's sensor: the module constants.
DEFAULT_SENSOR = SensorParams()


@dataclass(frozen=True)
class SceneError:
    """A scene SCL gets wrong as a whole (random world only).

    Under low sun, hill shade, haze or a veil of thin cloud Sen2Cor can put most of a scene
    in one wrong class while the pixels are degraded but not flagged as cloud: such a scene
    is no clear view of the ground, yet a mask of SCL 0,1,3,8,9,10 passes it (except class 3).

    scl_class : 2 dark area, 3 cloud shadow, 6 water or 7 unclassified.
    degradation : ``dark`` (low sun, terrain shade), ``haze`` (smoke or aerosol beyond the
        scene's own) or ``veil`` (thin cloud below SCL's cloud test).
    strength : darkening share (dark), haze strength (haze) or veil opacity (veil).
    share : share of the ground put in ``scl_class`` (and degraded).
    """

    scl_class: int
    degradation: str
    strength: float
    share: float

    def __post_init__(self) -> None:
        if self.scl_class not in SCENE_ERROR_CLASSES:
            raise ValueError(
                f"a misclassified scene's SCL class is one of "
                f"{SCENE_ERROR_CLASSES}, not {self.scl_class}"
            )
        if self.degradation not in ("dark", "haze", "veil"):
            raise ValueError(f"unknown degradation {self.degradation!r}")


@dataclass(frozen=True, eq=False)
class Observed:
    """One acquisition over one ground, as stored.

    bands10 : uint16 (4, rows, cols): B02 B03 B04 B08 at 10 m, 0 = nodata.
    bands20 : uint16 (2, rows/2, cols/2): B11 B12 at 20 m.
    scl : uint8 (rows/2, cols/2) at 20 m.
    red_edge20 : uint16 (4, rows/2, cols/2): B05 B06 B07 B8A at 20 m, when the surface had
        them.
    """

    bands10: npt.NDArray[np.uint16]
    bands20: npt.NDArray[np.uint16]
    scl: npt.NDArray[np.uint8]
    cloud_fraction: float
    nodata_fraction: float
    shift_px: tuple[float, float]
    slipped: bool
    bright_roofs_called_cloud: bool
    cirrus_flagged: bool
    #: Share of the ground's 20 m cells a whole-scene SCL error put in the wrong class.
    misclassified_share: float = 0.0
    red_edge20: npt.NDArray[np.uint16] | None = None


def _coarse_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    sigmas: tuple[float, ...],
    weights: tuple[float, ...],
) -> npt.NDArray[np.float32]:
    out = np.zeros(shape, dtype=np.float32)
    for sigma, weight in zip(sigmas, weights, strict=True):
        layer = ndimage.gaussian_filter(
            rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap"
        )
        layer /= max(float(layer.std()), 1e-6)
        out += weight * layer
    return out / max(float(out.std()), 1e-6)


def _sample(
    field: npt.NDArray[np.float32], rows: npt.NDArray[np.float32], cols: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Bilinear samples of a coarse field on the separable lattice ``rows`` x ``cols``.

    ``rows`` and ``cols`` are 1-D fractional positions (edges clamped): one interpolation
    per axis, much cheaper than ``map_coordinates`` on a full coordinate grid.
    """

    def weights(
        pos: npt.NDArray[np.float32], size: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        pos = np.clip(pos, 0.0, size - 1.0)
        if size < 2:
            lo = np.zeros(pos.shape, np.intp)
        else:
            lo = np.minimum(np.floor(pos).astype(np.intp), size - 2)
        hi = np.minimum(lo + 1, size - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    r_lo, r_hi, r_f = weights(np.asarray(rows, dtype=np.float32), field.shape[0])
    c_lo, c_hi, c_f = weights(np.asarray(cols, dtype=np.float32), field.shape[1])
    along_rows = field[r_lo] * (1.0 - r_f)[:, None] + field[r_hi] * r_f[:, None]
    return (along_rows[:, c_lo] * (1.0 - c_f)[None, :] + along_rows[:, c_hi] * c_f[None, :]).astype(
        np.float32
    )


def _shifted_psf(shift_px: float) -> npt.NDArray[np.float64]:
    """1-D weights of the point spread centred ``shift_px`` away (ndimage.correlate1d form).

    Blurring with a Gaussian displaced by the scene's shift does the PSF and the
    misregistration in one separable pass: out[i] = sum_j w[j] in[i + j] puts the kernel's
    centre at j = -shift, so the image moves by +shift pixels as ``ndimage.shift`` would.
    """
    radius = int(math.ceil(abs(shift_px) + 4.0 * PSF_SIGMA_PX))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * ((offsets + shift_px) / PSF_SIGMA_PX) ** 2)
    return weights / weights.sum()


def observe(
    surface: npt.NDArray[np.float32],
    weather: Weather,
    rng: np.random.Generator,
    *,
    sun_elevation_deg: float,
    sun_azimuth_deg: float,
    offset_in_pixels: bool,
    nodata: npt.NDArray[np.bool_] | None = None,
    params: SensorParams = DEFAULT_SENSOR,
    band_gain: Sequence[float] | None = None,
    scene_error: SceneError | None = None,
    scene_error_rng: np.random.Generator | None = None,
    red_edge_rng: np.random.Generator | None = None,
) -> Observed:
    """Turn surface reflectance into one acquisition's stored pixels.

    Parameters
    ----------
    surface : float32 (6, rows, cols) at 10 m, bands B02 B03 B04 B08 B11 B12; rows and
        cols even (the ground is on the 20 m lattice). Ten bands: the red edge B05 B06 B07
        B8A follows, seen like B11 and B12 (blurred, shifted, through the same sky, averaged
        to 20 m) and stored in ``red_edge20``.
    weather : the acquisition's sky.
    rng : generator for this acquisition and ground.
    sun_elevation_deg, sun_azimuth_deg : where cloud shadows fall.
    offset_in_pixels : store baseline 04.00's +1000 in the DNs.
    nodata : bool (rows, cols), pixels outside the swath.
    params : the world's sensor and SCL difficulty (the module constants by default).
    band_gain : the satellite's own per-band radiometric gain (random world), or None.
    scene_error : SCL gets this scene wrong as a whole (random world), or None.
    scene_error_rng : draws where the error lies; required with ``scene_error``. Its own
        generator, so the rest of the scene is what it would be without the error.
    red_edge_rng : draws the red edge's own wobble and noise; required with ten bands. Its
        own generator, so the six bands are drawn exactly as without the red edge.
    """
    if surface.shape[0] not in (6, 10):
        raise ValueError(f"a surface has 6 or 10 bands, not {surface.shape[0]}")
    if surface.shape[0] == 10 and red_edge_rng is None:
        raise ValueError("the red edge needs its own generator (red_edge_rng)")
    rows, cols = surface.shape[1:]
    seen, shift_r, shift_c, slipped = _blur(surface, rng, params)
    # Sky: haze, cirrus, cloud and cloud shadow, all from smooth fields drawn at 80 m and
    # sampled bilinearly on the 10 m lattice (1-D positions: the lattice is separable).
    lattice = _Lattice(rows, cols)
    cirrus_alpha, cloud_alpha, shadow_alpha, local_fraction = _sky(
        seen, weather, rng, lattice, sun_elevation_deg, sun_azimuth_deg
    )
    error_region = None
    if scene_error is not None:
        if scene_error_rng is None:
            raise ValueError("a scene error needs its own generator (scene_error_rng)")
        error_region = _degrade(seen, scene_error, scene_error_rng, lattice)
    _wobble(seen, rng, params, band_gain, red_edge_rng)
    bands10, bands20, red_edge20 = _noisy_counts(
        seen, cloud_alpha, rng, offset_in_pixels, red_edge_rng
    )
    wrong = (
        None
        if error_region is None or scene_error is None
        else (error_region, scene_error.scl_class)
    )
    scl, bright_called, cirrus_flagged = _classify(
        seen, cloud_alpha, shadow_alpha, cirrus_alpha, rng, params, wrong
    )
    nodata_fraction = _blank_nodata(bands10, bands20, scl, nodata, red_edge20)
    misclassified = 0.0
    if error_region is not None and scene_error is not None:
        misclassified = float((scl == scene_error.scl_class)[error_region].sum() / scl.size)
    return Observed(
        bands10=bands10,
        bands20=bands20,
        scl=scl,
        cloud_fraction=float(local_fraction),
        nodata_fraction=nodata_fraction,
        shift_px=(shift_r, shift_c),
        slipped=slipped,
        bright_roofs_called_cloud=bright_called,
        cirrus_flagged=cirrus_flagged,
        misclassified_share=misclassified,
        red_edge20=red_edge20,
    )


def _blur(
    surface: npt.NDArray[np.float32], rng: np.random.Generator, params: SensorParams
) -> tuple[npt.NDArray[np.float32], float, float, bool]:
    """The sensor's point spread and the scene's misregistration: the blurred surface, the
    row and column shift, whether the scene slipped."""
    shift_r, shift_c, slipped = _draw_shift(rng, params)
    # Point spread and misregistration in one pass: a Gaussian displaced by the shift
    # (sampled at whole pixels, as gaussian_filter samples it; no extra interpolation blur).
    seen = ndimage.correlate1d(surface, _shifted_psf(shift_r), axis=1, mode="nearest")
    seen = ndimage.correlate1d(seen, _shifted_psf(shift_c), axis=2, mode="nearest")
    return seen, shift_r, shift_c, slipped


def _wobble(
    seen: npt.NDArray[np.float32],
    rng: np.random.Generator,
    params: SensorParams,
    band_gain: Sequence[float] | None,
    red_edge_rng: np.random.Generator | None = None,
) -> None:
    """Apply the processing's per-scene gain and offset wobble to ``seen`` in place.

    The six bands draw from ``rng``; the red edge (bands 6-9) shares the scene's common
    gain and draws its own per-band parts from ``red_edge_rng``.
    """
    common = rng.normal(0.0, params.gain_wobble_sigma)
    gain = (1.0 + common + rng.normal(0.0, params.gain_wobble_sigma / 2, 6)).astype(np.float32)
    if band_gain is not None:
        gain *= np.asarray(band_gain, dtype=np.float32)
    offset = rng.normal(0.0, params.offset_wobble_sigma, 6).astype(np.float32)
    six = seen[:6]
    six *= gain[:, None, None]
    six += offset[:, None, None]
    if seen.shape[0] == 6 or red_edge_rng is None:
        return
    edge_gain = (1.0 + common + red_edge_rng.normal(0.0, params.gain_wobble_sigma / 2, 4)).astype(
        np.float32
    )
    if band_gain is not None:
        red, nir = float(band_gain[2]), float(band_gain[3])
        edge_gain *= (red * (nir / red) ** _RED_EDGE_POSITION).astype(np.float32)
    edge_offset = red_edge_rng.normal(0.0, params.offset_wobble_sigma, 4).astype(np.float32)
    edge = seen[6:]
    edge *= edge_gain[:, None, None]
    edge += edge_offset[:, None, None]


def _noisy_counts(
    seen: npt.NDArray[np.float32],
    cloud_alpha: npt.NDArray[np.float32],
    rng: np.random.Generator,
    offset_in_pixels: bool,
    red_edge_rng: np.random.Generator | None = None,
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16], npt.NDArray[np.uint16] | None]:
    """The stored DNs with sensor noise: the 10 m bands, the 20 m SWIR bands and the 20 m
    red edge (None without it; its noise from ``red_edge_rng``)."""
    rows, cols = seen.shape[1:]
    noise_sigma = np.asarray(NOISE_SIGMA, dtype=np.float32)
    # Inside thick cloud (20 m cells SCL always flags as cloud, class 9) the ground is gone
    # and the noise fades out: such pixels are never passed as clear, so the difficulty is
    # untouched, and smooth cloud tops compress to a fraction of noisy ones (disk budget).
    # Wherever SCL could pass a pixel (cell cloud share below 0.7) the noise is in full.
    full20 = np.clip((0.95 - _to20(cloud_alpha)) / 0.25, 0.0, 1.0).astype(np.float32)
    full10 = np.repeat(np.repeat(full20, 2, axis=0), 2, axis=1)
    tenm = seen[:4] + (
        rng.standard_normal((4, rows, cols), dtype=np.float32)
        * noise_sigma[:4, None, None]
        * full10[None]
    )
    twenty = _to20(seen[4:6])
    twenty = twenty + (
        rng.standard_normal(twenty.shape, dtype=np.float32)
        * noise_sigma[4:, None, None]
        * full20[None]
    )
    add = BOA_ADD_OFFSET if offset_in_pixels else 0
    bands10 = np.clip(np.rint(tenm * 10000.0) + add, 1, 65535).astype(np.uint16)
    bands20 = np.clip(np.rint(twenty * 10000.0) + add, 1, 65535).astype(np.uint16)
    if seen.shape[0] == 6 or red_edge_rng is None:
        return bands10, bands20, None
    edge = _to20(seen[6:])
    edge = edge + (
        red_edge_rng.standard_normal(edge.shape, dtype=np.float32)
        * np.asarray(RED_EDGE_NOISE_SIGMA, dtype=np.float32)[:, None, None]
        * full20[None]
    )
    red_edge20 = np.clip(np.rint(edge * 10000.0) + add, 1, 65535).astype(np.uint16)
    return bands10, bands20, red_edge20


def _blank_nodata(
    bands10: npt.NDArray[np.uint16],
    bands20: npt.NDArray[np.uint16],
    scl: npt.NDArray[np.uint8],
    nodata: npt.NDArray[np.bool_] | None,
    red_edge20: npt.NDArray[np.uint16] | None = None,
) -> float:
    """Zero the pixels outside the swath in every layer; the share of 10 m pixels zeroed."""
    if nodata is None or not nodata.any():
        return 0.0
    rows, cols = nodata.shape
    bands10[:, nodata] = 0
    nodata20 = nodata.reshape(rows // 2, 2, cols // 2, 2).any(axis=(1, 3))
    bands20[:, nodata20] = 0
    if red_edge20 is not None:
        red_edge20[:, nodata20] = 0
    scl[nodata20] = 0
    return float(nodata.mean())


def _draw_shift(rng: np.random.Generator, params: SensorParams) -> tuple[float, float, bool]:
    """The scene's misregistration (rows, cols) in pixels and whether it slipped a pixel."""
    shift_r, shift_c = rng.normal(0.0, params.misregistration_sigma_px, 2)
    slipped = bool(rng.random() < params.slip_rate)
    if slipped:
        axis = int(rng.integers(2))
        step = 1.0 if rng.random() < 0.5 else -1.0
        shift_r, shift_c = (shift_r + step, shift_c) if axis == 0 else (shift_r, shift_c + step)
    return float(shift_r), float(shift_c), slipped


@dataclass(frozen=True, eq=False)
class _Lattice:
    """The 10 m pixel centres in units of the 80 m coarse fields, padded by 4 coarse cells."""

    rows: int
    cols: int

    @property
    def coarse_shape(self) -> tuple[int, int]:
        return (self.rows // _COARSE + 8, self.cols // _COARSE + 8)

    @property
    def grid_r(self) -> npt.NDArray[np.float32]:
        return ((np.arange(self.rows, dtype=np.float32) + 0.5) / _COARSE + 4.0).astype(
            np.float32, copy=False
        )

    @property
    def grid_c(self) -> npt.NDArray[np.float32]:
        return ((np.arange(self.cols, dtype=np.float32) + 0.5) / _COARSE + 4.0).astype(
            np.float32, copy=False
        )


def _sky(
    seen: npt.NDArray[np.float32],
    weather: Weather,
    rng: np.random.Generator,
    lattice: _Lattice,
    sun_elevation_deg: float,
    sun_azimuth_deg: float,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32], float]:
    """Haze, cirrus, cloud and cloud shadow applied to ``seen`` in place.

    Returns the cirrus, cloud and shadow opacities (rows, cols) and the ground's cloud share.
    """
    rows, cols = lattice.rows, lattice.cols
    coarse_shape, grid_r, grid_c = lattice.coarse_shape, lattice.grid_r, lattice.grid_c
    n = seen.shape[0]
    if weather.haze > 0:
        haze_field = 1.0 + 0.25 * _sample(
            _coarse_field(rng, coarse_shape, (6.0,), (1.0,)), grid_r, grid_c
        )
        strength = weather.haze * haze_field
        seen *= 1.0 - _HAZE_LOSS[:n, None, None] * strength[None]
        seen += _HAZE_PATH[:n, None, None] * strength[None]
    cirrus_alpha = np.zeros((rows, cols), dtype=np.float32)
    if weather.cirrus > 0:
        cirrus_field = _sample(
            _coarse_field(rng, coarse_shape, (10.0, 3.0), (0.8, 0.2)), grid_r, grid_c
        )
        cirrus_alpha = (weather.cirrus * 0.22 * np.clip(cirrus_field * 0.5 + 0.6, 0.0, 1.0)).astype(
            np.float32
        )
        seen *= (1.0 - 0.4 * cirrus_alpha)[None]
        seen += 0.35 * _CIRRUS_SHAPE[:n, None, None] * cirrus_alpha[None]

    cloud_alpha = np.zeros((rows, cols), dtype=np.float32)
    shadow_alpha = np.zeros((rows, cols), dtype=np.float32)
    local_fraction = 0.0
    if weather.cloud_fraction > 0:
        # The field extends beyond the ground by the shadow's reach.
        zenith = math.radians(90.0 - max(sun_elevation_deg, 10.0))
        reach_px = weather.cloud_height_m * math.tan(zenith) / 10.0
        away = math.radians(sun_azimuth_deg + 180.0)
        d_row, d_col = -math.cos(away) * reach_px, math.sin(away) * reach_px
        pad = int(math.ceil(reach_px / _COARSE)) + 8
        big_shape = (rows // _COARSE + 2 * pad, cols // _COARSE + 2 * pad)
        cloud_field = _coarse_field(rng, big_shape, (4.0, 1.5, 0.7), (0.6, 0.3, 0.1))
        base_r, base_c = grid_r + pad - 4.0, grid_c + pad - 4.0
        smooth = _sample(cloud_field, base_r, base_c)
        # Pixel-scale detail rags the cloud's edges only; the tops themselves stay smooth.
        detail = ndimage.gaussian_filter(rng.standard_normal((rows, cols)).astype(np.float32), 1.2)
        here = smooth + 0.15 * detail / max(float(detail.std()), 1e-6)
        # The ground sees the tile's cloud share give or take local variation.
        local_fraction = float(np.clip(weather.cloud_fraction + rng.normal(0, 0.08), 0.0, 1.0))
        if local_fraction > 0:
            threshold = (
                float(np.quantile(here, 1.0 - local_fraction)) if local_fraction < 1 else -1e9
            )
            cloud_alpha = np.clip((here - threshold) / 0.45, 0.0, 1.0).astype(np.float32)
            # Cloud that casts a shadow here sits sun-wards, reach_px away.
            there = _sample(cloud_field, base_r - d_row / _COARSE, base_c - d_col / _COARSE)
            shadow_alpha = np.clip((there - threshold) / 0.45, 0.0, 1.0).astype(np.float32)
        # Cloud tops are smooth at 10 m (and compress like real ones): their brightness
        # follows the smooth field, not the edge detail.
        thickness = np.clip(smooth - (threshold if local_fraction > 0 else 0.0), 0.0, 2.0)
        # Optically thick cloud saturates: from 0.34 at the thin edge to a plateau of 0.58
        # (smoothstep); real tops are that flat at 10 m, and flat tops compress to little.
        ramp = np.clip(thickness / 0.6, 0.0, 1.0)
        top = (0.34 + 0.24 * ramp * ramp * (3.0 - 2.0 * ramp)).astype(np.float32)
        # Shadow where no cloud hides the ground, then the cloud over it (one pass each).
        clear_sky = 1.0 - cloud_alpha
        seen *= ((1.0 - 0.72 * shadow_alpha * clear_sky) * clear_sky)[None]
        seen += (cloud_alpha * top)[None] * _CLOUD_SHAPE[:n, None, None]
    return cirrus_alpha, cloud_alpha, shadow_alpha, local_fraction


def _degrade(
    seen: npt.NDArray[np.float32], error: SceneError, rng: np.random.Generator, lattice: _Lattice
) -> npt.NDArray[np.bool_]:
    """Degrade the pixels where SCL will get the scene wrong; return that region at 20 m.

    The region is the ``error.share`` of the ground where a smooth field is highest (a
    soft edge two to three pixels wide at 10 m), so it covers most of a small ground.
    """
    field = _sample(
        _coarse_field(rng, lattice.coarse_shape, (5.0,), (1.0,)), lattice.grid_r, lattice.grid_c
    )
    threshold = float(np.quantile(field, 1.0 - error.share))
    weight = np.clip((field - threshold) / 0.25 + 0.5, 0.0, 1.0).astype(np.float32)
    amount = (error.strength * weight)[None]
    n = seen.shape[0]
    if error.degradation == "dark":
        # Low sun and terrain shade: the same share of the light lost in every band.
        seen *= 1.0 - amount
    elif error.degradation == "haze":
        seen *= 1.0 - _HAZE_LOSS[:n, None, None] * amount
        seen += _HAZE_PATH[:n, None, None] * amount
    else:
        seen *= 1.0 - amount
        seen += _VEIL_TOP * _CLOUD_SHAPE[:n, None, None] * amount
    return _to20(weight) >= 0.5


def _to20(array: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Mean of each 2 x 2 block of the last two axes (10 m to 20 m)."""
    total = (
        array[..., 0::2, 0::2]
        + array[..., 1::2, 0::2]
        + array[..., 0::2, 1::2]
        + array[..., 1::2, 1::2]
    )
    return (total * 0.25).astype(np.float32, copy=False)


def _classify(
    seen: npt.NDArray[np.float32],
    cloud_alpha: npt.NDArray[np.float32],
    shadow_alpha: npt.NDArray[np.float32],
    cirrus_alpha: npt.NDArray[np.float32],
    rng: np.random.Generator,
    params: SensorParams = DEFAULT_SENSOR,
    wrong: tuple[npt.NDArray[np.bool_], int] | None = None,
) -> tuple[npt.NDArray[np.uint8], bool, bool]:
    """A scene classification at 20 m with the errors of Sen2Cor's SCL.

    Classes: 2 dark, 3 cloud shadow, 4 vegetation, 5 not vegetated, 6 water, 7 unclassified,
    8 cloud medium, 9 cloud high, 10 thin cirrus. Haze is never flagged; cloud edges below
    ``params.scl_cloud_edge_alpha`` pass as clear; ``shadow_miss_rate`` of shadow goes
    unflagged; cirrus is flagged in ``cirrus_flag_rate`` of cirrus scenes; in
    ``bright_roof_cloud_rate`` of scenes bright roofs are called cloud. ``wrong`` (region at
    20 m, class): a whole-scene error puts the region in that class wherever SCL does not see
    cloud, over any roof, shadow or cirrus flag.
    """
    edge_alpha = params.scl_cloud_edge_alpha
    refl = _to20(seen[:4])
    blue, red, nir = refl[0], refl[2], refl[3]
    ndvi = (nir - red) / np.maximum(nir + red, 1e-4)
    scl = np.full(blue.shape, 5, dtype=np.uint8)
    scl[ndvi > 0.35] = 4
    scl[(ndvi < 0.05) & (nir < 0.09) & (blue < 0.12)] = 6
    scl[(refl[:4].max(axis=0) < 0.045)] = 2
    scl[rng.random(blue.shape) < 0.004] = 7
    cloud = _to20(cloud_alpha)
    shadow = _to20(shadow_alpha)
    cirrus = _to20(cirrus_alpha)
    # Bright roofs: white metal and concrete read as cloud in some scenes.
    bright_called = bool(rng.random() < params.bright_roof_cloud_rate)
    if bright_called:
        bright = (blue > 0.24) & (ndvi < 0.2) & (cloud < edge_alpha)
        scl[bright] = np.where(blue[bright] > 0.34, 9, 8).astype(np.uint8)
    # Shadows: flagged in patches; the rest pass as dark land.
    missed = ndimage.gaussian_filter(rng.standard_normal(blue.shape).astype(np.float32), 3.0)
    flag_shadow = (shadow > 0.4) & (missed > np.quantile(missed, params.shadow_miss_rate))
    scl[flag_shadow & (cloud < edge_alpha)] = 3
    cirrus_flagged = bool(cirrus.max() > 0 and rng.random() < params.cirrus_flag_rate)
    if cirrus_flagged:
        scl[cirrus > 0.08] = 10
    if wrong is not None:
        region, wrong_class = wrong
        scl[region & (cloud < edge_alpha)] = wrong_class
    scl[cloud >= edge_alpha] = 8
    scl[cloud >= 0.7] = 9
    return scl, bright_called, cirrus_flagged
