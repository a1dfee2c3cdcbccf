"""Windowed reads of one COG asset onto an AOI's 10 m grid, retried when a failure may pass.

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

Bad input raises ``ReadError`` with one line naming the href; a failure that may pass (5xx,
timeout, reset) is retried and, when the retries run out, raises ``TransientReadError``.
"""

from __future__ import annotations

import functools
import math
import os
import re
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from affine import Affine

from monitor.errors import ReadError
from monitor.imagery.env import GdalSettings, forget_cached, gdal_env
from monitor.models import AssetRef, Grid

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

__all__ = ["AssetRead", "TransientReadError", "read_asset", "read_assets"]

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


class TransientReadError(Exception):
    """An asset read that failed for reasons that may pass (5xx, timeout, reset)."""


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
    """Turn a rasterio error into ReadError (bad input) or TransientReadError (may pass)."""
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
    return TransientReadError(f"{href}: {innermost}")


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
    ``TransientReadError`` when the retries run out.
    """
    env = env or GdalSettings()
    last: TransientReadError | None = None
    for attempt in range(env.outer_retries + 1):
        if attempt:
            time.sleep(env.outer_backoff_s * 2 ** (attempt - 1))
        try:
            result = _read_asset_once(asset, grid, expected_epsg, env)
        except TransientReadError as exc:
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
    raise TransientReadError(f"{last} (after {env.outer_retries + 1} attempts)")


def read_assets(
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
