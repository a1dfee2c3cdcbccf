"""OSCD before/after benchmark: F1 of the change class per city, beside the naive baseline.

Reads the two Level-1C dates of each city in ``../shared/data/oscd`` with rasterio (20 m
SWIR bands repeated onto the 10 m grid), runs :func:`monitor.detect.compare_windows` on the
arrays, and scores the change class against ``truth.tif`` over labelled pixels. The naive
baseline is computed here too: the four 10 m bands standardised per date, the Euclidean
distance between the dates, an Otsu threshold.

The detector's parameters were set on the simulator (``benchmarks/compare_sim.py``, seeds 0
and 1); the OSCD labels were not used to tune them or to choose among methods. Two scores
are printed: every typed change (the contract's five types), and the changes about
buildings only (land clearing excluded), since OSCD labels urban change and a ploughed field
between an August and a June date is "land clearing" to a detector that has no history.

``--stages`` also counts, per city, the pixels each stage after the threshold removes
(``min_change``, ``typed_only``, the minimum mapping unit): counts of flagged pixels only,
no labels, so a diagnosis of what the stages do on top-of-atmosphere data, not a score.

Usage: ``python benchmarks/oscd.py [--oscd DIR] [--stages]``
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import rasterio
from compare_sim import load_model, parse_sets
from skimage.filters import threshold_otsu

from monitor.detect import CompareParams, compare_windows
from monitor.detect.compare import BUILT_TYPES
from monitor.detect.params import BANDS
from monitor.models import RED_EDGE_BANDS

BAND_FILES = {
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "nir": "B08",
    "swir16": "B11",
    "swir22": "B12",
}
RED_EDGE_FILES = {"rededge1": "B05", "rededge2": "B06", "rededge3": "B07", "nir08": "B8A"}
DEFAULT_OSCD = Path(__file__).resolve().parents[2] / "shared" / "data" / "oscd"


def read_item(
    city_dir: Path, item_id: str, shape: tuple[int, int], red_edge: bool = False
) -> np.ndarray:
    """TOA reflectance float32 (6 or 10, rows, cols) of one item, NaN where no data."""
    files = list(BAND_FILES.values()) + (list(RED_EDGE_FILES.values()) if red_edge else [])
    out = np.full((len(files),) + shape, np.nan, dtype=np.float32)
    for i, band in enumerate(files):
        with rasterio.open(city_dir / "assets" / item_id / f"{band}.tif") as src:
            data = src.read(1)
        if data.shape != shape:  # 20 m band: repeat each pixel 2 x 2, crop to the 10 m grid
            data = np.repeat(np.repeat(data, 2, axis=0), 2, axis=1)
            padded = np.zeros(shape, dtype=data.dtype)
            r, c = min(shape[0], data.shape[0]), min(shape[1], data.shape[1])
            padded[:r, :c] = data[:r, :c]
            data = padded
        # Baselines before 04.00: reflectance = DN / 10000, 0 = no data.
        out[i] = np.where(data > 0, data.astype(np.float32) * 1e-4, np.nan)
    return out


def scores(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """F1, precision and recall of the change class over the labelled pixels."""
    labelled = truth != 255
    p, t = pred[labelled], truth[labelled] == 1
    tp = float(np.sum(p & t))
    fp = float(np.sum(p & ~t))
    fn = float(np.sum(~p & t))
    if not tp:
        return 0.0, 0.0, 0.0
    return 2 * tp / (2 * tp + fp + fn), tp / (tp + fp), tp / (tp + fn)


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    return scores(pred, truth)[0]


def naive(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Standardised four-band change vector, Otsu threshold."""

    def standardise(x: np.ndarray) -> np.ndarray:
        x = x[:4]
        return (x - np.nanmean(x, axis=(1, 2), keepdims=True)) / np.nanstd(
            x, axis=(1, 2), keepdims=True
        )

    dist = np.sqrt(np.nansum((standardise(after) - standardise(before)) ** 2, axis=0))
    return dist > threshold_otsu(dist[np.isfinite(dist)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oscd", type=Path, default=DEFAULT_OSCD)
    parser.add_argument(
        "--stages",
        action="store_true",
        help="count the pixels each stage after the threshold removes",
    )
    parser.add_argument("--red-edge", action="store_true", help="read B05 B06 B07 B8A too")
    parser.add_argument("--model", type=Path, default=None, help="compare_fit.py --out")
    parser.add_argument("--set", action="append", default=[], help="a CompareParams field")
    args = parser.parse_args()
    params = CompareParams(**parse_sets(args.set))  # type: ignore[arg-type]
    model = load_model(args.model) if args.model else None
    bands = BANDS + (RED_EDGE_BANDS if args.red_edge else ())
    rows = []
    stages = []
    for city_dir in sorted(p for p in args.oscd.iterdir() if (p / "collection.json").exists()):
        with rasterio.open(city_dir / "truth.tif") as src:
            truth = src.read(1)
        links = json.loads((city_dir / "collection.json").read_text())["links"]
        items = sorted(Path(link["href"]).stem for link in links if link["rel"] == "item")
        before = read_item(city_dir, items[0], truth.shape, args.red_edge)
        after = read_item(city_dir, items[1], truth.shape, args.red_edge)
        start = time.perf_counter()
        result = compare_windows(
            [before], [after], params, outside=truth == 255, bands=bands, model=model
        )
        seconds = time.perf_counter() - start
        typed = result.changed
        built = np.isin(result.codes, BUILT_TYPES)
        rows.append(
            (
                city_dir.name,
                f1(naive(before, after), truth),
                scores(typed, truth),
                f1(built, truth),
                result.threshold,
                result.shift,
                seconds,
            )
        )
        if args.stages:
            # Each stage undone on its own, then all three: flagged pixels, no labels.
            labelled = truth != 255
            counts = [int(result.changed[labelled].sum())]
            for off in (
                {"min_change": 0.0},
                {"typed_only": False},
                {"min_pixels": 1},
                {"min_change": 0.0, "typed_only": False, "min_pixels": 1},
            ):
                loose = compare_windows(
                    [before], [after], replace(params, **off), outside=truth == 255
                )
                counts.append(int(loose.changed[labelled].sum()))
            stages.append((city_dir.name, int(labelled.sum()), counts))
    print(
        f"{'city':<12} {'naive F1':>9} {'all types':>10} {'P':>6} {'R':>6} {'buildings':>10} "
        f"{'threshold':>10} {'shift px':>12} {'s':>6}"
    )
    for name, base, (f_typed, precision, recall), f_built, thr, (dy, dx), sec in rows:
        print(
            f"{name:<12} {base:>9.3f} {f_typed:>10.3f} {precision:>6.3f} {recall:>6.3f} "
            f"{f_built:>10.3f} {thr:>10.2f} {dy:>+6.2f},{dx:>+5.2f} {sec:>6.2f}"
        )
    means = np.mean([[r[1], *r[2], r[3]] for r in rows], axis=0)
    print(
        f"{'mean':<12} {means[0]:>9.3f} {means[1]:>10.3f} {means[2]:>6.3f} {means[3]:>6.3f} "
        f"{means[4]:>10.3f}"
    )
    if stages:
        print(
            "\nflagged pixels (share of labelled pixels): as run; without min_change; without "
            "typed_only; without the mapping unit; without all three"
        )
        for name, n, counts in stages:
            print(f"{name:<12} " + "  ".join(f"{c:>6} ({c / n:.1%})" for c in counts))


if __name__ == "__main__":
    main()
