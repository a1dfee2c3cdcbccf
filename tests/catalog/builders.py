"""Item and collection builders for catalog tests, made from the recorded Earth Search items.

The recorded items sit over Brazil and Argentina; tests move copies over tile 47QMU near
KK Park (lon 98.56, lat 16.63) and give them the dates they need.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import shapely.geometry

from monitor.aoi.grid import grid_for_geometry
from monitor.models import Aoi

C1_TEMPLATE = "sentinel-2-c1-l2a__S2B_T24MVV_20250731T130245_L2A.json"
L2A_TEMPLATE = "sentinel-2-l2a__S2B_24MVV_20250731_0_L2A.json"

#: Tile 47QMU in lon/lat, roughly (UTM 47N, 399960-509760 E, 1790220-1900020 N).
TILE_47QMU = (98.06, 16.19, 99.09, 17.18)
KK_PARK = (98.56, 16.63)


def load_template(items_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((items_dir / name).read_text())


def make_aoi(
    lon: float = KK_PARK[0],
    lat: float = KK_PARK[1],
    half_deg: float = 0.004,
    aoi_id: str = "kk-park-test",
) -> Aoi:
    """A small square AOI (about 90 x 90 px at 10 m) centred on (lon, lat)."""
    geometry = shapely.geometry.box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)
    return Aoi(
        id=aoi_id,
        name=aoi_id,
        geometry=geometry,
        geometry_hash=f"test-{lon}-{lat}",
        grid=grid_for_geometry(geometry),
    )


def make_item(
    template: dict[str, Any],
    *,
    when: dt.datetime | str,
    footprint: tuple[float, float, float, float] = TILE_47QMU,
    tile: str = "47QMU",
    platform: str = "sentinel-2b",
    orbit: int = 104,
    cloud: float = 10.0,
    baseline: str | None = None,
    item_id: str | None = None,
    collection: str | None = None,
    updated: str | None = None,
) -> dict[str, Any]:
    """A copy of ``template`` moved to ``footprint`` at time ``when``.

    The id, ``s2:product_uri`` and ``s2:datatake_id`` follow the new date, tile, platform
    and orbit the way Earth Search names them, so acquisition keys behave as on real data.
    """
    item = copy.deepcopy(template)
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    stamp = when.strftime("%Y%m%dT%H%M%S")
    props = item["properties"]
    baseline = baseline or props.get("s2:processing_baseline", "05.11")
    collection = collection or item["collection"]
    letter = platform[-1].upper()
    if item_id is None:
        if "c1" in collection:
            item_id = f"S2{letter}_T{tile}_{stamp}_L2A"
        else:
            item_id = f"S2{letter}_{tile}_{when:%Y%m%d}_0_L2A"
    item["id"] = item_id
    item["collection"] = collection
    west, south, east, north = footprint
    item["geometry"] = shapely.geometry.mapping(shapely.geometry.box(west, south, east, north))
    item["geometry"] = json.loads(json.dumps(item["geometry"]))  # tuples → lists
    item["bbox"] = [west, south, east, north]
    props["datetime"] = when.isoformat().replace("+00:00", "Z")
    props["platform"] = platform
    props["eo:cloud_cover"] = cloud
    props["s2:processing_baseline"] = baseline
    compact = baseline.replace(".", "")
    props["s2:product_uri"] = (
        f"S2{letter}_MSIL2A_{stamp}_N{compact}_R{orbit:03d}_T{tile}_{stamp}.SAFE"
    )
    props["s2:datatake_id"] = f"GS2{letter}_{stamp}_000000_N{baseline}"
    props["grid:code"] = f"MGRS-{tile}"
    props["mgrs:utm_zone"] = int(tile[:2])
    props["mgrs:latitude_band"] = tile[2]
    props["mgrs:grid_square"] = tile[3:]
    props["proj:epsg"] = 32600 + int(tile[:2])
    props["updated"] = updated or props.get("updated")
    base = f"https://example.test/{collection}/{item_id}"
    for asset in item["assets"].values():
        name = asset["href"].rsplit("/", 1)[-1]
        asset["href"] = f"{base}/{name}"
    item["links"] = [
        link
        for link in item.get("links", [])
        if link.get("rel") not in ("self", "parent", "collection", "root")
    ]
    return item


def make_collection(
    collection_id: str,
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A minimal STAC Collection document (extent from the items when given)."""
    bbox = [-180.0, -90.0, 180.0, 90.0]
    if items:
        shapes = [shapely.geometry.shape(item["geometry"]) for item in items]
        bbox = list(shapely.geometry.GeometryCollection(shapes).bounds)
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": collection_id,
        "description": f"test collection {collection_id}",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [["2015-06-27T00:00:00Z", None]]},
        },
        "links": [],
    }


def write_static_collection(
    folder: Path,
    collection_id: str,
    items: list[dict[str, Any]],
    *,
    relative_assets: bool = True,
    keep_item_collections: bool = False,
) -> Path:
    """Write ``folder/collection.json`` linking ``items/<id>.json`` (relative links).

    With ``relative_assets`` each item's asset hrefs become ``../assets/<id>/<file>``;
    items keep their own ``collection`` field with ``keep_item_collections`` (a static
    catalog mixing c1 and l2a items), else they take ``collection_id``.
    """
    (folder / "items").mkdir(parents=True, exist_ok=True)
    collection = make_collection(collection_id, items)
    collection["links"] = [{"rel": "root", "href": "./collection.json"}]
    for item in items:
        item = copy.deepcopy(item)
        if not keep_item_collections:
            item["collection"] = collection_id
        if relative_assets:
            for asset in item["assets"].values():
                name = asset["href"].rsplit("/", 1)[-1]
                asset["href"] = f"../assets/{item['id']}/{name}"
        item["links"] = [
            {"rel": "collection", "href": "../collection.json"},
            {"rel": "parent", "href": "../collection.json"},
            {"rel": "root", "href": "../collection.json"},
        ]
        (folder / "items" / f"{item['id']}.json").write_text(json.dumps(item))
        collection["links"].append(
            {"rel": "item", "href": f"./items/{item['id']}.json", "type": "application/geo+json"}
        )
    path = folder / "collection.json"
    path.write_text(json.dumps(collection))
    return path
