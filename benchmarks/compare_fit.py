"""Fit the built-change model of before/after mode on simulator pairs of randomised worlds.

For every world given (``monitor simulate --world random --seed S``), every AOI and window
pair of ``benchmarks/compare_sim.py`` (one scene per window and composites, surface and
emulated top-of-atmosphere reflectance), the candidates of :func:`compare_windows` (its
threshold passed, model off) that the model judges (vegetation or bare ground on both
dates, :func:`vegetation_or_bare`) are described by :func:`pair_features` and labelled 1 where a
planted new building, demolition or rebuilding was completed between the windows or
begun between them and still under way in the after window (a construction site, a
demolition in progress: urban change to OSCD's labels and to an analyst), 0 elsewhere
(cleared land and fields included); pixels of other changes under way during a window are
left out. A ridge logistic regression on the
standardised features (``detector_accuracy.logistic_fit``) is the model; each pair's
candidates weigh as much in all as any other pair's, so a large composite does not drown
the rest. Prints the model as the Python literal ``monitor/detect/builtmodel.py`` holds and
writes it as JSON (``--out``) for ``compare_sim.py --model``.

Only worlds kept for tuning may be given here (docs/detector.md names them); OSCD labels
and held-out worlds never.

Usage: ``python benchmarks/compare_fit.py SIM_DIR [SIM_DIR ...] --out MODEL.json
[--red-edge] [--ridge R] [--set field=value ...] [--cache DIR]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_sim import AOIS, parse_sets, sim_pairs  # noqa: E402
from detector_accuracy import logistic_fit  # noqa: E402

from monitor.detect import CompareParams, compare_windows  # noqa: E402
from monitor.detect.builtmodel import (  # noqa: E402
    CORE_FEATURES,
    RED_EDGE_FEATURES,
    BuiltChangeModel,
    built_probability,
    pair_features,
    vegetation_or_bare,
)
from monitor.detect.params import BANDS  # noqa: E402
from monitor.models import RED_EDGE_BANDS  # noqa: E402


def world_rows(
    sim: Path, params: CompareParams, cache: Path, red_edge: bool, dumps: Path | None
) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """Features and labels of the candidates of every pair of one world (a pair per list
    entry), and per pair the built pixels that were no candidate (misses before the model).
    Kept in ``dumps`` (by world, bands and params) so refits read them back."""
    bands = BANDS + (RED_EDGE_BANDS if red_edge else ())
    extra = RED_EDGE_BANDS if red_edge else ()
    key = f"{sim.name}-{'re' if red_edge else 'six'}-k{params.mad_k:g}-begun.npz"
    if dumps is not None and (dumps / key).exists():
        with np.load(dumps / key) as data:
            n = int(data["n"])
            return (
                [data[f"x{i}"] for i in range(n)],
                [data[f"y{i}"] for i in range(n)],
                [int(v) for v in data["missed"]],
            )
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    missed: list[int] = []
    loose = replace(params, built_model=False)
    for pair in sim_pairs(sim, list(AOIS), cache, ("single", "composite"), extra):
        for toa in (False, True):
            before, after = pair.reflectance(toa, bands)
            result = compare_windows(before, after, loose, outside=pair.outside, bands=bands)
            assert result.candidates is not None
            # Sites and demolitions begun between the windows count as building change;
            # other changes under way in a window are left out.
            positive = pair.built | pair.begun
            left_out = pair.under_way & ~pair.begun
            keep = result.candidates & ~left_out
            scored = ~pair.outside & ~left_out & (result.codes != 255)
            x = pair_features(
                result.before, result.after, bands, result.magnitude, keep, red_edge=red_edge
            )
            xs.append(x)
            ys.append(positive[keep].astype(np.float64))
            missed.append(int((positive & scored & ~keep).sum()))
            print(
                f"{sim.name} {pair.aoi_id:<11} {pair.mode:<9} {'toa' if toa else 'boa'} "
                f"candidates {int(keep.sum()):>6} built {int(pair.built[keep].sum()):>6}",
                flush=True,
            )
    if dumps is not None:
        dumps.mkdir(parents=True, exist_ok=True)
        arrays = {f"x{i}": x for i, x in enumerate(xs)} | {f"y{i}": y for i, y in enumerate(ys)}
        np.savez_compressed(dumps / key, n=len(xs), missed=np.array(missed), **arrays)
    return xs, ys, missed


def judged_rows(x: np.ndarray, names: tuple[str, ...], params: CompareParams) -> np.ndarray:
    """Rows (candidates) the model judges: vegetation or bare ground on both dates."""
    col = {n: i for i, n in enumerate(names)}

    def natural(when: str) -> np.ndarray:
        return vegetation_or_bare(
            x[:, col[f"ndvi_{when}"]],
            x[:, col[f"visible_slope_{when}"]],
            x[:, col[f"ndbi_{when}"]],
            params,
        )

    return natural("before") & natural("after") if len(x) else np.zeros(0, dtype=bool)


def proxy_f1(
    world: tuple[list[np.ndarray], list[np.ndarray], list[int]],
    names: tuple[str, ...],
    model: BuiltChangeModel | None,
    params: CompareParams,
) -> float:
    """Mean over pairs of the F1 of building change among the pixels (the candidates the
    model keeps, or every candidate without a model, against the labels; built pixels that
    were no candidate count as misses): the pairs' F1 before typing and the mapping unit."""
    f1s = []
    columns = [names.index(n) for n in model.features] if model else []
    for x, y, miss in zip(*world, strict=True):
        kept = np.ones(len(x), dtype=bool)
        if model is not None and len(x):
            judged = judged_rows(x, names, params)
            p = built_probability(x[:, columns], model)
            kept = ~judged | (p >= params.min_built_probability)
        truth = y > 0.5
        tp = int((kept & truth).sum())
        fp = int((kept & ~truth).sum())
        fn = int((~kept & truth).sum()) + miss
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


def fit(xs: list[np.ndarray], ys: list[np.ndarray], names: tuple[str, ...], ridge: float):
    x = np.concatenate(xs).astype(np.float64)
    y = np.concatenate(ys)
    weights = np.concatenate([np.full(len(v), 1.0 / len(v)) for v in ys])
    weights *= len(weights) / weights.sum()
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    design = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    beta = logistic_fit(design, y, ridge, weights=weights)
    return BuiltChangeModel(
        features=names,
        mean=tuple(round(float(v), 5) for v in mean),
        scale=tuple(round(float(v), 5) for v in scale),
        weights=tuple(round(float(v), 4) for v in beta[1:]),
        intercept=round(float(beta[0]), 4),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sims", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/compare-sim/chips"))
    parser.add_argument("--red-edge", action="store_true")
    parser.add_argument("--ridge", type=float, default=1.0)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--dumps", type=Path, default=None, help="cache of the features")
    parser.add_argument("--drop", action="append", default=[], help="leave a feature out")
    args = parser.parse_args()
    params = CompareParams(**parse_sets(args.set))  # type: ignore[arg-type]
    started = time.perf_counter()
    worlds = {
        sim.name: world_rows(sim, params, args.cache, args.red_edge, args.dumps)
        for sim in args.sims
    }
    every = CORE_FEATURES + (RED_EDGE_FEATURES if args.red_edge else ())
    names = tuple(n for n in every if n not in set(args.drop))
    columns = [every.index(n) for n in names]

    def judged(keys: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The judged candidates of these worlds, with the model's columns."""
        xs, ys = [], []
        for key in keys:
            for x, y in zip(worlds[key][0], worlds[key][1], strict=True):
                rows = judged_rows(x, every, params)
                if rows.any():
                    xs.append(x[rows][:, columns])
                    ys.append(y[rows])
        return xs, ys

    if len(worlds) > 1:
        # Each world scored by a model fitted on the others: what a new world can expect.
        print("\nleave one world out (proxy F1 of building change, mean of pairs):")
        for held in worlds:
            held_model = fit(*judged([k for k in worlds if k != held]), names, args.ridge)
            none = proxy_f1(worlds[held], every, None, params)
            cells = "  ".join(
                f"cut {cut:.1f} {proxy_f1(worlds[held], every, held_model, at_cut):.3f}"
                for cut in (0.2, 0.3, 0.4, 0.5)
                for at_cut in [replace(params, min_built_probability=cut)]
            )
            print(f"  {held:<8} no model {none:.3f}  {cells}", flush=True)
    xs, ys = judged(list(worlds))
    model = fit(xs, ys, names, args.ridge)
    n = sum(len(y) for y in ys)
    positives = int(sum(y.sum() for y in ys))
    seconds = time.perf_counter() - started
    print(f"\n{len(xs)} pairs, {n} candidates, {positives} built ({seconds:.0f} s)")
    print(f"fitted on: {', '.join(worlds)}; params {args.set or 'defaults'}")
    for name, w in zip(model.features, model.weights, strict=True):
        print(f"  {name:<22} {w:+.3f}")
    print(f"  {'intercept':<22} {model.intercept:+.3f}")
    args.out.write_text(json.dumps(asdict(model), indent=1))
    print(f"\nBuiltChangeModel(\n    features={model.features!r},\n    mean={model.mean!r},")
    print(f"    scale={model.scale!r},\n    weights={model.weights!r},")
    print(f"    intercept={model.intercept!r},\n)")


if __name__ == "__main__":
    main()
