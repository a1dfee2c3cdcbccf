"""Before/after mode on a simulated archive: pixel F1 of the change class against planted truth.

Used to choose among options of ``monitor compare`` (issue 6) without looking at the OSCD
labels, which are the data its accuracy is reported on. Scenes come from the simulator's
static collection through the product's own stages (``find_scenes``, ``load_chip``); each
pair of windows is compared by :func:`monitor.detect.compare_windows` in two ways:

- ``single``: the clearest scene of each window only, as in an OSCD pair (one date each);
- ``composite``: every chip of each window, as ``monitor compare`` does.

Truth of a pair, per pixel of the AOI: **change** where a planted change began after the
last scene used before and ended before the first scene used after; **ignored** where a
planted change was under way during either window (half-built, half-cleared); **no change**
everywhere else (changes that ended before the before window, or began after the after
window, look the same on both sides). The score is the F1 of the change class (any code
1-6) over the pixels not ignored, as ``benchmarks/oscd.py`` scores OSCD, and the F1 of the
building changes only (codes 1-4 against planted types 1-4, land-clearing pixels ignored),
since OSCD labels urban change.

The pairs cross seasons and years like OSCD's (an August date against a June one): the
same dry season two years apart, dry season against the hot, hazy season, and the hot season
against the next cool one. Use seeds 0 and 1 only (seed 2 is held out).

Usage: ``python benchmarks/compare_sim.py SIM_DIR [--aoi ID ...] [--set field=value ...]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import shape as to_shape

from monitor.aoi import aoi_mask
from monitor.aoi.grid import grid_mask
from monitor.aoi.load import load_aoi
from monitor.catalog import find_scenes, open_catalog
from monitor.detect import CompareParams, compare_windows
from monitor.detect.builtmodel import BuiltChangeModel
from monitor.detect.compare import BUILT_TYPES
from monitor.imagery import ChipCache, load_chip
from monitor.models import CHIP_BANDS, RED_EDGE_BANDS, Chip

AOI_DIR = Path(__file__).resolve().parents[1] / "aoi"
AOIS = ("kk-park", "shwe-kokko", "mae-sot")
D = dt.date
#: (before window, after window): 14-28 months apart, within and across seasons.
PAIRS: tuple[tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]], ...] = (
    ((D(2023, 11, 1), D(2024, 1, 31)), (D(2025, 11, 1), D(2026, 1, 31))),
    ((D(2023, 11, 1), D(2024, 1, 31)), (D(2025, 3, 1), D(2025, 4, 30))),
    ((D(2024, 2, 1), D(2024, 4, 15)), (D(2025, 10, 15), D(2025, 12, 31))),
    ((D(2024, 10, 15), D(2024, 12, 31)), (D(2026, 2, 1), D(2026, 4, 30))),
)


#: Top-of-atmosphere emulation (``--toa``), per band B02 B03 B04 B08 B11 B12: path
#: reflectance and two-way transmittance, ``toa = path + transmittance * surface``, for a
#: clear continental atmosphere (aerosol optical depth at 550 nm about 0.1, before) and a
#: hazier one (about 0.25, after). Rounded, order-of-magnitude figures of the kind 6S gives
#: at a 30-degree sun: Level-1C pairs such as OSCD's differ from surface reflectance by an
#: additive path term that grows towards blue and by a haze that differs between the dates,
#: which is what the typing and ``min_change`` (set on surface reflectance) must survive.
TOA_ATMOSPHERES: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = (
    ((0.060, 0.040, 0.025, 0.012, 0.004, 0.002), (0.80, 0.86, 0.90, 0.93, 0.95, 0.94)),
    ((0.085, 0.058, 0.040, 0.022, 0.008, 0.004), (0.72, 0.80, 0.85, 0.89, 0.93, 0.92)),
)
#: The same two atmospheres at B05 B06 B07 B8A (705-865 nm), between red's and NIR's terms.
TOA_RED_EDGE: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = (
    ((0.020, 0.017, 0.015, 0.011), (0.91, 0.92, 0.925, 0.935)),
    ((0.034, 0.029, 0.026, 0.020), (0.86, 0.87, 0.88, 0.895)),
)


def to_toa(surface: np.ndarray, atmosphere: int) -> np.ndarray:
    """Surface reflectance (6 or 10, rows, cols: the chip's band order) seen through one of
    :data:`TOA_ATMOSPHERES` (and :data:`TOA_RED_EDGE` for rows 7-10)."""
    path, transmittance = TOA_ATMOSPHERES[atmosphere]
    if surface.shape[0] > len(path):
        path = path + TOA_RED_EDGE[atmosphere][0]
        transmittance = transmittance + TOA_RED_EDGE[atmosphere][1]
    p = np.asarray(path, dtype=np.float32)[:, None, None]
    t = np.asarray(transmittance, dtype=np.float32)[:, None, None]
    return np.asarray(p + t * surface, dtype=np.float32)


def load_model(path: Path) -> BuiltChangeModel:
    """A built-change model written by ``compare_fit.py --out``."""
    data = json.loads(path.read_text())
    return BuiltChangeModel(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def parse_sets(items: list[str]) -> dict[str, object]:
    """``--set field=value`` overrides of :class:`CompareParams`, typed as the field is."""
    kinds = {f.name: type(getattr(CompareParams(), f.name)) for f in fields(CompareParams)}
    overrides: dict[str, object] = {}
    for item in items:
        key, value = item.split("=", 1)
        kind = kinds[key]
        overrides[key] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return overrides


def f1(pred: np.ndarray, truth: np.ndarray, scored: np.ndarray) -> tuple[float, int, int, int]:
    """F1 of the change class and its counts (tp, fp, fn) over ``scored`` pixels."""
    p, t = pred[scored], truth[scored]
    tp, fp, fn = int(np.sum(p & t)), int(np.sum(p & ~t)), int(np.sum(~p & t))
    return (2 * tp / (2 * tp + fp + fn) if tp else 0.0), tp, fp, fn


def pair_truth(
    changes: list[dict[str, Any]], masks: list[np.ndarray], before: list[Chip], after: list[Chip]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Change, building change, under-way and begun pixels of one pair (see the module's
    docstring). *Begun*: a building change (new, demolished, rebuilt, re-roofed) that started
    after the before window and was still under way in the after window: a construction site
    or a demolition in progress, urban change to OSCD's labels and to an analyst."""
    first_before = min(c.datetime.date() for c in before)
    last_before = max(c.datetime.date() for c in before)
    first_after = min(c.datetime.date() for c in after)
    last_after = max(c.datetime.date() for c in after)
    shape = masks[0].shape if masks else before[0].valid.shape
    change = np.zeros(shape, dtype=bool)
    built = np.zeros(shape, dtype=bool)
    ignored = np.zeros(shape, dtype=bool)
    begun = np.zeros(shape, dtype=bool)
    for feature, mask in zip(changes, masks, strict=True):
        start = D.fromisoformat(feature["properties"]["start"])
        end = D.fromisoformat(feature["properties"]["end"])
        is_built = feature["properties"]["class_code"] in BUILT_TYPES
        if start > last_before and end < first_after:
            change |= mask
            if is_built:
                built |= mask
        elif not (end < first_before or start > last_after):
            ignored |= mask
            if is_built and start > last_before and start < first_after:
                begun |= mask
    return change, built, ignored & ~change, begun & ~change


@dataclass(frozen=True)
class SimPair:
    """One window pair of one AOI, one mode, with its truth (see the module's docstring)."""

    aoi_id: str
    mode: str
    outside: np.ndarray
    before: list[Chip]
    after: list[Chip]
    change: np.ndarray
    built: np.ndarray
    under_way: np.ndarray
    begun: np.ndarray

    def reflectance(self, toa: bool, bands: tuple[str, ...] = CHIP_BANDS) -> tuple[list, list]:
        """Each window's float reflectance (``bands``), emulated top of atmosphere with ``toa``."""
        before = [c.to_float(bands) for c in self.before]
        after = [c.to_float(bands) for c in self.after]
        if toa:
            before = [to_toa(r, 0) for r in before]
            after = [to_toa(r, 1) for r in after]
        return before, after


def sim_pairs(
    sim: Path, aoi_ids: list[str], cache_dir: Path, modes: tuple[str, ...], extra_bands=()
) -> Iterator[SimPair]:
    """Every pair of :data:`PAIRS` in every AOI and mode, read through the product's stages;
    an AOI-pair with a window without a clear chip is said and skipped."""
    catalog = open_catalog(str(sim))
    cache = ChipCache(cache_dir / sim.name)
    truth_all = json.loads((sim / "truth.geojson").read_text())["features"]
    for aoi_id in aoi_ids:
        aoi = load_aoi(AOI_DIR / f"{aoi_id}.geojson")
        outside = ~aoi_mask(aoi)
        changes = [f for f in truth_all if aoi_id in f["properties"].get("aois", [])]
        masks = [grid_mask(to_shape(f["geometry"]), aoi.grid) for f in changes]
        for before_window, after_window in PAIRS:
            windows: list[list[Chip]] = []
            for first, last in (before_window, after_window):
                chips = []
                for scene in find_scenes(catalog, aoi, first, last).scenes:
                    kwargs = {"extra_bands": extra_bands} if extra_bands else {}
                    outcome = load_chip(scene, aoi, cache, **kwargs)
                    if outcome.chip is not None:
                        chips.append(outcome.chip)
                windows.append(chips)
            if not all(windows):
                print(f"{aoi_id:<11} {before_window[0]} -> {after_window[0]}: no clear chip")
                continue
            clearest = [[max(w, key=lambda c: (c.clear_fraction, c.datetime))] for w in windows]
            for mode, (before, after) in (("single", clearest), ("composite", windows)):
                if mode in modes:
                    change, built, under_way, begun = pair_truth(changes, masks, before, after)
                    yield SimPair(
                        aoi_id, mode, outside, before, after, change, built, under_way, begun
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sim", type=Path)
    parser.add_argument("--aoi", action="append", default=None)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/compare-sim/chips"))
    parser.add_argument(
        "--toa", action="store_true", help="emulate top-of-atmosphere pairs (see TOA_ATMOSPHERES)"
    )
    parser.add_argument(
        "--mode",
        choices=("single", "composite"),
        action="append",
        default=None,
        help="only this mode (repeatable); both by default",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        help="override a CompareParams field, e.g. --set min_change=0",
    )
    parser.add_argument(
        "--model", type=Path, default=None, help="a built-change model (compare_fit.py --out)"
    )
    parser.add_argument(
        "--red-edge", action="store_true", help="read and use the red-edge bands too"
    )
    args = parser.parse_args()
    overrides = parse_sets(args.set)
    model = load_model(args.model) if args.model else None
    bands = CHIP_BANDS + (RED_EDGE_BANDS if args.red_edge else ())
    extra = RED_EDGE_BANDS if args.red_edge else ()
    params = CompareParams(**overrides)  # type: ignore[arg-type]
    print("params:", overrides or "defaults", "(top of atmosphere)" if args.toa else "")
    totals: dict[str, list[int]] = {}
    print(
        f"{'aoi':<11} {'before':<10} {'after':<10} {'mode':<9} {'truth px':>8} "
        f"{'F1 all':>7} {'F1 built':>8} {'flagged':>8} {'thr':>6} {'s':>5}"
    )
    modes = tuple(args.mode or ("single", "composite"))
    for pair in sim_pairs(args.sim, args.aoi or list(AOIS), args.cache, modes, extra):
        mode, aoi_id, outside = pair.mode, pair.aoi_id, pair.outside
        before, after = pair.before, pair.after
        change, built, under_way = pair.change, pair.built, pair.under_way
        start = time.perf_counter()
        before_refl, after_refl = pair.reflectance(args.toa, bands)
        result = compare_windows(
            before_refl, after_refl, params, outside=outside, bands=bands, model=model
        )
        seconds = time.perf_counter() - start
        inside = ~outside & (result.codes != 255)
        scored = inside & ~under_way
        pred = result.changed
        pred_built = np.isin(result.codes, BUILT_TYPES)
        f_all, tp, fp, fn = f1(pred, change, scored)
        # Building changes: cleared land is neither a hit nor a false alarm.
        f_built, tpb, fpb, fnb = f1(pred_built, built, scored & ~(change & ~built))
        for key, counts in (
            (f"{mode} all", (tp, fp, fn)),
            (f"{mode} built", (tpb, fpb, fnb)),
        ):
            acc = totals.setdefault(key, [0, 0, 0])
            for i, v in enumerate(counts):
                acc[i] += v
            totals.setdefault(f"{key} f1s", []).append(
                int(round(1000 * (f_all if key.endswith("all") else f_built)))
            )
        print(
            f"{aoi_id:<11} {before[-1].datetime.date()!s:<10} "
            f"{after[0].datetime.date()!s:<10} {mode:<9} {int(change[inside].sum()):>8} "
            f"{f_all:>7.3f} {f_built:>8.3f} {int(pred[inside].sum()):>8} "
            f"{result.threshold:>6.2f} {seconds:>5.2f}"
        )
    print()
    for key in ("single all", "single built", "composite all", "composite built"):
        tp, fp, fn = totals.get(key, [0, 0, 0])
        pooled = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        mean = float(np.mean(totals.get(f"{key} f1s", [0]))) / 1000
        print(f"{key:<16} mean F1 {mean:.3f}  pooled F1 {pooled:.3f}  (tp {tp} fp {fp} fn {fn})")


if __name__ == "__main__":
    main()
