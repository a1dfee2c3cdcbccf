"""Fit the built-change model of before/after mode on simulator pairs of randomised worlds.

For every world given (``monitor simulate --world random --seed S``), every AOI and window
pair of ``benchmarks/compare_sim.py`` (one scene per window and composites, surface and
emulated top-of-atmosphere reflectance), the candidates of :func:`compare_windows` (its
threshold passed, model off) are described by :func:`pair_features` and labelled 1 where a
planted new building, demolition or rebuilding was completed between the windows, 0
elsewhere (cleared land included: OSCD and analysts ask for urban change); pixels of a
change under way during a window are left out. A ridge logistic regression on the
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
    pair_features,
)
from monitor.detect.params import BANDS  # noqa: E402
from monitor.models import RED_EDGE_BANDS  # noqa: E402


def pair_rows(
    sims: list[Path], params: CompareParams, cache: Path, red_edge: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Features and labels of the candidates of every pair, a pair per list entry."""
    bands = BANDS + (RED_EDGE_BANDS if red_edge else ())
    extra = RED_EDGE_BANDS if red_edge else ()
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    loose = replace(params, built_model=False)
    for sim in sims:
        for pair in sim_pairs(sim, list(AOIS), cache, ("single", "composite"), extra):
            for toa in (False, True):
                before, after = pair.reflectance(toa, bands)
                result = compare_windows(before, after, loose, outside=pair.outside, bands=bands)
                assert result.candidates is not None
                keep = result.candidates & ~pair.under_way
                if not keep.any():
                    continue
                x = pair_features(
                    result.before, result.after, bands, result.magnitude, keep, red_edge=red_edge
                )
                xs.append(x)
                ys.append(pair.built[keep].astype(np.float64))
                print(
                    f"{sim.name} {pair.aoi_id:<11} {pair.mode:<9} {'toa' if toa else 'boa'} "
                    f"candidates {int(keep.sum()):>6} built {int(pair.built[keep].sum()):>6}",
                    flush=True,
                )
    return xs, ys


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
    args = parser.parse_args()
    params = CompareParams(**parse_sets(args.set))  # type: ignore[arg-type]
    started = time.perf_counter()
    xs, ys = pair_rows(args.sims, params, args.cache, args.red_edge)
    names = CORE_FEATURES + (RED_EDGE_FEATURES if args.red_edge else ())
    model = fit(xs, ys, names, args.ridge)
    n = sum(len(y) for y in ys)
    positives = int(sum(y.sum() for y in ys))
    seconds = time.perf_counter() - started
    print(f"\n{len(xs)} pairs, {n} candidates, {positives} built ({seconds:.0f} s)")
    print(f"fitted on: {', '.join(s.name for s in args.sims)}; params {args.set or 'defaults'}")
    for name, w in zip(model.features, model.weights, strict=True):
        print(f"  {name:<22} {w:+.3f}")
    print(f"  {'intercept':<22} {model.intercept:+.3f}")
    args.out.write_text(json.dumps(asdict(model), indent=1))
    print(f"\nBuiltChangeModel(\n    features={model.features!r},\n    mean={model.mean!r},")
    print(f"    scale={model.scale!r},\n    weights={model.weights!r},")
    print(f"    intercept={model.intercept!r},\n)")


if __name__ == "__main__":
    main()
