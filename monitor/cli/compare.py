"""``monitor compare``: a before/after comparison of one AOI, written to a folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.options import DATE_RANGE, state_options
from monitor.config import Settings

if TYPE_CHECKING:
    from monitor.detect.pairevidence import WindowViews

__all__ = ["compare", "views_line"]


@click.command()
@state_options
@click.option("--before", type=DATE_RANGE, required=True, help="Day or range D/D before.")
@click.option("--after", type=DATE_RANGE, required=True, help="Day or range D/D after.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for change.tif, views.tif and changes.geojson.",
)
@click.option(
    "--red-edge/--no-red-edge",
    default=True,
    show_default=True,
    help="Also compare the red-edge bands B05 B06 B07 B8A when every scene has them "
    "(the built-change model and ndre_change read them; off: the six core bands).",
)
@click.option(
    "--built-model/--no-built-model",
    default=True,
    show_default=True,
    help="Judge changes that look like vegetation or bare ground on both dates with the "
    "built-change model (harvested fields are dropped); off: every change above the "
    "threshold, to see what the model left out.",
)
def compare(
    settings: Settings,
    aoi: tuple[str, ...],
    before: tuple[dt.date, dt.date],
    after: tuple[dt.date, dt.date],
    out: Path,
    red_edge: bool,
    built_model: bool,
) -> None:
    """Before/after comparison of one AOI: DIR/change.tif, DIR/views.tif, DIR/changes.geojson.

    Per window, the per-band median of the clear views of its scenes (one scene: that
    scene), radiometrically normalised, compared with an automatic threshold. views.tif
    holds the clear views per pixel before and after; each changed area carries its index
    changes, views and the shift applied. Works without SCL (Level-1C pairs).
    """
    from monitor.detect import stated_limits_note
    from monitor.job import compare_aoi

    result = compare_aoi(
        settings,
        aoi,
        before=before,
        after=after,
        out=out,
        red_edge=red_edge,
        built_model=built_model,
    )
    click.echo(
        f"{result.aoi_id}: {result.n_before} scene(s) before, {result.n_after} after: "
        f"{result.n_objects} changed area(s)" + (" (SIMULATED)" if result.simulated else "")
    )
    click.echo(f"  {views_line('before', result.views_before)}")
    click.echo(f"  {views_line('after', result.views_after)}")
    click.echo(f"  bands: {' '.join(result.bands)}")
    click.echo(f"  {result.change_tif}")
    click.echo(f"  {result.views_tif}")
    click.echo(f"  {result.changes_geojson}")
    click.echo(stated_limits_note())


def views_line(window: str, views: WindowViews) -> str:
    """``before: 5 scenes (1-5 clear views per pixel, median 4)``; a window of one scene
    says that its composite is that scene."""
    scenes = "1 scene" if views.n_scenes == 1 else f"{views.n_scenes} scenes"
    if views.min_views == views.max_views:
        per_pixel = f"{views.max_views} clear view{'' if views.max_views == 1 else 's'} per pixel"
    else:
        per_pixel = (
            f"{views.min_views}-{views.max_views} clear views per pixel, "
            f"median {views.median_views:g}"
        )
    single = "; the composite is that scene" if views.single_scene else ""
    return f"{window}: {scenes} ({per_pixel}{single})"
