"""Content-derived detection ids: the same change gets the same id however scenes were batched."""

from __future__ import annotations

import datetime as dt
import hashlib

__all__ = ["detection_id"]


def detection_id(
    aoi_id: str, first_seen: dt.date, x_m: float, y_m: float, *, kind: str = "ts"
) -> str:
    """A 16-hex-digit id from the AOI, first-seen day and anchor location.

    Parameters
    ----------
    aoi_id : the AOI's id.
    first_seen : the first clear day showing the change.
    x_m, y_m : centre of the anchor pixel in the AOI grid's UTM metres (whole metres are
        enough: pixel centres sit on 5 m multiples).
    kind : ``"ts"`` for time-series detections, ``"cmp"`` for before/after comparisons, so
        the two modes never share ids.

    Examples
    --------
    >>> detection_id("kk-park", dt.date(2025, 3, 4), 412345.0, 1855675.0)
    'f9ff15b403fe1ff0'
    """
    text = f"{kind}|{aoi_id}|{first_seen.isoformat()}|{round(x_m)}|{round(y_m)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
