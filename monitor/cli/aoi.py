"""``monitor aoi list|check|add``: the areas of interest, listed, validated or added."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.options import state_options
from monitor.cli.output import print_table
from monitor.config import Settings, load_settings

__all__ = ["aoi"]


@click.group()
def aoi() -> None:
    """List, validate and add AOIs (GeoJSON polygons in EPSG:4326)."""


@aoi.command("list")
@state_options
def list_(settings: Settings, aoi: tuple[str, ...]) -> None:
    """List the AOIs in --aoi-dir (or those given with --aoi), with their grids."""
    from monitor.job import list_aois

    rows = []
    for entry in list_aois(settings, aoi):
        facts = entry.facts
        rows.append(
            (
                facts["id"],
                facts["name"],
                facts.get("kind") or "",
                f"{facts['area_km2']:.2f}",
                facts["crs"],
                f"{facts['width_px']}x{facts['height_px']}",
                "yes" if entry.registered else "no",
                entry.aoi.path or "",
            )
        )
    print_table(None, ("id", "name", "kind", "km²", "grid", "px", "in state", "file"), rows)


@aoi.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--max-area-km2",
    type=float,
    default=None,
    help="Refuse AOIs larger than this [settings: max_aoi_area_km2, 100].",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file [./monitor.toml if present].",
)
def check(file: Path, max_area_km2: float | None, config: Path | None) -> None:
    """Validate an AOI file and print its grid. Exit 1 with the problem and where."""
    from monitor.aoi import check_report, load_aoi

    settings = load_settings(flags={"max_aoi_area_km2": max_area_km2}, config_file=config)
    facts = check_report(load_aoi(file, max_area_km2=settings.max_aoi_area_km2))
    click.echo(f"{file}: ok")
    for key, value in facts.items():
        click.echo(f"  {key}: {value}")


@aoi.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an AOI of the same id.")
@state_options
def add(file: Path, overwrite: bool, settings: Settings, aoi: tuple[str, ...]) -> None:
    """Validate FILE, copy it into --aoi-dir as <id>.geojson and register it in the state."""
    from monitor.job import add_aoi

    result = add_aoi(settings, file, overwrite=overwrite)
    verb = "updated (new geometry: a new grid)" if result.geometry_changed else "added"
    click.echo(f"{result.aoi.id}: {verb} as {result.path}")
