"""The band list of a chip: the six core bands, then the red-edge bands asked for.

A chip always holds CHIP_BANDS (a band the scene lacks is stored as no data, as before);
after them come the RED_EDGE_BANDS that were asked for and that the scene has, in
RED_EDGE_BANDS order. An asked band the scene lacks is left out of the chip and named in its
provenance (``extra_bands_absent``): the item does not have it, which is not an error.

Red-edge bands never change a chip's ``valid`` mask, its offset check or its rule: those are
decided by the core bands and SCL, so the detector's inputs are the same with or without them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.models import CHIP_BANDS, RED_EDGE_BANDS, Chip, Scene

__all__ = ["extra_bands_asked", "extra_bands_present", "extra_record", "with_added_bands"]


def extra_bands_asked(extra_bands: Sequence[str]) -> tuple[str, ...]:
    """The asked extra bands in their fixed order, without repeats.

    Raises ValueError for a name that is not one of RED_EDGE_BANDS.
    """
    unknown = [b for b in extra_bands if b not in RED_EDGE_BANDS]
    if unknown:
        raise ValueError(
            f"unknown extra band {unknown[0]!r} (expected some of {', '.join(RED_EDGE_BANDS)})"
        )
    return tuple(b for b in RED_EDGE_BANDS if b in extra_bands)


def extra_bands_present(scene: Scene, asked: Sequence[str]) -> tuple[str, ...]:
    """The asked extra bands the scene has an asset for, in their fixed order."""
    return tuple(b for b in asked if b in scene.assets)


def extra_record(scene: Scene, asked: Sequence[str], held: Sequence[str]) -> dict[str, Any]:
    """The provenance entries of a chip's extra bands: what was asked, what the item lacks.

    ``held`` are the extra bands the chip carries (an earlier request may have added more
    than this one asks for).
    """
    every = [b for b in RED_EDGE_BANDS if b in asked or b in held]
    return {
        "extra_bands_asked": every,
        "extra_bands_absent": [b for b in every if b not in scene.assets],
    }


def with_added_bands(chip: Chip, added: Mapping[str, npt.NDArray[np.uint16]]) -> Chip:
    """``chip`` with the encoded extra bands ``added`` (name -> uint16 (rows, cols)) put in
    their places; the core bands, mask, SCL, rule and provenance stay as they are."""
    bands = CHIP_BANDS + tuple(b for b in RED_EDGE_BANDS if b in chip.bands or b in added)
    rows = [chip.reflectance[chip.bands.index(b)] if b in chip.bands else added[b] for b in bands]
    return replace(chip, reflectance=np.stack(rows).astype(np.uint16, copy=False), bands=bands)
