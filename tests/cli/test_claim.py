"""``monitor claim`` and ``monitor export --format timeline`` on the simulated east archive.

The east archive plants KK Park East's demolitions (late October to late December 2025); the
truth's roofed area is read from the simulator's own ground (roof covers on the AOI's
pixels, planted changes applied), the same ground the simulated scenes were rendered from.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from monitor.aoi import aoi_from_geojson, aoi_mask
from monitor.simulate.changes import state_at
from monitor.simulate.cover import ROOF_COVERS
from monitor.simulate.grounds import plan_ground
from monitor.store import Store
from tests.cli.conftest import EAST_AOI, FULL_PERIOD, RunState, SimArchive, link_tree, run_cli

D = dt.date
#: The last clear observation of the archive: every planted demolition has begun by then.
END = D(2026, 1, 28)
#: A stretch without acquisitions in the middle of the demolitions (see ``overcast_state``).
OVERCAST = (D(2025, 11, 1), D(2025, 12, 15))


class Truth:
    """Roofed area of the east AOI on any day, from the simulator's ground."""

    def __init__(self, archive: SimArchive) -> None:
        self.aoi = aoi_from_geojson(EAST_AOI, where="EAST_AOI")
        first, last = (D.fromisoformat(d) for d in FULL_PERIOD)
        self.plan = plan_ground(0, [self.aoi], 5, first, last, "kk-park-east")
        ground = self.plan.ground.grid
        self.r0 = int(round((ground.top - self.aoi.grid.top) / 10))
        self.c0 = int(round((self.aoi.grid.left - ground.left) / 10))
        self.mask = aoi_mask(self.aoi)

    def roofed_m2(self, day: dt.date) -> float:
        cover, _ = state_at(self.plan.ground, self.plan.changes, day)
        rows, cols = self.aoi.grid.shape
        window = cover[self.r0 : self.r0 + rows, self.c0 : self.c0 + cols]
        return float((np.isin(window, list(ROOF_COVERS)) & self.mask).sum()) * 100.0

    def share_removed(self, start: dt.date, by: dt.date) -> float:
        return 1.0 - self.roofed_m2(by) / self.roofed_m2(start)


@pytest.fixture(scope="module")
def truth(east_archive: SimArchive) -> Truth:
    return Truth(east_archive)


@pytest.fixture()
def state(east_reference: RunState, tmp_path: Path) -> Path:
    """A copy of the reference run's state: claims are stored, the reference stays as is."""
    copy = tmp_path / "state"
    shutil.copytree(east_reference.state, copy)
    return copy


@pytest.fixture(scope="module")
def overcast_state(east_archive: SimArchive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The east archive without its acquisitions of 1 November - 15 December 2025 (as if
    the monsoon had lingered over the demolitions), run from start to end."""
    folder = tmp_path_factory.mktemp("overcast")
    sim = link_tree(east_archive.sim, folder / "sim")
    collection_path = sim / "collection.json"
    collection = json.loads(collection_path.read_text())
    kept = []
    for link in collection["links"]:
        stamp = link["href"].split("_")[2][:8] if link.get("rel") == "item" else ""
        if stamp and OVERCAST[0] <= dt.datetime.strptime(stamp, "%Y%m%d").date() <= OVERCAST[1]:
            continue
        kept.append(link)
    assert len(kept) < len(collection["links"]) - 10
    collection["links"] = kept
    collection_path.unlink()  # a hard link to the shared archive: replace, never write into
    collection_path.write_text(json.dumps(collection))
    state = folder / "state"
    assert (
        run_cli(
            [
                "run",
                "--stac",
                sim,
                "--aoi",
                east_archive.aoi_files["east-test"],
                "--state-dir",
                state,
                "--reports-dir",
                folder / "reports",
                "--since",
                FULL_PERIOD[0],
                "--until",
                FULL_PERIOD[1],
            ]
        )
        == 0
    )
    return state


def _claim(state: Path, *args: object) -> list[str]:
    return ["claim", "--state-dir", state, "--aoi", "east-test", *[str(a) for a in args]]


def _verdict(out: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith("verdict: "))
    return line.removeprefix("verdict: ")


def test_timeline_export_matches_the_truth_in_clear_months(
    state: Path, tmp_path: Path, truth: Truth, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "timeline.csv"
    assert run_cli(["export", "--format", "timeline", "--out", out, "--state-dir", state]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == [
        "aoi",
        "month",
        "clear_observations",
        "gap",
        "built_m2",
        "built_low_m2",
        "built_high_m2",
        "new_built_m2",
        "demolished_m2",
        "simulated",
    ]
    assert {r["aoi"] for r in rows} == {"east-test"}
    assert all(r["simulated"] == "true" for r in rows)
    months = [r["month"] for r in rows]
    assert months[0] == "2024-07" and months[-1] == "2026-01" and len(months) == 19
    gaps = [r for r in rows if r["gap"] == "true"]
    clear = [r for r in rows if r["gap"] == "false"]
    assert gaps and clear
    # A gap is a gap, not a zero.
    assert all(r["built_m2"] == "" and r["demolished_m2"] == "" for r in gaps)
    errors = {}
    for r in clear:
        # The figure is the area at the month's last clear observation (within the month).
        year, month = (int(x) for x in r["month"].split("-"))
        days = [D(year, month, d) for d in range(1, 29)]
        low, mid, high = float(r["built_low_m2"]), float(r["built_m2"]), float(r["built_high_m2"])
        assert low <= mid <= high
        truths = [truth.roofed_m2(d) for d in days]
        assert low <= min(truths) and max(truths) <= high, (r, min(truths), max(truths))
        errors[r["month"]] = (mid - truths[-1]) / truths[-1]
    assert max(abs(e) for e in errors.values()) < 0.25, errors
    # The demolitions show as such in November-January, and nothing before October 2025.
    demolished = {r["month"]: float(r["demolished_m2"] or 0) for r in clear}
    assert sum(v for m, v in demolished.items() if m < "2025-10") == 0
    assert sum(v for m, v in demolished.items() if m >= "2025-11") >= 5000
    # Refused without --overwrite, replaced with it.
    assert run_cli(["export", "--format", "timeline", "--out", out, "--state-dir", state]) == 1
    assert "exists" in capsys.readouterr().err
    assert (
        run_cli(
            ["export", "--format", "timeline", "--out", out, "--state-dir", state, "--overwrite"]
        )
        == 0
    )


def test_a_true_claim_is_consistent_and_stored(
    state: Path, truth: Truth, capsys: pytest.CaptureFixture[str]
) -> None:
    share = truth.share_removed(D(2025, 9, 15), END)
    assert 0.15 < share < 0.3  # the planted demolitions: about a fifth of the roofs
    n = round(share * 1000)
    capsys.readouterr()
    assert run_cli(_claim(state, "--demolished", n, "--total", 1000, "--by", END)) == 0
    out = capsys.readouterr().out
    assert _verdict(out).startswith("consistent"), out
    assert "SIMULATED" in out and "does not count buildings" in out
    assert "removal seen in: 2025-11" in out
    with Store.open(state, create=False) as store:
        [record] = store.claims("east-test")
    assert record.claim["demolished"] == n and record.claim["total"] == 1000
    assert record.result["verdict"] == "consistent" and record.result["simulated"] is True
    low, high = record.result["share_removed_low"], record.result["share_removed_high"]
    assert low <= record.result["share_removed"] <= high


def test_an_inflated_claim_is_inconsistent(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_cli(_claim(state, "--demolished", 631, "--total", 635, "--by", END)) == 0
    out = capsys.readouterr().out
    assert _verdict(out).startswith("inconsistent: the claim's 99 % to 100 % is more than"), out


def test_a_claim_inside_an_overcast_stretch_cannot_be_told(
    overcast_state: Path, truth: Truth, capsys: pytest.CaptureFixture[str]
) -> None:
    by = D(2025, 11, 25)
    share = truth.share_removed(D(2025, 9, 15), by)
    assert share > 0.05
    capsys.readouterr()
    assert (
        run_cli(
            _claim(overcast_state, "--demolished", round(share * 100), "--total", 100, "--by", by)
        )
        == 0
    )
    out = capsys.readouterr().out
    assert _verdict(out).startswith("cannot tell: not enough clear observations"), out
    # Even counting every change the overcast stretch hides, 99 % is too much.
    assert run_cli(_claim(overcast_state, "--demolished", 99, "--total", 100, "--by", by)) == 0
    assert _verdict(capsys.readouterr().out).startswith("inconsistent"), out


def test_a_zone_restricts_the_check(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = tmp_path / "zone <east>.geojson"
    zone.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [98.570, 16.625],
                            [98.5735, 16.625],
                            [98.5735, 16.631],
                            [98.570, 16.631],
                            [98.570, 16.625],
                        ]
                    ],
                },
            }
        )
    )
    capsys.readouterr()
    assert run_cli(_claim(state, "--demolished", 1, "--total", 4, "--by", END, "--zone", zone)) == 0
    out = capsys.readouterr().out
    assert f"zone: {zone}" in out
    pixels = int(out.split(" pixels)")[0].rsplit(", ", 1)[1])
    assert 1000 < pixels < 3000  # about a third of the AOI's 7,612 pixels
    with Store.open(state, create=False) as store:
        [record] = store.claims("east-test")
    assert record.claim["zone_geometry"]["type"] == "Polygon"


@pytest.mark.parametrize(
    "args, says",
    [
        (["--demolished", 5, "--total", 4, "--by", END], "more than --total"),
        (["--demolished", 5, "--by", END], "go together"),
        (["--by", END], "give the claim"),
        (["--demolished", 1, "--total", 4, "--by", D(2023, 1, 1)], "before the first clear"),
    ],
)
def test_bad_claims_are_one_line_errors(
    state: Path, args: list[object], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run_cli(_claim(state, *args)) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err, err
    with Store.open(state, create=False) as store:
        assert store.claims() == []


def test_unknown_aoi_and_zones_outside_are_one_line_errors(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert (
        run_cli(
            [
                "claim",
                "--state-dir",
                state,
                "--aoi",
                "nowhere",
                "--demolished",
                1,
                "--total",
                2,
                "--by",
                END,
            ]
        )
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere" in err and "east-test" in err
    far = tmp_path / "far.geojson"
    far.write_text(
        json.dumps(
            {
                "type": "Polygon",
                "coordinates": [
                    [[98.60, 16.70], [98.61, 16.70], [98.61, 16.71], [98.60, 16.71], [98.60, 16.70]]
                ],
            }
        )
    )
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    for zone, says in (
        (far, "outside AOI east-test"),
        (broken, "not JSON"),
        (tmp_path / "missing.geojson", "no such file"),
    ):
        assert (
            run_cli(_claim(state, "--demolished", 1, "--total", 2, "--by", END, "--zone", zone))
            == 1
        )
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and says in err, err
    with Store.open(state, create=False) as store:
        assert store.claims() == []


def test_report_sections_are_escaped_svg(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lxml import etree, html

    from monitor.detect import DetectorParams
    from monitor.job import timeline_report_sections

    zone = tmp_path / "<img src=x onerror=alert(1)>.geojson"
    zone.write_text(
        json.dumps(
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [98.567, 16.625],
                        [98.573, 16.625],
                        [98.573, 16.631],
                        [98.567, 16.631],
                        [98.567, 16.625],
                    ]
                ],
            }
        )
    )
    assert run_cli(_claim(state, "--demolished", 1, "--total", 4, "--by", END, "--zone", zone)) == 0
    with Store.open(state, create=False) as store:
        aoi = store.get_aoi("east-test")
        assert aoi is not None
        timeline_html, claims_html = timeline_report_sections(store, aoi, DetectorParams())
    assert "<img" not in timeline_html + claims_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in claims_html
    svg = timeline_html[timeline_html.index("<svg") : timeline_html.index("</svg>") + 6]
    root = etree.fromstring(svg.encode())  # well-formed XML
    assert root.tag.endswith("svg")
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    page = html.fromstring(f"<div>{timeline_html}{claims_html}</div>")
    assert "gap: too few clear observations" in page.text_content()
