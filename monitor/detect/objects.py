"""Changed pixels into objects: connected groups, split by date, minimum mapping unit, polygons.

Objects are :class:`ChangeObject` records with a shapely polygon in the AOI grid's UTM metres
(``geometry_utm``); :meth:`ChangeObject.to_detection` makes the contract's
:class:`~monitor.models.Detection` once the caller has projected the polygon to EPSG:4326
(the detector knows no projections). Numpy, scipy, scikit-image and shapely only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import shapely
from scipy import ndimage

from monitor.detect.classify import CODE_NAMES
from monitor.detect.codes import Status
from monitor.detect.ids import detection_id
from monitor.detect.params import date_of
from monitor.models import ChangeType, Detection, DetectionStatus, Grid

__all__ = [
    "ChangeObject",
    "ObjectInputs",
    "PixelLayers",
    "label_objects",
    "pixels_polygon",
    "build_objects",
]


@dataclass(frozen=True)
class ChangeObject:
    """A detection before projection: the contract's fields plus a UTM polygon.

    ``geometry_utm`` is a shapely Polygon/MultiPolygon in metres of ``epsg`` (the AOI grid's
    UTM zone), the union of the object's pixel squares. ``pixels`` holds the flat pixel
    indices (row * cols + col) on the AOI grid, for rasters and tests.
    """

    id: str
    aoi: str
    change_type: ChangeType
    status: DetectionStatus
    first_seen: dt.date
    window_start: dt.date
    window_end: dt.date
    confirmed_on: dt.date | None
    area_m2: float
    n_pixels: int
    confidence: float
    n_obs: int
    evidence_before: tuple[str, ...]
    evidence_after: tuple[str, ...]
    simulated: bool
    geometry_utm: Any
    epsg: int
    mean_score: float
    pixels: npt.NDArray[np.intp]
    #: The verification stage's evidence (time-series mode; ``verify.FEATURES``).
    evidence: tuple[float, ...] = ()

    def to_detection(self, geometry_wgs84: Any) -> Detection:
        """The contract's record, given this object's polygon projected to EPSG:4326."""
        return Detection(
            id=self.id,
            aoi=self.aoi,
            change_type=self.change_type,
            status=self.status,
            first_seen=self.first_seen,
            window_start=self.window_start,
            window_end=self.window_end,
            area_m2=self.area_m2,
            n_pixels=self.n_pixels,
            confidence=self.confidence,
            n_obs=self.n_obs,
            geometry=geometry_wgs84,
            confirmed_on=self.confirmed_on,
            evidence_before=self.evidence_before,
            evidence_after=self.evidence_after,
            simulated=self.simulated,
        )


def label_objects(
    mask: npt.NDArray[np.bool_], first_day: npt.NDArray[np.integer], merge_days: int
) -> tuple[npt.NDArray[np.int32], int]:
    """Label touching changed pixels whose first-seen days lie within ``merge_days``.

    Parameters
    ----------
    mask : bool (rows, cols) changed pixels.
    first_day : int (rows, cols) day number each pixel was first seen changed.
    merge_days : touching pixels seen more than this far apart (after sorting the
        component's days, a gap larger than this) are separate objects.

    Returns
    -------
    labels : int32 (rows, cols), 0 outside objects; ``count``.
    """
    structure = np.ones((3, 3), dtype=bool)
    coarse, n_coarse = ndimage.label(mask, structure=structure)
    if n_coarse == 0:
        return np.zeros(mask.shape, dtype=np.int32), 0
    index = np.arange(1, n_coarse + 1)
    days_all = np.asarray(first_day)
    span = np.asarray(ndimage.maximum(days_all, coarse, index)) - np.asarray(
        ndimage.minimum(days_all, coarse, index)
    )
    # Most components were seen within merge_days (or are one pixel): they are one object
    # each and are labelled all at once; only the others are split by day, one by one.
    # (Looping over every component made this grow with the history of changes.)
    n_parts = np.ones(n_coarse, dtype=np.int64)
    split: dict[int, tuple[tuple[slice, ...], npt.NDArray[np.bool_], npt.NDArray[np.int32]]] = {}
    windows = ndimage.find_objects(coarse)
    for i in np.flatnonzero(span > merge_days):
        window = windows[i]
        assert window is not None
        inside = coarse[window] == i + 1
        days = days_all[window]
        unique = np.unique(days[inside])
        # Break the component's sorted days at gaps wider than merge_days.
        breaks = np.flatnonzero(np.diff(unique) > merge_days)
        parts = np.zeros(inside.shape, dtype=np.int32)
        n = 0
        for group in np.split(unique, breaks + 1):
            sub, n_sub = ndimage.label(inside & np.isin(days, group), structure=structure)
            parts[sub > 0] = sub[sub > 0] + n
            n += n_sub
        n_parts[i] = n
        split[int(i)] = (window, inside, parts)
    first_label = np.concatenate([[0], np.cumsum(n_parts)[:-1]]) + 1
    lookup = np.zeros(n_coarse + 1, dtype=np.int32)
    lookup[1:] = first_label
    labels = lookup[coarse]
    for component, (window, inside, parts) in split.items():
        view = labels[window]
        view[inside] = parts[inside] + first_label[component] - 1
    return labels, int(n_parts.sum())


def pixels_polygon(rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp], grid: Grid) -> Any:
    """Union of the pixel squares (rows, cols) of ``grid``, in the grid's metres."""
    left = grid.left + cols * grid.res_m
    top = grid.top - rows * grid.res_m
    boxes = shapely.box(left, top - grid.res_m, left + grid.res_m, top)
    # Pixel squares share edges exactly: a coverage union is fast and leaves no slivers.
    return shapely.coverage_union_all(boxes)


def _object_type(codes: npt.NDArray[np.uint8]) -> int:
    """Type of an object from its pixels' types: the majority, with chains favoured.

    A rebuilt block's edge pixels (half roof, half garden) often show only the demolition,
    and a site's edges only the clearing: where part of an object completed the chain
    (rebuilding, or clearing that became construction) the whole object did.
    """
    if codes.size == 0:
        return 1
    counts = np.bincount(codes, minlength=7).astype(np.float64)
    counts[3] *= 3.0  # rebuilding: demolition pixels are its first half
    if counts[5] > 0:
        counts[1] *= 2.0  # construction: clearing pixels are its first half
    return int(counts.argmax())


def _dates(days: npt.NDArray[np.integer]) -> list[dt.date]:
    return [date_of(int(d)) for d in days]


@dataclass(frozen=True)
class PixelLayers:
    """The per-pixel attribute arrays an object is read from, each (rows, cols).

    ``status_of`` per pixel: 1 probable, 2 confirmed, 3 rejected. ``scene_before`` and
    ``scene_first`` index ``ObjectInputs.scene_ids`` (the last clear scene before the
    change, the first scene that saw it); other values mean none.
    """

    status_of: npt.NDArray[np.uint8]
    code: npt.NDArray[np.uint8]
    first_day: npt.NDArray[np.integer]
    window_start: npt.NDArray[np.integer]
    confirm_day: npt.NDArray[np.integer]
    n_obs: npt.NDArray[np.integer]
    score: npt.NDArray[np.floating]
    scene_before: npt.NDArray[np.integer]
    scene_first: npt.NDArray[np.integer]


@dataclass(frozen=True)
class ObjectInputs:
    """What one call of :func:`build_objects` reads besides the labels.

    ``min_pixels`` is the minimum mapping unit (and the confirmed pixels an object needs to
    be confirmed); ``kind`` is the detector's tag in the ids (``"ts"``, ``"cmp"``);
    ``confidence_of`` scores an object from its mean score, pixels, observations and
    whether it is confirmed (and, for ``"ts"``, its ``first_seen``).
    """

    grid: Grid
    aoi_id: str
    layers: PixelLayers
    scene_ids: Sequence[str]
    min_pixels: int
    simulated: bool
    kind: str
    confidence_of: Any


def _label_ranges(labels: npt.NDArray[np.int32], count: int) -> list[npt.NDArray[np.intp]]:
    """The flat pixel indices of each label 1..``count``, each sorted."""
    flat_labels = labels.ravel()
    order = np.argsort(flat_labels, kind="stable")
    sorted_labels = flat_labels[order]
    starts = np.searchsorted(sorted_labels, np.arange(1, count + 1), side="left")
    ends = np.searchsorted(sorted_labels, np.arange(1, count + 1), side="right")
    return [np.sort(order[start:end]) for start, end in zip(starts, ends, strict=True)]


def _object_status(status_px: npt.NDArray[np.uint8], min_pixels: int) -> DetectionStatus:
    """Confirmed when at least ``min_pixels`` pixels are; otherwise the most common status
    (probable in place of a confirmed minority too small to stand alone)."""
    n_confirmed = int((status_px == Status.CONFIRMED).sum())
    if n_confirmed >= min_pixels:
        return "confirmed"
    counts = np.bincount(status_px, minlength=4)
    status = cast(DetectionStatus, Status(int(np.argmax(counts[1:]) + 1)).word)
    if status == "confirmed":
        status = "probable"  # too few confirmed pixels to stand alone
    return status


def _anchor_xy(
    pix: npt.NDArray[np.intp], days: npt.NDArray[np.integer], grid: Grid
) -> tuple[float, float]:
    """The UTM centre of the north-westernmost pixel among those seen first (row-major)."""
    first = int(days.min())
    anchor = int(pix[days == first][0])
    row, col = divmod(anchor, grid.width)
    return grid.left + (col + 0.5) * grid.res_m, grid.top - (row + 0.5) * grid.res_m


def _window_start(
    pix: npt.NDArray[np.intp], days: npt.NDArray[np.integer], layers: PixelLayers
) -> int:
    """The window of the pixels seen first: the last clear view before them (their first
    day when none is known)."""
    first = int(days.min())
    starts_px = layers.window_start.ravel()[pix][days == first]
    known_start = starts_px[starts_px >= 0]
    return int(known_start.max()) if known_start.size else first


def _confirmed_on(
    pix: npt.NDArray[np.intp],
    status_px: npt.NDArray[np.uint8],
    status: DetectionStatus,
    layers: PixelLayers,
) -> dt.date | None:
    """The earliest day a confirmed pixel was confirmed, for a confirmed object."""
    conf_px = layers.confirm_day.ravel()[pix]
    conf_px = conf_px[(conf_px >= 0) & (status_px == Status.CONFIRMED)]
    if status == "confirmed" and conf_px.size:
        return _dates(np.array([conf_px.min()]))[0]
    return None


def _evidence_scenes(
    pix: npt.NDArray[np.intp], inputs: ObjectInputs
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The last three scenes before the change and the first three that saw it."""
    ids = inputs.scene_ids
    layers = inputs.layers
    before = sorted({ids[i] for i in layers.scene_before.ravel()[pix] if 0 <= i < len(ids)})
    after = sorted({ids[i] for i in layers.scene_first.ravel()[pix] if 0 <= i < len(ids)})
    return tuple(before[-3:]), tuple(after[:3])


def _change_object(pix: npt.NDArray[np.intp], inputs: ObjectInputs) -> ChangeObject:
    """The object of the pixels ``pix`` (flat indices, sorted)."""
    grid, layers = inputs.grid, inputs.layers
    status_px = layers.status_of.ravel()[pix]
    status = _object_status(status_px, inputs.min_pixels)
    days = layers.first_day.ravel()[pix]
    first = int(days.min())
    x, y = _anchor_xy(pix, days, grid)
    codes = layers.code.ravel()[pix]
    codes = codes[codes > 0]
    change_type = cast(ChangeType, CODE_NAMES.get(_object_type(codes), "new_construction"))
    win_start = _window_start(pix, days, layers)
    confirmed_on = _confirmed_on(pix, status_px, status, layers)
    nobs = int(np.median(layers.n_obs.ravel()[pix]))
    mean_score = float(np.mean(layers.score.ravel()[pix]))
    before, after = _evidence_scenes(pix, inputs)
    rows_px, cols_px = np.divmod(pix, grid.width)
    geometry = pixels_polygon(rows_px, cols_px, grid)
    first_date = _dates(np.array([first]))[0]
    kind = inputs.kind
    confidence = inputs.confidence_of(
        mean_score,
        int(pix.size),
        nobs,
        status == "confirmed",
        **({"first_seen": first_date} if kind == "ts" else {}),
    )
    return ChangeObject(
        id=detection_id(inputs.aoi_id, first_date, x, y, kind=kind),
        aoi=inputs.aoi_id,
        change_type=change_type,
        status=status,
        first_seen=first_date,
        window_start=_dates(np.array([win_start]))[0],
        window_end=first_date,
        confirmed_on=confirmed_on,
        area_m2=float(pix.size * grid.res_m**2),
        n_pixels=int(pix.size),
        confidence=float(confidence),
        n_obs=nobs,
        evidence_before=before,
        evidence_after=after,
        simulated=inputs.simulated,
        geometry_utm=geometry,
        epsg=grid.epsg,
        mean_score=mean_score,
        pixels=pix,
    )


def build_objects(
    labels: npt.NDArray[np.int32], count: int, inputs: ObjectInputs
) -> list[ChangeObject]:
    """Objects from labelled pixels, those of at least ``inputs.min_pixels`` pixels.

    An object is confirmed when at least ``min_pixels`` of its pixels are; otherwise the
    most common status wins.
    """
    if count == 0:
        return []
    return [
        _change_object(pix, inputs)
        for pix in _label_ranges(labels, count)
        if pix.size >= inputs.min_pixels
    ]
