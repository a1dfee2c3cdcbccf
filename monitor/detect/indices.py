"""Spectral indices of reflectance stacks, by band name.

Each index is a normalised difference of two bands or band sums, so a gain common to both
(haze, a top-of-atmosphere scene, a satellite's calibration) changes it little:

- NDVI, (NIR - red) / (NIR + red): green vegetation;
- NDBI, (SWIR-1 - NIR) / (SWIR-1 + NIR): dry built and bare surfaces above vegetation;
- MNDWI, (green - SWIR-1) / (green + SWIR-1): open water;
- BSI, ((SWIR-1 + red) - (NIR + blue)) / (...): bare soil against vegetation and roofs;
- visible slope, (red - blue) / (red + blue): soils and dry stubble are red (iron oxides),
  concrete, metal and painted roofs are flat or blue;
- NDRE, (B8A - B05) / (B8A + B05), when the red-edge bands are there: the red edge of
  chlorophyll, high for growing crops, low for stubble, soil and roofs alike.

Numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["INDEX_NAMES", "RED_EDGE_INDEX_NAMES", "normalised_difference", "indices"]

#: Indices of the six core bands, in the order :func:`indices` returns them.
INDEX_NAMES: tuple[str, ...] = ("ndvi", "ndbi", "mndwi", "bsi", "visible_slope")
#: Indices that need the red-edge bands (``rededge1`` B05, ``nir08`` B8A).
RED_EDGE_INDEX_NAMES: tuple[str, ...] = ("ndre",)

Array = npt.NDArray[np.float32]


def normalised_difference(a: npt.ArrayLike, b: npt.ArrayLike) -> Array:
    """``(a - b) / (a + b)``, 0 where the sum is not positive (no signal to compare)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    total = a + b
    with np.errstate(all="ignore"):
        out = np.where(total > 1e-4, (a - b) / total, np.float32(0.0))
    return np.asarray(out, dtype=np.float32)


def indices(stack: npt.ArrayLike, bands: Sequence[str]) -> dict[str, Array]:
    """Every index the bands allow, keyed by name (:data:`INDEX_NAMES`, then
    :data:`RED_EDGE_INDEX_NAMES` when ``rededge1`` and ``nir08`` are among ``bands``).

    Parameters
    ----------
    stack : float (len(bands), ...) reflectance; NaN propagates.
    bands : the band name of each row of ``stack`` (Earth Search asset keys).
    """
    values = np.asarray(stack, dtype=np.float32)
    if values.shape[0] != len(bands):
        raise ValueError(f"{values.shape[0]} rows for {len(bands)} band names")
    band = {name: values[i] for i, name in enumerate(bands)}
    missing = [b for b in ("blue", "green", "red", "nir", "swir16") if b not in band]
    if missing:
        raise ValueError(f"indices need the bands {', '.join(missing)}")
    out = {
        "ndvi": normalised_difference(band["nir"], band["red"]),
        "ndbi": normalised_difference(band["swir16"], band["nir"]),
        "mndwi": normalised_difference(band["green"], band["swir16"]),
        "bsi": normalised_difference(band["swir16"] + band["red"], band["nir"] + band["blue"]),
        "visible_slope": normalised_difference(band["red"], band["blue"]),
    }
    if "rededge1" in band and "nir08" in band:
        out["ndre"] = normalised_difference(band["nir08"], band["rededge1"])
    return out
