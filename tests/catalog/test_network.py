"""Live Earth Search v1 over KK Park (skipped by default; run with ``-m network``)."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.catalog import find_scenes, open_catalog
from monitor.config import EARTH_SEARCH
from tests.catalog.builders import make_aoi

pytestmark = pytest.mark.network

MONTH = (dt.date(2024, 1, 1), dt.date(2024, 1, 31))  # dry season: clear scenes every pass


@pytest.mark.parametrize(
    ("collection", "offset"),
    [
        ("sentinel-2-c1-l2a", -0.1),  # offset kept in the pixels and declared
        ("sentinel-2-l2a", 0.0),  # offset removed, -0.1 still declared, flag says so
    ],
)
def test_earth_search_kk_park_month(collection: str, offset: float) -> None:
    catalog = open_catalog(EARTH_SEARCH, collection=collection, fallback_collection=None)
    assert catalog.kind == "api"
    found = find_scenes(catalog, make_aoi(), *MONTH, max_cloud_cover=95)
    # Sentinel-2 revisits 47QMU every 5 days (2-3 days with both satellites).
    assert len(found.scenes) >= 4
    acquisitions = [scene.acquisition for scene in found.scenes]
    assert len(set(acquisitions)) == len(acquisitions)
    for scene in found.scenes:
        assert scene.collection == collection
        assert scene.rule.offset == pytest.approx(offset), (scene.id, scene.rule.reason)
        assert scene.mgrs_tile in ("47QMU", "47QLU", "47QMV", "47QLV")
        assert scene.epsg == 32647
        assert scene.has_scl and scene.assets["red"].href.startswith("https://")
    assert set(found.monthly_counts) == {"2024-01"}
