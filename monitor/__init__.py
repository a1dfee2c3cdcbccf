"""Sentinel-2 change monitor for the scam compounds on the Myanmar-Thailand border.

The library is whole without the CLI: ``monitor.aoi`` loads areas of interest,
``monitor.catalog`` finds scenes, ``monitor.imagery`` reads chips, ``monitor.store`` keeps
state. Heavy libraries are imported lazily so that ``monitor --help`` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
