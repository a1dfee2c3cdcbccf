"""Before/after mode on real Sentinel-2 pairs with no known construction: what it flags.

Two real sources of ``../shared/data/real-series`` carry every band a compare reads:

- ``worldcereal-resources``: 12 monthly L2A composites (2020-11 → 2021-10, 100 × 100 px at
  10 m, Belgian farmland and a village, B02-B12 without B8A, for which B08 stands in): a
  third of the pairs of months at least three apart, spread over the year;
- ``0000280849BAC91C``: the Flanders village and fields (64 × 64 px, 2018-08 → 2019-11),
  its dates at least 95 % clear by SCL, paired at least 90 days apart; the 20 m bands
  (B05 B06 B07 B8A B11 B12) repeated onto the 10 m grid; pixels SCL masks in either date
  are left out, as a compare leaves them out.

Neither is labelled for construction, and a year of a Belgian village builds little: every
flagged pixel is counted as a false alarm (an upper bound of the false alarms). Printed per
pair and pooled: flagged pixels, objects of at least the mapping unit, and the flagged
share of the area, for the change vector without the built-change model, with the
six-band model and with the red-edge model. These pairs may be looked at while choosing
(no labels are read); OSCD is scored apart (``benchmarks/oscd.py``).

Usage: ``python benchmarks/compare_real.py [--root DIR] [--model FILE] [--red-edge-model FILE]
[--set field=value ...]``
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))

import real_catalog as rc  # noqa: E402
from compare_sim import load_model, parse_sets  # noqa: E402

from monitor.detect import CompareParams, compare_windows  # noqa: E402
from monitor.detect.builtmodel import BuiltChangeModel  # noqa: E402
from monitor.detect.params import BANDS  # noqa: E402
from monitor.models import RED_EDGE_BANDS  # noqa: E402

ALL_BANDS = BANDS + RED_EDGE_BANDS
#: File band names of ALL_BANDS.
BAND_IDS = ("B02", "B03", "B04", "B08", "B11", "B12", "B05", "B06", "B07", "B8A")
MIN_CLEAR = 0.95
MIN_DAYS_APART = 90


def worldcereal_pairs(root: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, before, after) float32 (10, 100, 100) reflectance pairs of the monthly composites."""
    import xarray as xr

    path = root / "worldcereal-resources" / "worldcereal_preprocessed_inputs.nc"
    with xr.open_dataset(path) as ds:
        # The composites have no B8A: B08 (the 10 m NIR, 20 nm from it) stands in.
        ids = [b if b != "B8A" else "B08" for b in BAND_IDS]
        stack = np.stack([ds[f"S2-L2A-{b}"].values for b in ids], axis=1)
        months = [str(t)[:7] for t in ds.t.values]
    refl = np.where(stack > 0, stack.astype(np.float32) * 1e-4, np.nan).astype(np.float32)
    pairs = []
    for i, j in itertools.combinations(range(len(months)), 2):
        if j - i >= 3 and (i + j) % 3 == 0:  # a third of the pairs, spread over the year
            pairs.append((f"worldcereal {months[i]}/{months[j]}", refl[i], refl[j]))
    return pairs


def flanders_pairs(root: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, before, after) pairs of the clear Flanders dates, SCL-masked pixels NaN."""
    import xarray as xr

    folder = root / "0000280849BAC91C"
    series = rc.read_series(folder)
    coarse_path = next(folder.glob("S2_L2A_20m_*.nc"))
    # DNs as stored (scale 1e-4), as real_catalog reads the other bands.
    with xr.open_dataset(coarse_path, engine="netcdf4", mask_and_scale=False) as c:
        red_edge = np.stack([c[b].values for b in ("B05", "B06", "B07", "B8A")], axis=1)
    rows, cols = series.shape

    def fine(a: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(a, 2, axis=-2), 2, axis=-1)[..., :rows, :cols]

    scl = fine(series.scl)
    clear = ~np.isin(scl, rc.MASKED_SCL)
    dns = np.concatenate(
        [series.fine, fine(series.coarse), fine(red_edge.astype(np.uint16))], axis=1
    )
    refl = np.where(dns > 0, dns.astype(np.float32) * 1e-4, np.nan).astype(np.float32)
    refl[~np.broadcast_to(clear[:, None], refl.shape)] = np.nan
    good = [t for t in range(len(series.times)) if clear[t].mean() >= MIN_CLEAR]
    pairs = []
    for i, j in itertools.combinations(good, 2):
        if (series.times[j] - series.times[i]).days >= MIN_DAYS_APART:
            name = f"flanders {series.times[i].date()}/{series.times[j].date()}"
            pairs.append((name, refl[i], refl[j]))
    return pairs


def flagged(
    before: np.ndarray,
    after: np.ndarray,
    params: CompareParams,
    bands: tuple[str, ...],
    model: BuiltChangeModel | None,
) -> tuple[int, int, int]:
    """Flagged pixels, objects and known pixels of one pair."""
    n = len(bands)
    result = compare_windows([before[:n]], [after[:n]], params, bands=bands, model=model)
    _, objects = ndimage.label(result.changed, structure=np.ones((3, 3), dtype=bool))
    known = int((result.codes != 255).sum())
    return int(result.changed.sum()), objects, known


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=rc.SHARED_SERIES)
    parser.add_argument("--model", type=Path, default=None, help="six-band model (JSON)")
    parser.add_argument("--red-edge-model", type=Path, default=None, help="red-edge model")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--quiet", action="store_true", help="pooled figures only")
    args = parser.parse_args()
    params = CompareParams(**parse_sets(args.set))  # type: ignore[arg-type]
    six = load_model(args.model) if args.model else None
    edge = load_model(args.red_edge_model) if args.red_edge_model else None
    variants = (
        ("no model", replace(params, built_model=False), BANDS, None),
        ("six bands", params, BANDS, six),
        ("red edge", params, ALL_BANDS, edge),
    )
    pairs = worldcereal_pairs(args.root) + flanders_pairs(args.root)
    totals = {name: [0, 0, 0] for name, *_ in variants}
    print(f"{'pair':<34} " + " ".join(f"{name + ' px/obj':>18}" for name, *_ in variants))
    for name, before, after in pairs:
        cells = []
        for variant, p, bands, model in variants:
            px, obj, known = flagged(before, after, p, bands, model)
            acc = totals[variant]
            acc[0], acc[1], acc[2] = acc[0] + px, acc[1] + obj, acc[2] + known
            cells.append(f"{px:>12}/{obj:<5}")
        if not args.quiet:
            print(f"{name:<34} " + " ".join(cells))
    print(f"\n{len(pairs)} pairs; pooled (every flagged pixel taken for a false alarm):")
    for variant, (px, obj, known) in totals.items():
        if known:
            km2 = known * 1e-4
            print(
                f"  {variant:<10} {px:>7} px flagged ({px / known:.2%} of the area), "
                f"{obj} objects, {obj / km2:.1f} objects per km² of pair"
            )


if __name__ == "__main__":
    main()
