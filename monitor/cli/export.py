"""``monitor export``: detections to GIS files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from monitor.cli.options import DATE, state_options
from monitor.config import Settings

__all__ = ["export"]

#: ``--format`` values, for reading: the job checks them (an unknown one is bad input, exit 1).
FORMATS = ("gpkg", "geojson", "kml", "kmz", "fgb", "parquet", "shp", "csv", "stac", "timeline")


@click.command()
@state_options
# A plain string, checked by the job: an unknown format is bad input (one line, exit 1).
@click.option(
    "--format",
    "fmt",
    required=True,
    metavar="F",
    help="gpkg (QGIS: layers detections, aois, observations, runs, with a style), "
    "geojson, kml, kmz (Google Earth), fgb, parquet (GeoParquet), shp, csv "
    "(WKT geometry), stac (a static STAC collection in the folder --out); "
    "timeline.",
)
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="Output file (a folder for stac)."
)
@click.option(
    "--status",
    default="confirmed",
    type=click.Choice(
        [
            "confirmed",
            "probable",
            "all",
            "rejected",
            "verified",
            "false_alarm",
            "unsure",
            "unreviewed",
        ]
    ),
    help="Which detections: confirmed [default], probable, all (probable and "
    "confirmed) or rejected; or by the analyst's latest verdict: verified, "
    "false_alarm, unsure (any status), unreviewed (probable and confirmed "
    "without a review).",
)
@click.option("--since", type=DATE, help="Only detections first seen on or after D.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option(
    "--raster",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Also write COGs to DIR, on each AOI's UTM grid: DIR/<aoi>/change_class.tif, "
    "first_seen.tif (YYYYMMDD), confidence.tif, and true-colour before/after "
    "images per detection in DIR/<aoi>/detections/.",
)
def export(
    settings: Settings,
    aoi: tuple[str, ...],
    fmt: str,
    out: Path,
    status: str,
    since: dt.date | None,
    overwrite: bool,
    raster: Path | None,
) -> None:
    """Detections to GIS formats: vectors in EPSG:4326, rasters on the AOI's UTM grid.

    Every format carries the contract's fields, `simulated` and the analyst's review.
    Refuses to overwrite an existing file unless --overwrite; on any error nothing is left
    half-written. An empty selection writes a valid empty file and says so. See
    docs/export.md.
    """
    from monitor import job

    fmt = fmt.strip().lower()
    if fmt == "timeline":
        _export_timeline(settings, aoi, out, overwrite)
        return
    result = job.export_detections(
        settings,
        aoi,
        fmt=fmt,
        out=out,
        status=status,
        since=since,
        overwrite=overwrite,
        raster=raster,
    )
    sim = " (SIMULATED)" if result.simulated else ""
    if result.n_written == 0:
        click.echo(f"no {status} detection to export: wrote an empty {fmt} file to {out}{sim}")
    else:
        click.echo(f"wrote {result.n_written} {status} detection(s){sim} to {out} ({fmt})")
    if raster is not None:
        click.echo(f"rasters: {len(result.rasters)} COG(s) in {raster}")
    for note in result.notes:
        click.echo(f"  {note}")


def _export_timeline(settings: Settings, aoi: tuple[str, ...], out: Path, overwrite: bool) -> None:
    """``--format timeline``: the built-up area per AOI and clear month, as CSV."""
    from monitor.job import export_timeline

    result = export_timeline(settings, aoi, out=out, overwrite=overwrite)
    sim = " (SIMULATED)" if result.simulated else ""
    click.echo(f"wrote the timeline ({result.n_rows} rows){sim} to {result.path}")
    for aoi_id in result.skipped:
        click.echo(f"  {aoi_id}: left out (not seen by the detector yet)")
