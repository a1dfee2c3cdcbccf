"""``monitor rebuild``: detections recomputed from the chip cache."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from monitor.config import Settings
from monitor.errors import EXIT_OK, MissingState, MonitorError
from monitor.imagery import ChipCache, GdalSettings
from monitor.job.common import Echo, aois_of, require_state, say_nothing, store_of
from monitor.job.run import JobResult, close_run, record_aoi_failure, store_computed
from monitor.runner import compute_detections, detector_params
from monitor.store import state_lock


def rebuild_aois(
    settings: Settings,
    selectors: Sequence[str] = (),
    *,
    since: dt.date | None = None,
    argv: Sequence[str] = (),
    echo: Echo = say_nothing,
    deliver_alerts: bool = True,
) -> JobResult:
    """``monitor rebuild``: recompute each AOI's detector state and detections from the chip
    cache, without asking the catalog (after a new detector, late scenes, an edited AOI).

    The per-pixel model needs the whole clear history, so every used scene is replayed;
    ``since`` keeps the stored detections first seen before it as they are and replaces only
    later ones. A chip no longer cached is read again from its source. AOIs default to those
    of the AOI folder that the state knows.
    """

    require_state(settings)
    aois = aois_of(settings, selectors)
    result = JobResult(exit_code=EXIT_OK)
    with (
        store_of(settings, create=False) as store,
        state_lock(settings.state_dir, "monitor rebuild"),
    ):
        known = {a.id for a in store.list_aois()}
        if selectors:
            unknown = [a.id for a in aois if a.id not in known]
            if unknown:
                raise MissingState(
                    f"AOI {', '.join(unknown)}: not in the state yet (run `monitor run` first)"
                )
        aois = [a for a in aois if a.id in known]
        result.run_id = store.start_run("rebuild", list(argv))
        cache = ChipCache(settings.state_dir)
        gdal = GdalSettings.from_settings(settings)
        totals: Counter[str] = Counter()
        for aoi in aois:
            try:
                store.put_aoi(aoi)
                if not store.observations(aoi.id, status="used"):
                    raise MissingState("no scene used yet: nothing to rebuild")
                echo(
                    f"{aoi.id}: rebuilding from the chip cache"
                    + (f" (detections first seen before {since} kept)" if since else "")
                )
                computed = compute_detections(
                    aoi,
                    store,
                    cache,
                    gdal,
                    store.observations(aoi.id, status="used"),
                    settings.min_clear_fraction,
                    detector_params(settings),
                    rebuild=True,
                    keep_before=since,
                    say=echo,
                )
                info = store_computed(aoi, store, computed, result.run_id, echo)
            except MonitorError as exc:
                record_aoi_failure(result, aoi.id, exc, echo)
                continue
            result.per_aoi[aoi.id] = info
            totals["scenes_fed"] += info.scenes_fed
            totals.update({f"detections_{k}": v for k, v in info.detections.items()})
            echo(
                f"{aoi.id}: {info.scenes_fed} scenes replayed; "
                + ", ".join(f"{n} {k}" for k, n in sorted(info.detections.items()))
            )
        exports, reports = close_run(
            settings, store, result, totals, aois, deliver_alerts, echo, echo
        )
    if not aois:
        echo("no AOI of the state to rebuild")
    if exports is not None:
        echo(f"exports: {exports}")
    if reports is not None:
        echo(f"HTML reports: {reports.index}")
    return result
