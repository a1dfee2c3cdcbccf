"""The detector on real Sentinel-2 series: false alarms on real ground, recall of planted changes.

Converts every usable series of ``../shared/data/real-series`` into a static STAC catalog of
COGs (``benchmarks/real_catalog.py``) under ``--out``, and runs time-series mode on it through
the product's own stages: ``monitor.catalog.open_catalog`` + ``find_scenes``,
``monitor.imagery.load_chip`` (SCL first, offset check, chip cache), ``monitor.detect.update``
and ``detections_from_state``, as ``monitor run`` does (``benchmarks/detector_accuracy.py``
reads the simulator's archives the same way). Prints:

(a) every confirmed and probable detection on the unplanted series (no known construction):
    type, area, first seen, and what SCL said of that scene over the AOI (shares of classes
    2, 3, 6, 7 and 4/5); confirmed false alarms per km2 per year from the model's start;
(b) recall of new roofs and demolitions planted into the real pixels (``--seeds`` draws),
    scored with ``benchmarks/accuracy.py``'s rule, by size bin and type;
(c) with ``--scl-report FILE``, the SCL statistics of every real SCL source
    (``benchmarks/real_scl.py``), written as JSON.

Usage: ``python benchmarks/real_series.py --out DIR [--series ID] [--seeds N]
[--set name=value ...] [--scl-report FILE] [--root DIR]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy  # noqa: E402
import real_catalog as rc  # noqa: E402
import real_scl  # noqa: E402

from monitor.aoi import aoi_mask, load_aoi  # noqa: E402
from monitor.catalog import find_scenes, open_catalog  # noqa: E402
from monitor.detect import (  # noqa: E402
    DetectorParams,
    date_of,
    day_number,
    detections_from_state,
    new_state,
    update,
)
from monitor.detect.objects import ChangeObject  # noqa: E402
from monitor.imagery import ChipCache, load_chip  # noqa: E402


@dataclass(frozen=True)
class Run:
    """One pass of the detector over one catalog."""

    objects: tuple[ChangeObject, ...]
    model_from: dt.date | None
    end: dt.date
    area_km2: float
    n_scenes: int
    n_chips: int
    n_offset_overridden: int
    seconds: float
    fit_day: np.ndarray  # flat: day number of each pixel's first model fit, -1 if never

    @property
    def years(self) -> float:
        return (self.end - self.model_from).days / 365.25 if self.model_from else 0.0


def parse_overrides(items: list[str]) -> dict[str, object]:
    """``name=value`` strings as DetectorParams fields (tuples comma-separated)."""
    defaults = DetectorParams()
    out: dict[str, object] = {}
    for item in items:
        key, value = item.split("=", 1)
        if not hasattr(defaults, key):
            raise SystemExit(f"--set {item}: DetectorParams has no field {key!r}")
        kind = type(getattr(defaults, key))
        if kind is tuple:
            first = type(getattr(defaults, key)[0])
            out[key] = tuple(first(v) for v in value.split(","))
        elif kind is bool:
            out[key] = value.lower() in ("1", "true", "yes", "on")
        else:
            out[key] = kind(value)
    return out


def run_detector(catalog_dir: Path, cache_dir: Path, params: DetectorParams) -> Run:
    """Time-series mode over a converted catalog, read through the product's stages."""
    t0 = time.perf_counter()
    aoi = load_aoi(catalog_dir / "aoi.geojson")
    catalog = open_catalog(str(catalog_dir / "collection.json"))
    found = find_scenes(catalog, aoi, dt.date(2015, 6, 23), dt.date(2030, 1, 1))
    scenes = sorted(found.scenes, key=lambda s: (s.datetime, s.id))
    cache = ChipCache(cache_dir)
    state = new_state(aoi.grid.shape, params)
    n_chips = overridden = 0
    for scene in scenes:
        chip = load_chip(scene, aoi, cache).chip
        if chip is None:
            continue
        n_chips += 1
        overridden += chip.rule.offset != scene.rule.offset
        state, _ = update(
            state,
            chip.to_float(),
            chip.valid,
            chip.scl,
            chip.datetime.date(),
            chip.scene_id,
            params,
        )
    objects = detections_from_state(
        state, aoi_id=aoi.id, grid=aoi.grid, simulated=False, params=params
    )
    fit = state["fit_day"][state["fit_day"] >= 0]
    model_from = date_of(int(np.median(fit))) if fit.size else None
    end = scenes[-1].datetime.date()
    return Run(
        tuple(objects),
        model_from,
        end,
        float(aoi_mask(aoi).sum()) * 1e-4,
        len(scenes),
        n_chips,
        overridden,
        time.perf_counter() - t0,
        np.asarray(state["fit_day"]).copy(),
    )


def _found(objects: tuple[ChangeObject, ...]) -> list[accuracy.Found]:
    return [
        accuracy.Found(
            o.id,
            o.change_type,
            o.first_seen,
            o.geometry_utm,
            o.confirmed_on,
            o.status,
            o.confidence,
        )
        for o in objects
    ]


def false_alarms(series: rc.RealSeries, run: Run) -> list[dict]:
    """Every confirmed and probable detection, with SCL's view of its first-seen scene."""
    days = [t.date() for t in series.times]
    rows = []
    for o in run.objects:
        if o.status not in ("confirmed", "probable"):
            continue
        index = days.index(o.first_seen) if o.first_seen in days else None
        shares = real_scl.scene_shares(series.scl_fine()[index]) if index is not None else {}
        inside = (
            real_scl.scene_shares(series.scl_fine()[index].ravel()[o.pixels])
            if index is not None
            else {}
        )
        rows.append(
            {
                "id": o.id,
                "status": o.status,
                "type": o.change_type,
                "area_m2": o.area_m2,
                "first_seen": o.first_seen.isoformat(),
                "confirmed_on": o.confirmed_on.isoformat() if o.confirmed_on else None,
                "confidence": round(o.confidence, 3),
                "scl_aoi": shares,
                "scl_object": inside,
            }
        )
    return rows


def print_false_alarms(name: str, run: Run, rows: list[dict]) -> None:
    confirmed = [r for r in rows if r["status"] == "confirmed"]
    exposure = run.area_km2 * run.years
    rate = len(confirmed) / exposure if exposure else float("nan")
    print(
        f"(a) {name}: {run.n_scenes} scenes, {run.n_chips} read as chips "
        f"({run.n_offset_overridden} with the offset overridden by the pixel check), model "
        f"from ~{run.model_from} to {run.end} ({run.area_km2:.2f} km2 x {run.years:.2f} y), "
        f"{len(confirmed)} confirmed = {rate:.1f} per km2 per year, "
        f"{len(rows) - len(confirmed)} probable; {run.seconds:.1f} s"
    )
    print(
        "    status     type              m2    first seen  SCL of the AOI that scene: "
        "2 / 3 / 6 / 7 / 4+5 (share of valid), clear"
    )
    for r in rows:
        s = r["scl_aoi"]
        print(
            f"    {r['status']:<10} {r['type']:<16} {r['area_m2']:>6.0f}  {r['first_seen']}  "
            f"{s.get('dark', 0):.2f} / {s.get('shadow_of_all', 0):.2f} / "
            f"{s.get('water', 0):.2f} / {s.get('unclassified', 0):.2f} / "
            f"{s.get('vegetation_or_bare', 0):.2f}, {s.get('clear_fraction', 0):.2f}"
        )


def _modelled(run: Run, series: rc.RealSeries, truth: accuracy.Truth) -> float:
    from monitor.aoi.grid import grid_mask, to_wgs84

    mask = grid_mask(to_wgs84(truth.geometry, series.epsg), series.grid).ravel()
    fit = run.fit_day[mask]
    return float(((fit >= 0) & (fit <= day_number(truth.start))).mean()) if fit.size else 0.0


def planted_recall(
    series: rc.RealSeries, base: Run, out: Path, seeds: int, per_seed: int, params: DetectorParams
) -> tuple[accuracy.Score, list[dict]]:
    """Plant ``per_seed`` changes with each of ``seeds`` seeds, run, score, pool."""
    first = (base.model_from or series.times[0].date()) + dt.timedelta(days=10)
    last = series.times[-1].date() - dt.timedelta(days=40)
    runs, rows = [], []
    for seed in range(seeds):
        plants = rc.draw_plants(series, seed, per_seed, first, last)
        planted = rc.plant(series, plants, seed)
        folder = out / "planted" / f"{series.name}-seed{seed}"
        rc.write_catalog(planted, folder)
        rc.write_truth(folder / "truth.geojson", planted, plants)
        run = run_detector(folder, folder / "chips", params)
        truths = accuracy.load_truth(folder / "truth.geojson", series.aoi_id, epsg=series.epsg)
        monitored = [t for t in truths if run.model_from and t.start > run.model_from]
        runs.append(
            accuracy.AoiRun(
                series.aoi_id,
                monitored,
                [t for t in truths if t not in monitored],
                _found(run.objects),
                run.area_km2,
                run.years,
                run.model_from,
            )
        )
        for t in truths:
            alone = accuracy.score(_found(run.objects), [t], area_km2=1, years=1)
            hit = [
                o
                for o in run.objects
                if o.status == "confirmed"
                and t.geometry.buffer(10.0, join_style="mitre").intersects(o.geometry_utm)
                and -120 <= (o.first_seen - t.start).days <= 150
            ]
            rows.append(
                {
                    "seed": seed,
                    "id": t.id,
                    "type": t.change_type,
                    "area_m2": t.area_m2,
                    "start": t.start.isoformat(),
                    "monitored": t in monitored,
                    "found": alone.n_found == 1,
                    # Share of the footprint's pixels already modelled when the change began:
                    # an unmodelled pixel cannot depart (a miss by design, not by the rule).
                    "modelled_at_start": round(float(_modelled(run, series, t)), 2),
                    "got": sorted({o.change_type for o in hit}),
                }
            )
        print(
            f"    seed {seed}: {len(plants)} planted, "
            f"{sum(r['found'] for r in rows if r['seed'] == seed)} found; "
            f"{run.seconds:.1f} s"
        )
    return accuracy.pooled(runs), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for the catalogs and chip caches (outside the repo)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=rc.SHARED_SERIES,
        help="the real-series folder (default ../shared/data/real-series)",
    )
    parser.add_argument(
        "--series", action="append", default=None, help="only this series folder name (repeat)"
    )
    parser.add_argument("--seeds", type=int, default=5, help="planting draws per series")
    parser.add_argument("--per-seed", type=int, default=4, help="changes planted per draw")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        help="override a DetectorParams field, e.g. --set n_confirm=3",
    )
    parser.add_argument(
        "--scl-report",
        type=Path,
        default=None,
        help="write the SCL statistics of every real SCL source here (JSON)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="write the false alarms and planted outcomes here (JSON)",
    )
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        raise SystemExit(f"{args.root}: no real-series folder (it sits in ../shared)")
    overrides = parse_overrides(args.set)
    params = DetectorParams(**overrides)
    print("params:", overrides or "defaults")
    start = time.perf_counter()
    print("sources:")
    for check in rc.check_sources(args.root):
        print(
            f"  {'USABLE' if check.usable else 'no    '} {check.name}: {check.dates} dates, "
            f"{check.size} px, {' '.join(check.bands) or 'no S2 band'}; {check.reason}"
        )
    folders = [
        f for f in rc.usable_series(args.root) if args.series is None or f.name in args.series
    ]
    record: dict[str, dict] = {}
    for folder in folders:
        series = rc.read_series(folder)
        base_dir = args.out / "catalogs" / series.name
        t0 = time.perf_counter()
        rc.write_catalog(series, base_dir)
        print(
            f"{series.name}: {len(series.times)} dates {series.times[0]:%Y-%m-%d} .. "
            f"{series.times[-1]:%Y-%m-%d}, {series.shape[0]}x{series.shape[1]} px, EPSG:"
            f"{series.epsg}; catalog written in {time.perf_counter() - t0:.0f} s"
        )
        base = run_detector(base_dir, base_dir / "chips", params)
        alarms = false_alarms(series, base)
        print_false_alarms(series.name, base, alarms)
        print(f"(b) {series.name}: planting {args.per_seed} changes x {args.seeds} seeds")
        pooled, rows = planted_recall(series, base, args.out, args.seeds, args.per_seed, params)
        print(accuracy.format_score(f"    {series.name} planted", pooled))
        for r in rows:
            if r["monitored"] and not r["found"]:
                print(
                    f"    missed: seed {r['seed']} {r['type']} {r['area_m2']:.0f} m2 from "
                    f"{r['start']} (modelled at start {r['modelled_at_start']:.0%})"
                )
        record[series.name] = {
            "false_alarms": alarms,
            "planted": rows,
            "model_from": str(base.model_from),
            "end": str(base.end),
            "area_km2": base.area_km2,
        }
    if args.scl_report is not None:
        report = real_scl.scl_report(args.root)
        args.scl_report.write_text(json.dumps(report, indent=1))
        print(real_scl.format_summary(report))
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=1, default=str))
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
