"""The red edge of the simulated ground: B05 B06 B07 B8A derived from each surface's spectrum.

Every surface of the simulator has a spectrum in the six bands the detector reads (B02 B03
B04 B08 B11 B12). Between red (B04, 665 nm) and NIR (B08, 842 nm) its shape is set by what
the surface is, so the red-edge bands are placed along the way from red to NIR by a shape:

- ``VEGETATION``: chlorophyll absorbs red and leaves scatter NIR, so reflectance climbs
  steeply between 690 and 750 nm. Green canopy: B05 (705 nm) a little above red, B06
  (740 nm) over half way to NIR, B07 (783 nm) and B8A (865 nm) on the NIR plateau, B8A
  within a few per cent of B08. As leaves senesce the edge weakens (red rises, NIR falls,
  which the six bands already show) and shifts to shorter wavelengths: B05 and B06 lie
  further along the way. How green a spectrum is comes from its own NDVI.
- ``SOIL``: iron oxides and organic matter make soils and sand rise smoothly and
  monotonically from red to NIR, a little above the straight line (a gentle upward bow),
  B8A a little above B08.
- ``WATER``: absorption by water grows with wavelength, so B05 > B06 > B07 > B8A, all low.
- ``FLAT``: concrete, metal and painted roofs, asphalt, rubble and ash are nearly flat
  between red and NIR: the straight line between the two, each with its own small slope.

Mixtures stay mixtures: the simulator derives the red edge of each pure spectrum (a
keyframe, a material) and mixes pixels linearly afterwards, as it mixes the other bands.
Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_EDGE",
    "RED_EDGE_KEYS",
    "RED_EDGE_NM",
    "EdgeShape",
    "EdgeCoefficients",
    "jittered_edge",
    "red_edge",
    "red_edge_tint",
]

#: Earth Search asset keys of the red-edge bands, in the order of every array here.
RED_EDGE_KEYS: tuple[str, ...] = ("rededge1", "rededge2", "rededge3", "nir08")
#: Centre wavelengths (nm) of B05 B06 B07 B8A.
RED_EDGE_NM: tuple[float, ...] = (705.0, 740.0, 783.0, 865.0)
_RED_NM, _NIR_NM = 665.0, 842.0
#: Where each red-edge band lies between red (0) and NIR (1) by wavelength (B8A beyond NIR).
_POSITION = np.array([(nm - _RED_NM) / (_NIR_NM - _RED_NM) for nm in RED_EDGE_NM])
#: NDVI of a fully senescent and of a fully green canopy (the shape blends in between).
_NDVI_SENESCENT, _NDVI_GREEN = 0.30, 0.75


class EdgeShape(IntEnum):
    """How a surface's reflectance runs from red to NIR."""

    VEGETATION = 0
    SOIL = 1
    WATER = 2
    FLAT = 3


@dataclass(frozen=True)
class EdgeCoefficients:
    """The shapes, as shares of the way from red (0) to NIR (1) of B05 B06 B07 B8A.

    green, senescent : vegetation at full and at no greenness.
    soil : a gentle upward bow (the wavelength position to the power 0.8).
    flat : the straight line (the wavelength position itself).
    water : B05 B06 B07 as shares of the way from B8A up to the brighter of red and NIR;
        B8A as a share of NIR.
    """

    green: tuple[float, float, float, float] = (0.14, 0.58, 0.92, 1.02)
    senescent: tuple[float, float, float, float] = (0.38, 0.74, 0.92, 1.04)
    soil: tuple[float, float, float, float] = (0.304, 0.504, 0.723, 1.103)
    flat: tuple[float, float, float, float] = (0.226, 0.424, 0.667, 1.130)
    water: tuple[float, float, float, float] = (0.85, 0.60, 0.35, 0.85)


#: The default world's shapes.
DEFAULT_EDGE = EdgeCoefficients()


def _rising(values: npt.NDArray[np.float64], low: float) -> tuple[float, float, float, float]:
    """``values`` made strictly increasing (steps of at least 0.02) from above ``low``."""
    out = [max(float(values[0]), low + 0.02)]
    for value in values[1:]:
        out.append(max(float(value), out[-1] + 0.02))
    return (out[0], out[1], out[2], out[3])


def jittered_edge(rng: np.random.Generator, spread: float = 0.03) -> EdgeCoefficients:
    """The default shapes with every coefficient moved by up to ``spread``, order kept.

    A random world draws one per material, so no fixed red-edge shape is learnt either.
    """

    def moved(base: tuple[float, ...]) -> npt.NDArray[np.float64]:
        return np.asarray(base) + rng.uniform(-spread, spread, 4)

    green, senescent, soil, flat = (
        moved(DEFAULT_EDGE.green),
        moved(DEFAULT_EDGE.senescent),
        moved(DEFAULT_EDGE.soil),
        moved(DEFAULT_EDGE.flat),
    )
    water = moved(DEFAULT_EDGE.water)
    # Water falls off: B05 > B06 > B07 above B8A, and B8A below B08.
    w05 = float(np.clip(water[0], 0.7, 0.95))
    w06 = float(min(water[1], w05 - 0.1))
    w07 = float(np.clip(min(water[2], w06 - 0.1), 0.05, None))
    w8a = float(np.clip(water[3], 0.7, 0.95))
    return EdgeCoefficients(
        green=_rising(green, 0.0),
        senescent=_rising(senescent, 0.0),
        soil=_rising(soil, 0.0),
        flat=_rising(flat, 0.0),
        water=(w05, w06, w07, w8a),
    )


def red_edge(
    spectra: npt.NDArray[np.floating] | tuple[float, ...],
    shape: EdgeShape | int,
    edge: EdgeCoefficients = DEFAULT_EDGE,
) -> npt.NDArray[np.float32]:
    """B05 B06 B07 B8A of spectra in the simulator's six bands: float32 (..., 4).

    ``spectra`` is (..., 6), bands B02 B03 B04 B08 B11 B12; all of them take ``shape``.
    """
    values = np.asarray(spectra, dtype=np.float64)
    red = values[..., 2:3]
    nir = values[..., 3:4]
    if shape == EdgeShape.WATER:
        w = np.asarray(edge.water)
        floor = w[3] * nir
        top = np.maximum(red, nir)
        upper = floor + w[:3] * (top - floor)
        return np.concatenate([upper, floor], axis=-1).astype(np.float32)
    if shape == EdgeShape.VEGETATION:
        ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
        green = np.clip((ndvi - _NDVI_SENESCENT) / (_NDVI_GREEN - _NDVI_SENESCENT), 0.0, 1.0)
        low, high = np.asarray(edge.senescent), np.asarray(edge.green)
        share = low + green * (high - low)
    elif shape == EdgeShape.SOIL:
        share = np.asarray(edge.soil)
    elif shape == EdgeShape.FLAT:
        share = np.asarray(edge.flat)
    else:
        raise ValueError(f"unknown red-edge shape {shape!r}")
    return (red + share * (nir - red)).astype(np.float32)


def red_edge_tint(tint: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Per-band factors (..., 6) of the six bands extended to the red edge: (..., 4).

    A factor drawn for red and one for NIR (a parcel's tint) hold for the bands between
    them by geometric interpolation along the wavelength (B8A takes NIR's).
    """
    values = np.asarray(tint, dtype=np.float64)
    red, nir = values[..., 2:3], values[..., 3:4]
    position = np.clip(_POSITION, 0.0, 1.0)
    return (red * (nir / red) ** position).astype(np.float32)
