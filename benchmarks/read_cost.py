"""Imagery benchmarks (issue 4): read cost, SCL-first bytes in a monsoon, chip throughput.

Run from the repository root::

    python benchmarks/read_cost.py [read|chip|monsoon|throughput|all] [--work DIR]

``read``: the KK Park window (374 x 333 px at 10 m, crossing two rows of 1024-px tiles)
from full-size 47QMU COGs (10980 x 10980 at 10 m, 5490 x 5490 at 20 m) on the local COG
server: requests and bytes per asset against the minimum (one header read plus one range
per row of tiles touched; the header's 16 KiB plus the compressed bytes of those tiles).
Goal: at most 1.1 x the minimum bytes and at most one request per asset beyond the minimum.
Exits 1 when missed, so it guards the rasterio/GDAL pin.

``chip``: bytes and requests of one whole chip of the KK Park window (SCL, then the six
chip bands), without and with the red-edge bands B05 B06 B07 B8A, against the sum of each
asset's minimum; the same goal (at most 1.1 x the minimum bytes) for both, and what the
red-edge bands add.

``monsoon``: 24 scenes, 17 of them cloudy over the AOI: bytes and requests with SCL-first
skipping against reading every band of every scene.

``throughput``: time and peak memory to build the chips of 100 scenes of one AOI.

Not collected by pytest. Test COGs are written once under ``--work`` (default
/tmp/monitor-bench) and reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.imagery import ChipCache, GdalSettings, gdal_env, load_chip, read_asset  # noqa: E402
from monitor.models import RED_EDGE_BANDS, AssetRef  # noqa: E402
from tests.imagery.cogs import TILE_LEFT, TILE_TOP, make_scene, utm_box_aoi, write_cog  # noqa: E402
from tests.servers.cog_server import CogServerProcess  # noqa: E402

#: KK Park's window in the tile: 374 x 333 px at rows 1900-2233 and cols 4600-4974 at
#: 10 m, so it crosses the tile-row boundary at row 2048 (and stays in tile column 4).
KK_ROW, KK_COL, KK_W, KK_H = 1900, 4600, 374, 334  # height even: the grid is 20 m-aligned
BANDS = ("blue", "green", "red", "nir", "swir16", "swir22", "scl")
#: Assets at 20 m (5490 x 5490 in a full tile).
BANDS_20M = ("swir16", "swir22", *RED_EDGE_BANDS)


def _field(rows: int, cols: int, seed: int) -> np.ndarray:
    """Land-like reflectance: smooth structure plus sensor noise (so tiles compress as
    real ones do, to a few hundred KB to 1 MB per 1024 x 1024 tile)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.ogrid[0:rows, 0:cols]
    base = 0.15 + 0.05 * np.sin(xx / 41.0) * np.cos(yy / 57.0)
    noise = rng.normal(0, 0.01, size=(rows, cols))
    return (base + noise).astype(np.float32)


def _write_tile(folder: Path, bands: tuple[str, ...] = BANDS) -> None:
    """Full-size 47QMU assets (+1000 offset in the pixels, as sentinel-2-c1-l2a)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, band in enumerate(bands):
        path = folder / f"{band}.tif"
        if path.exists():
            continue
        t = time.perf_counter()
        if band == "scl":
            rng = np.random.default_rng(7)
            data = rng.choice(
                np.array([4, 5, 6, 8, 9], np.uint8),
                size=(5490, 5490),
                p=[0.6, 0.2, 0.05, 0.1, 0.05],
            )
            write_cog(path, data, TILE_LEFT, TILE_TOP, 20.0)
        else:
            size, res = (5490, 20.0) if band in BANDS_20M else (10980, 10.0)
            dn = np.clip(np.rint(_field(size, size, i) * 10_000) + 1000, 1, 65535)
            write_cog(path, dn.astype(np.uint16), TILE_LEFT, TILE_TOP, res)
        print(f"  wrote {path.name} in {time.perf_counter() - t:.1f}s", file=sys.stderr)


def _kk_aoi(aoi_id: str = "kk-park"):  # type: ignore[no-untyped-def]
    return utm_box_aoi(TILE_LEFT + KK_COL * 10, TILE_TOP - KK_ROW * 10, KK_W, KK_H, aoi_id)


def _minimum(path: Path, res_m: float) -> tuple[int, int]:
    """(requests, bytes) of the minimum for the KK window in one asset."""
    import rasterio

    factor = int(res_m // 10)
    row0, col0 = KK_ROW // factor, KK_COL // factor
    rows, cols = KK_H // factor, KK_W // factor
    with rasterio.open(path) as ds:
        bh, bw = ds.block_shapes[0]
        tile_rows = range(row0 // bh, (row0 + rows - 1) // bh + 1)
        tile_cols = range(col0 // bw, (col0 + cols - 1) // bw + 1)
        tile_bytes = sum(
            int(ds.get_tag_item(f"BLOCK_SIZE_{x}_{y}", "TIFF", bidx=1))
            for y in tile_rows
            for x in tile_cols
        )
    return 1 + len(tile_rows), 16384 + tile_bytes


def bench_read(work: Path, server: CogServerProcess) -> bool:
    folder = work / "tile"
    _write_tile(folder)
    aoi = _kk_aoi()
    env = GdalSettings()
    print("\nRead cost of the KK Park window (374 x 334 px at 10 m) from 47QMU-size COGs")
    print(
        f"{'asset':8} {'res':>4} {'requests':>8} {'min':>4} {'bytes':>10} {'min bytes':>10}"
        f" {'ratio':>6}  requests seen"
    )
    ok = True
    tag = f"?r={time.time_ns()}"
    for band in ("nir", "swir16", "scl"):
        res = 10.0 if band == "nir" else 20.0
        href = f"{server.url}/tile/{band}.tif{tag}"
        server.clear_log()
        with gdal_env(env):
            read_asset(AssetRef(band, href, res), aoi.grid, 32647, env)
        log = server.log
        sent = sum(r.bytes_sent for r in log)
        min_req, min_bytes = _minimum(folder / f"{band}.tif", res)
        ratio = sent / min_bytes
        seen = ", ".join(f"{r.method}{' ' + r.range if r.range else ''}" for r in log)
        print(
            f"{band:8} {res:>4.0f} {len(log):>8} {min_req:>4} {sent:>10} {min_bytes:>10}"
            f" {ratio:>6.3f}  {seen}"
        )
        ok &= ratio <= 1.1 and len(log) <= min_req + 1
    print("goal (<= 1.1 x min bytes, <= min + 1 requests):", "MET" if ok else "MISSED")
    return ok


def bench_chip(work: Path, server: CogServerProcess) -> bool:
    """Bytes of one chip of the KK window without and with the red-edge bands."""
    folder = work / "tile"
    every = BANDS + RED_EDGE_BANDS
    _write_tile(folder, every)
    aoi = _kk_aoi("kk-chip")
    minimum = {
        b: _minimum(folder / f"{b}.tif", 20.0 if b in BANDS_20M + ("scl",) else 10.0) for b in every
    }
    print("\nBytes of one chip of the KK Park window (374 x 334 px), SCL first")
    print(
        f"{'bands':22} {'requests':>8} {'min':>4} {'bytes':>10} {'min bytes':>10} {'ratio':>6}"
        f" {'cache KB':>8}"
    )
    ok, sent_by = True, {}
    for label, extra in (("6 + SCL", ()), ("6 + SCL + red-edge", RED_EDGE_BANDS)):
        tag = f"?c={time.time_ns()}"
        scene = make_scene({b: f"{server.url}/tile/{b}.tif{tag}" for b in every})
        with _TempCache(work / "state-chip") as cache:
            server.clear_log()
            outcome = load_chip(scene, aoi, cache, min_clear_fraction=0.05, extra_bands=extra)
            assert outcome.chip is not None, outcome.reason
            log = server.log
            chip_kb = cache.size_bytes() / 1024
        read = BANDS + tuple(extra)
        min_req = sum(minimum[b][0] for b in read)
        min_bytes = sum(minimum[b][1] for b in read)
        sent = sent_by[label] = sum(r.bytes_sent for r in log)
        ratio = sent / min_bytes
        print(
            f"{label:22} {len(log):>8} {min_req:>4} {sent:>10} {min_bytes:>10} {ratio:>6.3f}"
            f" {chip_kb:>8.0f}"
        )
        ok &= ratio <= 1.1 and len(log) <= min_req + len(read)
    more = sent_by["6 + SCL + red-edge"] / sent_by["6 + SCL"] - 1
    print(f"red-edge adds {more:.0%} to the bytes of a chip")
    print("goal (<= 1.1 x min bytes, <= min + 1 requests per asset):", "MET" if ok else "MISSED")
    return ok


def _small_scene_files(work: Path) -> Path:
    """A 2048 x 2048 piece around the AOI (clear and cloudy SCL), for the sequence benches."""
    from tests.imagery.cogs import PIECE_LEFT, PIECE_TOP, down2, make_field, write_scene_files

    folder = work / "piece"
    if (folder / "scl-cloudy.tif").exists():
        return folder
    field = make_field()
    write_scene_files(folder, field, offset_in_pixels=True)
    cloudy = np.full_like(field.scl, 9)
    cloudy[:, ::50] = 4  # 2% clear
    write_cog(folder / "scl-cloudy.tif", down2(cloudy), PIECE_LEFT, PIECE_TOP, 20.0)
    return folder


def _piece_aoi():  # type: ignore[no-untyped-def]
    from tests.imagery.cogs import PIECE_LEFT, PIECE_TOP

    # 100 x 100 px crossing the first tile-row boundary of the piece.
    return utm_box_aoi(PIECE_LEFT + 600, PIECE_TOP - 9800, 100, 100, "piece")


def _scene(server: CogServerProcess, n: int, cloudy: bool, base: dt.datetime):  # type: ignore[no-untyped-def]
    tag = f"?s={n}-{time.time_ns()}"  # unique URLs: GDAL's process cache must not help
    hrefs = {b: f"{server.url}/piece/{b}.tif{tag}" for b in BANDS}
    if cloudy:
        hrefs["scl"] = f"{server.url}/piece/scl-cloudy.tif{tag}"
    return make_scene(
        hrefs, scene_id=f"S2B_T47QMU_{n:03d}_L2A", when=base + dt.timedelta(days=5 * n)
    )


def bench_monsoon(work: Path, server: CogServerProcess) -> None:
    _small_scene_files(work)
    aoi = _piece_aoi()
    base = dt.datetime(2025, 6, 1, 4, tzinfo=dt.UTC)
    cloudy = [n % 7 not in (0, 3) for n in range(24)]  # 17 of 24 cloudy
    print(f"\nMonsoon sequence: {len(cloudy)} scenes, {sum(cloudy)} cloudy over the AOI")
    print(f"{'mode':22} {'used':>4} {'skipped':>7} {'requests':>8} {'bytes':>10}")
    results = {}
    for mode, threshold in (("SCL first (10%)", 0.1), ("every band", 0.0)):
        with _TempCache(work / f"state-{threshold}") as cache:
            server.clear_log()
            outcomes = [
                load_chip(_scene(server, n, c, base), aoi, cache, min_clear_fraction=threshold)
                for n, c in enumerate(cloudy)
            ]
            log = server.log
            sent = sum(r.bytes_sent for r in log)
            results[mode] = sent
            used = sum(o.status == "used" for o in outcomes)
            print(f"{mode:22} {used:>4} {len(outcomes) - used:>7} {len(log):>8} {sent:>10}")
    saved = 1 - results["SCL first (10%)"] / results["every band"]
    print(f"SCL-first reads {saved:.0%} fewer bytes")


def bench_throughput(work: Path, server: CogServerProcess, n_scenes: int = 100) -> None:
    _write_tile(work / "tile")
    aoi = _kk_aoi("kk-throughput")
    base = dt.datetime(2024, 1, 1, 4, tzinfo=dt.UTC)
    with _TempCache(work / "state-throughput") as cache:
        tracemalloc.start()
        t = time.perf_counter()
        server.clear_log()
        outcomes = []
        for n in range(n_scenes):
            tag = f"?t={n}-{time.time_ns()}"
            hrefs = {b: f"{server.url}/tile/{b}.tif{tag}" for b in BANDS}
            scene = make_scene(
                hrefs, scene_id=f"S2B_T47QMU_{n:03d}_L2A", when=base + dt.timedelta(days=5 * n)
            )
            outcomes.append(load_chip(scene, aoi, cache, min_clear_fraction=0.05))
        elapsed = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        log = server.log
        print(f"\nChips for {n_scenes} scenes of one AOI ({KK_W} x {KK_H} px, 6 bands + SCL)")
        print(
            f"{'used':>5} {'time s':>7} {'s/scene':>8} {'requests':>8} {'MB read':>8}"
            f" {'peak numpy+py MB':>17} {'max RSS MB':>10} {'cache MB':>9}"
        )
        used = sum(o.status == "used" for o in outcomes)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{used:>5} {elapsed:>7.1f} {elapsed / n_scenes:>8.3f} {len(log):>8}"
            f" {sum(r.bytes_sent for r in log) / 1e6:>8.1f} {peak / 1e6:>17.1f}"
            f" {rss:>10.0f} {cache.size_bytes() / 1e6:>9.1f}"
        )


class _TempCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> ChipCache:
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)
        return ChipCache(self.path)

    def __exit__(self, *exc: object) -> None:
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=["read", "chip", "monsoon", "throughput", "all"],
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/monitor-bench"))
    parser.add_argument("--scenes", type=int, default=100)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    server = CogServerProcess(args.work)
    ok = True
    try:
        if args.which in ("read", "all"):
            ok = bench_read(args.work, server)
        if args.which in ("chip", "all"):
            ok &= bench_chip(args.work, server)
        if args.which in ("monsoon", "all"):
            bench_monsoon(args.work, server)
        if args.which in ("throughput", "all"):
            bench_throughput(args.work, server, args.scenes)
    finally:
        server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
