"""STAC item dicts → :class:`~monitor.models.Scene`: bands, reflectance rule, acquisition.

Pure functions on plain dicts (as a STAC API or a static catalog hands them out): no
network, no pystac. This is where the monitor decides, from metadata alone, how an item's
digital numbers become reflectance; the imagery stage checks the pixels afterwards.

The offset problem in one paragraph: from processing baseline 04.00 (January 2022) ESA adds
1000 to every L2A/L1C digital number, so reflectance is ``DN * 0.0001 - 0.1``. Earth Search's
``sentinel-2-l2a`` collection removed that offset again before writing its COGs (and says
so with ``earthsearch:boa_offset_applied: true``) yet still declares ``offset: -0.1`` in
``raster:bands``; ``sentinel-2-c1-l2a`` keeps the offset and declares it; Planetary
Computer's ``sentinel-2-l2a`` keeps it and declares nothing. A collection id alone never
settles it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import shapely.geometry
from shapely.geometry.base import BaseGeometry

from monitor.errors import ItemError
from monitor.models import OPTIONAL_BANDS, REQUIRED_BANDS, AssetRef, ReflectanceRule, Scene

__all__ = [
    "S2_BAND_IDS",
    "DEFAULT_SCALE",
    "BOA_OFFSET",
    "scene_from_item",
    "metadata_rule",
    "acquisition_key",
    "band_assets",
    "item_datetime",
    "item_footprint",
    "parse_baseline",
]

#: Sentinel-2 band ids → the common band names used as asset keys (Earth Search's).
S2_BAND_IDS: Mapping[str, str] = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B09": "nir09",
    "B10": "cirrus",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
}
#: Common names that identify one band unambiguously in ``eo:bands`` (Planetary Computer
#: calls B05, B06, B07 and B8A all "rededge", so those are read from the band id instead).
_UNAMBIGUOUS_COMMON_NAMES = frozenset({"blue", "green", "red", "nir", "swir16", "swir22", "nir08"})
_WANTED_BANDS: tuple[str, ...] = REQUIRED_BANDS + OPTIONAL_BANDS
#: Bands whose digital numbers are reflectance (everything we read except the SCL classes).
_REFLECTANCE_BANDS: tuple[str, ...] = tuple(b for b in _WANTED_BANDS if b != "scl")

DEFAULT_SCALE = 0.0001
BOA_OFFSET = -0.1
#: First processing baseline whose digital numbers carry the +1000 offset.
_OFFSET_BASELINE = (4, 0)

_RELATIVE_ORBIT_IN_URI = re.compile(r"_R(\d{3})_")
_BASELINE_SUFFIX = re.compile(r"_N\d{2}\.\d{2}$")
_BASELINE_TEXT = re.compile(r"^\s*N?(\d{1,2})\.?(\d{2})\s*$")


# ----------------------------------------------------------------------------------------
# Small readers of item fields
# ----------------------------------------------------------------------------------------


def _properties(item: Mapping[str, Any]) -> Mapping[str, Any]:
    props = item.get("properties")
    return props if isinstance(props, Mapping) else {}


def _parse_datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # STAC datetimes are UTC by definition (RFC 3339); a missing zone means UTC.
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def item_datetime(item: Mapping[str, Any]) -> dt.datetime | None:
    """The item's ``datetime``, else ``start_datetime``, as a tz-aware UTC datetime."""
    props = _properties(item)
    return _parse_datetime(props.get("datetime")) or _parse_datetime(props.get("start_datetime"))


def item_footprint(item: Mapping[str, Any]) -> BaseGeometry | None:
    """The item's geometry as shapely (EPSG:4326), else its bbox as a box, else None."""
    geometry = item.get("geometry")
    if isinstance(geometry, Mapping) and geometry.get("type"):
        try:
            shape = shapely.geometry.shape(geometry)
        except (ValueError, TypeError, AttributeError, IndexError):
            shape = None
        if shape is not None and not shape.is_empty:
            # Footprints traced by processors sometimes self-touch; repair rather than fail
            # the intersection with the AOI later on.
            return shape if shape.is_valid else shapely.make_valid(shape)
    bbox = item.get("bbox")
    if isinstance(bbox, (list, tuple)) and len(bbox) in (4, 6):
        try:
            values = [float(v) for v in bbox]
        except (TypeError, ValueError):
            return None
        half = len(values) // 2
        return shapely.geometry.box(values[0], values[1], values[half], values[half + 1])
    return None


def parse_baseline(value: Any) -> tuple[int, int] | None:
    """``"05.11"`` (or ``"N0511"``, ``"5.11"``) → ``(5, 11)``; anything else → None."""
    if value is None:
        return None
    match = _BASELINE_TEXT.match(str(value))
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def _baseline_text(props: Mapping[str, Any]) -> str | None:
    parsed = parse_baseline(props.get("s2:processing_baseline"))
    return f"{parsed[0]:02d}.{parsed[1]:02d}" if parsed else None


def _mgrs_tile(props: Mapping[str, Any]) -> str | None:
    code = props.get("grid:code")
    if isinstance(code, str) and code.upper().startswith("MGRS-"):
        return code[5:].upper()
    for prefix in ("mgrs", "sentinel"):
        zone = props.get(f"{prefix}:utm_zone")
        band = props.get(f"{prefix}:latitude_band")
        square = props.get(f"{prefix}:grid_square")
        if zone is not None and band and square:
            try:
                return f"{int(zone):02d}{str(band).upper()}{str(square).upper()}"
            except (TypeError, ValueError):
                pass
    tile = props.get("s2:mgrs_tile")
    if isinstance(tile, str) and tile:
        return tile.upper().removeprefix("T")
    return None


def _epsg(props: Mapping[str, Any]) -> int | None:
    value = props.get("proj:epsg")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        try:
            return int(code[5:])
        except ValueError:
            return None
    return None


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# ----------------------------------------------------------------------------------------
# Assets by common band name
# ----------------------------------------------------------------------------------------


def _band_of_asset(key: str, asset: Mapping[str, Any]) -> str | None:
    """Which wanted band an asset holds, from its key or its single ``eo:bands`` entry."""
    if key in _WANTED_BANDS:
        return key
    by_id = S2_BAND_IDS.get(key.upper())
    if by_id is not None:
        return by_id
    eo_bands = asset.get("eo:bands") or asset.get("bands")
    if isinstance(eo_bands, list) and len(eo_bands) == 1 and isinstance(eo_bands[0], Mapping):
        entry = eo_bands[0]
        name = entry.get("name")
        if isinstance(name, str) and name.upper() in S2_BAND_IDS:
            return S2_BAND_IDS[name.upper()]
        common = entry.get("common_name") or entry.get("eo:common_name")
        if isinstance(common, str) and common in _UNAMBIGUOUS_COMMON_NAMES:
            return common
    return None


def band_assets(item: Mapping[str, Any]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Wanted bands of an item: common band name → (asset key, asset dict).

    Asset keys that are common names win over band ids (``blue`` over ``B02``), and
    Earth Search's ``-jp2`` twins are ignored: the COG holds the same pixels and is what
    a windowed read wants.
    """
    assets = item.get("assets")
    if not isinstance(assets, Mapping):
        return {}
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for key, asset in assets.items():
        if not isinstance(key, str) or not isinstance(asset, Mapping) or key.endswith("-jp2"):
            continue
        if not isinstance(asset.get("href"), str) or not asset["href"]:
            continue
        band = _band_of_asset(key, asset)
        if band is None or band not in _WANTED_BANDS:
            continue
        if band in found and found[band][0] == band:
            continue  # the key named after the band already holds it
        found[band] = (key, asset)
    return found


def _raster_band(asset: Mapping[str, Any]) -> Mapping[str, Any]:
    """The asset's first band's raster fields: scale, offset, nodata, data_type, resolution.

    Reads STAC 1.0 ``raster:bands`` and STAC 1.1 ``bands`` (whose fields may carry the
    ``raster:`` prefix or sit on the asset itself).
    """
    bands = asset.get("raster:bands") or asset.get("bands")
    band: Mapping[str, Any] = (
        bands[0] if isinstance(bands, list) and bands and isinstance(bands[0], Mapping) else {}
    )
    merged: dict[str, Any] = {}
    for name in ("scale", "offset", "nodata", "data_type", "spatial_resolution"):
        for source in (band, asset):
            for key in (name, f"raster:{name}"):
                if key in source and name not in merged:
                    merged[name] = source[key]
    return merged


def _absolute_href(href: str, self_href: str | None) -> str:
    """``href`` made absolute against the item's own location (URL or local path)."""
    if urlsplit(href).scheme and not re.match(r"^[A-Za-z]:[\\/]", href):
        return href  # http(s)://, s3://, file://, /vsicurl/... already absolute
    if os.path.isabs(href) or not self_href:
        return href
    if urlsplit(self_href).scheme and not re.match(r"^[A-Za-z]:[\\/]", self_href):
        return urljoin(self_href, href)
    return os.path.normpath(os.path.join(os.path.dirname(self_href), href))


def _asset_ref(band: str, asset: Mapping[str, Any], self_href: str | None) -> AssetRef:
    raster = _raster_band(asset)
    res_m = _float_or_none(asset.get("gsd"))
    if res_m is None:
        res_m = _float_or_none(raster.get("spatial_resolution"))
    if res_m is None:
        transform = asset.get("proj:transform")
        if isinstance(transform, list) and transform:
            pixel = _float_or_none(transform[0])
            res_m = abs(pixel) if pixel else None
    data_type = raster.get("data_type")
    return AssetRef(
        band=band,
        href=_absolute_href(str(asset["href"]), self_href),
        res_m=res_m,
        nodata=_float_or_none(raster.get("nodata")),
        data_type=data_type if isinstance(data_type, str) else None,
        declared_scale=_float_or_none(raster.get("scale")),
        declared_offset=_float_or_none(raster.get("offset")),
    )


def _self_href(item: Mapping[str, Any]) -> str | None:
    for link in item.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel") == "self" and link.get("href"):
            return str(link["href"])
    return None


# ----------------------------------------------------------------------------------------
# The reflectance rule
# ----------------------------------------------------------------------------------------


def _declared(item: Mapping[str, Any], field: str) -> float | None:
    """The ``raster:bands`` ``scale`` or ``offset`` declared on the reflectance bands.

    Required bands are looked at first; the first declaring one gives the value.
    """
    bands = band_assets(item)
    for band in _REFLECTANCE_BANDS:
        if band in bands:
            value = _float_or_none(_raster_band(bands[band][1]).get(field))
            if value is not None:
                return value
    return None


def _is_l1c(item: Mapping[str, Any]) -> bool:
    collection = str(item.get("collection") or "")
    product_type = str(_properties(item).get("s2:product_type") or "")
    return "l1c" in collection.lower() or "L1C" in product_type.upper()


def metadata_rule(item: Mapping[str, Any]) -> ReflectanceRule:
    """How an item's digital numbers become reflectance, from its metadata alone.

    In order:

    1. ``earthsearch:boa_offset_applied`` present: true → offset 0 (the offset was removed
       and the ``-0.1`` still declared in ``raster:bands`` must not be applied again);
       false → -0.1 when the processing baseline is 04.00 or newer, else 0.
    2. An offset declared in ``raster:bands`` on the reflectance bands → that offset
       (``sentinel-2-c1-l2a`` declares -0.1), unless a baseline before 04.00 says the
       pixels cannot carry one.
    3. A processing baseline: 04.00 or newer → -0.1 (Planetary Computer keeps the offset
       and declares nothing); older → 0.
    4. Otherwise 0, and the imagery stage lets the pixels decide.

    The scale is the declared ``raster:bands`` scale, else 0.0001.

    Parameters
    ----------
    item : dict
        A STAC item as JSON.

    Returns
    -------
    ReflectanceRule
        ``decided_by="metadata"`` with the reason in words.

    Examples
    --------
    >>> metadata_rule({"properties": {"s2:processing_baseline": "05.11"}}).offset
    -0.1
    """
    props = _properties(item)
    declared_scale = _declared(item, "scale")
    scale = declared_scale if declared_scale else DEFAULT_SCALE
    declared_offset = _declared(item, "offset")
    baseline_text = _baseline_text(props)
    baseline = parse_baseline(baseline_text)
    with_offset = baseline is not None and baseline >= _OFFSET_BASELINE

    flag = props.get("earthsearch:boa_offset_applied")
    if isinstance(flag, bool):
        if flag:
            offset = 0.0
            reason = (
                "earthsearch:boa_offset_applied is true: offset already removed; "
                f"the {declared_offset:g} in raster:bands is not applied again"
                if declared_offset
                else "earthsearch:boa_offset_applied is true: offset already removed"
            )
        elif with_offset:
            offset = BOA_OFFSET
            reason = (
                f"earthsearch:boa_offset_applied is false and baseline {baseline_text} "
                ">= 04.00: the pixels carry the +1000 offset"
            )
        else:
            offset = 0.0
            reason = "earthsearch:boa_offset_applied is false and " + (
                f"baseline {baseline_text} < 04.00: no offset in the pixels"
                if baseline
                else "no processing baseline: assuming no offset"
            )
    elif declared_offset is not None and not (declared_offset and baseline and not with_offset):
        offset = declared_offset
        reason = f"raster:bands declares offset {declared_offset:g}"
        if baseline_text:
            reason += f" (baseline {baseline_text})"
    elif baseline is not None:
        offset = BOA_OFFSET if with_offset else 0.0
        reason = (
            f"processing baseline {baseline_text} >= 04.00: the pixels carry the +1000 offset"
            if with_offset
            else f"processing baseline {baseline_text} < 04.00: no offset in the pixels"
        )
        if declared_offset:
            reason += f"; the declared offset {declared_offset:g} contradicts it and is ignored"
    else:
        offset = 0.0
        reason = "no offset metadata; the pixels decide (imagery stage)"

    if _is_l1c(item):
        reason += "; Level-1C: top-of-atmosphere reflectance, not surface reflectance"
    return ReflectanceRule(scale=scale, offset=offset, decided_by="metadata", reason=reason)


# ----------------------------------------------------------------------------------------
# Acquisition
# ----------------------------------------------------------------------------------------


def _platform(props: Mapping[str, Any]) -> str:
    platform = props.get("platform")
    return str(platform).strip().lower() if platform else "unknown"


def acquisition_key(item: Mapping[str, Any]) -> str:
    """The acquisition an item belongs to: items sharing it hold the same sensing.

    Two tiles of one datatake, and an item reprocessed with a newer baseline (or served by
    two collections), share it; each AOI takes one observation per acquisition. Built from,
    in order of preference:

    1. platform, sensing date (UTC) and relative orbit (``sat:relative_orbit``, or
       ``_R\\d{3}_`` in ``s2:product_uri``): ``sentinel-2b/2025-07-31/R095``. A satellite
       passes over a place once per day on one relative orbit.
    2. ``s2:datatake_id`` without its ``_Nxx.xx`` baseline suffix, so reprocessing keeps
       the key: ``datatake/GS2B_20250731T130249_043879``.
    3. platform and datetime floored to 10 minutes: ``sentinel-2b/2025-07-31T13:00``. Two
       items of one pass that fall either side of a 10-minute boundary get two keys; that
       costs a duplicate observation, never a lost one.

    Raises
    ------
    ItemError
        The item has no usable datetime (only for rule 3 and rule 1's date).
    """
    props = _properties(item)
    platform = _platform(props)
    when = item_datetime(item)
    orbit = props.get("sat:relative_orbit")
    if not isinstance(orbit, int) or isinstance(orbit, bool):
        match = _RELATIVE_ORBIT_IN_URI.search(str(props.get("s2:product_uri") or ""))
        orbit = int(match.group(1)) if match else None
    if orbit is not None and when is not None:
        return f"{platform}/{when.date().isoformat()}/R{orbit:03d}"
    datatake = props.get("s2:datatake_id")
    if isinstance(datatake, str) and datatake.strip():
        return "datatake/" + _BASELINE_SUFFIX.sub("", datatake.strip())
    if when is None:
        raise ItemError(f"item {item.get('id')}: no datetime or start_datetime")
    floored = when.replace(minute=when.minute - when.minute % 10, second=0, microsecond=0)
    return f"{platform}/{floored.strftime('%Y-%m-%dT%H:%M')}"


# ----------------------------------------------------------------------------------------
# Item → Scene
# ----------------------------------------------------------------------------------------


def scene_from_item(item: Mapping[str, Any], *, source: str, self_href: str | None = None) -> Scene:
    """Turn one STAC item (as JSON) into a :class:`Scene`.

    Parameters
    ----------
    item : dict
        The STAC item.
    source : str
        Where it came from (catalog URL or path), for messages and provenance.
    self_href : str, optional
        The item's own location; relative asset hrefs are resolved against it. Defaults to
        the item's ``self`` link.

    Returns
    -------
    Scene
        With assets keyed by common band name and the metadata reflectance rule.

    Raises
    ------
    ItemError
        No id, no datetime, or a required band (blue, green, red, nir) missing.
    """
    if not isinstance(item, Mapping):
        raise ItemError(f"{source}: an item is not a JSON object")
    item_id = item.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise ItemError(f"{source}: an item has no id")
    where = f"item {item_id} ({source})"
    when = item_datetime(item)
    if when is None:
        raise ItemError(f"{where}: no datetime or start_datetime")

    self_href = self_href or _self_href(item)
    bands = band_assets(item)
    missing = [band for band in REQUIRED_BANDS if band not in bands]
    if missing:
        raise ItemError(f"{where}: missing required assets: {', '.join(missing)}")
    assets = {
        band: _asset_ref(band, bands[band][1], self_href) for band in _WANTED_BANDS if band in bands
    }

    props = _properties(item)
    return Scene(
        id=item_id,
        collection=str(item.get("collection") or ""),
        datetime=when,
        platform=_platform(props),
        acquisition=acquisition_key(item),
        assets=assets,
        rule=metadata_rule(item),
        mgrs_tile=_mgrs_tile(props),
        epsg=_epsg(props),
        processing_baseline=_baseline_text(props),
        cloud_cover=_float_or_none(props.get("eo:cloud_cover")),
        simulated=props.get("monitor:simulated") is True,
        item_href=self_href,
        source=source,
        footprint=item_footprint(item),
        updated=_parse_datetime(props.get("updated")),
    )
