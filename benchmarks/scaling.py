"""How the job's wall time scales with AOIs and workers (issue 8): processes, Dask, threads.

An archive of 20 small AOIs (about 100 x 100 px, 1 km x 1 km; five around each of KK Park's
eastern section, Shwe Kokko, Myawaddy and Mae Sot, in tile 47QMU) is simulated once (style
``c1``, fixed seed, one year) under ``--work`` and read as a static catalog of local COGs.
Every measured run is a full backfill on a fresh state folder, as a child process
``python -m monitor run ...``, so import, worker spawn and catalog search count:

- 1, 5 and 20 AOIs with ``--workers 1`` and ``--workers 2``;
- 20 AOIs with ``--scheduler`` on a ``LocalCluster(n_workers=2, threads_per_worker=1,
  processes=True)`` ("dask processes") and on a ``LocalCluster(n_workers=1,
  threads_per_worker=2, processes=False)`` ("dask threads"). Each cluster runs in a helper
  process of this script, started before the run (its start-up is printed, not counted) and
  closed after it; its workers import ``monitor`` on their first task, which counts.

What is measured, per run:

wall
    From starting the child to its exit.
CPU
    ``os.wait4`` of the child. On Linux this includes every descendant the child waited for
    (the kernel reports ``RUSAGE_BOTH``), so the ``--workers`` processes, which the pool joins,
    are in it. A Dask cluster's processes are not descendants of the child: the CPU they used
    during the run (psutil, before and after) is added and shown apart. A psutil sampler
    (every 0.1 s, summing the last CPU seen of every process in the tree) cross-checks it.
peak RSS
    The largest sum of resident memory over all processes taking part (the child, its
    workers, the cluster's processes), sampled every 0.1 s; shared pages count once per
    process. Also the largest single process.
detections
    ``monitor export --format geojson --status all`` of the run's state: every configuration
    with the same AOIs must give the same ids and statuses, and each AOI the same detections
    in every run that includes it.

The ``monitor`` package the runs import is a snapshot copied at start (others edit
``monitor/`` while this runs). The host has 2 cores and is shared: wall times are noisy,
CPU times steadier; ``--repeat`` runs every configuration that many times (median shown).

Run from the repository root (not collected by pytest)::

    python benchmarks/scaling.py            # the whole benchmark, about 9 minutes
    python benchmarks/scaling.py --quick    # 1 and 5 AOIs, workers 1 and 2: to try it
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from _snapshot import snapshot_package  # a sibling module: benchmarks/ is sys.path[0]

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Everything the simulator draws derives from it.
SEED = 8
#: One year of acquisitions. The detector models a pixel only after 300 days of history
#: (DetectorParams.min_history_days), so the year ends after the planted kk-park-east
#: demolitions begin (24 October - 20 December 2025): some of them can be detected, which the
#: same-detections check needs (a year from June 2025 gives none).
PERIOD = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
AOI_COUNTS = (1, 5, 20)
QUICK_AOI_COUNTS = (1, 5)
SAMPLE_INTERVAL_S = 0.1
#: A box of about 1 km x 1 km at 16.6-16.8 N (1 degree of longitude is ~106.7 km there).
BOX_DEG = (0.0093, 0.0090)
#: Centre to centre: 200 m between boxes, so a site's five boxes share one simulated ground.
PITCH_DEG = (0.0112, 0.0108)
#: Box centres of a site, in pitches from its centre: three above, two below.
LAYOUT = ((-1.0, 0.5), (0.0, 0.5), (1.0, 0.5), (-0.5, -0.5), (0.5, -0.5))
_SUMMARY = re.compile(r"scenes: (\d+) new, (\d+) used, (\d+) skipped, (\d+) failed")


@dataclass(frozen=True)
class Site:
    """Where five benchmark AOIs are placed; the id prefix picks the simulator's scenario."""

    prefix: str
    name: str
    kind: str
    lon: float
    lat: float


#: kk-park-east-* get the eastern demolitions, shwe-kokko-* the 2025-26 demolitions,
#: myawaddy-* and mae-sot-* ordinary growth (see monitor.simulate.changes).
SITES = (
    Site("kk-park-east", "KK Park", "compound", 98.5690, 16.6300),
    Site("shwe-kokko", "Shwe Kokko", "compound", 98.5300, 16.8220),
    Site("myawaddy", "Myawaddy", "town", 98.5050, 16.6900),
    Site("mae-sot", "Mae Sot", "control", 98.5750, 16.7130),
)


@dataclass(frozen=True)
class Config:
    """One measured configuration: how many AOIs, and where they run."""

    label: str
    n_aois: int
    workers: int = 1
    #: None: worker processes of the child; "processes" or "threads": a Dask LocalCluster.
    cluster: str | None = None


@dataclass
class Measured:
    """What one ``monitor run`` child cost and found."""

    config: Config
    exit_code: int
    wall_s: float
    cpu_child_s: float  # os.wait4: the child and the descendants it waited for
    cpu_cluster_s: float  # the Dask cluster's processes during the run (0 without one)
    cpu_sampled_s: float  # psutil cross-check: sum of the last CPU seen per process
    peak_rss_mb: float  # largest sampled sum over every process taking part
    largest_proc_mb: float  # largest single process (wait4 and samples)
    idle_cluster_mb: float  # the cluster's summed RSS before the run (0 without one)
    n_processes: int  # distinct processes seen (child, workers, cluster)
    others_cpu_s: float  # CPU the rest of the machine used meanwhile (shared host)
    scenes: tuple[int, ...] | None  # new, used, skipped, failed from the summary line
    detections: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (aoi, status)
    output: str = ""

    @property
    def cpu_s(self) -> float:
        return self.cpu_child_s + self.cpu_cluster_s

    @property
    def others_pct(self) -> float:
        """Share of the machine's CPUs used by other processes during the run, in %."""
        return 100.0 * self.others_cpu_s / (self.wall_s * (os.cpu_count() or 1))


# --------------------------------------------------------------------------- setup


def aoi_features() -> list[dict[str, Any]]:
    """The 20 AOIs as GeoJSON Features, round-robin over the sites (the first 5 AOIs cover
    all four sites)."""
    by_site = []
    half_w, half_h = BOX_DEG[0] / 2, BOX_DEG[1] / 2
    for site in SITES:
        boxes = []
        for number, (dx, dy) in enumerate(LAYOUT, start=1):
            lon = site.lon + dx * PITCH_DEG[0]
            lat = site.lat + dy * PITCH_DEG[1]
            w, e = round(lon - half_w, 5), round(lon + half_w, 5)
            s, n = round(lat - half_h, 5), round(lat + half_h, 5)
            boxes.append(
                {
                    "type": "Feature",
                    "properties": {
                        "id": f"{site.prefix}-{number:02d}",
                        "name": f"{site.name}, benchmark box {number}",
                        "kind": site.kind,
                        "description": "About 1 km x 1 km, placed for the scaling benchmark "
                        "(benchmarks/scaling.py); not an analyst's outline.",
                    },
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
                    },
                }
            )
        by_site.append(boxes)
    return [site_boxes[i] for i in range(len(LAYOUT)) for site_boxes in by_site]


def write_aois(folder: Path) -> list[Any]:
    """Write the AOI files into ``folder`` (atomically, unchanged ones left alone); the
    validated ``Aoi``s in benchmark order."""
    from monitor.aoi import aoi_from_geojson

    folder.mkdir(parents=True, exist_ok=True)
    aois = []
    for feature in aoi_features():
        path = folder / f"{feature['properties']['id']}.geojson"
        text = json.dumps(feature, indent=1) + "\n"
        if not path.is_file() or path.read_text() != text:
            _write_atomically(path, text)
        aois.append(aoi_from_geojson(feature, where=str(path), path=str(path)))
    return aois


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_archive(aois: Sequence[Any], folder: Path) -> None:
    """Simulate the archive into ``folder``, or reuse an identical earlier simulation."""
    from monitor.simulate import simulate_archive

    print(f"archive: {folder} ({PERIOD[0]} → {PERIOD[1]}, seed {SEED}, style c1)", flush=True)
    result = simulate_archive(
        list(aois),
        folder,
        seed=SEED,
        style="c1",
        start=PERIOD[0],
        end=PERIOD[1],
        overwrite=True,
        progress=lambda line: print(f"  {line}", flush=True),
    )
    print(
        "  reused"
        if result.reused
        else f"  simulated: {result.n_items} items in {result.seconds:.0f} s",
        flush=True,
    )


def child_env(source: Path) -> dict[str, str]:
    """The environment of every child: the snapshot first on the path, no MONITOR_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    # PYTHONPATH comes before the editable install's finder, so the snapshot is imported.
    env["PYTHONPATH"] = str(source)
    return env


# --------------------------------------------------------------------------- measuring


class TreeSampler(threading.Thread):
    """Samples, every SAMPLE_INTERVAL_S, the processes under ``roots`` (recursively):
    the largest sum of their RSS, the largest single RSS, and the last CPU seen per process."""

    def __init__(self, roots: Callable[[], list[psutil.Process]]) -> None:
        super().__init__(daemon=True)
        self._roots = roots
        self._stop_event = threading.Event()
        self.peak_sum_bytes = 0
        self.peak_one_bytes = 0
        self.cpu_by_pid: dict[tuple[int, float], float] = {}
        #: CPU and summed RSS of the processes there before the run (a cluster's).
        self.cpu_before: dict[tuple[int, float], float] = {}
        self.rss_before_bytes = 0

    def baseline(self) -> None:
        """Sample once before the run: what the cluster already used and holds."""
        self.sample()
        self.cpu_before = dict(self.cpu_by_pid)
        self.rss_before_bytes = self.peak_sum_bytes

    @property
    def cpu_s(self) -> float:
        """CPU used during the run by every process seen, as far as the samples saw."""
        return sum(cpu - self.cpu_before.get(key, 0.0) for key, cpu in self.cpu_by_pid.items())

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(SAMPLE_INTERVAL_S)

    def sample(self) -> None:
        total = 0
        for proc in self._tree():
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
                    started = proc.create_time()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            total += rss
            self.peak_one_bytes = max(self.peak_one_bytes, rss)
            # (pid, start time) names a process even if its pid is reused.
            self.cpu_by_pid[(proc.pid, started)] = times.user + times.system
        self.peak_sum_bytes = max(self.peak_sum_bytes, total)

    def _tree(self) -> list[psutil.Process]:
        seen: list[psutil.Process] = []
        for root in self._roots():
            seen.append(root)
            try:
                seen.extend(root.children(recursive=True))
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                pass
        return seen

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class ClusterHelper:
    """A Dask LocalCluster in a helper process (this script, ``--cluster-helper KIND``), so
    that its processes and CPU can be told apart from the measured child's."""

    def __init__(self, kind: str, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.kind = kind
        self._log = log.open("wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--cluster-helper", kind],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        assert self.proc.stdout is not None
        self.address = ""
        self.worker_module = ""
        for raw in self.proc.stdout:
            line = raw.decode().strip()
            if line.startswith("ADDRESS "):
                self.address = line.split()[1]
            elif line.startswith("MONITOR "):
                self.worker_module = line.split(maxsplit=1)[1]
            elif line == "READY":
                break
        if not self.address:
            self.stop()
            raise SystemExit(f"the {kind} LocalCluster did not start; see {log}")
        self.startup_s = time.perf_counter() - started

    def processes(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_s(self) -> float:
        """CPU used so far by the helper and its live processes (user + system)."""
        total = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the helper closes its cluster at end of input
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def serve_cluster(kind: str) -> int:
    """The helper's side: start the cluster, print its address, wait for end of input."""
    from distributed import Client, LocalCluster

    if kind == "processes":
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    elif kind == "threads":
        # In one process a LocalCluster talks "inproc" by default; the run is another
        # process and needs TCP.
        cluster = LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=None,
        )
    else:
        raise SystemExit(f"--cluster-helper {kind}: expected processes or threads")
    with cluster, Client(cluster, set_as_default=False) as client:
        # Which monitor the workers would import, without importing it (that is measured).
        def where() -> str:
            import importlib.util

            spec = importlib.util.find_spec("monitor")
            return str(spec.origin) if spec is not None else "not found"

        origins = sorted(set(client.run(where).values()))
        print(f"ADDRESS {cluster.scheduler_address}", flush=True)
        print(f"MONITOR {', '.join(origins)}", flush=True)
        print("READY", flush=True)
        sys.stdin.read()
    return 0


@dataclass
class Bench:
    """Where the runs read and write, and how they are started."""

    archive: Path
    aoi_dir: Path
    aoi_ids: list[str]
    run_root: Path
    env: dict[str, str]
    keep_states: bool

    def run(
        self, config: Config, repeat_index: int, cluster: ClusterHelper | None = None
    ) -> Measured:
        """One backfill of ``config`` on a fresh state folder, measured; its detections."""
        name = f"{config.label.replace(' ', '-')}-{config.n_aois}aoi-{repeat_index + 1}"
        state = self.run_root / name
        reports = self.run_root / f"{name}-reports"
        for folder in (state, reports):
            shutil.rmtree(folder, ignore_errors=True)
        aoi_flags = [x for a in self.aoi_ids[: config.n_aois] for x in ("--aoi", a)]
        common = [
            "--state-dir",
            str(state),
            "--reports-dir",
            str(reports),
            "--aoi-dir",
            str(self.aoi_dir),
            *aoi_flags,
        ]
        argv = [
            sys.executable,
            "-m",
            "monitor",
            "run",
            "--stac",
            str(self.archive),
            *common,
            "--since",
            PERIOD[0].isoformat(),
            "--until",
            PERIOD[1].isoformat(),
        ]
        if cluster is not None:
            argv += ["--scheduler", cluster.address]
        else:
            argv += ["--workers", str(config.workers)]

        child: list[psutil.Process] = []

        def roots() -> list[psutil.Process]:
            return child + (cluster.processes() if cluster is not None else [])

        sampler = TreeSampler(roots)
        sampler.baseline()
        cluster_cpu_before = cluster.cpu_s() if cluster is not None else 0.0
        machine_before = _busy_cpu_s()
        started = time.perf_counter()
        # The working directory is the run root: no monitor.toml there, so flags say it all.
        proc = subprocess.Popen(
            argv, cwd=self.run_root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            child.append(psutil.Process(proc.pid))
        except psutil.NoSuchProcess:
            pass
        sampler.start()
        assert proc.stdout is not None
        output = proc.stdout.read().decode(errors="replace")
        # A last sample while the child is a zombie (not yet reaped) sees its final CPU.
        sampler.stop()
        sampler.sample()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        machine_busy = _busy_cpu_s() - machine_before
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        cluster_cpu = cluster.cpu_s() - cluster_cpu_before if cluster is not None else 0.0
        (self.run_root / f"{name}.log").write_text(output)
        match = _SUMMARY.search(output)
        measured = Measured(
            config=config,
            exit_code=proc.returncode,
            wall_s=wall,
            cpu_child_s=usage.ru_utime + usage.ru_stime,
            cpu_cluster_s=cluster_cpu,
            cpu_sampled_s=sampler.cpu_s,
            idle_cluster_mb=sampler.rss_before_bytes / 1e6,
            peak_rss_mb=sampler.peak_sum_bytes / 1e6,
            largest_proc_mb=max(sampler.peak_one_bytes / 1e6, usage.ru_maxrss * 1024 / 1e6),
            n_processes=len(sampler.cpu_by_pid),
            others_cpu_s=max(0.0, machine_busy - usage.ru_utime - usage.ru_stime - cluster_cpu),
            scenes=tuple(int(g) for g in match.groups()) if match else None,
            output=output,
        )
        if measured.exit_code == 0:
            measured.detections = self.detections(state, reports, common, name)
        if not self.keep_states:
            shutil.rmtree(state, ignore_errors=True)
        return measured

    def detections(
        self, state: Path, reports: Path, common: list[str], name: str
    ) -> dict[str, tuple[str, str]]:
        """Every stored detection (probable and confirmed) of a finished run: id -> (AOI,
        status), from ``monitor export --format geojson --status all``."""
        out = self.run_root / f"{name}-detections.geojson"
        argv = [
            sys.executable,
            "-m",
            "monitor",
            "export",
            "--format",
            "geojson",
            "--status",
            "all",
            "--out",
            str(out),
            "--overwrite",
            *common,
        ]
        done = subprocess.run(
            argv, cwd=self.run_root, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(
                f"monitor export of {state} failed (exit {done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}"
            )
        features = json.loads(out.read_text())["features"]
        return {
            f["properties"]["id"]: (f["properties"]["aoi"], f["properties"]["status"])
            for f in features
        }


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs, every process) since boot."""
    times = psutil.cpu_times()
    return sum(
        getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")
    )


# --------------------------------------------------------------------------- reporting


def describe(m: Measured) -> None:
    scenes = (
        "new/used/skipped/failed " + "/".join(map(str, m.scenes)) if m.scenes else "no summary line"
    )
    cluster, idle = "", ""
    if m.config.cluster:
        cluster = f" (child {m.cpu_child_s:.1f} + cluster {m.cpu_cluster_s:.1f})"
        idle = f", the idle cluster {m.idle_cluster_mb:.0f} MB of it"
    print(
        f"  {m.config.label}, {m.config.n_aois} AOIs: exit {m.exit_code}; wall "
        f"{m.wall_s:.1f} s; CPU {m.cpu_s:.1f} s{cluster}, sampled {m.cpu_sampled_s:.1f} s "
        f"over {m.n_processes} processes; peak RSS {m.peak_rss_mb:.0f} MB{idle} (largest "
        f"process {m.largest_proc_mb:.0f} MB); {scenes}; {len(m.detections)} detections; other "
        f"processes used {m.others_pct:.0f}% of the machine meanwhile",
        flush=True,
    )
    if m.exit_code != 0:
        print(
            "    output tail:\n"
            + "\n".join("      " + line for line in m.output.splitlines()[-15:])
        )


def median_of(runs: Sequence[Measured], attr: str) -> float:
    return statistics.median(getattr(m, attr) for m in runs)


def print_table(results: dict[Config, list[Measured]]) -> None:
    print(
        "\nScaling table (median over repeats). speed-up: wall of workers 1 with as many AOIs "
        "over this wall; CPU: child + its workers + the cluster; peak RSS: sum over those "
        "processes; largest: one process; others %: share of the machine's CPUs used by "
        "other processes meanwhile (a shared host)"
    )
    header = (
        f"{'config':16} {'AOIs':>4} {'wall s':>7} {'s/AOI':>6} {'speed-up':>8} "
        f"{'CPU s':>6} {'peak RSS MB':>11} {'largest MB':>10} {'detections':>10} "
        f"{'others %':>8}"
    )
    print(header)
    print("-" * len(header))
    for config, runs in results.items():
        base = results.get(Config("workers 1", config.n_aois, 1))
        wall = median_of(runs, "wall_s")
        speedup = f"{median_of(base, 'wall_s') / wall:.2f}x" if base else "-"
        n_det = {len(m.detections) for m in runs}
        print(
            f"{config.label:16} {config.n_aois:>4} {wall:>7.1f} {wall / config.n_aois:>6.2f} "
            f"{speedup:>8} {median_of(runs, 'cpu_s'):>6.1f} "
            f"{median_of(runs, 'peak_rss_mb'):>11.0f} "
            f"{median_of(runs, 'largest_proc_mb'):>10.0f} "
            f"{'/'.join(map(str, sorted(n_det))):>10} "
            f"{median_of(runs, 'others_pct'):>8.0f}"
        )


def print_claims(results: dict[Config, list[Measured]]) -> bool:
    """One line per scaling claim; True when every configuration found the same
    detections."""

    def get(label: str, n: int) -> list[Measured] | None:
        return next(
            (runs for c, runs in results.items() if c.label == label and c.n_aois == n), None
        )

    def wall(runs: list[Measured]) -> float:
        return median_of(runs, "wall_s")

    print("\nClaims")
    counts = sorted({c.n_aois for c in results})
    for n in counts:
        one, two = get("workers 1", n), get("workers 2", n)
        if one and two:
            note = (
                " (one AOI is one task: workers 2 runs it in the child, serially)" if n == 1 else ""
            )
            print(
                f"  {n} AOIs: workers 2 is {wall(one) / wall(two):.2f}x workers 1 "
                f"({wall(one):.1f} s → {wall(two):.1f} s; CPU {median_of(one, 'cpu_s'):.1f} s "
                f"→ {median_of(two, 'cpu_s'):.1f} s){note}"
            )
    for label in ("workers 1", "workers 2"):
        points = [(n, wall(runs)) for n in counts if (runs := get(label, n))]
        if len(points) >= 2:
            (n0, w0), (n1, w1) = points[0], points[-1]
            slope, intercept = _line(points)
            print(
                f"  {label}: {n0} → {n1} AOIs ({n1 / n0:.0f}x the AOIs) takes "
                f"{w1 / w0:.1f}x the wall time ({w0:.1f} s → {w1:.1f} s; per AOI "
                f"{w0 / n0:.2f} s → {w1 / n1:.2f} s); least-squares line: "
                f"{intercept:.1f} s fixed + {slope:.2f} s per AOI"
            )
    top = counts[-1]
    one, two = get("workers 1", top), get("workers 2", top)
    for label in ("dask processes", "dask threads"):
        runs = get(label, top)
        if runs and one:
            versus = f", {wall(two) / wall(runs):.2f}x workers 2" if two else ""
            print(
                f"  {top} AOIs: {label} is {wall(one) / wall(runs):.2f}x workers 1{versus} "
                f"({wall(runs):.1f} s; CPU {median_of(runs, 'cpu_s'):.1f} s, of which the "
                f"cluster {median_of(runs, 'cpu_cluster_s'):.1f} s)"
            )
    procs, threads = get("dask processes", top), get("dask threads", top)
    if procs and threads:
        print(
            f"  {top} AOIs: dask processes is {wall(threads) / wall(procs):.2f}x dask threads "
            f"(2 processes x 1 thread against 1 process x 2 threads)"
        )

    # Same detections: every configuration of an AOI count, and each AOI across counts.
    same = True
    for n in counts:
        sets = {
            c.label + (f" #{i + 1}" if len(runs) > 1 else ""): frozenset(m.detections.items())
            for c, runs in results.items()
            if c.n_aois == n
            for i, m in enumerate(runs)
        }
        if len(set(sets.values())) > 1:
            same = False
            sizes = ", ".join(f"{k} {len(v)}" for k, v in sets.items())
            print(f"  {n} AOIs: DETECTIONS DIFFER between configurations ({sizes})")
        else:
            print(
                f"  {n} AOIs: all {len(sets)} runs give the same "
                f"{len(next(iter(sets.values())))} detections (ids and statuses)"
            )
    by_aoi: dict[str, set[frozenset[Any]]] = {}
    for runs in results.values():
        for m in runs:
            aois = {a for a, _ in m.detections.values()}
            for aoi in aois:
                by_aoi.setdefault(aoi, set()).add(
                    frozenset((i, s) for i, (a, s) in m.detections.items() if a == aoi)
                )
    differ = sorted(a for a, versions in by_aoi.items() if len(versions) > 1)
    if differ:
        same = False
        print(
            f"  AOIs whose detections depend on the other AOIs run with them: {', '.join(differ)}"
        )
    elif by_aoi:
        print(
            f"  each of the {len(by_aoi)} AOIs with detections has the same ones in every "
            "run that includes it"
        )
    failed = [
        f"{c.label} {c.n_aois}" for c, runs in results.items() for m in runs if m.exit_code != 0
    ]
    if failed:
        same = False
        print(f"  FAILED runs (no detections compared): {', '.join(failed)}")
    return same


def _line(points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares slope and intercept of wall time over AOI count."""
    xs = [float(x) for x, _ in points]
    ys = [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, mean_y - slope * mean_x


# --------------------------------------------------------------------------- main


def configurations(quick: bool) -> list[Config]:
    counts = QUICK_AOI_COUNTS if quick else AOI_COUNTS
    configs = [Config(f"workers {w}", n, w) for n in counts for w in (1, 2)]
    if not quick:
        configs += [
            Config("dask processes", counts[-1], cluster="processes"),
            Config("dask threads", counts[-1], cluster="threads"),
        ]
    return configs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/monitor-scaling"),
        help="Scratch folder: AOI files, archive, run states [/tmp/monitor-scaling].",
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 and 5 AOIs, workers 1 and 2 only: to try it out."
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="Runs of each configuration (median shown) [1]."
    )
    parser.add_argument(
        "--keep-states",
        action="store_true",
        help="Keep each run's state folder (chip cache and database).",
    )
    parser.add_argument(
        "--cluster-helper", choices=("processes", "threads"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.cluster_helper:
        return serve_cluster(args.cluster_helper)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    # Not in the cluster helper: Dask's spawned workers inherit sys.path, and must import the
    # snapshot, not the repository's live package.
    sys.path.insert(0, str(REPO_ROOT))

    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        "Scaling benchmark (issue 8): monitor run over 1-20 small AOIs, worker processes and Dask"
    )
    print(
        f"host: {os.cpu_count()} CPUs, load average {load} (1/5/15 min) at start; the "
        "machine is shared, so wall times are noisy"
    )
    print(
        f"started {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, python {sys.version.split()[0]}"
    )
    began = time.perf_counter()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    aois = write_aois(work / "aois")
    sizes = sorted({f"{a.grid.width}x{a.grid.height}" for a in aois})
    print(
        f"AOIs: {len(aois)} in {work / 'aois'} (grids {', '.join(sizes)} px), in run order: "
        + ", ".join(a.id for a in aois)
    )
    ensure_archive(aois, work / "archive")

    run_root = work / f"run-{time.strftime('%Y%m%dT%H%M%S')}"
    run_root.mkdir(parents=True)
    code = snapshot_package(run_root / "src")
    imported = subprocess.run(
        [sys.executable, "-c", "import monitor; print(monitor.__file__)"],
        cwd=run_root,
        env=child_env(run_root / "src"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    print(
        f"code measured: a snapshot of {REPO_ROOT / 'monitor'} ({code}); runs import "
        f"{imported.strip()}"
    )
    bench = Bench(
        archive=work / "archive",
        aoi_dir=work / "aois",
        aoi_ids=[a.id for a in aois],
        run_root=run_root,
        env=child_env(run_root / "src"),
        keep_states=args.keep_states,
    )

    results: dict[Config, list[Measured]] = {}
    print(f"\nRuns: full backfill {PERIOD[0]} → {PERIOD[1]}, each on a fresh state folder")
    for repeat_index in range(args.repeat):
        for config in configurations(args.quick):
            cluster = None
            if config.cluster is not None:
                cluster = ClusterHelper(
                    config.cluster, bench.env, run_root, run_root / f"cluster-{config.cluster}.log"
                )
                print(
                    f"  ({config.label}: LocalCluster at {cluster.address} started in "
                    f"{cluster.startup_s:.1f} s, not counted; workers import monitor from "
                    f"{cluster.worker_module})",
                    flush=True,
                )
            try:
                measured = bench.run(config, repeat_index, cluster)
            finally:
                if cluster is not None:
                    cluster.stop()
            describe(measured)
            results.setdefault(config, []).append(measured)

    print_table(results)
    same = print_claims(results)
    print(
        f"\nfinished {dt.datetime.now(dt.UTC):%H:%M:%S} UTC after "
        f"{(time.perf_counter() - began) / 60:.1f} min; load average now "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
