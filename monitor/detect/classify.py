"""Change typing from spectra: what appeared, what went, what that makes the change.

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

from monitor.models import CHANGE_CODES, ChangeCode

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
    "swap",
    "type_changes",
    "chain_types",
    "ndvi",
]

CODE_NAMES: dict[int, str] = {code: name for name, code in CHANGE_CODES.items()}
UNKNOWN_CODE = 6
NODATA_CODE = 255

_NEW, _DEMOLITION, _REBUILDING, _ROOF, _CLEARING = (int(code) for code in ChangeCode)


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
    DAMP_SOIL = 12


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
        (0.070, 0.095, 0.135, 0.210, 0.270, 0.220),  # laterite darkened by rain
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
        Kind.SOIL,
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
    # A roof "changed" to rubble that looks like concrete, then bare ground, then a roof:
    # the bare stage shows the first step was a demolition.
    (_ROOF, _DEMOLITION): _DEMOLITION,
    (_ROOF, _NEW): _REBUILDING,
    (_REBUILDING, _DEMOLITION): _REBUILDING,
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


# Every ordered pair of distinct library materials: (went, appeared) and the spectral step
# replacing one by the other makes.
_N_MATERIALS = MATERIAL_SPECTRA.shape[0]
_PAIR_WENT = np.repeat(np.arange(_N_MATERIALS), _N_MATERIALS)
_PAIR_APPEARED = np.tile(np.arange(_N_MATERIALS), _N_MATERIALS)
# Ground bared by a demolition is often damp. Damp soil only ever appears where a roof
# went: as what went, it would be confused with the red roofs it resembles, and where
# vegetation went, with a scrub or paddy browning in an unusually dry spell.
_DISTINCT = (
    (_PAIR_WENT != _PAIR_APPEARED)
    & (_PAIR_WENT != Material.DAMP_SOIL)
    & ((_PAIR_APPEARED != Material.DAMP_SOIL) | (MATERIAL_KIND[_PAIR_WENT] == Kind.BUILT))
)
_PAIR_WENT, _PAIR_APPEARED = _PAIR_WENT[_DISTINCT], _PAIR_APPEARED[_DISTINCT]
_PAIR_STEP = (MATERIAL_SPECTRA[_PAIR_APPEARED] - MATERIAL_SPECTRA[_PAIR_WENT]).astype(np.float32)
_PAIR_NORM2 = np.maximum((_PAIR_STEP**2).sum(axis=1), np.float32(1e-8))
_WENT_SPECTRA = MATERIAL_SPECTRA[_PAIR_WENT]
_NEW_SPECTRA = MATERIAL_SPECTRA[_PAIR_APPEARED]
#: Reflectance by which a material's share may exceed the spectrum that holds it (noise).
_FIT_TOLERANCE = np.float32(0.02)
#: Misfit per unit of such excess: a material cannot cover more than the pixel shows.
_EXCESS_PENALTY = np.float32(2.0)
#: Misfit per unit of unchanged share: between two equally good explanations, the one
#: replacing more of the pixel (a whole plot cleared, not a sliver of metal roof) wins.
_PARTIAL_PENALTY = np.float32(0.01)
# Pixels per chunk: its (P, pairs) float32 temporaries (~40 per chunk) stay near 280 KB,
# which the allocator reuses; at 4096 pixels each was a fresh 2.3 MB mapping, and page
# faults cost 3 times the arithmetic (8,000 pixels typed in 27 ms instead of about 100).
# A pixel's result does not depend on its chunk (row-wise arithmetic; tests/detect/
# test_speed_classify.py checks the matrix product's rows too).
_SWAP_CHUNK = 512


def swap(
    before: npt.NDArray[np.floating],
    after: npt.NDArray[np.floating],
    *,
    min_fraction: float = 0.1,
    misfit_out: npt.NDArray[np.float32] | None = None,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Which library material replaced which on part of each pixel.

    A 10 m pixel is rarely one surface: a roof torn down in a garden changes the roof's
    share only, so ``after - before = f * (appeared - went)`` whatever else the pixel
    holds. The pair and share ``f`` (in ``[min_fraction, 1]``) best fitting the step are
    chosen, with a penalty where ``f * went`` would be brighter than ``before`` or
    ``f * appeared`` brighter than ``after`` in some band (a share cannot exceed the pixel).

    Parameters
    ----------
    before, after : float (P, 6) reflectance of the same pixels.
    min_fraction : smallest pixel share a swap may take.
    misfit_out : float32 (P,) or None; receives the distance between the step and the
        chosen swap (reflectance), to judge how well it explains the change.

    Returns
    -------
    appeared, went : intp (P,) indices into :data:`MATERIAL_SPECTRA`.
    fraction : float32 (P,) share of the pixel that changed.
    """
    b = np.asarray(before, dtype=np.float32).reshape(-1, 6)
    a = np.asarray(after, dtype=np.float32).reshape(-1, 6)
    appeared = np.zeros(b.shape[0], dtype=np.intp)
    went = np.zeros(b.shape[0], dtype=np.intp)
    share = np.zeros(b.shape[0], dtype=np.float32)
    # In chunks; the squared misfit |step - f d|^2 = |step|^2 - 2 f step.d + f^2 |d|^2 needs
    # no (P, pairs, 6) array; the share checks take one band at a time.
    for start in range(0, b.shape[0], _SWAP_CHUNK):
        bb, aa = b[start : start + _SWAP_CHUNK], a[start : start + _SWAP_CHUNK]
        step = aa - bb
        dot = step @ _PAIR_STEP.T  # (P, pairs)
        f = np.clip(dot / _PAIR_NORM2, min_fraction, 1.0).astype(np.float32)
        sq = (step**2).sum(axis=1)[:, None] - 2.0 * f * dot + f**2 * _PAIR_NORM2
        misfit = np.sqrt(np.maximum(sq, 0.0))
        plain = misfit.copy() if misfit_out is not None else None
        excess_went = np.full(f.shape, -np.inf, dtype=np.float32)
        excess_new = np.full(f.shape, -np.inf, dtype=np.float32)
        for band in range(6):
            went_b = f * _WENT_SPECTRA[:, band] - bb[:, band : band + 1]
            new_b = f * _NEW_SPECTRA[:, band] - aa[:, band : band + 1]
            np.maximum(excess_went, went_b, out=excess_went)
            np.maximum(excess_new, new_b, out=excess_new)
        misfit += _EXCESS_PENALTY * (
            np.maximum(excess_went - _FIT_TOLERANCE, 0) + np.maximum(excess_new - _FIT_TOLERANCE, 0)
        )
        misfit += _PARTIAL_PENALTY * (1.0 - f)
        best = np.argmin(misfit, axis=1)
        appeared[start : start + bb.shape[0]] = _PAIR_APPEARED[best]
        went[start : start + bb.shape[0]] = _PAIR_WENT[best]
        share[start : start + bb.shape[0]] = np.take_along_axis(f, best[:, None], axis=1)[:, 0]
        if misfit_out is not None and plain is not None:
            misfit_out[start : start + bb.shape[0]] = np.take_along_axis(
                plain, best[:, None], axis=1
            )[:, 0]
    return appeared, went, share


def type_changes(
    before: npt.NDArray[np.floating],
    after: npt.NDArray[np.floating],
    seasonal: npt.NDArray[np.bool_] | None = None,
    *,
    max_misfit_ratio: float | None = None,
) -> npt.NDArray[np.uint8]:
    """Change code (1-5, or 0 for changes we do not report) of each before/after pair.

    The pair of materials that swapped (:func:`swap`) types the change: a roof appearing
    where vegetation or soil went is construction, soil or rubble where a roof went is
    demolition, and so on.

    Parameters
    ----------
    before, after : float (P, 6) reflectance.
    seasonal : bool (P,) or None; pixels whose history greens and browns with the seasons.
        What went there was vegetation, whatever its spectrum on the day (dry scrub and
        stubble look like soil or red tiles in March).
    max_misfit_ratio : when given, a pair whose best swap leaves more than this share of
        the step unexplained is typed 0: a small step any swap fits badly is noise, not a
        change of material (before/after mode, where no history vouches for the step).

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
    if np.asarray(before).size == 0:
        return np.zeros(0, dtype=np.uint8)
    misfit = np.zeros(np.asarray(before).reshape(-1, 6).shape[0], dtype=np.float32)
    appeared, went, _ = swap(before, after, misfit_out=misfit)
    went_kind = MATERIAL_KIND[went]
    if seasonal is not None:
        went_kind = np.where(
            np.asarray(seasonal, dtype=bool) & (went_kind != Kind.WATER),
            np.uint8(Kind.VEGETATION),
            went_kind,
        )
    codes: npt.NDArray[np.uint8] = _RULE_TABLE[MATERIAL_KIND[appeared], went_kind]
    if max_misfit_ratio is not None:
        step = np.linalg.norm(
            np.asarray(after, dtype=np.float32).reshape(-1, 6)
            - np.asarray(before, dtype=np.float32).reshape(-1, 6),
            axis=1,
        )
        codes = np.where(misfit > max_misfit_ratio * step, np.uint8(0), codes).astype(np.uint8)
    return codes


def chain_types(
    first: npt.NDArray[np.uint8], second: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """Type of a detection whose pixels changed twice in a row; 0 where a new one starts.

    Clearing then a roof is ``new_construction``; demolition then a roof is ``rebuilding``.
    """
    return _CHAIN_TABLE[np.asarray(first, dtype=np.intp), np.asarray(second, dtype=np.intp)]
