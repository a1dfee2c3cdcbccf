"""``monitor export`` and ``monitor compare``: detections and comparisons to files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from monitor.cli.options import DATE, DATE_RANGE, state_options
from monitor.config import Settings

__all__ = ["export", "compare"]

FORMATS = ("gpkg", "geojson", "kml", "kmz", "fgb", "parquet", "shp", "csv", "stac", "timeline")


@click.command()
@state_options
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS), metavar="F",
              help="gpkg geojson kml kmz fgb parquet shp csv stac; timeline. "
                   "Built so far: geojson.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Output file (a folder for stac).")
@click.option("--status", default="confirmed",
              type=click.Choice(["confirmed", "probable", "all", "rejected", "verified",
                                 "false_alarm", "unsure", "unreviewed"]),
              help="Which detections: confirmed [default], probable, all (probable and "
                   "confirmed) or rejected; or by the analyst's latest verdict: verified, "
                   "false_alarm, unsure (any status), unreviewed (probable and confirmed "
                   "without a review).")
@click.option("--since", type=DATE, help="Only detections first seen on or after D.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option("--raster", type=click.Path(file_okay=False, path_type=Path),
              help="Also write rasters to DIR (issue 10).")
def export(settings: Settings, aoi: tuple[str, ...], fmt: str, out: Path, status: str,
           since: dt.date | None, overwrite: bool, raster: Path | None) -> None:
    """Detections to GIS formats: vectors in EPSG:4326, rasters on the AOI's UTM grid.

    Refuses to overwrite an existing file unless --overwrite. An empty selection writes a
    valid empty file and says so.
    """
    from monitor.errors import NotBuiltYet
    from monitor.job import export_detections

    if raster is not None:
        raise NotBuiltYet("--raster: not built yet (issue 10: GIS export)")
    result = export_detections(settings, aoi, fmt=fmt, out=out, status=status, since=since,
                               overwrite=overwrite)
    if result.n_written == 0:
        click.echo(f"no {status} detection to export: wrote an empty {fmt} file to {out}")
    else:
        click.echo(f"wrote {result.n_written} {status} detection(s) to {out}")


@click.command()
@state_options
@click.option("--before", type=DATE_RANGE, required=True, help="Day or range D/D before.")
@click.option("--after", type=DATE_RANGE, required=True, help="Day or range D/D after.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for change.tif and changes.geojson.")
def compare(settings: Settings, aoi: tuple[str, ...], before: tuple[dt.date, dt.date],
            after: tuple[dt.date, dt.date], out: Path) -> None:
    """Before/after comparison of one AOI: DIR/change.tif, DIR/changes.geojson.

    Median composites of the clear observations of each window, radiometrically normalised,
    compared with an automatic threshold. Works without SCL (Level-1C pairs).
    """
    from monitor.detect import stated_limits_note
    from monitor.job import compare_aoi

    result = compare_aoi(settings, aoi, before=before, after=after, out=out)
    click.echo(f"{result.aoi_id}: {result.n_before} scene(s) before, {result.n_after} after: "
               f"{result.n_objects} changed area(s)"
               + (" (SIMULATED)" if result.simulated else ""))
    click.echo(f"  {result.change_tif}")
    click.echo(f"  {result.changes_geojson}")
    click.echo(stated_limits_note())
