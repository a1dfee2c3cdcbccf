"""``monitor review``: verdicts kept by detection id through rebuilds, selected by
``export --status``, and a false alarm is not told of again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from monitor.store import Store
from tests.cli.conftest import RunState, SimArchive, export_all, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture()
def reviewed_state(east_reference: RunState, tmp_path: Path) -> RunState:
    """A private copy of the east reference run (state and chip cache)."""
    where = RunState(tmp_path / "state", tmp_path / "reports")
    shutil.copytree(east_reference.state, where.state)
    return where


def _confirmed_ids(state: Path) -> list[str]:
    with Store.open(state, create=False) as store:
        return [d.id for d in store.detections(status="confirmed")]


def _review(state: Path, det_id: str, verdict: str, *extra: str) -> int:
    return run_cli(["review", "--state-dir", state, "--id", det_id, "--verdict", verdict, *extra])


def _rebuild(where: RunState, archive: SimArchive, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert (
        run_cli(
            [
                "rebuild",
                "--state-dir",
                where.state,
                "--reports-dir",
                where.reports,
                "--aoi",
                archive.aoi_files["east-test"],
            ]
        )
        == 0
    )
    assert "scenes replayed" in capsys.readouterr().out


def test_review_is_stored_selected_and_survives_rebuild(
    reviewed_state: RunState,
    east_archive: SimArchive,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = _confirmed_ids(reviewed_state.state)
    assert len(ids) >= 2, "the east archive should confirm its planted demolitions"
    monkeypatch.setenv("MONITOR_REVIEWER", "desk <analyst>")
    assert (
        _review(
            reviewed_state.state,
            ids[0],
            "false_alarm",
            "--note",
            "river bank, seen on 2025-11-02 photo",
            "--source",
            "https://example.org/photo?id=1&x=<y>",
        )
        == 0
    )
    assert _review(reviewed_state.state, ids[1], "unsure") == 0
    assert _review(reviewed_state.state, ids[1], "verified", "--note", "matches report") == 0
    printed = capsys.readouterr().out
    assert f"{ids[1]} (east-test" in printed and "verified by desk <analyst>" in printed

    def selected(status: str) -> set[str]:
        out = tmp_path / f"{status}.geojson"
        assert (
            run_cli(
                [
                    "export",
                    "--format",
                    "geojson",
                    "--status",
                    status,
                    "--out",
                    out,
                    "--state-dir",
                    reviewed_state.state,
                    "--overwrite",
                ]
            )
            == 0
        )
        return {f["id"] for f in json.loads(out.read_text())["features"]}

    assert selected("false_alarm") == {ids[0]}
    assert selected("verified") == {ids[1]}
    assert selected("unsure") == set()
    unreviewed = selected("unreviewed")
    assert ids[0] not in unreviewed and ids[1] not in unreviewed
    assert unreviewed == {
        d["id"] for d in export_all(reviewed_state.state, tmp_path / "all.geojson")
    } - set(ids[:2])

    _rebuild(reviewed_state, east_archive, capsys)
    with Store.open(reviewed_state.state, create=False) as store:
        first, second = store.detection(ids[0]), store.detection(ids[1])
        history = store.review_history(ids[1])
    assert first is not None and first.review is not None
    assert first.review.verdict == "false_alarm" and first.review.reviewer == "desk <analyst>"
    assert first.review.source == "https://example.org/photo?id=1&x=<y>"
    assert second is not None and second.review is not None
    assert second.review.verdict == "verified" and second.review.note == "matches report"
    assert [r.verdict for r in history] == ["unsure", "verified"]


def test_a_false_alarm_raises_no_alert_again(
    reviewed_state: RunState, east_archive: SimArchive, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _confirmed_ids(reviewed_state.state)
    dismissed, kept = ids[0], ids[1]
    assert _review(reviewed_state.state, dismissed, "false_alarm") == 0
    # Both detections disappear (as after an edited history) and a rebuild finds them again,
    # confirmed: normally both are told of anew.
    with Store.open(reviewed_state.state, create=False) as store:
        others = [d for d in store.detections(aoi_id="east-test") if d.id not in (dismissed, kept)]
        store.put_detections("east-test", others)
    alerts = reviewed_state.reports / "alerts"
    shutil.rmtree(alerts, ignore_errors=True)
    _rebuild(reviewed_state, east_archive, capsys)
    told = set()
    for path in alerts.glob("alerts-*.geojson"):
        told |= {f["id"] for f in json.loads(path.read_text())["features"]}
    assert kept in told
    assert dismissed not in told


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "no-such-id", "--verdict", "verified"], "--id no-such-id: no such detection"),
        (["--verdict", "verified", "--source", "javascript:alert(1)"], "expected an http(s) URL"),
        (["--verdict", "verified", "--note", "bell\x07"], "control characters"),
    ],
)
def test_bad_review_input_is_one_line_exit_1(
    reviewed_state: RunState, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _confirmed_ids(reviewed_state.state)
    if "--id" not in args:
        args = ["--id", ids[0], *args]
    capsys.readouterr()
    assert run_cli(["review", "--state-dir", reviewed_state.state, *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    with Store.open(reviewed_state.state, create=False) as store:
        assert store.reviews() == {}


def test_review_without_state_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run_cli(["review", "--state-dir", tmp_path / "none", "--id", "x", "--verdict", "unsure"])
        == 1
    )
    assert "no state here" in capsys.readouterr().err
