"""The cover classes of the simulated ground: codes, crops, band order.

Codes are internal to the simulator (uint8 arrays); the bands are the six the monitor reads
(B02 B03 B04 B08 B11 B12).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["BANDS", "Cover", "FieldCrop", "N_COVERS", "ROOF_COVERS", "VEGETATED_COVERS"]

#: Band order of every reflectance array here: B02 B03 B04 B08 B11 B12.
BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")


class Cover(IntEnum):
    """Land-cover classes of the simulated ground (uint8 codes, internal to the simulator)."""

    WATER = 1
    FOREST = 2
    SCRUB = 3
    PADDY = 4  # a field parcel: its crop and calendar come from the parcel
    SOIL = 5
    ROAD = 6  # concrete or gravel street
    ROOF_BLUE = 7
    ROOF_RED = 8
    ROOF_WHITE = 9
    ROOF_GREY = 10
    CONCRETE = 11
    RUBBLE = 12
    SITE = 13
    GRASS = 14
    SANDBAR = 15
    BURNT = 16
    ASPHALT = 17  # highways, runway
    ROOF_TILE = 18  # orange-brown tile and painted roofs of houses and villas
    LAWN = 19  # watered lawns and sports fields
    POND = 20  # fish ponds and ornamental lakes
    WALLS = 21  # a roofless shell: rubble inside standing walls (random world)
    DEBRIS = 22  # a grey roof fallen in: debris of the same material (random world)


class FieldCrop(IntEnum):
    """What a field parcel grows (its seasonal keyframes)."""

    RICE = 0  # rain-fed lowland rice, one crop
    DOUBLE = 1  # rice, then an irrigated dry-season crop
    MAIZE = 2  # upland maize, the Tak province staple
    FALLOW = 3  # grassy fallow


ROOF_COVERS: frozenset[int] = frozenset(
    {
        Cover.ROOF_BLUE,
        Cover.ROOF_RED,
        Cover.ROOF_WHITE,
        Cover.ROOF_GREY,
        Cover.CONCRETE,
        Cover.BURNT,
        Cover.ROOF_TILE,
    }
)
VEGETATED_COVERS: frozenset[int] = frozenset({Cover.FOREST, Cover.SCRUB, Cover.GRASS})

#: Length of a table indexed by cover code.
N_COVERS = max(Cover) + 1
