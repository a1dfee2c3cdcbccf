"""``monitor scenes``: what the catalog holds over each AOI, with what became of each scene."""

from __future__ import annotations

import datetime as dt

import click

from monitor.cli.options import DATE, state_options
from monitor.cli.output import print_json, print_table
from monitor.config import Settings

__all__ = ["scenes"]


@click.command()
@state_options
@click.option("--since", type=DATE, help="First day (UTC) [settings: start_date].")
@click.option("--until", type=DATE, help="Last day (UTC) [today].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def scenes(
    settings: Settings,
    aoi: tuple[str, ...],
    since: dt.date | None,
    until: dt.date | None,
    as_json: bool,
) -> None:
    """Scenes found per AOI: date, collection, clear fraction, reflectance rule, used/skipped/
    failed and why; monthly counts per collection.

    Scene cloud cover is the whole tile's and only a prefilter; the AOI's own clear fraction,
    measured when the scene is read, decides whether it is used.
    """
    from monitor.job import list_scenes

    listings = list_scenes(settings, aoi, since=since, until=until)
    if as_json:
        print_json([listing.to_dict() for listing in listings])
        return
    for listing in listings:
        rows = []
        for row in listing.rows:
            rows.append(
                (
                    row.date.isoformat(),
                    row.scene_id,
                    row.collection,
                    "" if row.cloud_cover is None else f"{row.cloud_cover:.0f}",
                    "-" if row.clear_fraction is None else f"{row.clear_fraction:.0%}",
                    row.rule,
                    row.status,
                    row.reason,
                )
            )
        title = (
            f"{listing.aoi_id}: {len(listing.rows)} items, "
            f"{listing.n_acquisitions} acquisitions, {listing.start} → {listing.end}"
            + (" (SIMULATED)" if listing.simulated else "")
        )
        print_table(
            title,
            (
                "date",
                "scene",
                "collection",
                "tile cloud %",
                "AOI clear",
                "reflectance rule",
                "status",
                "why",
            ),
            rows,
        )
        months = sorted(listing.monthly_counts)
        collections = sorted({c for m in months for c in listing.monthly_counts[m]})
        print_table(
            f"{listing.aoi_id}: acquisitions per month",
            ("month", *collections, "clear"),
            [
                (
                    m,
                    *(listing.monthly_counts[m].get(c, 0) for c in collections),
                    "-" if listing.monthly_clear.get(m) is None else listing.monthly_clear[m],
                )
                for m in months
            ],
        )
        if listing.fallback_months:
            click.echo(
                f"{listing.aoi_id}: months taken from the fallback collection: "
                + ", ".join(listing.fallback_months)
            )
        click.echo("")
