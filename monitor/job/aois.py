"""``monitor aoi list``, ``aoi add``: the AOIs the state knows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.aoi import add_aoi as add_aoi_file
from monitor.aoi import check_report, load_aoi
from monitor.config import Settings
from monitor.job.common import aois_of, store_of
from monitor.models import Aoi
from monitor.store import Store


@dataclass(frozen=True)
class AoiEntry:
    aoi: Aoi
    facts: Mapping[str, Any]
    registered: bool


@dataclass(frozen=True)
class AddResult:
    aoi: Aoi
    path: Path
    geometry_changed: bool


def list_aois(settings: Settings, selectors: Sequence[str] = ()) -> list[AoiEntry]:
    """The AOIs of ``--aoi-dir`` (or ``--aoi``), their grid facts and whether the state has them."""
    aois = aois_of(settings, selectors)
    registered: dict[str, str] = {}
    if Store.exists(settings.state_dir):
        with store_of(settings, create=False) as store:
            registered = {a.id: a.geometry_hash for a in store.list_aois()}
    return [
        AoiEntry(aoi, check_report(aoi), registered.get(aoi.id) == aoi.geometry_hash)
        for aoi in aois
    ]


def add_aoi(settings: Settings, path: Path, *, overwrite: bool = False) -> AddResult:
    """Validate ``path``, copy it into the AOI folder and register it in the state."""
    # Validate first and open the state before copying: a bad file or unusable state
    # leaves both the AOI folder and the state untouched.
    load_aoi(path, max_area_km2=settings.max_aoi_area_km2)
    with store_of(settings) as store:
        written = add_aoi_file(
            path, settings.aoi_dir, max_area_km2=settings.max_aoi_area_km2, overwrite=overwrite
        )
        aoi = load_aoi(written, max_area_km2=settings.max_aoi_area_km2)
        before = store.get_aoi(aoi.id)
        store.put_aoi(aoi)
    changed = before is not None and before.geometry_hash != aoi.geometry_hash
    return AddResult(aoi, Path(written), changed)
