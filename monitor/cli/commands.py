"""Every command of the contract, in the order ``--help`` lists them."""

from __future__ import annotations

from monitor.cli.aoi import aoi
from monitor.cli.claim import claim
from monitor.cli.compare import compare
from monitor.cli.export import export
from monitor.cli.report import report
from monitor.cli.review import review
from monitor.cli.run import cache, rebuild, run
from monitor.cli.scenes import scenes
from monitor.cli.simulate import demo, simulate
from monitor.cli.status import status

ALL = (
    aoi,
    scenes,
    run,
    compare,
    export,
    report,
    status,
    rebuild,
    cache,
    claim,
    review,
    simulate,
    demo,
)
