"""``monitor simulate``, ``monitor demo``: the embedded, offline demo archive."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from monitor.cli.options import DATE, state_options
from monitor.cli.output import current_log, progress_bars
from monitor.cli.run import print_run_summary
from monitor.config import Settings
from monitor.errors import ConfigError

__all__ = ["simulate", "demo"]


@click.command()
@state_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for collection.json, the COGs, truth.geojson and truth.tif.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--style",
    type=click.Choice(["l2a", "c1"]),
    default="c1",
    show_default=True,
    help="Earth Search collection to imitate (how the +1000 offset is stored).",
)
@click.option("--start", type=DATE, default="2023-07-01", show_default=True, help="First day.")
@click.option("--end", type=DATE, default="2026-06-30", show_default=True, help="Last day.")
@click.option("--quicklook", is_flag=True, help="Also write a PNG of sample dates.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier simulation in --out.")
# A plain string checked by the simulator, so a bad value is one line (ConfigError), not
# click's three-line usage message.
@click.option(
    "--world",
    metavar="[default|random]",
    default="default",
    show_default=True,
    help="default: the fixed world (same seed, same bytes); random: a ground and "
    "sky drawn for the seed from documented distributions.",
)
@click.option(
    "--red-edge/--no-red-edge",
    default=True,
    show_default=True,
    help="Also write the red-edge bands B05 B06 B07 B8A (every other file is the same either way).",
)
def simulate(
    settings: Settings,
    aoi: tuple[str, ...],
    out: Path,
    seed: int,
    style: str,
    start: dt.date,
    end: dt.date,
    quicklook: bool,
    overwrite: bool,
    world: str,
    red_edge: bool,
) -> None:
    """A simulated Sentinel-2 archive of the given AOIs, with the planted truth."""
    from monitor.job import simulate_aois
    from monitor.simulate.world import WORLD_KINDS

    if world not in WORLD_KINDS:
        raise ConfigError(
            f"--world {world!r} is not a simulated world: expected one of {', '.join(WORLD_KINDS)}"
        )
    result = simulate_aois(
        settings,
        aoi,
        out,
        seed=seed,
        style=style,
        start=start,
        end=end,
        quicklook=quicklook,
        overwrite=overwrite,
        world=world,
        red_edge=red_edge,
    )
    click.echo(
        f"SIMULATED archive ({world} world): {result.n_items} items, "
        f"{result.n_changes} planted changes, "
        f"{result.bytes_written / 1e6:.0f} MB in {result.seconds:.0f} s"
    )
    click.echo(f"  catalog: {result.collection_path}")
    click.echo(f"  truth:   {result.truth_geojson}")
    if result.quicklook:
        click.echo(f"  quicklook: {result.quicklook}")


@click.command()
@state_options
def demo(settings: Settings, aoi: tuple[str, ...]) -> int:
    """Simulate the demo AOIs if needed, run, report and export: no network needed."""
    from monitor.job import run_demo

    log = current_log()
    with progress_bars(log) as tick:
        return run_demo(
            settings,
            echo=log.info,
            detail=log.detail,
            alert=log.warn,
            progress=tick,
            on_run=lambda result: print_run_summary(result, log.info, log.warn),
        ).exit_code
