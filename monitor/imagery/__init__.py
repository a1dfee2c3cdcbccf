"""Imagery: read the AOI window of each COG, check the offset in the pixels, cache chips.

rasterio is imported only inside this package. ``env`` holds the GDAL settings, ``asset``
the windowed read of one asset, ``read`` a scene's chip (SCL first), ``outcome`` what became
of each read, ``offset`` the pixel check of the reflectance offset, ``cache`` the chips with
their provenance, ``api`` the notebook helpers.
"""

from __future__ import annotations

from monitor.imagery.api import chips_to_xarray, load_chips
from monitor.imagery.cache import ChipCache, grid_hash
from monitor.imagery.env import GDAL_DEFAULTS, GdalSettings, gdal_env
from monitor.imagery.offset import (
    DarkLevel,
    OffsetCheck,
    OffsetHistory,
    check_offset,
    dark_level,
    encode_reflectance,
)
from monitor.imagery.outcome import ReadOutcome
from monitor.imagery.read import AssetRead, aoi_mask_for, load_chip, read_asset

__all__ = [
    "GDAL_DEFAULTS",
    "GdalSettings",
    "gdal_env",
    "ReadOutcome",
    "AssetRead",
    "load_chip",
    "read_asset",
    "aoi_mask_for",
    "ChipCache",
    "grid_hash",
    "DarkLevel",
    "OffsetCheck",
    "OffsetHistory",
    "check_offset",
    "dark_level",
    "encode_reflectance",
    "load_chips",
    "chips_to_xarray",
]
