"""``monitor report``: rewrite the offline HTML reports from the state."""

from __future__ import annotations

import click

from monitor.cli.options import state_options
from monitor.cli.output import current_log
from monitor.config import Settings

__all__ = ["report"]


@click.command()
@state_options
def report(settings: Settings, aoi: tuple[str, ...]) -> None:
    """Rewrite the HTML reports in the reports dir: index.html (every AOI of the state) and
    one page per AOI (or per --aoi given), each with its timelapse.

    Pages open from a file with no network: every script, style and image is inside them.
    The state is only read; chips missing from the cache are read again from their scenes.
    """
    from monitor.job import write_reports

    result = write_reports(settings, aoi, echo=current_log().info)
    for page in result.pages:
        line = f"{page.page} ({page.page_bytes / 1e6:.1f} MB)"
        if page.timelapse is not None:
            line += f"; timelapse {page.timelapse} ({page.timelapse_bytes / 1e6:.1f} MB)"
        click.echo(line)
    click.echo(f"{result.index} ({len(result.pages)} AOI page(s) in {result.seconds:.1f} s)")
