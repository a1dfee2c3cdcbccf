"""Cost of the scheduled job (issue 7): backfill, nothing new, one new scene, scaling.

The demo archive is served like the real thing: its COGs by the test COG server over HTTP on
127.0.0.1, its items (asset hrefs rewritten to the COG server's URLs) by a local
stac-fastapi-pgstac (tests/servers/stac_api.py) as collection ``sentinel-2-c1-l2a``. Every
measured run is the ``monitor run ...`` console script in a child process, so import cost
counts; its CPU time and peak RSS come from ``os.wait4`` (that child only), its bytes and
requests from the COG server's log, its catalog requests from the API's access log.

1. ``backfill``: the four demo AOIs from --since to --until (D).
2. ``nothing new``: the same run again: wall per AOI, COG requests (must be 0), whether
   anything under the reports folder was rewritten (mtime), and each AOI alone.
3. ``one new scene``: --until advanced to the next acquisition after D (from a copy of the
   backfilled state, --repeat times, median shown).
4. ``scaling``: one new clear scene after ~1 and ~3 years of history, for kk-park-east
   (178 x 194 px) and mae-sot (500 x 534 px); fresh states per AOI and history.

Run from the repository root (not collected by pytest)::

    python benchmarks/job_cost.py --archive /tmp/demo2/state/demo-archive
    python benchmarks/job_cost.py --quick      # kk-park-east, one year: to try it out

Without --archive the demo archive is simulated under --work (about 800 MB, a few minutes).
The default D is the day before the last acquisition on or before 2026-05-31 whose tile cloud
cover is at most 5 %, so that the "one new scene" is a clear one (a cloudy one is skipped from
its SCL alone and says little about detector cost).
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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _snapshot import snapshot_package  # a sibling module: benchmarks/ is sys.path[0]

REPO_ROOT = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(REPO_ROOT))

from tests.servers.cog_server import CogServerProcess  # noqa: E402
from tests.servers.stac_api import (  # noqa: E402
    StacApiServer,
    find_postgres_bindir,
    find_stac_api_python,
)

COLLECTION = "sentinel-2-c1-l2a"
DEMO_AOIS = ("kk-park", "kk-park-east", "shwe-kokko", "mae-sot")
DEMO_START = dt.date(2023, 7, 1)
DEMO_END = dt.date(2026, 6, 30)
#: Tile cloud cover (%) at or under which an acquisition counts as "clear" for the default D.
CLEAR_CLOUD_COVER = 5.0
_SUMMARY_LINE = re.compile(r"scenes: (\d+) new, (\d+) used, (\d+) skipped, (\d+) failed")


@dataclass
class RunCost:
    """What one ``monitor run`` child cost."""

    label: str
    exit_code: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    peak_rss_mb: float
    cog_requests: int
    cog_bytes: int
    stac_requests: int
    stac_targets: dict[str, int]  # "METHOD /path" -> count (queries and bodies left out)
    scenes: tuple[int, int, int, int] | None  # new, used, skipped, failed
    rewritten: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s


@dataclass
class Bench:
    """The two servers, the archive's acquisitions, and how to run ``monitor``."""

    archive: Path
    work: Path
    cog: CogServerProcess
    stac: StacApiServer
    acquisitions: dict[str, list[tuple[dt.date, float]]]  # ground -> (date, cloud %) sorted
    source: Path  # folder holding the snapshot of the monitor package the runs import

    def run(
        self, label: str, state: Path, aois: Sequence[str], since: dt.date, until: dt.date
    ) -> RunCost:
        """One ``python -m monitor run`` child against the servers; its measured cost."""
        reports = state.parent / (state.name + "-reports")
        argv = [
            *_monitor_command(),
            "run",
            "--stac",
            self.stac.url,
            "--collection",
            COLLECTION,
            "--state-dir",
            str(state),
            "--reports-dir",
            str(reports),
            "--aoi-dir",
            str(REPO_ROOT / "aoi"),
            *[x for a in aois for x in ("--aoi", a)],
            "--since",
            since.isoformat(),
            "--until",
            until.isoformat(),
        ]
        # Only what the child needs: no MONITOR_* from the caller's shell, and no monitor.toml
        # (the working directory is the work folder), so the flags alone say what runs.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        # The snapshot comes first on the path (the editable install's finder comes after
        # PathFinder), so edits others make to monitor/ during the benchmark change nothing.
        env["PYTHONPATH"] = str(self.source)
        before_reports = _mtimes(reports)
        self.cog.clear_log()
        n_stac = len(self.stac.request_log())
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=self.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert proc.stdout is not None
        output = proc.stdout.read().decode(errors="replace")
        # wait4: the rusage of this child alone (RUSAGE_CHILDREN would mix in every earlier
        # child, and its peak RSS is the maximum over all of them).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        log = self.cog.log
        stac_log = self.stac.request_log()[n_stac:]
        targets: dict[str, int] = {}
        for request in stac_log:
            key = f"{request.method} {request.target.split('?', 1)[0]}"
            targets[key] = targets.get(key, 0) + 1
        after_reports = _mtimes(reports)
        rewritten = sorted(
            name for name, mtime in after_reports.items() if before_reports.get(name) != mtime
        )
        # Every run's output is kept beside its state, to see afterwards what a run did.
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")
        (state.parent / f"{state.name}--{slug}.log").write_text(output)
        match = _SUMMARY_LINE.search(output)
        scenes = tuple(int(g) for g in match.groups()) if match else None
        return RunCost(
            label=label,
            exit_code=proc.returncode,
            wall_s=wall,
            cpu_user_s=usage.ru_utime,
            cpu_sys_s=usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
            cog_requests=len(log),
            cog_bytes=sum(r.bytes_sent for r in log),
            stac_requests=len(stac_log),
            stac_targets=targets,
            scenes=scenes,
            rewritten=rewritten,  # type: ignore[arg-type]
            output=output,
        )

    def next_acquisition(self, ground: str, after: dt.date) -> dt.date:
        later = [d for d, _ in self.acquisitions[ground] if d > after]
        if not later:
            raise SystemExit(f"no acquisition of {ground} after {after} in {self.archive}")
        return later[0]


def _monitor_command() -> list[str]:
    """The ``monitor`` console script of this interpreter (``python -m monitor`` does not
    exist: the package has no ``__main__``); its entry point through ``-c`` as a fallback."""
    script = Path(sys.executable).parent / "monitor"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from monitor.cli.main import main; sys.exit(main())"]


def _mtimes(folder: Path) -> dict[str, int]:
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()
    }


def _ground_of(aoi_id: str) -> str:
    # kk-park-east is read from kk-park's simulated ground (see monitor.simulate.archive).
    return "kk-park" if aoi_id == "kk-park-east" else aoi_id


# --------------------------------------------------------------------------- setup


def ensure_archive(archive: Path | None, work: Path) -> Path:
    """The demo archive given, or one simulated (once) under ``work``."""
    if archive is not None:
        if not (archive / "collection.json").is_file():
            raise SystemExit(f"{archive} has no collection.json: not a simulated archive")
        return archive
    from monitor.aoi import resolve_aois
    from monitor.simulate import simulate_archive

    target = work / "demo-archive"
    aois = resolve_aois(list(DEMO_AOIS), REPO_ROOT / "aoi")
    print(f"simulating the demo archive into {target} (once; reused later)", flush=True)
    result = simulate_archive(
        aois,
        target,
        start=DEMO_START,
        end=DEMO_END,
        overwrite=True,
        progress=lambda line: print(f"  {line}", flush=True),
    )
    print(f"  {'reused' if result.reused else f'{result.n_items} items in {result.seconds:.0f} s'}")
    return target


def served_items(archive: Path, cog_url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The archive's collection and items, asset hrefs pointing at the COG server."""
    root = archive.resolve()
    collection = json.loads((archive / "collection.json").read_text())
    collection["links"] = []
    items = []
    for path in sorted((archive / "items").glob("*.json")):
        item = json.loads(path.read_text())
        for asset in item.get("assets", {}).values():
            href = asset["href"]
            if "://" in href:
                continue
            local = (path.parent / href).resolve()
            asset["href"] = f"{cog_url}/{local.relative_to(root).as_posix()}"
        # Relative links would point into the archive folder; the API writes its own.
        item["links"] = []
        item["collection"] = COLLECTION
        items.append(item)
    return collection, items


def acquisitions_by_ground(
    items: Sequence[dict[str, Any]],
) -> dict[str, list[tuple[dt.date, float]]]:
    out: dict[str, list[tuple[dt.date, float]]] = {}
    for item in items:
        props = item["properties"]
        day = dt.date.fromisoformat(props["datetime"][:10])
        out.setdefault(props["monitor:ground"], []).append((day, float(props["eo:cloud_cover"])))
    return {g: sorted(v) for g, v in out.items()}


def default_until(
    acq: dict[str, list[tuple[dt.date, float]]], grounds: Sequence[str], not_after: dt.date
) -> dt.date:
    """The day before the last acquisition <= ``not_after`` clear on all ``grounds``."""
    clear = None
    for day in sorted({d for g in grounds for d, _ in acq[g]}, reverse=True):
        if day > not_after:
            continue
        covers = [c for g in grounds for d, c in acq[g] if d == day]
        if len(covers) == len(grounds) and max(covers) <= CLEAR_CLOUD_COVER:
            clear = day
            break
    if clear is None:
        raise SystemExit(
            f"no acquisition on or before {not_after} with cloud <= "
            f"{CLEAR_CLOUD_COVER}% on {', '.join(grounds)}"
        )
    return clear - dt.timedelta(days=1)


# --------------------------------------------------------------------------- printing


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def describe(cost: RunCost) -> None:
    scenes = (
        "new/used/skipped/failed = " + "/".join(map(str, cost.scenes))
        if cost.scenes
        else "no summary line"
    )
    print(
        f"  {cost.label}: exit {cost.exit_code}; wall {cost.wall_s:.2f} s; CPU "
        f"{cost.cpu_s:.2f} s (user {cost.cpu_user_s:.2f} + sys {cost.cpu_sys_s:.2f}); "
        f"peak RSS {cost.peak_rss_mb:.0f} MB"
    )
    print(
        f"      COG server: {cost.cog_requests} requests, {_mb(cost.cog_bytes)}; "
        f"STAC API: {cost.stac_requests} requests; scenes {scenes}"
    )
    if cost.exit_code != 0:
        print(
            "      output tail:\n"
            + "\n".join("        " + line for line in cost.output.splitlines()[-15:])
        )


def _median(costs: Sequence[RunCost], attr: str) -> float:
    return statistics.median(getattr(c, attr) for c in costs)


def describe_repeats(label: str, costs: Sequence[RunCost]) -> None:
    walls = ", ".join(f"{c.wall_s:.2f}" for c in costs)
    print(
        f"  {label}: median of {len(costs)}: wall {_median(costs, 'wall_s'):.2f} s "
        f"(runs: {walls} s); CPU {_median(costs, 'cpu_s'):.2f} s; peak RSS "
        f"{_median(costs, 'peak_rss_mb'):.0f} MB; COG {costs[0].cog_requests} requests, "
        f"{_mb(costs[0].cog_bytes)}; STAC {costs[0].stac_requests} requests; scenes "
        f"new/used/skipped/failed = {'/'.join(map(str, costs[0].scenes or ()))}"
    )
    for c in costs:
        if c.exit_code != 0:
            describe(c)


# --------------------------------------------------------------------------- scenarios


def one_new_scene(
    bench: Bench,
    label: str,
    backfilled: Path,
    aois: Sequence[str],
    since: dt.date,
    until: dt.date,
    repeat: int,
) -> list[RunCost]:
    """The incremental run to ``until``, each time from a fresh copy of ``backfilled``."""
    costs = []
    for i in range(repeat):
        state = backfilled.parent / f"{backfilled.name}-plus1-{i}"
        for folder in (state, state.parent / (state.name + "-reports")):
            shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(backfilled, state)
        reports = backfilled.parent / (backfilled.name + "-reports")
        if reports.is_dir():
            shutil.copytree(reports, state.parent / (state.name + "-reports"))
        costs.append(bench.run(f"{label} #{i + 1}", state, aois, since, until))
        # A copy of a 4-AOI state is ~0.8 GB (the chip cache): keep only its run log.
        for folder in (state, state.parent / (state.name + "-reports")):
            shutil.rmtree(folder, ignore_errors=True)
    return costs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, help="A demo archive to serve (else simulated).")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/monitor-jobbench"),
        help="Scratch folder for states [/tmp/monitor-jobbench].",
    )
    parser.add_argument("--since", type=dt.date.fromisoformat, default=DEMO_START)
    parser.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        help="D, the backfill's last day [day before the last clear "
        "acquisition on or before 2026-05-31].",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="Repeats of each one-new-scene run (median shown) [3].",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Develop: kk-park-east only, one year, one repeat, no scaling.",
    )
    parser.add_argument("--skip-scaling", action="store_true")
    args = parser.parse_args(argv)

    load1, load5, load15 = os.getloadavg()
    print("Job cost benchmark (issue 7): monitor run against a local STAC API + COG server")
    print(
        f"host: {os.cpu_count()} CPUs, load average {load1:.2f} / {load5:.2f} / {load15:.2f} "
        "(1/5/15 min) at start; the machine is SHARED with other users, so wall times are "
        "noisy; CPU times are steadier"
    )
    print(
        f"started {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, python {sys.version.split()[0]}"
    )

    args.work.mkdir(parents=True, exist_ok=True)
    archive = ensure_archive(args.archive, args.work)
    aois = ("kk-park-east",) if args.quick else DEMO_AOIS
    repeat = 1 if args.quick else args.repeat

    run_root = args.work / f"run-{time.strftime('%Y%m%dT%H%M%S')}"
    run_root.mkdir(parents=True)
    code = snapshot_package(run_root / "src")
    print(
        f"code measured: a snapshot of {REPO_ROOT / 'monitor'} taken at start ({code}), "
        f"in {run_root / 'src'}"
    )

    cog = CogServerProcess(archive.resolve())
    stac = StacApiServer(find_stac_api_python(), find_postgres_bindir())
    try:
        t = time.perf_counter()
        stac.start()
        collection, items = served_items(archive, cog.url)
        stac.load(collection, items)
        acq = acquisitions_by_ground(items)
        print(
            f"servers: STAC API {stac.url} ({len(items)} items loaded; started and loaded in "
            f"{time.perf_counter() - t:.1f} s), COG server {cog.url} serving {archive}"
        )
        bench = Bench(archive, args.work, cog, stac, acq, run_root / "src")
        grounds = sorted({_ground_of(a) for a in aois})
        until = args.until or default_until(acq, grounds, dt.date(2026, 5, 31))
        since = args.since
        if args.quick and args.until is None:
            since = until - dt.timedelta(days=365)
        next_day = min(bench.next_acquisition(g, until) for g in grounds)
        print(
            f"AOIs: {', '.join(aois)}; history {since} → D = {until}; the next acquisition "
            f"is {next_day} (tile cloud cover "
            + ", ".join(f"{g} {c:.0f}%" for g in grounds for d, c in acq[g] if d == next_day)
            + ")"
        )

        full = run_root / "full"

        print("\n1. Full backfill")
        backfill = bench.run("backfill", full, aois, since, until)
        describe(backfill)
        cache = sum(p.stat().st_size for p in full.rglob("*") if p.is_file())
        print(f"      state folder after it (database + chip cache): {_mb(cache)}")

        print("\n2. Nothing new (same --until)")
        again = bench.run("all AOIs", full, aois, since, until)
        describe(again)
        print(
            f"      wall per AOI: {again.wall_s / len(aois):.2f} s (goal < 2 s); COG requests: "
            f"{again.cog_requests} (must be 0); reports/exports rewritten: "
            f"{', '.join(again.rewritten) if again.rewritten else 'none (mtimes unchanged)'}"
        )
        print(
            "      STAC requests made: "
            + ", ".join(f"{k} x{n}" for k, n in sorted(again.stac_targets.items()))
        )
        for aoi in aois if len(aois) > 1 else ():
            alone = bench.run(f"{aoi} alone", full, [aoi], since, until)
            print(
                f"    {aoi} alone: wall {alone.wall_s:.2f} s, CPU {alone.cpu_s:.2f} s, COG "
                f"requests {alone.cog_requests}, STAC requests {alone.stac_requests}, "
                f"rewritten: {', '.join(alone.rewritten) or 'none'}, exit {alone.exit_code}"
            )

        print(f"\n3. One new acquisition (--until {next_day}), from copies of the backfilled state")
        plus1 = one_new_scene(bench, "one new scene", full, aois, since, next_day, repeat)
        describe_repeats("all AOIs", plus1)

        if not args.quick and not args.skip_scaling:
            scaling(bench, run_root, until, next_day, repeat)
    finally:
        stac.stop()
        cog.stop()
    print(
        f"\nfinished {dt.datetime.now(dt.UTC):%H:%M:%S} UTC; load average now "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    return 0


def scaling(bench: Bench, run_root: Path, until: dt.date, new_day: dt.date, repeat: int) -> None:
    """Section 4: one new scene after 1 and 3 years of history, small and large AOI."""
    print(f"\n4. Scaling: one new scene ({new_day}) after ~1 and ~3 years of history")
    histories = {"~1 year": new_day - dt.timedelta(days=365), "~3 years": DEMO_START}
    rows = []
    for aoi, pixels in (("kk-park-east", 178 * 194), ("mae-sot", 500 * 534)):
        for name, since in histories.items():
            state = run_root / f"scale-{aoi}-{name.strip('~').replace(' ', '')}"
            backfill = bench.run(f"{aoi} backfill {since} → {until}", state, [aoi], since, until)
            describe(backfill)
            costs = one_new_scene(
                bench, f"{aoi} +1 after {name}", state, [aoi], since, new_day, repeat
            )
            describe_repeats(f"{aoi} +1 after {name}", costs)
            n_used = backfill.scenes[1] if backfill.scenes else -1
            rows.append((aoi, pixels, name, n_used, costs))
    print("\n  one new scene: median over repeats (wall is noisy on a shared host)")
    print(
        f"  {'AOI':13} {'pixels':>7} {'history':>9} {'used before':>11} {'wall s':>7} "
        f"{'CPU s':>6} {'RSS MB':>6} {'COG MB':>7} {'COG req':>7} {'STAC req':>8}"
    )
    for aoi, pixels, name, n_used, costs in rows:
        print(
            f"  {aoi:13} {pixels:>7} {name:>9} {n_used:>11} "
            f"{_median(costs, 'wall_s'):>7.2f} {_median(costs, 'cpu_s'):>6.2f} "
            f"{_median(costs, 'peak_rss_mb'):>6.0f} {costs[0].cog_bytes / 1e6:>7.2f} "
            f"{costs[0].cog_requests:>7} {costs[0].stac_requests:>8}"
        )


if __name__ == "__main__":
    sys.exit(main())
