"""Accuracy harness: score confirmed detections against a simulated archive's planted truth.

A planted change is *found* when a confirmed detection overlaps its footprint grown by one
pixel (10 m) and was first seen between 120 days before the change began and 150 days after;
every other confirmed detection is a false alarm. Prints recall by size (< 400, 400-899,
900-1,999, >= 2,000 m2) and by type, type accuracy, false alarms per km2 per year, days from
change to confirmation, and beside them a naive two-date baseline on the same data.

    python benchmarks/accuracy.py --quick                 # one seed, KK Park, two years
    python benchmarks/accuracy.py                         # seeds 0 1 2 (2 never tuned on), both styles
    python benchmarks/accuracy.py --archive DIR --detections FILE.geojson --aoi kk-park

Not collected by pytest; ``tests/benchmarks``-style unit tests import the scoring functions.
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
    ("<400", 0.0, 400.0), ("400-899", 400.0, 900.0), ("900-1999", 900.0, 2000.0),
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
        geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def load_truth(path: Path, aoi_id: str | None = None, epsg: int = 32647) -> list[Truth]:
    """Planted changes from ``truth.geojson`` (optionally those falling in one AOI), in UTM."""
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    out = []
    for feature in json.loads(path.read_text())["features"]:
        props = feature["properties"]
        if aoi_id and aoi_id not in props.get("aois", []):
            continue
        geometry = _project(to_utm, shape(feature["geometry"]))
        out.append(Truth(props["id"], props["change_type"], dt.date.fromisoformat(props["start"]),
                         float(props["area_m2"]), geometry, tuple(props.get("aois", []))))
    return out


def load_detections(path: Path, epsg: int = 32647) -> list[Found]:
    """Detections from an exported GeoJSON (the contract's fields), in UTM."""
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    out = []
    for feature in json.loads(path.read_text())["features"]:
        props = feature["properties"]
        confirmed = props.get("confirmed_on")
        out.append(Found(str(props["id"]), props["change_type"],
                         dt.date.fromisoformat(props["first_seen"]),
                         _project(to_utm, shape(feature["geometry"])),
                         dt.date.fromisoformat(confirmed) if confirmed else None,
                         props.get("status", "confirmed")))
    return out


def score(detections: Iterable[Found], truths: Sequence[Truth], *, area_km2: float,
          years: float) -> Score:
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
    lines.append("  by size: " + "  ".join(
        f"{k} {h}/{n}" for k, (h, n) in s.recall_by_size.items()))
    lines.append("  by type: " + "  ".join(
        f"{k} {h}/{n}" for k, (h, n) in sorted(s.recall_by_type.items())))
    acc = "n/a" if s.type_accuracy is None else f"{s.type_accuracy:.0%}"
    delay = (f"median {int(np.median(s.days_to_confirm))} d, p90 "
             f"{int(np.percentile(s.days_to_confirm, 90))} d") if s.days_to_confirm else "n/a"
    lines.append(f"  type accuracy {acc}; false alarms {s.false_alarms} "
                 f"({s.false_alarms_per_km2_year:.2f} per km2 per year); to confirmation {delay}")
    return "\n".join(lines)


# --- the naive two-date baseline ---------------------------------------------------------

def _read_item(archive: Path, item: Mapping[str, Any], grid_slice: tuple[slice, slice]
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
    items = [json.loads((archive / l["href"]).read_text()) for l in collection["links"]
             if l["rel"] == "item"]
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
        j = next((k for k in range(i + 1, len(views)) if (views[k][0] - views[i][0]).days >= gap_days), None)
        if j is None:
            break
        (d0, a, ca), (d1, b, cb) = views[i], views[j]
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
            brighter = (b[:, sl[0], sl[1]][:, mask].mean() > a[:, sl[0], sl[1]][:, mask].mean())
            found.append(Found(f"naive-{d1}-{index}", "new_construction" if brighter else "demolition",
                               d1, geom, d1))
        i = j
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, KK Park, two years")
    parser.add_argument("--archive", type=Path, help="an existing simulated archive")
    parser.add_argument("--detections", type=Path, help="exported detections (GeoJSON)")
    parser.add_argument("--aoi", default="kk-park")
    parser.add_argument("--work", type=Path, default=Path("imagery/accuracy"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from monitor.simulate import demo_aois, simulate_archive

    runs: list[tuple[Path, str]] = []
    if args.archive:
        runs.append((args.archive, args.aoi))
    else:
        seeds, styles = ([0], ["c1"]) if args.quick else ([0, 1, 2], ["c1", "l2a"])
        start, end = (dt.date(2024, 7, 1), dt.date(2026, 6, 30)) if args.quick else (
            dt.date(2023, 7, 1), dt.date(2026, 6, 30))
        aois = [a for a in demo_aois() if a.id in ("kk-park", "kk-park-east")]
        for seed in seeds:
            for style in styles:
                out = args.work / f"seed{seed}-{style}"
                simulate_archive(aois, out, seed=seed, style=style, start=start, end=end,
                                 progress=lambda line: print("  " + line))
                runs.append((out, args.aoi))
    for archive, aoi_id in runs:
        marker = json.loads((archive / "simulation.json").read_text())
        params = marker["params"]
        years = (dt.date.fromisoformat(params["end"]) - dt.date.fromisoformat(params["start"])).days / 365.25
        truths = load_truth(archive / "truth.geojson", aoi_id)
        with __import__("rasterio").open(archive / "truth" / f"{aoi_id}.tif") as ds:
            area_km2 = float((ds.read(1) != 255).sum()) * 1e-4
        print(f"== {archive} (seed {params['seed']}, style {params['style']}, AOI {aoi_id}, "
              f"{area_km2:.1f} km2, {years:.1f} years, {len(truths)} planted changes)")
        if args.detections:
            print(format_score("detector", score(load_detections(args.detections), truths,
                                                 area_km2=area_km2, years=years)))
        else:
            print("detector: not built yet (issue 6) - pass --detections FILE to score an export")
        print(format_score("naive two-date baseline",
                           score(naive_baseline(archive, aoi_id), truths, area_km2=area_km2,
                                 years=years)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
