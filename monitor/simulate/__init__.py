"""A simulated Sentinel-2 archive of the border compounds, with the truth of planted changes.

``simulate_archive`` writes, for AOIs inside tile 47QMU, a static STAC collection and COGs in
Earth Search's form (``sentinel-2-c1-l2a`` or ``sentinel-2-l2a`` style), plus
``truth.geojson`` and per-AOI ``truth.tif``. Modules: ``schedule`` (overpasses, weather, sun),
the ground (``cover`` its classes, ``geography`` the river and roads, ``buildings`` the
settlements, ``ground`` the drawing, ``seasons`` the spectra through the year, ``noise``,
``land`` the rendering on a day), ``planted`` (the records of a planted change),
``changes`` (planting them, the ground's state on a day, the truth), ``sensor``
(sky, sensor, SCL errors, offsets), ``cogs`` (the one user of rasterio here), ``stac``,
``quicklook``, ``grounds`` (the grounds an archive draws), ``scenes`` (every acquisition's
COGs and items), ``truth`` (its files), ``archive`` (the orchestration); ``world`` draws the
world a simulation shows (the fixed default, or a randomised one per seed: ``groundworld``
for materials, crops and buildings, ``worldchanges`` for how a random world builds and
demolishes, ``skyworld`` for weather, SCL errors and satellites). Never imports
``monitor.detect``.
"""

from __future__ import annotations

from monitor.simulate.archive import (
    MARKER,
    SIMULATOR_VERSION,
    SimulationResult,
    demo_aois,
    simulate_archive,
)

__all__ = ["MARKER", "SIMULATOR_VERSION", "SimulationResult", "demo_aois", "simulate_archive"]
