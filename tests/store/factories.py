"""Small records for the store tests, built in code."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import shapely
from shapely.geometry import box

from monitor.aoi.grid import grid_for_geometry
from monitor.models import Aoi, AssetRef, Observation, ReflectanceRule, Scene

UTC = dt.UTC
BANGKOK = dt.timezone(dt.timedelta(hours=7))

# About 850 m square near KK Park: the grid is under 100 x 100 px.
KK_BOX = (98.5430, 16.6230, 98.5510, 16.6310)


def geometry_hash(geometry: Any) -> str:
    return hashlib.sha256(shapely.to_wkb(shapely.normalize(geometry))).hexdigest()


def make_aoi(
    aoi_id: str = "kk-park", bounds: tuple[float, float, float, float] = KK_BOX, **changes: Any
) -> Aoi:
    geometry = box(*bounds)
    values: dict[str, Any] = dict(
        id=aoi_id,
        name="KK Park",
        geometry=geometry,
        geometry_hash=geometry_hash(geometry),
        grid=grid_for_geometry(geometry),
        kind="compound",
        description="Compound south of Myawaddy",
        sources=({"title": "report", "url": "https://example.org/kk", "year": 2024},),
        path=f"aoi/{aoi_id}.geojson",
    )
    values.update(changes)
    return Aoi(**values)


def make_scene(
    scene_id: str = "S2B_T47QMU_20250731T035619_L2A",
    when: dt.datetime = dt.datetime(2025, 7, 31, 3, 56, 19, 24000, tzinfo=UTC),
    collection: str = "sentinel-2-c1-l2a",
    **changes: Any,
) -> Scene:
    assets = {
        band: AssetRef(
            band=band,
            href=f"https://example.org/{scene_id}/{band}.tif",
            res_m=res,
            nodata=0.0,
            data_type="uint16",
            declared_scale=0.0001 if band != "scl" else None,
            declared_offset=-0.1 if band != "scl" else None,
        )
        for band, res in (
            ("blue", 10.0),
            ("green", 10.0),
            ("red", 10.0),
            ("nir", 10.0),
            ("swir16", 20.0),
            ("scl", 20.0),
        )
    }
    values: dict[str, Any] = dict(
        id=scene_id,
        collection=collection,
        datetime=when,
        platform="sentinel-2b",
        acquisition=f"S2B_{when:%Y%m%dT%H%M%S}",
        assets=assets,
        rule=ReflectanceRule(
            scale=0.0001, offset=-0.1, decided_by="pixels", reason="dark water near 1000 DN"
        ),
        mgrs_tile="47QMU",
        epsg=32647,
        processing_baseline="05.11",
        cloud_cover=12.345678901234,
        simulated=False,
        item_href=f"https://example.org/items/{scene_id}.json",
        source="https://earth-search.aws.element84.com/v1",
        footprint=box(98.0510123456789, 16.2123456789, 99.0731234567891, 17.1987654321),
        updated=dt.datetime(2025, 8, 1, 10, 0, 0, tzinfo=UTC),
    )
    values.update(changes)
    return Scene(**values)


def make_observation(scene: Scene, aoi_id: str = "kk-park", **changes: Any) -> Observation:
    values: dict[str, Any] = dict(
        aoi_id=aoi_id,
        scene_id=scene.id,
        acquisition=scene.acquisition,
        datetime=scene.datetime,
        collection=scene.collection,
        status="used",
        reason="",
        clear_fraction=0.8125,
        rule=scene.rule,
        simulated=scene.simulated,
        attempts=1,
    )
    values.update(changes)
    return Observation(**values)
