"""Small builders of AOI GeoJSON for the AOI tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: A 1 km x 1 km-ish square inside KK Park (lon, lat), closed.
SQUARE = [[98.560, 16.625], [98.570, 16.625], [98.570, 16.634], [98.560, 16.634], [98.560, 16.625]]


def feature(
    coordinates: Any = None, geometry_type: str = "Polygon", **props: Any
) -> dict[str, Any]:
    """A Feature with ``id``/``name`` defaults; pass ``id=None`` to leave a property out."""
    properties = {"id": "test-aoi", "name": "Test AOI"}
    properties.update(props)
    properties = {k: v for k, v in properties.items() if v is not None}
    if coordinates is None:
        coordinates = [SQUARE]
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": geometry_type, "coordinates": coordinates},
    }


def write(folder: Path, name: str, obj: Any) -> Path:
    """Write ``obj`` as JSON (or a str as is) to ``folder/name``."""
    path = folder / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=1), encoding="utf-8")
    return path
