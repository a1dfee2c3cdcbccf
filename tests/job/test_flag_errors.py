"""Flag values the review and export jobs refuse are InputError: exit 1, one line, no state read."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.errors import EXIT_ERROR, InputError, MissingState
from monitor.export.vector import check_format
from monitor.job import export_detections, review_detection


def _settings(tmp_path: Path) -> Settings:
    # No state here: a flag problem is refused before the state is looked at.
    return Settings(state_dir=tmp_path / "state", reports_dir=tmp_path / "reports")


def test_a_note_with_control_characters_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        review_detection(_settings(tmp_path), "some-id", "verified", note="bell\x07")
    assert not isinstance(info.value, MissingState)
    assert str(info.value) == "--note: control characters are not allowed"
    assert info.value.exit_code == EXIT_ERROR


def test_an_unknown_export_status_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        export_detections(
            _settings(tmp_path), [], fmt="geojson", out=tmp_path / "x.geojson", status="bogus"
        )
    assert not isinstance(info.value, MissingState)
    assert str(info.value).startswith("--status bogus: expected one of confirmed, ")
    assert info.value.exit_code == EXIT_ERROR
    assert not (tmp_path / "state").exists()


def test_an_unknown_export_format_is_bad_input() -> None:
    with pytest.raises(InputError, match=r"^--format dxf: unknown format; expected one of "):
        check_format("dxf")
