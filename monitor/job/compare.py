"""``monitor compare``: a before/after comparison of two windows of one AOI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.aoi import aoi_mask, to_wgs84
from monitor.catalog import find_scenes
from monitor.config import Settings
from monitor.detect.limits import stated_limits_note
from monitor.errors import (
    InputError,
    NotEnoughData,
)
from monitor.export import stage_class_raster, stage_geojson, stage_views_raster, staged
from monitor.imagery import ChipCache, GdalSettings, load_chip
from monitor.job.common import Echo, aois_of, catalog_of, say_nothing, store_of
from monitor.models import CHIP_BANDS, RED_EDGE_BANDS, Aoi, Chip

if TYPE_CHECKING:
    from monitor.detect.pairevidence import WindowViews


@dataclass(frozen=True)
class CompareOutput:
    """What ``monitor compare`` wrote.

    views_before, views_after : how many scenes each window's composite took and the clear
        views per AOI pixel (``views.tif``'s summary).
    bands : the bands compared (the six core bands, then with ``red_edge`` the red-edge
        bands when every scene of both windows has them).
    """

    aoi_id: str
    change_tif: Path
    changes_geojson: Path
    n_before: int
    n_after: int
    n_objects: int
    simulated: bool
    views_tif: Path
    views_before: WindowViews
    views_after: WindowViews
    bands: tuple[str, ...]


def compare_aoi(
    settings: Settings,
    selectors: Sequence[str],
    *,
    before: tuple[dt.date, dt.date],
    after: tuple[dt.date, dt.date],
    out: Path,
    overwrite: bool = True,
    red_edge: bool = True,
    built_model: bool = True,
    echo: Echo = say_nothing,
) -> CompareOutput:
    """``monitor compare``: median composites of two windows of one AOI, compared.

    Works on scenes without SCL (Level-1C pairs): only nodata is masked then. Writes
    ``out/change.tif`` (the contract's codes on the AOI grid), ``out/views.tif`` (clear
    views per pixel before and after) and ``out/changes.geojson`` (the objects with their
    evidence), all three or none. Without ``built_model`` every candidate is kept (the
    change vector as it is, for checking what the built-change model left out). With
    ``red_edge`` the red-edge bands are read and compared too when every scene of both
    windows has them.
    """
    # The detector proper (scipy, scikit-image) is imported when it runs.
    from monitor.detect import CompareParams, compare_objects, compare_windows
    from monitor.detect.pairevidence import pair_evidence, views_layers, window_views

    aoi = _one_aoi(settings, selectors, before, after)
    before_chips, after_chips = _read_windows(settings, aoi, (before, after), red_edge, echo)
    bands = _bands_of([*before_chips, *after_chips], red_edge)
    params = CompareParams(built_model=built_model)
    outside = ~aoi_mask(aoi)
    result = compare_windows(
        [c.to_float(bands) for c in before_chips],
        [c.to_float(bands) for c in after_chips],
        params,
        outside=outside,
        bands=bands,
    )
    simulated = any(c.simulated for c in (*before_chips, *after_chips))
    objects = compare_objects(
        result,
        aoi_id=aoi.id,
        grid=aoi.grid,
        before_last=max(c.datetime for c in before_chips).date(),
        after_first=min(c.datetime for c in after_chips).date(),
        before_ids=[c.scene_id for c in before_chips],
        after_ids=[c.scene_id for c in after_chips],
        simulated=simulated,
        params=params,
    )
    evidence = pair_evidence(result, objects)
    views = views_layers(result, outside)
    views_before = window_views(views[0], ~outside, len(before_chips))
    views_after = window_views(views[1], ~outside, len(after_chips))
    detections = [o.to_detection(to_wgs84(o.geometry_utm, aoi.grid.epsg)) for o in objects]
    change_tif, views_tif, changes = out / "change.tif", out / "views.tif", out / "changes.geojson"
    before_range, after_range = f"{before[0]}/{before[1]}", f"{after[0]}/{after[1]}"
    metadata = {
        "before": before_range,
        "after": after_range,
        "threshold": float(result.threshold),
        "shift_px": [round(float(v), 3) for v in result.shift],
        "limits": stated_limits_note(),
        "simulated": simulated,
        "bands": list(result.bands),
        "built_model": built_model,
        "views_before": views_before.to_metadata(),
        "views_after": views_after.to_metadata(),
    }
    views_tags = {
        "AOI": aoi.id,
        "BEFORE": before_range,
        "AFTER": after_range,
        "SIMULATED": "yes" if simulated else "no",
        "SOURCE": "monitor compare: clear views per pixel in each window's composite",
    }
    # The three files are one result: all are renamed into place, or none.
    with staged(overwrite) as staging:
        stage_class_raster(staging, result.codes, aoi.grid, change_tif, {})
        stage_views_raster(staging, views, aoi.grid, views_tif, views_tags)
        stage_geojson(
            staging,
            detections,
            changes,
            metadata=metadata,
            extra_properties=[e.properties() for e in evidence],
        )
    return CompareOutput(
        aoi_id=aoi.id,
        change_tif=change_tif,
        changes_geojson=changes,
        n_before=len(before_chips),
        n_after=len(after_chips),
        n_objects=len(detections),
        simulated=simulated,
        views_tif=views_tif,
        views_before=views_before,
        views_after=views_after,
        bands=result.bands,
    )


def _one_aoi(
    settings: Settings,
    selectors: Sequence[str],
    before: tuple[dt.date, dt.date],
    after: tuple[dt.date, dt.date],
) -> Aoi:
    """The one AOI selected; InputError for another number of them or windows out of order."""
    aois = aois_of(settings, selectors)
    if len(aois) != 1:
        raise InputError(f"compare works on one AOI; {len(aois)} given (choose one with --aoi)")
    if before[1] >= after[0]:
        raise InputError(
            f"the before window ({before[0]}/{before[1]}) must end before the "
            f"after window ({after[0]}/{after[1]}) starts"
        )
    return aois[0]


def _read_windows(
    settings: Settings,
    aoi: Aoi,
    windows: tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]],
    red_edge: bool,
    echo: Echo,
) -> tuple[list[Chip], list[Chip]]:
    """The usable chips of each window, read through the chip cache (the red-edge bands
    too with ``red_edge``); NotEnoughData when a window has none."""
    catalog = catalog_of(settings)
    gdal = GdalSettings.from_settings(settings)
    extra_bands = RED_EDGE_BANDS if red_edge else ()
    read: list[list[Chip]] = []
    with store_of(settings) as store:
        store.put_aoi(aoi)
        cache = ChipCache(settings.state_dir)
        for first, last in windows:
            search = find_scenes(
                catalog, aoi, first, last, max_cloud_cover=settings.max_cloud_cover
            )
            chips = []
            for scene in search.scenes:
                outcome = load_chip(
                    scene,
                    aoi,
                    cache,
                    env=gdal,
                    min_clear_fraction=settings.min_clear_fraction,
                    extra_bands=extra_bands,
                )
                echo(f"  {scene.date} {scene.id}: {outcome.status} ({outcome.reason})")
                if outcome.chip is not None:
                    chips.append(outcome.chip)
            if not chips:
                raise NotEnoughData(
                    f"AOI {aoi.id}: not enough clear observations between "
                    f"{first} and {last} ({len(search.scenes)} scenes found, "
                    "none clear enough)"
                )
            read.append(chips)
    before, after = read
    return before, after


def _bands_of(chips: Sequence[Chip], red_edge: bool) -> tuple[str, ...]:
    """The six core bands, then with ``red_edge`` the red-edge bands when every chip has
    them (a median composite needs each band from every view)."""
    if red_edge and all(c.has_bands(RED_EDGE_BANDS) for c in chips):
        return CHIP_BANDS + RED_EDGE_BANDS
    return CHIP_BANDS
