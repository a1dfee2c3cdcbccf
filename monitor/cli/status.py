"""``monitor status``: the last run and each AOI's state."""

from __future__ import annotations

import click

from monitor.cli.options import state_options
from monitor.cli.output import print_json, print_table
from monitor.config import Settings

__all__ = ["status"]


@click.command()
@state_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(settings: Settings, aoi: tuple[str, ...], as_json: bool) -> None:
    """The last run and, per AOI, the last clear observation and scene counts."""
    from monitor.job import state_status

    report = state_status(settings, aoi)
    if as_json:
        print_json(report)
        return
    last = report["last_run"]
    if last is None:
        click.echo(f"no run recorded in {report['state_dir']}")
    else:
        click.echo(f"last run #{last['run_id']} ({last['command']}): started "
                   f"{last['started_at']}, finished {last['finished_at'] or 'not finished'}, "
                   f"exit {last['exit_code']}")
    rows = [(a["id"], a["last_clear_observation"] or "-", a["scenes_used"], a["scenes_skipped"],
             a["scenes_failed"], a["scenes_pending"]) for a in report["aois"]]
    print_table(None, ("aoi", "last clear", "used", "skipped", "failed", "not read"), rows)
