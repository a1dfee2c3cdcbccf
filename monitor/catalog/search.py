"""The scene search of one AOI: one scene per acquisition, with the c1 → l2a month fallback."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.catalog.base import Catalog
from monitor.catalog.scenes import scene_from_item
from monitor.catalog.source import DEFAULT_API_COLLECTION
from monitor.errors import ConfigError, ItemError
from monitor.models import Aoi, Scene
from monitor.months import months_between

__all__ = ["SceneSearch", "find_scenes", "choose_scenes"]


@dataclass(frozen=True)
class SceneSearch:
    """What a search found for one AOI.

    Attributes
    ----------
    aoi_id : str
    scenes : tuple of Scene
        The chosen scenes, one per acquisition, sorted by datetime.
    duplicates : tuple of (Scene, str)
        Items of an acquisition that another item serves, and why that one won.
    rejected : tuple of (str, str)
        (item id, why) for items that are no usable scene: missing bands, no date, or a
        footprint that misses the AOI.
    monthly_counts : mapping
        ``"YYYY-MM"`` → {collection: number of chosen scenes}, every month of the range
        (empty mapping for a month without scenes).
    fallback_months : tuple of str
        Months whose scenes came from the fallback collection.
    """

    aoi_id: str
    scenes: tuple[Scene, ...]
    duplicates: tuple[tuple[Scene, str], ...] = ()
    rejected: tuple[tuple[str, str], ...] = ()
    monthly_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    fallback_months: tuple[str, ...] = ()


def _month_range(month: str, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    year, mon = (int(part) for part in month.split("-"))
    first = dt.date(year, mon, 1)
    following = dt.date(year + 1, 1, 1) if mon == 12 else dt.date(year, mon + 1, 1)
    return max(first, start), min(following - dt.timedelta(days=1), end)


def _coverage(scene: Scene, aoi_geometry: Any) -> float:
    """Share of the AOI polygon (0-1) inside the scene's footprint, in lon/lat."""
    if scene.footprint is None or aoi_geometry.area == 0:
        return 0.0
    return float(scene.footprint.intersection(aoi_geometry).area / aoi_geometry.area)


def _baseline_key(scene: Scene) -> tuple[int, int]:
    if not scene.processing_baseline:
        return (-1, -1)
    major, _, minor = scene.processing_baseline.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return (-1, -1)


def _updated_key(scene: Scene) -> float:
    return scene.updated.timestamp() if scene.updated is not None else float("-inf")


#: How every reason ``_why_not`` gives begins: a scene skipped for one of these lost to
#: another item of its acquisition.
DUPLICATE_REASON_PREFIXES: tuple[str, ...] = ("same acquisition as ", "superseded by reprocessed ")


def _why_not(loser: Scene, loser_share: float, winner: Scene, winner_share: float) -> str:
    """The reason a duplicate lost, in the terms that decided it."""
    if round(loser_share, 6) != round(winner_share, 6):
        return (
            f"same acquisition as {winner.id}: covers {loser_share:.0%} of the AOI "
            f"vs {winner_share:.0%}"
        )
    if _baseline_key(loser) != _baseline_key(winner):
        return f"superseded by reprocessed {winner.id} (baseline {winner.processing_baseline})"
    if _updated_key(loser) != _updated_key(winner):
        assert winner.updated is not None
        return (
            f"same acquisition as {winner.id}, updated later "
            f"({winner.updated.isoformat().replace('+00:00', 'Z')})"
        )
    return f"same acquisition as {winner.id} (same coverage, baseline and update; id order)"


def choose_scenes(
    scenes: Iterable[Scene],
    aoi_geometry: Any,
) -> tuple[list[Scene], list[tuple[Scene, str]], list[tuple[str, str]]]:
    """One scene per acquisition: the one covering most of the AOI.

    Ties go to the newer processing baseline, then the newer ``updated``, then the
    smaller id (so the choice never depends on the order a server returns items in).
    Scenes whose footprint misses the AOI are rejected.

    Returns
    -------
    chosen, duplicates, rejected
        Chosen scenes sorted by datetime; (scene, reason) duplicates; (id, reason) rejects.
    """
    by_acquisition: dict[str, list[tuple[Scene, float]]] = defaultdict(list)
    rejected: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for scene in scenes:
        if (scene.collection, scene.id) in seen:
            continue  # the same item returned twice (overlapping searches)
        seen.add((scene.collection, scene.id))
        share = _coverage(scene, aoi_geometry)
        if share <= 0.0:
            rejected.append(
                (
                    scene.id,
                    "does not cover the AOI"
                    if scene.footprint is not None
                    else "has no geometry or bbox: cannot place it on the AOI",
                )
            )
            continue
        by_acquisition[scene.acquisition].append((scene, share))

    chosen: list[Scene] = []
    duplicates: list[tuple[Scene, str]] = []
    for candidates in by_acquisition.values():
        # Sorting ascending by id first and then stably by the real keys descending gives
        # "largest share, newest baseline, newest update, smallest id".
        ranked = sorted(candidates, key=lambda pair: pair[0].id)
        ranked.sort(
            key=lambda pair: (round(pair[1], 6), _baseline_key(pair[0]), _updated_key(pair[0])),
            reverse=True,
        )
        winner, winner_share = ranked[0]
        chosen.append(winner)
        for loser, loser_share in ranked[1:]:
            duplicates.append((loser, _why_not(loser, loser_share, winner, winner_share)))
    chosen.sort(key=lambda scene: (scene.datetime, scene.id))
    duplicates.sort(key=lambda pair: (pair[0].datetime, pair[0].id))
    return chosen, duplicates, rejected


def _parse(
    items: Iterable[dict[str, Any]],
    source: str,
) -> tuple[list[Scene], list[tuple[str, str]], list[ItemError]]:
    scenes: list[Scene] = []
    rejected: list[tuple[str, str]] = []
    errors: list[ItemError] = []
    for item in items:
        try:
            scenes.append(scene_from_item(item, source=source))
        except ItemError as exc:
            item_id = item.get("id") if isinstance(item, Mapping) else None
            rejected.append((str(item_id or "?"), str(exc)))
            errors.append(exc)
    return scenes, rejected, errors


def find_scenes(
    catalog: Catalog,
    aoi: Aoi,
    start: dt.date,
    end: dt.date,
    *,
    max_cloud_cover: float | None = None,
) -> SceneSearch:
    """Search a catalog for an AOI's scenes over inclusive UTC days ``start`` to ``end``.

    On a STAC API searching ``sentinel-2-c1-l2a`` with a different fallback collection,
    months without any chosen scene are searched again in the fallback collection; each
    scene keeps its own reflectance rule.

    Parameters
    ----------
    catalog : Catalog
        From :func:`~monitor.catalog.open_catalog`.
    aoi : Aoi
        Its lon/lat geometry gives the search bbox and the coverage shares.
    start, end : date
        Inclusive UTC days.
    max_cloud_cover : float, optional
        Whole-tile ``eo:cloud_cover`` prefilter in percent.

    Returns
    -------
    SceneSearch

    Raises
    ------
    ItemError
        Items were found but none could become a scene (the first item's error).
    ConfigError
        ``end`` is before ``start``.
    SourceError
        The catalog failed.
    """
    if end < start:
        raise ConfigError(f"search of {aoi.id}: end {end} is before start {start}")
    bbox = tuple(float(v) for v in aoi.geometry.bounds)
    items = list(catalog.items(bbox, start, end, max_cloud_cover=max_cloud_cover))
    scenes, rejected, errors = _parse(items, catalog.source)
    chosen, duplicates, not_covering = choose_scenes(scenes, aoi.geometry)
    rejected.extend(not_covering)

    months = months_between(start, end)
    fallback_months: list[str] = []
    fallback = catalog.fallback_collection
    if (
        catalog.kind == "api"
        and catalog.collection == DEFAULT_API_COLLECTION
        and fallback
        and fallback != catalog.collection
        and _has_collection(catalog, fallback)
    ):
        served = {scene.date.strftime("%Y-%m") for scene in chosen}
        missing = [month for month in months if month not in served]
        for run_start, run_end in _runs(missing, months, start, end):
            # One search per run of consecutive missing months: 2022's gap is one request.
            extra_items = list(
                catalog.items(
                    bbox,
                    run_start,
                    run_end,
                    collections=[fallback],
                    max_cloud_cover=max_cloud_cover,
                )
            )
            extra_scenes, extra_rejected, extra_errors = _parse(extra_items, catalog.source)
            extra_chosen, extra_dups, extra_missing = choose_scenes(extra_scenes, aoi.geometry)
            scenes.extend(extra_scenes)
            rejected.extend(extra_rejected + extra_missing)
            errors.extend(extra_errors)
            duplicates.extend(extra_dups)
            chosen.extend(extra_chosen)
            fallback_months.extend(sorted({scene.date.strftime("%Y-%m") for scene in extra_chosen}))
        chosen.sort(key=lambda scene: (scene.datetime, scene.id))
        duplicates.sort(key=lambda pair: (pair[0].datetime, pair[0].id))

    if not scenes and errors:
        # Every item found was unusable: that is bad input, not an empty archive.
        raise errors[0]

    counts: dict[str, dict[str, int]] = {month: {} for month in months}
    for scene in chosen:
        per_collection = counts.setdefault(scene.date.strftime("%Y-%m"), {})
        per_collection[scene.collection] = per_collection.get(scene.collection, 0) + 1
    return SceneSearch(
        aoi_id=aoi.id,
        scenes=tuple(chosen),
        duplicates=tuple(duplicates),
        rejected=tuple(rejected),
        monthly_counts=counts,
        fallback_months=tuple(fallback_months),
    )


def _runs(
    missing: list[str],
    months: list[str],
    start: dt.date,
    end: dt.date,
) -> list[tuple[dt.date, dt.date]]:
    """Date ranges covering runs of consecutive months in ``missing``, clipped to the range."""
    runs: list[tuple[dt.date, dt.date]] = []
    previous_index = -2
    for month in missing:
        index = months.index(month)
        month_start, month_end = _month_range(month, start, end)
        if runs and index == previous_index + 1:
            runs[-1] = (runs[-1][0], month_end)
        else:
            runs.append((month_start, month_end))
        previous_index = index
    return runs


def _has_collection(catalog: Catalog, collection_id: str) -> bool:
    has = getattr(catalog, "has_collection", None)
    return bool(has(collection_id)) if callable(has) else True
