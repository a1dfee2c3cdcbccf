"""The GeoPackage for QGIS, with a default style for the detections.

Layers ``detections``, ``aois``, ``observations``, ``runs``; the style is in the
``layer_styles`` table.

Days are GeoPackage DATE fields and instants DATETIME (UTC), so QGIS's temporal controller
works on them. QGIS reads a GeoPackage's default style from its ``layer_styles`` table; we
write that table through GDAL like any other attribute table (QGIS creates it the same way),
with QGIS's column names. The style colours the detections by change type when QGIS opens
the layer; its temporal part (shown from ``first_seen`` on) applies when the style is loaded
again, since QGIS resets temporal settings after loading a new layer's default style.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from monitor.export._files import Staging
from monitor.export.data import ExportData
from monitor.export.style import qml_style, sld_style
from monitor.export.tabular import (
    aois_frame,
    detections_frame,
    observations_frame,
    runs_frame,
    write_layer,
)

__all__ = ["GPKG_LAYERS", "STYLE_TABLE", "write_gpkg"]

#: The data layers, in the order they are written.
GPKG_LAYERS: tuple[str, ...] = ("detections", "aois", "observations", "runs")
STYLE_TABLE = "layer_styles"
#: GDAL's name for a GeoPackage's geometry column.
GEOMETRY_COLUMN = "geom"


def _style_frame(data: ExportData) -> object:
    import pandas as pd
    import pyarrow as pa

    text = pd.ArrowDtype(pa.string())
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Catalog and schema are empty strings, not null: QGIS filters on f_table_schema=''.
    row = {
        "f_table_catalog": "",
        "f_table_schema": "",
        "f_table_name": "detections",
        "f_geometry_column": GEOMETRY_COLUMN,
        "styleName": "detections by change type",
        "styleQML": qml_style(),
        "styleSLD": sld_style("detections"),
        "description": "Detections coloured by change type; shown from first_seen on in "
        "the temporal controller (written by monitor export)",
        "owner": "",
        "ui": "",
    }
    frame = pd.DataFrame({k: pd.array([v], dtype=text) for k, v in row.items()})
    frame.insert(7, "useAsDefault", pd.array([True], dtype=pd.ArrowDtype(pa.bool_())))
    frame["update_time"] = pd.array([when], dtype=pd.ArrowDtype(pa.timestamp("ms", tz="UTC")))
    return frame


def write_gpkg(data: ExportData, path: Path, staging: Staging) -> int:
    """Write the GeoPackage; returns the number of detections."""
    tmp = staging.file(path)
    sim = "SIMULATED DATA. " if data.simulated else ""
    detections = detections_frame(data)
    descriptions = {
        "detections": f"{sim}{data.status} detections (EPSG:4326). {data.limits}",
        "aois": f"{sim}Areas of interest: outline, UTM grid, number of detections exported.",
        "observations": f"{sim}Per AOI and scene: day, clear fraction, used/skipped/failed "
        "and why.",
        "runs": "Runs of the monitor on this state: when, exit code, scene counts, errors.",
    }
    frames = {
        "detections": detections,
        "aois": aois_frame(data),
        "observations": observations_frame(data),
        "runs": runs_frame(data),
    }
    for index, name in enumerate(GPKG_LAYERS):
        spatial = name in ("detections", "aois")
        write_layer(
            frames[name],
            tmp,
            driver="GPKG",
            layer=name,
            append=index > 0,
            geometry_type="MultiPolygon" if spatial else None,
            layer_options={"DESCRIPTION": descriptions[name].strip(), "IDENTIFIER": name},
        )
    write_layer(_style_frame(data), tmp, driver="GPKG", layer=STYLE_TABLE, append=True)
    return len(detections)
