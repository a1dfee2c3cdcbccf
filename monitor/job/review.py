"""``monitor review``: an analyst's verdict on a detection."""

from __future__ import annotations

import datetime as dt
import getpass
from urllib.parse import urlsplit

from monitor.config import Settings
from monitor.errors import (
    InputError,
    MissingState,
)
from monitor.job.common import EXPORTS_STEP, reports_step, require_state, store_of
from monitor.models import REVIEW_VERDICTS, Detection, Review


def review_detection(
    settings: Settings,
    detection_id: str,
    verdict: str,
    *,
    note: str = "",
    source: str = "",
    now: dt.datetime | None = None,
) -> Detection:
    """``monitor review``: record an analyst's verdict on a stored detection.

    Kept by the detection's stable id, so it survives re-runs and rebuilds; every verdict is
    kept, the latest counts. ``source`` must be an http(s) URL (reports link to it). Returns
    the detection with its new review.
    """
    if verdict not in REVIEW_VERDICTS:
        raise InputError(f"--verdict {verdict}: expected one of {', '.join(REVIEW_VERDICTS)}")
    if source:
        parts = urlsplit(source)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"--source {source!r}: expected an http(s) URL")
    if any(ord(c) < 32 and c not in "\n\t" for c in note):
        raise MissingState("--note: control characters are not allowed")
    require_state(settings)
    reviewer = settings.reviewer
    if not reviewer:
        try:
            reviewer = getpass.getuser()
        except (KeyError, OSError):
            reviewer = "unknown"
    with store_of(settings, create=False) as store:
        detection = store.detection(detection_id)
        if detection is None:
            raise MissingState(
                f"--id {detection_id}: no such detection in "
                f"{settings.state_dir} (see `monitor export --status all`)"
            )
        review = Review(
            detection_id=detection_id,
            verdict=verdict,
            reviewer=reviewer,
            reviewed_at=now or dt.datetime.now(dt.UTC),
            note=note,
            source=source,
        )
        store.put_review(review, detection.aoi)
        # The reports and exports show reviews: owed from now on.
        store.mark_pending(EXPORTS_STEP, None)
        store.mark_pending(reports_step(detection.aoi), None)
        return store.detection(detection_id) or detection
