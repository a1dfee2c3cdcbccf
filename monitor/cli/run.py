"""``monitor run``: the incremental job over the AOIs (what cron or a systemd timer calls)."""

from __future__ import annotations

import datetime as dt
import sys

import click

from monitor.cli.options import DATE, state_options
from monitor.config import Settings

__all__ = ["run"]


@click.command()
@state_options
@click.option("--since", type=DATE, help="First day (UTC) to search [settings: start_date].")
@click.option("--until", type=DATE, help="Last day (UTC) to search [today].")
def run(settings: Settings, aoi: tuple[str, ...], since: dt.date | None,
        until: dt.date | None) -> int:
    """The incremental job: find scenes not yet processed, read their AOI windows, record
    what was used, skipped or failed and why, and print a summary.

    Exit 3 when some AOIs or scenes failed: they are recorded and retried on the next run.
    """
    from monitor.job import run_job

    result = run_job(settings, aoi, since=since, until=until, argv=sys.argv[1:],
                     echo=click.echo)
    return result.exit_code
