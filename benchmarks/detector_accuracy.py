"""Detector accuracy on a simulated archive: recall by size, false alarms, typing, latency.

Reads the simulator's static collection directly with rasterio (a stand-in until
``monitor.imagery`` reads chips): each item's window on the AOI grid, 20 m bands repeated
2 x 2, SCL's masked classes and nodata as not valid, reflectance by the item's declared rule
(``earthsearch:boa_offset_applied`` wins). Runs time-series mode per AOI and scores the
confirmed detections against ``truth.geojson`` / ``truth/<aoi>.tif``.

Usage: ``python benchmarks/detector_accuracy.py SIM_DIR [--aoi ID ...]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import from_bounds

from monitor.detect import (
    DetectorParams,
    detections_from_state,
    new_state,
    stated_limits_note,
    update,
)
from monitor.detect.limits import size_at_probability
from monitor.models import SCL_MASKED, Grid
from monitor.simulate.archive import demo_aois

FILES = ("B02", "B03", "B04", "B08", "B11", "B12")


def read_scene(
    item: dict, item_path: Path, grid: Grid
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    assets = item["assets"]
    props = item["properties"]
    out = np.full((6, grid.height, grid.width), np.nan, dtype=np.float32)
    have = np.ones(grid.shape, dtype=bool)
    applied = props.get("earthsearch:boa_offset_applied")
    for i, key in enumerate(("blue", "green", "red", "nir", "swir16", "swir22")):
        asset = assets[key]
        band = asset["raster:bands"][0]
        offset = 0.0 if applied else float(band.get("offset", 0.0))
        with rasterio.open((item_path.parent / asset["href"]).resolve()) as src:
            window = from_bounds(*grid.bounds, transform=src.transform)
            data = src.read(
                1, window=window.round_offsets().round_lengths(), boundless=True, fill_value=0
            )
        if data.shape != grid.shape:
            data = np.repeat(np.repeat(data, 2, axis=0), 2, axis=1)[: grid.height, : grid.width]
        have &= data > 0
        out[i] = data.astype(np.float32) * float(band.get("scale", 1e-4)) + offset
    with rasterio.open((item_path.parent / assets["scl"]["href"]).resolve()) as src:
        window = from_bounds(*grid.bounds, transform=src.transform)
        scl = src.read(
            1, window=window.round_offsets().round_lengths(), boundless=True, fill_value=0
        )
    scl = np.repeat(np.repeat(scl, 2, axis=0), 2, axis=1)[: grid.height, : grid.width]
    valid = have & ~np.isin(scl, list(SCL_MASKED))
    out[:, ~valid] = np.nan
    return out, valid, scl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sim", type=Path)
    parser.add_argument("--aoi", action="append", default=None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        help="override a DetectorParams field, e.g. --set n_confirm=3",
    )
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = type(getattr(DetectorParams(), key))(value)
    params = DetectorParams(**overrides)
    print("params:", overrides or "defaults")
    aois = {a.id: a for a in demo_aois()}
    wanted = args.aoi or ["kk-park", "shwe-kokko", "mae-sot"]
    truth_all = json.loads((args.sim / "truth.geojson").read_text())["features"]
    items = sorted(args.sim.glob("items/*.json"))
    rows = []
    for aoi_id in wanted:
        aoi = aois[aoi_id]
        grid = aoi.grid
        ground = "kk-park" if aoi_id == "kk-park-east" else aoi_id
        mine = sorted(
            (p for p in items if p.stem.endswith("_" + ground)),
            key=lambda p: json.loads(p.read_text())["properties"]["datetime"],
        )
        state = new_state(grid.shape, params)
        start = time.perf_counter()
        n_obs = 0
        for path in mine:
            item = json.loads(path.read_text())
            day = dt.datetime.fromisoformat(
                item["properties"]["datetime"].replace("Z", "+00:00")
            ).date()
            refl, valid, scl = read_scene(item, path, grid)
            n_obs += int(valid.sum())
            state, _ = update(state, refl, valid, scl, day, item["id"], params)
        seconds = time.perf_counter() - start
        objects = detections_from_state(
            state, aoi_id=aoi_id, grid=grid, simulated=True, params=params
        )
        with rasterio.open(args.sim / "truth" / f"{aoi_id}.tif") as src:
            truth = src.read(1)
        inside = truth != 255
        # Truth ids per pixel from the footprints' raster: rebuild by change order.
        changes = [f for f in truth_all if aoi_id in f["properties"].get("aois", [])]
        label = np.zeros(grid.shape, dtype=np.int32)
        from shapely.geometry import shape as to_shape

        from monitor.aoi.grid import grid_mask

        for k, f in enumerate(changes, start=1):
            label[grid_mask(to_shape(f["geometry"]), grid) & (label == 0)] = k
        confirmed = [o for o in objects if o.status == "confirmed"]
        first_model = min((d for d in state["fit_day"] if d >= 0), default=None)
        from monitor.detect import date_of

        model_from = (
            date_of(int(np.median(state["fit_day"][state["fit_day"] >= 0])))
            if first_model is not None
            else None
        )
        hit_by: dict[int, list] = {}
        false = 0
        for o in confirmed:
            ids = np.unique(label.ravel()[o.pixels])
            ids = ids[ids > 0]
            if ids.size == 0:
                false += 1
            for i in ids:
                hit_by.setdefault(int(i), []).append(o)
        end = max(date_of(d) for d in state.scene_days)
        for k, f in enumerate(changes, start=1):
            p = f["properties"]
            begin = dt.date.fromisoformat(p["start"][:10])
            monitored = model_from is not None and begin > model_from
            found = hit_by.get(k, [])
            typed = any(o.change_type == p["change_type"] for o in found)
            latency = None
            if found:
                confirmed_on = min(o.confirmed_on for o in found if o.confirmed_on)
                latency = (confirmed_on - begin).days
            rows.append(
                dict(
                    aoi=aoi_id,
                    type=p["change_type"],
                    area=p["area_m2"],
                    monitored=monitored,
                    found=bool(found),
                    typed=typed,
                    latency=latency,
                    dry=begin.month in (11, 12, 1, 2, 3, 4),
                )
            )
        area_km2 = inside.sum() * 1e-4
        years = (end - model_from).days / 365.25 if model_from else 0
        print(
            f"{aoi_id}: {len(mine)} scenes, {seconds:.0f} s, {n_obs / seconds:,.0f} px-obs/s, "
            f"model from ~{model_from}, {len(confirmed)} confirmed, {false} false "
            f"({false / max(area_km2 * years, 1e-9):.2f} per km2 per year over {area_km2:.1f} km2 x {years:.2f} y)"
        )
        true_scores = [o.mean_score for o in confirmed if np.any(label.ravel()[o.pixels] > 0)]
        false_scores = [o.mean_score for o in confirmed if not np.any(label.ravel()[o.pixels] > 0)]
        if true_scores:
            print(
                "   true scores q10/50/90:", np.round(np.percentile(true_scores, [10, 50, 90]), 1)
            )
        if false_scores:
            print(
                "   false scores q10/50/90:",
                np.round(np.percentile(false_scores, [10, 50, 90]), 1),
                "months:",
                np.bincount(
                    [
                        o.first_seen.month
                        for o in confirmed
                        if not np.any(label.ravel()[o.pixels] > 0)
                    ],
                    minlength=13,
                )[1:],
            )
    mon = [r for r in rows if r["monitored"]]

    def recall(lo: float, hi: float) -> str:
        sel = [r for r in mon if lo <= r["area"] < hi]
        return f"{sum(r['found'] for r in sel)}/{len(sel)}" + (
            f" = {sum(r['found'] for r in sel) / len(sel):.2f}" if sel else ""
        )

    print(
        "recall <400:",
        recall(0, 400),
        " 400-899:",
        recall(400, 900),
        " 900-1999:",
        recall(900, 2000),
        " >=2000:",
        recall(2000, 1e9),
    )
    found = [r for r in mon if r["found"]]
    print(f"typed right: {sum(r['typed'] for r in found)}/{len(found)}")
    for t in sorted({r["type"] for r in mon}):
        sel = [r for r in mon if r["type"] == t]
        print(
            f"  {t}: found {sum(r['found'] for r in sel)}/{len(sel)}, typed {sum(r['typed'] for r in sel if r['found'])}"
        )
    lat = [r["latency"] for r in found if r["dry"] and r["latency"] is not None]
    print(
        f"median days change->confirmation (dry season): {np.median(lat) if lat else float('nan'):.0f} (n={len(lat)})"
    )
    if mon:
        p50 = size_at_probability(
            np.array([r["area"] for r in mon]), np.array([r["found"] for r in mon]), 0.5
        )
        p90 = size_at_probability(
            np.array([r["area"] for r in mon]), np.array([r["found"] for r in mon]), 0.9
        )
        print(f"size found with 50 %: {p50:.0f} m2, 90 %: {p90:.0f} m2")
    print(stated_limits_note())


if __name__ == "__main__":
    main()
