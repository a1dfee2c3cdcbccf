"""The scene classification's word on a scene as a whole, with when not to take it.

Sen2Cor's scene classification (SCL) masks cloud, shadow and snow pixel by pixel, and the
monitor takes every other pixel as a clear view. Under a low winter sun, hill shade, smoke
haze or thin cloud, SCL can call most of a scene *dark area* (2), *water* (6) or
*unclassified* (7) instead: the pixels are darkened, hazy or veiled, not clear views of the
ground, and a detector fed them sees change everywhere (on a real mountain-forest series,
every false change the detector confirmed was first seen in such a scene). Such classes are
normal on a few pixels (the river, ponds, deep shade, a dark roof), so the rule is about the
scene as a whole, against the AOI's own usual share of them: a scene whose share of clear
pixels in those classes is both large and far above what the AOI's earlier scenes showed is
no clear view of change.

Numpy only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from monitor.models import SCL_DOUBTFUL, scl_doubtful_share

__all__ = ["DOUBTFUL_CLASSES", "doubtful_share", "usual_share", "is_misclassified"]

#: SCL classes that, over most of a scene, mean the scene was not seen clearly.
DOUBTFUL_CLASSES: tuple[int, ...] = SCL_DOUBTFUL
#: Earlier scenes needed before the AOI's own usual share is trusted over 0.
_MIN_HISTORY = 5


def doubtful_share(scl: npt.NDArray[np.uint8] | None, clear: npt.NDArray[np.bool_]) -> float:
    """Share of the clear pixels that SCL calls dark, water or unclassified (0 without SCL)."""
    return scl_doubtful_share(scl, clear)


def usual_share(past: list[float]) -> float:
    """The AOI's usual share: the median of its earlier scenes' (0 until there are enough)."""
    known = [s for s in past if s == s]  # NaN: a scene recorded before shares were kept
    if len(known) < _MIN_HISTORY:
        return 0.0
    return float(np.median(known))


def is_misclassified(share: float, usual: float, *, limit: float, excess: float) -> bool:
    """Whether a scene's share is past ``limit`` and at least ``excess`` above the usual."""
    return share >= limit and share - usual >= excess
