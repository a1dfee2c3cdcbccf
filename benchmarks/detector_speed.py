"""Detector speed and memory, beside pyxccd's S-CCD on the same 10,000-pixel sample.

1. A 100 x 100 pixel synthetic archive (tests/detect/synth.py: paddy, scrub, forest, river,
   roofs; 5 years at 5-day steps; monsoon clouds, sub-pixel shifts, wobble, haze) with 12
   planted changes. Our detector runs over it (fit + monitoring), then one more scene is
   timed as the incremental update. S-CCD (``pyxccd.sccd_detect``, if installed) runs on
   every pixel's clear series, one core. Both are scored per pixel against the planted
   footprints: a pixel is found when the method reports a break in it after the training
   year. Rates are by CPU time (``time.process_time``, this process only): the machine is
   shared, and wall time then measures the neighbours.
2. ``--memory``: peak resident memory of a 1000 x 1000 pixel AOI through five years of
   scenes (run in a fresh process so nothing else counts).

Usage: ``python benchmarks/detector_speed.py [--no-sccd] [--memory]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "detect"))

from synth import (  # noqa: E402
    ROOF_BLUE,
    ROOF_RED,
    ROOF_WHITE,
    RUBBLE,
    SITE,
    SOIL,
    Planted,
    SynthConfig,
    scenes,
    truth_mask,
)

from monitor.detect import DetectorParams, new_state, update  # noqa: E402
from monitor.detect.state import STATUS_CONFIRMED  # noqa: E402

D = dt.date


def planted_changes() -> list[Planted]:
    s = slice
    return [
        Planted(s(70, 76), s(5, 12), D(2021, 12, 10), ROOF_BLUE),
        Planted(s(62, 66), s(20, 24), D(2022, 2, 1), ROOF_WHITE),
        Planted(s(80, 83), s(30, 33), D(2022, 11, 20), ROOF_RED),
        Planted(s(8, 12), s(8, 14), D(2023, 1, 15), RUBBLE, before=ROOF_BLUE),
        Planted(s(20, 24), s(20, 26), D(2023, 3, 1), SOIL),
        Planted(s(30, 34), s(40, 46), D(2022, 12, 5), SITE, D(2023, 2, 10), ROOF_WHITE),
        Planted(s(40, 44), s(70, 76), D(2023, 11, 20), ROOF_BLUE),
        Planted(s(50, 53), s(80, 85), D(2024, 1, 10), ROOF_WHITE),
        Planted(s(88, 92), s(85, 90), D(2024, 2, 15), SOIL),
        Planted(
            s(14, 18), s(30, 34), D(2023, 12, 1), RUBBLE, D(2024, 2, 1), ROOF_BLUE, before=ROOF_RED
        ),
        Planted(s(3, 5), s(60, 63), D(2022, 3, 1), ROOF_WHITE),
        Planted(s(93, 96), s(10, 13), D(2024, 3, 5), ROOF_BLUE),
    ]


def config() -> SynthConfig:
    return SynthConfig(
        seed=3,
        size=100,
        start=D(2020, 1, 3),
        end=D(2024, 12, 31),
        subpixel_sigma=0.2,
        wobble_gain=0.015,
        wobble_offset=0.002,
        haze_days=tuple(D(y, 3, 7) for y in range(2021, 2025)),
        planted=planted_changes(),
    )


def score(found: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    tp = float((found & truth).sum())
    precision = tp / max(found.sum(), 1)
    recall = tp / max(truth.sum(), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return precision, recall, f1


def run_ours(archive: list, params: DetectorParams) -> tuple[float, float, np.ndarray, int]:
    """CPU seconds for all scenes but the last, median CPU seconds of the last one alone."""
    state = new_state((100, 100), params)
    n_obs = 0
    start = time.perf_counter()
    cpu = time.process_time()
    for refl, valid, scl, day, scene_id in archive[:-1]:
        state, _ = update(state, refl, valid, scl, day, scene_id, params)
        n_obs += int(valid.sum())
    fit_seconds = time.process_time() - cpu
    print(f"(ours: {time.perf_counter() - start:.1f} s wall, {fit_seconds:.2f} s CPU)")
    refl, valid, scl, day, scene_id = archive[-1]
    one = []
    for _ in range(9):
        copy = type(state).from_arrays(state.to_arrays())
        t0 = time.process_time()
        update(copy, refl, valid, scl, day, scene_id, params)
        one.append(time.process_time() - t0)
    found = (
        (state["c_status"] == STATUS_CONFIRMED) | (state["p_status"] == STATUS_CONFIRMED)
    ).reshape(100, 100)
    return fit_seconds, float(np.median(one)), found, n_obs


def run_sccd(archive: list) -> tuple[float, np.ndarray, int] | None:
    try:
        from pyxccd import sccd_detect
    except ImportError:
        return None
    dates = np.array([a[3].toordinal() for a in archive], dtype=np.int64)
    cube = np.stack([np.nan_to_num(a[0], nan=0.0) for a in archive])  # (T, 6, r, c)
    ints = np.clip(np.rint(cube * 10000), 0, 10000).astype(np.int64)
    qas = np.stack([np.where(a[1], 0, 4) for a in archive]).astype(np.int64)
    found = np.zeros((100, 100), dtype=bool)
    training_end = dt.date(2021, 1, 1).toordinal()
    n_obs = int((qas == 0).sum())
    start = time.process_time()
    for r in range(100):
        for c in range(100):
            out = sccd_detect(dates, *(ints[:, b, r, c] for b in range(6)), qas[:, r, c])
            rec = out.rec_cg
            breaks = [int(b) for b in np.atleast_1d(rec["t_break"])] if np.size(rec) else []
            found[r, c] = any(b > training_end for b in breaks)
    return time.process_time() - start, found, n_obs


def memory_child() -> None:
    """Run 1000 x 1000 pixels through five years; print the peak RSS in MB."""
    params = DetectorParams()
    rng = np.random.default_rng(0)
    size = 1000
    state = new_state((size, size), params)
    base = np.stack(
        [np.full((size, size), v, dtype=np.float32) for v in (0.03, 0.06, 0.04, 0.30, 0.17, 0.08)]
    )
    base[:, :, 600:] = np.array((0.07, 0.09, 0.12, 0.19, 0.28, 0.22), dtype=np.float32)[
        :, None, None
    ]
    day = D(2020, 1, 3)
    n = 0
    start = time.perf_counter()
    while day <= D(2024, 12, 31):
        season = np.float32(1.0 + 0.1 * np.sin(2 * np.pi * day.timetuple().tm_yday / 365.25))
        refl = base * season + rng.normal(0, 0.002, base.shape).astype(np.float32)
        valid = np.ones((size, size), dtype=bool)
        if 5 <= day.month <= 10 and rng.random() < 0.6:
            valid[: int(size * rng.uniform(0.5, 1.0))] = False
        refl[:, ~valid] = np.nan
        state, _ = update(state, refl, valid, None, day, f"S{n}", params)
        n += 1
        day += dt.timedelta(days=5)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    import io

    blob = io.BytesIO()
    np.savez_compressed(blob, **state.to_arrays())
    print(
        f"{n} scenes, {seconds:.0f} s, state in memory {state.nbytes() / 1e6:.0f} MB, "
        f"stored {state.stored_nbytes() / 1e6:.0f} MB raw, {blob.tell() / 1e6:.0f} MB as "
        f"compressed npz; peak RSS {peak_mb:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-sccd", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child()
        return
    params = DetectorParams()
    cfg = config()
    archive = scenes(cfg)
    truth = truth_mask(cfg)
    fit_s, one_s, found, n_obs = run_ours(archive, params)
    p, r, f = score(found, truth)
    n_scenes = len(archive)
    print(
        f"sample: 10,000 px, {n_scenes} scenes, {n_obs / 10000:.0f} clear obs per px, "
        f"{int(truth.sum())} changed px"
    )
    print(
        f"{'method (CPU time)':<22} {'px-obs/s':>12} {'px/s':>10} {'precision':>10} "
        f"{'recall':>7} {'F1':>6}"
    )
    print(
        f"{'ours: fit 5 years':<22} {n_obs / fit_s:>12,.0f} {10000 / fit_s:>10,.0f} "
        f"{p:>10.3f} {r:>7.3f} {f:>6.3f}"
    )
    clear_last = int(archive[-1][1].sum())
    print(
        f"{'ours: one update':<22} {max(clear_last, 1) / one_s:>12,.0f} {10000 / one_s:>10,.0f}"
        f"   ({one_s * 1000:.1f} ms per scene)"
    )
    if not args.no_sccd:
        result = run_sccd(archive)
        if result is None:
            print("pyxccd is not installed: S-CCD not run")
        else:
            sccd_s, sccd_found, sccd_obs = result
            p2, r2, f2 = score(sccd_found, truth)
            print(
                f"{'S-CCD (pyxccd)':<22} {sccd_obs / sccd_s:>12,.0f} {10000 / sccd_s:>10,.0f} "
                f"{p2:>10.3f} {r2:>7.3f} {f2:>6.3f}"
            )
            print(f"speed-up, fitting: {sccd_s / fit_s:.0f} x")
    if args.memory:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child"], capture_output=True, text=True, check=True
        )
        print("1000 x 1000 px, 5 years:", out.stdout.strip())


if __name__ == "__main__":
    main()
