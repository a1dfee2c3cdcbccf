"""Commands of the contract that later issues build: present, documented, and honest.

Each exits 1 with one line naming the issue that builds it, so scripts written against the
contract fail loudly rather than silently doing nothing.
"""

from __future__ import annotations

from typing import Any

import click

from monitor.cli.options import DATE, state_options
from monitor.errors import NotBuiltYet

__all__ = ["report", "claim"]


def _not_built(command: str, issue: str) -> NotBuiltYet:
    return NotBuiltYet(f"monitor {command}: not built yet ({issue})")


@click.command()
@state_options
def report(**_: Any) -> None:
    """Rewrite the HTML reports in the reports dir."""
    raise _not_built("report", "issue 9: offline HTML reports")


@click.command()
@state_options
@click.option("--demolished", type=int, help="Buildings claimed demolished (N).")
@click.option("--total", type=int, help="Buildings in total (M).")
@click.option("--built-area", type=float, help="Or: a claimed built area in m².")
@click.option("--by", "by", type=DATE, required=True, help="Date the claim refers to.")
@click.option("--zone", type=click.Path(dir_okay=False), help="GeoJSON zone within the AOI.")
def claim(**_: Any) -> None:
    """Test a claim ("N of M demolished by D") against the built-up timeline."""
    raise _not_built("claim", "issue 11: claim checks")
