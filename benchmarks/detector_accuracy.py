"""Detector accuracy on a simulated archive, read through the product's own stages.

Scenes come from ``monitor.catalog`` (``open_catalog`` + ``find_scenes`` on the simulator's
static collection) and chips from ``monitor.imagery.load_chip`` (SCL first, offset check,
chip cache), exactly as ``monitor run`` reads them; only chips are fed to the detector
(scenes the imagery stage skips as too cloudy are not). Runs time-series mode per AOI and
scores the confirmed detections against ``truth.geojson`` with the issue's rule:

- a planted change is **found** when a confirmed detection overlaps its footprint grown by
  one pixel and was first seen between 120 days before and 150 days after the change began;
- a change counts (is "monitored") only when it began after the AOI's pixels were modelled
  (the median day of the first model fit): earlier ones cannot be flagged by design;
- a **false alarm** is a confirmed detection overlapping no planted footprint (grown by one
  pixel) of any date; rates are per km² of AOI and per monitored year;
- **typing** is right when a detection that found the change carries its type.

``--dump FILE`` writes every confirmed detection's confidence features and whether it is
right (for ``--fit-confidence`` on seeds 0-2), ``--reliability`` prints the reliability
table of the confidence.

Usage: ``python benchmarks/detector_accuracy.py SIM_DIR [--aoi ID ...] [--dump F.json]``
       ``python benchmarks/detector_accuracy.py --fit-confidence F0.json F1.json F2.json``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from shapely.geometry import shape as to_shape

from monitor.aoi.grid import grid_mask
from monitor.aoi.load import load_aoi
from monitor.catalog import find_scenes, open_catalog
from monitor.detect import (
    DetectorParams,
    date_of,
    detections_from_state,
    new_state,
    stated_limits_note,
    update,
)
from monitor.detect.confidence import DEFAULT_CONFIDENCE, ConfidenceModel
from monitor.detect.limits import size_at_probability
from monitor.imagery import ChipCache, load_chip

AOI_DIR = Path(__file__).resolve().parents[1] / "aoi"
DEMO = ("kk-park", "kk-park-east", "shwe-kokko", "mae-sot")


def features(mean_score: float, n_pixels: int, n_obs: int) -> list[float]:
    """The confidence model's features (its ``confirmed`` term is constant here)."""
    return [1.0, math.log(max(mean_score, 1e-3)), math.log(max(n_pixels, 1)), min(n_obs, 12)]


def fit_confidence(paths: list[Path]) -> None:
    """Logistic regression (Newton, small ridge) of 'right' on the features; prints a model."""
    rows = [r for p in paths for r in json.loads(p.read_text())]
    x = np.array([features(r["mean_score"], r["n_pixels"], r["n_obs"]) for r in rows])
    y = np.array([float(r["right"]) for r in rows])
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ beta)))
        grad = x.T @ (y - p) - 1e-3 * beta
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(x.shape[1])
        beta += np.linalg.solve(hess, grad)
    print(f"{len(rows)} confirmed detections, {int(y.sum())} right")
    print(
        f"ConfidenceModel(intercept={beta[0] - 0.0:.3f}, per_log_score={beta[1]:.3f}, "
        f"per_log_pixels={beta[2]:.3f}, per_obs={beta[3]:.3f}, confirmed=<add to intercept "
        f"minus this>)"
    )
    reliability(rows, ConfidenceModel(beta[0], beta[1], beta[2], beta[3], 0.0))


def reliability(rows: list[dict], model: ConfidenceModel) -> None:
    """Reliability table: share right per confidence bin."""
    conf = np.array(
        [
            1 / (1 + math.exp(-(
                model.intercept + model.confirmed
                + model.per_log_score * math.log(max(r["mean_score"], 1e-3))
                + model.per_log_pixels * math.log(max(r["n_pixels"], 1))
                + model.per_obs * min(r["n_obs"], 12)
            )))
            for r in rows
        ]
    )
    right = np.array([r["right"] for r in rows], dtype=bool)
    print("confidence bin   n   mean conf   share right")
    for lo in np.arange(0.0, 1.0, 0.1):
        sel = (conf >= lo) & (conf < lo + 0.1 + (1e-9 if lo >= 0.9 else 0))
        if sel.any():
            print(f"  {lo:.1f}-{lo + 0.1:.1f}   {sel.sum():4d}   {conf[sel].mean():.2f}      "
                  f"{right[sel].mean():.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sim", type=Path, nargs="?")
    parser.add_argument("--aoi", action="append", default=None)
    parser.add_argument("--cache", type=Path, default=None, help="chip cache state dir")
    parser.add_argument("--dump", type=Path, default=None)
    parser.add_argument("--fit-confidence", type=Path, nargs="+", default=None)
    parser.add_argument(
        "--set", action="append", default=[],
        help="override a DetectorParams field, e.g. --set n_confirm=3",
    )
    args = parser.parse_args()
    if args.fit_confidence:
        fit_confidence(args.fit_confidence)
        return
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = type(getattr(DetectorParams(), key))(value)
    params = DetectorParams(**overrides)
    print("params:", overrides or "defaults")
    sim: Path = args.sim
    cache = ChipCache(args.cache or Path("/tmp/det/chips") / sim.name)
    catalog = open_catalog(str(sim))
    truth_all = json.loads((sim / "truth.geojson").read_text())["features"]
    rows: list[dict] = []
    dump: list[dict] = []
    totals = {"read": 0.0, "detect": 0.0, "obs": 0, "km2y": 0.0, "false": 0}
    for aoi_id in args.aoi or list(DEMO):
        aoi = load_aoi(AOI_DIR / f"{aoi_id}.geojson")
        grid = aoi.grid
        found_scenes = find_scenes(catalog, aoi, dt.date(2015, 6, 23), dt.date(2030, 1, 1))
        state = new_state(grid.shape, params)
        read_s = detect_s = 0.0
        n_obs = 0
        for scene in found_scenes.scenes:
            t0 = time.perf_counter()
            outcome = load_chip(scene, aoi, cache)
            t1 = time.perf_counter()
            read_s += t1 - t0
            chip = outcome.chip
            if chip is None:
                continue
            n_obs += int(chip.valid.sum())
            state, _ = update(
                state, chip.to_float(), chip.valid, chip.scl, chip.datetime.date(),
                chip.scene_id, params,
            )
            detect_s += time.perf_counter() - t1
        objects = detections_from_state(
            state, aoi_id=aoi_id, grid=grid, simulated=True, params=params
        )
        inside = grid_mask(aoi.geometry, grid)
        changes = [f for f in truth_all if aoi_id in f["properties"].get("aois", [])]
        grown = []
        for f in changes:
            mask = grid_mask(to_shape(f["geometry"]), grid)
            grown.append(ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool)).ravel())
        any_truth = np.zeros(grid.shape[0] * grid.shape[1], dtype=bool)
        for g in grown:
            any_truth |= g
        confirmed = [o for o in objects if o.status == "confirmed"]
        fit_days = state["fit_day"][state["fit_day"] >= 0]
        model_from = date_of(int(np.median(fit_days))) if fit_days.size else None
        end = date_of(max(state.scene_days))
        false = 0
        for o in confirmed:
            right = bool(any_truth[o.pixels].any())
            false += not right
            dump.append(dict(aoi=aoi_id, mean_score=o.mean_score, n_pixels=o.n_pixels,
                             n_obs=o.n_obs, confidence=o.confidence, right=right,
                             first_seen=str(o.first_seen)))
        for f, g in zip(changes, grown, strict=True):
            p = f["properties"]
            begin = dt.date.fromisoformat(p["start"][:10])
            hits = [
                o for o in confirmed
                if g[o.pixels].any()
                and -120 <= (o.first_seen - begin).days <= 150
            ]
            latency = None
            if hits:
                latency = min((o.confirmed_on - begin).days for o in hits if o.confirmed_on)
            rows.append(dict(
                aoi=aoi_id, type=p["change_type"], area=p["area_m2"], begin=str(begin),
                monitored=model_from is not None and begin > model_from,
                found=bool(hits), typed=any(o.change_type == p["change_type"] for o in hits),
                got=sorted({o.change_type for o in hits}), latency=latency,
                dry=begin.month in (11, 12, 1, 2, 3, 4),
            ))
        area_km2 = inside.sum() * 1e-4
        years = (end - model_from).days / 365.25 if model_from else 0.0
        totals["read"] += read_s
        totals["detect"] += detect_s
        totals["obs"] += n_obs
        totals["km2y"] += area_km2 * years
        totals["false"] += false
        print(
            f"{aoi_id}: {len(found_scenes.scenes)} scenes, read {read_s:.0f} s, detect "
            f"{detect_s:.1f} s ({n_obs / max(detect_s, 1e-9):,.0f} px-obs/s), state "
            f"{state.nbytes() / state.n_pixels:.0f} B/px, model from ~{model_from}, "
            f"{len(confirmed)} confirmed, {false} false = "
            f"{false / max(area_km2 * years, 1e-9):.2f} per km2 per year "
            f"({area_km2:.1f} km2 x {years:.2f} y)"
        )
    mon = [r for r in rows if r["monitored"]]

    def recall(lo: float, hi: float) -> str:
        sel = [r for r in mon if lo <= r["area"] < hi]
        k = sum(r["found"] for r in sel)
        return f"{k}/{len(sel)}" + (f" = {k / len(sel):.2f}" if sel else "")

    print(f"total: read {totals['read']:.0f} s, detect {totals['detect']:.0f} s "
          f"({totals['obs'] / max(totals['detect'], 1e-9):,.0f} px-obs/s); false alarms "
          f"{totals['false']} = {totals['false'] / max(totals['km2y'], 1e-9):.2f} per km2 per year")
    print("recall <400:", recall(0, 400), " 400-899:", recall(400, 900),
          " 900-1999:", recall(900, 2000), " >=2000:", recall(2000, 1e9))
    found = [r for r in mon if r["found"]]
    print(f"typed right: {sum(r['typed'] for r in found)}/{len(found)}")
    for t in sorted({r["type"] for r in mon}):
        sel = [r for r in mon if r["type"] == t]
        print(f"  {t}: found {sum(r['found'] for r in sel)}/{len(sel)}, "
              f"typed {sum(r['typed'] for r in sel if r['found'])}")
    print("misses >= 900 m2:")
    for r in mon:
        if not r["found"] and r["area"] >= 900:
            print(f"   {r['aoi']} {r['type']} {r['area']:.0f} m2 began {r['begin']}")
    print("mistyped:", [(r["type"], r["got"]) for r in found if not r["typed"]])
    lat = [r["latency"] for r in found if r["dry"] and r["latency"] is not None]
    print(f"median days change->confirmation (dry season): "
          f"{np.median(lat) if lat else float('nan'):.0f} (n={len(lat)})")
    if mon:
        areas = np.array([r["area"] for r in mon])
        hit = np.array([r["found"] for r in mon])
        print(f"size found with 50 %: {size_at_probability(areas, hit, 0.5):.0f} m2, "
              f"90 %: {size_at_probability(areas, hit, 0.9):.0f} m2")
    if dump:
        reliability(dump, DEFAULT_CONFIDENCE)
    if args.dump:
        args.dump.write_text(json.dumps(dump))
    print(stated_limits_note())


if __name__ == "__main__":
    main()
