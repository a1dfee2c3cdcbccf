"""The outcome of one scene read over one AOI: used, skipped or failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from monitor.models import Chip, ReflectanceRule

__all__ = ["ReadOutcome"]


@dataclass(frozen=True)
class ReadOutcome:
    """What became of one scene for one AOI.

    ``status`` is "used" (``chip`` set), "skipped" (too few clear pixels; only SCL read) or
    "failed" (transient errors outlived the retries; nothing cached, retry next run).
    ``clear_fraction`` is the clear share of the AOI's pixels (inside the polygon).
    ``bytes_read`` estimates the bytes fetched (header plus compressed tiles touched);
    0 for a cache hit.
    """

    status: Literal["used", "skipped", "failed"]
    reason: str
    chip: Chip | None
    clear_fraction: float | None
    rule: ReflectanceRule | None
    bytes_read: int | None = None
    scene_id: str = ""
    aoi_id: str = ""
    attempts: int = 1
    from_cache: bool = False
