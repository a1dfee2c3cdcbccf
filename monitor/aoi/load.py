"""AOI files (GeoJSON, one area of interest per file): read, validated, looked up, added.

An AOI file is a GeoJSON Feature, or a FeatureCollection with exactly one Feature, whose
geometry is a Polygon or MultiPolygon in EPSG:4326 lon/lat and whose properties hold ``id``
(a safe file name) and ``name``; ``kind``, ``description`` and ``sources`` are optional (see
``../shared/CONTRACT.md``, "AOI files"). Everything a user can get wrong raises
:class:`~monitor.errors.AoiError` with one line naming the file and the place in it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shapely.geometry import mapping

from monitor.aoi.geometry import aoi_area_m2, aoi_bbox, aoi_mask, geometry_hash
from monitor.aoi.grid import grid_for_geometry
from monitor.aoi.validate import check_crs_member, check_properties, geometry_from_geojson
from monitor.errors import AoiError
from monitor.models import Aoi

__all__ = [
    "AOI_SUFFIXES",
    "DEFAULT_MAX_AREA_KM2",
    "aoi_from_geojson",
    "load_aoi",
    "load_aoi_dir",
    "resolve_aois",
    "add_aoi",
    "to_feature",
    "check_report",
]

#: File name endings (case-insensitive) that ``load_aoi_dir`` reads.
AOI_SUFFIXES: tuple[str, ...] = (".geojson", ".json")
#: The default of the ``max_aoi_area_km2`` setting.
DEFAULT_MAX_AREA_KM2 = 100.0

_GEOMETRY_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)


def _reject_constant(name: str) -> float:
    # json accepts NaN and Infinity by default; neither is JSON nor a coordinate.
    raise ValueError(f"{name} is not allowed in JSON")


def _read_json(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise AoiError(f"{path}: AOI file not found") from None
    except IsADirectoryError:
        raise AoiError(f"{path}: is a folder, not an AOI file") from None
    except UnicodeDecodeError as exc:
        raise AoiError(f"{path}: not JSON: not UTF-8 text at byte {exc.start}") from None
    except OSError as exc:
        raise AoiError(f"{path}: cannot read AOI file: {exc.strerror}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise AoiError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}:{exc.colno}") from None
    except ValueError as exc:
        raise AoiError(f"{path}: not JSON: {exc}") from None


def aoi_from_geojson(
    obj: dict[str, Any],
    *,
    where: str,
    max_area_km2: float = DEFAULT_MAX_AREA_KM2,
    path: str | None = None,
) -> Aoi:
    """Validate a decoded GeoJSON object and build its :class:`~monitor.models.Aoi`.

    Parameters
    ----------
    obj : the decoded JSON: a Feature, or a FeatureCollection holding exactly one Feature.
    where : what to name in error messages (usually the file).
    max_area_km2 : larger AOIs are refused; the area is measured on the AOI's UTM grid.
    path : stored as ``Aoi.path``.

    Returns
    -------
    Aoi
        With ``grid = grid_for_geometry(geometry)``: the UTM zone of the centroid at 10 m,
        edges snapped outward to 20 m.

    Raises
    ------
    AoiError
        Not GeoJSON; a bare geometry (it has no properties, so no ``id``); zero or several
        features; a ``crs`` member naming another CRS; bad properties (see
        :func:`~monitor.aoi.validate.check_properties`); a geometry that is not a valid
        polygon in lon/lat (see :func:`~monitor.aoi.validate.geometry_from_geojson`); an
        area of zero or over ``max_area_km2``.
    """
    if not isinstance(obj, Mapping):
        raise AoiError(
            f"{where}: not GeoJSON: the top level is a JSON {type(obj).__name__}, "
            "expected a Feature or FeatureCollection object"
        )
    gtype = obj.get("type")
    check_crs_member(obj, where)
    if gtype == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise AoiError(f"{where}: not GeoJSON: FeatureCollection without a `features` list")
        if len(features) != 1:
            raise AoiError(
                f"{where}: FeatureCollection holds {len(features)} features; an AOI file holds "
                "exactly one (split it into one file per AOI)"
            )
        feature = features[0]
        feature_label = "feature 0"
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise AoiError(f"{where}: not GeoJSON: feature 0 is not a Feature object")
        check_crs_member(feature, where)
    elif gtype == "Feature":
        feature = obj
        feature_label = "the feature"
    elif gtype in _GEOMETRY_TYPES:
        raise AoiError(
            f"{where}: a bare {gtype} geometry has no properties, so no `id` and `name`; "
            "wrap it in a Feature with properties id and name"
        )
    else:
        raise AoiError(
            f"{where}: not GeoJSON: type {gtype!r}, expected Feature or FeatureCollection"
        )

    props = check_properties(feature.get("properties"), where)
    feature_label = f"{feature_label} ({props['id']})"
    geometry = geometry_from_geojson(feature.get("geometry"), where, feature_label)
    grid = grid_for_geometry(geometry)
    aoi = Aoi(
        id=props["id"],
        name=props["name"],
        geometry=geometry,
        geometry_hash=geometry_hash(geometry),
        grid=grid,
        kind=props["kind"],
        description=props["description"],
        sources=props["sources"],
        path=path,
    )
    area_km2 = aoi_area_m2(aoi) / 1e6
    west, south, east, north = aoi_bbox(aoi)
    if area_km2 <= 0.0:
        raise AoiError(f"{where}: {feature_label} has zero area")
    if area_km2 > max_area_km2:
        raise AoiError(
            f"{where}: {feature_label} covers {area_km2:.1f} km2, over the limit of "
            f"{max_area_km2:g} km2 (setting max_aoi_area_km2); it spans lon {west:.5f} to "
            f"{east:.5f}, lat {south:.5f} to {north:.5f}: a mistyped coordinate?"
        )
    return aoi


def load_aoi(path: str | os.PathLike[str], *, max_area_km2: float = DEFAULT_MAX_AREA_KM2) -> Aoi:
    """Read and validate one AOI file; see :func:`aoi_from_geojson` for what is refused.

    Examples
    --------
    >>> aoi = load_aoi("aoi/kk-park.geojson")  # doctest: +SKIP
    >>> aoi.grid.crs, aoi.grid.shape  # doctest: +SKIP
    ('EPSG:32647', (334, 376))
    """
    file = Path(path)
    return aoi_from_geojson(
        _read_json(file), where=str(file), max_area_km2=max_area_km2, path=str(file)
    )


def _aoi_files(folder: Path) -> list[Path]:
    """AOI files of a folder, by name: ``*.geojson``/``*.json``, hidden files skipped."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in AOI_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def load_aoi_dir(
    folder: str | os.PathLike[str], *, max_area_km2: float = DEFAULT_MAX_AREA_KM2
) -> list[Aoi]:
    """Every AOI of a folder (``*.geojson`` and ``*.json`` files), sorted by id.

    Raises
    ------
    AoiError
        The folder is missing, not a folder, or holds no AOI file; any file is invalid; two
        files share an id (both are named).
    """
    root = Path(folder)
    if not root.exists():
        raise AoiError(f"{root}: AOI folder not found")
    if not root.is_dir():
        raise AoiError(f"{root}: not a folder (expected a folder of AOI GeoJSON files)")
    files = _aoi_files(root)
    if not files:
        raise AoiError(f"{root}: no AOI files (*.geojson, *.json) in the folder")
    by_id: dict[str, Aoi] = {}
    for file in files:
        aoi = load_aoi(file, max_area_km2=max_area_km2)
        if aoi.id in by_id:
            raise AoiError(f"duplicate AOI id {aoi.id!r} in {by_id[aoi.id].path} and {file}")
        by_id[aoi.id] = aoi
    return [by_id[key] for key in sorted(by_id)]


def _same_aoi(a: Aoi, b: Aoi) -> bool:
    """Same id, properties and outline (file path and formatting aside)."""
    return (
        a.id == b.id
        and a.name == b.name
        and a.kind == b.kind
        and a.description == b.description
        and [dict(s) for s in a.sources] == [dict(s) for s in b.sources]
        and a.geometry_hash == b.geometry_hash
    )


def _looks_like_path(selector: str) -> bool:
    return (
        os.sep in selector
        or (os.altsep is not None and os.altsep in selector)
        or selector.lower().endswith(AOI_SUFFIXES)
    )


def resolve_aois(
    selectors: Sequence[str],
    aoi_dir: str | os.PathLike[str],
    *,
    max_area_km2: float = DEFAULT_MAX_AREA_KM2,
) -> list[Aoi]:
    """The AOIs a command works on: each selector is an AOI file or an id in ``aoi_dir``.

    No selectors means every AOI of ``aoi_dir`` (sorted by id). Otherwise the AOIs come in
    the order given, each once; ``aoi_dir`` is read only when a selector is an id.

    Raises
    ------
    AoiError
        A selector that looks like a path (has a ``/`` or ends in .geojson/.json) but is not
        a file; an unknown id (the message lists the known ids); one id given twice with
        different content; any error of :func:`load_aoi` / :func:`load_aoi_dir`.
    """
    folder = Path(aoi_dir)
    if not selectors:
        return load_aoi_dir(folder, max_area_km2=max_area_km2)
    known: dict[str, Aoi] | None = None
    chosen: dict[str, Aoi] = {}
    for selector in selectors:
        candidate = Path(selector).expanduser()
        if candidate.is_file():
            aoi = load_aoi(candidate, max_area_km2=max_area_km2)
        elif candidate.is_dir():
            raise AoiError(f"{selector}: is a folder; give an AOI file or id (or set --aoi-dir)")
        elif _looks_like_path(selector):
            raise AoiError(f"{selector}: AOI file not found")
        else:
            if known is None:
                if not folder.is_dir() or not _aoi_files(folder):
                    raise AoiError(
                        f"unknown AOI {selector!r}: no such file, and {folder} holds no AOI files"
                    )
                known = {a.id: a for a in load_aoi_dir(folder, max_area_km2=max_area_km2)}
            if selector not in known:
                raise AoiError(
                    f"unknown AOI {selector!r}: no such file, nor an id in {folder} "
                    f"(known: {', '.join(sorted(known))})"
                )
            aoi = known[selector]
        previous = chosen.get(aoi.id)
        if previous is not None and not _same_aoi(previous, aoi):
            raise AoiError(
                f"AOI id {aoi.id!r} is given twice with different content: "
                f"{previous.path} and {aoi.path}"
            )
        chosen.setdefault(aoi.id, aoi)
    return list(chosen.values())


def _peek_id(file: Path) -> str | None:
    """The ``id`` property of a file, without validating it (None when unreadable)."""
    try:
        obj = json.loads(file.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError):
        return None
    if isinstance(obj, Mapping) and obj.get("type") == "FeatureCollection":
        features = obj.get("features")
        obj = features[0] if isinstance(features, list) and len(features) == 1 else None
    props = obj.get("properties") if isinstance(obj, Mapping) else None
    value = props.get("id") if isinstance(props, Mapping) else None
    return value if isinstance(value, str) else None


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temp file in the same folder and os.replace."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); AOI files are for every analyst to read.
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def add_aoi(
    path: str | os.PathLike[str],
    aoi_dir: str | os.PathLike[str],
    *,
    max_area_km2: float = DEFAULT_MAX_AREA_KM2,
    overwrite: bool = False,
) -> Path:
    """Validate an AOI file and copy it to ``<aoi_dir>/<id>.geojson``; return that path.

    The file's bytes are copied as they are (extra properties and formatting kept), through
    a temp file and ``os.replace`` so the folder never holds half a file. An existing file
    holding the same AOI (same properties and geometry hash) makes this a no-op.

    Raises
    ------
    AoiError
        The file is invalid; ``<aoi_dir>/<id>.geojson`` holds a different AOI and
        ``overwrite`` is false; another file of ``aoi_dir`` already uses the id; ``aoi_dir``
        cannot be created or written.
    """
    source = Path(path)
    aoi = load_aoi(source, max_area_km2=max_area_km2)
    folder = Path(aoi_dir)
    if folder.exists() and not folder.is_dir():
        raise AoiError(f"{folder}: not a folder (expected a folder of AOI GeoJSON files)")
    target = folder / f"{aoi.id}.geojson"
    if folder.is_dir():
        for other in _aoi_files(folder):
            if other.name != target.name and _peek_id(other) == aoi.id:
                if other.resolve() == source.resolve():
                    raise AoiError(
                        f"{source}: already in {folder} under another name; "
                        f"rename it to {target.name} rather than adding it"
                    )
                raise AoiError(
                    f"{folder}: AOI id {aoi.id!r} is already used by {other}; "
                    f"edit that file or give {source} another id"
                )
    if target.exists():
        if target.resolve() == source.resolve():
            return target
        try:
            existing: Aoi | None = load_aoi(target, max_area_km2=float("inf"))
        except AoiError:
            existing = None
        if existing is not None and _same_aoi(existing, aoi):
            return target
        if not overwrite:
            what = "an invalid file" if existing is None else "a different AOI"
            raise AoiError(
                f"{target}: already holds {what} with id {aoi.id!r}; "
                f"not replaced by {source} (use overwrite to replace it)"
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, source.read_bytes())
    except OSError as exc:
        raise AoiError(f"{target}: cannot write AOI file: {exc.strerror or exc}") from None
    return target


def _plain(value: Any) -> Any:
    """Tuples (as shapely's mapping gives them) and mappings to JSON lists and dicts."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_feature(aoi: Aoi) -> dict[str, Any]:
    """The AOI as a GeoJSON Feature: its geometry and properties id, name, kind,
    description and sources (the optional ones only when set)."""
    props: dict[str, Any] = {"id": aoi.id, "name": aoi.name}
    if aoi.kind is not None:
        props["kind"] = aoi.kind
    if aoi.description is not None:
        props["description"] = aoi.description
    if aoi.sources:
        props["sources"] = _plain(list(aoi.sources))
    return {"type": "Feature", "properties": props, "geometry": _plain(mapping(aoi.geometry))}


def check_report(aoi: Aoi) -> dict[str, Any]:
    """Facts about a validated AOI for ``monitor aoi check`` (plain JSON-ready values).

    Keys: ``id``, ``name``, ``kind``, ``path``, ``area_km2``, ``epsg``, ``crs``
    ("EPSG:32647"), ``width_px``, ``height_px``, ``grid_size`` ("WxH"), ``res_m``,
    ``grid_bounds_m`` (left, bottom, right, top in metres of ``epsg``), ``bounds`` (west,
    south, east, north in degrees), ``pixels_inside`` (pixel centres inside the polygon),
    ``n_sources``, ``geometry_hash``.
    """
    grid = aoi.grid
    return {
        "id": aoi.id,
        "name": aoi.name,
        "kind": aoi.kind,
        "path": aoi.path,
        "area_km2": round(aoi_area_m2(aoi) / 1e6, 4),
        "epsg": grid.epsg,
        "crs": grid.crs,
        "width_px": grid.width,
        "height_px": grid.height,
        "grid_size": f"{grid.width}x{grid.height}",
        "res_m": grid.res_m,
        "grid_bounds_m": list(grid.bounds),
        "bounds": list(aoi_bbox(aoi)),
        "pixels_inside": int(aoi_mask(aoi).sum()),
        "n_sources": len(aoi.sources),
        "geometry_hash": aoi.geometry_hash,
    }
