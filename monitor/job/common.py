"""What every command's wiring shares: callbacks, AOI resolution, the store, the catalog,
the names of the steps a run owes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from monitor.aoi import resolve_aois
from monitor.catalog import Catalog, catalog_from_settings
from monitor.catalog.search import DUPLICATE_REASON_PREFIXES
from monitor.config import Settings
from monitor.errors import InputError, NotEnoughData
from monitor.models import Aoi, Observation
from monitor.store import Store

#: Shared by the job's modules; not re-exported by ``monitor.job``.
__all__ = [
    "Echo",
    "Tick",
    "PROGRESS_AOIS",
    "PROGRESS_SCENES",
    "DEMO_AOIS",
    "EXPORTS_STEP",
    "REPORTS_STEP",
    "say_nothing",
    "tick_nothing",
    "aois_of",
    "store_of",
    "require_state",
    "period_of",
    "catalog_of",
    "no_scene_error",
    "lost_as_duplicate",
    "reports_step",
    "reports_owed",
]

Echo = Callable[[str], None]
#: Progress of a run: ``tick(what, done, total)``, ``what`` one of the names below.
Tick = Callable[[str, int, int], None]
PROGRESS_AOIS = "AOIs"
PROGRESS_SCENES = "scenes read"

#: The AOIs the demo simulates and runs; kk-park-east is read from kk-park's ground.
DEMO_AOIS: tuple[str, ...] = ("kk-park", "kk-park-east", "shwe-kokko", "mae-sot")


def say_nothing(_: str) -> None:
    return None


def tick_nothing(_what: str, _done: int, _total: int) -> None:
    return None


def aois_of(settings: Settings, selectors: Sequence[str]) -> list[Aoi]:
    """The AOIs the selectors name (ids or files; all of the AOI folder when none)."""
    return resolve_aois(list(selectors), settings.aoi_dir, max_area_km2=settings.max_aoi_area_km2)


def store_of(settings: Settings, create: bool = True) -> Store:
    """The state's store, opened (created with ``create``)."""
    return Store.open(settings.state_dir, create=create)


def require_state(settings: Settings) -> None:
    """Refuse a command that needs the state when nothing has run with it yet (the store's
    one ``MissingState`` message); called where the command first needs the state, after
    its own flag checks."""
    from monitor.store import Store

    Store.require(settings.state_dir)


def period_of(
    settings: Settings, since: dt.date | None, until: dt.date | None
) -> tuple[dt.date, dt.date]:
    start = since or settings.start_date
    end = until or dt.datetime.now(dt.UTC).date()
    if end < start:
        raise InputError(f"--until {end} is before --since {start}")
    return start, end


def catalog_of(settings: Settings) -> Catalog:
    """The catalog the settings name."""
    return catalog_from_settings(settings)


def no_scene_error(aoi: Aoi, catalog: Catalog, start: dt.date, end: dt.date) -> NotEnoughData:
    return NotEnoughData(
        f"AOI {aoi.id}: no scene of {catalog.source} covers it between {start} and {end}"
    )


def lost_as_duplicate(obs: Observation) -> bool:
    """An observation skipped because another item of its acquisition won (the catalog's
    duplicate reasons); when it wins again (the other item withdrawn), it is read."""
    return bool(obs.status == "skipped" and obs.reason.startswith(DUPLICATE_REASON_PREFIXES))


#: The ``pending_steps`` name of the job's own exports.
EXPORTS_STEP = "exports"


#: The ``pending_steps`` name of every HTML report at once: states marked before the marks
#: were per AOI hold it; still honoured (every page owed).
REPORTS_STEP = "reports"


def reports_step(aoi_id: str) -> str:
    """The ``pending_steps`` name of one AOI's HTML report (owed with the exports): a run,
    a review or a claim that changes what one page shows owes that page and the index, not
    every page (rewriting Mae Sot's took a minute for a review of a KK Park detection).
    A name per AOI in the existing table: no migration."""
    return f"{REPORTS_STEP}:{aoi_id}"


def reports_owed(store: Store, aoi_ids: Sequence[str]) -> list[str]:
    """Those of ``aoi_ids`` whose HTML report is owed (all of them under the old mark)."""
    if store.pending(REPORTS_STEP):
        return list(aoi_ids)
    return [aoi_id for aoi_id in aoi_ids if store.pending(reports_step(aoi_id))]
