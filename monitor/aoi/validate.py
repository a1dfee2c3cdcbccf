"""Checks of an AOI's GeoJSON pieces: the ``crs`` member, coordinates, rings, properties.

Each check raises :class:`~monitor.errors.AoiError` with one line saying what is wrong and
where (``where`` is the file, and the feature, ring or property inside it). The checks work on
the decoded JSON, before shapely sees it, so a message can name the ring and its positions
rather than repeat a GEOS error. Only shapely is needed besides the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

from monitor.errors import AoiError

__all__ = [
    "ID_PATTERN",
    "KINDS",
    "CONFIDENCES",
    "check_crs_member",
    "check_id",
    "check_properties",
    "geometry_from_geojson",
]

#: A safe file name: lowercase letters, digits and ``-``, at most 64, not starting with ``-``.
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
KINDS: tuple[str, ...] = ("compound", "town", "control")
CONFIDENCES: tuple[str, ...] = ("high", "medium", "low")

# Names a GeoJSON 2008 ``crs`` member may give for lon/lat WGS 84 (OGC URN, OGC URL, EPSG
# code forms). EPSG:4326 officially means lat/lon axis order, but GeoJSON writers that name it
# still write lon/lat, and the swap check below catches the writers that do not.
_LONLAT_CRS = re.compile(
    r"(urn:ogc:def:crs:ogc:(1\.3)?:crs84|(ogc:)?crs:?84|"
    r"urn:ogc:def:crs:epsg:(\d+(\.\d+)*)?:4326|epsg:4326|"
    r"https?://www\.opengis\.net/def/crs/(ogc/1\.3/crs84|epsg/0/4326))",
    re.IGNORECASE,
)
# Below this a ring's hull counts as a line (1e-10 square degrees is about 1 m2).
_ZERO_AREA_DEG2 = 1e-10
_GEOS_REASON = re.compile(r"^(?P<what>.*?)\s*\[(?P<x>\S+) (?P<y>\S+)\]\s*$")


def _fmt_position(position: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.7g}" for v in position) + "]"


def _fmt_lonlat(x: float, y: float) -> str:
    return f"lon {x:.7f}, lat {y:.7f}"


def check_crs_member(obj: Mapping[str, Any], where: str) -> None:
    """Refuse a GeoJSON 2008 ``crs`` member that names anything but lon/lat WGS 84.

    RFC 7946 dropped ``crs``: coordinates are always EPSG:4326 lon/lat. A file that still
    carries one naming, say, ``urn:ogc:def:crs:EPSG::32647`` has projected coordinates, and
    reading them as degrees would put the AOI somewhere else entirely.
    """
    crs = obj.get("crs")
    if crs is None:
        return
    name: Any = None
    if isinstance(crs, Mapping):
        props = crs.get("properties")
        if isinstance(props, Mapping):
            name = props.get("name", props.get("href"))
    if not isinstance(name, str):
        raise AoiError(
            f"{where}: `crs` member {crs!r} cannot be read; expected EPSG:4326 lon/lat "
            "(RFC 7946 GeoJSON has no `crs` member)"
        )
    if not _LONLAT_CRS.fullmatch(name.strip()):
        raise AoiError(
            f"{where}: `crs` member names {name}; expected EPSG:4326 lon/lat "
            "(reproject the file, e.g. ogr2ogr -t_srs EPSG:4326)"
        )


def check_id(value: Any, where: str) -> str:
    """Return the AOI id if it is a safe file name, else raise AoiError."""
    if value is None or value == "":
        raise AoiError(f"{where}: missing property `id` (lowercase letters, digits and '-')")
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise AoiError(
            f"{where}: id {value!r} is not a safe file name: use lowercase letters, digits "
            "and '-', at most 64 characters, not starting with '-'"
        )
    return value


def _check_sources(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise AoiError(
            f"{where}: property `sources` must be a list of objects, not {type(value).__name__}"
        )
    sources: list[dict[str, Any]] = []
    for index, source in enumerate(value):
        label = f"{where}: sources[{index}]"
        if not isinstance(source, Mapping):
            raise AoiError(f"{label} must be an object with title, url, confidence, note")
        for key in ("title", "url", "note"):
            if key in source and source[key] is not None and not isinstance(source[key], str):
                raise AoiError(f"{label}.{key} must be a string")
        url = source.get("url")
        if url and not re.match(r"https?://", url):
            raise AoiError(f"{label}.url {url!r} is not an http(s) URL")
        confidence = source.get("confidence")
        if confidence is not None and confidence not in CONFIDENCES:
            raise AoiError(
                f"{label}.confidence {confidence!r} is not one of {', '.join(CONFIDENCES)}"
            )
        sources.append(dict(source))
    return tuple(sources)


def check_properties(props: Any, where: str) -> dict[str, Any]:
    """Validate a feature's properties; return id, name, kind, description, sources.

    ``id`` must be a safe file name and ``name`` a non-empty string; ``kind`` (one of
    ``KINDS``), ``description`` and ``sources`` (a list of objects) are optional.
    """
    if props is None:
        props = {}
    if not isinstance(props, Mapping):
        raise AoiError(f"{where}: `properties` must be an object, not {type(props).__name__}")
    aoi_id = check_id(props.get("id"), where)
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise AoiError(f"{where}: AOI {aoi_id!r} has a missing or empty property `name`")
    kind = props.get("kind")
    if kind is not None and kind not in KINDS:
        raise AoiError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    description = props.get("description")
    if description is not None and not isinstance(description, str):
        raise AoiError(f"{where}: property `description` must be a string")
    return {
        "id": aoi_id,
        "name": name.strip(),
        "kind": kind,
        "description": description or None,
        "sources": _check_sources(props.get("sources"), where),
    }


def _positions(ring: Any, label: str, where: str) -> list[tuple[float, float]]:
    """A ring's positions as (x, y) floats; elevation and extra members are dropped."""
    if not isinstance(ring, list):
        raise AoiError(f"{where}: {label} must be a list of positions, not {type(ring).__name__}")
    out: list[tuple[float, float]] = []
    for index, position in enumerate(ring):
        if (
            not isinstance(position, list)
            or len(position) < 2
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in position[:2]
            )
        ):
            raise AoiError(
                f"{where}: {label} position {index} is {position!r}, expected [lon, lat]"
            )
        x, y = float(position[0]), float(position[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise AoiError(f"{where}: {label} position {index} is not finite: {position!r}")
        out.append((x, y))
    return out


def _check_lonlat(rings: list[tuple[str, list[tuple[float, float]]]], where: str) -> None:
    """Refuse coordinates that cannot be lon/lat degrees.

    Heuristic, kept to signals that are unambiguous:

    * lat/lon swapped: every first value is within +-90 and some second value lies in
      (90, 180], i.e. a longitude appears second. (At 16.6 N 98.5 E this always fires; where
      the longitude is itself within +-90 a swap cannot be told from the numbers, and the
      outline lands elsewhere: its grid, shown by ``monitor aoi check``, is the tell.)
    * projected metres: any |x| > 180 or |y| > 90 otherwise.

    A ``crs`` member naming another CRS is the other clear signal (see check_crs_member);
    nothing cleverer is guessed.
    """
    points = [(label, p) for label, ring in rings for p in ring]
    if not points:
        return
    if all(abs(p[0]) <= 90 for _, p in points) and all(abs(p[1]) <= 180 for _, p in points):
        for label, (x, y) in points:
            if abs(y) > 90:
                raise AoiError(
                    f"{where}: {label} has position {_fmt_position((x, y))} whose second value "
                    "is over 90: latitude and longitude look swapped; GeoJSON is [lon, lat]"
                )
    for label, (x, y) in points:
        if abs(x) > 180 or abs(y) > 90:
            raise AoiError(
                f"{where}: {label} has position {_fmt_position((x, y))} which looks like "
                "projected metres, expected EPSG:4326 lon/lat"
            )


def _check_ring_shape(label: str, positions: list[tuple[float, float]], where: str) -> None:
    if len(positions) < 4:
        raise AoiError(
            f"{where}: {label} has {len(positions)} positions; a ring needs at least 4 "
            "(three corners and the first repeated)"
        )
    if positions[0] != positions[-1]:
        raise AoiError(
            f"{where}: {label} is not closed: first position {_fmt_position(positions[0])} "
            f"differs from last {_fmt_position(positions[-1])}"
        )
    ring_polygon = Polygon(positions)
    # The hull, not the ring: a symmetric bow tie has a signed ring area of zero too, but it
    # crosses itself (reported below) rather than lying on one line.
    if MultiPoint(positions).convex_hull.area < _ZERO_AREA_DEG2:
        raise AoiError(
            f"{where}: {label} encloses no area (its positions lie on one line), starting at "
            f"{_fmt_position(positions[0])}"
        )
    reason = shapely.is_valid_reason(ring_polygon)
    if reason != "Valid Geometry":
        match = _GEOS_REASON.match(reason)
        if match and "self-intersection" in match["what"].lower():
            x, y = float(match["x"]), float(match["y"])
            raise AoiError(f"{where}: {label} crosses or touches itself at {_fmt_lonlat(x, y)}")
        raise AoiError(f"{where}: {label} is not a valid ring: {reason}")


def _polygon_rings(
    coords: Any, prefix: str, where: str
) -> list[tuple[str, list[tuple[float, float]]]]:
    if not isinstance(coords, list):
        raise AoiError(f"{where}: {prefix}coordinates must be a list of rings")
    if not coords:
        raise AoiError(f"{where}: {prefix}polygon has no rings (empty coordinates)")
    rings = []
    for index, ring in enumerate(coords):
        label = f"{prefix}exterior ring" if index == 0 else f"{prefix}hole {index}"
        rings.append((label, _positions(ring, label, where)))
    return rings


def geometry_from_geojson(geometry: Any, where: str, feature_label: str) -> Polygon | MultiPolygon:
    """A validated shapely Polygon or MultiPolygon (2-D, lon/lat) from a GeoJSON geometry.

    Refused, each with its own message: a missing geometry or another type (naming it and
    ``feature_label``); malformed positions; coordinates that look like metres or swapped
    lat/lon; rings with fewer than 4 positions, not closed, of zero area or crossing
    themselves (naming the ring, and the lon/lat where it crosses); holes outside their
    shell or polygons that overlap.
    """
    if geometry is None:
        raise AoiError(
            f"{where}: {feature_label} has no geometry; expected Polygon or MultiPolygon"
        )
    if not isinstance(geometry, Mapping) or not isinstance(geometry.get("type"), str):
        raise AoiError(f"{where}: {feature_label} geometry is not a GeoJSON geometry object")
    gtype = geometry["type"]
    if gtype not in ("Polygon", "MultiPolygon"):
        raise AoiError(
            f"{where}: {feature_label} has a {gtype} geometry; expected Polygon or MultiPolygon"
        )
    coords = geometry.get("coordinates")
    polygons: list[list[tuple[str, list[tuple[float, float]]]]] = []
    if gtype == "Polygon":
        polygons.append(_polygon_rings(coords, "", where))
    else:
        if not isinstance(coords, list) or not coords:
            raise AoiError(f"{where}: {feature_label} MultiPolygon has no polygons")
        for index, polygon_coords in enumerate(coords):
            polygons.append(_polygon_rings(polygon_coords, f"polygon {index} ", where))

    _check_lonlat([ring for rings in polygons for ring in rings], where)
    for rings in polygons:
        for label, positions in rings:
            _check_ring_shape(label, positions, where)

    shapes = [Polygon(rings[0][1], [r for _, r in rings[1:]]) for rings in polygons]
    result: Polygon | MultiPolygon = shapes[0] if gtype == "Polygon" else MultiPolygon(shapes)
    reason = shapely.is_valid_reason(result)
    if reason != "Valid Geometry":
        match = _GEOS_REASON.match(reason)
        if match:
            at = _fmt_lonlat(float(match["x"]), float(match["y"]))
            raise AoiError(
                f"{where}: {feature_label} is not a valid polygon: {match['what']} at {at}"
            )
        raise AoiError(f"{where}: {feature_label} is not a valid polygon: {reason}")
    return result
