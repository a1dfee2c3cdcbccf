"""``monitor run``: the incremental job over the AOIs (what cron or a systemd timer calls)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from monitor.cli.options import DATE, state_options
from monitor.cli.output import current_log, progress_bars
from monitor.config import Settings

if TYPE_CHECKING:
    from monitor.job import JobResult

__all__ = ["run", "rebuild", "cache", "print_run_summary"]


def print_run_summary(
    result: JobResult, info: Callable[[str], None], warn: Callable[[str], None]
) -> None:
    """The end of a run, from what it returned: the scene and detection totals, the stated
    limits, what it wrote and each error. Nothing when it stopped before its AOIs (it said
    why as it stopped)."""
    # The stated limits pull in numpy: imported here, after a run, not at start-up.
    from monitor.detect import stated_limits_note

    outputs = result.outputs
    if outputs is None:
        return
    totals = result.counts
    warn(
        f"scenes: {totals.get('new', 0)} new, {totals.get('used', 0)} used, "
        f"{totals.get('skipped', 0)} skipped, {totals.get('failed', 0)} failed"
    )
    warn(
        f"detections: {totals.get('detections_newly_new', 0)} new, "
        f"{totals.get('detections_newly_confirmed', 0)} newly confirmed, "
        f"{totals.get('detections_newly_rejected', 0)} newly rejected; open: "
        f"{totals.get('detections_confirmed', 0)} confirmed, "
        f"{totals.get('detections_probable', 0)} probable"
    )
    warn(stated_limits_note())
    exports, reports = outputs.exports, outputs.reports
    if exports is not None:
        info(
            f"exports: {exports} and {exports.with_suffix('.gpkg').name} (probable and "
            "confirmed detections; other formats: monitor export)"
        )
    if reports is not None:
        info(
            f"HTML reports: {reports.index} ({len(reports.pages)} AOI page(s), "
            f"{reports.seconds:.1f} s)"
        )
    if exports is None and reports is None:
        info("nothing new: reports and exports left as they are")
    for error in result.errors:
        warn(f"error: {error}")


@click.command()
@state_options
@click.option("--since", type=DATE, help="First day (UTC) to search [settings: start_date].")
@click.option("--until", type=DATE, help="Last day (UTC) to search [today].")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="AOIs processed at once, each in its own process.",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    help="Run the AOIs on this Dask distributed cluster (workers must share the "
    "state dir's filesystem).",
)
def run(
    settings: Settings,
    aoi: tuple[str, ...],
    since: dt.date | None,
    until: dt.date | None,
    workers: int,
    scheduler: str | None,
) -> int:
    """The incremental job: find scenes not yet processed, read their AOI windows, record
    what was used, skipped or failed and why, and print a summary.

    Exit 3 when some AOIs or scenes failed: they are recorded and retried on the next run.
    """
    # monitor.job pulls in the stages (numpy, shapely): imported when a command runs, so
    # that `monitor --help` stays fast.
    from monitor.job import run_job

    log = current_log()
    with progress_bars(log) as tick:
        result = run_job(
            settings,
            aoi,
            since=since,
            until=until,
            argv=sys.argv[1:],
            echo=log.info,
            detail=log.detail,
            alert=log.warn,
            workers=workers,
            scheduler=scheduler,
            progress=tick,
        )
        print_run_summary(result, log.info, log.warn)
    return result.exit_code


@click.command()
@state_options
@click.option(
    "--from",
    "from_",
    type=DATE,
    help="Keep detections first seen before this day as stored; replace later ones.",
)
def rebuild(settings: Settings, aoi: tuple[str, ...], from_: dt.date | None) -> int:
    """Recompute detections from the chip cache, without asking the catalog (after a new
    detector, late scenes or an edited AOI).

    The whole clear history of each AOI is replayed (the per-pixel model needs it); a chip
    no longer cached is read again from its source. Exit 3 when some AOIs failed.
    """
    from monitor.job import rebuild_aois

    result = rebuild_aois(settings, aoi, since=from_, argv=sys.argv[1:], echo=current_log().info)
    return result.exit_code


@click.command()
@state_options
@click.option(
    "--prune", is_flag=True, help="Free chips no detector state needs (see `monitor cache --help`)."
)
def cache(settings: Settings, aoi: tuple[str, ...], prune: bool) -> int:
    """The chip cache's size per AOI; with --prune, free the chips no detector state needs:
    those of AOIs not in the state, of an AOI's earlier outlines, of scenes not used, and
    files of interrupted writes. Chips a rebuild would replay are kept.
    """
    from monitor.job import cache_use

    use = cache_use(settings, aoi, prune=prune, echo=click.echo)
    if prune:
        click.echo(f"freed {use.freed_bytes / 1e6:.1f} MB ({use.removed_files} files)")
    for aoi_id, size in use.bytes_by_aoi.items():
        click.echo(f"  {aoi_id}: {size / 1e6:.1f} MB")
    click.echo(f"chip cache {use.root}: {sum(use.bytes_by_aoi.values()) / 1e6:.1f} MB")
    return 0
