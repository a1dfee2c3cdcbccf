"""STAC JSON of the simulated archive, in the form Earth Search serves it.

Items carry the properties and asset layout of Earth Search v1's ``sentinel-2-c1-l2a`` (style
``c1``) or ``sentinel-2-l2a`` (style ``l2a``): common-name asset keys, ``eo:bands``, ``gsd``,
``proj:*`` per asset, ``raster:bands`` with scale 0.0001 and offset -0.1 on reflectance bands in
both styles (as Earth Search declares them), MGRS and grid codes, processing baseline, product
URI with the relative orbit, datatake id, and ``monitor:simulated: true``. Plain dicts and the
standard library: pystac stays in the catalog stage.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from monitor.models import Grid
from monitor.simulate.schedule import TILE, Acquisition, processing_baseline

__all__ = [
    "ASSET_FILES",
    "COLLECTION_IDS",
    "STAC_EXTENSIONS",
    "item_id",
    "make_item",
    "make_collection",
    "write_json",
]

#: Asset key -> (file band name, title, centre wavelength um, FWHM um, gsd m).
ASSET_FILES: dict[str, tuple[str, str, float | None, float | None, int]] = {
    "blue": ("B02", "Blue - 10m", 0.49, 0.098, 10),
    "green": ("B03", "Green - 10m", 0.56, 0.045, 10),
    "red": ("B04", "Red - 10m", 0.665, 0.038, 10),
    "nir": ("B08", "NIR 1 - 10m", 0.842, 0.145, 10),
    "swir16": ("B11", "SWIR 1.6\u03bcm - 20m", 1.61, 0.143, 20),
    "rededge1": ("B05", "Red Edge 1 - 20m", 0.704, 0.019, 20),
    "rededge2": ("B06", "Red Edge 2 - 20m", 0.74, 0.018, 20),
    "rededge3": ("B07", "Red Edge 3 - 20m", 0.783, 0.028, 20),
    "nir08": ("B8A", "NIR 2 - 20m", 0.865, 0.033, 20),
    "swir22": ("B12", "SWIR 2.2\u03bcm - 20m", 2.19, 0.242, 20),
    "scl": ("SCL", "Scene classification map (SCL)", None, None, 20),
}
#: The eo extension's common name where it is not the asset key (B05-B07 share one).
_COMMON_NAMES: dict[str, str] = {key: "rededge" for key in ("rededge1", "rededge2", "rededge3")}
#: Collection id per style: the Earth Search collection the archive imitates.
COLLECTION_IDS: dict[str, str] = {"c1": "sentinel-2-c1-l2a", "l2a": "sentinel-2-l2a"}
STAC_EXTENSIONS: tuple[str, ...] = (
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/grid/v1.1.0/schema.json",
    "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
    "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sentinel-2/v1.0.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
)


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%S")


def item_id(acquisition: Acquisition, style: str, ground_id: str, single_ground: bool) -> str:
    """Earth Search's id form, with the ground appended when one call writes several grounds.

    ``c1``: ``S2B_T47QMU_20250731T035621_L2A``; ``l2a``: ``S2B_47QMU_20250731_0_L2A``.
    Several grounds of one acquisition behave like the neighbouring tiles of one datatake.
    """
    if style == "c1":
        base = f"{acquisition.short_platform}_T{TILE}_{_stamp(acquisition.datetime)}_L2A"
    else:
        base = f"{acquisition.short_platform}_{TILE}_{acquisition.datetime:%Y%m%d}_0_L2A"
    return base if single_ground else f"{base}_{ground_id}"


def make_item(
    *,
    item: str,
    style: str,
    acquisition: Acquisition,
    ground_grid: Grid,
    footprint_lonlat: Sequence[tuple[float, float]],
    asset_hrefs: Mapping[str, str],
    cloud_cover: float,
    nodata_percent: float,
    sun_elevation: float,
    sun_azimuth: float,
    boa_offset_applied: bool | None,
    ground_id: str,
    aoi_ids: Sequence[str],
) -> dict[str, Any]:
    """One STAC item as a dict.

    ``footprint_lonlat`` is the data footprint's ring in EPSG:4326; ``asset_hrefs`` maps asset
    keys to hrefs relative to the item file. ``boa_offset_applied`` is written as
    ``earthsearch:boa_offset_applied`` when not None (style ``l2a``).
    """
    ring = [list(p) for p in footprint_lonlat]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    properties = _properties(
        acquisition, ground_grid, cloud_cover, nodata_percent, sun_elevation, sun_azimuth
    )
    properties.update(
        {"monitor:simulated": True, "monitor:ground": ground_id, "monitor:aois": list(aoi_ids)}
    )
    if boa_offset_applied is not None:
        properties["earthsearch:boa_offset_applied"] = boa_offset_applied
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": list(STAC_EXTENSIONS),
        "id": item,
        "collection": COLLECTION_IDS[style],
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "properties": properties,
        "links": [
            {"rel": "collection", "href": "../collection.json", "type": "application/json"},
            {"rel": "parent", "href": "../collection.json", "type": "application/json"},
            {"rel": "root", "href": "../collection.json", "type": "application/json"},
        ],
        "assets": {key: _asset(key, href, ground_grid) for key, href in asset_hrefs.items()},
    }


def _properties(
    acquisition: Acquisition,
    ground_grid: Grid,
    cloud_cover: float,
    nodata_percent: float,
    sun_elevation: float,
    sun_azimuth: float,
) -> dict[str, Any]:
    """An item's Earth Search properties, up to (not including) the ``monitor:*`` ones."""
    when = acquisition.datetime
    baseline = processing_baseline(when.date())
    generated = when + dt.timedelta(minutes=47, seconds=13)
    datatake = (
        f"G{acquisition.short_platform}_{_stamp(when)}_{acquisition.absolute_orbit:06d}_N{baseline}"
    )
    return {
        "datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "created": generated.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "updated": generated.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "platform": acquisition.platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": round(cloud_cover, 4),
        "proj:epsg": ground_grid.epsg,
        "proj:code": f"EPSG:{ground_grid.epsg}",
        "mgrs:utm_zone": int(TILE[:2]),
        "mgrs:latitude_band": TILE[2],
        "mgrs:grid_square": TILE[3:],
        "grid:code": f"MGRS-{TILE}",
        "view:sun_azimuth": round(sun_azimuth, 4),
        "view:sun_elevation": round(sun_elevation, 4),
        "sat:relative_orbit": acquisition.relative_orbit,
        "sat:absolute_orbit": acquisition.absolute_orbit,
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": baseline,
        "s2:product_uri": (
            f"{acquisition.short_platform}_MSIL2A_{_stamp(when)}"
            f"_N{baseline.replace('.', '')}"
            f"_R{acquisition.relative_orbit:03d}_T{TILE}_{_stamp(generated)}.SAFE"
        ),
        "s2:generation_time": generated.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "s2:datatake_id": datatake,
        "s2:datatake_type": "INS-NOBS",
        "s2:nodata_pixel_percentage": round(nodata_percent, 4),
    }


def _asset(key: str, href: str, ground_grid: Grid) -> dict[str, Any]:
    """One asset of an item: its COG's href, bands, projection and raster scaling."""
    band, title, centre, fwhm, gsd = ASSET_FILES[key]
    factor = gsd / ground_grid.res_m
    shape = [int(ground_grid.height / factor), int(ground_grid.width / factor)]
    asset: dict[str, Any] = {
        "href": href,
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "title": title,
    }
    raster_band: dict[str, Any] = {"nodata": 0, "spatial_resolution": gsd}
    if key == "scl":
        raster_band["data_type"] = "uint8"
        asset["roles"] = ["data"]
    else:
        asset["eo:bands"] = [
            {
                "name": band,
                "common_name": _COMMON_NAMES.get(key, key),
                "center_wavelength": centre,
                "full_width_half_max": fwhm,
            }
        ]
        raster_band.update({"data_type": "uint16", "scale": 0.0001, "offset": -0.1})
        asset["roles"] = ["data", "reflectance"]
    asset.update(
        {
            "gsd": gsd,
            "proj:shape": shape,
            "proj:transform": [gsd, 0, ground_grid.left, 0, -gsd, ground_grid.top],
            "raster:bands": [raster_band],
        }
    )
    return asset


def make_collection(
    style: str,
    item_hrefs: Sequence[str],
    bbox: Sequence[float],
    first: dt.datetime,
    last: dt.datetime,
    seed: int,
    world: str = "default",
) -> dict[str, Any]:
    """The static collection that links every item (hrefs relative to the collection).

    A random world says so in the title and in ``monitor:world``; the default world's
    collection is as it always was.
    """
    title = f"SIMULATED Sentinel-2 L2A ({COLLECTION_IDS[style]} form), seed {seed}"
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": COLLECTION_IDS[style],
        "title": title if world == "default" else f"{title}, {world} world",
        "description": (
            "Simulated Sentinel-2 archive of the Myanmar-Thailand border written by "
            "`monitor simulate`: every pixel is synthetic and carries planted "
            "changes listed in truth.geojson. Not real data."
        ),
        "license": "CC0-1.0",
        "monitor:simulated": True,
        "extent": {
            "spatial": {"bbox": [list(bbox)]},
            "temporal": {
                "interval": [
                    [first.strftime("%Y-%m-%dT%H:%M:%SZ"), last.strftime("%Y-%m-%dT%H:%M:%SZ")]
                ]
            },
        },
        "links": [{"rel": "root", "href": "./collection.json", "type": "application/json"}]
        + [{"rel": "item", "href": href, "type": "application/geo+json"} for href in item_hrefs],
    }
    if world != "default":
        collection["monitor:world"] = world
    return collection


def write_json(path: Path, document: Mapping[str, object]) -> int:
    """Write JSON atomically (temporary file, then rename); return the size in bytes."""
    tmp = path.with_name(f".{path.name}.tmp")
    text = json.dumps(document, indent=1)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return len(text.encode("utf-8"))
