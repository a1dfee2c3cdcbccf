"""The evidence of a before/after comparison: each window's clear views, each object's measures.

Per window (:class:`WindowViews`): how many scenes went into its composite and how many
clear views each AOI pixel had (a pixel's composite is the median of its clear views; with
one scene it is that scene). Per object (:class:`ObjectEvidence`): the mean change of each
spectral index the bands allow (after minus before, on the co-registered and normalised
composites), the clear views per window over its pixels, the built-change model's mean
probability and the shift applied to *after*. Numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.detect.compare import CompareResult
from monitor.detect.indices import INDEX_NAMES, RED_EDGE_INDEX_NAMES, indices
from monitor.detect.objects import ChangeObject

__all__ = [
    "EVIDENCE_FIELDS",
    "WindowViews",
    "ObjectEvidence",
    "window_views",
    "views_layers",
    "pair_evidence",
]

#: Index changes every object carries (null where the bands do not allow the index).
_INDEX_FIELDS: tuple[str, ...] = tuple(
    f"{name}_change" for name in INDEX_NAMES + RED_EDGE_INDEX_NAMES
)
#: The properties :meth:`ObjectEvidence.properties` gives, in order.
EVIDENCE_FIELDS: tuple[str, ...] = _INDEX_FIELDS + (
    "views_before_min",
    "views_before_median",
    "views_after_min",
    "views_after_median",
    "built_probability",
    "shift_px",
)
#: Decimals of the index changes and the probability (index units of 1e-4 are noise).
_DECIMALS = 4


@dataclass(frozen=True)
class WindowViews:
    """How many clear views one window's composite had over the AOI's pixels.

    n_scenes : scenes of the window that went into the composite.
    min_views, median_views, max_views : clear views per AOI pixel (0 where none was
        clear: the pixel has no data).
    """

    n_scenes: int
    min_views: int
    median_views: float
    max_views: int

    @property
    def single_scene(self) -> bool:
        """Whether the composite is one scene as it is (no median taken)."""
        return self.n_scenes == 1

    def to_metadata(self) -> dict[str, Any]:
        """The window's summary as ``changes.geojson`` carries it."""
        return {
            "scenes": self.n_scenes,
            "composite": "single scene" if self.single_scene else "median",
            "min": self.min_views,
            "median": self.median_views,
            "max": self.max_views,
        }


@dataclass(frozen=True)
class ObjectEvidence:
    """What a changed object's pixels show, beside the contract's fields.

    index_change : (index name, mean of after minus before over the pixels) for each of
        :data:`~monitor.detect.indices.INDEX_NAMES` then ``ndre``; None where the bands
        do not allow the index.
    views_before_min, views_before_median, views_after_min, views_after_median : clear
        views per pixel in each window's composite, over the object's pixels.
    built_probability : mean of the built-change model's probability over the pixels, None
        when the model was off.
    shift_px : (rows, cols) pixels by which *after* was moved back onto *before*.
    """

    index_change: tuple[tuple[str, float | None], ...]
    views_before_min: int
    views_before_median: float
    views_after_min: int
    views_after_median: float
    built_probability: float | None
    shift_px: tuple[float, float]

    def properties(self) -> dict[str, Any]:
        """The evidence as feature properties, named as :data:`EVIDENCE_FIELDS`."""
        out: dict[str, Any] = {f"{name}_change": value for name, value in self.index_change}
        out.update(
            views_before_min=self.views_before_min,
            views_before_median=self.views_before_median,
            views_after_min=self.views_after_min,
            views_after_median=self.views_after_median,
            built_probability=self.built_probability,
            shift_px=[self.shift_px[0], self.shift_px[1]],
        )
        return out


def window_views(
    views: npt.NDArray[np.integer], inside: npt.NDArray[np.bool_], n_scenes: int
) -> WindowViews:
    """The summary of one window's clear views (int (rows, cols)) over ``inside`` (bool
    (rows, cols), the AOI's pixels); all 0 when no pixel is inside."""
    if views.shape != inside.shape:
        raise ValueError(f"views {views.shape} and the AOI mask {inside.shape} differ in shape")
    values = views[inside]
    if values.size == 0:
        return WindowViews(n_scenes, 0, 0.0, 0)
    return WindowViews(
        n_scenes=n_scenes,
        min_views=int(values.min()),
        median_views=float(np.median(values)),
        max_views=int(values.max()),
    )


def views_layers(
    result: CompareResult, outside: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray[np.uint16]:
    """uint16 (2, rows, cols): clear views before, after; 0 outside the AOI (``outside``,
    bool (rows, cols)) and where no view was clear."""
    before, after = _views_of(result)
    layers = np.stack([before, after]).clip(0, np.iinfo(np.uint16).max).astype(np.uint16)
    if outside is not None:
        layers[:, outside] = 0
    return layers


def pair_evidence(result: CompareResult, objects: Sequence[ChangeObject]) -> list[ObjectEvidence]:
    """The evidence of each object of ``result`` (objects from
    :func:`~monitor.detect.compare.compare_objects`), in the order given."""
    before_views, after_views = _views_of(result)
    change = _index_change(result)
    probability = None if result.probability is None else result.probability.ravel()
    shift = (round(float(result.shift[0]), 3), round(float(result.shift[1]), 3))
    out = []
    for obj in objects:
        pixels = np.asarray(obj.pixels, dtype=np.intp)
        if pixels.size == 0:
            raise ValueError(f"object {obj.id} has no pixels")
        seen_before = before_views.ravel()[pixels]
        seen_after = after_views.ravel()[pixels]
        out.append(
            ObjectEvidence(
                index_change=tuple(
                    (name, None if grid is None else _mean(grid.ravel()[pixels]))
                    for name, grid in change
                ),
                views_before_min=int(seen_before.min()),
                views_before_median=float(np.median(seen_before)),
                views_after_min=int(seen_after.min()),
                views_after_median=float(np.median(seen_after)),
                built_probability=None if probability is None else _mean(probability[pixels]),
                shift_px=shift,
            )
        )
    return out


def _views_of(
    result: CompareResult,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    if result.before_views is None or result.after_views is None:
        raise ValueError("the comparison carries no clear-view counts")
    return result.before_views, result.after_views


def _index_change(
    result: CompareResult,
) -> list[tuple[str, npt.NDArray[np.float32] | None]]:
    """Each index's after minus before grid, None where the bands do not allow it."""
    before = indices(result.before, result.bands)
    after = indices(result.after, result.bands)
    names = INDEX_NAMES + RED_EDGE_INDEX_NAMES
    return [(name, (after[name] - before[name]) if name in before else None) for name in names]


def _mean(values: npt.NDArray[np.floating]) -> float | None:
    """Mean of the finite values, rounded; None when there is none (JSON has no NaN)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return round(float(finite.mean()), _DECIMALS)
