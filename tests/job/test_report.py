"""Which HTML reports a run owes (``pending_steps``, one mark per AOI)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import monitor.job.report as job_report
from monitor.config import Settings
from monitor.job.common import REPORTS_STEP, reports_step
from monitor.store import Store
from tests.store.factories import KK_BOX, make_aoi

# A second small AOI beside KK_BOX.
OTHER_BOX = (KK_BOX[0] + 0.01, KK_BOX[1], KK_BOX[2] + 0.01, KK_BOX[3])


@pytest.fixture
def owed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A state with AOIs ``kk-park`` and ``other``, both pages and the index written, and
    ``_write_reports`` replaced by a recorder of the AOIs it is asked to write."""
    settings = dataclasses.replace(
        Settings(), state_dir=tmp_path / "state", reports_dir=tmp_path / "reports"
    )
    store = Store.open(settings.state_dir, create=True)
    store.put_aoi(make_aoi("kk-park"))
    store.put_aoi(make_aoi("other", OTHER_BOX, name="Other"))
    settings.reports_dir.mkdir()
    for name in ("index.html", "kk-park.html", "other.html"):
        (settings.reports_dir / name).write_text("old")
    asked: list[list[str] | None] = []

    def record(_settings: Settings, _store: Any, only: Any, _echo: Any) -> str:
        asked.append(None if only is None else list(only))
        return "written"

    monkeypatch.setattr(job_report, "_write_reports", record)

    def run() -> list[str] | None:
        before = len(asked)
        result = job_report.owed_reports(settings, store, lambda _line: None)
        assert (result is None) == (len(asked) == before)
        return asked[-1] if result is not None else None

    yield settings, store, run
    store.close()


def test_nothing_owed_writes_nothing(owed: Any) -> None:
    _settings, _store, run = owed
    assert run() is None


def test_one_aoi_owed_writes_its_page_only_and_clears_its_mark(owed: Any) -> None:
    _settings, store, run = owed
    store.mark_pending(reports_step("other"), None)
    assert run() == ["other"]
    assert not store.pending(reports_step("other"))
    assert run() is None, "written: no longer owed"


def test_the_mark_of_older_states_owes_every_page(owed: Any) -> None:
    _settings, store, run = owed
    store.mark_pending(REPORTS_STEP, None)
    assert run() == ["kk-park", "other"]
    assert not store.pending(REPORTS_STEP)
    assert run() is None


def test_a_missing_page_or_index_is_owed(owed: Any) -> None:
    settings, _store, run = owed
    (settings.reports_dir / "kk-park.html").unlink()
    assert run() == ["kk-park"]
    (settings.reports_dir / "index.html").unlink()
    assert run() == ["kk-park", "other"], "a new reports folder: every page"
