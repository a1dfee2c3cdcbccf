"""Detections as typed tables: FlatGeobuf, GeoParquet, Shapefile, CSV, the GeoPackage's frames.

Frames use Arrow types (``date32`` days, UTC ``timestamp`` instants, ``bool``), written with
pyogrio's Arrow path so that GDAL types the fields as Date, DateTime and Boolean wherever the
format has them. An empty selection keeps the schema: every field, typed, no row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from monitor.aoi import aoi_area_m2
from monitor.errors import ExportError
from monitor.export._files import Staging
from monitor.export.data import ExportData
from monitor.export.fields import (
    DATE_FIELDS,
    EXPORT_FIELDS,
    LIST_FIELDS,
    LIST_SEPARATOR,
    SHAPEFILE_FIELDS,
    export_properties,
    export_values,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "detections_frame",
    "aois_frame",
    "observations_frame",
    "runs_frame",
    "write_fgb",
    "write_parquet",
    "write_shp",
    "write_csv",
    "SHAPEFILE_PARTS",
    "write_layer",
]

#: A Shapefile's files, all replaced together.
SHAPEFILE_PARTS: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: dBase text fields hold at most 254 bytes.
_DBF_TEXT_BYTES = 254


def _arrow_types() -> dict[str, pa.DataType]:
    import pyarrow as pa

    return {
        "text": pa.string(),
        "date": pa.date32(),
        "instant": pa.timestamp("ms", tz="UTC"),
        "real": pa.float64(),
        "int": pa.int32(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
        "texts": pa.list_(pa.string()),
    }


#: Arrow type of each exported detection field (keys of ``_arrow_types``).
_DETECTION_TYPES: dict[str, str] = {
    "id": "text",
    "aoi": "text",
    "change_type": "text",
    "status": "text",
    **dict.fromkeys(DATE_FIELDS, "date"),
    "area_m2": "real",
    "n_pixels": "int",
    "confidence": "real",
    "n_obs": "int",
    "evidence_before": "texts",
    "evidence_after": "texts",
    "simulated": "bool",
    "review_verdict": "text",
    "review_note": "text",
    "review_source": "text",
    "reviewed_by": "text",
    "reviewed_at": "instant",
}


def _frame(
    rows: Sequence[Mapping[str, Any]],
    types: Mapping[str, str],
    geometries: Sequence[shapely.Geometry] | None,
) -> pd.DataFrame:
    """A (Geo)DataFrame of ``rows`` with the Arrow column types named in ``types``."""
    import geopandas as gpd
    import pandas as pd

    arrow = _arrow_types()
    columns = {
        name: pd.array([row[name] for row in rows], dtype=pd.ArrowDtype(arrow[kind]))
        for name, kind in types.items()
    }
    if geometries is None:
        return pd.DataFrame(columns)
    return gpd.GeoDataFrame(
        columns, geometry=gpd.GeoSeries(list(geometries), crs="EPSG:4326"), crs="EPSG:4326"
    )


def _ccw(geometry: shapely.Geometry) -> shapely.Geometry:
    # Exterior rings counter-clockwise, as RFC 7946 and OGC simple features expect.
    return shapely.orient_polygons(geometry, exterior_cw=False)


def detections_frame(data: ExportData, *, lists: bool = False) -> pd.DataFrame:
    """The detections as a GeoDataFrame (EPSG:4326), columns EXPORT_FIELDS.

    ``lists`` keeps scene ids as lists (GeoParquet); otherwise they are joined by
    LIST_SEPARATOR, for formats without list fields.
    """
    types = dict(_DETECTION_TYPES)
    rows = []
    for det in data.detections:
        row = export_values(det)
        if not lists:
            for name in LIST_FIELDS:
                row[name] = LIST_SEPARATOR.join(row[name])
        else:
            for name in LIST_FIELDS:
                row[name] = list(row[name])
        rows.append(row)
    if not lists:
        types.update(dict.fromkeys(LIST_FIELDS, "text"))
    return _frame(
        rows,
        {name: types[name] for name in EXPORT_FIELDS},
        [_ccw(d.geometry) for d in data.detections],
    )


_AOI_TYPES: dict[str, str] = {
    "id": "text",
    "name": "text",
    "kind": "text",
    "description": "text",
    "sources": "text",
    "area_km2": "real",
    "utm_epsg": "int",
    "grid_width": "int",
    "grid_height": "int",
    "geometry_hash": "text",
    "n_detections": "int",
    "simulated": "bool",
}


def aois_frame(data: ExportData) -> pd.DataFrame:
    """The AOIs as a GeoDataFrame (EPSG:4326): outline, grid and how many detections."""
    rows = []
    for aoi in data.aois:
        observed = [o for o in data.observations if o.aoi_id == aoi.id]
        rows.append(
            {
                "id": aoi.id,
                "name": aoi.name,
                "kind": aoi.kind,
                "description": aoi.description,
                "sources": json.dumps([dict(s) for s in aoi.sources], ensure_ascii=False)
                if aoi.sources
                else None,
                "area_km2": round(aoi_area_m2(aoi) / 1e6, 4),
                "utm_epsg": aoi.grid.epsg,
                "grid_width": aoi.grid.width,
                "grid_height": aoi.grid.height,
                "geometry_hash": aoi.geometry_hash,
                "n_detections": sum(1 for d in data.detections if d.aoi == aoi.id),
                "simulated": any(o.simulated for o in observed)
                or any(d.simulated for d in data.detections if d.aoi == aoi.id),
            }
        )
    return _frame(rows, _AOI_TYPES, [_ccw(a.geometry) for a in data.aois])


_OBSERVATION_TYPES: dict[str, str] = {
    "aoi": "text",
    "scene_id": "text",
    "collection": "text",
    "date": "date",
    "datetime": "instant",
    "status": "text",
    "reason": "text",
    "clear_fraction": "real",
    "reflectance_rule": "text",
    "attempts": "int",
    "simulated": "bool",
}


def observations_frame(data: ExportData) -> pd.DataFrame:
    """Per AOI and scene: the day, clear fraction, used/skipped/failed and why (no geometry)."""
    rows = []
    for obs in data.observations:
        when = obs.datetime.astimezone(dt.UTC)
        rows.append(
            {
                "aoi": obs.aoi_id,
                "scene_id": obs.scene_id,
                "collection": obs.collection,
                "date": when.date(),
                "datetime": when,
                "status": obs.status,
                "reason": obs.reason or None,
                "clear_fraction": (
                    round(float(obs.clear_fraction), 4) if obs.clear_fraction is not None else None
                ),
                "reflectance_rule": obs.rule.label if obs.rule is not None else None,
                "attempts": int(obs.attempts),
                "simulated": bool(obs.simulated),
            }
        )
    return _frame(rows, _OBSERVATION_TYPES, None)


_RUN_TYPES: dict[str, str] = {
    "run_id": "int64",
    "command": "text",
    "started_at": "instant",
    "finished_at": "instant",
    "date": "date",
    "exit_code": "int",
    "scenes_used": "int",
    "scenes_skipped": "int",
    "scenes_failed": "int",
    "counts": "text",
    "errors": "text",
}


def runs_frame(data: ExportData) -> pd.DataFrame:
    """The runs of the state: when, exit code, scene counts, errors (no geometry)."""
    rows = []
    for run in data.runs:
        started = run.started_at.astimezone(dt.UTC)
        rows.append(
            {
                "run_id": int(run.run_id),
                "command": run.command,
                "started_at": started,
                "finished_at": (
                    run.finished_at.astimezone(dt.UTC) if run.finished_at is not None else None
                ),
                "date": started.date(),
                "exit_code": run.exit_code,
                "scenes_used": int(run.counts.get("used", 0)),
                "scenes_skipped": int(run.counts.get("skipped", 0)),
                "scenes_failed": int(run.counts.get("failed", 0)),
                "counts": json.dumps(dict(run.counts), sort_keys=True),
                "errors": "\n".join(run.errors) or None,
            }
        )
    return _frame(rows, _RUN_TYPES, None)


def _gdal_error(path: Path, exc: Exception) -> ExportError:
    return ExportError(f"{path}: cannot write: {' '.join(str(exc).split())}")


def write_layer(
    frame: pd.DataFrame,
    path: Path,
    *,
    driver: str,
    layer: str | None = None,
    append: bool = False,
    geometry_type: str | None = None,
    layer_options: Mapping[str, str] | None = None,
    dataset_options: Mapping[str, str] | None = None,
) -> None:
    """One layer through pyogrio's Arrow path (GDAL errors become one-line MonitorErrors)."""
    import pyogrio

    kwargs: dict[str, Any] = {}
    if geometry_type is not None and hasattr(frame, "geometry"):
        kwargs["geometry_type"] = geometry_type
        kwargs["promote_to_multi"] = geometry_type.startswith("Multi")
    try:
        pyogrio.write_dataframe(
            frame,
            path,
            driver=driver,
            layer=layer,
            append=append,
            use_arrow=True,
            layer_options=dict(layer_options or {}),
            dataset_options=dict(dataset_options or {}),
            **kwargs,
        )
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
    ) as exc:
        raise _gdal_error(path, exc) from None


def write_fgb(data: ExportData, path: Path, staging: Staging) -> int:
    """FlatGeobuf with its spatial index. The format has no date type: days are DateTime
    fields at 00:00 UTC."""
    tmp = staging.file(path)
    frame = detections_frame(data)
    write_layer(
        frame,
        tmp,
        driver="FlatGeobuf",
        layer=path.stem,
        geometry_type="MultiPolygon",
        layer_options={"SPATIAL_INDEX": "YES", "TITLE": data.title()},
    )
    return len(frame)


def write_parquet(data: ExportData, path: Path, staging: Staging) -> int:
    """GeoParquet 1.1 (WKB, EPSG:4326 as PROJJSON): days ``date32``, scene ids as lists."""
    import pyarrow.parquet as pq

    tmp = staging.file(path)
    frame = detections_frame(data, lists=True)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, schema_version="1.1.0")
    table = pq.read_table(io.BytesIO(buffer.getvalue()))
    # pandas' own schema note names Arrow list dtypes that pandas cannot parse back
    # ("list<item: string>[pyarrow]"): without it every reader maps the Arrow types itself.
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"pandas"}
    metadata[b"monitor"] = _json_bytes(data.metadata())
    pq.write_table(table.replace_schema_metadata(metadata), tmp, compression="zstd")
    return len(frame)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _fit_dbf(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    raw = value.encode("utf-8")
    if len(raw) <= _DBF_TEXT_BYTES:
        return value
    return raw[: _DBF_TEXT_BYTES - 3].decode("utf-8", errors="ignore") + "..."


def write_shp(data: ExportData, path: Path, staging: Staging) -> int:
    """ESRI Shapefile, UTF-8, with the fixed 10-character field names of SHAPEFILE_FIELDS.

    dBase has no date-time type (``reviewed_at`` is ISO 8601 text) and text fields of at
    most 254 bytes (longer review notes are cut, ending in "...").
    """
    import pandas as pd
    import pyarrow as pa

    if path.suffix.lower() != ".shp":
        raise ExportError(f"{path}: a Shapefile's name must end in .shp")
    folder = staging.files([path.with_suffix(ext) for ext in SHAPEFILE_PARTS])
    frame = detections_frame(data)
    text = pd.ArrowDtype(pa.string())
    frame["reviewed_at"] = pd.array(
        [
            v.isoformat(timespec="seconds") if v is not None else None
            for v in export_values_column(data, "reviewed_at")
        ],
        dtype=text,
    )
    for name in ("review_note", "review_source", "evidence_before", "evidence_after"):
        frame[name] = pd.array(
            [_fit_dbf(v) if isinstance(v, str) else None for v in frame[name]], dtype=text
        )
    frame = frame.rename(columns=SHAPEFILE_FIELDS)
    write_layer(
        frame,
        folder / path.name,
        driver="ESRI Shapefile",
        layer=path.stem,
        geometry_type="MultiPolygon",
        layer_options={"ENCODING": "UTF-8"},
    )
    return len(frame)


def export_values_column(data: ExportData, name: str) -> list[Any]:
    """One exported field's values over the detections (typed, see ``export_values``)."""
    return [export_values(det)[name] for det in data.detections]


def write_csv(data: ExportData, path: Path, staging: Staging) -> int:
    """CSV (UTF-8, comma, header): EXPORT_FIELDS then ``WKT``, the EPSG:4326 geometry.

    GDAL and QGIS take a column named WKT as the geometry; days are ISO dates, instants ISO
    8601 in UTC, booleans ``true``/``false``, scene ids joined by LIST_SEPARATOR.
    """
    tmp = staging.file(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*EXPORT_FIELDS, "WKT"])
    for det in data.detections:
        props = export_properties(det)
        row: list[Any] = []
        for name in EXPORT_FIELDS:
            value = props[name]
            if name in LIST_FIELDS:
                value = LIST_SEPARATOR.join(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            row.append("" if value is None else value)
        row.append(shapely.to_wkt(_ccw(det.geometry), rounding_precision=7, trim=True))
        writer.writerow(row)
    try:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror}") from None
    return len(data.detections)


#: Writers of the single-table formats, by format name.
TABLE_WRITERS: dict[str, Callable[[ExportData, Path, Staging], int]] = {
    "fgb": write_fgb,
    "parquet": write_parquet,
    "shp": write_shp,
    "csv": write_csv,
}
