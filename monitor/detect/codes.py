"""Codes the detector's arrays hold: change types (``ChangeCode``), change statuses (``Status``).

Enums in the manner of rasterio's ``enums.py``; arrays still hold the plain integers, so a
comparison reads ``state["c_status"] == Status.CONFIRMED``. ``ChangeCode`` is the contract's
raster code, declared in :mod:`monitor.models` because the simulator and the exports use it
too (neither may import the detector).
"""

from __future__ import annotations

from enum import IntEnum

from monitor.models import ChangeCode

__all__ = ["ChangeCode", "Status"]


class Status(IntEnum):
    """A change's status in the state's slots and in the layers that become objects."""

    NONE = 0
    PROBABLE = 1
    CONFIRMED = 2
    REJECTED = 3

    @property
    def word(self) -> str:
        """The contract's word for the status (``"confirmed"``, ...)."""
        return self.name.lower()
