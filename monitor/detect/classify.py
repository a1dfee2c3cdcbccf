"""Change typing from spectra: what appeared, what went, and what that makes the change.

A 10 m pixel is usually a mixture (a 15 m roof in a garden), so the detector does not
classify the before and after spectra outright. It asks which material *appeared*
(``after = (1 - f) * before + f * material``) and which *went*
(``before = (1 - g) * after + g * material``), each chosen from a small library of generic
surface spectra, and types the change from that pair. Bare soil and rubble are brighter in
SWIR-1 than in NIR (iron oxides, dry minerals); painted metal and tiles are flatter; coated
steel is brighter in blue than red with SWIR below NIR, which is why NDBI alone falls on the
very roofs we look for.

Numpy only.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHANGE_CODES",
    "CODE_NAMES",
    "UNKNOWN_CODE",
    "NODATA_CODE",
    "Material",
    "MATERIAL_SPECTRA",
    "MATERIAL_KIND",
    "Kind",
    "unmix",
    "type_changes",
    "chain_types",
    "ndvi",
]

#: The contract's change types and their raster codes.
CHANGE_CODES: dict[str, int] = {
    "new_construction": 1,
    "demolition": 2,
    "rebuilding": 3,
    "roof_change": 4,
    "land_clearing": 5,
}
CODE_NAMES: dict[int, str] = {code: name for name, code in CHANGE_CODES.items()}
UNKNOWN_CODE = 6
NODATA_CODE = 255

_NEW, _DEMOLITION, _REBUILDING, _ROOF, _CLEARING = 1, 2, 3, 4, 5


class Kind(IntEnum):
    """Broad kinds of surface the typing rules speak of."""

    VEGETATION = 0
    SOIL = 1
    BUILT = 2
    DARK = 3
    WATER = 4


class Material(IntEnum):
    """Generic surfaces of the library (rounded textbook spectra, B02 B03 B04 B08 B11 B12)."""

    GREEN_VEGETATION = 0
    WATER = 1
    BARE_SOIL = 2
    RUBBLE_OR_SITE = 3
    CONCRETE = 4
    BRIGHT_METAL = 5
    GREY_METAL = 6
    COATED_STEEL = 7
    TILE_OR_RED_PAINT = 8
    ASPHALT = 9
    DARK_OR_BURNT = 10
    DRY_VEGETATION = 11


#: Library spectra, float32 (n_materials, 6).
MATERIAL_SPECTRA: npt.NDArray[np.float32] = np.array(
    [
        (0.030, 0.060, 0.035, 0.320, 0.170, 0.080),  # green vegetation
        (0.050, 0.065, 0.060, 0.035, 0.015, 0.010),  # turbid water
        (0.080, 0.110, 0.160, 0.240, 0.320, 0.270),  # laterite / bare soil
        (0.140, 0.150, 0.175, 0.210, 0.280, 0.250),  # rubble, construction site
        (0.210, 0.230, 0.250, 0.290, 0.320, 0.290),  # concrete
        (0.420, 0.440, 0.460, 0.480, 0.400, 0.330),  # white / bright metal roof
        (0.190, 0.200, 0.210, 0.230, 0.220, 0.190),  # grey metal roof
        (0.160, 0.130, 0.080, 0.150, 0.110, 0.085),  # blue coated-steel roof
        (0.070, 0.075, 0.150, 0.230, 0.240, 0.190),  # red tile / red paint
        (0.080, 0.090, 0.100, 0.130, 0.160, 0.140),  # asphalt, dark roofing
        (0.040, 0.040, 0.045, 0.060, 0.070, 0.060),  # burnt, charred, deep shadow
        (0.060, 0.085, 0.110, 0.220, 0.300, 0.220),  # dry grass, scrub, stubble
    ],
    dtype=np.float32,
)

#: Kind of each library material.
MATERIAL_KIND: npt.NDArray[np.uint8] = np.array(
    [
        Kind.VEGETATION,
        Kind.WATER,
        Kind.SOIL,
        Kind.SOIL,
        Kind.BUILT,
        Kind.BUILT,
        Kind.BUILT,
        Kind.BUILT,
        Kind.BUILT,
        Kind.BUILT,
        Kind.DARK,
        Kind.VEGETATION,
    ],
    dtype=np.uint8,
)

# (appeared kind, went kind) -> change code; 0 = not a change we report (greening, floods,
# a river falling, soil turning into other soil).
_RULES: dict[tuple[int, int], int] = {}
for _went in Kind:
    _RULES[(Kind.BUILT, _went)] = _ROOF if _went == Kind.BUILT else _NEW
_RULES[(Kind.SOIL, Kind.BUILT)] = _DEMOLITION
_RULES[(Kind.SOIL, Kind.VEGETATION)] = _CLEARING
_RULES[(Kind.DARK, Kind.BUILT)] = _ROOF  # roofs burnt or stripped to the dark frame
_RULE_TABLE = np.zeros((len(Kind), len(Kind)), dtype=np.uint8)
for (_appeared, _went2), _code in _RULES.items():
    _RULE_TABLE[_appeared, _went2] = _code

# A second change confirmed soon after the first: (first code, second code) -> the
# detection's type. Missing pairs start a new detection.
_CHAINS: dict[tuple[int, int], int] = {
    (_CLEARING, _NEW): _NEW,
    (_CLEARING, _CLEARING): _CLEARING,
    (_DEMOLITION, _NEW): _REBUILDING,
    (_DEMOLITION, _DEMOLITION): _DEMOLITION,
    (_DEMOLITION, _CLEARING): _DEMOLITION,
    (_NEW, _ROOF): _NEW,
    (_NEW, _NEW): _NEW,
    (_REBUILDING, _ROOF): _REBUILDING,
    (_REBUILDING, _NEW): _REBUILDING,
    (_ROOF, _ROOF): _ROOF,
}
_CHAIN_TABLE = np.zeros((7, 7), dtype=np.uint8)
for (_first, _second), _code in _CHAINS.items():
    _CHAIN_TABLE[_first, _second] = _code


def ndvi(spectra: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """NDVI of spectra with bands on axis 0: float32 of the remaining shape."""
    red = spectra[2].astype(np.float32)
    nir = spectra[3].astype(np.float32)
    return np.asarray((nir - red) / np.maximum(nir + red, np.float32(1e-4)), dtype=np.float32)


def _best_material(
    origin: npt.NDArray[np.float32], target: npt.NDArray[np.float32], min_fraction: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Material m and fraction f minimising |target - ((1 - f) origin + f m)|, f in [min, 1]."""
    towards = MATERIAL_SPECTRA[None, :, :] - origin[:, None, :]  # (P, M, 6)
    step = (target - origin)[:, None, :]  # (P, 1, 6)
    norm2 = np.maximum(np.einsum("pmb,pmb->pm", towards, towards), np.float32(1e-8))
    fraction = np.clip(np.einsum("pmb,pmb->pm", towards, step) / norm2, min_fraction, 1.0)
    misfit = np.linalg.norm(step - fraction[:, :, None] * towards, axis=2)
    best = np.argmin(misfit, axis=1)
    return best, np.take_along_axis(fraction, best[:, None], axis=1)[:, 0].astype(np.float32)


def unmix(
    before: npt.NDArray[np.floating], after: npt.NDArray[np.floating], *, min_fraction: float = 0.1
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Which library material appeared and which went between two spectra.

    Parameters
    ----------
    before, after : float (P, 6) reflectance of the same pixels.
    min_fraction : smallest pixel share a material may take.

    Returns
    -------
    appeared, went : intp (P,) indices into :data:`MATERIAL_SPECTRA`.
    fraction : float32 (P,) share of the pixel the appeared material covers.
    """
    b = np.asarray(before, dtype=np.float32).reshape(-1, 6)
    a = np.asarray(after, dtype=np.float32).reshape(-1, 6)
    if b.shape[0] == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty.copy(), np.zeros(0, dtype=np.float32)
    appeared, fraction = _best_material(b, a, min_fraction)
    went, _ = _best_material(a, b, min_fraction)
    return appeared, went, fraction


def type_changes(
    before: npt.NDArray[np.floating],
    after: npt.NDArray[np.floating],
    seasonal: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.uint8]:
    """Change code (1-5, or 0 for changes we do not report) of each before/after pair.

    Parameters
    ----------
    before, after : float (P, 6) reflectance.
    seasonal : bool (P,) or None; pixels whose history greens and browns with the seasons.
        What went there was vegetation, whatever its spectrum on the day (dry scrub and
        stubble look like soil or red tiles in March).

    Returns
    -------
    uint8 (P,): 1 new_construction, 2 demolition, 4 roof_change, 5 land_clearing, 0 none.
    Rebuilding (3) arises only from chains, see :func:`chain_types`.

    Examples
    --------
    >>> forest = np.array([[0.03, 0.06, 0.035, 0.32, 0.17, 0.08]])
    >>> roof = np.array([[0.16, 0.13, 0.08, 0.15, 0.11, 0.085]])
    >>> int(type_changes(forest, roof)[0]), int(type_changes(roof, forest)[0])
    (1, 0)
    """
    appeared, went, _ = unmix(before, after)
    went_kind = MATERIAL_KIND[went]
    if seasonal is not None:
        went_kind = np.where(
            np.asarray(seasonal, dtype=bool) & (went_kind != Kind.WATER),
            np.uint8(Kind.VEGETATION),
            went_kind,
        )
    return _RULE_TABLE[MATERIAL_KIND[appeared], went_kind]


def chain_types(
    first: npt.NDArray[np.uint8], second: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """Type of a detection whose pixels changed twice in a row; 0 where a new one starts.

    Clearing then a roof is ``new_construction``; demolition then a roof is ``rebuilding``.
    """
    return _CHAIN_TABLE[np.asarray(first, dtype=np.intp), np.asarray(second, dtype=np.intp)]
