"""``monitor compare``: a before/after comparison of two windows of one AOI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.aoi import aoi_mask, to_wgs84
from monitor.catalog import find_scenes
from monitor.config import Settings
from monitor.detect.limits import stated_limits_note
from monitor.errors import (
    InputError,
    NotEnoughData,
)
from monitor.export import write_class_raster, write_geojson
from monitor.imagery import ChipCache, GdalSettings, load_chip
from monitor.job.common import Echo, aois_of, catalog_of, say_nothing, store_of
from monitor.models import RED_EDGE_BANDS, Chip


@dataclass(frozen=True)
class CompareOutput:
    aoi_id: str
    change_tif: Path
    changes_geojson: Path
    n_before: int
    n_after: int
    n_objects: int
    simulated: bool


def compare_aoi(
    settings: Settings,
    selectors: Sequence[str],
    *,
    before: tuple[dt.date, dt.date],
    after: tuple[dt.date, dt.date],
    out: Path,
    overwrite: bool = True,
    echo: Echo = say_nothing,
) -> CompareOutput:
    """``monitor compare``: median composites of two windows of one AOI, compared.

    Works on scenes without SCL (Level-1C pairs): only nodata is masked then. Writes
    ``out/change.tif`` (the contract's codes on the AOI grid) and ``out/changes.geojson``.
    """
    # The detector proper (scipy, scikit-image) is imported when it runs.
    from monitor.detect import CompareParams, compare_objects, compare_windows

    aois = aois_of(settings, selectors)
    if len(aois) != 1:
        raise InputError(f"compare works on one AOI; {len(aois)} given (choose one with --aoi)")
    [aoi] = aois
    if before[1] >= after[0]:
        raise InputError(
            f"the before window ({before[0]}/{before[1]}) must end before the "
            f"after window ({after[0]}/{after[1]}) starts"
        )
    catalog = catalog_of(settings)
    gdal = GdalSettings.from_settings(settings)
    with store_of(settings) as store:
        store.put_aoi(aoi)
        cache = ChipCache(settings.state_dir)
        windows: list[list[Chip]] = []
        for first, last in (before, after):
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
                    extra_bands=RED_EDGE_BANDS,
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
            windows.append(chips)
    before_chips, after_chips = windows
    params = CompareParams()
    result = compare_windows(
        [c.to_float() for c in before_chips],
        [c.to_float() for c in after_chips],
        params,
        outside=~aoi_mask(aoi),
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
    detections = [o.to_detection(to_wgs84(o.geometry_utm, aoi.grid.epsg)) for o in objects]
    change_tif = out / "change.tif"
    changes = out / "changes.geojson"
    write_class_raster(result.codes, aoi.grid, change_tif, overwrite=overwrite)
    write_geojson(
        detections,
        changes,
        overwrite=overwrite,
        metadata={
            "before": f"{before[0]}/{before[1]}",
            "after": f"{after[0]}/{after[1]}",
            "threshold": float(result.threshold),
            "shift_px": [round(float(v), 3) for v in result.shift],
            "limits": stated_limits_note(),
            "simulated": simulated,
        },
    )
    return CompareOutput(
        aoi.id, change_tif, changes, len(before_chips), len(after_chips), len(detections), simulated
    )
