"""``monitor cache``: the chip cache's size, with pruning of what no replay needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.config import Settings
from monitor.errors import (
    MissingState,
)
from monitor.imagery import ChipCache
from monitor.imagery.cache import grid_hash, safe_name
from monitor.job.common import Echo, aois_of, say_nothing, store_of
from monitor.store import Store, state_lock


@dataclass(frozen=True)
class CacheUse:
    """The chip cache: bytes per AOI, and what a prune removed."""

    root: Path
    bytes_by_aoi: dict[str, int]
    freed_bytes: int = 0
    removed_files: int = 0
    removed: tuple[str, ...] = ()


def cache_use(
    settings: Settings,
    selectors: Sequence[str] = (),
    *,
    prune: bool = False,
    echo: Echo = say_nothing,
) -> CacheUse:
    """``monitor cache [--prune]``: the chip cache's size, and with ``prune`` free the chips
    no detector state needs.

    A chip is needed while a replay (rebuild, late scene, new detector) could ask for it:
    a chip of a scene the state records as used for that AOI, on the AOI's current grid.
    Pruned: chips of AOIs the state does not hold, of an AOI's earlier grids (edited
    outlines), of scenes not used, and temporary files of interrupted writes. Records of
    skipped scenes (small sidecars) stay: they spare reading those scenes again. With
    ``selectors``, only those AOIs' chips are listed and pruned.
    """
    cache = ChipCache(settings.state_dir)
    only = {safe_name(a.id) for a in aois_of(settings, selectors)} if selectors else None
    freed = files = 0
    removed: list[str] = []
    if prune:
        if not Store.exists(settings.state_dir):
            raise MissingState(
                f"{settings.state_dir}: no state here; nothing to prune "
                "against (a chip cache without a state is never pruned)"
            )
        with (
            store_of(settings, create=False) as store,
            state_lock(settings.state_dir, "monitor cache --prune"),
        ):
            needed: dict[str, tuple[str, set[str]]] = {}
            for aoi in store.list_aois():
                used = {o.scene_id for o in store.observations(aoi.id, status="used")}
                needed[cache.folder(aoi.id, aoi.grid).parent.name] = (grid_hash(aoi.grid), used)
            for path, why in _prunable(cache, needed, only):
                size = path.stat().st_size
                path.unlink()
                freed += size
                files += 1
                removed.append(f"{path.relative_to(cache.root)} ({why})")
            for folder in sorted(cache.root.glob("*/*"), reverse=True) + sorted(
                cache.root.glob("*"), reverse=True
            ):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    sizes: dict[str, int] = {}
    if cache.root.is_dir():
        for folder in sorted(p for p in cache.root.iterdir() if p.is_dir()):
            if only is not None and folder.name not in only:
                continue
            sizes[folder.name] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return CacheUse(cache.root, sizes, freed, files, tuple(removed))


def _prunable(
    cache: ChipCache, needed: Mapping[str, tuple[str, set[str]]], only: set[str] | None = None
) -> list[tuple[Path, str]]:
    """Files of the chip cache that no detector state needs, with the reason."""
    out: list[tuple[Path, str]] = []
    if not cache.root.is_dir():
        return out
    for path in sorted(p for p in cache.root.rglob("*") if p.is_file()):
        parts = path.relative_to(cache.root).parts
        if only is not None and parts[0] not in only:
            continue
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            out.append((path, "left by an interrupted write"))
            continue
        if len(parts) != 3:
            continue  # not ours: leave it
        aoi_folder, grid_folder, name = parts
        if aoi_folder not in needed:
            out.append((path, "AOI not in the state"))
            continue
        current_grid, used = needed[aoi_folder]
        if grid_folder != current_grid:
            out.append((path, "an earlier outline's grid"))
            continue
        if path.suffix == ".npz":
            side = cache.sidecar(path.with_suffix(".json"))
            if side is None or side.get("status") != "used":
                out.append((path, "no sidecar vouches for it"))
            elif side.get("scene_id") not in used:
                out.append((path, "scene not used"))
                out.append((path.with_suffix(".json"), "scene not used"))
    return out
