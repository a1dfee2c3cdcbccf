"""Fixtures of the imagery tests: test COGs on the COG server, an AOI, fast GDAL settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from monitor.imagery import ChipCache, GdalSettings
from monitor.models import Aoi
from tests.imagery.cogs import (
    BANDS_20M,
    PIECE_LEFT,
    PIECE_TOP,
    RED_EDGE_20M,
    Field,
    make_field,
    utm_box_aoi,
    write_scene_files,
)

#: The test AOI: 80 x 60 px at rows 1000-1060, cols 100-180 of the 2048 x 2048 10 m test
#: COGs (1024 x 1024 at 20 m), so it
#: crosses the boundary between the first two rows of 1024-px tiles.
AOI_ROW, AOI_COL, AOI_W, AOI_H = 1000, 100, 80, 60


@dataclass(frozen=True)
class SceneFiles:
    """Session-wide test COGs served by the COG server."""

    root: Path
    base_url: str
    field: Field

    def hrefs(
        self,
        style: str,
        scl: str = "clear",
        remote: bool = True,
        tag: str = "",
        red_edge: tuple[str, ...] = (),
    ) -> dict[str, str]:
        """{band: href} of one style ("c1": +1000 in the pixels, "l2a": removed), with the
        SCL of ``scl`` ("clear" or "cloudy") and the ``red_edge`` bands named. ``tag`` makes
        URLs unique per test, so GDAL's in-process cache of earlier tests cannot hide
        requests."""
        out = {}
        for band in ("blue", "green", "red", "nir", "swir16", "swir22", "scl", *red_edge):
            folder = f"scl-{scl}" if band == "scl" else style
            if remote:
                out[band] = f"{self.base_url}/{folder}/{band}.tif" + (f"?t={tag}" if tag else "")
            else:
                out[band] = str(self.root / folder / f"{band}.tif")
        return out


@pytest.fixture(scope="session")
def scene_files(cog_server_session) -> SceneFiles:  # type: ignore[no-untyped-def]
    root = cog_server_session.root / "scenes"
    field = make_field()
    write_scene_files(root / "c1", field, offset_in_pixels=True, with_scl=False, red_edge=True)
    write_scene_files(root / "l2a", field, offset_in_pixels=False, with_scl=False, red_edge=True)
    from tests.imagery.cogs import down2, write_cog

    write_cog(root / "scl-clear" / "scl.tif", down2(field.scl), PIECE_LEFT, PIECE_TOP, 20.0)
    cloudy = np.full_like(field.scl, 9)
    cloudy[:, :4] = 4  # a sliver of clear land: about 5% of the test AOI stays clear
    cloudy[:, AOI_COL : AOI_COL + 4] = 4
    write_cog(root / "scl-cloudy" / "scl.tif", down2(cloudy), PIECE_LEFT, PIECE_TOP, 20.0)
    return SceneFiles(root, f"{cog_server_session.url}/scenes", field)


@pytest.fixture(scope="session")
def aoi() -> Aoi:
    return utm_box_aoi(
        PIECE_LEFT + AOI_COL * 10, PIECE_TOP - AOI_ROW * 10, AOI_W, AOI_H, aoi_id="kk-test"
    )


@pytest.fixture
def cache(tmp_path: Path) -> ChipCache:
    return ChipCache(tmp_path / "state")


@pytest.fixture
def env() -> GdalSettings:
    """Quick retries and a 1 s timeout, so fault tests take about a second."""
    return GdalSettings(
        http_timeout_s=1, http_retries=2, retry_delay_s=0.05, outer_retries=1, outer_backoff_s=0.01
    )


def expected_window(field: Field, band: str) -> np.ndarray:
    """True reflectance of the test AOI window on the 10 m grid (20 m bands repeated)."""
    from tests.imagery.cogs import down2

    full = field.reflectance[band]
    if band in BANDS_20M + RED_EDGE_20M:
        full = np.repeat(np.repeat(down2(full), 2, 0), 2, 1)
    return full[AOI_ROW : AOI_ROW + AOI_H, AOI_COL : AOI_COL + AOI_W]
