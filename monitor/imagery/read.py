"""Windowed reads of one scene over one AOI: SCL first, then the six chip bands.

Each asset is read in its own native grid: the AOI grid is snapped to 20 m, and Sentinel-2
tiles start on multiples of 20 m, so the window of a 10 m band and of a 20 m band is a whole
number of pixels. A plain windowed read lets GDAL fetch only the tiles it touches, each row
of tiles as one merged range; a WarpedVRT would split those ranges, so it is used only when
the asset is not on the AOI's grid (another UTM zone, or a grid not aligned to it).

20 m bands (B11, B12, SCL) go onto the 10 m grid by repetition (nearest): each 20 m pixel
becomes exactly the 2 x 2 10 m pixels it covers, so values stay as measured, SCL classes
stay classes, and no-data never bleeds into neighbours; bilinear would invent values, mix
clear with cloudy pixels at edges and need a margin of extra rows (sometimes another row of
tiles). Every scene is resampled the same way, which is what a time series needs.

``load_chip`` turns an outcome into a value (``ReadOutcome``): used, skipped (too cloudy by
SCL, only SCL was read) or failed (transient errors that outlived the retries; nothing is
cached, so the next run tries again). Bad input raises ``ReadError`` with one line naming
the href.
"""

from __future__ import annotations

import functools
import math
import os
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from affine import Affine

from monitor import __version__
from monitor.aoi import aoi_mask
from monitor.errors import ReadError
from monitor.imagery.env import GdalSettings, forget_cached, gdal_env
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
    AssetRef,
    Chip,
    Grid,
    ReflectanceRule,
    Scene,
    scl_doubtful_share,
)

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

    from monitor.imagery.cache import ChipCache

__all__ = ["ReadOutcome", "AssetRead", "load_chip", "read_asset", "aoi_mask_for"]

#: What GDAL reads first from a COG (GDAL_INGESTED_BYTES_AT_OPEN), for the byte estimate.
_HEADER_BYTES = 16384


@dataclass(frozen=True)
class AssetRead:
    """One asset's pixels on the AOI's 10 m grid.

    ``data`` is (rows, cols) in the asset's dtype, 0 where there is no data (outside the
    asset too); ``bytes_estimate`` is the header plus the compressed tiles touched;
    ``warped`` says whether a WarpedVRT was needed.
    """

    href: str
    data: npt.NDArray[Any]
    bytes_estimate: int | None
    warped: bool
    attempts: int = 1


class _TransientReadError(Exception):
    """An asset read that failed for reasons that may pass (5xx, timeout, reset)."""


@dataclass
class _Tally:
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


def _gdal_path(href: str) -> str:
    if href.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlsplit(href).path)
    return href


def _is_remote(href: str) -> bool:
    return href.startswith(("http://", "https://"))


def _chain_text(exc: BaseException) -> list[str]:
    """Messages of an exception and its causes, outermost first."""
    texts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(texts) < 10:
        texts.append(" ".join(str(current).split()))
        current = current.__cause__ or current.__context__
    return texts


def _file_size(href: str, timeout_s: float) -> int | None:
    """The size of the file behind ``href``, or None when it cannot be learnt."""
    try:
        if _is_remote(href):
            request = urllib.request.Request(href, method="HEAD")
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:
                length = answer.headers.get("Content-Length")
                return int(length) if length is not None else None
        return os.path.getsize(_gdal_path(href))
    except (OSError, ValueError):
        return None


def _failure(href: str, exc: BaseException, tile_ends: list[int], env: GdalSettings) -> Exception:
    """Turn a rasterio error into ReadError (bad input) or _TransientReadError (may pass)."""
    texts = _chain_text(exc)
    joined = " | ".join(texts)
    innermost = texts[-1] if texts else type(exc).__name__
    if "not recognized as being in a supported file format" in joined:
        return ReadError(f"{href}: not a GeoTIFF (GDAL does not recognise the file)")
    if "No such file or directory" in joined:
        return ReadError(f"{href}: no such file")
    code = re.search(r"HTTP response code: (\d{3})", joined)
    if code and code.group(1).startswith("4") and code.group(1) not in ("408", "429"):
        return ReadError(f"{href}: HTTP {code.group(1)} (the asset cannot be fetched)")
    if tile_ends:
        size = _file_size(href, env.http_timeout_s)
        if size is not None and max(tile_ends) > size:
            return ReadError(
                f"{href}: truncated file (tiles end at byte {max(tile_ends)}, the file has {size})"
            )
    if not _is_remote(href):
        # A local file does not fail for passing reasons.
        return ReadError(f"{href}: unreadable GeoTIFF ({innermost})")
    return _TransientReadError(f"{href}: {innermost}")


def _native_window(ds: DatasetReader, grid: Grid) -> tuple[int, int, int, int, int] | None:
    """(row_off, col_off, rows, cols, factor) of the grid in the asset's own pixels, or
    None when the asset's pixels do not nest in the grid's."""
    t = ds.transform
    if t.b != 0 or t.d != 0 or not math.isclose(t.a, -t.e):
        return None
    factor_f = t.a / grid.res_m
    factor = int(round(factor_f))
    if factor < 1 or not math.isclose(factor_f, factor, abs_tol=1e-9):
        return None
    col_f = (grid.left - t.c) / t.a
    row_f = (t.f - grid.top) / t.a
    if grid.width % factor or grid.height % factor:
        return None
    if not (
        math.isclose(col_f, round(col_f), abs_tol=1e-6)
        and math.isclose(row_f, round(row_f), abs_tol=1e-6)
    ):
        return None
    return int(round(row_f)), int(round(col_f)), grid.height // factor, grid.width // factor, factor


def _tile_ends(
    ds: DatasetReader, row0: int, col0: int, rows: int, cols: int
) -> tuple[int, list[int]]:
    """Compressed bytes of the tiles a window touches, and where each tile ends."""
    block_h, block_w = ds.block_shapes[0]
    total, ends = 0, []
    for by in range(row0 // block_h, (row0 + rows - 1) // block_h + 1):
        for bx in range(col0 // block_w, (col0 + cols - 1) // block_w + 1):
            offset = ds.get_tag_item(f"BLOCK_OFFSET_{bx}_{by}", "TIFF", bidx=1)
            size = ds.get_tag_item(f"BLOCK_SIZE_{bx}_{by}", "TIFF", bidx=1)
            if offset is None or size is None:
                continue
            total += int(size)
            ends.append(int(offset) + int(size))
    return total, ends


def _read_asset_once(
    asset: AssetRef, grid: Grid, expected_epsg: int | None, env: GdalSettings
) -> AssetRead:
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.windows import Window

    href = asset.href
    try:
        ds = rasterio.open(_gdal_path(href))
    except RasterioError as exc:
        raise _failure(href, exc, [], env) from None
    with ds:
        if ds.driver != "GTiff":
            raise ReadError(f"{href}: not a GeoTIFF (GDAL reads it as {ds.driver})")
        epsg = ds.crs.to_epsg() if ds.crs else None
        if epsg is None or (expected_epsg is not None and epsg != expected_epsg):
            expected = f"EPSG:{expected_epsg}" if expected_epsg else f"EPSG:{grid.epsg}"
            raise ReadError(
                f"{href}: COG in an unexpected CRS ({ds.crs or 'none'}, expected {expected})"
            )
        nodata = ds.nodata
        native = _native_window(ds, grid) if epsg == grid.epsg else None
        if native is None:
            return _read_warped(ds, asset, grid, env)
        row0, col0, rows, cols, factor = native
        r0, c0 = max(row0, 0), max(col0, 0)
        r1, c1 = min(row0 + rows, ds.height), min(col0 + cols, ds.width)
        if r0 >= r1 or c0 >= c1:
            raise ReadError(
                f"{href}: the AOI window lies outside the asset (rows {row0}.."
                f"{row0 + rows}, cols {col0}..{col0 + cols} of a "
                f"{ds.height} x {ds.width} raster)"
            )
        tile_bytes, ends = _tile_ends(ds, r0, c0, r1 - r0, c1 - c0)
        out = np.zeros((rows, cols), dtype=ds.dtypes[0])
        try:
            part = ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
        except RasterioError as exc:
            raise _failure(href, exc, ends, env) from None
        if nodata not in (None, 0):
            part[part == nodata] = 0
        out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = part
    if factor > 1:
        out = np.repeat(np.repeat(out, factor, axis=0), factor, axis=1)
    return AssetRead(href, out, _HEADER_BYTES + tile_bytes, warped=False)


def _read_warped(ds: DatasetReader, asset: AssetRef, grid: Grid, env: GdalSettings) -> AssetRead:
    """Nearest-neighbour warp onto the grid, for assets not on it (rare: other UTM zone)."""
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioError
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import transform_bounds
    from rasterio.windows import from_bounds

    href = asset.href
    left, bottom, right, top = transform_bounds(grid.crs, ds.crs, *grid.bounds)
    a_left, a_bottom, a_right, a_top = ds.bounds
    if left >= a_right or right <= a_left or bottom >= a_top or top <= a_bottom:
        raise ReadError(
            f"{href}: the AOI window lies outside the asset (AOI bounds "
            f"{left:.0f},{bottom:.0f},{right:.0f},{top:.0f} in {ds.crs})"
        )
    win = (
        from_bounds(
            max(left, a_left),
            max(bottom, a_bottom),
            min(right, a_right),
            min(top, a_top),
            ds.transform,
        )
        .round_offsets()
        .round_lengths()
    )
    tile_bytes, ends = _tile_ends(
        ds,
        max(int(win.row_off), 0),
        max(int(win.col_off), 0),
        max(int(win.height), 1),
        max(int(win.width), 1),
    )
    src_nodata = ds.nodata if ds.nodata is not None else 0
    try:
        with WarpedVRT(
            ds,
            crs=grid.crs,
            transform=Affine(*grid.transform),
            width=grid.width,
            height=grid.height,
            resampling=Resampling.nearest,
            src_nodata=src_nodata,
            nodata=0,
        ) as vrt:
            data = vrt.read(1)
    except RasterioError as exc:
        raise _failure(href, exc, ends, env) from None
    return AssetRead(href, data, _HEADER_BYTES + tile_bytes, warped=True)


def read_asset(
    asset: AssetRef, grid: Grid, expected_epsg: int | None = None, env: GdalSettings | None = None
) -> AssetRead:
    """Read one asset's window on ``grid``, retrying transient failures.

    Call inside ``gdal_env`` (``load_chip`` does). Raises ``ReadError`` for bad input and
    ``_TransientReadError`` when the retries run out.
    """
    env = env or GdalSettings()
    last: _TransientReadError | None = None
    for attempt in range(env.outer_retries + 1):
        if attempt:
            time.sleep(env.outer_backoff_s * 2 ** (attempt - 1))
        try:
            result = _read_asset_once(asset, grid, expected_epsg, env)
        except _TransientReadError as exc:
            last = exc
            # GDAL remembers the failure for the process's life; forget it, or the retry
            # (and the next run in this worker) would fail without asking the server.
            forget_cached(asset.href)
            continue
        except ReadError:
            # A 404 or a broken file is this scene's failure for now, not for the process's
            # life: a later run in the same process (a Dask worker) must ask the server again.
            forget_cached(asset.href)
            raise
        return AssetRead(
            result.href, result.data, result.bytes_estimate, result.warped, attempts=attempt + 1
        )
    assert last is not None
    raise _TransientReadError(f"{last} (after {env.outer_retries + 1} attempts)")


def _read_bands(
    assets: list[AssetRef], grid: Grid, expected_epsg: int | None, env: GdalSettings
) -> list[AssetRead]:
    """Read several assets' windows at once, in threads, in the order given.

    Over HTTP each asset costs a few round trips; reading a scene's six bands together
    hides that latency (GDAL releases the GIL while it waits and decodes). Each thread
    enters its own ``rasterio.Env``: GDAL's configuration is per thread.
    """
    if env.band_threads <= 1 or len(assets) <= 1:
        return [read_asset(asset, grid, expected_epsg, env) for asset in assets]

    def read_one(asset: AssetRef) -> AssetRead:
        with gdal_env(env):
            return read_asset(asset, grid, expected_epsg, env)

    pool = _band_pool(env.band_threads)
    futures = [pool.submit(read_one, asset) for asset in assets]
    # Wait for every read before raising: no read may outlive the caller's attempt.
    wait(futures)
    return [future.result() for future in futures]


@functools.lru_cache(maxsize=4)
def _band_pool(threads: int) -> ThreadPoolExecutor:
    """One pool of band-reading threads per size, kept for the process's life (starting
    six threads for every scene cost more than the reads they sped up)."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="monitor-band")


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
    scene: Scene, grid: Grid, env: GdalSettings, tally: _Tally, bands_read: list[str]
) -> dict[str, npt.NDArray[np.uint16]]:
    """The digital numbers of every chip band the scene has, by band name."""
    dn: dict[str, npt.NDArray[np.uint16]] = {}
    wanted = [band for band in CHIP_BANDS if band in scene.assets]
    for band, got in zip(
        wanted, _read_bands([scene.assets[b] for b in wanted], grid, scene.epsg, env), strict=True
    ):
        tally.add(got)
        bands_read.append(band)
        dn[band] = got.data.astype(np.uint16)
    return dn


def _valid_pixels(
    dn: Mapping[str, npt.NDArray[np.uint16]], scl: npt.NDArray[np.uint8] | None, grid: Grid
) -> tuple[npt.NDArray[np.bool_], str]:
    """Pixels with data in every band and clear by SCL (by nodata alone without SCL), and
    the words for how they were masked."""
    has_data = np.ones(grid.shape, dtype=bool)
    for values in dn.values():
        has_data &= values > 0
    if scl is not None:
        return has_data & ~np.isin(scl, list(SCL_MASKED)), "scl"
    return has_data, "nodata only (the scene has no SCL)"


def _encode_chip_bands(
    dn: Mapping[str, npt.NDArray[np.uint16]], rule: ReflectanceRule, grid: Grid
) -> npt.NDArray[np.uint16]:
    """The chip's reflectance array (bands, rows, cols); 0 for a band the scene lacks."""
    reflectance = np.zeros((len(CHIP_BANDS),) + grid.shape, dtype=np.uint16)
    for i, band in enumerate(CHIP_BANDS):
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
) -> ReadOutcome:
    """A "used" outcome: the chip encoded under the checked rule, cached with its
    provenance."""
    grid = aoi.grid
    rule = check.rule
    metadata_rule = scene.rule
    reflectance = _encode_chip_bands(dn, rule, grid)
    missing_optional = [b for b in CHIP_BANDS if b not in dn]
    if scl is not None:
        reason = f"AOI {_percent(clear_fraction)} clear by SCL"
    else:
        reason = f"AOI {_percent(clear_fraction)} with data; no SCL, nodata masked only"
    if check.overridden:
        reason += f"; offset from the pixels ({rule.label}, metadata said {metadata_rule.label})"

    provenance = _base_provenance(scene, aoi, bands_read)
    provenance.update(
        status="used",
        reason=reason,
        clear_fraction=clear_fraction,
        min_clear_fraction=min_clear_fraction,
        bytes_read=tally.bytes_read,
        rule=_rule_dict(rule),
        metadata_rule=_rule_dict(metadata_rule) if check.overridden else None,
        offset_check=_offset_record(check),
        masked_by=masked_by,
        missing_bands=missing_optional,
        resampling_20m="nearest (2 x 2 repetition)",
        warped_assets=tally.warped,
        bands=list(CHIP_BANDS),
    )
    chip = Chip(
        aoi_id=aoi.id,
        scene_id=scene.id,
        datetime=scene.datetime,
        grid=grid,
        reflectance=reflectance,
        valid=valid,
        scl=scl,
        rule=rule,
        bands=CHIP_BANDS,
        simulated=scene.simulated,
        provenance=provenance,
    )
    outcome = ReadOutcome(
        "used",
        reason,
        chip,
        clear_fraction,
        rule,
        tally.bytes_read,
        scene.id,
        aoi.id,
        tally.attempts,
    )
    chip = cache.put(chip, outcome)
    return ReadOutcome(
        "used",
        reason,
        chip,
        clear_fraction,
        rule,
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
) -> ReadOutcome:
    """Read (or take from the cache) the chip of ``scene`` over ``aoi``.

    SCL is read first; when less than ``min_clear_fraction`` of the AOI's pixels are clear
    the other bands are not read and the outcome is "skipped" (cached as a small record).
    Otherwise B02 B03 B04 B08 B11 B12 are read, the offset is checked in the pixels, and
    the chip is cached with its provenance.

    Parameters
    ----------
    history
        Dark levels of the AOI's earlier scenes; by default taken from ``cache``.

    Returns
    -------
    ReadOutcome
        "failed" when transient errors outlived the retries (nothing is cached).

    Raises
    ------
    ReadError
        Bad input: not a GeoTIFF, a COG in an unexpected CRS, a window outside the asset,
        a truncated file, a missing required asset. One line naming the href.
    """
    env = env or GdalSettings()
    cached = cache.get(scene, aoi, min_clear_fraction=min_clear_fraction)
    if cached is not None:
        return cached
    missing = [b for b in REQUIRED_BANDS if b not in scene.assets]
    if missing:
        raise ReadError(
            f"scene {scene.id} ({scene.item_href or scene.collection}): "
            f"no {', '.join(missing)} asset"
        )
    grid = aoi.grid
    mask = aoi_mask_for(aoi)
    n_aoi = int(mask.sum()) or mask.size
    tally = _Tally()
    bands_read: list[str] = []
    metadata_rule = scene.rule

    try:
        with gdal_env(env):
            scl = _read_scl(scene, grid, env, tally, bands_read)
            if scl is not None:
                clear = ~np.isin(scl, list(SCL_MASKED))
                clear_fraction = float((clear & mask).sum()) / n_aoi
                if clear_fraction < min_clear_fraction:
                    reason = (
                        f"AOI {_percent(clear_fraction)} clear by SCL "
                        f"(< {_percent(min_clear_fraction)})"
                    )
                    return _skipped(
                        scene,
                        aoi,
                        cache,
                        reason=reason,
                        clear_fraction=clear_fraction,
                        min_clear_fraction=min_clear_fraction,
                        rule=metadata_rule,
                        tally=tally,
                        bands_read=bands_read,
                        masked_by="scl",
                    )
            dn = _read_chip_bands(scene, grid, env, tally, bands_read)
    except _TransientReadError as exc:
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

    valid, masked_by = _valid_pixels(dn, scl, grid)
    clear_fraction = float((valid & mask).sum()) / n_aoi

    check: OffsetCheck = check_offset(
        dark_level({b: dn[b] for b in DARK_BANDS if b in dn}, valid & mask, metadata_rule, scl),
        metadata_rule,
        history
        if history is not None
        else cache.offset_history(aoi.id, grid, before=scene.datetime),
        baseline=scene.processing_baseline,
        doubtful=scl_doubtful_share(scl, valid & mask),
    )
    rule = check.rule

    if clear_fraction < min_clear_fraction:
        # Only without SCL (or when the bands lack data where SCL was clear).
        label = (
            "clear by SCL and with data"
            if scl is not None
            else "with data (no SCL: nodata masked only)"
        )
        reason = f"AOI {_percent(clear_fraction)} {label} (< {_percent(min_clear_fraction)})"
        return _skipped(
            scene,
            aoi,
            cache,
            reason=reason,
            clear_fraction=clear_fraction,
            min_clear_fraction=min_clear_fraction,
            rule=rule,
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
    )
