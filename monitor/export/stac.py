"""A static, self-contained STAC collection of the detections (``--format stac --out DIR``).

``DIR/collection.json`` and one item per detection in ``DIR/<id>/<id>.json`` (the STAC best
practices' layout), every link between them relative, so the folder can be moved or
published as it is. STAC 1.1 core only (no extension schemas to fetch): the contract's
fields are item properties prefixed ``monitor:``; ``start_datetime``/``end_datetime`` span
the change's window (last clear view before it, first after) and ``datetime`` is the day it
was first seen. Each item links its evidence scenes (``derived_from``) by their STAC item
hrefs as recorded in the state: http(s) URLs as they are, local catalog files that exist
as ``file://`` URIs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import shapely

from monitor.errors import ExportError
from monitor.export._files import Staging
from monitor.export.data import ExportData
from monitor.export.fields import CHANGE_LABELS, export_properties
from monitor.export.geojson import geojson_geometry
from monitor.models import Detection, Scene

__all__ = ["STAC_VERSION", "COLLECTION_ID", "write_stac", "item_dict", "collection_dict"]

STAC_VERSION = "1.1.0"
COLLECTION_ID = "border-monitor-detections"
_JSON = "application/json"
_GEOJSON = "application/geo+json"


def _day_start(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _day_end(day: dt.date) -> str:
    return f"{day.isoformat()}T23:59:59Z"


def scene_href(scene: Scene | None) -> str | None:
    """Where a STAC tool finds the scene's item: an http(s) URL, or a local item file that
    exists as a ``file://`` URI; None when the state recorded nothing a reader could open."""
    if scene is None or not scene.item_href:
        return None
    href = str(scene.item_href)
    if href.lower().startswith(("https://", "http://")):
        return href
    path = Path(href.removeprefix("file://"))
    return path.as_uri() if path.is_absolute() and path.is_file() else None


def item_dict(det: Detection, data: ExportData) -> dict[str, Any]:
    """The STAC item of one detection (links relative to ``<id>/<id>.json``)."""
    geometry = geojson_geometry(det.geometry)
    props = export_properties(det)
    label = CHANGE_LABELS.get(det.change_type, det.change_type)
    sim = "SIMULATED DATA: " if det.simulated else ""
    properties: dict[str, Any] = {
        "title": f"{sim}{label} ({det.status}) in {data.aoi_name(det.aoi)}",
        "description": (
            f"{sim}{label} first seen {props['first_seen']}, between the last "
            f"clear view on {props['window_start']} and the first after on "
            f"{props['window_end']}; {props['area_m2']:,.0f} m², confidence "
            f"{props['confidence']:.2f}. {data.limits}"
        ).strip(),
        "datetime": _day_start(det.first_seen),
        "start_datetime": _day_start(det.window_start),
        "end_datetime": _day_end(det.window_end),
    }
    properties.update({f"monitor:{name}": value for name, value in props.items() if name != "id"})
    links: list[dict[str, Any]] = [
        {"rel": "root", "href": "../collection.json", "type": _JSON},
        {"rel": "parent", "href": "../collection.json", "type": _JSON},
        {"rel": "collection", "href": "../collection.json", "type": _JSON},
    ]
    for role, ids in (("before", det.evidence_before), ("after", det.evidence_after)):
        for scene_id in ids:
            href = scene_href(data.scenes.get(scene_id))
            if href is not None:
                links.append(
                    {
                        "rel": "derived_from",
                        "href": href,
                        "type": _GEOJSON,
                        "title": f"evidence {role}: {scene_id}",
                    }
                )
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": det.id,
        "geometry": geometry,
        "bbox": [round(float(v), 7) for v in shapely.bounds(det.geometry)],
        "properties": properties,
        "links": links,
        "assets": {},
        "collection": COLLECTION_ID,
    }


def _extent(data: ExportData) -> dict[str, Any]:
    shapes = [d.geometry for d in data.detections] or [a.geometry for a in data.aois]
    bbox = (
        [round(float(v), 7) for v in shapely.union_all(shapes).bounds]
        if shapes
        else [-180.0, -90.0, 180.0, 90.0]
    )
    if data.detections:
        interval = [
            _day_start(min(d.window_start for d in data.detections)),
            _day_end(max(d.window_end for d in data.detections)),
        ]
    else:
        interval = [None, None]
    return {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}}


def collection_dict(data: ExportData) -> dict[str, Any]:
    """The collection, linking every item by a relative href."""
    sim = (
        "**SIMULATED DATA**: derived from simulated scenes, not real observations. "
        if data.simulated
        else ""
    )
    since = f", first seen on or after {data.since.isoformat()}" if data.since else ""
    description = (
        f"{sim}{len(data.detections)} {data.status} detection(s){since} of the "
        "Sentinel-2 change monitor for the Myanmar-Thailand border, written "
        f"{data.generated_at.isoformat()}. {data.limits} Contains modified "
        "Copernicus Sentinel data."
    ).strip()
    links: list[dict[str, Any]] = [{"rel": "root", "href": "./collection.json", "type": _JSON}]
    links += [
        {
            "rel": "item",
            "href": f"./{d.id}/{d.id}.json",
            "type": _GEOJSON,
            "title": f"{CHANGE_LABELS.get(d.change_type, d.change_type)} ({d.status})",
        }
        for d in data.detections
    ]
    summaries: dict[str, Any] = {
        "monitor:change_type": sorted({d.change_type for d in data.detections}),
        "monitor:status": sorted({d.status for d in data.detections}),
        "monitor:aoi": sorted({a.id for a in data.aois} | {d.aoi for d in data.detections}),
    }
    # STAC wants a summary's set of values non-empty: an empty export lists none.
    summaries = {name: values for name, values in summaries.items() if values}
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": COLLECTION_ID,
        "title": data.title(),
        "description": description,
        "keywords": ["change detection", "Sentinel-2", "Myanmar", "Thailand"],
        "license": "other",
        "providers": [
            {"name": "border monitor (monitor export)", "roles": ["processor"]},
            {
                "name": "Copernicus Sentinel-2 (ESA)",
                "roles": ["producer", "licensor"],
                "url": "https://sentinels.copernicus.eu/",
            },
        ],
        "extent": _extent(data),
        "summaries": summaries,
        "links": links,
        "monitor:selection": data.metadata(),
    }


def _is_our_collection(folder: Path) -> bool:
    try:
        collection = json.loads((folder / "collection.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(collection, dict) and collection.get("id") == COLLECTION_ID


def _dump(path: Path, value: Mapping[str, object]) -> None:
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_stac(data: ExportData, path: Path, staging: Staging) -> int:
    """Write the collection folder ``path``; returns the number of items.

    An existing non-empty folder is replaced only with ``--overwrite`` and only when it is
    an earlier STAC export of the monitor: never a folder holding something else.
    """
    if path.is_dir() and any(path.iterdir()) and staging.overwrite and not _is_our_collection(path):
        raise ExportError(
            f"{path}: exists and is not a STAC export of the monitor; "
            "refusing to replace it (choose another --out)"
        )
    folder = staging.folder(path)
    try:
        for det in data.detections:
            item_folder = folder / det.id
            item_folder.mkdir()
            _dump(item_folder / f"{det.id}.json", item_dict(det, data))
        _dump(folder / "collection.json", collection_dict(data))
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror}") from None
    return len(data.detections)
