"""The chip of one scene over one AOI: SCL first, then the chip bands, as a ReadOutcome.

The chip bands are the six core bands and the red-edge bands asked for that the scene has
(:mod:`monitor.imagery.bands`); a cached chip that lacks an asked band the scene has gets
that band read and added.

How each asset's window is read (native grid or warped, 20 m bands by repetition, retries)
is in :mod:`monitor.imagery.asset`.

``load_chip`` turns an outcome into a value (``ReadOutcome``): used, skipped (too cloudy by
SCL, only SCL was read) or failed (transient errors that outlived the retries; nothing is
cached, so the next run tries again). Bad input raises ``ReadError`` with one line naming
the href.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from monitor import __version__
from monitor.aoi import aoi_mask
from monitor.errors import ReadError
from monitor.imagery.asset import AssetRead, TransientReadError, read_asset, read_assets
from monitor.imagery.bands import (
    extra_bands_asked,
    extra_bands_present,
    extra_record,
    with_added_bands,
)
from monitor.imagery.env import GdalSettings, gdal_env
from monitor.imagery.offset import (
    DARK_BANDS,
    OffsetCheck,
    OffsetHistory,
    check_offset,
    dark_level,
    encode_reflectance,
)
from monitor.imagery.outcome import ReadOutcome
from monitor.models import (
    CHIP_BANDS,
    REQUIRED_BANDS,
    SCL_MASKED,
    Aoi,
    Chip,
    Grid,
    ReflectanceRule,
    Scene,
    scl_doubtful_share,
)

if TYPE_CHECKING:
    from monitor.imagery.cache import ChipCache

__all__ = ["ReadOutcome", "AssetRead", "load_chip", "read_asset", "aoi_mask_for"]


@dataclass
class _Tally:
    """What one scene's reads have cost so far: bytes, the most attempts, warped assets."""

    bytes_read: int = 0
    attempts: int = 1
    warped: list[str] = field(default_factory=list)

    def add(self, read: AssetRead) -> None:
        self.bytes_read += read.bytes_estimate or 0
        self.attempts = max(self.attempts, read.attempts)
        if read.warped:
            self.warped.append(read.href)


def aoi_mask_for(aoi: Aoi) -> npt.NDArray[np.bool_]:
    """Pixels of the AOI's grid whose centre lies inside its polygon: bool (rows, cols)."""
    return aoi_mask(aoi)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def _software() -> dict[str, str]:
    import rasterio

    return {
        "monitor": __version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "numpy": np.__version__,
    }


def _base_provenance(scene: Scene, aoi: Aoi, bands_read: list[str]) -> dict[str, Any]:
    return {
        "aoi_id": aoi.id,
        "aoi_geometry_hash": aoi.geometry_hash,
        "scene_id": scene.id,
        "item_id": scene.id,
        "item_href": scene.item_href,
        "collection": scene.collection,
        "datetime": scene.datetime.isoformat(),
        "acquisition": scene.acquisition,
        "processing_baseline": scene.processing_baseline,
        "simulated": scene.simulated,
        "asset_hrefs": {b: scene.assets[b].href for b in bands_read},
        "software": _software(),
    }


def _rule_dict(rule: ReflectanceRule) -> dict[str, float | str]:
    return {
        "scale": rule.scale,
        "offset": rule.offset,
        "decided_by": rule.decided_by,
        "reason": rule.reason,
        "label": rule.label,
    }


def _skipped(
    scene: Scene,
    aoi: Aoi,
    cache: ChipCache,
    *,
    reason: str,
    clear_fraction: float,
    min_clear_fraction: float,
    rule: ReflectanceRule,
    tally: _Tally,
    bands_read: list[str],
    masked_by: str,
) -> ReadOutcome:
    """A "skipped" outcome, cached as a small record with its provenance."""
    outcome = ReadOutcome(
        "skipped",
        reason,
        None,
        clear_fraction,
        rule,
        tally.bytes_read,
        scene.id,
        aoi.id,
        tally.attempts,
    )
    provenance = _base_provenance(scene, aoi, bands_read)
    provenance.update(
        status="skipped",
        reason=reason,
        clear_fraction=clear_fraction,
        min_clear_fraction=min_clear_fraction,
        bytes_read=tally.bytes_read,
        rule=_rule_dict(rule),
        masked_by=masked_by,
    )
    cache.put_skipped(scene, aoi, outcome, provenance)
    return outcome


def _read_scl(
    scene: Scene, grid: Grid, env: GdalSettings, tally: _Tally, bands_read: list[str]
) -> npt.NDArray[np.uint8] | None:
    """The scene's SCL on the AOI grid, or None when the scene has none."""
    if not scene.has_scl:
        return None
    got = read_asset(scene.assets["scl"], grid, scene.epsg, env)
    tally.add(got)
    bands_read.append("scl")
    return got.data.astype(np.uint8)


def _read_chip_bands(
    scene: Scene,
    grid: Grid,
    env: GdalSettings,
    tally: _Tally,
    bands_read: list[str],
    extra: Sequence[str] = (),
) -> dict[str, npt.NDArray[np.uint16]]:
    """The digital numbers of every core band the scene has and of the ``extra`` bands (which
    it has), by band name; read together, in threads."""
    dn: dict[str, npt.NDArray[np.uint16]] = {}
    wanted = [band for band in CHIP_BANDS if band in scene.assets] + list(extra)
    for band, got in zip(
        wanted, read_assets([scene.assets[b] for b in wanted], grid, scene.epsg, env), strict=True
    ):
        tally.add(got)
        bands_read.append(band)
        dn[band] = got.data.astype(np.uint16)
    return dn


def _valid_pixels(
    dn: Mapping[str, npt.NDArray[np.uint16]], scl: npt.NDArray[np.uint8] | None, grid: Grid
) -> tuple[npt.NDArray[np.bool_], str]:
    """Pixels with data in every core band and clear by SCL (by nodata alone without SCL),
    and the words for how they were masked. Red-edge bands do not count: a chip's mask is
    the same with or without them."""
    has_data = np.ones(grid.shape, dtype=bool)
    for band, values in dn.items():
        if band in CHIP_BANDS:
            has_data &= values > 0
    if scl is not None:
        return has_data & ~np.isin(scl, list(SCL_MASKED)), "scl"
    return has_data, "nodata only (the scene has no SCL)"


def _encode_chip_bands(
    dn: Mapping[str, npt.NDArray[np.uint16]],
    rule: ReflectanceRule,
    grid: Grid,
    bands: Sequence[str] = CHIP_BANDS,
) -> npt.NDArray[np.uint16]:
    """The chip's reflectance array (bands, rows, cols); 0 for a band the scene lacks."""
    reflectance = np.zeros((len(bands),) + grid.shape, dtype=np.uint16)
    for i, band in enumerate(bands):
        if band in dn:
            reflectance[i] = encode_reflectance(dn[band], rule)
    return reflectance


def _offset_record(check: OffsetCheck) -> dict[str, object]:
    """The offset check as the provenance records it."""
    return {
        "verdict": check.verdict,
        "dark_level_as_read": check.dark_level_as_read,
        "dark_level_under_metadata": check.dark.level if check.dark else None,
        "dark_per_band_under_metadata": dict(check.dark.per_band) if check.dark else None,
        "dark_source": check.dark.source if check.dark else None,
        "dark_pixels": check.dark.n_pixels if check.dark else None,
        "history_median": check.history_median,
    }


def _used_reason(clear_fraction: float, has_scl: bool, check: OffsetCheck, scene: Scene) -> str:
    """Why a scene is used: how much of the AOI is clear, and an offset the pixels decided."""
    if has_scl:
        reason = f"AOI {_percent(clear_fraction)} clear by SCL"
    else:
        reason = f"AOI {_percent(clear_fraction)} with data; no SCL, nodata masked only"
    if check.overridden:
        reason += f"; offset from the pixels ({check.rule.label}, metadata said {scene.rule.label})"
    return reason


def _used_provenance(
    scene: Scene,
    aoi: Aoi,
    *,
    reason: str,
    clear_fraction: float,
    min_clear_fraction: float,
    check: OffsetCheck,
    tally: _Tally,
    bands_read: list[str],
    masked_by: str,
    missing_bands: list[str],
    bands: Sequence[str],
    extra_asked: Sequence[str],
) -> dict[str, Any]:
    """The provenance a used chip is cached with; the extra bands' entries only when some
    were asked for, so chips read without them are recorded as before."""
    provenance = _base_provenance(scene, aoi, bands_read)
    provenance.update(
        status="used",
        reason=reason,
        clear_fraction=clear_fraction,
        min_clear_fraction=min_clear_fraction,
        bytes_read=tally.bytes_read,
        rule=_rule_dict(check.rule),
        metadata_rule=_rule_dict(scene.rule) if check.overridden else None,
        offset_check=_offset_record(check),
        masked_by=masked_by,
        missing_bands=missing_bands,
        resampling_20m="nearest (2 x 2 repetition)",
        warped_assets=tally.warped,
        bands=list(bands),
    )
    if extra_asked:
        provenance.update(extra_record(scene, extra_asked, bands))
    return provenance


def _used(
    scene: Scene,
    aoi: Aoi,
    cache: ChipCache,
    *,
    dn: Mapping[str, npt.NDArray[np.uint16]],
    scl: npt.NDArray[np.uint8] | None,
    valid: npt.NDArray[np.bool_],
    clear_fraction: float,
    min_clear_fraction: float,
    check: OffsetCheck,
    tally: _Tally,
    bands_read: list[str],
    masked_by: str,
    extra_asked: Sequence[str],
) -> ReadOutcome:
    """A "used" outcome: the chip encoded under the checked rule, cached with its
    provenance."""
    grid = aoi.grid
    rule = check.rule
    bands = CHIP_BANDS + tuple(b for b in extra_asked if b in dn)
    reason = _used_reason(clear_fraction, scl is not None, check, scene)
    provenance = _used_provenance(
        scene,
        aoi,
        reason=reason,
        clear_fraction=clear_fraction,
        min_clear_fraction=min_clear_fraction,
        check=check,
        tally=tally,
        bands_read=bands_read,
        masked_by=masked_by,
        missing_bands=[b for b in CHIP_BANDS if b not in dn],
        bands=bands,
        extra_asked=extra_asked,
    )
    chip = Chip(
        aoi_id=aoi.id,
        scene_id=scene.id,
        datetime=scene.datetime,
        grid=grid,
        reflectance=_encode_chip_bands(dn, rule, grid, bands),
        valid=valid,
        scl=scl,
        rule=rule,
        bands=bands,
        simulated=scene.simulated,
        provenance=provenance,
    )

    def outcome(of: Chip) -> ReadOutcome:
        return ReadOutcome(
            "used",
            reason,
            of,
            clear_fraction,
            rule,
            tally.bytes_read,
            scene.id,
            aoi.id,
            tally.attempts,
        )

    # The cache answers with the chip as stored; the outcome returned carries that one.
    return outcome(cache.put(chip, outcome(chip)))


def _require_assets(scene: Scene) -> None:
    """Refuse a scene that lacks one of the required bands' assets (ReadError)."""
    missing = [b for b in REQUIRED_BANDS if b not in scene.assets]
    if missing:
        raise ReadError(
            f"scene {scene.id} ({scene.item_href or scene.collection}): "
            f"no {', '.join(missing)} asset"
        )


def _aoi_share(pixels: npt.NDArray[np.bool_], mask: npt.NDArray[np.bool_]) -> float:
    """The share of the AOI's pixels (all of the grid when none is inside) that ``pixels``
    marks."""
    n_aoi = int(mask.sum()) or mask.size
    return float((pixels & mask).sum()) / n_aoi


def _skip_by_scl(
    scene: Scene,
    aoi: Aoi,
    cache: ChipCache,
    scl: npt.NDArray[np.uint8] | None,
    mask: npt.NDArray[np.bool_],
    min_clear_fraction: float,
    tally: _Tally,
    bands_read: list[str],
) -> ReadOutcome | None:
    """The "skipped" outcome when SCL alone shows too little of the AOI clear, else None
    (also when the scene has no SCL): the other bands are then not read."""
    if scl is None:
        return None
    clear_fraction = _aoi_share(~np.isin(scl, list(SCL_MASKED)), mask)
    if clear_fraction >= min_clear_fraction:
        return None
    reason = f"AOI {_percent(clear_fraction)} clear by SCL (< {_percent(min_clear_fraction)})"
    return _skipped(
        scene,
        aoi,
        cache,
        reason=reason,
        clear_fraction=clear_fraction,
        min_clear_fraction=min_clear_fraction,
        rule=scene.rule,
        tally=tally,
        bands_read=bands_read,
        masked_by="scl",
    )


def _failed(
    scene: Scene, aoi: Aoi, env: GdalSettings, tally: _Tally, exc: Exception
) -> ReadOutcome:
    """A "failed" outcome: transient errors outlived the retries; nothing is cached."""
    return ReadOutcome(
        "failed",
        str(exc),
        None,
        None,
        None,
        tally.bytes_read or None,
        scene.id,
        aoi.id,
        env.outer_retries + 1,
    )


def _checked_offset(
    scene: Scene,
    aoi: Aoi,
    cache: ChipCache,
    dn: Mapping[str, npt.NDArray[np.uint16]],
    scl: npt.NDArray[np.uint8] | None,
    clear_in_aoi: npt.NDArray[np.bool_],
    history: OffsetHistory | None,
) -> OffsetCheck:
    """The metadata's reflectance offset checked against the dark pixels of the AOI, and
    against the AOI's earlier scenes (by default those in ``cache``)."""
    metadata_rule = scene.rule
    dark = dark_level({b: dn[b] for b in DARK_BANDS if b in dn}, clear_in_aoi, metadata_rule, scl)
    if history is None:
        history = cache.offset_history(aoi.id, aoi.grid, before=scene.datetime)
    return check_offset(
        dark,
        metadata_rule,
        history,
        baseline=scene.processing_baseline,
        doubtful=scl_doubtful_share(scl, clear_in_aoi),
    )


def _too_little_data_reason(clear_fraction: float, min_clear_fraction: float, has_scl: bool) -> str:
    """Why a scene whose bands were read is skipped: too few pixels with data (and clear by
    SCL when it has SCL)."""
    label = "clear by SCL and with data" if has_scl else "with data (no SCL: nodata masked only)"
    return f"AOI {_percent(clear_fraction)} {label} (< {_percent(min_clear_fraction)})"


def _with_present_bands(
    scene: Scene,
    aoi: Aoi,
    cache: ChipCache,
    cached: ReadOutcome,
    present: Sequence[str],
    asked: Sequence[str],
    env: GdalSettings,
) -> ReadOutcome:
    """A cached outcome as it is when its chip has the ``present`` extra bands; else the
    chip with those it lacks read, encoded under its own rule and added, cached again with
    its provenance extended. "failed" when the reads' transient errors outlive the retries
    (the chip is never handed back short)."""
    chip = cached.chip
    if chip is None or chip.has_bands(present):
        return cached
    missing = [b for b in present if b not in chip.bands]
    tally = _Tally()
    try:
        with gdal_env(env):
            reads = read_assets([scene.assets[b] for b in missing], aoi.grid, scene.epsg, env)
    except TransientReadError as exc:
        return _failed(scene, aoi, env, tally, exc)
    added: dict[str, npt.NDArray[np.uint16]] = {}
    for band, got in zip(missing, reads, strict=True):
        tally.add(got)
        added[band] = encode_reflectance(got.data.astype(np.uint16), chip.rule)
    merged = with_added_bands(chip, added)
    provenance = dict(chip.provenance)
    provenance.update(
        asset_hrefs={
            **provenance.get("asset_hrefs", {}),
            **{b: scene.assets[b].href for b in added},
        },
        bands=list(merged.bands),
        bands_added={"bands": list(added), "bytes_read": tally.bytes_read},
        warped_assets=list(provenance.get("warped_assets", [])) + tally.warped,
        **extra_record(scene, asked, merged.bands),
    )
    stored = cache.put(replace(merged, provenance=provenance), cached)
    return ReadOutcome(
        "used",
        cached.reason,
        stored,
        cached.clear_fraction,
        stored.rule,
        tally.bytes_read,
        scene.id,
        aoi.id,
        tally.attempts,
    )


def load_chip(
    scene: Scene,
    aoi: Aoi,
    cache: ChipCache,
    *,
    env: GdalSettings | None = None,
    min_clear_fraction: float = 0.1,
    history: OffsetHistory | None = None,
    extra_bands: Sequence[str] = (),
) -> ReadOutcome:
    """Read (or take from the cache) the chip of ``scene`` over ``aoi``.

    SCL is read first; when less than ``min_clear_fraction`` of the AOI's pixels are clear
    the other bands are not read and the outcome is "skipped" (cached as a small record).
    Otherwise B02 B03 B04 B08 B11 B12 (and the ``extra_bands`` the scene has) are read, the
    offset is checked in the pixels, and the chip is cached with its provenance.

    Parameters
    ----------
    history
        Dark levels of the AOI's earlier scenes; by default taken from ``cache``.
    extra_bands
        Red-edge bands (of RED_EDGE_BANDS) to carry after the six core bands, read when the
        scene has their assets; an asked band the scene lacks is left out and named in the
        provenance. A cached chip lacking one the scene has gets it read and added; a
        cached chip with more bands than asked is returned as it is.

    Returns
    -------
    ReadOutcome
        "failed" when transient errors outlived the retries (nothing is cached).

    Raises
    ------
    ReadError
        Bad input: not a GeoTIFF, a COG in an unexpected CRS, a window outside the asset,
        a truncated file, a missing required asset. One line naming the href.
    ValueError
        An extra band that is not one of RED_EDGE_BANDS.
    """
    env = env or GdalSettings()
    asked = extra_bands_asked(extra_bands)
    present = extra_bands_present(scene, asked)
    cached = cache.get(scene, aoi, min_clear_fraction=min_clear_fraction)
    if cached is not None:
        return _with_present_bands(scene, aoi, cache, cached, present, asked, env)
    _require_assets(scene)
    grid = aoi.grid
    mask = aoi_mask_for(aoi)
    tally = _Tally()
    bands_read: list[str] = []

    try:
        with gdal_env(env):
            scl = _read_scl(scene, grid, env, tally, bands_read)
            skipped = _skip_by_scl(
                scene, aoi, cache, scl, mask, min_clear_fraction, tally, bands_read
            )
            if skipped is not None:
                return skipped
            dn = _read_chip_bands(scene, grid, env, tally, bands_read, present)
    except TransientReadError as exc:
        return _failed(scene, aoi, env, tally, exc)

    valid, masked_by = _valid_pixels(dn, scl, grid)
    clear_fraction = _aoi_share(valid, mask)
    check = _checked_offset(scene, aoi, cache, dn, scl, valid & mask, history)

    if clear_fraction < min_clear_fraction:
        # Only without SCL (or when the bands lack data where SCL was clear).
        return _skipped(
            scene,
            aoi,
            cache,
            reason=_too_little_data_reason(clear_fraction, min_clear_fraction, scl is not None),
            clear_fraction=clear_fraction,
            min_clear_fraction=min_clear_fraction,
            rule=check.rule,
            tally=tally,
            bands_read=bands_read,
            masked_by=masked_by,
        )

    return _used(
        scene,
        aoi,
        cache,
        dn=dn,
        scl=scl,
        valid=valid,
        clear_fraction=clear_fraction,
        min_clear_fraction=min_clear_fraction,
        check=check,
        tally=tally,
        bands_read=bands_read,
        masked_by=masked_by,
        extra_asked=asked,
    )
