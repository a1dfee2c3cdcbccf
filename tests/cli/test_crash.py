"""Crash safety of ``monitor run``: SIGKILL at random moments, then a run to completion.

``monitor run`` is started as a child process on the ``east-test`` AOI (88 x 90 px, planted
demolitions, 126 scenes) and killed with SIGKILL at moments drawn from a seeded RNG. A kill
moment is an *anchor* seen on the run's stdout (process start, the catalog search line,
the n-th recorded observation, the alerts line) plus a random delay, or the k-th sample of
the run's stacks that shows a scene being read (so a slow machine's long imports do not
push every early kill out of the reads), so kills fall in
every phase: start-up and state creation, catalog search, reads, detector, recording
observations, the store transaction, the post-run export.

Just before the SIGKILL the child gets SIGUSR1, on which ``faulthandler`` (registered by
the test's launcher, not by the monitor) writes every thread's stack to stderr: the stacks
name the phase the kill landed in. The tally is printed (``-s``).

One state is killed over and over, like a cron job on a machine that keeps crashing: first
with ``--until`` in November 2025 (a run then completes and exports, as a daily job's
would), then with the whole period. A second state, copied from it after that first
completed run, is killed between its last recorded observation of the whole period and
its export. Each must then end, after one run to
completion, exactly where one uninterrupted run ends (``east_reference``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from monitor.store import Store
from tests.cli.conftest import FULL_PERIOD, RunState, SimArchive, export_all, run_cli

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SEED = 20261123
#: The "daily job" of the first runs ends here; later runs cover the whole period.
EARLY_UNTIL = "2025-11-20"

#: The child: faulthandler on SIGUSR1 (so a kill can tell where it landed), then the CLI.
_LAUNCHER = (
    "import faulthandler, signal, sys; "
    "faulthandler.register(signal.SIGUSR1, all_threads=True); "
    "from monitor.cli.main import main; sys.exit(main())"
)

_RECORD_LINE = re.compile(r"^  \S+ \d{4}-\d\d-\d\d \S+: (used|skipped|failed)\b")

#: Phases by the functions on the main thread's stack, most specific first.
_PHASES: tuple[tuple[str, frozenset[str]], ...] = (
    ("post-run export", frozenset({"_owed_exports", "export_detections"})),
    ("alerts", frozenset({"_send_owed_alerts", "alerts_for_run"})),
    ("store transaction", frozenset({"store_computed"})),
    ("finish run", frozenset({"finish_run"})),
    ("record observations", frozenset({"_record_reads"})),
    ("detector", frozenset({"compute_detections"})),
    ("reads", frozenset({"read_scenes", "load_chip"})),
    ("catalog search", frozenset({"_plan_aoi", "catalog_of", "find_scenes"})),
    (
        "state: open, migrate, lock, start the run",
        frozenset({"store_of", "state_lock", "start_run", "migrate"}),
    ),
    ("AOI files", frozenset({"aois_of"})),
)


@dataclass
class Outcome:
    """One child run: where it was killed (None: it ended by itself) and what it printed."""

    anchor: str
    delay_s: float
    phase: str
    exit_code: int | None
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: From the anchor seen to the exit or the kill.
    after_anchor_s: float = 0.0

    @property
    def killed(self) -> bool:
        return self.exit_code is None

    @property
    def records(self) -> int:
        return sum(1 for line in self.lines if _RECORD_LINE.match(line))


def _phase_of(dump: str, lines: list[str]) -> str:
    """The phase named by the stacks of a faulthandler dump (``lines``: what was printed).

    Every thread counts: the band readers' stacks say "reads" as well as the main thread's.
    faulthandler prints at most 100 frames a thread, innermost first, so a deep import
    hides the outer frames: such a kill is told by what the run had printed.
    """
    if not dump.strip():
        return "start-up (before the launcher)"
    if "File " not in dump:
        # "Garbage-collecting" or "<no Python frame>": a collection, or interpreter exit.
        return "not told (no Python frame: garbage collection or exit)"
    names = set(re.findall(r" in (\w+)\s*$", dump, flags=re.MULTILINE))
    for phase, functions in _PHASES:
        if names & functions:
            return phase
    searched = any(": searching " in line for line in lines)
    if "importlib._bootstrap" in dump:
        # Who imports: the innermost monitor function below the import machinery.
        callers = re.findall(r"/monitor/\S+\.py\", line \d+ in (\w+)\s*$", dump, flags=re.MULTILINE)
        caller = next((c for c in callers if c != "<module>" and c != "module"), None)
        if caller is not None:
            return f"lazy imports in {caller}"
        return "lazy imports (catalog or reads)" if searched else "start-up (imports)"
    if "run_job" in names:
        return "run_job, between steps"
    return "start-up or exit (arguments, printing)"


def _message(line: str) -> str:
    """The message of a ``--log-json`` line (other lines as they are)."""
    try:
        data = json.loads(line)
    except ValueError:
        return line
    return str(data.get("message", line)) if isinstance(data, dict) else line


def _dump_stacks(child: subprocess.Popen[str], log: Path) -> str:
    """Have ``child`` write its threads' stacks to ``log`` (SIGUSR1); the dump, once written.

    On a loaded machine the dump takes a while to write: this waits until the log has
    stopped growing (at most 2 s), so the kill that follows does not cut it short.
    """
    before = log.stat().st_size
    child.send_signal(signal.SIGUSR1)
    size, deadline = before, time.monotonic() + 2.0
    while time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
        grown = log.stat().st_size
        if grown > before and grown == size:
            break
        size = grown
    with log.open("rb") as written:
        written.seek(before)
        return written.read().decode(errors="replace")


def _reads_seen(child: subprocess.Popen[str], log: Path, times: int) -> str | None:
    """Sample ``child``'s stacks every 50 ms until the ``times``-th sample that shows a
    scene being read; that dump, or None when the run ends first."""
    while child.poll() is None:
        dump = _dump_stacks(child, log)
        if _phase_of(dump, []) == "reads":
            times -= 1
            if times == 0:
                return dump
        time.sleep(0.05)
    return None


def _run_child(
    args: list[str],
    log: Path,
    anchor: str | None,
    delay_s: float = 0.0,
    timeout_s: float = 120.0,
    dump: bool = True,
) -> Outcome:
    """Start ``monitor ARGS``; ``delay_s`` after ``anchor`` is seen, SIGKILL it.

    ``anchor``: "start", "search", "record:N" (the N-th recorded observation; the summary
    line stands in when fewer are recorded), "reads:K" (after the search line, the K-th
    50 ms sample of the stacks that shows a scene being read; ``delay_s`` is not used),
    "alerts" (the alerts line, after the detections are stored and before the run is closed
    and exported); None lets the run finish. Without ``dump`` the SIGKILL is sent at once
    (no stack: the phase is told by the output).
    """
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    lines: list[str] = []
    seen = threading.Event()
    n_records = int(anchor.split(":")[1]) if anchor and anchor.startswith("record:") else 0
    n_reads = int(anchor.split(":")[1]) if anchor and anchor.startswith("reads:") else 0
    last_dump: str | None = None

    def matches(line: str) -> bool:
        if anchor == "search" or n_reads:
            return ": searching " in line
        if anchor == "alerts" and line.startswith("alerts: "):
            return True
        if n_records and line.startswith("scenes: "):
            return True
        if n_records:
            return sum(1 for x in lines if _RECORD_LINE.match(x)) >= n_records
        return False

    started = time.monotonic()
    with log.open("w") as err:
        # --log-json -v: a line per recorded scene, parseable whatever the terminal.
        child = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, "--log-json", "-v", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )

        def read() -> None:
            assert child.stdout is not None
            for line in child.stdout:
                lines.append(_message(line.rstrip("\n")))
                if anchor not in (None, "start") and matches(lines[-1]):
                    seen.set()
            seen.set()  # end of output: the run is over

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        anchored = started
        if anchor is not None:
            if anchor != "start":
                seen.wait(timeout_s)
                anchored = time.monotonic()
            time.sleep(delay_s)
            if n_reads:
                last_dump = _reads_seen(child, log, n_reads)
            elif child.poll() is None and dump:
                last_dump = _dump_stacks(child, log)  # the stacks, for the tally
            if child.poll() is None and (last_dump is not None or not dump):
                child.send_signal(signal.SIGKILL)
        code = child.wait(timeout_s)
        reader.join(10)
    # SIGUSR1 before the launcher registered faulthandler kills the child just the same
    # (default action: terminate, no clean-up).
    killed = code in (-signal.SIGKILL, -signal.SIGUSR1)
    if not killed:
        phase = "ran to the end"
    elif code == -signal.SIGUSR1:
        # No handler: not registered yet, or gone again as the interpreter exits.
        phase = "exit (faulthandler gone)" if lines else "start-up (before the launcher)"
    elif dump:
        phase = _phase_of(last_dump or "", lines)
    elif any(line.startswith("alerts: ") for line in lines) and not any(
        line.startswith(("exports: ", "nothing new")) for line in lines
    ):
        phase = "post-run: alerts written, run summary and export not (killed at the alerts)"
    else:
        phase = "not told (killed without a stack dump)"
    ended = time.monotonic()
    return Outcome(
        anchor or "-",
        delay_s,
        phase,
        None if killed else code,
        lines,
        ended - started,
        ended - anchored,
    )


def _run_args(archive: SimArchive, state: RunState, until: str) -> list[str]:
    return [
        "run",
        "--stac",
        str(archive.sim),
        "--aoi",
        str(archive.aoi_files["east-test"]),
        "--state-dir",
        str(state.state),
        "--reports-dir",
        str(state.reports),
        "--since",
        FULL_PERIOD[0],
        "--until",
        until,
    ]


def _scenes_read_by(reference: RunState, until: str) -> set[str]:
    """Ids of the scenes an uninterrupted run reads up to ``until`` (its sidecars)."""
    found = set()
    for side in (reference.state / "chips").rglob("*.json"):
        data = json.loads(side.read_text())
        if data["datetime"][:10] <= until:
            found.add(data["scene_id"])
    return found


def _left_to_record(state: RunState, to_read: set[str]) -> int:
    """Scenes of ``to_read`` the state has not recorded yet: the next run's scene lines."""
    if not (state.state / "state.db").exists():
        return len(to_read)
    with Store.open(state.state, create=False) as store:
        recorded = {
            o.scene_id for o in store.observations("east-test") if o.status in ("used", "skipped")
        }
    return len(to_read - recorded)


@dataclass
class Crashed:
    """A state after its kills and one run to completion."""

    state: RunState
    outcomes: list[Outcome]
    final: Outcome


def _finish(archive: SimArchive, state: RunState, outcomes: list[Outcome], logs: Path) -> Crashed:
    final = _run_child(
        _run_args(archive, state, FULL_PERIOD[1]),
        logs / f"final-{state.state.parent.name}.err",
        None,
    )
    assert final.exit_code == 0, final.lines[-5:]
    return Crashed(state, outcomes, final)


@pytest.fixture(scope="module")
def crash_runs(
    east_archive: SimArchive, east_reference: RunState, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Crashed]:
    """The kill chain and the late kill, each finished by one run to completion."""
    rng = random.Random(SEED)
    folder = tmp_path_factory.mktemp("crash")
    logs = folder / "logs"
    logs.mkdir()
    chain = RunState(folder / "chain" / "state", folder / "chain" / "reports")
    outcomes: list[Outcome] = []

    #: Per period, the longest delay after the search line that still lands in a run:
    #: a run that ends before its kill shows how much work is left, so the next delays are
    #: drawn shorter. The kills then spread over the run on a fast machine as on a slow one.
    after_search_s = {EARLY_UNTIL: 4.0, FULL_PERIOD[1]: 4.0}

    def kill(
        until: str, anchor: str, delay_s: float, on: RunState = chain, dump: bool = True
    ) -> Outcome:
        outcome = _run_child(
            _run_args(east_archive, on, until),
            logs / f"{len(outcomes):02d}.err",
            anchor,
            delay_s,
            dump=dump,
        )
        outcomes.append(outcome)
        if anchor == "search" and not outcome.killed:
            after_search_s[until] = min(after_search_s[until], 0.9 * outcome.after_anchor_s)
        print(
            f"kill {len(outcomes):2d} {until} {anchor:>10} +{delay_s:.2f}s: {outcome.phase} "
            f"({outcome.records} recorded, {outcome.seconds:.1f} s)",
            flush=True,
        )
        # Whatever the kill left must be readable: the state opens and its status answers.
        if (on.state / "state.db").exists():
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                assert run_cli(["status", "--json", "--state-dir", on.state]) == 0
            assert json.loads(printed.getvalue())["state_dir"] == str(on.state)
        return outcome

    def kill_after_search(n: int, until: str, low: float, high: float) -> None:
        """``n`` kills a random fraction of ``after_search_s`` after the search line; runs
        that end first do not count (at most ``3 n`` tries)."""
        landed = 0
        for _ in range(3 * n):
            landed += kill(until, "search", rng.uniform(low, high) * after_search_s[until]).killed
            if landed == n:
                break

    # 1. The daily job up to November 2025, on a fresh state: killed during start-up
    #    (creating the database, taking the lock), the catalog search and the reads ...
    for _ in range(7):
        kill(EARLY_UNTIL, "start", rng.uniform(0.05, 1.5))
    # ... while reading scenes (whatever the machine's speed, the stacks tell when) ...
    kill(EARLY_UNTIL, f"reads:{rng.randint(1, 3)}", 0.0)
    # ... then while recording observations (the remaining reads come first) ...
    early = _scenes_read_by(east_reference, EARLY_UNTIL)
    kill(EARLY_UNTIL, f"record:{rng.randint(1, max(1, _left_to_record(chain, early) // 2))}", 0.0)
    # ... and after the catalog search.
    kill_after_search(5, EARLY_UNTIL, 0.1, 1.0)
    # One run of the daily job completes and exports.
    done = _run_child(_run_args(east_archive, chain, EARLY_UNTIL), logs / "early.err", None)
    assert done.exit_code == 0, done.lines[-5:]

    # 2. A second state, copied from the chain here, has the whole period's new scenes to
    #    read and record: its next run is killed at its last recorded observation, in the
    #    store transaction that follows.
    whole = _scenes_read_by(east_reference, FULL_PERIOD[1])
    late = RunState(folder / "late" / "state", folder / "late" / "reports")
    shutil.copytree(chain.state, late.state)
    shutil.copytree(chain.reports, late.reports)
    left = _left_to_record(late, whole)
    assert left > 0, "the late state should have scenes left to record"
    late_outcome = kill(FULL_PERIOD[1], f"record:{left}", 0.0, on=late)

    # 3. The chain over the whole period: start-up, the new scenes' reads, the detector,
    #    the records ...
    for _ in range(2):
        kill(FULL_PERIOD[1], "start", rng.uniform(0.05, 1.5))
    kill(FULL_PERIOD[1], f"reads:{rng.randint(1, 3)}", 0.0)
    halfway = max(1, _left_to_record(chain, whole) // 2)
    kill(FULL_PERIOD[1], f"record:{rng.randint(1, halfway)}", 0.0)
    # ... at random moments after its search (a run may end: the delays learn from it),
    # in its detector (reads cached: the plan, then the replay from the cache), once
    # more while recording, then after its alerts, before its summary and its export.
    kill_after_search(2, FULL_PERIOD[1], 0.05, 1.0)
    kill_after_search(2, FULL_PERIOD[1], 0.2, 0.6)
    kill(FULL_PERIOD[1], f"record:{max(1, _left_to_record(chain, whole) // 2)}", 0.0)
    kill(FULL_PERIOD[1], "alerts", 0.0, dump=False)

    return {
        "chain": _finish(east_archive, chain, [o for o in outcomes if o is not late_outcome], logs),
        "late": _finish(east_archive, late, [late_outcome], logs),
    }


def test_kills_spread_over_the_run(crash_runs: dict[str, Crashed]) -> None:
    outcomes = [o for c in crash_runs.values() for o in c.outcomes]
    killed = [o for o in outcomes if o.killed]
    tally = Counter(o.phase for o in killed)
    print(f"\n{len(killed)} kills by phase:")
    for phase, n in tally.most_common():
        print(f"  {n:3d}  {phase}")
    assert len(killed) >= 20
    # Start-up, the catalog, the reads and the records at least; the narrow phases (store,
    # export) depend on timing and are reported above.
    assert {"reads", "record observations"} <= set(tally), tally
    before_search = (
        "start-up",
        "lazy imports in run",
        "state:",
        "AOI files",
        "run_job",
        "catalog search",
    )
    assert any(p.startswith(before_search) for p in tally), tally
    assert len(tally) >= 5, tally


@pytest.mark.parametrize("which", ["chain", "late"])
def test_detections_equal_an_uninterrupted_run(
    crash_runs: dict[str, Crashed], east_reference: RunState, which: str, tmp_path: Path
) -> None:
    crashed = crash_runs[which].state
    got = export_all(crashed.state, tmp_path / "got.geojson")
    want = export_all(east_reference.state, tmp_path / "want.geojson")
    assert want and got == want


def _told(reports: Path) -> dict[str, str]:
    """What the analyst was last told of each detection, replaying every alerts file of
    ``reports`` in run order."""

    def run_of(path: Path) -> int:
        return int(path.stem.rsplit("-run", 1)[1])

    told: dict[str, str] = {}
    for path in sorted((reports / "alerts").glob("alerts-*.geojson"), key=run_of):
        for event in json.loads(path.read_text())["monitor"]["events"]:
            told[event["id"]] = event["kind"]
    return told


@pytest.mark.parametrize("which", ["chain", "late"])
def test_alerts_told_match_the_stored_detections(
    crash_runs: dict[str, Crashed], which: str
) -> None:
    """No alert is lost to a kill: a kill after the detections are stored and before their
    alerts are written leaves them owed, and the next run tells them. So what the alerts
    said last of each detection is what the state holds: every confirmed detection was told
    confirmed, and nothing told confirmed is silently gone."""
    crashed = crash_runs[which].state
    told = _told(crashed.reports)
    with Store.open(crashed.state, create=False) as store:
        confirmed = {d.id for d in store.detections(status="confirmed")}
        assert not store.queued_alerts() and not store.pending("exports")
    assert confirmed, "the archive should yield confirmed detections"
    assert {i for i, kind in told.items() if kind in ("confirmed", "type_changed")} == confirmed


@pytest.mark.parametrize("which", ["chain", "late"])
def test_observations_equal_an_uninterrupted_run(
    crash_runs: dict[str, Crashed], east_reference: RunState, which: str
) -> None:
    def observations(state: Path) -> list[Any]:
        with Store.open(state, create=False) as store:
            return sorted(store.observations("east-test"), key=lambda o: o.scene_id)

    got = observations(crash_runs[which].state.state)
    want = observations(east_reference.state)
    assert len(got) == len(want)
    for mine, theirs in zip(got, want, strict=True):
        assert mine == theirs


@pytest.mark.parametrize("which", ["chain", "late"])
def test_every_cached_chip_matches_its_sidecar(
    crash_runs: dict[str, Crashed], east_reference: RunState, which: str
) -> None:
    chips = crash_runs[which].state.state / "chips"
    npz = sorted(chips.rglob("*.npz"))
    assert len(npz) == len(list((east_reference.state / "chips").rglob("*.npz")))
    for chip in npz:
        side = json.loads(chip.with_suffix(".json").read_text())
        assert side["status"] == "used"
        assert side["chip_sha256"] == hashlib.sha256(chip.read_bytes()).hexdigest(), chip
    # Temporary files a kill left behind are only ever the writers' own (.NAME.*.tmp), and
    # `monitor cache --prune` removes them.
    strays = [p for p in chips.rglob(".*") if p.is_file()]
    assert all(p.name.endswith(".tmp") for p in strays), strays
    if strays:
        print(f"\n{len(strays)} temporary file(s) left by kills; pruning")
        assert run_cli(["cache", "--prune", "--state-dir", crash_runs[which].state.state]) == 0
        assert not [p for p in chips.rglob(".*") if p.is_file()]


@pytest.mark.parametrize("which", ["chain", "late"])
def test_status_is_sane_after_the_kills(
    crash_runs: dict[str, Crashed],
    east_reference: RunState,
    which: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def status(state: Path) -> dict[str, Any]:
        capsys.readouterr()
        assert run_cli(["status", "--json", "--state-dir", state]) == 0
        report: dict[str, Any] = json.loads(capsys.readouterr().out)
        return report

    got = status(crash_runs[which].state.state)
    want = status(east_reference.state)
    assert got["last_run"]["exit_code"] == 0 and got["last_run"]["finished_at"]
    assert got["last_complete_run"]["run_id"] == got["last_run"]["run_id"]
    [mine], [theirs] = got["aois"], want["aois"]
    for key in (
        "last_clear_observation",
        "scenes_used",
        "scenes_skipped",
        "scenes_failed",
        "scenes_pending",
        "failed",
        "detections",
        "simulated",
    ):
        assert mine[key] == theirs[key], key
    assert mine["detector"]["current"] is True
    for key in ("version", "scenes_fed", "last_scene", "modelled_fraction", "data_gaps"):
        assert mine["detector"][key] == theirs["detector"][key], key


@pytest.mark.parametrize("which", ["chain", "late"])
def test_post_run_export_equals_an_uninterrupted_run(
    crash_runs: dict[str, Crashed], east_reference: RunState, which: str
) -> None:
    def features(reports: Path) -> list[dict[str, Any]]:
        data: dict[str, Any] = json.loads((reports / "detections.geojson").read_text())
        features: list[dict[str, Any]] = data["features"]
        return features

    assert features(crash_runs[which].state.reports) == features(east_reference.reports)
