"""A PNG grid of true-colour views of sample dates, with the planted changes outlined.

Panels: the clearest dry-season view, a monsoon view, a burning-season haze view, and the
clearest views after the 2025 construction, after the late-2025 demolitions and near the
end. Outlines are coloured by change type once the change has begun, grey before. Needs
Pillow (a dependency of scikit-image, which the monitor already uses) and rasterio to read
the COGs back.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

__all__ = ["TYPE_COLOURS", "write_quicklook"]

TYPE_COLOURS: dict[str, tuple[int, int, int]] = {
    "new_construction": (255, 220, 0),
    "demolition": (255, 40, 40),
    "rebuilding": (255, 140, 0),
    "roof_change": (0, 220, 255),
    "land_clearing": (200, 90, 255),
}


def _pick(
    records: Sequence[Mapping[str, Any]],
    months: set[int],
    *,
    years: set[int] | None = None,
    haze: bool = False,
    cloudy: bool = False,
) -> Mapping[str, Any] | None:
    best = None
    for record in records:
        when = dt.datetime.fromisoformat(record["datetime"])
        if when.month not in months or (years and when.year not in years):
            continue
        if haze and record.get("haze", 0.0) < 0.4:
            continue
        # Monsoon panel: a broken-cloud scene shows cloud, shadow and ground together; the
        # others want the clearest sky, smoke included (except the haze panel).
        score = abs(record["cloud_fraction"] - 0.45) if cloudy else record["cloud_fraction"]
        if not haze:
            score += 0.5 * record.get("haze", 0.0)
        if best is None or score < best[0]:
            best = (score, record)
    return best[1] if best else None


def _true_colour(asset_dir: Path, offset: float) -> npt.NDArray[np.uint8]:
    import rasterio

    bands = []
    for name in ("B04", "B03", "B02"):
        with rasterio.open(asset_dir / f"{name}.tif") as dataset:
            bands.append(dataset.read(1).astype(np.float32))
    dn = np.stack(bands, axis=-1)
    refl = np.where(dn > 0, dn * 1e-4 + offset, 0.0)
    # A gentle gamma stretch like Sentinel Hub's true colour (reflectance 0-0.3).
    return (np.clip(refl / 0.30, 0.0, 1.0) ** (1 / 1.5) * 255).astype(np.uint8)


def write_quicklook(
    out_dir: Path,
    ground_id: str,
    records: Sequence[Mapping[str, Any]],
    truth_features: Sequence[Mapping[str, Any]],
    path: Path,
    style: str = "c1",
) -> Path:
    """Write the quicklook PNG of one ground; return its path.

    ``records`` are the per-item records of the simulation (id, datetime, ground,
    cloud_fraction, haze, wrong_flag); ``truth_features`` the GeoJSON features of the truth.
    """
    import rasterio
    from PIL import Image, ImageDraw

    mine = [r for r in records if r["ground"] == ground_id]
    years = sorted({dt.datetime.fromisoformat(r["datetime"]).year for r in mine})
    wanted = [
        ("dry season", _pick(mine, {12, 1}, years=set(years[:2]))),
        ("monsoon", _pick(mine, {7, 8, 9}, cloudy=True)),
        ("burning-season haze", _pick(mine, {2, 3, 4}, haze=True)),
        ("after construction", _pick(mine, {10, 11}, years={2025}) or _pick(mine, {10, 11})),
        ("after demolitions", _pick(mine, {1, 2}, years={2026}) or _pick(mine, {1, 2})),
        ("latest", _pick(mine, {3, 4, 5, 6}, years={years[-1]})),
    ]
    panels = [(label, rec) for label, rec in wanted if rec is not None]
    seen_ids: set[str] = set()
    panels = [(n, r) for n, r in panels if not (r["id"] in seen_ids or seen_ids.add(r["id"]))]
    if not panels:
        panels = [("first", mine[0])] if mine else []
    first_dir = out_dir / "assets" / panels[0][1]["id"]
    with rasterio.open(first_dir / "B02.tif") as dataset:
        transform = dataset.transform
        epsg = dataset.crs.to_epsg()
        height, width = dataset.height, dataset.width
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    outlines = []
    for feature in truth_features:
        props = feature["properties"]
        if props.get("ground") != ground_id:
            continue
        rings = feature["geometry"]["coordinates"]
        polys = rings if feature["geometry"]["type"] == "MultiPolygon" else [rings]
        for poly in polys:
            xs, ys = to_utm.transform([p[0] for p in poly[0]], [p[1] for p in poly[0]])
            cols = (np.asarray(xs) - transform.c) / transform.a
            rows = (np.asarray(ys) - transform.f) / transform.e
            outlines.append(
                (
                    dt.date.fromisoformat(props["start"]),
                    props["change_type"],
                    list(zip(cols.tolist(), rows.tolist(), strict=True)),
                )
            )
    columns = 3
    n_rows = (len(panels) + columns - 1) // columns
    label_h = 18
    sheet = Image.new("RGB", (columns * (width + 6), n_rows * (height + label_h + 6)), (20, 20, 20))
    draw = ImageDraw.Draw(sheet)
    for i, (label, record) in enumerate(panels):
        when = dt.datetime.fromisoformat(record["datetime"]).date()
        offset = -0.1 if (style == "c1" or record.get("wrong_flag")) else 0.0
        rgb = _true_colour(out_dir / "assets" / record["id"], offset)
        x0 = (i % columns) * (width + 6) + 3
        y0 = (i // columns) * (height + label_h + 6) + 3
        sheet.paste(Image.fromarray(rgb), (x0, y0 + label_h))
        for start, change_type, ring in outlines:
            colour = TYPE_COLOURS[change_type] if start <= when else (150, 150, 150)
            draw.line([(x0 + c, y0 + label_h + r) for c, r in ring], fill=colour, width=1)
        draw.text(
            (x0 + 2, y0 + 3),
            f"{when}  {label}  cloud {record['cloud_fraction']:.0%}  SIMULATED",
            fill=(235, 235, 235),
        )
    tmp = path.with_name(f".{path.name}.tmp")
    sheet.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, path)
    return path
