"""Accuracy harness: score confirmed detections against a simulated archive's planted truth.

A planted change is *found* when a confirmed detection overlaps its footprint grown by one
pixel (10 m) and was first seen between 120 days before the change began and 150 days after;
every other confirmed detection is a false alarm. Prints recall by size (< 400, 400-899,
900-1,999, >= 2,000 m2) and by type, type accuracy, false alarms per km2 per year, days from
change to confirmation, the reliability of the confidence, and beside them a naive two-date
baseline on the same data.

The detector runs exactly as a user runs it: ``monitor.job.run_job`` on the simulated static
catalog (catalog, imagery, chip cache, detector, store), then ``export_detections``. A
change that began before the AOI's pixels were modelled (the median day of the detector's
first fit, read from the stored state) cannot be flagged by design; such changes are
listed apart and not counted. Exposure for false alarms runs from that day to the end.

    python benchmarks/accuracy.py --quick        # seed 0, c1, KK Park, 2024-07..2026-06
    python benchmarks/accuracy.py                # seeds 0 1 2 x c1 l2a, the four demo AOIs
    python benchmarks/accuracy.py --seeds 2 --styles c1 l2a
    python benchmarks/accuracy.py --archive DIR --detections FILE.geojson --aoi kk-park

Seed 2 is held out: the detector is tuned on seeds 0 and 1 only. Not collected by pytest;
tests/simulate/test_accuracy_harness.py tests the scoring functions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape

SIZE_BINS_M2: tuple[tuple[str, float, float], ...] = (
    ("<400", 0.0, 400.0),
    ("400-899", 400.0, 900.0),
    ("900-1999", 900.0, 2000.0),
    (">=2000", 2000.0, float("inf")),
)
BEFORE_DAYS = 120
AFTER_DAYS = 150
PIXEL_M = 10.0


@dataclass(frozen=True)
class Truth:
    id: str
    change_type: str
    start: dt.date
    area_m2: float
    geometry: Any  # UTM
    aois: tuple[str, ...] = ()


@dataclass(frozen=True)
class Found:
    id: str
    change_type: str
    first_seen: dt.date
    geometry: Any  # UTM
    confirmed_on: dt.date | None = None
    status: str = "confirmed"
    confidence: float | None = None


@dataclass
class Score:
    n_truth: int
    n_found: int
    recall_by_size: dict[str, tuple[int, int]] = field(default_factory=dict)
    recall_by_type: dict[str, tuple[int, int]] = field(default_factory=dict)
    type_accuracy: float | None = None
    false_alarms: int = 0
    false_alarms_per_km2_year: float = 0.0
    days_to_confirm: list[int] = field(default_factory=list)
    #: (planted area m2, found) of every scored change: the stated limits are fitted to it.
    sizes: list[tuple[float, bool]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.n_found / self.n_truth if self.n_truth else float("nan")


def size_bin(area_m2: float) -> str:
    for name, lo, hi in SIZE_BINS_M2:
        if lo <= area_m2 < hi:
            return name
    raise ValueError(area_m2)


def _project(transformer: Transformer, geometry: Any) -> Any:
    return shapely.transform(
        geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def load_truth(path: Path, aoi_id: str | None = None, epsg: int = 32647) -> list[Truth]:
    """Planted changes from ``truth.geojson`` (optionally those falling in one AOI), in UTM."""
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    out = []
    for feature in json.loads(path.read_text())["features"]:
        props = feature["properties"]
        if aoi_id and aoi_id not in props.get("aois", []):
            continue
        geometry = _project(to_utm, shape(feature["geometry"]))
        out.append(
            Truth(
                props["id"],
                props["change_type"],
                dt.date.fromisoformat(props["start"]),
                float(props["area_m2"]),
                geometry,
                tuple(props.get("aois", [])),
            )
        )
    return out


def load_detections(path: Path, epsg: int = 32647) -> list[Found]:
    """Detections from an exported GeoJSON (the contract's fields), in UTM."""
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    out = []
    for feature in json.loads(path.read_text())["features"]:
        props = feature["properties"]
        confirmed = props.get("confirmed_on")
        out.append(
            Found(
                str(props["id"]),
                props["change_type"],
                dt.date.fromisoformat(props["first_seen"]),
                _project(to_utm, shape(feature["geometry"])),
                dt.date.fromisoformat(confirmed) if confirmed else None,
                props.get("status", "confirmed"),
                props.get("confidence"),
            )
        )
    return out


def score(
    detections: Iterable[Found], truths: Sequence[Truth], *, area_km2: float, years: float
) -> Score:
    """Score confirmed detections against the truth with the harness's matching rule."""
    confirmed = [d for d in detections if d.status == "confirmed"]
    grown = [t.geometry.buffer(PIXEL_M, join_style="mitre") for t in truths]
    matched_detections: set[int] = set()
    result = Score(n_truth=len(truths), n_found=0)
    type_hits = 0
    for name, _, _ in SIZE_BINS_M2:
        result.recall_by_size[name] = (0, 0)
    for t_index, truth in enumerate(truths):
        best: tuple[float, int] | None = None
        for d_index, det in enumerate(confirmed):
            lag = (det.first_seen - truth.start).days
            if not -BEFORE_DAYS <= lag <= AFTER_DAYS:
                continue
            overlap = grown[t_index].intersection(det.geometry).area
            if overlap > 0 or grown[t_index].intersects(det.geometry):
                matched_detections.add(d_index)
                if best is None or overlap > best[0]:
                    best = (overlap, d_index)
        found = best is not None
        result.sizes.append((truth.area_m2, found))
        bin_name = size_bin(truth.area_m2)
        hit, total = result.recall_by_size[bin_name]
        result.recall_by_size[bin_name] = (hit + found, total + 1)
        hit, total = result.recall_by_type.get(truth.change_type, (0, 0))
        result.recall_by_type[truth.change_type] = (hit + found, total + 1)
        if found:
            result.n_found += 1
            det = confirmed[best[1]]
            type_hits += det.change_type == truth.change_type
            when = det.confirmed_on or det.first_seen
            result.days_to_confirm.append((when - truth.start).days)
    result.type_accuracy = type_hits / result.n_found if result.n_found else None
    result.false_alarms = len(confirmed) - len(matched_detections)
    exposure = area_km2 * years
    result.false_alarms_per_km2_year = result.false_alarms / exposure if exposure else float("nan")
    return result


def format_score(label: str, s: Score) -> str:
    lines = [f"{label}: recall {s.n_found}/{s.n_truth} ({s.recall:.0%})"]
    lines.append(
        "  by size: " + "  ".join(f"{k} {h}/{n}" for k, (h, n) in s.recall_by_size.items())
    )
    lines.append(
        "  by type: " + "  ".join(f"{k} {h}/{n}" for k, (h, n) in sorted(s.recall_by_type.items()))
    )
    acc = "n/a" if s.type_accuracy is None else f"{s.type_accuracy:.0%}"
    delay = (
        (
            f"median {int(np.median(s.days_to_confirm))} d, p90 "
            f"{int(np.percentile(s.days_to_confirm, 90))} d"
        )
        if s.days_to_confirm
        else "n/a"
    )
    lines.append(
        f"  type accuracy {acc}; false alarms {s.false_alarms} "
        f"({s.false_alarms_per_km2_year:.2f} per km2 per year); to confirmation {delay}"
    )
    if s.sizes:
        from monitor.detect.limits import size_at_probability

        areas = np.array([a for a, _ in s.sizes])
        found = np.array([f for _, f in s.sizes])
        p50, p90 = (size_at_probability(areas, found, p) for p in (0.5, 0.9))
        lines.append(
            f"  size found with 50 % / 90 % probability (logistic fit on log area, "
            f"n={len(areas)}): {p50:,.0f} / {p90:,.0f} m2"
        )
    return "\n".join(lines)


# --- the naive two-date baseline ---------------------------------------------------------


def _read_item(
    archive: Path, item: Mapping[str, Any], grid_slice: tuple[slice, slice]
) -> tuple[np.ndarray, np.ndarray]:
    """Reflectance (4, rows, cols) of the AOI window and a clear mask from SCL."""
    import rasterio

    offset = -0.1 if ("earthsearch:boa_offset_applied" not in item["properties"]) else 0.0
    bands = []
    for key in ("blue", "green", "red", "nir"):
        with rasterio.open(archive / "items" / item["assets"][key]["href"]) as ds:
            bands.append(ds.read(1)[grid_slice].astype(np.float32) * 1e-4 + offset)
    with rasterio.open(archive / "items" / item["assets"]["scl"]["href"]) as ds:
        scl = np.repeat(np.repeat(ds.read(1), 2, 0), 2, 1)[grid_slice]
    return np.stack(bands), np.isin(scl, [2, 4, 5, 6, 7])


def naive_baseline(archive: Path, aoi_id: str, gap_days: int = 90) -> list[Found]:
    """Pairs of the clearest scenes about ``gap_days`` apart: standardised four-band distance,
    Otsu threshold, connected components of >= 2 px as detections (type by brightening)."""
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    marker = json.loads((archive / "simulation.json").read_text())
    ground = next(g for g, v in marker["grounds"].items() if aoi_id in v["aois"])
    left, bottom, right, top = marker["grounds"][ground]["grid"]
    collection = json.loads((archive / "collection.json").read_text())
    items = [
        json.loads((archive / link["href"]).read_text())
        for link in collection["links"]
        if link["rel"] == "item"
    ]
    items = [i for i in items if i["properties"].get("monitor:ground") == ground]
    window = (slice(None), slice(None))
    views = []
    for item in items:
        refl, clear = _read_item(archive, item, window)
        if clear.mean() > 0.9:
            views.append((dt.date.fromisoformat(item["properties"]["datetime"][:10]), refl, clear))
    found: list[Found] = []
    i = 0
    while i < len(views):
        j = next(
            (k for k in range(i + 1, len(views)) if (views[k][0] - views[i][0]).days >= gap_days),
            None,
        )
        if j is None:
            break
        (_, a, ca), (d1, b, cb) = views[i], views[j]
        ok = ca & cb
        za = (a - a[:, ok].mean(axis=1)[:, None, None]) / a[:, ok].std(axis=1)[:, None, None]
        zb = (b - b[:, ok].mean(axis=1)[:, None, None]) / b[:, ok].std(axis=1)[:, None, None]
        dist = np.sqrt(((zb - za) ** 2).sum(axis=0))
        changed = ok & (dist > threshold_otsu(dist[ok]))
        labels, n = ndimage.label(changed)
        for index, sl in enumerate(ndimage.find_objects(labels), start=1):
            mask = labels[sl] == index
            if mask.sum() < 2:
                continue
            r0, c0 = sl[0].start, sl[1].start
            x0, y0 = left + c0 * PIXEL_M, top - r0 * PIXEL_M
            geom = shapely.box(x0, y0 - mask.shape[0] * PIXEL_M, x0 + mask.shape[1] * PIXEL_M, y0)
            brighter = b[:, sl[0], sl[1]][:, mask].mean() > a[:, sl[0], sl[1]][:, mask].mean()
            found.append(
                Found(
                    f"naive-{d1}-{index}",
                    "new_construction" if brighter else "demolition",
                    d1,
                    geom,
                    d1,
                )
            )
        i = j
    # The baseline compares whole grounds; keep what touches the AOI, like the monitor.
    from monitor.aoi import resolve_aois
    from monitor.aoi.grid import to_utm

    aoi = resolve_aois([aoi_id], AOI_DIR)[0]
    outline = to_utm(aoi.geometry, aoi.grid.epsg)
    return [f for f in found if f.geometry.intersects(outline)]


HELD_OUT_SEEDS = (2,)
DEMO_AOI_IDS = ("kk-park", "kk-park-east", "shwe-kokko", "mae-sot")
AOI_DIR = Path(__file__).resolve().parent.parent / "aoi"


@dataclass
class AoiRun:
    """One AOI of one archive: what the product found, and what could be scored."""

    aoi_id: str
    truths: list[Truth]
    not_monitored: list[Truth]
    detections: list[Found]
    area_km2: float
    years: float
    monitored_from: dt.date | None


def run_product(
    archive: Path, aoi_ids: Sequence[str], work: Path, start: dt.date, end: dt.date
) -> list[AoiRun]:
    """``monitor run`` over the archive (own state in ``work``), then the export, per AOI."""
    from monitor.aoi import aoi_mask, resolve_aois
    from monitor.config import load_settings
    from monitor.detect import DetectorState, date_of
    from monitor.job import export_detections, run_job
    from monitor.store import Store

    settings = load_settings(
        flags={
            "state_dir": work / "state",
            "reports_dir": work / "reports",
            "aoi_dir": AOI_DIR,
            "stac": str(archive / "collection.json"),
        },
        environ={},
        cwd=work,
    )
    settings = settings.replace(collection=None)
    job = run_job(settings, aoi_ids, since=start, until=end, argv=["accuracy"])
    if job.exit_code != 0:
        raise SystemExit(f"monitor run failed on {archive}: {job.errors}")
    exported = work / "detections.geojson"
    export_detections(settings, aoi_ids, fmt="geojson", out=exported, status="all", overwrite=True)
    features = json.loads(exported.read_text())["features"]
    runs = []
    with Store.open(settings.state_dir, create=False) as store:
        for aoi in resolve_aois(list(aoi_ids), AOI_DIR):
            snapshot = store.get_detector_state(aoi.id)
            state = DetectorState.from_arrays(snapshot.arrays)
            fit = state["fit_day"][state["fit_day"] >= 0]
            monitored_from = date_of(int(np.median(fit))) if fit.size else None
            truths = load_truth(archive / "truth.geojson", aoi.id)
            monitored = [t for t in truths if monitored_from and t.start > monitored_from]
            ids = {f["properties"]["id"] for f in features if f["properties"]["aoi"] == aoi.id}
            mine = [d for d in load_detections(exported) if d.id in ids]
            years = (end - monitored_from).days / 365.25 if monitored_from else 0.0
            runs.append(
                AoiRun(
                    aoi.id,
                    monitored,
                    [t for t in truths if t not in monitored],
                    mine,
                    float(aoi_mask(aoi).sum()) * 1e-4,
                    years,
                    monitored_from,
                )
            )
    return runs


def pooled(runs: Sequence[AoiRun], detections_of: Any = None) -> Score:
    """One score over several AOIs: counts added, exposure summed."""
    total = Score(n_truth=0, n_found=0)
    for name, _, _ in SIZE_BINS_M2:
        total.recall_by_size[name] = (0, 0)
    type_hits = 0
    exposure = 0.0
    for run in runs:
        dets = detections_of(run) if detections_of else run.detections
        s = score(dets, run.truths, area_km2=run.area_km2, years=run.years)
        total.n_truth += s.n_truth
        total.n_found += s.n_found
        for table, part in (
            (total.recall_by_size, s.recall_by_size),
            (total.recall_by_type, s.recall_by_type),
        ):
            for key, (hit, n) in part.items():
                h0, n0 = table.get(key, (0, 0))
                table[key] = (h0 + hit, n0 + n)
        type_hits += round((s.type_accuracy or 0.0) * s.n_found)
        total.false_alarms += s.false_alarms
        total.days_to_confirm.extend(s.days_to_confirm)
        total.sizes.extend(s.sizes)
        exposure += run.area_km2 * run.years
    total.type_accuracy = type_hits / total.n_found if total.n_found else None
    total.false_alarms_per_km2_year = total.false_alarms / exposure if exposure else float("nan")
    return total


def dry_season_latency(runs: Sequence[AoiRun]) -> list[int]:
    """Days from a dry-season change (begun November-April) to the confirmation that found it."""
    days = []
    for run in runs:
        dry = [t for t in run.truths if t.start.month in (11, 12, 1, 2, 3, 4)]
        days.extend(score(run.detections, dry, area_km2=1.0, years=1.0).days_to_confirm)
    return days


def reliability(runs: Sequence[AoiRun]) -> str:
    """Share of confirmed detections that are right, per confidence bin."""
    rows: list[tuple[float, bool]] = []
    for run in runs:
        for det in run.detections:
            if det.status != "confirmed" or det.confidence is None:
                continue
            alone = score([det], run.truths, area_km2=1.0, years=1.0)
            rows.append((float(det.confidence), alone.false_alarms == 0))
    if not rows:
        return "  (no confirmed detection with a confidence)"
    conf = np.array([r[0] for r in rows])
    right = np.array([r[1] for r in rows])
    lines = ["  confidence bin   n   mean conf   right"]
    for lo in np.arange(0.0, 1.0, 0.1):
        sel = (conf >= lo) & (conf < lo + 0.1 if lo < 0.9 else conf <= 1.0)
        if sel.any():
            lines.append(
                f"  {lo:.1f}-{lo + 0.1:.1f}     {sel.sum():4d}   {conf[sel].mean():.2f}"
                f"        {right[sel].mean():.2f}"
            )
    return "\n".join(lines)


def report(label: str, runs: Sequence[AoiRun], naive: Mapping[str, list[Found]] | None) -> None:
    print(f"== {label}")
    for run in runs:
        s = score(run.detections, run.truths, area_km2=run.area_km2, years=run.years)
        print(
            f"  {run.aoi_id}: monitored from {run.monitored_from}, {run.area_km2:.1f} km2 x "
            f"{run.years:.2f} y, {len(run.truths)} planted changes scored "
            f"({len(run.not_monitored)} began before the model), found {s.n_found}, "
            f"false alarms {s.false_alarms} = {s.false_alarms_per_km2_year:.2f} per km2 per year"
        )
    print(format_score("detector", pooled(runs)))
    lat = dry_season_latency(runs)
    print(
        f"  dry-season change -> confirmation: median "
        f"{np.median(lat) if lat else float('nan'):.0f} days (n={len(lat)})"
    )
    print("  reliability of the confidence (confirmed detections):")
    print(reliability(runs))
    if naive is not None:
        print(
            format_score(
                "naive two-date baseline", pooled(runs, detections_of=lambda r: naive[r.aoi_id])
            )
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="seed 0, c1, KK Park, 2024-07..2026-06 (for tuning)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--styles", nargs="+", default=["c1", "l2a"], choices=["c1", "l2a"])
    parser.add_argument(
        "--aoi", action="append", default=None, help="AOI id (repeat); default the four demo AOIs"
    )
    parser.add_argument("--archive", type=Path, help="score an existing simulated archive")
    parser.add_argument(
        "--detections",
        type=Path,
        help="with --archive: score this export instead of running the monitor",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument("--work", type=Path, default=Path("imagery/accuracy"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from monitor.aoi import resolve_aois
    from monitor.simulate import simulate_archive

    if args.quick:
        seeds, styles, aoi_ids = [0], ["c1"], args.aoi or ["kk-park"]
        start, end = dt.date(2024, 7, 1), dt.date(2026, 6, 30)
    else:
        seeds, styles, aoi_ids = args.seeds, args.styles, args.aoi or list(DEMO_AOI_IDS)
        start, end = dt.date(2023, 7, 1), dt.date(2026, 6, 30)
    if args.archive and args.detections:
        for aoi_id in aoi_ids:
            truths = load_truth(args.archive / "truth.geojson", aoi_id)
            with __import__("rasterio").open(args.archive / "truth" / f"{aoi_id}.tif") as ds:
                area_km2 = float((ds.read(1) != 255).sum()) * 1e-4
            mine = [d for d in load_detections(args.detections)]
            years = (end - start).days / 365.25
            print(
                format_score(
                    f"{aoi_id} (every planted change counted)",
                    score(mine, truths, area_km2=area_km2, years=years),
                )
            )
        return 0
    if args.archive:
        params = json.loads((args.archive / "simulation.json").read_text())["params"]
        seeds, styles = [int(params["seed"])], [str(params["style"])]
        start, end = dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"])
    every: dict[str, list[AoiRun]] = {"all": [], "held-out": []}
    for seed in seeds:
        for style in styles:
            label = f"seed{seed}-{style}" + ("-quick" if args.quick else "")
            archive = args.archive or args.work / label / "archive"
            if not args.archive:
                aois = resolve_aois([a for a in aoi_ids], AOI_DIR)
                simulate_archive(
                    aois,
                    archive,
                    seed=seed,
                    style=style,
                    start=start,
                    end=end,
                    overwrite=True,
                    progress=lambda line: print("  " + line),
                )
            work = args.work / label
            work.mkdir(parents=True, exist_ok=True)
            runs = run_product(archive, aoi_ids, work, start, end)
            naive = None if args.no_naive else {a: naive_baseline(archive, a) for a in aoi_ids}
            held = " (HELD OUT: never used while tuning)" if seed in HELD_OUT_SEEDS else ""
            report(f"{label}{held}", runs, naive)
            every["all"].extend(runs)
            if seed in HELD_OUT_SEEDS:
                every["held-out"].extend(runs)
    if len(seeds) * len(styles) > 1:
        report("pooled over every archive", every["all"], None)
        if every["held-out"] and len(every["held-out"]) < len(every["all"]):
            report("pooled over the held-out seed(s)", every["held-out"], None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
