"""``monitor review``: an analyst's verdict on a detection."""

from __future__ import annotations

import click

from monitor.cli.options import state_options
from monitor.config import Settings

__all__ = ["review"]


@click.command()
@state_options
@click.option("--id", "detection_id", required=True, help="Detection id (as in exports).")
@click.option(
    "--verdict",
    required=True,
    type=click.Choice(["verified", "false_alarm", "unsure"]),
    help="verified, false_alarm or unsure.",
)
@click.option("--note", default="", help="Free text: what was checked, against what.")
@click.option("--source", default="", help="http(s) URL of the evidence.")
def review(
    settings: Settings,
    aoi: tuple[str, ...],
    detection_id: str,
    verdict: str,
    note: str,
    source: str,
) -> None:
    """Record an analyst's verdict on a detection.

    The verdict is kept by the detection's stable id, so it survives re-runs and rebuilds;
    every verdict is kept and the latest counts. Reports and every export format show it;
    `monitor export --status verified|false_alarm|unsure|unreviewed` selects by it. A
    detection reviewed as a false alarm raises no further alerts. The reviewer is the
    `reviewer` setting, else the login name.
    """
    from monitor.job import review_detection

    det = review_detection(settings, detection_id, verdict, note=note, source=source)
    assert det.review is not None
    click.echo(
        f"{det.id} ({det.aoi}, {det.change_type}, {det.status}): {det.review.verdict} "
        f"by {det.review.reviewer} at {det.review.reviewed_at:%Y-%m-%d %H:%M} UTC"
    )
    click.echo("reports and exports show it from the next `monitor run` or `monitor report`")
