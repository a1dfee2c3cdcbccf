"""Frozen records that cross stage boundaries.

pystac Items, rasterio datasets and sqlite rows never leave their stage: each stage converts
them into these records once, at its edge. Standard library, numpy and shapely only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ChangeCode",
    "CHANGE_CODES",
    "CHIP_BANDS",
    "RED_EDGE_BANDS",
    "CHIP_SCALE",
    "CHIP_OFFSET",
    "decode_chip",
    "encode_chip",
    "REQUIRED_BANDS",
    "OPTIONAL_BANDS",
    "SCL_MASKED",
    "SCL_DOUBTFUL",
    "scl_doubtful_share",
    "Grid",
    "Aoi",
    "AssetRef",
    "ReflectanceRule",
    "Scene",
    "ObservationStatus",
    "Observation",
    "Chip",
    "Detection",
    "Review",
    "ReviewVerdict",
    "REVIEW_VERDICTS",
    "ClaimRecord",
    "RunSummary",
    "DetectorSnapshot",
    "DetectionChanges",
]

#: Asset keys (common band names) a scene must have to be usable.
REQUIRED_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir")
#: Asset keys used when present.
OPTIONAL_BANDS: tuple[str, ...] = (
    "swir16",
    "swir22",
    "scl",
    "nir08",
    "rededge1",
    "rededge2",
    "rededge3",
)
#: Bands of a chip, in order: B02 B03 B04 B08 (10 m) and B11 B12 (20 m, resampled to 10 m).
CHIP_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22")
#: Bands a chip may carry after CHIP_BANDS when asked for and the item has them, in this
#: order: B05 B06 B07 B8A (20 m, resampled to 10 m as B11 and B12 are).
RED_EDGE_BANDS: tuple[str, ...] = ("rededge1", "rededge2", "rededge3", "nir08")
#: Chips store reflectance as uint16 ``v`` with reflectance = v * CHIP_SCALE + CHIP_OFFSET and
#: 0 meaning no data: the encoding of baseline 04.00, so slightly negative surface
#: reflectance (down to -0.0999) survives.
CHIP_SCALE = 0.0001
CHIP_OFFSET = -0.1
#: SCL classes that are never clear: no data, saturated/defective, cloud shadow,
#: cloud medium/high probability, thin cirrus.
SCL_MASKED: frozenset[int] = frozenset({0, 1, 3, 8, 9, 10})
#: SCL classes that, over most of a scene, mean it was not seen clearly: dark area, water,
#: unclassified (low sun, hill shade, haze, thin cloud).
SCL_DOUBTFUL: tuple[int, ...] = (2, 6, 7)


def decode_chip(
    encoded: npt.NDArray[np.unsignedinteger], *, missing_as_nan: bool = False
) -> npt.NDArray[np.float32]:
    """The chip encoding back to reflectance, float32 (the one decoder of cached chips).

    ``missing_as_nan`` turns the no-data value 0 into NaN; otherwise it decodes like any
    other value (to CHIP_OFFSET), for callers that mask it themselves.
    """
    out = encoded.astype(np.float32) * np.float32(CHIP_SCALE) + np.float32(CHIP_OFFSET)
    if missing_as_nan:
        out[encoded == 0] = np.nan
    return out


def encode_chip(
    reflectance: npt.ArrayLike, dtype: type[np.floating] = np.float32
) -> npt.NDArray[np.uint16]:
    """Reflectance to the chip encoding, uint16 clipped to 1..65535 (NaN becomes 1).

    The arithmetic is done in ``dtype``: float32 for the detector's own spectra, float64 for
    reflectance computed from a scene's digital numbers. The caller decides where no data
    (0) goes.
    """
    values = np.asarray(reflectance, dtype=dtype)
    coded = np.rint((values - dtype(CHIP_OFFSET)) / dtype(CHIP_SCALE))
    out: npt.NDArray[np.uint16] = np.clip(np.nan_to_num(coded, nan=0.0), 1, 65535).astype(np.uint16)
    return out


def scl_doubtful_share(scl: npt.NDArray[np.uint8] | None, clear: npt.NDArray[np.bool_]) -> float:
    """Share of the ``clear`` pixels that SCL calls dark, water or unclassified (0 without
    SCL or clear pixels): the imagery stage's offset check and the detector both doubt a
    scene where it is most of the AOI."""
    clear = np.asarray(clear, dtype=bool)
    n = int(clear.sum())
    if scl is None or n == 0:
        return 0.0
    return float(np.isin(np.asarray(scl)[clear], SCL_DOUBTFUL).sum()) / n


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: the AOI's UTM zone at ``res_m``, edges snapped to 20 m.

    ``left``/``top`` are the outer edges of the top-left pixel in metres of ``epsg``.
    """

    epsg: int
    left: float
    top: float
    width: int
    height: int
    res_m: float = 10.0

    @property
    def right(self) -> float:
        return self.left + self.width * self.res_m

    @property
    def bottom(self) -> float:
        return self.top - self.height * self.res_m

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in metres."""
        return (self.left, self.bottom, self.right, self.top)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return (self.height, self.width)

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """GDAL-order affine coefficients (a, b, c, d, e, f) as ``affine.Affine`` takes them."""
        return (self.res_m, 0.0, self.left, 0.0, -self.res_m, self.top)

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"


@dataclass(frozen=True)
class Aoi:
    """An area of interest as validated from its GeoJSON file.

    ``geometry`` is a shapely Polygon or MultiPolygon in EPSG:4326 (lon, lat);
    ``geometry_hash`` is the sha256 of its normalised WKB: an edited outline is a new grid.
    """

    id: str
    name: str
    geometry: Any
    geometry_hash: str
    grid: Grid
    kind: str | None = None
    description: str | None = None
    sources: tuple[Mapping[str, Any], ...] = ()
    path: str | None = None


@dataclass(frozen=True)
class AssetRef:
    """One band's file as the item declares it."""

    band: str
    href: str
    res_m: float | None = None
    nodata: float | None = None
    data_type: str | None = None
    #: ``raster:bands`` scale and offset as declared (which may be wrong, see ReflectanceRule).
    declared_scale: float | None = None
    declared_offset: float | None = None


@dataclass(frozen=True)
class ReflectanceRule:
    """How digital numbers become surface reflectance: ``DN * scale + offset``.

    ``offset`` is -0.1 when the pixels still carry baseline 04.00's +1000, else 0.
    ``decided_by`` says whether item metadata or the pixels themselves set it.
    """

    scale: float = 0.0001
    offset: float = 0.0
    decided_by: Literal["metadata", "pixels"] = "metadata"
    reason: str = ""

    @property
    def offset_in_pixels(self) -> bool:
        return self.offset != 0.0

    @property
    def label(self) -> str:
        """Short form for tables: ``DN*0.0001`` or ``DN*0.0001-0.1``."""
        text = f"DN*{self.scale:g}"
        if self.offset:
            text += f"{self.offset:+g}"
        return text


@dataclass(frozen=True)
class Scene:
    """One STAC item as the monitor uses it.

    ``acquisition`` identifies the acquisition (platform and sensing start, or the
    datatake): items sharing it are the same pixels (tile overlap, reprocessing), and
    each AOI takes one observation per acquisition. ``footprint`` is a shapely geometry
    in EPSG:4326 or None. ``assets`` maps common band names to their files.
    """

    id: str
    collection: str
    datetime: dt.datetime
    platform: str
    acquisition: str
    assets: Mapping[str, AssetRef]
    rule: ReflectanceRule
    mgrs_tile: str | None = None
    epsg: int | None = None
    processing_baseline: str | None = None
    cloud_cover: float | None = None
    simulated: bool = False
    item_href: str | None = None
    source: str = ""
    footprint: Any = None
    updated: dt.datetime | None = None

    @property
    def date(self) -> dt.date:
        return self.datetime.astimezone(dt.UTC).date()

    @property
    def has_scl(self) -> bool:
        return "scl" in self.assets


ObservationStatus = Literal["pending", "used", "skipped", "failed"]


@dataclass(frozen=True)
class Observation:
    """What became of one scene for one AOI: the scene serving an acquisition, or why not."""

    aoi_id: str
    scene_id: str
    acquisition: str
    datetime: dt.datetime
    collection: str
    status: ObservationStatus
    reason: str = ""
    clear_fraction: float | None = None
    rule: ReflectanceRule | None = None
    simulated: bool = False
    attempts: int = 0


@dataclass(frozen=True, eq=False)
class Chip:
    """Cloud-masked surface reflectance of one AOI from one scene, on the AOI's grid.

    Arrays
    ------
    reflectance : uint16 (len(bands), rows, cols); reflectance = v * CHIP_SCALE + CHIP_OFFSET,
        0 = no data.
    valid : bool (rows, cols); has data in every band and is clear by SCL (or by nodata
        alone when the scene has no SCL).
    scl : uint8 (rows, cols) on the 10 m grid (nearest), or None without SCL. Kept raw so the
        detector can tell bright roofs called cloud from cloud.

    ``bands`` names the rows of ``reflectance``: CHIP_BANDS, then the RED_EDGE_BANDS that
    were asked for and the scene has (in that order). ``valid`` is decided by the six
    CHIP_BANDS and SCL alone, so a chip's core is the same with or without red-edge bands.
    """

    aoi_id: str
    scene_id: str
    datetime: dt.datetime
    grid: Grid
    reflectance: npt.NDArray[np.uint16]
    valid: npt.NDArray[np.bool_]
    scl: npt.NDArray[np.uint8] | None
    rule: ReflectanceRule
    bands: tuple[str, ...] = CHIP_BANDS
    simulated: bool = False
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def clear_fraction(self) -> float:
        return float(self.valid.mean()) if self.valid.size else 0.0

    @property
    def core_bands(self) -> tuple[str, ...]:
        """The chip's bands other than the red-edge ones: CHIP_BANDS for every chip read
        from a scene, what ``to_float()`` returns."""
        return tuple(b for b in self.bands if b not in RED_EDGE_BANDS)

    def has_bands(self, names: Sequence[str]) -> bool:
        """Whether the chip carries every band of ``names``."""
        return all(name in self.bands for name in names)

    def band_stack(self, names: Sequence[str]) -> npt.NDArray[np.float32]:
        """Reflectance of the bands ``names``, in that order, as float32 (len(names), rows,
        cols), NaN where not valid or where the band has no data.

        Raises ValueError naming the first band the chip lacks.
        """
        for name in names:
            if name not in self.bands:
                raise ValueError(
                    f"chip {self.scene_id} of AOI {self.aoi_id} has no {name} band "
                    f"(it has {', '.join(self.bands)})"
                )
        index = [self.bands.index(name) for name in names]
        if index == list(range(len(self.bands))):
            selected = self.reflectance  # every band in order: no copy before decoding
        else:
            selected = self.reflectance[index]
        out = decode_chip(selected, missing_as_nan=True)
        out[:, ~self.valid] = np.nan
        return out

    def to_float(self, bands: Sequence[str] | None = None) -> npt.NDArray[np.float32]:
        """Reflectance as float32 (bands, rows, cols), NaN where not valid.

        Without ``bands``: the core bands (``core_bands``, the six CHIP_BANDS), whatever
        red-edge bands the chip also carries, so the detector sees the same arrays either
        way. With ``bands``: those, as ``band_stack`` gives them.
        """
        return self.band_stack(self.core_bands if bands is None else bands)


ChangeType = Literal["new_construction", "demolition", "rebuilding", "roof_change", "land_clearing"]


class ChangeCode(IntEnum):
    """The contract's change types as raster codes: detection rasters, the detector's state
    arrays and the simulator's ``truth.tif`` (0 is no change, 6 an unknown type, 255 no
    data). Arrays hold the plain integers."""

    NEW_CONSTRUCTION = 1
    DEMOLITION = 2
    REBUILDING = 3
    ROOF_CHANGE = 4
    LAND_CLEARING = 5

    @property
    def change_type(self) -> str:
        """The contract's word for the code (``"new_construction"``, ...)."""
        return self.name.lower()


#: The contract's change types and their raster codes, in code order.
CHANGE_CODES: dict[str, int] = {code.change_type: int(code) for code in ChangeCode}
DetectionStatus = Literal["probable", "confirmed", "rejected"]
ReviewVerdict = Literal["verified", "false_alarm", "unsure"]

#: An analyst's verdicts, in the order the CLI and reports list them.
REVIEW_VERDICTS: tuple[ReviewVerdict, ...] = ("verified", "false_alarm", "unsure")


@dataclass(frozen=True)
class Review:
    """An analyst's latest verdict on a detection (``monitor review``), kept by detection id
    so that it survives re-runs and rebuilds."""

    detection_id: str
    verdict: ReviewVerdict
    reviewer: str
    reviewed_at: dt.datetime
    note: str = ""
    source: str = ""


@dataclass(frozen=True)
class ClaimRecord:
    """A claim check as stored (``monitor claim``): the claim as given and what the evidence
    supported, both plain JSON data, so that the AOI's report can show it later."""

    id: int
    aoi_id: str
    checked_at: dt.datetime
    claim: Mapping[str, Any]
    result: Mapping[str, Any]


@dataclass(frozen=True)
class Detection:
    """A flagged change, as the contract names its fields. ``geometry`` is EPSG:4326."""

    id: str
    aoi: str
    change_type: ChangeType
    status: DetectionStatus
    first_seen: dt.date
    window_start: dt.date
    window_end: dt.date
    area_m2: float
    n_pixels: int
    confidence: float
    n_obs: int
    geometry: Any
    confirmed_on: dt.date | None = None
    evidence_before: tuple[str, ...] = ()
    evidence_after: tuple[str, ...] = ()
    simulated: bool = False
    #: The analyst's latest review, when there is one (filled in by the store on reading).
    review: Review | None = None


AlertKind = Literal["confirmed", "type_changed", "rejected", "unconfirmed", "withdrawn"]

#: Every kind of alert, in the order a message lists them (see ``monitor.alerts.events``).
ALERT_KINDS: tuple[AlertKind, ...] = (
    "confirmed",
    "type_changed",
    "rejected",
    "unconfirmed",
    "withdrawn",
)


@dataclass(frozen=True)
class AlertEvent:
    """One thing to tell: a detection and what happened to it in the run.

    ``detection`` is the record as stored after the run (for ``withdrawn``: the last record
    stored before it). ``previous_status`` and ``previous_change_type`` are what the analyst
    was told before (None for a detection new this run).
    """

    kind: AlertKind
    detection: Detection
    previous_status: str | None = None
    previous_change_type: str | None = None

    @property
    def simulated(self) -> bool:
        return bool(self.detection.simulated)


@dataclass(frozen=True)
class RunSummary:
    """What one run did, as stored in the state and printed by ``monitor status --json``."""

    run_id: int
    command: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    exit_code: int | None
    counts: Mapping[str, int] = field(default_factory=dict)
    per_aoi: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class DetectorSnapshot:
    """An AOI's detector state as stored: the per-pixel arrays after ``n_scenes`` scenes.

    ``arrays`` maps names to numpy arrays (whatever ``DetectorState.to_arrays`` gives);
    ``geometry_hash`` ties the state to the AOI outline (an edited AOI is a new grid) and
    ``detector_version`` to the code that made it (a new detector rebuilds).
    """

    aoi_id: str
    geometry_hash: str
    detector_version: str
    params: Mapping[str, Any]
    last_datetime: dt.datetime | None
    n_scenes: int
    arrays: Mapping[str, npt.NDArray[Any]]
    #: What the state can speak for (modelled share, data gaps), as plain JSON data.
    coverage: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DetectionChanges:
    """What one ``put_detections`` changed, by detection id."""

    new: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    withdrawn: tuple[str, ...] = ()
