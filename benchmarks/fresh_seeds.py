"""Detector accuracy pooled over many randomised worlds: the issue-19 goal table.

Each world is ``monitor simulate --world random --seed S --style Y`` of the four demo AOIs,
scored by ``benchmarks/detector_accuracy.py`` (the product's catalog, imagery and detector
stages). Worlds are simulated and scored ``--jobs`` at a time; a world whose scores exist is
not redone, so an interrupted run goes on where it stopped. Then every world's figures are
pooled into one table beside the goals:

- recall by size (< 400, 400-899, 900-1,999, >= 2,000 m²) of the monitored changes;
- false alarms per km² per monitored year in every AOI-world (the worst named);
- type right among found changes, per type;
- median days from a dry-season change to its confirmation;
- calibration: share right in each 0.1 confidence bin of the confirmed detections;
- the sizes found with 50 % and 90 % probability (the stated limits' measure).

Usage: ``python benchmarks/fresh_seeds.py ROOT --seeds 10-19 --styles c1,l2a [--jobs 2]``
       ``python benchmarks/fresh_seeds.py ROOT --pool-only``

Seeds reported here must be seeds no threshold or model was chosen on (docs/detector.md
names the seeds used for tuning).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from detector_accuracy import limits_line

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEMO = ("kk-park", "kk-park-east", "shwe-kokko", "mae-sot")
SIZE_BINS = (
    (0, 400, "< 400"),
    (400, 900, "400-899"),
    (900, 2000, "900-1,999"),
    (2000, 1e12, ">= 2,000"),
)


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def _run(cmd: list[str], log: Path) -> None:
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=REPO)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])}... failed ({done.returncode}); see {log}")


def world(root: Path, seed: int, style: str) -> str:
    """Simulate (unless done) and score one world; returns its name."""
    name = f"s{seed}{style}"
    sim, log = root / name, root / f"{name}.log"
    if (root / f"{name}.summary.json").exists():
        return name
    started = time.perf_counter()
    if not (sim / "truth.geojson").exists():
        aois = [a for aoi in DEMO for a in ("--aoi", aoi)]
        _run(
            [
                str(Path(sys.executable).with_name("monitor")),
                "simulate",
                "--world",
                "random",
                "--seed",
                str(seed),
                "--style",
                style,
                *aois,
                "--aoi-dir",
                str(REPO / "aoi"),
                "--out",
                str(sim),
                "--overwrite",
            ],
            log,
        )
    _run(
        [
            sys.executable,
            str(HERE / "detector_accuracy.py"),
            str(sim),
            "--cache",
            str(root / "chips" / name),
            "--rows",
            str(root / f"{name}.rows.json"),
            "--dump",
            str(root / f"{name}.dump.json"),
            "--summary",
            str(root / f"{name}.summary.json"),
        ],
        log,
    )
    print(f"{name}: done in {time.perf_counter() - started:.0f} s", flush=True)
    return name


def _share(k: int, n: int) -> str:
    return f"{k}/{n} = {k / n:.2f}" if n else "0/0"


def pool(root: Path) -> None:
    """Print the pooled goal table of every scored world under ``root``."""
    names = sorted(p.name.removesuffix(".summary.json") for p in root.glob("*.summary.json"))
    if not names:
        raise SystemExit(f"{root}: no scored world (*.summary.json)")
    rows, dump, aois = [], [], []
    for name in names:
        rows += [dict(r, world=name) for r in json.loads((root / f"{name}.rows.json").read_text())]
        dump += json.loads((root / f"{name}.dump.json").read_text())
        aois += [
            dict(a, world=name)
            for a in json.loads((root / f"{name}.summary.json").read_text())["aois"]
        ]
    mon = [r for r in rows if r["monitored"]]
    print(f"{len(names)} worlds: {', '.join(names)}")
    print(f"{len(mon)} monitored planted changes of {len(rows)}")
    for lo, hi, label in SIZE_BINS:
        sel = [r for r in mon if lo <= r["area"] < hi]
        per = []
        for name in names:
            w = [r for r in sel if r["world"] == name]
            if w:
                per.append(sum(r["found"] for r in w) / len(w))
        spread = f" (worlds {min(per):.2f}-{max(per):.2f})" if per else ""
        print(f"recall {label:>9} m2: {_share(sum(r['found'] for r in sel), len(sel))}{spread}")
    for style in ("c1", "l2a"):
        sel = [r for r in mon if r["world"].endswith(style) and r["area"] >= 2000]
        if not sel:
            continue
        k = sum(r["found"] for r in sel)
        print(f"   {style}: >= 2,000 m2 {_share(k, len(sel))}")
    km2y = sum(a["km2"] * a["years"] for a in aois)
    false = sum(a["false"] for a in aois)
    print(
        f"false alarms: {false} = {false / max(km2y, 1e-9):.2f} per km2 per year pooled "
        f"({km2y:.1f} km2 x years)"
    )
    rates = sorted(
        (
            (a["false"] / max(a["km2"] * a["years"], 1e-9), a["world"], a["aoi"], a["false"])
            for a in aois
        ),
        reverse=True,
    )
    over = [r for r in rates if r[0] > 0.2]
    print(
        f"   AOI-worlds above 0.2: {len(over)} of {len(rates)}; worst: "
        + ", ".join(f"{w} {a} {n} = {r:.2f}" for r, w, a, n in rates[:5])
    )
    found = [r for r in mon if r["found"]]
    print(f"type right among found: {_share(sum(r['typed'] for r in found), len(found))}")
    for kind in sorted({r["type"] for r in mon}):
        sel = [r for r in mon if r["type"] == kind]
        hit = [r for r in sel if r["found"]]
        got: dict[str, int] = {}
        for r in hit:
            if not r["typed"]:
                for g in r["got"]:
                    got[g] = got.get(g, 0) + 1
        print(
            f"   {kind}: found {_share(len(hit), len(sel))}, typed right "
            f"{_share(sum(r['typed'] for r in hit), len(hit))}; typed instead {got}"
        )
    lat = [r["latency"] for r in found if r["dry"] and r["latency"] is not None]
    print(
        f"median days, dry-season change -> confirmation: "
        f"{np.median(lat) if lat else float('nan'):.0f} (n = {len(lat)}; quartiles "
        f"{np.percentile(lat, 25) if lat else float('nan'):.0f}-"
        f"{np.percentile(lat, 75) if lat else float('nan'):.0f})"
    )
    conf = np.array([d["confidence"] for d in dump])
    right = np.array([d["right"] for d in dump], dtype=bool)
    print(
        f"calibration, {conf.size} confirmed detections (goal: above 0.6, share right "
        "within 7 points of the bin's mean):"
    )
    print("  bin       n   mean conf   share right   within 7")
    for lo in np.arange(0.0, 1.0, 0.1):
        sel = (conf >= lo) & (conf < lo + 0.1 + (1e-9 if lo >= 0.9 else 0))
        if sel.any():
            gap = abs(conf[sel].mean() - right[sel].mean())
            mark = ("yes" if gap <= 0.07 else "NO") if lo >= 0.6 - 1e-9 else "-"
            print(
                f"  {lo:.1f}-{lo + 0.1:.1f} {sel.sum():5d}   {conf[sel].mean():.2f}"
                f"        {right[sel].mean():.2f}          {mark}"
            )
    if mon:
        print(limits_line(mon))
    px_obs = sum(a.get("px_obs", 0) for a in aois)
    detect_s = sum(a.get("detect_s", 0.0) for a in aois)
    if detect_s:
        print(f"detector: {px_obs / detect_s:,.0f} px-obs/s by wall time over all worlds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder of the worlds and their scores")
    parser.add_argument("--seeds", type=_seeds, default=[])
    parser.add_argument("--styles", default="c1,l2a")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--pool-only", action="store_true")
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    if not args.pool_only:
        todo = [(s, y) for s in args.seeds for y in args.styles.split(",")]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool_:
            list(pool_.map(lambda sy: world(args.root, *sy), todo))
    pool(args.root)


if __name__ == "__main__":
    main()
