"""``monitor claim``: test a claim ("N of M buildings demolished by D") against the
built-up timeline of one AOI, print what Sentinel-2 supports and store it for the report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from monitor.cli.options import DATE, state_options
from monitor.config import Settings
from monitor.errors import InputError

__all__ = ["claim"]


@click.command()
@state_options
@click.option("--demolished", type=int, metavar="N", help="Buildings claimed demolished.")
@click.option("--total", type=int, metavar="M", help="Buildings in total (with --demolished).")
@click.option(
    "--built-area",
    "built_area",
    type=float,
    metavar="A",
    help="Or: the roofed area in m² claimed for D.",
)
@click.option(
    "--by", "by", type=DATE, required=True, help="The day the claim refers to (demolished by D)."
)
@click.option(
    "--since",
    type=DATE,
    help="Baseline: the roofed area at the last clear observation on or before this "
    "day [the first clear observation].",
)
@click.option(
    "--zone",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="GeoJSON polygon (EPSG:4326) within the AOI: judge the claim there only.",
)
def claim(
    settings: Settings,
    aoi: tuple[str, ...],
    demolished: int | None,
    total: int | None,
    built_area: float | None,
    by: dt.date,
    since: dt.date | None,
    zone: Path | None,
) -> None:
    """Test a claim ("N of M demolished by D") against the built-up timeline.

    Sentinel-2 does not count buildings: its 10 m pixels measure roofed area. The claim's
    share of buildings is compared with the share of the roofed area at the start that was
    removed by D (at the last clear observation on or before D), with its uncertainty.
    Verdicts: consistent, inconsistent, "cannot tell: not enough clear observations", or
    "below what 10 m pixels can resolve" (docs/timeline.md). The check is stored and shown
    in the AOI's report. Exit 0 whatever the verdict; 1 on bad input.
    """
    from monitor.detect import stated_limits_note
    from monitor.job import check_claim

    if len(aoi) != 1:
        raise InputError("a claim is about one AOI: give --aoi ID once")
    outcome = check_claim(
        settings,
        aoi[0],
        by=by,
        demolished=demolished,
        total=total,
        built_area_m2=built_area,
        since=since,
        zone=zone,
    )
    check = outcome.check
    label = " [SIMULATED DATA]" if outcome.simulated else ""
    click.echo(f"{outcome.aoi.id} ({outcome.aoi.name}): claim: {check.claim.describe()}{label}")
    if outcome.zone is not None:
        click.echo(
            f"zone: {outcome.zone} ({(outcome.zone_area_m2 or 0) / 1e4:,.1f} ha, "
            f"{check.pixels} pixels)"
        )
    for line in check.lines():
        click.echo(line)
    if outcome.detections:
        click.echo("detections dating the removal:")
        for det in outcome.detections:
            window = f"changed after {det.window_start}, first seen {det.first_seen}"
            confirmed = f", confirmed {det.confirmed_on}" if det.confirmed_on else ""
            click.echo(
                f"  {det.id} {det.change_type} {det.status}: {window}{confirmed}, "
                f"{det.area_m2:,.0f} m²"
            )
    for note in outcome.notes:
        click.echo(f"note: {note}")
    from monitor.detect.claims import why_area_note

    click.echo(f"why area: {why_area_note()}")
    click.echo(stated_limits_note())
    click.echo(f"stored as claim check {outcome.claim_id} (shown in the AOI's report)")
