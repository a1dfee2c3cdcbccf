"""The notebook API: chips loaded for a list of scenes, viewed as an xarray Dataset.

Examples
--------
>>> from monitor.imagery import ChipCache, load_chips, chips_to_xarray   # doctest: +SKIP
>>> outcomes = load_chips(scenes, aoi, ChipCache("imagery"))              # doctest: +SKIP
>>> ds = chips_to_xarray([o.chip for o in outcomes if o.chip])           # doctest: +SKIP
>>> ds.reflectance.sel(band="nir").where(ds.valid).median("time")        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.imagery.cache import ChipCache
from monitor.imagery.env import GdalSettings
from monitor.imagery.outcome import ReadOutcome
from monitor.imagery.read import load_chip
from monitor.models import Aoi, Chip, Scene, decode_chip

if TYPE_CHECKING:
    import xarray

__all__ = ["load_chips", "chips_to_xarray"]


def load_chips(
    scenes: Iterable[Scene],
    aoi: Aoi,
    cache: ChipCache,
    *,
    env: GdalSettings | None = None,
    min_clear_fraction: float = 0.1,
    extra_bands: Sequence[str] = (),
) -> list[ReadOutcome]:
    """``load_chip`` for each scene, oldest first, one outcome per scene (with the red-edge
    ``extra_bands`` each scene has).

    Scenes are read in time order so that each offset check compares with the AOI's
    earlier scenes (taken from the cache). ``ReadError`` (bad input) propagates.
    """
    ordered = sorted(scenes, key=lambda s: (s.datetime, s.id))
    return [
        load_chip(
            scene,
            aoi,
            cache,
            env=env,
            min_clear_fraction=min_clear_fraction,
            extra_bands=extra_bands,
        )
        for scene in ordered
    ]


def chips_to_xarray(chips: Sequence[Chip]) -> xarray.Dataset:
    """Stack chips of one AOI grid into a Dataset.

    Variables
    ---------
    reflectance : float32 (time, band, y, x), surface reflectance, NaN where no data
        (cloudy pixels keep their values; mask them with ``valid``).
    valid : bool (time, y, x), has data and is clear by SCL (by nodata alone without SCL).
    scl : uint8 (time, y, x), the raw SCL on the 10 m grid; 0 (SCL's no data) without SCL.

    Coordinates ``x``/``y`` are pixel centres in the AOI's CRS (metres), ``time`` is UTC
    (numpy datetime64 without zone), ``band`` the band names every chip has (the six core
    bands, and red-edge bands when every chip carries them); ``scene_id`` and
    ``offset`` (the reflectance rule's offset) run along ``time``. ``attrs["crs"]`` is the
    grid's "EPSG:nnnnn".
    """
    import xarray as xr

    if not chips:
        raise ValueError("chips_to_xarray needs at least one chip")
    chips = sorted(chips, key=lambda c: (c.datetime, c.scene_id))
    grid = chips[0].grid
    bands = tuple(b for b in chips[0].bands if all(b in c.bands for c in chips))
    for chip in chips:
        if (
            chip.grid != grid
            or chip.core_bands != chips[0].core_bands
            or chip.aoi_id != chips[0].aoi_id
        ):
            raise ValueError(
                f"chip {chip.scene_id} is on another grid, AOI or band list "
                f"than {chips[0].scene_id}"
            )
    raw = np.stack(
        [
            c.reflectance if c.bands == bands else c.reflectance[[c.bands.index(b) for b in bands]]
            for c in chips
        ]
    )
    reflectance = decode_chip(raw, missing_as_nan=True)
    valid = np.stack([c.valid for c in chips])
    scl = np.stack([c.scl if c.scl is not None else np.zeros(grid.shape, np.uint8) for c in chips])
    x = grid.left + (np.arange(grid.width) + 0.5) * grid.res_m
    y = grid.top - (np.arange(grid.height) + 0.5) * grid.res_m
    times = np.array(
        [np.datetime64(c.datetime.astimezone(_utc()).replace(tzinfo=None), "ns") for c in chips]
    )
    attrs: dict[str, Any] = {
        "crs": grid.crs,
        "aoi_id": chips[0].aoi_id,
        "transform": list(grid.transform),
        "res_m": grid.res_m,
        "simulated": int(any(c.simulated for c in chips)),
    }
    return xr.Dataset(
        data_vars={
            "reflectance": (("time", "band", "y", "x"), reflectance),
            "valid": (("time", "y", "x"), valid),
            "scl": (("time", "y", "x"), scl),
        },
        coords={
            "time": times,
            "band": list(bands),
            "y": y,
            "x": x,
            "scene_id": ("time", [c.scene_id for c in chips]),
            "offset": ("time", [c.rule.offset for c in chips]),
        },
        attrs=attrs,
    )


def _utc() -> dt.timezone:
    return dt.UTC
