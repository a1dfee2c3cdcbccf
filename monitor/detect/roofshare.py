"""Roof share: the share of a 10 m pixel's spectrum that the library's roof materials explain.

A pixel is usually a mixture. Its spectrum is explained by the best two-material mixture of
the generic library of :mod:`monitor.detect.classify` (``a * m1 + (1 - a) * m2``), or two lit
materials with shade; the share of roof materials in it (concrete, bright metal, grey metal,
coated steel, tile or red paint) is the pixel's roof share. Asphalt, soil, rubble,
vegetation, water and dark surfaces are not roofs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.detect.classify import MATERIAL_SPECTRA, Material

__all__ = ["ROOF_MATERIALS", "roof_share"]

#: Library materials that are roofs (a flat concrete roof and a concrete yard look alike at
#: 10 m; concrete counts as roofed, asphalt as road).
ROOF_MATERIALS: tuple[Material, ...] = (
    Material.CONCRETE,
    Material.BRIGHT_METAL,
    Material.GREY_METAL,
    Material.COATED_STEEL,
    Material.TILE_OR_RED_PAINT,
)

#: Pixels unmixed at once: roof_share's temporaries are about 50 MB per 4,096 (its peak
#: was 196 MB at 16,384, the largest part of a report's peak); the results do not depend
#: on it and the time hardly does (267,000 pixels: about 5 s either way).
_CHUNK = 4096

_ROOF_WEIGHT = np.zeros(MATERIAL_SPECTRA.shape[0], dtype=np.float64)
_ROOF_WEIGHT[list(ROOF_MATERIALS)] = 1.0
#: The library's dark surface stands for shade: a roof in a building's shadow, or dimmer
#: than the library's, is a roof with some shade, not part roof, part something else.
_SHADE = int(Material.DARK_OR_BURNT)
#: Below this share of non-shade, a pixel is judged from too little light to call it roofed.
_MIN_LIT = 0.25
_SPECTRA = MATERIAL_SPECTRA.astype(np.float64)
_PAIR_A, _PAIR_B = np.triu_indices(MATERIAL_SPECTRA.shape[0])  # pairs and singles (a == b)
_STEP = _SPECTRA[_PAIR_A] - _SPECTRA[_PAIR_B]  # (Q, 6)
_STEP2 = (_STEP**2).sum(axis=1)
# Triples: two lit materials and shade.
_LIT = np.array([m for m in range(MATERIAL_SPECTRA.shape[0]) if m != _SHADE])
_TRI_A, _TRI_B = (_LIT[i] for i in np.triu_indices(_LIT.size, k=1))
_TRI_U = _SPECTRA[_TRI_A] - _SPECTRA[_SHADE]  # (T, 6)
_TRI_V = _SPECTRA[_TRI_B] - _SPECTRA[_SHADE]
_UU, _UV, _VV = ((_TRI_U**2).sum(1), (_TRI_U * _TRI_V).sum(1), (_TRI_V**2).sum(1))
_DET = _UU * _VV - _UV**2


def _shade_normalised(
    roof: npt.NDArray[np.float64], shade: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    return np.clip(roof / np.maximum(1.0 - shade, _MIN_LIT), 0.0, 1.0)


def roof_share(
    spectra: npt.NDArray[np.floating],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Roof share of each spectrum and how well its best library mixture fits.

    The mixture is one or two library materials, plus shade (the library's dark surface):
    ``a * m1 + b * m2 + (1 - a - b) * shade`` with non-negative shares. The roof share is
    the roof materials' part of the lit part (shade-normalised, as spectral mixture
    analysis does), so a roof dimmed by shadow or tone still counts whole.

    Parameters
    ----------
    spectra : float (P, 6) reflectance, bands B02 B03 B04 B08 B11 B12; NaN rows allowed.

    Returns
    -------
    share : float32 (P,) in [0, 1], NaN where the spectrum is NaN.
    misfit : float32 (P,) distance (reflectance) between the spectrum and the mixture.

    Examples
    --------
    >>> roof = MATERIAL_SPECTRA[Material.GREY_METAL]
    >>> grass = MATERIAL_SPECTRA[Material.GREEN_VEGETATION]
    >>> dark = MATERIAL_SPECTRA[Material.DARK_OR_BURNT]
    >>> share, _ = roof_share(np.stack([roof, 0.5 * roof + 0.5 * grass, grass,
    ...                                 0.6 * roof + 0.4 * dark]))
    >>> [round(float(s), 2) for s in share]
    [1.0, 0.5, 0.0, 1.0]
    """
    s = np.asarray(spectra, dtype=np.float64).reshape(-1, MATERIAL_SPECTRA.shape[1])
    share = np.full(s.shape[0], np.nan, dtype=np.float32)
    misfit = np.full(s.shape[0], np.nan, dtype=np.float32)
    rows = np.flatnonzero(np.isfinite(s).all(axis=1))
    # Squared misfits expanded into a few matrix products per chunk, so no (pixels,
    # models, bands) array is made: |x - B - a D|^2 = |x - B|^2 - 2 a (x - B).D + a^2 |D|^2.
    base = _SPECTRA[_PAIR_B]  # (Q, 6)
    base_dot_step = (base * _STEP).sum(axis=1)
    base2 = (base**2).sum(axis=1)
    single = _STEP2 <= 0
    shade_in_a = (_PAIR_A == _SHADE).astype(np.float64)
    shade_in_b = (_PAIR_B == _SHADE).astype(np.float64)
    shade_spectrum = _SPECTRA[_SHADE]
    for start in range(0, rows.size, _CHUNK):
        part = rows[start : start + _CHUNK]
        x = s[part]  # (P, 6)
        x2 = (x**2).sum(axis=1)[:, None]
        # One or two materials (shade among them), shares clipped to [0, 1].
        along = x @ _STEP.T - base_dot_step  # (x - B).D, (P, Q)
        a = np.clip(along / np.where(single, 1.0, _STEP2), 0.0, 1.0)
        a[:, single] = 1.0
        err2 = x2 - 2.0 * (x @ base.T) + base2 - 2.0 * a * along + a**2 * _STEP2
        roof = _shade_normalised(
            a * _ROOF_WEIGHT[_PAIR_A] + (1 - a) * _ROOF_WEIGHT[_PAIR_B],
            a * shade_in_a + (1 - a) * shade_in_b,
        )
        # Two lit materials and shade, where all three shares come out non-negative (the
        # other cases are the pairs above).
        y = x - shade_spectrum
        yu, yv = y @ _TRI_U.T, y @ _TRI_V.T  # (P, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = (_VV * yu - _UV * yv) / _DET
            q = (_UU * yv - _UV * yu) / _DET
        inside = (p >= 0) & (q >= 0) & (p + q <= 1) & np.isfinite(p) & np.isfinite(q)
        tri_err2 = (
            (y**2).sum(axis=1)[:, None]
            - 2 * (p * yu + q * yv)
            + p**2 * _UU
            + 2 * p * q * _UV
            + q**2 * _VV
        )
        tri_err2 = np.where(inside, tri_err2, np.inf)
        tri_roof = _shade_normalised(
            p * _ROOF_WEIGHT[_TRI_A] + q * _ROOF_WEIGHT[_TRI_B], 1.0 - p - q
        )
        all_err2 = np.concatenate([err2, tri_err2], axis=1)
        all_roof = np.concatenate([roof, np.where(inside, tri_roof, 0.0)], axis=1)
        best = np.argmin(all_err2, axis=1)
        pick = np.arange(part.size)
        share[part] = all_roof[pick, best]
        misfit[part] = np.sqrt(np.maximum(all_err2[pick, best], 0.0))
    return share, misfit
