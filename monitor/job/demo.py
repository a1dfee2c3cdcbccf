"""``monitor simulate``, ``monitor demo``: simulated archives run through the real code."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.aoi import resolve_aois
from monitor.config import Settings
from monitor.errors import StateError
from monitor.imagery import ChipCache
from monitor.job.common import DEMO_AOIS, Echo, Tick, aois_of, say_nothing, store_of
from monitor.job.report import owed_reports
from monitor.job.run import JobResult, run_job
from monitor.models import Aoi

if TYPE_CHECKING:
    from monitor.simulate import SimulationResult


def simulate_aois(
    settings: Settings, selectors: Sequence[str], out: Path, **options: Any
) -> SimulationResult:
    """``monitor simulate``: a simulated archive of the given AOIs (all of --aoi-dir if none).

    ``options`` go to ``simulate_archive`` as they are (seed, style, start, end, quicklook,
    overwrite, world, red_edge).
    """
    # The simulator pulls in scipy: imported when it runs.
    from monitor.simulate import simulate_archive

    return simulate_archive(aois_of(settings, selectors), out, **options)


#: The demo's period: the 2025 construction at KK Park, the October 2025 raid and the
#: demolitions that followed, with two years of history before.
DEMO_PERIOD = (dt.date(2023, 7, 1), dt.date(2026, 6, 30))


@dataclass(frozen=True)
class DemoPaths:
    """Where ``monitor demo`` keeps things. The demo has its own state and reports, so its
    simulated detections never mix with a real run's for AOIs of the same id."""

    archive: Path
    state_dir: Path
    reports_dir: Path

    @classmethod
    def of(cls, settings: Settings) -> DemoPaths:
        return cls(
            archive=settings.state_dir / "demo-archive",
            state_dir=settings.state_dir / "demo-state",
            reports_dir=settings.reports_dir / "demo",
        )


def run_demo(
    settings: Settings,
    echo: Echo = say_nothing,
    *,
    aoi_ids: Sequence[str] = DEMO_AOIS,
    period: tuple[dt.date, dt.date] = DEMO_PERIOD,
    detail: Echo = say_nothing,
    alert: Echo | None = None,
    progress: Tick | None = None,
    on_run: Callable[[JobResult], None] | None = None,
) -> JobResult:
    """``monitor demo``: simulate the demo AOIs once, then run them through the real code path.

    The archive is simulated again when the simulator (or the AOIs) changed since; the demo's
    own state and reports, derived from the old archive, are then removed first.
    ``on_run`` is given the run's result as soon as the run ends (to print its summary).
    """
    paths = DemoPaths.of(settings)
    aois = resolve_aois(list(aoi_ids), settings.aoi_dir, max_area_km2=settings.max_aoi_area_km2)
    sim = _demo_archive(paths, aois, period, echo)
    demo_settings = settings.replace(
        stac=str(sim.collection_path),
        collection=None,
        state_dir=paths.state_dir,
        reports_dir=paths.reports_dir,
    )
    job = run_job(
        demo_settings,
        [a.id for a in aois],
        since=period[0],
        until=period[1],
        argv=["demo"],
        echo=echo,
        workers=max(1, min(2, os.cpu_count() or 1)),
        detail=detail,
        alert=alert,
        deliver_alerts=False,
        progress=progress,
    )
    if on_run is not None:
        on_run(job)
    # The reports read the chips: written now (when the run did not) before they go.
    with store_of(demo_settings, create=False) as report_store:
        owed_reports(demo_settings, report_store, echo)
    _drop_chips(paths, echo)
    echo(f"demo state: {paths.state_dir} (monitor status --state-dir {paths.state_dir})")
    echo(
        f"demo detections (SIMULATED): {paths.reports_dir / 'detections.gpkg'} (QGIS), "
        f"{paths.reports_dir / 'detections.geojson'}"
    )
    echo(f"planted truth: {sim.truth_geojson}")
    echo(f"HTML reports (SIMULATED DATA): {paths.reports_dir / 'index.html'}")
    return job


def _demo_archive(
    paths: DemoPaths, aois: Sequence[Aoi], period: tuple[dt.date, dt.date], echo: Echo
) -> SimulationResult:
    """The demo's simulated archive, simulated again when the simulator or
    the AOIs changed; the state and reports derived from an earlier one are removed."""
    # The simulator pulls in scipy: imported when the demo runs.
    from monitor.simulate import MARKER, simulate_archive

    if (
        paths.archive.exists()
        and any(paths.archive.iterdir())
        and not (paths.archive / MARKER).is_file()
    ):
        raise StateError(
            f"{paths.archive} exists and is not a demo archive; move it away "
            "(monitor demo keeps its simulated archive there)"
        )
    echo(f"demo archive (SIMULATED DATA): {paths.archive}")
    # Our own folder: a different (older) simulation in it is replaced, not refused.
    # The demo shows the fixed, default world (its figures in the docs are that world's),
    # without the red-edge bands: its run does not read them, and they would take the
    # archive over its 1 GB budget.
    sim = simulate_archive(
        aois,
        paths.archive,
        start=period[0],
        end=period[1],
        overwrite=True,
        world="default",
        red_edge=False,
        progress=lambda line: echo(f"  {line}"),
    )
    if sim.reused:
        echo("  simulated before with this simulator and these AOIs: reused")
    else:
        echo(
            f"  {sim.n_items} items, {sim.n_changes} planted changes, "
            f"{sim.bytes_written / 1e6:.0f} MB in {sim.seconds:.0f} s"
        )
        for derived in (paths.state_dir, paths.reports_dir):
            if derived.exists():
                echo(f"  removing {derived}: derived from an earlier demo archive")
                shutil.rmtree(derived)
    return sim


def _drop_chips(paths: DemoPaths, echo: Echo) -> None:
    """Drop the demo's chip cache.

    The demo's chips are copies of windows of its own local archive: dropped once the
    detector has them, to keep the demo within its disk budget (1 GB; they were 0.7 GB).
    A rebuild, or a late scene's replay, reads them again from the archive.
    """
    cache = ChipCache(paths.state_dir)
    if cache.root.is_dir():
        freed = cache.size_bytes()
        shutil.rmtree(cache.root)
        echo(
            f"chip cache dropped ({freed / 1e6:.0f} MB): the demo's chips are copies of "
            "its local archive, read again if a rebuild needs them"
        )
