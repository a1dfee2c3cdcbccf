"""Smooth random fields: the texture, relief, raggedness of the simulated ground."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

__all__ = ["smooth_noise"]


def smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sigma_px: float
) -> npt.NDArray[np.float32]:
    """Gaussian-filtered white noise rescaled to zero mean and unit deviation.

    Large scales are drawn on a coarser lattice and zoomed up (same statistics, a fraction
    of the filtering cost).
    """
    step = max(1, int(sigma_px // 4))
    small = (shape[0] // step + 3, shape[1] // step + 3)
    field_ = ndimage.gaussian_filter(
        rng.standard_normal(small).astype(np.float32), sigma_px / step, mode="wrap"
    )
    if step > 1:
        field_ = ndimage.zoom(field_, step, order=1)
    field_ = field_[: shape[0], : shape[1]]
    field_ = field_ - field_.mean()
    std = float(field_.std())
    return (field_ / std if std > 0 else field_).astype(np.float32)
