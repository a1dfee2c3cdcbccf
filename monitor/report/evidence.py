"""What an AOI page shows of its imagery, collected chip by chip (pure numpy).

``monitor.job`` reads an AOI's used chips in date order and feeds each one's arrays to an
:class:`EvidenceCollector`; it keeps only what the page shows (one rendered frame per month,
two crops and an index series per detection), so memory stays at one chip plus that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.models import Detection, decode_chip
from monitor.report.imaging import FALSE_COLOUR, NIR_FALSE_COLOUR, TRUE_COLOUR, composite
from monitor.report.records import INDEX_NAMES, DetectionEvidence, Frame, IndexSeries, Thumbnail

__all__ = [
    "EvidenceCollector",
    "index_images",
    "CLEAR_AT_DETECTION",
    "THUMB_MIN_PX",
    "THUMB_MARGIN_PX",
]

#: A detection's pixels count as seen on a date when at least this share of them is clear.
CLEAR_AT_DETECTION = 0.5
#: Thumbnails show at least this many pixels across, and this many around the detection.
THUMB_MIN_PX = 28
THUMB_MARGIN_PX = 6


def index_images(
    reflectance: npt.NDArray[np.uint16], bands: Sequence[str]
) -> dict[str, npt.NDArray[np.float32]]:
    """The charted indices of a chip (keys of ``INDEX_NAMES``), float32 (rows, cols);
    NaN where a band has no data or the ratio is undefined."""
    index = {name: i for i, name in enumerate(bands)}

    def band(name: str) -> npt.NDArray[np.float32]:
        return decode_chip(reflectance[index[name]], missing_as_nan=True)

    def ratio(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        total = a + b
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(np.abs(total) > 1e-6, (a - b) / total, np.nan).astype(np.float32)

    red, green, blue, nir = band("red"), band("green"), band("blue"), band("nir")
    swir = band("swir16") if "swir16" in index else np.full_like(red, np.nan)
    return {
        "ndvi": ratio(nir, red),
        "ndbi": ratio(swir, nir),
        "brightness": ((red + green + blue) / np.float32(3)).astype(np.float32),
    }


@dataclass
class _Watch:
    """One detection's crop box and the thumbnails collected of it so far."""

    detection: Detection
    box: tuple[int, int, int, int]  # row0, row1, col0, col1
    crop_mask: npt.NDArray[np.bool_]
    before: Thumbnail | None = None
    after: Thumbnail | None = None


def _crop_box(mask: npt.NDArray[np.bool_]) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    height, width = mask.shape
    boxes = []
    for low, high, size in (
        (int(rows.min()), int(rows.max()) + 1, height),
        (int(cols.min()), int(cols.max()) + 1, width),
    ):
        low, high = low - THUMB_MARGIN_PX, high + THUMB_MARGIN_PX
        grow = max(0, THUMB_MIN_PX - (high - low))
        low, high = low - grow // 2, high + grow - grow // 2
        # Slide back inside the grid rather than cut the crop short.
        if low < 0:
            high, low = min(size, high - low), 0
        if high > size:
            low, high = max(0, low - (high - size)), size
        boxes.append((low, high))
    (r0, r1), (c0, c1) = boxes
    return r0, r1, c0, c1


class EvidenceCollector:
    """Collects an AOI's page imagery from its used chips, fed in date order.

    Parameters
    ----------
    shape : (rows, cols) of the AOI grid.
    detections : the AOI's stored detections.
    masks : detection id -> bool (rows, cols), the detection's pixels on the grid; or a
        function of a detection giving that mask (None: no pixel), asked once per detection,
        so that only one full-grid mask exists at a time (410 of Mae Sot's 500 x 534 grid
        held at once were 110 MB).
    frame_scenes : scene ids to render as frames (the clearest used scene of each month).
    cloudy_dates : acquisitions skipped as too cloudy for the AOI (marked on the charts).
    """

    def __init__(
        self,
        shape: tuple[int, int],
        detections: Sequence[Detection],
        masks: Mapping[str, npt.NDArray[np.bool_]]
        | Callable[[Detection], npt.NDArray[np.bool_] | None],
        frame_scenes: Iterable[str],
        cloudy_dates: Iterable[dt.date] = (),
    ) -> None:
        self.shape = shape
        self.frame_scenes = set(frame_scenes)
        self.cloudy_dates = tuple(sorted(set(cloudy_dates)))
        self.frames: list[Frame] = []
        self._watches: list[_Watch] = []
        pixels, owners = [], []
        for det in detections:
            mask = masks(det) if callable(masks) else masks.get(det.id)
            if mask is None or not mask.any():
                continue
            box = _crop_box(mask)
            r0, r1, c0, c1 = box
            pixels.append(np.flatnonzero(mask.ravel()))
            owners.append(np.full(pixels[-1].size, len(self._watches), dtype=np.intp))
            self._watches.append(_Watch(det, box, mask[r0:r1, c0:c1].copy()))
        # Every detection's pixels in one array, each with its detection's index: one
        # bincount per index and chip averages all detections at once (they may overlap).
        n = len(self._watches)
        self._pixels = np.concatenate(pixels) if pixels else np.zeros(0, np.intp)
        self._owner = np.concatenate(owners) if owners else np.zeros(0, np.intp)
        self._n_pixels = np.bincount(self._owner, minlength=n).astype(np.float64)
        self._window_start = np.array(
            [w.detection.window_start.toordinal() for w in self._watches], dtype=np.int64
        )
        self._window_end = np.array(
            [w.detection.window_end.toordinal() for w in self._watches], dtype=np.int64
        )
        self._dates: list[dt.date] = []
        self._clear: list[npt.NDArray[np.bool_]] = []
        self._values: dict[str, list[npt.NDArray[np.float64]]] = {
            key: [] for key, _, _ in INDEX_NAMES
        }

    def add(
        self,
        date: dt.date,
        scene_id: str,
        reflectance: npt.NDArray[np.uint16],
        valid: npt.NDArray[np.bool_],
        bands: Sequence[str],
        clear_fraction: float | None = None,
    ) -> None:
        """One used chip: ``reflectance`` uint16 (bands, rows, cols) in the chip encoding,
        ``valid`` bool (rows, cols) clear and with data."""
        if reflectance.shape[1:] != tuple(self.shape) or valid.shape != tuple(self.shape):
            raise ValueError(
                f"chip {scene_id}: shape {reflectance.shape[1:]} is not the AOI grid's {self.shape}"
            )
        true_colour: npt.NDArray[np.uint8] | None = None
        if scene_id in self.frame_scenes:
            true_colour = composite(reflectance, bands, TRUE_COLOUR)
            recipe = FALSE_COLOUR if "swir16" in bands or "swir22" in bands else NIR_FALSE_COLOUR
            self.frames.append(
                Frame(
                    date,
                    scene_id,
                    clear_fraction,
                    true_colour,
                    composite(reflectance, bands, recipe),
                )
            )
        n = len(self._watches)
        if not n:
            return
        owner = self._owner
        seen = valid.ravel()[self._pixels]
        clear = np.bincount(owner, weights=seen, minlength=n) / self._n_pixels >= CLEAR_AT_DETECTION
        for key, image in index_images(reflectance, bands).items():
            values = image.ravel()[self._pixels]
            usable = seen & np.isfinite(values)
            sums = np.bincount(owner, weights=np.where(usable, values, 0.0), minlength=n)
            counts = np.bincount(owner, weights=usable, minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                self._values[key].append(np.where(clear & (counts > 0), sums / counts, np.nan))
        self._dates.append(date)
        self._clear.append(clear)
        # Thumbnails: the last clear view up to the window's start, the first from its end.
        day = date.toordinal()
        wanted = clear & ((day <= self._window_start) | (day >= self._window_end))
        for i in np.flatnonzero(wanted):
            watch = self._watches[i]
            if day > self._window_start[i] and watch.after is not None:
                continue
            if true_colour is None:
                true_colour = composite(reflectance, bands, TRUE_COLOUR)
            r0, r1, c0, c1 = watch.box
            thumb = Thumbnail(date, scene_id, true_colour[r0:r1, c0:c1, :3].copy(), watch.crop_mask)
            if day <= self._window_start[i]:
                watch.before = thumb
            else:
                watch.after = thumb

    def evidence(self) -> dict[str, DetectionEvidence]:
        """Per detection id: its thumbnails and index series so far."""
        out = {}
        shape = (len(self._dates), len(self._watches))
        clear = np.array(self._clear, dtype=bool).reshape(shape)
        values = {
            key: np.array(rows, dtype=np.float64).reshape(shape)
            for key, rows in self._values.items()
        }
        for i, watch in enumerate(self._watches):
            series = IndexSeries(
                dates=tuple(self._dates),
                values={
                    key: tuple(
                        None if not np.isfinite(v) else round(float(v), 4) for v in table[:, i]
                    )
                    for key, table in values.items()
                },
                clear=tuple(bool(c) for c in clear[:, i]),
                cloudy_dates=self.cloudy_dates,
            )
            out[watch.detection.id] = DetectionEvidence(
                watch.detection.id, watch.before, watch.after, series
            )
        return out
