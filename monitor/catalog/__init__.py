"""The catalog stage: find Sentinel-2 scenes for an AOI in a STAC API or static catalog.

``open_catalog`` decides what a ``--stac`` source is (see :mod:`monitor.catalog.source`),
``find_scenes`` searches it for one AOI and keeps one scene per acquisition, and
``scene_from_item``/``metadata_rule`` turn item JSON into :class:`~monitor.models.Scene`
records with their reflectance rule. pystac and pystac-client are used only in this
package, and only once a catalog is opened.
"""

from __future__ import annotations

from monitor.catalog.scenes import (
    acquisition_key,
    band_assets,
    metadata_rule,
    scene_from_item,
)
from monitor.catalog.search import SceneSearch, choose_scenes, find_scenes
from monitor.catalog.source import (
    DEFAULT_API_COLLECTION,
    Catalog,
    catalog_from_settings,
    open_catalog,
)

__all__ = [
    "DEFAULT_API_COLLECTION",
    "Catalog",
    "SceneSearch",
    "acquisition_key",
    "band_assets",
    "catalog_from_settings",
    "choose_scenes",
    "find_scenes",
    "metadata_rule",
    "open_catalog",
    "scene_from_item",
]
